"""What accepting a request now would do, from the same plan the database accepts with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from astegni import queries
from astegni.connection import Conn, Row, fetch


@dataclass(frozen=True)
class PreviewRow:
    session_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    duration: int
    outcome: str  # 'create', 'skip' or 'refuse'
    reason: str | None  # 'past', 'dst_gap' or 'conflict'
    clash_session_id: int | None

    @classmethod
    def from_row(cls, row: Row) -> PreviewRow:
        """One row of preview_sessions."""
        return cls(**row)


def preview(conn: Conn, request_id: int) -> list[PreviewRow]:
    """One row per occurrence of a pending request; writes nothing."""
    return [PreviewRow.from_row(row) for row in fetch(conn, queries.PREVIEW, {"request_id": request_id})]

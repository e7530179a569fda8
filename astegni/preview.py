"""What accepting a request now would do, from the same plan the database accepts with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from astegni import queries
from astegni.connection import Conn, Row
from astegni.operation import NO_MOVES, Moves, Operation, each, edits, run


@dataclass(frozen=True)
class PreviewRow:
    """One occurrence: outcome 'create', 'skip' (reason: a key of SKIP_REASONS) or 'refuse' (a clash
    that would refuse the whole request, with the session it clashes with)."""

    session_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    duration: int
    outcome: str
    reason: str | None
    clash_session_id: int | None

    @classmethod
    def from_row(cls, row: Row) -> PreviewRow:
        """One row of preview_sessions."""
        return cls(**row)


def _request(request_id: int, *, without: Iterable[dt.date] = (), moves: Moves = NO_MOVES) -> dict[str, Any]:
    return {"request_id": request_id, **edits(without, moves)}


PREVIEW = Operation(queries.PREVIEW, _request, each(PreviewRow.from_row))


def preview(conn: Conn, request_id: int, *, without: Iterable[dt.date] = (),
            moves: Moves = NO_MOVES) -> list[PreviewRow]:
    """One row per occurrence of a pending request, accepted now with the same edits as
    `astegni.accept` takes (`without`, `moves`); writes nothing."""
    return run(conn, PREVIEW, request_id, without=without, moves=moves)

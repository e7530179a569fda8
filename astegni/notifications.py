"""What the rule announces: one notification per accepted or cancelled request, after commit.

The database sends pg_notify('astegni_sessions', json) from the rule itself, so every client's
acceptance is announced, and PostgreSQL delivers it only if the transaction commits. `listen` is the
hook point for email or SMS senders.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from astegni import queries
from astegni.errors import NotConfigured

CHANNEL = "astegni_sessions"


@dataclass(frozen=True)
class Notification:
    """A request accepted (sessions created) or cancelled (sessions cancelled)."""

    event: str  # 'accepted' or 'cancelled'
    request_id: int
    tutor_id: int
    student_id: int | None
    sessions: int
    first_starts_at: dt.datetime | None
    last_starts_at: dt.datetime | None
    note: str | None = None  # an acceptance's note (astegni.accept.NOTES): why not more sessions

    @classmethod
    def from_payload(cls, payload: str) -> Notification:
        data = json.loads(payload)
        return cls(
            event=data["event"],
            request_id=int(data["request_id"]),
            tutor_id=int(data["tutor_id"]),
            student_id=data["student_id"],
            sessions=int(data["sessions"]),
            first_starts_at=_instant(data["first_starts_at"]),
            last_starts_at=_instant(data["last_starts_at"]),
            note=data.get("note"),
        )

    def as_json(self) -> str:
        """One line of JSON, instants in ISO 8601 with their offset."""
        return json.dumps({key: value.isoformat() if isinstance(value, dt.datetime) else value
                           for key, value in asdict(self).items()})


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value is not None else None


def listen(conn: psycopg.Connection[Any], *, timeout: float | None = None,
           stop_after: int | None = None) -> Iterator[Notification]:
    """Starts listening now, and yields the notifications committed from now on until `stop_after`
    of them have come or none came for `timeout` seconds (None: forever). `conn` must be in
    autocommit mode: inside a transaction, LISTEN would only start at its commit."""
    if not conn.autocommit:
        raise NotConfigured("listen needs an autocommit connection",
                            hint="psycopg.connect(url, autocommit=True)")
    conn.execute(queries.LISTEN)
    return _notifications(conn, timeout, stop_after)


def _notifications(conn: psycopg.Connection[Any], timeout: float | None,
                   stop_after: int | None) -> Iterator[Notification]:
    for notify in conn.notifies(timeout=timeout, stop_after=stop_after):
        if notify.channel == CHANNEL:
            yield Notification.from_payload(notify.payload)

"""Accept, reject and cancel a request: change its status, read back what the database made.

Nothing here computes a date or writes a session: the rule in PostgreSQL does, for every client.
Each call is one round trip (a SQL function), and none commits: the caller owns the transaction. Each
is an Operation (astegni/operation.py), which astegni.aio awaits.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from astegni import queries
from astegni.connection import Conn, Row
from astegni.operation import NO_MOVES, Moves, Operation, edits, one, run

# Why an occurrence was not created, in words: the keys are the values of skipped_occurrences.reason
# (its CHECK constraint), of Skipped.reason and of a preview's or a reschedule's skip.
SKIP_REASONS = {
    "past": "its date has passed",
    "dst_gap": "a DST change skips that time",
    "conflict": "the tutor teaches another course then",
    "time_off": "the tutor is on time off then",
    "tutor_edit": "the tutor left it out when accepting",
}


@dataclass(frozen=True)
class Skipped:
    """An occurrence acceptance did not create; its reason is a key of SKIP_REASONS."""

    session_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    clash_session_id: int | None

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Skipped:
        return cls(
            session_date=dt.date.fromisoformat(item["session_date"]),
            starts_at=dt.datetime.fromisoformat(item["starts_at"]),
            ends_at=dt.datetime.fromisoformat(item["ends_at"]),
            reason=item["reason"],
            clash_session_id=item.get("clash_session_id"),
        )


# Why an acceptance made fewer sessions than its request seems to ask for (acceptances.note).
NOTES = {
    "no_schedule": "the request has no schedule yet",
    "no_dates": "the request names no dates yet",
    "no_days": "the request names no weekdays yet",
    "no_times": "the request has no start or end time yet",
    "window_passed": "its month/year window has passed, so the next weeks were scheduled",
    "none_ahead": "none of its occurrences is still ahead",
}


@dataclass(frozen=True)
class Acceptance:
    request_id: int
    status: str
    responded_at: dt.datetime
    agreed_price: Decimal | None
    sessions_created: int
    students_enrolled: int
    note: str | None  # a key of NOTES, or None when the schedule was made in full
    enrolled_course_id: int | None
    skipped: tuple[Skipped, ...] = ()

    @classmethod
    def from_row(cls, row: Row) -> Acceptance:
        """The acceptance astegni_accept reports in its row (`skipped` as JSON, parsed or not)."""
        fields = dict(row)
        skipped = fields.pop("skipped")
        if isinstance(skipped, str):
            skipped = json.loads(skipped)
        return cls(**fields, skipped=tuple(Skipped.from_json(item) for item in skipped))

    @property
    def explanation(self) -> str:
        """What was made, and why not more, in a sentence."""
        made = f"{self.sessions_created} session{'' if self.sessions_created == 1 else 's'}"
        if self.students_enrolled > 1:
            made += f" for {self.students_enrolled} students"
        return f"{made}: {NOTES[self.note]}" if self.note else made

    def as_response(self) -> dict[str, Any]:
        """The body the app's old PATCH endpoint answered an acceptance with, key for key; its message
        also says what was made and why not more. A price of 0 is 0.0 (the old handler said null)."""
        return {
            "success": True,
            "message": f"Session request accepted and student added to your students list"
                       f" ({self.explanation})",
            "request_id": self.request_id,
            "status": self.status,
            "responded_at": _column_time(self.responded_at),
            "agreed_price": float(self.agreed_price) if self.agreed_price is not None else None,
            "sessions_created": self.sessions_created,
            "enrolled_course_id": self.enrolled_course_id,
        }


@dataclass(frozen=True)
class Rejection:
    request_id: int
    status: str
    responded_at: dt.datetime
    rejected_reason: str | None

    @classmethod
    def from_row(cls, row: Row) -> Rejection:
        """The rejection astegni_reject reports in its row."""
        return cls(**row)

    def as_response(self) -> dict[str, Any]:
        """The body the app's old PATCH endpoint answered a rejection with, key for key."""
        return {"success": True, "message": "Session request rejected", "request_id": self.request_id,
                "status": self.status, "responded_at": _column_time(self.responded_at)}


def _column_time(instant: dt.datetime) -> str:
    """An instant as the app's naive UTC column holds it, in the old endpoint's isoformat (no offset)."""
    return instant.astimezone(dt.UTC).replace(tzinfo=None).isoformat()


@dataclass(frozen=True)
class Cancellation:
    request_id: int
    status: str
    cancelled_at: dt.datetime
    cancelled_reason: str | None
    sessions_cancelled: int

    @classmethod
    def from_row(cls, row: Row) -> Cancellation:
        """The cancellation astegni_cancel reports in its row."""
        return cls(**row)


def _acceptance(request_id: int, *, tutor_id: int | None = None, without: Iterable[dt.date] = (),
                moves: Moves = NO_MOVES) -> dict[str, Any]:
    return {"request_id": request_id, "tutor_id": tutor_id, **edits(without, moves)}


def _response(request_id: int, *, reason: str | None = None, tutor_id: int | None = None) -> dict[str, Any]:
    return {"request_id": request_id, "reason": reason, "tutor_id": tutor_id}


ACCEPT = Operation(queries.ACCEPT, _acceptance, one(Acceptance.from_row))
REJECT = Operation(queries.REJECT, _response, one(Rejection.from_row))
CANCEL = Operation(queries.CANCEL, _response, one(Cancellation.from_row))


def accept(conn: Conn, request_id: int, *, tutor_id: int | None = None, without: Iterable[dt.date] = (),
           moves: Moves = NO_MOVES) -> Acceptance:
    """Accepts a pending request (only tutor_id's own when given) and reports what was made. The tutor
    may edit it in the same step: the occurrences on the dates of `without` are left out (skipped,
    reason 'tutor_edit': never made later), and each date of `moves` is moved to its (start, end)
    wall-clock times that day, clash-checked like any other; `astegni.preview` with the same edits shows
    exactly what this makes."""
    return run(conn, ACCEPT, request_id, tutor_id=tutor_id, without=without, moves=moves)


def reject(conn: Conn, request_id: int, *, reason: str | None = None,
           tutor_id: int | None = None) -> Rejection:
    """Rejects a pending request (only tutor_id's own when given)."""
    return run(conn, REJECT, request_id, reason=reason, tutor_id=tutor_id)


def cancel(conn: Conn, request_id: int, *, reason: str | None = None,
           tutor_id: int | None = None) -> Cancellation:
    """Cancels an accepted request: its sessions not yet started are cancelled, and counted."""
    return run(conn, CANCEL, request_id, reason=reason, tutor_id=tutor_id)

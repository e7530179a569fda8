"""Series: extend them to their horizon, end them, reschedule them from a date on; tutors' time off.

The rule is in PostgreSQL (docs/series.md): nothing here computes a date or writes a session. Each call
runs the SQL function (or the INSERT/DELETE whose trigger applies the rule) and reads back what it
did; none commits (but `extend`, batch by batch): the caller owns the transaction, as with
`astegni.accept`. Each is an Operation (astegni/operation.py), which astegni.aio awaits.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from astegni import queries
from astegni.connection import Conn, Row
from astegni.operation import Operation, each, one, run


@dataclass(frozen=True)
class Extension:
    """One run of the extension (CALL astegni_extend_series(): a transaction per batch of tutors)."""

    series_grown: int
    sessions_made: int
    batches: int  # the batches that had tutors; each is one row of astegni_extensions

    @classmethod
    def from_row(cls, row: Row) -> Extension:
        return cls(**row)

    @property
    def explanation(self) -> str:
        """e.g. 'extended 3 series: 9 sessions made'."""
        made = f"{self.sessions_made} session{'' if self.sessions_made == 1 else 's'} made"
        return f"extended {self.series_grown} series: {made}"


@dataclass(frozen=True)
class RescheduleRow:
    """One date of a reschedule's plan (astegni_reschedule_plan); its reason is 'rescheduled' (the new
    pattern drops the date) or a key of SKIP_REASONS."""

    session_id: int | None  # the session the date keeps, moves or cancels; None for 'create', 'skip'
    session_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    duration: int
    outcome: str  # 'keep', 'move', 'create', 'cancel', 'skip' (or 'refuse' in a preview)
    reason: str | None
    clash_session_id: int | None

    @classmethod
    def from_row(cls, row: Row) -> RescheduleRow:
        return cls(**row)


@dataclass(frozen=True)
class TimeOff:
    """A tutor's time off, from starts_at to ends_at (excluded)."""

    id: int
    tutor_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str | None
    created_at: dt.datetime
    # The tutor's sessions that recording it cancelled (None when read back from the table).
    sessions_cancelled: int | None = None

    @classmethod
    def from_row(cls, row: Row) -> TimeOff:
        return cls(**row)


def _nothing() -> dict[str, Any]:
    return {}


def _end(request_id: int, last_date: dt.date, reason: str | None = None, *,
         tutor_id: int | None = None) -> dict[str, Any]:
    return {"request_id": request_id, "last_date": last_date, "reason": reason, "tutor_id": tutor_id}


def _pattern(request_id: int, from_date: dt.date, *, days: Sequence[str] | None = None,
             start_time: dt.time | None = None, end_time: dt.time | None = None,
             tutor_id: int | None = None) -> dict[str, Any]:
    # A str is a sequence of letters: sent as given (a JSON string), for the rule to refuse (AS005 days).
    encoded = None if days is None else json.dumps(days if isinstance(days, str) else list(days))
    return {"request_id": request_id, "from_date": from_date, "days": encoded,
            "start_time": start_time, "end_time": end_time, "tutor_id": tutor_id}


def _time_off(tutor_id: int, starts_at: dt.datetime, ends_at: dt.datetime,
              reason: str | None = None) -> dict[str, Any]:
    return {"tutor_id": tutor_id, "starts_at": starts_at, "ends_at": ends_at, "reason": reason}


def _removal(time_off_id: int, *, tutor_id: int | None = None) -> dict[str, Any]:
    return {"time_off_id": time_off_id, "tutor_id": tutor_id}


def _tutor(tutor_id: int) -> dict[str, Any]:
    return {"tutor_id": tutor_id}


EXTEND = Operation(queries.EXTEND, _nothing, one(Extension.from_row), commits=True)
END_SERIES = Operation(queries.END_SERIES, _end, one(lambda row: int(row["sessions_cancelled"])))
RESCHEDULE = Operation(queries.RESCHEDULE, _pattern, each(RescheduleRow.from_row))
PREVIEW_RESCHEDULE = Operation(queries.PREVIEW_RESCHEDULE, _pattern, each(RescheduleRow.from_row))
ADD_TIME_OFF = Operation(queries.ADD_TIME_OFF, _time_off, one(TimeOff.from_row))
REMOVE_TIME_OFF = Operation(queries.REMOVE_TIME_OFF, _removal, one(lambda row: bool(row["removed"])))
LIST_TIME_OFF = Operation(queries.TIME_OFF, _tutor, each(TimeOff.from_row))


def extend(conn: Conn) -> Extension:
    """Brings every live series to its horizon now and reports the run. Unlike the other calls it
    commits, once per batch of tutors, so that no tutor waits for the whole run: it needs an autocommit
    connection outside any transaction (NotAutocommit otherwise), of a role granted astegni_scheduler."""
    return run(conn, EXTEND)


def end_series(conn: Conn, request_id: int, last_date: dt.date, reason: str | None = None, *,
               tutor_id: int | None = None) -> int:
    """Ends a series after last_date (only tutor_id's own when given); the number of its sessions
    cancelled (those after it, not started)."""
    return run(conn, END_SERIES, request_id, last_date, reason, tutor_id=tutor_id)


def reschedule(conn: Conn, request_id: int, from_date: dt.date, *, days: Sequence[str] | None = None,
               start_time: dt.time | None = None, end_time: dt.time | None = None,
               tutor_id: int | None = None) -> list[RescheduleRow]:
    """Changes a series' days and times from from_date on ("this and all following"), only tutor_id's
    own when given; None keeps the current days or time. Returns the plan it applied, one row per date."""
    return run(conn, RESCHEDULE, request_id, from_date, days=days, start_time=start_time,
               end_time=end_time, tutor_id=tutor_id)


def preview_reschedule(conn: Conn, request_id: int, from_date: dt.date, *,
                       days: Sequence[str] | None = None, start_time: dt.time | None = None,
                       end_time: dt.time | None = None, tutor_id: int | None = None) -> list[RescheduleRow]:
    """What `reschedule` with the same arguments would do, row by row; writes nothing."""
    return run(conn, PREVIEW_RESCHEDULE, request_id, from_date, days=days, start_time=start_time,
               end_time=end_time, tutor_id=tutor_id)


def add_time_off(conn: Conn, tutor_id: int, starts_at: dt.datetime, ends_at: dt.datetime,
                 reason: str | None = None) -> TimeOff:
    """Records a tutor's time off from starts_at to ends_at: the rule cancels the tutor's sessions
    inside it that have not started (counted in `sessions_cancelled`)."""
    return run(conn, ADD_TIME_OFF, tutor_id, starts_at, ends_at, reason)


def remove_time_off(conn: Conn, time_off_id: int, *, tutor_id: int | None = None) -> bool:
    """Removes a time off (the next extension makes again the sessions it held back). With tutor_id,
    only that tutor's: another's, or none, is RequestNotFound (AS001); without, False when there was
    no such time off."""
    return run(conn, REMOVE_TIME_OFF, time_off_id, tutor_id=tutor_id)


def list_time_off(conn: Conn, tutor_id: int) -> list[TimeOff]:
    """A tutor's time off, in time order."""
    return run(conn, LIST_TIME_OFF, tutor_id)

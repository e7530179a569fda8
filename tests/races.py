"""The race matrix's harness: every operation that books or frees a tutor's time, raced against every
other on one tutor, each case on a starting state of its own.

An operation is one entry of OPERATIONS: a name and a function running it on a connection, inside the
transaction the caller opened and ends. A case races two of them:

- "held": A runs in a transaction left open; B starts on a second connection and must be seen waiting
  on a lock A holds (pg_blocking_pids); meanwhile an acceptance of another tutor completes without
  waiting on either; then A commits and B finishes. The database must equal the serial order A;B.
  When A holds B up by neither the tutor's lock nor the series row (`Operation.holds_up`: the
  extension moving a marker with nothing to make takes no tutor's lock), B must instead finish
  without waiting while A is open, and the database equal A;B or B;A.
- "random": A and B start together after small seeded delays, with no hold. The database must equal
  one of the serial orders.
- "timeout": as held, but A stays open past the rule's lock timeout: B must give up with
  RetryableConflict (55P03), and the database equal A alone's.

The serial orders are the oracle: A then B on a starting state of their own, in a transaction rolled
back afterwards (each order computed once per process). Compared: the canonical `Snapshot` of the
tutor (sessions, skipped occurrences, series, patterns, time off, requests, enrolments, zone; rows
named by their part in the starting state, never by id) and the SQLSTATE each operation raised.
`violations` checks the invariants the reference model (tests/reference.py) states for series.

Every case builds its starting state (`prepare`: new tutors, students, requests) in one database, the
matrix's, rather than in a clone of its own: PostgreSQL 15's DROP DATABASE waits for a checkpoint of
the whole server, about a second on a busy one, where building the state takes a tenth of that. The
operations are scoped to the case's tutors, except the extension, which extends every live series:
`Matrix.fresh` first leaves the earlier cases' series nothing to extend for a day.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb

import astegni
from astegni.errors import LOCK_TIMEOUT, AstegniError, RetryableConflict, translate
from tests.reference import WEEKDAYS, Pattern, _names, occurrence
from tests.support import ADDIS_ABABA, MON_WED_FRI, Factory, pull_back, scalar

DAY = dt.timedelta(days=1)
# The zone a zone change moves the tutor to: an hour ahead of Addis Ababa, no DST (nothing lands in a gap).
NEW_ZONE = "Asia/Dubai"
# How long B may take to be seen waiting, and a case to finish, before the harness gives up on it.
PATIENCE = 10.0
# made_until is a horizon taken from now(): a race and its serial run, seconds or minutes apart, agree
# on it within this.
HORIZON_SLACK = dt.timedelta(minutes=30)
# How long B, waiting for a tutor's lock, may wait before the rule gives up (its lock_timeout, 2 s, and
# some slack for a busy machine).
BOUNDED_WAIT = 5.0
# The table whose rows are the tutors' locks (astegni_lock_tutors).
TUTOR_LOCKS = "astegni_tutor_locks"


# --- the starting state -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Calendar:
    """The dates and times every case's starting state uses, fixed once by the database's clock."""

    start: dt.time  # the series' start time (free_hour)
    monday: dt.date  # the first Monday at least three days ahead: where the operations' dates start

    @classmethod
    def now(cls, conn: psycopg.Connection[Any]) -> Calendar:
        wall: dt.datetime = scalar(conn, "SELECT now() AT TIME ZONE %s", ADDIS_ABABA)
        ahead = wall.date() + 3 * DAY
        return cls(free_hour(wall), ahead + DAY * ((7 - ahead.weekday()) % 7))

    def at(self, hours: int) -> dt.time:
        """The series' start time, `hours` later."""
        return (dt.datetime.combine(self.monday, self.start) + dt.timedelta(hours=hours)).time()

    def day(self, week: int, weekday: int) -> dt.date:
        """The date of ISO `weekday` in week `week` (0: `monday`'s)."""
        return self.monday + DAY * (7 * week + weekday - 1)

    def midnight(self, week: int, weekday: int) -> dt.datetime:
        """The start of that day in the tutor's first zone: the time off's bounds."""
        return dt.datetime.combine(self.day(week, weekday), dt.time(), ZoneInfo(ADDIS_ABABA))


def free_hour(wall: dt.datetime) -> dt.time:
    """A start time whose series, and times up to 3 hours later, stay as far as can be from the wall
    clock's time of day: acceptance ("after now") and the horizon ("now + 8 weeks") cross an occurrence
    only when the clock passes its time of day, so the serial and raced runs of a case, minutes apart,
    make the same occurrences."""
    now = wall.hour + wall.minute / 60

    def margin(hour: int) -> float:
        return min(min(abs(hour + k - now), 24 - abs(hour + k - now)) for k in range(4))

    return dt.time(max(range(21), key=margin))


@dataclass(frozen=True)
class Start:
    """A starting state (`prepare`): one tutor in Addis Ababa with

    - `series`: an accepted Mon/Wed/Fri series at the calendar's start time, for an hour (conflict
      policy 'skip'), its marker pulled back 14 days (the extension has 6 sessions to make);
    - `time_off`: the tutor's time off over Monday to Wednesday of week 1 (two of the series' sessions
      cancelled);
    - `recurring`: a pending Tue/Thu request at the series' time (policy 'skip'), another course;
    - `dates`: a pending specific-dates request on week 0's Monday (the series has a session then) and
      Saturday (policy 'skip'), another course;
    - `hand_course`: a course of a fourth package with no session, for a session inserted by hand;
    - `moved`: the series' session on week 0's Friday, which a hand move re-times;
    and `other_tutor` with a pending specific-dates request (`other_request`) of its own. `names` names
    the requests, packages and students by their part, for the canonical snapshot."""

    calendar: Calendar
    tutor: int
    series: int
    recurring: int
    dates: int
    time_off: int
    hand_course: int
    moved: int
    other_tutor: int
    other_request: int
    names: dict[str, dict[int, str]]  # 'request', 'package', 'student': id -> part

    def __getattr__(self, name: str) -> Any:
        # The calendar's dates and times read as the state's own: s.monday, s.at(2), ...
        return getattr(self.calendar, name)

    def edits(self) -> dict[str, Any]:
        """The tutor's edits of the Tue/Thu request in "accept edited": week 0's Tuesday left out, week
        1's Thursday two hours later (onto the time "retime" gives the series' Thursdays from then)."""
        return {"without": [self.day(0, 2)], "moves": {self.day(1, 4): (self.at(2), self.at(3))}}


def prepare(conn: psycopg.Connection[Any], calendar: Calendar) -> Start:
    """Builds a starting state (in conn's transaction, or committed on an autocommit connection)."""
    f = Factory(conn)
    start, end = calendar.start, calendar.at(1)
    tutor = f.tutor(ADDIS_ABABA)
    names: dict[str, dict[int, str]] = {"request": {}, "package": {}, "student": {}}

    def request(part: str, **fields: Any) -> int:
        user, student = f.student()
        package = f.package(tutor)
        made = f.request(tutor, user, package_id=package, start_time=start, end_time=end,
                         conflict_policy="skip", **fields)
        names["request"][made], names["package"][package], names["student"][student] = part, part, part
        return made

    series = request("series", **MON_WED_FRI)
    astegni.accept(conn, series)
    time_off = astegni.add_time_off(conn, tutor, calendar.midnight(1, 1), calendar.midnight(1, 4),
                                    "conference").id
    pull_back(conn, series, 14)
    recurring = request("recurring", schedule_type="recurring", days=["Tuesday", "Thursday"])
    dates = request("dates", schedule_type="specific_dates",
                    specific_dates=[calendar.day(0, 1).isoformat(), calendar.day(0, 6).isoformat()])
    package = f.package(tutor)
    names["package"][package] = "by hand"
    hand_course = scalar(conn, "INSERT INTO enrolled_courses (tutor_id, package_id) VALUES (%s, %s)"
                               " RETURNING id", tutor, package)
    moved = scalar(conn, "SELECT id FROM sessions WHERE request_id = %s AND session_date = %s",
                   series, calendar.day(0, 5))
    other_tutor = f.tutor(ADDIS_ABABA)
    other_request = f.request(other_tutor, f.student()[0], schedule_type="specific_dates",
                              specific_dates=[calendar.day(0, 1).isoformat()], start_time=start, end_time=end)
    return Start(calendar, tutor, series, recurring, dates, time_off, int(hand_course), int(moved),
                 other_tutor, other_request, names)


# --- the operations ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Operation:
    """One way of booking or freeing the tutor's time: `run` does it on a connection, in the
    transaction open there. `tutor_lock`: it takes the tutor's lock; `series_row`: it locks the series'
    row (a reschedule, an end, the extension moving a marker)."""

    name: str
    run: Callable[[psycopg.Connection[Any], Start], object]
    tutor_lock: bool = True
    series_row: bool = False

    def __str__(self) -> str:
        return self.name

    def holds_up(self, other: Operation) -> bool:
        """Whether `other` waits while this operation's transaction is open: for the tutor's lock, or
        for the series row, which only an operation that also takes the tutor's lock waits for (the
        extension moving a marker without it skips a row that is held)."""
        return other.tutor_lock and (self.tutor_lock or (self.series_row and other.series_row))


def statement(conn: psycopg.Connection[Any], query: str, *params: Any) -> None:
    """A plain statement, as a client would send it; the rule's refusals raised as AstegniError."""
    try:
        conn.execute(query, params)
    except psycopg.Error as error:
        mapped = translate(error)
        if mapped is None:
            raise
        raise mapped from error


OPERATIONS: tuple[Operation, ...] = (
    Operation("accept", lambda c, s: astegni.accept(c, s.recurring, tutor_id=s.tutor)),
    Operation("accept dates", lambda c, s: astegni.accept(c, s.dates, tutor_id=s.tutor)),
    # Its edits are written (acceptance_edits) under the tutor's lock, before the request's row.
    Operation("accept edited", lambda c, s: astegni.accept(c, s.recurring, tutor_id=s.tutor, **s.edits())),
    Operation("cancel", lambda c, s: astegni.cancel(c, s.series, reason="moved away", tutor_id=s.tutor)),
    # Tuesday and Saturday from week 0 on: the Monday frees the dates request's slot, the Saturday
    # takes its other one.
    Operation("reschedule", lambda c, s: astegni.reschedule(
        c, s.series, s.monday, days=["Tuesday", "Saturday"], tutor_id=s.tutor), series_row=True),
    # Tuesday and Thursday two hours later, from week 1 on: its Tuesdays are another pattern's.
    Operation("retime", lambda c, s: astegni.reschedule(
        c, s.series, s.day(1, 1), days=["Tuesday", "Thursday"], start_time=s.at(2), end_time=s.at(3),
        tutor_id=s.tutor), series_row=True),
    Operation("end", lambda c, s: astegni.end_series(c, s.series, s.day(1, 3), "exams", tutor_id=s.tutor),
              series_row=True),
    # Friday of week 1 to Tuesday of week 2: across the series' end.
    Operation("time off added", lambda c, s: astegni.add_time_off(
        c, s.tutor, s.midnight(1, 5), s.midnight(2, 2), "holiday")),
    # From Monday-Wednesday of week 1 to Thursday-Friday of week 2.
    Operation("time off moved", lambda c, s: statement(
        c, "UPDATE tutor_time_off SET during = tstzrange(%s, %s) WHERE id = %s",
        s.midnight(2, 4), s.midnight(2, 6), s.time_off)),
    Operation("time off removed", lambda c, s: astegni.remove_time_off(c, s.time_off, tutor_id=s.tutor)),
    Operation("extension", lambda c, s: statement(c, "SELECT astegni_extend_series_at(now())"),
              series_row=True),
    # As at 20 minutes after the moment the series' marker was pulled back to: its new horizon adds no
    # occurrence (the series' times are hours from the wall clock's), so only its marker moves, under
    # the series row's lock, without the tutor's.
    Operation("extension, nothing to make", lambda c, s: statement(
        c, "SELECT astegni_extend_series_at(now() - interval '14 days' + interval '20 minutes')"),
              tutor_lock=False, series_row=True),
    Operation("zone change", lambda c, s: statement(
        c, "UPDATE tutor_profiles SET timezone = %s WHERE id = %s", NEW_ZONE, s.tutor)),
    # On the Thursday of week 0, at the Tue/Thu request's time.
    Operation("session inserted", lambda c, s: statement(
        c, "INSERT INTO sessions (enrolled_courses_id, session_date, start_time, end_time)"
           " VALUES (%s, %s, %s, %s)", s.hand_course, s.day(0, 4), s.start, s.at(1))),
    Operation("session moved", lambda c, s: statement(
        c, "UPDATE sessions SET start_time = %s, end_time = %s WHERE id = %s", s.at(1), s.at(2), s.moved)),
)
BY_NAME = {op.name: op for op in OPERATIONS}


def pairs() -> list[tuple[Operation, Operation]]:
    """Every ordered pair of operations, each with itself included."""
    return [(a, b) for a in OPERATIONS for b in OPERATIONS]


@dataclass(frozen=True)
class Outcome:
    """What an operation ended with: None (done) or its error's SQLSTATE; `raw`, the text of an error
    that is none of the project's; whether it was a RetryableConflict."""

    sqlstate: str | None = None
    raw: str | None = None
    retryable: bool = False

    @property
    def timed_out(self) -> bool:
        """The rule gave up waiting for a tutor's lock (RetryableConflict, 55P03)."""
        return self.retryable and self.sqlstate == LOCK_TIMEOUT


def begin(conn: psycopg.Connection[Any]) -> None:
    """Opens a transaction on a connection that is not autocommit (read committed, as the app's)."""
    conn.execute("SELECT 1")


def perform(conn: psycopg.Connection[Any], op: Operation, start: Start) -> Outcome:
    """Runs `op` in conn's open transaction, in a savepoint: a failure undoes the operation alone. The
    project's errors are the AstegniErrors of SQLSTATE class AS; anything else is raw, a
    RetryableConflict too (unless the case provoked it: `Outcome.timed_out`)."""
    try:
        with conn.transaction():
            op.run(conn, start)
    except AstegniError as error:
        sqlstate = type(error).sqlstate or error.detail.get("sqlstate")
        retryable = isinstance(error, RetryableConflict)
        ours = sqlstate is not None and sqlstate.startswith("AS") and not retryable
        return Outcome(sqlstate, None if ours else f"{type(error).__name__}: {error}", retryable)
    except Exception as error:  # a raw error: reported by the case
        return Outcome(getattr(error, "sqlstate", None) or type(error).__name__,
                       f"{type(error).__name__}: {error}")
    return Outcome()


def commit(conn: psycopg.Connection[Any], outcome: Outcome) -> Outcome:
    """Ends the operation's transaction: committed when it succeeded (a failed commit is a raw error),
    else rolled back."""
    if outcome.sqlstate is not None:
        conn.rollback()
        return outcome
    try:
        conn.commit()
    except psycopg.Error as error:
        return Outcome(error.sqlstate, f"commit: {type(error).__name__}: {error}")
    return outcome


# --- the canonical snapshot ---------------------------------------------------------------------

# Each table's rows of the tutor, ids given as the part they play (%(request)s etc.: jsonb of id -> part).
SNAPSHOT_QUERIES = {
    "sessions": "SELECT %(request)s::jsonb ->> s.request_id::text, %(package)s::jsonb ->> c.package_id::text,"
                " s.session_date, s.start_time, s.end_time, s.starts_at, s.ends_at, s.status,"
                " s.cancelled_reason FROM sessions AS s"
                " JOIN enrolled_courses AS c ON c.id = s.enrolled_courses_id"
                " WHERE s.tutor_id = %(tutor)s ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9",
    "skipped_occurrences": "SELECT %(request)s::jsonb ->> k.request_id::text, k.session_date, k.starts_at,"
                           " k.ends_at, k.reason FROM skipped_occurrences AS k"
                           " JOIN requested_sessions AS r ON r.id = k.request_id"
                           " WHERE r.tutor_id = %(tutor)s ORDER BY 1, 2, 3, 4, 5",
    "series": "SELECT %(request)s::jsonb ->> request_id::text, made_until, last_date FROM series"
              " WHERE tutor_id = %(tutor)s ORDER BY 1",
    # In the order they were set: the newest one applying on a date is its pattern.
    "series_patterns": "SELECT %(request)s::jsonb ->> p.request_id::text, p.valid_from, p.days::text,"
                       " p.start_time, p.end_time FROM series_patterns AS p"
                       " JOIN series AS s ON s.request_id = p.request_id"
                       " WHERE s.tutor_id = %(tutor)s ORDER BY 1, p.id",
    "time_off": "SELECT lower(during), upper(during), reason FROM tutor_time_off WHERE tutor_id = %(tutor)s"
                " ORDER BY 1, 2, 3",
    "requests": "SELECT %(request)s::jsonb ->> id::text, status, days::text, start_time, end_time"
                " FROM requested_sessions WHERE tutor_id = %(tutor)s ORDER BY 1",
    "courses": "SELECT %(package)s::jsonb ->> package_id::text,"
               " ARRAY(SELECT %(student)s::jsonb ->> s::text FROM unnest(students_id) AS s ORDER BY 1)"
               " FROM enrolled_courses WHERE tutor_id = %(tutor)s ORDER BY 1",
    "enrolled_students": "SELECT %(student)s::jsonb ->> student_id::text FROM enrolled_students"
                         " WHERE tutor_id = %(tutor)s ORDER BY 1",
    "zone": "SELECT timezone FROM tutor_profiles WHERE id = %(tutor)s",
}


@dataclass(frozen=True)
class Snapshot:
    """The tutor's state after a case, table by table, and the SQLSTATE each operation raised (None:
    it succeeded), A's first."""

    tables: dict[str, list[tuple[Any, ...]]]
    errors: tuple[str | None, str | None]

    def agrees(self, other: Snapshot) -> bool:
        """Equal, each series' made_until within HORIZON_SLACK of the other's."""
        if self.errors != other.errors:
            return False
        for name, rows in self.tables.items():
            theirs = other.tables[name]
            if name == "series":
                if len(rows) != len(theirs) or any(
                        (a[0], a[2]) != (b[0], b[2]) or abs(a[1] - b[1]) > HORIZON_SLACK
                        for a, b in zip(rows, theirs, strict=True)):
                    return False
            elif rows != theirs:
                return False
        return True

    def diff(self, other: Snapshot, label: str) -> str:
        """The rows only this snapshot has ('race') and only `other` has (`label`), table by table."""
        lines = []
        if self.errors != other.errors:
            lines.append(f"  errors: race {self.errors}, {label} {other.errors}")
        for name, rows in self.tables.items():
            if name == "series":  # a marker within HORIZON_SLACK of the other's is the same
                near = {(b[0], b[2]): b[1] for b in other.tables[name]}
                rows = [(a[0], near[(a[0], a[2])], a[2]) if (a[0], a[2]) in near
                        and abs(a[1] - near[(a[0], a[2])]) <= HORIZON_SLACK else a for a in rows]
            mine, theirs = Counter(map(_shown, rows)), Counter(map(_shown, other.tables[name]))
            lines += [f"  {name}: race only  {row}" for row in sorted((mine - theirs).elements())]
            lines += [f"  {name}: {label} only {row}" for row in sorted((theirs - mine).elements())]
        return "\n".join(lines)


def _shown(row: tuple[Any, ...]) -> str:
    return "(" + ", ".join(v.isoformat(" ", "minutes") if isinstance(v, dt.datetime) else str(v)
                           for v in row) + ")"


def snapshot(conn: psycopg.Connection[Any], start: Start, errors: tuple[Outcome, Outcome]) -> Snapshot:
    """The canonical snapshot of the state's tutor."""
    params = {"tutor": start.tutor, **{kind: Jsonb({str(k): v for k, v in ids.items()})
                                       for kind, ids in start.names.items()}}
    with conn.transaction():
        tables = {name: conn.execute(query, params).fetchall() for name, query in SNAPSHOT_QUERIES.items()}
    return Snapshot(tables, (errors[0].sqlstate, errors[1].sqlstate))


# --- the invariants ---------------------------------------------------------------------------------

def violations(conn: psycopg.Connection[Any], start: Start) -> list[str]:
    """What breaks the invariants of series (tests/reference.py's Series and its pattern history) for
    the state's tutor: a session whose date and times, read in the tutor's zone, are not its instants;
    a live session of a series on a date, or at a time, its applying pattern does not
    make (the session moved by hand, and the occurrence "accept edited" moved, excepted); two live
    sessions of one request on one date; two live sessions of the tutor's different courses overlapping;
    an occurrence the applying pattern makes up to the marker (and the last date) with neither a session
    nor a skipped occurrence; an edit of an acceptance left staged (acceptance_edits) after it."""
    part = start.names["request"]
    found = [f"{part.get(r)}: its edit of {d} is still staged" for r, d in conn.execute(
        "SELECT e.request_id, e.session_date FROM acceptance_edits AS e"
        " JOIN requested_sessions AS r ON r.id = e.request_id WHERE r.tutor_id = %s", (start.tutor,))]
    found += [f"{part.get(r)} has {n} live sessions on {d}" for r, d, n in conn.execute(
        "SELECT request_id, session_date, count(*) FROM sessions WHERE tutor_id = %s"
        " AND status IS DISTINCT FROM 'cancelled' AND request_id IS NOT NULL GROUP BY 1, 2"
        " HAVING count(*) > 1", (start.tutor,)).fetchall()]
    found += [f"sessions of {part.get(a)} and {part.get(b)} overlap at {at}" for a, b, at in conn.execute(
        "SELECT a.request_id, b.request_id, a.starts_at FROM sessions AS a JOIN sessions AS b"
        " ON b.tutor_id = a.tutor_id AND b.id > a.id AND b.enrolled_courses_id <> a.enrolled_courses_id"
        " AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)"
        " WHERE a.tutor_id = %s AND a.status IS DISTINCT FROM 'cancelled'"
        " AND b.status IS DISTINCT FROM 'cancelled'", (start.tutor,)).fetchall()]
    zone = ZoneInfo(scalar(conn, "SELECT timezone FROM tutor_profiles WHERE id = %s", start.tutor))
    for request, day, start_time, end_time, starts_at, ends_at in conn.execute(
            "SELECT request_id, session_date, start_time, end_time, starts_at, ends_at FROM sessions"
            " WHERE tutor_id = %s ORDER BY session_date, start_time", (start.tutor,)).fetchall():
        wall = occurrence(day, start_time, end_time, zone)
        if (wall.starts_at, wall.ends_at) != (starts_at, ends_at):
            found.append(f"{part.get(request, 'by hand')}: the session on {day} {start_time:%H:%M}"
                         f" ({zone.key}) starts at {_local(starts_at, zone)}: its two time pairs disagree")
    series = conn.execute(
        "SELECT s.request_id, s.made_until, s.last_date, a.accepted_at, r.days, r.start_time, r.end_time"
        " FROM series AS s JOIN requested_sessions AS r ON r.id = s.request_id AND r.status = 'accepted'"
        " JOIN acceptances AS a ON a.request_id = s.request_id WHERE s.tutor_id = %s ORDER BY 1",
        (start.tutor,)).fetchall()
    for request, made_until, last_date, accepted_at, days, start_time, end_time in series:
        history = [(valid_from, _pattern(d, s, e)) for valid_from, d, s, e in conn.execute(
            "SELECT valid_from, days, start_time, end_time FROM series_patterns WHERE request_id = %s"
            " ORDER BY id", (request,)).fetchall()] or [(dt.date.min, _pattern(days, start_time, end_time))]

        def pattern_on(day: dt.date, history: list[tuple[dt.date, Pattern]] = history) -> Pattern:
            return next(p for valid_from, p in reversed(history) if valid_from <= day)

        sessions = conn.execute("SELECT id, session_date, starts_at, ends_at, status FROM sessions"
                                " WHERE request_id = %s", (request,)).fetchall()
        for session, day, starts_at, ends_at, status in sessions:
            if status == "cancelled" or session == start.moved:
                continue
            pattern = pattern_on(day)
            made = occurrence(day, pattern.start, pattern.end, zone)
            moved = start.edits()["moves"].get(day) if request == start.recurring else None
            if moved is not None and (starts_at, ends_at) == astuple(occurrence(day, *moved, zone))[1:]:
                continue  # the occurrence "accept edited" moved
            if day.weekday() not in pattern.weekdays or (made.starts_at, made.ends_at) != (
                    starts_at, ends_at):
                found.append(f"{part[request]}: a live session on {day} at {_local(starts_at, zone)} is not"
                             f" its pattern's ({_shown_pattern(pattern)})")
        held = {row[1] for row in sessions} | {d for (d,) in conn.execute(
            "SELECT session_date FROM skipped_occurrences WHERE request_id = %s", (request,)).fetchall()}
        accepted = accepted_at.astimezone(zone).replace(tzinfo=None)
        day = accepted.date()
        while day <= made_until.date() and (last_date is None or day <= last_date):
            pattern = pattern_on(day)
            wall = dt.datetime.combine(day, pattern.start)
            if day.weekday() in pattern.weekdays and accepted < wall <= made_until and day not in held:
                found.append(f"{part[request]}: the occurrence on {day} is lost (no session, no skip)")
            day += DAY
    return found


def _local(instant: dt.datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%a %H:%M} {zone.key}"


def _shown_pattern(pattern: Pattern) -> str:
    days = "/".join(WEEKDAYS[d][:3].title() for d in sorted(pattern.weekdays))
    return f"{days} {pattern.start:%H:%M}-{pattern.end:%H:%M}"


def _pattern(days: Any, start: dt.time, end: dt.time) -> Pattern:
    weekdays = _names(days, WEEKDAYS, "days")
    assert weekdays is not None, days
    return Pattern(frozenset(weekdays), start, end)


# --- the cases --------------------------------------------------------------------------------------

# The serial order a case may equal: its label ('A;B', 'B;A'), snapshot and invariant violations.
Order = tuple[str, Snapshot, list[str]]


@dataclass
class Case:
    """One raced case: its mode and pair, what each side ended with, the database's snapshot and
    invariant violations, what the harness saw (B waiting, the other tutor's acceptance) and the serial
    orders it may equal."""

    mode: str
    a: Operation
    b: Operation
    seed: int | None = None
    outcomes: tuple[Outcome, Outcome] = (Outcome(), Outcome())
    snapshot: Snapshot | None = None
    violations: list[str] = field(default_factory=list)
    waited: bool | None = None
    waited_on: str | None = None  # timeout: the table of the row B still waited for past the bound
    other_tutor: str | None = None  # None: the other tutor's acceptance completed; else what went wrong
    problems: list[str] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    matched: str | None = None  # the label of the order the database equals, set by judge

    @property
    def title(self) -> str:
        seed = f", seed {self.seed}" if self.seed is not None else ""
        return f"{self.mode} case A={self.a}, B={self.b}{seed}"


class Matrix:
    """Runs cases in the database `url` (at the migrations' head), each on a starting state of its own,
    over three connections kept from case to case (as an app keeps its pool): the two sides and a
    monitor; keeps the serial orders, each computed once."""

    def __init__(self, url: str):
        self.url = url
        self.monitor = psycopg.connect(url, autocommit=True)
        self.sides = [psycopg.connect(url), psycopg.connect(url)]
        self.other = psycopg.connect(url, autocommit=True)  # the other tutor's app
        self.calendar = Calendar.now(self.monitor)
        self._serial: dict[tuple[str, str], tuple[Snapshot, list[str]]] = {}

    def close(self) -> None:
        for conn in (self.monitor, *self.sides, self.other):
            conn.close()

    def fresh(self) -> Start:
        """A new starting state, committed, the earlier cases' series first brought a day ahead of
        their horizon: this case's extension finds work, and takes locks, in its own state only."""
        self.monitor.execute("SELECT astegni_extend_series_at(now() + interval '1 day')")
        with self.monitor.transaction():
            return prepare(self.monitor, self.calendar)

    def alone(self, op: Operation) -> tuple[Snapshot, Outcome, Snapshot, list[str]]:
        """`op` alone on a starting state: the snapshots before and after, its outcome and the
        invariant violations after."""
        start, conn = self.fresh(), self.sides[0]
        before = snapshot(self.monitor, start, (Outcome(), Outcome()))
        begin(conn)
        outcome = commit(conn, perform(conn, op, start))
        after = snapshot(self.monitor, start, (outcome, Outcome()))
        return before, outcome, after, violations(self.monitor, start)

    def serial(self, start: Start, first: Operation, second: Operation | None, label: str = "A;B") -> Order:
        """`first` then `second` (None: `first` alone, the second side refused 55P03), computed once per
        order, on `start` when not yet, in a transaction rolled back after."""
        key = (first.name, second.name if second else "")
        if key not in self._serial:
            conn = self.sides[0]
            begin(conn)
            outcomes = (perform(conn, first, start),
                        perform(conn, second, start) if second else Outcome(LOCK_TIMEOUT))
            self._serial[key] = snapshot(conn, start, outcomes), violations(conn, start)
            conn.rollback()
        snap, broken = self._serial[key]
        if label == "B;A":  # the errors listed A's first, as the case lists them
            snap = Snapshot(snap.tables, (snap.errors[1], snap.errors[0]))
        return label, snap, broken

    def held(self, a: Operation, b: Operation) -> Case:
        """A in a transaction left open, B seen waiting on a lock (or, when A does not hold B up,
        finished without waiting: the database is then A;B's or B;A's), another tutor's acceptance
        completed, then A committed and B finished."""
        start = self.fresh()
        orders = [self.serial(start, a, b)]
        if not a.holds_up(b):
            orders.append(self.serial(start, b, a, "B;A"))
        case = Case("held", a, b, orders=orders)
        first, side, one = self._hold(case, start)
        case.other_tutor = self._other_tutor(start)
        one = commit(first, one)
        self._finish([side])
        case.outcomes = (one, side.outcome)
        return self._judged(case, start)

    def timeout(self, a: Operation, b: Operation) -> Case:
        """A held open past the rule's lock timeout. B, seen waiting, must give up with RetryableConflict
        (55P03) while A is still open, having written nothing: the database is then A's alone. A B
        still waiting then for a row of another table than the tutors' locks (a row A wrote, which B locks
        before the tutor's lock: its own UPDATE, or astegni_accept's and astegni_cancel's of the request)
        is left to finish after A, as in a held case: the database is then A;B's."""
        start = self.fresh()
        alone, after = self.serial(start, a, None, "A alone"), self.serial(start, a, b)
        case = Case("timeout", a, b, orders=[alone])
        first, side, one = self._hold(case, start)
        side.join(BOUNDED_WAIT)
        if side.is_alive():
            # A row lock's waiter holds (or waits for) the tuple lock of the row: it names the table.
            case.waited_on = scalar(self.monitor, "SELECT min(relation::regclass::text) FROM pg_locks"
                                                  " WHERE pid = %s AND locktype = 'tuple'", side.pid)
            case.orders = [after]
            if case.waited_on in (None, TUTOR_LOCKS):
                case.problems.append(f"B ({b}) still waited {BOUNDED_WAIT:.0f} s after it was seen waiting"
                                     f" for the tutor's lock: its wait is not bounded")
        one = commit(first, one)
        self._finish([side])
        case.outcomes = (one, side.outcome)
        return self._judged(case, start)

    def _hold(self, case: Case, start: Start) -> tuple[psycopg.Connection[Any], _Side, Outcome]:
        """A run in a transaction left open, B started and seen waiting on a lock (else a problem)."""
        first, monitor = self.sides[0], self.monitor
        begin(first)
        one = perform(first, case.a, start)
        if one.sqlstate is not None:
            case.problems.append(f"A ({case.a}) failed on the starting state: {one}")
        side = _Side(self.sides[1], case.b, start)
        side.start()
        deadline = time.monotonic() + PATIENCE
        holder = [first.info.backend_pid]
        if not case.a.holds_up(case.b) and case.mode == "held":
            while side.is_alive() and time.monotonic() < deadline:
                if _blocked(monitor, side.pid, holder):
                    case.problems.append(f"B ({case.b}) waited on a lock of A ({case.a}), which holds"
                                         " up neither its tutor's lock nor its series row")
                    break
                time.sleep(0.002)
            else:
                if side.is_alive():
                    case.problems.append(f"B ({case.b}) did not finish while A ({case.a}) was open")
            return first, side, one
        case.waited = _blocked(monitor, side.pid, holder)
        while not case.waited and side.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
            case.waited = _blocked(monitor, side.pid, holder)
        if not case.waited:
            case.problems.append(f"B ({case.b}) was never seen waiting on a lock of A ({case.a})"
                                 + (" (it finished)" if not side.is_alive() else ""))
        return first, side, one

    def raced(self, a: Operation, b: Operation, seed: int) -> Case:
        """A and B released together, each after a small delay drawn from `seed`, no hold."""
        rng = random.Random(seed)
        start = self.fresh()
        case = Case("random", a, b, seed, orders=[self.serial(start, a, b), self.serial(start, b, a, "B;A")])
        barrier = threading.Barrier(2)
        sides = [_Side(conn, op, start, rng.uniform(0, 0.03), barrier)
                 for conn, op in zip(self.sides, (a, b), strict=True)]
        for side in sides:
            side.start()
        self._finish(sides)
        case.outcomes = (sides[0].outcome, sides[1].outcome)
        return self._judged(case, start)

    def _other_tutor(self, start: Start) -> str | None:
        """Accepts the other tutor's request; None when it completed without waiting on a lock of the
        case's sides, else what went wrong."""
        error: list[BaseException] = []

        def accept() -> None:
            try:
                astegni.accept(self.other, start.other_request, tutor_id=start.other_tutor)
            except (AstegniError, psycopg.Error) as refused:
                error.append(refused)

        app = threading.Thread(target=accept, daemon=True)
        app.start()
        stalled = False
        while app.is_alive() and not stalled:
            stalled = _blocked(self.monitor, self.other.info.backend_pid,
                               [conn.info.backend_pid for conn in self.sides])
            time.sleep(0.002)
        app.join(PATIENCE)
        if stalled:
            return "it waited on a lock the case holds" + (f", then failed: {error[0]}" if error else "")
        return f"{type(error[0]).__name__}: {error[0]}" if error else None

    def _finish(self, sides: list[_Side]) -> None:
        """Waits for the sides; one still running after PATIENCE is cancelled and its connection
        replaced, so that the next case starts clean."""
        for side in sides:
            side.join(PATIENCE)
            if side.is_alive():
                side.conn.cancel_safe()
                side.join(PATIENCE)
                index = self.sides.index(side.conn)
                side.conn.close()
                self.sides[index] = psycopg.connect(self.url)

    def _judged(self, case: Case, start: Start) -> Case:
        case.snapshot = snapshot(self.monitor, start, case.outcomes)
        case.violations = violations(self.monitor, start)
        return case


def _blocked(monitor: psycopg.Connection[Any], pid: int, holders: list[int]) -> bool:
    """Whether the backend `pid` waits on a lock one of `holders` holds (a wait on anyone else's, such
    as the server-wide lock of committing NOTIFYs, is not the case's)."""
    return bool(scalar(monitor, "SELECT pg_blocking_pids(%s) && %s::integer[]", pid, holders))


class _Side(threading.Thread):
    """A side of a case: its operation run on its connection in a transaction of its own, once released
    (after `barrier`, then `delay` seconds)."""

    def __init__(self, conn: psycopg.Connection[Any], op: Operation, start: Start, delay: float = 0.0,
                 barrier: threading.Barrier | None = None):
        super().__init__(daemon=True)
        self.conn, self.op, self.state, self.delay, self.barrier = conn, op, start, delay, barrier
        self.pid = conn.info.backend_pid
        self.outcome = Outcome("unfinished", "the operation did not finish")
        begin(conn)

    def run(self) -> None:
        if self.barrier is not None:
            self.barrier.wait()
        time.sleep(self.delay)
        self.outcome = commit(self.conn, perform(self.conn, self.op, self.state))


def judge(case: Case) -> list[str]:
    """Every way the case failed: its problems, raw errors, false refusals, a state that is no serial
    order's (held: not A;B), invariant violations. Empty when it passed."""
    assert case.snapshot is not None
    problems = list(case.problems)
    if case.other_tutor is not None:
        problems.append(f"the other tutor's acceptance did not complete while A was open: {case.other_tutor}")
    for side, outcome in zip("AB", case.outcomes, strict=True):
        provoked = case.mode == "timeout" and side == "B" and outcome.timed_out
        if outcome.raw is not None and not provoked:
            problems.append(f"raw error from {side}: {outcome.raw}")
    case.matched = next((label for label, s, _ in case.orders if case.snapshot.agrees(s)), None)
    if case.matched is None:
        for label, s, _ in case.orders:
            for side, mine, theirs in zip("AB", case.snapshot.errors, s.errors, strict=True):
                if mine != theirs:
                    problems.append(f"{'false refusal' if mine else 'missed refusal'} against {label}: "
                                    f"{side} {'raised ' + mine if mine else 'succeeded'} ({label}: "
                                    f"{'raised ' + theirs if theirs else 'succeeded'})")
        problems.append("the database is no serial order's:\n" + "\n".join(
            f" against {label}:\n{case.snapshot.diff(s, label)}" for label, s, _ in case.orders))
    serial_broken = {v for _, _, broken in case.orders for v in broken}
    problems += [f"invariant: {v}" + (" (the serial order breaks it too)" if v in serial_broken else "")
                 for v in case.violations]
    return problems


def report(case: Case, problems: list[str]) -> str:
    """The failure message of a case."""
    errors = ", ".join(f"{side} {o.sqlstate or 'ok'}" for side, o in zip("AB", case.outcomes, strict=True))
    return f"{case.title} ({errors}):\n" + "\n".join(f"- {p}" for p in problems)

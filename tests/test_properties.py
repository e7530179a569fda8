"""Property tests: the database's acceptance against the reference model (tests/reference.py).

Hypothesis generates requests (odd weekday spellings, duplicate, past and impossible dates, times
across midnight and inside DST changes, month and year windows, stale year windows, missing lists and
times, one defect at a time) for tutors in zones with and without DST, under a weeks horizon of 8 weeks
or another (a long one reaches the DST nights of next year, and the session limit), and a longest
session of 8 hours (the default) or another (a whole day lets every length through); each is accepted
in a transaction that is rolled back afterwards, by a client in a TimeZone of its own, and the
database must either make exactly the reference's sessions and skipped occurrences (a recurring
request: its first stretch, up to the horizon), record the reference's note and stamp the app's naive
columns with UTC wall-clock time, or refuse with the reference's error and field, leaving nothing
behind. What a series does after its acceptance is tests/test_series_properties.py's.

The moment of acceptance is the transaction's now(): it is read first, in the same transaction, and
the request's dates are drawn relative to it. Fixed moments (DST nights, month and year ends) are
covered by unit tests of the reference, whose reading of wall-clock times is itself checked against
PostgreSQL's AT TIME ZONE.

Profiles: 'fast' (the default run, in CI) and 'thorough' (`pytest -m thorough`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import astegni
from astegni.errors import AstegniError, ScheduleConflict, translate
from astegni.testing import fresh_database
from tests.reference import (
    MONTHS,
    WEEKDAYS,
    Occurrence,
    Plan,
    Refusal,
    Request,
    Skip,
    expected,
    instant,
    judge,
    occurrence,
)
from tests.reliability_report import record
from tests.support import Factory, scalar, sessions

ZONES = ("America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu",
         "Africa/Addis_Ababa")
# The client's TimeZone setting: the rule's stamps of the app's naive columns are UTC whatever it is.
CLIENT_ZONES = ("UTC", "Asia/Tokyo", "America/Los_Angeles", "Africa/Addis_Ababa")

_BASE = settings(deadline=None, database=None, print_blob=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("fast", _BASE, max_examples=450)
settings.register_profile("thorough", _BASE, max_examples=10_000)
# The reference's reading of wall-clock times against PostgreSQL's (up to 20 readings an example).
settings.register_profile("fast-instants", _BASE, max_examples=150)
settings.register_profile("thorough-instants", _BASE, max_examples=2_000)
PROFILES = [pytest.param("fast", id="fast"),
            pytest.param("thorough", id="thorough", marks=pytest.mark.thorough)]

# The weeks horizon (schedule_settings.weeks_horizon): mostly the default; 52 weeks of every weekday
# passes the session limit (200).
WEEKS = (8, 8, 8, 8, 8, 8, 1, 3, 20, 52)

# The longest session (schedule_settings.max_session_minutes): mostly the default; a whole day, and
# shorter than many of the drawn sessions.
MAX_MINUTES = (480, 480, 480, 1440, 90)

# Wall-clock times where DST changes happen in the zones above (01:00-03:00), midnight and noon.
TIMES = [dt.time(h, m) for h, m in ((0, 0), (0, 30), (1, 0), (1, 30), (1, 45), (2, 0), (2, 15),
                                    (2, 30), (2, 45), (3, 0), (3, 30), (9, 0), (12, 0), (22, 30),
                                    (23, 0), (23, 30), (23, 59))]

GAP_STARTS = [dt.time(2, m) for m in (0, 10, 15, 29, 30, 45)]
GAP_ENDS = [dt.time(2, 20), dt.time(2, 30), dt.time(2, 45), dt.time(3, 0), dt.time(3, 5),
            dt.time(3, 30)]


# --- the database -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prop_conn(server_url: str, template_db: str) -> Iterator[psycopg.Connection[Any]]:
    """One database for the whole module (a clone per example would be too slow): every example
    runs in a transaction that is rolled back."""
    with fresh_database(server_url, template_db) as url, psycopg.connect(url) as conn:
        record("postgresql_version", conn.info.server_version)
        yield conn


@functools.lru_cache
def _people(conn: psycopg.Connection[Any]) -> tuple[dict[str, int], int]:
    """A tutor per zone and one student (user id), committed once for the module."""
    factory = Factory(conn)
    with conn.transaction():
        tutors = {zone: factory.tutor(zone) for zone in ZONES}
        student_user, _ = factory.student()
    return tutors, student_user


def _jsonb(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _accept(conn: psycopg.Connection[Any], request_id: int,
            method: str) -> astegni.Acceptance | None:
    """Accepts through the Python layer or a plain UPDATE (the rule fires for any client)."""
    if method == "accept":
        return astegni.accept(conn, request_id)
    try:
        conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s",
                     (request_id,))
    except psycopg.Error as error:
        mapped = translate(error)
        if mapped is None:
            raise
        raise mapped from error
    return None


def _skipped(conn: psycopg.Connection[Any], request_id: int) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT session_date, starts_at, ends_at, reason FROM skipped_occurrences"
        " WHERE request_id = %s ORDER BY session_date", (request_id,)).fetchall()


def check_against_reference(conn: psycopg.Connection[Any], data: st.DataObject) -> str:
    """One example: draw a request relative to the transaction's now(), accept it, compare.
    Returns the outcome's kind, for Hypothesis' statistics."""
    tutors, student_user = _people(conn)
    with conn.transaction(force_rollback=True):
        client_zone = data.draw(st.sampled_from(CLIENT_ZONES), label="client TimeZone")
        conn.execute("SELECT set_config('TimeZone', %s, true)", (client_zone,))
        # In UTC: Python never calls a wall-clock time that a zone repeats equal to a datetime of
        # another zone (PEP 495), so every instant is compared in UTC.
        now: dt.datetime = scalar(conn, "SELECT now()").astimezone(dt.UTC)
        zone = data.draw(st.sampled_from(ZONES), label="zone")
        weeks = data.draw(st.sampled_from(WEEKS), label="weeks")
        if weeks != 8:
            conn.execute("UPDATE schedule_settings SET weeks_horizon = %s", (weeks,))
        max_minutes = data.draw(st.sampled_from(MAX_MINUTES), label="longest session")
        if max_minutes != 480:
            conn.execute("UPDATE schedule_settings SET max_session_minutes = %s", (max_minutes,))
        request = data.draw(requests(zone, now), label="request")
        message = data.draw(messages(), label="message")
        method = data.draw(st.sampled_from(["accept", "update"]), label="method")
        want = expected(request, zone, now, weeks=weeks, max_minutes=max_minutes)
        request_id = Factory(conn).request(
            tutors[zone], student_user, schedule_type=request.schedule_type,
            days=_jsonb(request.days), specific_dates=_jsonb(request.specific_dates),
            months=_jsonb(request.months), year_range=_jsonb(request.year_range),
            start_time=request.start_time, end_time=request.end_time, message=message)
        acceptance, refused = None, None
        try:
            with conn.transaction():
                acceptance = _accept(conn, request_id, method)
        except AstegniError as error:
            refused = error
        # Read back in UTC (see above): the acceptance has run in the client's zone.
        conn.execute("SELECT set_config('TimeZone', 'UTC', true)")
        if refused is not None:
            assert isinstance(want, Refusal), f"refused {refused!r} {refused.detail}, expected {want}"
            assert (type(refused).__name__, getattr(refused, "field", None)) == (
                want.error, want.field)
            _assert_nothing_behind(conn, request_id, tutors[zone])
            outcome = f"refused {want.error}"
        else:
            assert isinstance(want, Plan), f"accepted, expected the refusal {want}"
            _assert_plan(conn, request_id, request, message, want, now)
            if acceptance is not None:  # what the Python layer reports is what was made
                assert (acceptance.responded_at.astimezone(dt.UTC), acceptance.sessions_created,
                        acceptance.students_enrolled, acceptance.note) == (
                    now, len(want.sessions), 1, want.note)
                assert sorted((s.session_date, s.reason) for s in acceptance.skipped) == [
                    (s.occurrence.session_date, s.reason) for s in want.skipped]
            outcome = "accepted" if want.sessions else "accepted, no session"
            if want.note:
                outcome += f" ({want.note})"
    record("property_examples", 1)
    record(f"property_outcome:{outcome}", 1)
    return outcome


def _assert_plan(conn: psycopg.Connection[Any], request_id: int, request: Request,
                 message: str | None, want: Plan, now: dt.datetime) -> None:
    utc_now = now.astimezone(dt.UTC).replace(tzinfo=None)  # the app's naive columns: UTC wall clock
    stamps = conn.execute(
        "SELECT r.status, r.responded_at, r.updated_at, e.enrolled_at, e.created_at, e.updated_at,"
        "   c.enrolled_at, c.created_at, c.updated_at, a.accepted_at, a.sessions_created,"
        "   a.students_enrolled, a.note"
        " FROM requested_sessions AS r"
        " JOIN enrolled_students AS e ON e.tutor_id = r.tutor_id AND e.package_id = r.package_id"
        " JOIN enrolled_courses AS c ON c.tutor_id = r.tutor_id AND c.package_id = r.package_id"
        " JOIN acceptances AS a ON a.request_id = r.id"
        " WHERE r.id = %s", (request_id,)).fetchall()
    assert stamps == [("accepted", *[utc_now] * 8, now, len(want.sessions), 1, want.note)]
    made = sessions(conn, request_id, "session_date, starts_at, ends_at, start_time, end_time,"
                                      " duration, topics, status, created_at, updated_at")
    assert [(d, s, e) for d, s, e, *_ in made] == [
        (o.session_date, o.starts_at, o.ends_at) for o in want.sessions]
    topics = [message] if message and message.strip(" ") else []  # sessions.topics is json: a list
    for (_, starts_at, ends_at, start_time, end_time, duration, row_topics, status, created_at,
         updated_at) in made:
        assert (start_time, end_time, row_topics) == (request.start_time, request.end_time, topics)
        assert (status, created_at, updated_at) == ("scheduled", utc_now, utc_now)
        # in UTC: Python subtracts two datetimes of one tzinfo (the client's zone) by wall clock
        assert duration * 60 == (ends_at.astimezone(dt.UTC) - starts_at.astimezone(dt.UTC)).total_seconds()
    assert _skipped(conn, request_id) == [
        (s.occurrence.session_date, s.occurrence.starts_at, s.occurrence.ends_at, s.reason)
        for s in want.skipped]
    record("property_sessions_compared", len(made))
    for skip in want.skipped:
        record(f"property_skips_compared:{skip.reason}", 1)


def _assert_nothing_behind(conn: psycopg.Connection[Any], request_id: int, tutor: int) -> None:
    row = conn.execute(
        "SELECT r.status, r.responded_at,"
        " (SELECT count(*) FROM sessions WHERE request_id = r.id),"
        " (SELECT count(*) FROM skipped_occurrences WHERE request_id = r.id),"
        " (SELECT count(*) FROM enrolled_students WHERE tutor_id = r.tutor_id),"
        " (SELECT count(*) FROM enrolled_courses WHERE tutor_id = r.tutor_id),"
        " (SELECT count(*) FROM acceptances WHERE request_id = r.id)"
        " FROM requested_sessions r WHERE r.id = %s AND r.tutor_id = %s",
        (request_id, tutor)).fetchone()
    assert row == ("pending", None, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("profile", PROFILES)
def test_acceptance_matches_reference(prop_conn: psycopg.Connection[Any], profile: str) -> None:
    @settings(settings.get_profile(profile))
    @given(data=st.data())
    def example(data: st.DataObject) -> None:
        event(check_against_reference(prop_conn, data))

    example()


# --- edits before accepting: the preview with the same edits is what the acceptance makes ----------

# A preview's row and a skipped occurrence compared alike: (date, starts_at, ends_at, reason, clash).
PreviewSkip = tuple[dt.date, dt.datetime, dt.datetime, str | None, int | None]


def _in_utc(instant: dt.datetime | None) -> dt.datetime | None:
    return instant.astimezone(dt.UTC) if instant is not None else None


def check_edits(conn: psycopg.Connection[Any], data: st.DataObject) -> str:
    """One example: a request, the tutor's edits of its occurrences (some left out, some moved to other
    times, now and then a date that is none of them), and, now and then, a session of another course
    where an occurrence or a move lands; the preview with the edits must be what accepting with them
    makes, row for row, or refuse as it refuses; without a clash, both must be the reference's plan
    with the edits applied (tests/reference.py judges a moved occurrence as any other)."""
    tutors, student_user = _people(conn)
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT set_config('TimeZone', %s, true)",
                     (data.draw(st.sampled_from(CLIENT_ZONES), label="client TimeZone"),))
        now: dt.datetime = scalar(conn, "SELECT now()").astimezone(dt.UTC)
        zone = data.draw(st.sampled_from(ZONES), label="zone")
        local_now = now.astimezone(ZoneInfo(zone))
        request = data.draw(requests(zone, now), label="request")
        policy = data.draw(st.sampled_from(["fail", "skip"]), label="conflict_policy")
        want = expected(request, zone, now)
        occurrences = sorted(
            [*want.sessions, *(k.occurrence for k in want.skipped)] if isinstance(want, Plan) else [],
            key=lambda o: o.session_date)
        days = [o.session_date for o in occurrences]
        some = st.lists(st.sampled_from(days), unique=True, min_size=1, max_size=4) if days else st.just(
            [])
        without: list[dt.date] = data.draw(some, label="without")
        if data.draw(st.integers(0, 9)) == 9:  # none of its occurrences
            without.append(local_now.date() + dt.timedelta(days=data.draw(st.integers(-3, 60))))
        moved = data.draw(some, label="moved")  # now and then a date also left out
        moved_days = [d for d in moved if d not in without or data.draw(st.integers(0, 9)) == 9]
        moves = {day: data.draw(moved_times(local_now), label=f"move {day}") for day in moved_days}
        request_id = Factory(conn).request(
            tutors[zone], student_user, schedule_type=request.schedule_type,
            days=_jsonb(request.days), specific_dates=_jsonb(request.specific_dates),
            months=_jsonb(request.months), year_range=_jsonb(request.year_range),
            start_time=request.start_time, end_time=request.end_time, conflict_policy=policy)
        clash = _busy(conn, tutors[zone], zone, data, occurrences, moves, now)

        shown, shown_error = _attempt(conn, lambda: astegni.preview(conn, request_id, without=without,
                                                                    moves=moves))
        made, made_error = _attempt(conn, lambda: astegni.accept(conn, request_id, without=without,
                                                                 moves=moves))
        conn.execute("SELECT set_config('TimeZone', 'UTC', true)")
        if isinstance(made_error, ScheduleConflict):  # the preview marks the clash that refuses
            assert shown is not None
            first = next(r for r in shown if r.outcome == "refuse")
            assert (first.session_date.isoformat(), first.clash_session_id) == (
                made_error.detail["session_date"], made_error.clash_session_id)
        elif shown_error is not None or made_error is not None:
            assert (type(shown_error), getattr(shown_error, "field", None)) == (
                type(made_error), getattr(made_error, "field", None)), (shown_error, made_error)
        if made_error is not None:
            assert conn.execute(
                "SELECT r.status, (SELECT count(*) FROM sessions WHERE request_id = r.id),"
                " (SELECT count(*) FROM skipped_occurrences WHERE request_id = r.id)"
                " FROM requested_sessions AS r WHERE r.id = %s",
                (request_id,)).fetchone() == ("pending", 0, 0)
            return f"refused {type(made_error).__name__}"
        assert shown is not None and made is not None
        # The preview's instants come in the client's TimeZone: in UTC, as the rows are read, since Python
        # never finds an instant in a repeated hour (fold) equal to one in another zone.
        creates = [(r.session_date, _in_utc(r.starts_at), _in_utc(r.ends_at), r.duration)
                   for r in shown if r.outcome == "create"]
        skips: list[PreviewSkip] = [(r.session_date, _in_utc(r.starts_at), _in_utc(r.ends_at), r.reason,
                                     r.clash_session_id) for r in shown if r.outcome == "skip"]
        assert sessions(conn, request_id, "session_date, starts_at, ends_at, duration") == creates
        assert conn.execute("SELECT session_date, starts_at, ends_at, reason, clash_session_id"
                            " FROM skipped_occurrences WHERE request_id = %s ORDER BY session_date",
                            (request_id,)).fetchall() == skips
        assert made.sessions_created == len(creates)
        moved_made = sessions(conn, request_id, "session_date, start_time, end_time")
        assert all((start, end) == moves.get(day, (request.start_time, request.end_time))
                   for day, start, end in moved_made)
        if clash is None and isinstance(want, Plan):
            edited = _edited(want, zone, now, set(without), moves)
            assert [(o.session_date, o.starts_at, o.ends_at) for o in edited.sessions] == [
                c[:3] for c in creates]
            assert [(k.occurrence.session_date, k.occurrence.starts_at, k.occurrence.ends_at, k.reason)
                    for k in edited.skipped] == [k[:4] for k in skips]
            assert made.note == edited.note
    kinds = {k[3] for k in skips} & {"tutor_edit", "conflict"}
    return "accepted" + "".join(f", {kind}" for kind in sorted(kinds)) + (", moved" if moves else "")


def moved_times(local_now: dt.datetime) -> st.SearchStrategy[tuple[dt.time, dt.time]]:
    """The times a tutor moves an occurrence to: mostly a session of a few hours (across midnight and DST
    changes too), now and then one too long, or any two times."""
    start = times(local_now)
    minutes = st.one_of(*[st.integers(1, 300)] * 19, st.integers(470, 1440))
    lasting = st.tuples(start, minutes).map(
        lambda p: (p[0], (dt.datetime.combine(dt.date.min, p[0]) + dt.timedelta(minutes=p[1])).time()))
    return st.one_of(*[lasting] * 19, st.tuples(start, start))


def _attempt(conn: psycopg.Connection[Any], call: Any) -> tuple[Any, AstegniError | None]:
    """The call's result, or the refusal it raised (its statement undone, the transaction going on)."""
    try:
        with conn.transaction():
            return call(), None
    except AstegniError as error:
        return None, error


def _busy(conn: psycopg.Connection[Any], tutor: int, zone: str, data: st.DataObject,
          occurrences: list[Occurrence], moves: dict[dt.date, tuple[dt.time, dt.time]],
          now: dt.datetime) -> int | None:
    """Now and then a session of another course of the tutor where an occurrence starts, at its own
    or its moved time: the id of the clash, None when none was booked."""
    ahead = [o for o in occurrences if o.starts_at > now + dt.timedelta(hours=1) and o.has_time]
    if not ahead or data.draw(st.integers(0, 2)):
        return None
    target = data.draw(st.sampled_from(ahead), label="busy")
    start = moves.get(target.session_date, (target.starts_at.astimezone(ZoneInfo(zone)).time(), None))[0]
    end = (dt.datetime.combine(target.session_date, start) + dt.timedelta(minutes=30)).time()
    busy = occurrence(target.session_date, start, end, ZoneInfo(zone))
    if busy.starts_at <= now or not busy.has_time:  # past, or its own times in a DST gap: never made
        return None
    f = Factory(conn)
    other = f.request(tutor, f.student()[0], package_id=f.package(tutor), schedule_type="specific_dates",
                      specific_dates=[target.session_date.isoformat()], start_time=start, end_time=end)
    astegni.accept(conn, other)
    booked: int | None = scalar(conn, "SELECT id FROM sessions WHERE request_id = %s", other)
    return booked


def _edited(want: Plan, zone: str, now: dt.datetime, without: set[dt.date],
            moves: dict[dt.date, tuple[dt.time, dt.time]]) -> Plan:
    """The reference's plan with the tutor's edits: a date left out is skipped 'tutor_edit', a moved
    occurrence is judged at its new times."""
    sessions_: list[Occurrence] = []
    skipped: list[Skip] = []
    every = sorted([*want.sessions, *(k.occurrence for k in want.skipped)], key=lambda o: o.session_date)
    for occ in every:
        reason = next((k.reason for k in want.skipped if k.occurrence == occ), None)
        if occ.session_date in without:
            reason = "tutor_edit"
        elif occ.session_date in moves:
            occ = occurrence(occ.session_date, *moves[occ.session_date], ZoneInfo(zone))
            reason = judge(occ, now)
        if reason is None:
            sessions_.append(occ)
        else:
            skipped.append(Skip(occ, reason))
    note = None if want.note == "none_ahead" else want.note
    return Plan(tuple(sessions_), tuple(skipped), note or (None if sessions_ else "none_ahead"))


@pytest.mark.parametrize("profile", PROFILES)
def test_preview_with_edits_is_what_accepting_with_them_makes(prop_conn: psycopg.Connection[Any],
                                                               profile: str) -> None:
    @settings(settings.get_profile(profile))
    @given(data=st.data())
    def example(data: st.DataObject) -> None:
        event(check_edits(prop_conn, data))

    example()


# --- strategies ---------------------------------------------------------------------------------

@st.composite
def spelled(draw: st.DrawFn, name: str) -> str:
    """A weekday or month name as people type it: full or three letters, any case, padded."""
    word = name if draw(st.booleans()) else name[:3]
    case = draw(st.sampled_from([str.lower, str.upper, str.title, _zigzag]))
    return " " * draw(st.integers(0, 2)) + case(word) + " " * draw(st.integers(0, 2))


def _zigzag(word: str) -> str:
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(word))


@st.composite
def name_list(draw: st.DrawFn, names: tuple[str, ...], min_size: int) -> list[str]:
    """Distinct names, some repeated in another spelling, shuffled."""
    chosen = draw(st.lists(st.sampled_from(names), min_size=min_size, max_size=len(names),
                           unique=True))
    repeated = draw(st.lists(st.sampled_from(chosen), max_size=3)) if chosen else []
    return draw(st.permutations([draw(spelled(n)) for n in chosen + repeated]))


@functools.lru_cache
def _transitions(zone: str, year: int) -> list[dt.date]:
    """Local dates from a year before `year` to two years after on which the zone's UTC offset
    changes."""
    tz = ZoneInfo(zone)
    day, last = dt.date(year - 1, 1, 1), dt.date(year + 2, 12, 31)
    found = []
    while day < last:
        noon = [dt.datetime.combine(day + dt.timedelta(days=k), dt.time(12), tz).utcoffset()
                for k in (0, 1)]
        if noon[0] != noon[1]:
            found.append(day + dt.timedelta(days=1))
        day += dt.timedelta(days=1)
    return found


def _month_ends(today: dt.date) -> list[dt.date]:
    ends = []
    for i in range(-2, 15):
        year, month = today.year + (today.month - 1 + i) // 12, (today.month - 1 + i) % 12 + 1
        first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
        ends.append(first_of_next - dt.timedelta(days=1))
    return ends


def dates(zone: str, today: dt.date) -> st.SearchStrategy[dt.date]:
    """Days around today (the past included), DST change days and month and year ends, ±1 day."""
    changes = [d for d in _transitions(zone, today.year) if d >= today]
    near: list[dt.date] = changes + _month_ends(today)
    return st.one_of(
        st.integers(-30, 420).map(lambda k: today + dt.timedelta(days=k)),
        st.tuples(st.sampled_from(near), st.integers(-1, 1)).map(
            lambda p: p[0] + dt.timedelta(days=p[1])),
        st.sampled_from(changes or near),
    )


def times(local_now: dt.datetime) -> st.SearchStrategy[dt.time]:
    """Times of DST changes, midnight, any minute, and the minutes around the moment of
    acceptance (a session of today starting just before or just after it)."""
    minute = local_now.replace(second=0, microsecond=0, tzinfo=None)
    return st.one_of(
        st.sampled_from(TIMES),
        st.builds(dt.time, st.integers(0, 23), st.integers(0, 59)),
        st.integers(-3, 3).map(lambda k: (minute + dt.timedelta(minutes=k)).time()),
    )


IMPOSSIBLE_DATES = ["2027-02-30", "2026-02-29", "2027-04-31", "2027-13-01", "2027-00-10",
                    "2027-2-3", "20270203", "tomorrow", "", "2027-02-03T10:00", "27-02-03"]
NOT_A_NAME = ["mo", "thurs", "tues", "xyz", "", "monday.", "Febru", "sept", "m o n"]
NOT_A_STRING: list[Any] = [3, None, True, ["monday"], {"day": "monday"}, 20270203]


@st.composite
def requests(draw: st.DrawFn, zone: str, now: dt.datetime) -> Request:
    """A request with at most one defect; the reference says what it must give."""
    local_now = now.astimezone(ZoneInfo(zone))
    today = local_now.date()
    kind = draw(st.sampled_from(["recurring", "recurring", "specific", "specific", "dst night",
                                 "none", "unknown"]))
    if kind == "dst night":  # the coming DST changes, at the times they skip or repeat
        changes = [d for d in _transitions(zone, today.year) if d >= today]
        start, end = draw(st.sampled_from(GAP_STARTS)), draw(st.sampled_from(GAP_ENDS))
        if start == end:
            end = dt.time(3, 0)
        as_dates: bool = draw(st.booleans())
        if changes and as_dates:
            return Request(schedule_type="specific", specific_dates=[d.isoformat() for d in changes],
                           start_time=start, end_time=end)
        return Request(schedule_type="recurring", start_time=start, end_time=end,
                       days=["sun", *draw(name_list(WEEKDAYS, 0))[:1]],
                       year_range=[today.year + 1],
                       months=[MONTHS[d.month - 1] for d in changes] + draw(name_list(MONTHS, 0)))
    if draw(st.integers(0, 2)):
        start = draw(times(local_now))
        end = draw(st.one_of(times(local_now), st.integers(1, 180).map(
            lambda k: (dt.datetime.combine(today, start) + dt.timedelta(minutes=k)).time())))
    else:  # a start inside a spring-forward gap and an end around its close
        start, end = draw(st.sampled_from(GAP_STARTS)), draw(st.sampled_from(GAP_ENDS))
    if end == start:
        end = (dt.datetime.combine(today, start) + dt.timedelta(minutes=60)).time()
    time_defect = draw(st.sampled_from([None] * 12 + ["no start", "no end", "equal"]))
    if time_defect == "no start":
        start = None  # type: ignore[assignment]
    elif time_defect == "no end":
        end = None  # type: ignore[assignment]
    elif time_defect == "equal":
        end = start
    if kind == "none":  # no schedule yet: NULL or blank, whatever the rest says
        return Request(schedule_type=draw(st.sampled_from([None, "", "   "])), start_time=start,
                       end_time=end, days=draw(st.sampled_from([None, ["monday"], ["xyz"]])))
    if kind == "unknown":
        return Request(schedule_type=draw(st.sampled_from(["weekly", "daily", "specific dates",
                                                           "recurrent", "_"])),
                       days=["monday"], start_time=start, end_time=end)
    spelling = draw(st.sampled_from([str.lower, str.upper, str.title]))
    if kind == "specific":
        schedule_type = spelling(draw(st.sampled_from(["specific_dates", "specific"])))
        return Request(schedule_type=schedule_type, start_time=start, end_time=end,
                       specific_dates=draw(specific_dates(zone, today)),
                       days=draw(st.sampled_from([None, ["xyz"], {"a": 1}])),  # ignored
                       months=draw(st.sampled_from([None, ["xyz"]])))
    return Request(schedule_type=spelling("recurring"), start_time=start, end_time=end,
                   **draw(recurrence(today)))


@st.composite
def specific_dates(draw: st.DrawFn, zone: str, today: dt.date) -> Any:
    day = dates(zone, today)
    run = draw(st.integers(0, 7))
    if run == 0:  # near the session limit: a run of consecutive days
        first = today + dt.timedelta(days=draw(st.integers(-5, 30)))
        chosen = [first + dt.timedelta(days=k) for k in range(draw(st.integers(190, 215)))]
    elif run == 1:  # every date past: nothing ahead
        chosen = draw(st.lists(st.integers(1, 30).map(lambda k: today - dt.timedelta(days=k)),
                               min_size=1, max_size=4))
    else:
        chosen = draw(st.lists(day, min_size=1, max_size=12))
        chosen += draw(st.lists(st.sampled_from(chosen), max_size=3))  # duplicates
    texts: list[Any] = [" " * draw(st.integers(0, 2)) + d.isoformat() + " " * draw(st.integers(0, 2))
                        for d in chosen]
    defect = draw(st.sampled_from([None] * 8 + ["impossible", "not a string", "empty", "null",
                                                "object", "string"]))
    if defect == "impossible":
        texts.insert(draw(st.integers(0, len(texts))), draw(st.sampled_from(IMPOSSIBLE_DATES)))
    elif defect == "not a string":
        texts.insert(draw(st.integers(0, len(texts))), draw(st.sampled_from(NOT_A_STRING)))
    elif defect == "empty":
        return []
    elif defect == "null":
        return None
    elif defect == "object":
        return {"dates": texts}
    elif defect == "string":
        return texts[0]
    return draw(st.permutations(texts))


@st.composite
def recurrence(draw: st.DrawFn, today: dt.date) -> dict[str, Any]:
    days: Any = draw(name_list(WEEKDAYS, 1))
    months: Any = draw(st.one_of(st.none(), st.just([]), name_list(MONTHS, 1)))
    year = st.integers(today.year - 2, today.year + 3)
    year_range: Any = draw(st.one_of(
        st.none(), st.none(), st.just([]), year, year.map(str), year.map(lambda y: [y]),
        year.map(lambda y: [str(y)]),
        st.tuples(year, st.integers(0, 2)).map(lambda p: [p[0], p[0] + p[1]])))
    if draw(st.booleans()):  # the weeks horizon
        months, year_range = draw(st.sampled_from([(None, None), ([], None), (None, [])]))
    field = draw(st.sampled_from([None] * 10 + ["days", "months", "year_range", "no days",
                                                "months gone"]))
    if field == "no days":  # not chosen yet: enrolled, no session
        days = draw(st.sampled_from([None, []]))
    elif field == "months gone" and today.month > 1:  # this year's window, its months all past
        months = draw(name_list(MONTHS[:today.month - 1], 1))
        year_range = draw(st.sampled_from([today.year, [today.year], [str(today.year)]]))
    elif field == "days":
        days = draw(st.one_of(
            st.sampled_from([[], None, {"monday": 1}, "monday", 1]),
            st.tuples(st.sampled_from(NOT_A_NAME + NOT_A_STRING), st.integers(0, len(days))).map(
                lambda p: [*days[:p[1]], p[0], *days[p[1]:]])))
    elif field == "months":
        months = draw(st.one_of(
            st.sampled_from(["jan", {"month": "jan"}, 1]),
            st.tuples(st.sampled_from(NOT_A_NAME + NOT_A_STRING), st.just(months or [])).map(
                lambda p: [*p[1], p[0]])))
    elif field == "year_range":
        y = today.year
        year_range = draw(st.sampled_from([[y + 1, y], [y, y, y], 0, [0], 10000, [y, 10000],
                                           y + 0.5, [float(y)], "abc", {"from": y}, True,
                                           [None], [[y]]]))
    return {"days": days, "months": months, "year_range": year_range}


def messages() -> st.SearchStrategy[str | None]:
    text = st.text(st.characters(categories=["L", "N", "P"], include_characters=" "),
                   max_size=30)
    return st.one_of(st.none(), st.sampled_from(["", "   ", "Algebra", "'); DROP TABLE x; --"]),
                     text)


# --- the reference's reading of wall-clock times, against PostgreSQL ----------------------------

@pytest.mark.parametrize("profile", [
    pytest.param("fast-instants", id="fast"),
    pytest.param("thorough-instants", id="thorough", marks=pytest.mark.thorough)])
def test_instant_reads_like_postgres(prop_conn: psycopg.Connection[Any], profile: str) -> None:
    """`(date + time) AT TIME ZONE zone` and the reference's instant() agree, DST nights included."""
    near_changes = st.tuples(st.sampled_from(ZONES), st.integers(2025, 2029)).flatmap(
        lambda p: st.sampled_from(_transitions(p[0], p[1]) or [dt.date(p[1], 1, 1)]))
    day = st.one_of(near_changes, st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31)))
    moment = st.tuples(st.sampled_from(ZONES), day,
                       st.one_of(st.sampled_from(TIMES), st.times()))

    @settings(settings.get_profile(profile))
    @given(st.lists(moment, min_size=1, max_size=20))
    def example(moments: list[tuple[str, dt.date, dt.time]]) -> None:
        with prop_conn.transaction(force_rollback=True):
            got = prop_conn.execute(
                "SELECT (d + t) AT TIME ZONE z FROM unnest(%s::text[], %s::date[], %s::time[])"
                " WITH ORDINALITY AS m(z, d, t, i) ORDER BY i",
                ([z for z, _, _ in moments], [d for _, d, _ in moments],
                 [t for _, _, t in moments])).fetchall()
        assert [g for (g,) in got] == [instant(d, t, ZoneInfo(z)) for z, d, t in moments]
        record("instant_examples", len(moments))

    example()


# --- the reference on fixed moments -------------------------------------------------------------

def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _at(zone: str, text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


@pytest.mark.parametrize(("zone", "local", "utc"), [
    ("Europe/Berlin", "2027-03-28 02:30", "2027-03-28 01:30"),        # skipped: offset before
    ("Europe/Berlin", "2027-10-31 02:30", "2027-10-31 01:30"),        # repeated: the later one
    ("America/New_York", "2027-03-14 02:30", "2027-03-14 07:30"),
    ("America/New_York", "2027-11-07 01:30", "2027-11-07 06:30"),
    ("Australia/Lord_Howe", "2027-04-04 01:45", "2027-04-03 15:15"),  # half-hour DST
    ("Australia/Lord_Howe", "2027-10-03 02:15", "2027-10-02 15:45"),
    ("Asia/Kathmandu", "2027-06-01 00:00", "2027-05-31 18:15"),
])
def test_instant_on_dst_nights(zone: str, local: str, utc: str) -> None:
    moment = dt.datetime.fromisoformat(local)
    assert instant(moment.date(), moment.time(), ZoneInfo(zone)) == _utc(utc)


def test_reference_recurring_across_spring_forward_skips_the_gap_within_the_horizon() -> None:
    now = _at("Europe/Berlin", "2027-03-27 23:30")
    plan = expected(Request("recurring", days=["sun"], start_time=dt.time(2, 30),
                            end_time=dt.time(3, 15)), "Europe/Berlin", now)
    assert isinstance(plan, Plan)
    assert [s.reason for s in plan.skipped] == ["dst_gap"]
    assert plan.skipped[0].occurrence.session_date == dt.date(2027, 3, 28)
    # the wall clock's 8 weeks hold 8 Sundays, the gap's one of them
    assert len(plan.sessions) == 7
    assert plan.sessions[0].session_date == dt.date(2027, 4, 4)
    assert plan.sessions[0].starts_at == _utc("2027-04-04 00:30")  # 02:30 CEST
    assert plan.sessions[-1].session_date == dt.date(2027, 5, 16)


def test_reference_horizon_is_wall_clock_inclusive() -> None:
    # Accepted on a Monday at 10:00 sharp in New York, across spring forward (14 March 2027): that
    # Monday's slot is not after now; the horizon is Monday 3 May 10:00 EDT, 8 weeks of wall clock
    # (55 days 23 hours of instants), and its slot is made.
    now = _at("America/New_York", "2027-03-08 10:00")
    plan = expected(Request("recurring", days=["mon"]), "America/New_York", now)
    assert isinstance(plan, Plan)
    assert [o.session_date for o in plan.sessions] == [
        dt.date(2027, 3, 8) + dt.timedelta(weeks=k) for k in range(1, 9)]
    assert plan.sessions[-1].starts_at - now == dt.timedelta(days=55, hours=23)


def test_reference_mon_wed_fri_gives_24_after_now() -> None:
    now = _at("Africa/Addis_Ababa", "2027-01-04 10:00")  # a Monday, at the session's start
    plan = expected(Request("recurring", days=["Monday", " wed", "FRIDAY", "mon"]),
                    "Africa/Addis_Ababa", now)
    assert isinstance(plan, Plan)
    assert len(plan.sessions) == 24 and not plan.skipped
    assert plan.sessions[0] == Occurrence(dt.date(2027, 1, 6), _utc("2027-01-06 07:00"),
                                          _utc("2027-01-06 08:00"))


def test_reference_year_end_months_alone_run_into_next_year() -> None:
    now = _at("Pacific/Kiritimati", "2027-12-31 23:00")
    plan = expected(Request("recurring", days=["fri", "sat"], months=["December", "jan"]),
                    "Pacific/Kiritimati", now)
    assert isinstance(plan, Plan)
    assert {o.session_date.year for o in plan.sessions} == {2028}
    # January 2028 only (4 Fridays, 5 Saturdays): Friday 31 December 2027 has started
    assert len(plan.sessions) == 9


def test_reference_month_end_today_counts_only_after_now() -> None:
    now = _at("America/New_York", "2027-01-31 09:59")
    plan = expected(Request("recurring", days=["sun"], months=["jan"]), "America/New_York", now)
    assert isinstance(plan, Plan)
    assert [o.session_date for o in plan.sessions] == [dt.date(2027, 1, 31)]
    late = expected(Request("recurring", days=["sun"], months=["jan"]), "America/New_York",
                    now + dt.timedelta(minutes=1))
    assert late == Plan((), (), "none_ahead")


def test_reference_specific_dates_past_duplicates_and_overnight() -> None:
    now = _at("Europe/Berlin", "2027-10-30 12:00")
    plan = expected(Request("specific", specific_dates=[" 2027-10-31", "2027-10-31 ", "2027-10-29"],
                            start_time=dt.time(23, 0), end_time=dt.time(1, 0)),
                    "Europe/Berlin", now)
    assert isinstance(plan, Plan)
    assert [(s.occurrence.session_date, s.reason) for s in plan.skipped] == [
        (dt.date(2027, 10, 29), "past")]
    [session] = plan.sessions
    assert session.ends_at - session.starts_at == dt.timedelta(hours=2)


@pytest.mark.parametrize(("request_", "field", "error"), [
    (Request("weekly", days=["mon"]), "schedule_type", "InvalidSchedule"),
    (Request("recurring", days=["mon"], end_time=dt.time(10)), "end_time", "InvalidSchedule"),
    # a value that is there is judged even when another is missing
    (Request("recurring", days=["mon", "xyz"], start_time=None), "days", "InvalidSchedule"),
    (Request("recurring", days=[], months=["sept"]), "months", "InvalidSchedule"),
    (Request("recurring", days=None, year_range=[2026, 2025]), "year_range", "InvalidSchedule"),
    (Request("recurring", days="monday"), "days", "InvalidSchedule"),
    (Request("specific", specific_dates={"dates": []}, end_time=None), "specific_dates",
     "InvalidSchedule"),
    (Request("specific", specific_dates="2027-02-03"), "specific_dates", "InvalidSchedule"),
    (Request("recurring", days=[" Tues "]), "days", "InvalidSchedule"),
    (Request("recurring", days=["mon"], months=["sept"]), "months", "InvalidSchedule"),
    (Request("recurring", days=["mon"], year_range=[2028, 2027]), "year_range", "InvalidSchedule"),
    (Request("specific", specific_dates=["2027-02-30"]), "specific_dates", "InvalidSchedule"),
])
def test_reference_refusals(request_: Request, field: str, error: str) -> None:
    assert expected(request_, "Europe/Berlin", _utc("2027-01-01 00:00")) == Refusal(error, field)


@pytest.mark.parametrize(("request_", "weeks", "field"), [
    (Request("recurring", days=list(WEEKDAYS), year_range=2027), 52, "year_range"),
    (Request("recurring", days=["mon", "tue", "wed", "thu"], months=list(MONTHS)), 52, "months"),
    (Request("recurring", days=list(WEEKDAYS)), 29, "days"),  # 203 sessions
    (Request("recurring", days=list(WEEKDAYS), year_range=[2025]), 29, "days"),  # stale: no window
])
def test_reference_too_many_sessions_within_the_horizon(request_: Request, weeks: int,
                                                         field: str) -> None:
    now = _utc("2027-01-01 00:00")
    assert expected(request_, "Europe/Berlin", now, weeks=weeks) == Refusal("TooManySessions", field)
    # the default horizon bounds every window: a whole year of weekdays is no longer refused
    plan = expected(request_, "Europe/Berlin", now)
    assert isinstance(plan, Plan) and len(plan.sessions) == 8 * len(request_.days)


@pytest.mark.parametrize(("request_", "note"), [
    (Request(None, days=["xyz"], start_time=None), "no_schedule"),
    (Request("", days=["mon"]), "no_schedule"),
    (Request("  ", specific_dates=["2027-02-30"]), "no_schedule"),
    (Request("specific", specific_dates=None), "no_dates"),
    (Request("Specific_Dates", specific_dates=[], start_time=None), "no_dates"),
    (Request("recurring", days=None), "no_days"),
    (Request("recurring", days=[], year_range=[2026], end_time=None), "no_days"),
    (Request("recurring", days=["mon"], start_time=None), "no_times"),
    (Request("recurring", days=["mon"], end_time=None, year_range=[2025]), "no_times"),
    (Request("specific", specific_dates=["2027-02-03"], end_time=None), "no_times"),
    (Request("specific", specific_dates=["2026-12-31"]), "none_ahead"),  # its start has passed
])
def test_reference_missing_schedule_accepts_with_no_session(request_: Request, note: str) -> None:
    plan = expected(request_, "Europe/Berlin", _utc("2027-01-01 00:00"))
    assert isinstance(plan, Plan)
    assert (plan.sessions, plan.note) == ((), note)
    assert [s.reason for s in plan.skipped] == (["past"] if note == "none_ahead" else [])


def test_reference_stale_year_window_takes_the_weeks_horizon_months_ignored() -> None:
    now = _at("Africa/Addis_Ababa", "2027-01-04 10:00")  # a Monday, at the session's start
    horizon = expected(Request("recurring", days=["mon", "thu"]), "Africa/Addis_Ababa", now)
    for year_range in ([2026], [2024, 2026], 2025, "2026"):
        stale = expected(Request("recurring", days=["mon", "thu"], months=["jun"],
                                 year_range=year_range), "Africa/Addis_Ababa", now)
        assert isinstance(stale, Plan) and isinstance(horizon, Plan)
        assert stale == Plan(horizon.sessions, horizon.skipped, "window_passed")
        assert len(stale.sessions) == 16
        assert stale.sessions[0].session_date == dt.date(2027, 1, 7)
        assert {o.session_date.month for o in stale.sessions} == {1, 2, 3}
    # a window reaching this year still holds, its June beyond the horizon of January: nothing yet
    current = expected(Request("recurring", days=["mon", "thu"], months=["jun"],
                               year_range=[2026, 2027]), "Africa/Addis_Ababa", now)
    assert current == Plan((), (), "none_ahead")


def test_reference_stale_window_is_judged_in_the_tutors_zone() -> None:
    # 2027-01-01 00:30 in Kiritimati (UTC+14) is 2026-12-31 10:30 UTC: 2026 is past there only
    now = _utc("2026-12-31 10:30")
    request = Request("recurring", days=["fri"], months=["dec"], year_range=[2026])
    kiritimati = expected(request, "Pacific/Kiritimati", now)
    new_york = expected(request, "America/New_York", now)
    assert isinstance(kiritimati, Plan) and kiritimati.note == "window_passed"
    assert len(kiritimati.sessions) == 8
    assert isinstance(new_york, Plan) and new_york.note == "none_ahead"  # 31 December 2026 10:00 passed
    assert new_york.sessions == ()

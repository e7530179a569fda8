"""Property tests of series (docs/series.md): the database against the reference's `Series`.

Hypothesis generates a recurring request (weekdays in odd spellings, times of DST nights, across
midnight and around the moment of acceptance, no window, a stale one, months, years or both) for a
tutor in a zone with or without DST, sometimes under a shorter weeks horizon and with time off before
it is accepted. The request is accepted with a plain UPDATE, perhaps rescheduled ("this and all
following") at once, then lives through simulated weeks: extensions at later moments (up to 120 days,
now and then late enough to find occurrences already started, or run twice at one moment to check
that the second makes nothing), time off added, moved and removed (some of it ending or starting
exactly at a session's bounds), and an end (perhaps again, earlier, the same or later). After every
step the request's sessions (date, instants, status, why cancelled, times), its skipped occurrences
(date, instant, reason), its series row (made_until, last_date) and what each function returns (the
sessions an extension made, the sessions an end cancelled, the rows of the reschedule's plan) must be
exactly the reference's: each date once.

Each example runs in a transaction that is rolled back; its now() is fixed, so acceptance, time off
and the reschedule happen at the moment of acceptance, and only the extensions take later moments,
through the owner-only `astegni_extend_series_at`. One series per tutor: clashes between requests are
not modelled.

Profiles: 'fast' (the default run, in CI) and 'thorough' (`pytest -m thorough`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from astegni.testing import fresh_database
from tests.reference import (
    MONTHS,
    WEEKDAYS,
    Change,
    Plan,
    Refusal,
    Request,
    Series,
    instant,
    wall_clock,
)
from tests.reliability_report import record
from tests.support import Factory, scalar
from tests.test_properties import GAP_ENDS, GAP_STARTS, TIMES, ZONES, _people, _transitions, name_list

_BASE = settings(deadline=None, database=None, print_blob=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("series-fast", _BASE, max_examples=250)
settings.register_profile("series-thorough", _BASE, max_examples=3_000)
PROFILES = [pytest.param("series-fast", id="fast"),
            pytest.param("series-thorough", id="thorough", marks=pytest.mark.thorough)]

DAY = dt.timedelta(days=1)
LAST_MOMENT = dt.timedelta(days=120)  # the simulated weeks: extensions up to now + 120 days
SERIES_ERRORS = {"AS005": "InvalidSchedule", "AS014": "NotASeries", "AS015": "SeriesEnded",
                 "AS016": "InvalidTimeOff"}


# --- the database -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def series_conn(server_url: str, template_db: str) -> Iterator[psycopg.Connection[Any]]:
    """One database for the whole module: every example runs in a transaction that is rolled back."""
    with fresh_database(server_url, template_db) as url, psycopg.connect(url) as conn:
        yield conn


def _jsonb(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _assert_matches(conn: psycopg.Connection[Any], request_id: int, model: Series,
                    step: str) -> None:
    """The request's sessions, skipped occurrences and series row are exactly the model's."""
    got = conn.execute(
        "SELECT session_date, starts_at, ends_at, status, cancelled_reason, start_time, end_time"
        " FROM sessions"
        " WHERE request_id = %s ORDER BY session_date, id", (request_id,)).fetchall()
    want = model.session_rows()
    assert got == want, f"after {step}: sessions differ\n{_diff(got, want)}"
    got_skips = conn.execute(
        "SELECT session_date, starts_at, reason FROM skipped_occurrences"
        " WHERE request_id = %s ORDER BY session_date, reason", (request_id,)).fetchall()
    want_skips = model.skipped_rows()
    assert got_skips == want_skips, (
        f"after {step}: skipped occurrences differ\n{_diff(got_skips, want_skips)}")
    row = conn.execute("SELECT made_until, last_date FROM series WHERE request_id = %s",
                       (request_id,)).fetchone()
    assert row == (model.made_until, model.last_date), f"after {step}: series row"
    record("series_sessions_compared", len(want))
    record("series_skips_compared", len(want_skips))


def _diff(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> str:
    extra = Counter(got) - Counter(want)
    missing = Counter(want) - Counter(got)
    lines = [f"  database only: {row}" for row in sorted(extra.elements(), key=str)]
    lines += [f"  model only:    {row}" for row in sorted(missing.elements(), key=str)]
    return "\n".join(lines)


def _sqlstate_of(conn: psycopg.Connection[Any], query: str, *params: Any) -> tuple[Any, str | None]:
    """(the first row, None) or (None, the SQLSTATE the statement was refused with), in a savepoint."""
    try:
        with conn.transaction():
            return conn.execute(query, params).fetchone(), None
    except psycopg.Error as error:
        return None, error.sqlstate


def _extend(conn: psycopg.Connection[Any], at: dt.datetime) -> int:
    made = scalar(conn, "SELECT astegni_extend_series_at(%s)", at)
    return int(made)


# --- the property ---------------------------------------------------------------------------------

class Example:
    """One example's state: the connection, the request, the model, the simulated moment."""

    def __init__(self, conn: psycopg.Connection[Any], data: st.DataObject, now: dt.datetime,
                 zone: str, tutor: int, request_id: int, model: Series):
        self.conn, self.data, self.now, self.zone = conn, data, now, zone
        self.tutor, self.request_id, self.model = tutor, request_id, model
        self.moment = now  # the latest extension's
        self.time_off: dict[int, tuple[dt.datetime, dt.datetime]] = {}  # tutor_time_off.id -> range

    def check(self, step: str) -> None:
        _assert_matches(self.conn, self.request_id, self.model, step)
        record("series_steps", 1)

    # steps ---

    def extend(self) -> str:
        """An extension at a later moment (or the same); "twice": run again at once, the second run
        must make nothing and change nothing."""
        draw = self.data.draw
        how = draw(st.sampled_from(["days", "days", "days", "aligned", "twice", "dst"]), label="extend")
        zone = ZoneInfo(self.zone)
        local = wall_clock(self.moment, zone)
        changes = [d for d in _transitions(self.zone, local.year) if d > local.date()]
        if how == "dst" and changes:  # the horizon reaches the next DST change, not yet started
            before = draw(st.integers(1, 7 * self.model.weeks - 1 or 1), label="days before the change")
            at = instant(changes[0] - DAY * before, local.time(), zone)
        elif how == "aligned":  # the new horizon falls exactly on an occurrence's wall-clock start
            assert self.model.pattern is not None
            day = local.date() + DAY * draw(st.integers(1, 30), label="aligned day")
            at = instant(day, self.model.pattern.start, zone)
        else:
            at = self.moment + dt.timedelta(days=draw(st.integers(0, 40), label="days later"),
                                            minutes=draw(st.integers(0, 1439), label="minutes"))
        at = max(self.moment, min(at, self.now + LAST_MOMENT))
        made = self.model.extend(at)
        got = _extend(self.conn, at)
        self.moment = at
        step = f"extension at {at} ({(at - self.now) / DAY:.2f} days after acceptance)"
        self.check(step)
        assert got == made, f"{step} made {got} sessions, expected {made}"
        record("series_extensions", 1)
        if how == "twice":
            state = (self.model.session_rows(), self.model.skipped_rows(), self.model.made_until)
            assert self.model.extend(at) == 0
            assert state == (self.model.session_rows(), self.model.skipped_rows(), self.model.made_until)
            again = _extend(self.conn, at)
            assert again == 0, f"the second extension at {at} made {again} (the first {got})"
            self.check(f"the second {step}")
            return "extension twice"
        return "extension making" if made else "extension"

    def add_time_off(self, *, before_acceptance: bool = False) -> str:
        start, end = self._time_off_range()
        time_off_id = scalar(
            self.conn, "INSERT INTO tutor_time_off (tutor_id, during, reason)"
            " VALUES (%s, tstzrange(%s, %s), 'away') RETURNING id", self.tutor, start, end)
        self.time_off[int(time_off_id)] = (start, end)
        cancelled = self.model.add_time_off(start, end, self.now)
        if not before_acceptance:
            self.check(f"time off [{start}, {end}) added")
        return "time off cancelling" if cancelled else "time off"

    def remove_time_off(self) -> str:
        if not self.time_off:
            return self.add_time_off()
        time_off_id = self.data.draw(st.sampled_from(sorted(self.time_off)), label="time off removed")
        start, end = self.time_off.pop(time_off_id)
        self.conn.execute("DELETE FROM tutor_time_off WHERE id = %s", (time_off_id,))
        self.model.remove_time_off(start, end)
        self.check(f"time off [{start}, {end}) removed")
        return "time off removed"

    def move_time_off(self) -> str:
        if not self.time_off:
            return self.add_time_off()
        time_off_id = self.data.draw(st.sampled_from(sorted(self.time_off)), label="time off moved")
        old = self.time_off[time_off_id]
        new = self._time_off_range()
        self.conn.execute("UPDATE tutor_time_off SET during = tstzrange(%s, %s) WHERE id = %s",
                          (*new, time_off_id))
        self.time_off[time_off_id] = new
        self.model.move_time_off(old, new, self.now)
        self.check(f"time off [{old[0]}, {old[1]}) moved to [{new[0]}, {new[1]})")
        return "time off moved"

    def _time_off_range(self) -> tuple[dt.datetime, dt.datetime]:
        """A range ahead of the simulated moment, at random or at a session's bounds (half-open: one
        ending at a start, or starting at an end, does not touch the session)."""
        draw = self.data.draw
        ahead = [s.occurrence for s in self.model.sessions.values()
                 if s.occurrence.starts_at > self.moment and s.occurrence.has_time]
        how = draw(st.sampled_from(["random", "random", "session", "before", "after", "start"]
                                   if ahead else ["random"]), label="time off")
        if how == "random":
            start = self.moment + dt.timedelta(hours=draw(st.integers(0, 24 * 70), label="starts in (hours)"),
                                               minutes=draw(st.integers(1, 59), label="and (minutes)"))
            length = draw(st.one_of(
                st.sampled_from([dt.timedelta(hours=h) for h in (1, 24, 72, 7 * 24, 14 * 24)]),
                st.integers(1, 60 * 24 * 14).map(lambda m: dt.timedelta(minutes=m))), label="lasting")
            return start, start + length
        occ = draw(st.sampled_from(sorted(ahead, key=lambda o: o.session_date)), label="at session")
        length = dt.timedelta(minutes=draw(st.integers(1, 60 * 24 * 3), label="minutes"))
        if how == "session":
            return occ.starts_at, occ.ends_at
        if how == "before":  # ends at the session's start
            return occ.starts_at - length, occ.starts_at
        if how == "after":  # starts at the session's end
            return occ.ends_at, occ.ends_at + length
        return occ.starts_at - length, occ.starts_at + dt.timedelta(minutes=1)

    def end(self) -> str:
        draw = self.data.draw
        today = wall_clock(self.now, ZoneInfo(self.zone)).date()
        how = draw(st.sampled_from(["new", "new", "same", "later"] if self.model.last_date else ["new"]),
                   label="end")
        if how == "same":
            assert self.model.last_date is not None
            last = self.model.last_date
        elif how == "later":
            assert self.model.last_date is not None
            last = self.model.last_date + DAY * draw(st.integers(1, 30), label="days later")
        else:
            last = today + DAY * draw(st.integers(-3, 130), label="last date from today")
            if self.model.last_date is not None:
                last = min(last, self.model.last_date)
        want = self.model.end(last, self.now)
        row, refused = _sqlstate_of(self.conn, "SELECT astegni_end_series(%s, %s, 'moving away')",
                                    self.request_id, last)
        if isinstance(want, Refusal):
            assert refused is not None and SERIES_ERRORS.get(refused) == want.error, (
                f"ending at {last}: expected {want}, got {row or refused}")
        else:
            assert refused is None, f"ending at {last}: refused {refused}, expected {want} cancelled"
            assert row == (want,), f"ending at {last}: {row} cancelled, expected {want}"
        self.check(f"end at {last}")
        return f"end ({how})" if not isinstance(want, Refusal) else "end refused"

    def reschedule(self) -> str:
        draw = self.data.draw
        assert self.model.pattern is not None
        zone = ZoneInfo(self.zone)
        today = wall_clock(self.now, zone).date()
        from_date = today + DAY * draw(st.integers(-2, 30), label="reschedule from")
        days = draw(st.one_of(st.none(), name_list(WEEKDAYS, 1)), label="new days")
        start = draw(st.one_of(st.none(), st.sampled_from(TIMES + GAP_STARTS)), label="new start")
        end = draw(st.one_of(st.none(), st.sampled_from(TIMES + GAP_ENDS)), label="new end")
        if (start or self.model.pattern.start) == (end or self.model.pattern.end):
            end = (dt.datetime.combine(today, start or self.model.pattern.start)
                   + dt.timedelta(minutes=45)).time()
        want = self.model.reschedule(from_date, days, start, end, self.now)
        if isinstance(want, Refusal):  # new times making too long a session
            _, refused = _sqlstate_of(
                self.conn, "SELECT count(*) FROM astegni_reschedule(%s, %s, %s::jsonb, %s, %s)",
                self.request_id, from_date, _jsonb(days), start, end)
            assert refused is not None and SERIES_ERRORS.get(refused) == want.error, (
                f"rescheduling to {start}-{end}: expected {want}, got {refused}")
            self.check(f"reschedule to {start}-{end} refused")
            return "reschedule refused"
        try:
            with self.conn.transaction():
                rows = self.conn.execute(
                    "SELECT session_date, outcome, reason FROM astegni_reschedule(%s, %s, %s::jsonb, %s, %s)",
                    (self.request_id, from_date, _jsonb(days), start, end)).fetchall()
        except psycopg.Error as error:
            raise AssertionError(f"reschedule refused ({error.sqlstate}): {error}") from error
        got = sorted(rows)
        expected_rows = sorted((c.session_date, c.outcome, c.reason) for c in want)
        assert got == expected_rows, f"reschedule's plan differs\n{_diff(got, expected_rows)}"
        self.check(f"reschedule from {from_date} to {days} {start}-{end}")
        for change in want:
            record(f"series_reschedule:{change.outcome}", 1)
        return "reschedule"


STEPS = ["extend", "extend", "extend", "add_time_off", "remove_time_off", "move_time_off", "end"]


def check_series(conn: psycopg.Connection[Any], data: st.DataObject) -> list[str]:
    """One example. Returns the kinds of its steps, for Hypothesis' statistics."""
    tutors, student_user = _people(conn)
    kinds = []
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT set_config('TimeZone', 'UTC', true)")
        now: dt.datetime = scalar(conn, "SELECT now()").astimezone(dt.UTC)
        zone = data.draw(st.sampled_from(ZONES), label="zone")
        weeks = data.draw(st.sampled_from([8, 8, 8, 1, 3]), label="weeks")
        if weeks != 8:
            conn.execute("UPDATE schedule_settings SET weeks_horizon = %s", (weeks,))
        request = data.draw(series_requests(zone, now), label="request")
        # The longest session: the default, or a whole day for a request the default refuses (one
        # otherwise valid: lengths at acceptance are tests/test_properties.py's).
        max_minutes = 480 if isinstance(Series(request, zone).accept(now), Plan) else 1440
        if max_minutes != 480:
            conn.execute("UPDATE schedule_settings SET max_session_minutes = %s", (max_minutes,))
        model = Series(request, zone, weeks=weeks, max_minutes=max_minutes)
        request_id = Factory(conn).request(
            tutors[zone], student_user, schedule_type=request.schedule_type,
            days=_jsonb(request.days), months=_jsonb(request.months),
            year_range=_jsonb(request.year_range), start_time=request.start_time,
            end_time=request.end_time)
        example = Example(conn, data, now, zone, tutors[zone], request_id, model)
        for _ in range(data.draw(st.integers(0, 1), label="time off before acceptance")):
            kinds.append(example.add_time_off(before_acceptance=True))
        plan = model.accept(now)
        assert isinstance(plan, Plan), plan
        conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s", (request_id,))
        note = scalar(conn, "SELECT note FROM acceptances WHERE request_id = %s", request_id)
        assert note == plan.note
        example.check("acceptance")
        kinds.append(f"accepted ({plan.note})" if plan.note else "accepted")
        if data.draw(st.booleans(), label="reschedule at once"):
            kinds.append(example.reschedule())
        for step in data.draw(st.lists(st.sampled_from(STEPS), max_size=8), label="steps"):
            kinds.append(getattr(example, step)())
        record("series_restored", model.restored)
        for skip in model.skipped.values():
            record(f"series_skips:{skip.reason}", 1)
        for session in model.sessions.values():
            record(f"series_sessions:{session.cancelled_reason or session.status}", 1)
    record("series_examples", 1)
    return kinds


@pytest.mark.parametrize("profile", PROFILES)
def test_series_match_reference(series_conn: psycopg.Connection[Any], profile: str) -> None:
    @settings(settings.get_profile(profile))
    @given(data=st.data())
    def example(data: st.DataObject) -> None:
        for kind in check_series(series_conn, data):
            event(kind)
            record(f"series_step:{kind}", 1)

    example()


# --- strategies ---------------------------------------------------------------------------------

@st.composite
def series_requests(draw: st.DrawFn, zone: str, now: dt.datetime) -> Request:
    """A valid recurring request: weekdays (Sunday often, for the DST nights), times of DST changes,
    around the moment of acceptance or any minute, and a window or none."""
    local_now = now.astimezone(ZoneInfo(zone))
    today = local_now.date()
    days: list[str] = draw(name_list(WEEKDAYS, 1))
    if draw(st.booleans()):
        days.append("Sunday")
    if draw(st.integers(0, 4)) == 0:  # DST nights: Sundays at the times they skip or repeat
        gap_start, gap_end = draw(st.sampled_from(GAP_STARTS)), draw(st.sampled_from(GAP_ENDS))
        return Request(schedule_type="recurring", days=[*days, "sun"], start_time=gap_start,
                       end_time=gap_end if gap_end != gap_start else dt.time(3, 0))
    minute = local_now.replace(second=0, microsecond=0, tzinfo=None)
    start: dt.time = draw(st.one_of(
        st.sampled_from(TIMES + GAP_STARTS),
        st.builds(dt.time, st.integers(0, 23), st.integers(0, 59)),
        st.integers(-3, 3).map(lambda k: (minute + dt.timedelta(minutes=k)).time())), label="start")
    end: dt.time = draw(st.one_of(
        st.sampled_from(TIMES + GAP_ENDS),
        st.integers(1, 180).map(lambda k: (dt.datetime.combine(today, start)
                                           + dt.timedelta(minutes=k)).time())), label="end")
    if end == start:
        end = (dt.datetime.combine(today, start) + dt.timedelta(minutes=60)).time()
    window = draw(st.sampled_from(["none", "none", "none", "stale", "months", "years", "both"]),
                  label="window")
    months: Any = None
    year_range: Any = None
    if window in ("months", "both"):
        months = draw(name_list(MONTHS, 1))
    if window == "stale":
        months = draw(st.one_of(st.none(), name_list(MONTHS, 1)))
        year_range = draw(st.sampled_from([[today.year - 1], today.year - 2,
                                           [today.year - 2, today.year - 1]]))
    elif window in ("years", "both"):
        year_range = draw(st.sampled_from([[today.year], [today.year, today.year + 1], [today.year + 1],
                                           str(today.year + 1)]))
    return Request(schedule_type="recurring", days=days, months=months, year_range=year_range,
                   start_time=start, end_time=end)


# --- the next weeks always exist ----------------------------------------------------------------

@pytest.mark.parametrize("zone", ["Africa/Addis_Ababa", "Europe/Berlin", "America/New_York"])
def test_mon_wed_fri_keeps_24_sessions_ahead(series_conn: psycopg.Connection[Any], zone: str) -> None:
    """Accepted now, a Mon/Wed/Fri series still has exactly 24 sessions ahead of each later moment
    once the extension has run then: the next 8 weeks always exist."""
    tutors, student_user = _people(series_conn)
    with series_conn.transaction(force_rollback=True):
        now: dt.datetime = scalar(series_conn, "SELECT now()")
        request_id = Factory(series_conn).request(
            tutors[zone], student_user, schedule_type="recurring",
            days=_jsonb(["Monday", "Wednesday", "Friday"]))
        series_conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s",
                            (request_id,))
        model = Series(Request("recurring", days=["Monday", "Wednesday", "Friday"]), zone)
        assert isinstance(model.accept(now), Plan)
        for days in (0, 7, 14, 30, 90):
            at = now + DAY * days
            if days:
                _extend(series_conn, at)
                model.extend(at)
            ahead = scalar(series_conn, "SELECT count(*) FROM sessions WHERE request_id = %s"
                           " AND status = 'scheduled' AND starts_at >= %s", request_id, at)
            assert ahead == 24, f"{ahead} sessions ahead {days} days after acceptance"
            assert sum(1 for d, s, *_ in model.session_rows() if s >= at) == 24
            _assert_matches(series_conn, request_id, model, f"extension {days} days on")


# --- the reference on fixed moments -------------------------------------------------------------

def _at(zone: str, text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


MWF = ["mon", "wed", "fri"]


@pytest.mark.parametrize("window", [{"months": ["mar", "apr"], "year_range": [2027]},
                                    {"months": ["March", "april"]}])
def test_reference_a_window_that_opens_next_march_makes_its_first_8_weeks(window: dict[str, Any]) -> None:
    model = Series(Request("recurring", days=MWF, **window), "Europe/Berlin")
    plan = model.accept(_at("Europe/Berlin", "2026-12-01 16:00"))
    assert isinstance(plan, Plan) and plan.note is None
    assert len(plan.sessions) == 24
    assert plan.sessions[0].session_date == dt.date(2027, 3, 1)
    assert model.made_until == dt.datetime(2027, 4, 26)
    # the extension before March changes nothing; in April it reaches the window's end
    assert model.extend(_at("Europe/Berlin", "2027-02-01 09:00")) == 0
    assert model.extend(_at("Europe/Berlin", "2027-04-10 09:00")) == 3  # 26, 28 and 30 April
    assert max(model.sessions) == dt.date(2027, 4, 30)
    # live, making nothing, until its horizon passes the end of its year (or of its 12 months)
    assert model.live and model.window is not None
    assert model.window.last == (dt.date(2027, 12, 31) if "year_range" in window else dt.date(2027, 11, 30))
    assert model.extend(_at("Europe/Berlin", "2027-05-10 09:00")) == 0
    assert model.made_until == dt.datetime(2027, 7, 5, 9)


def test_reference_extension_keeps_8_weeks_ahead_and_records_the_late_ones() -> None:
    zone = "Africa/Addis_Ababa"
    now = _at(zone, "2027-01-04 12:00")  # a Monday after its 10:00 slot
    model = Series(Request("recurring", days=MWF), zone)
    assert isinstance(model.accept(now), Plan)
    assert model.made_until == dt.datetime(2027, 3, 1, 12)
    assert model.extend(now + 7 * DAY) == 3
    assert model.extend(now + 7 * DAY) == 0  # idempotent
    late = now + 70 * DAY  # Monday 15 March: occurrences from 8 March on have started
    assert model.extend(late) == 24
    assert [(d, r) for d, _, r in model.skipped_rows()] == [
        (dt.date(2027, 3, 10), "past"), (dt.date(2027, 3, 12), "past"), (dt.date(2027, 3, 15), "past")]
    assert sum(1 for _, s, *_ in model.session_rows() if s > late) == 24


def test_reference_time_off_cancels_and_its_removal_restores() -> None:
    zone = "Europe/Berlin"
    now = _at(zone, "2027-01-04 12:00")
    model = Series(Request("recurring", days=MWF), zone)
    assert isinstance(model.accept(now), Plan)
    away = (_at(zone, "2027-01-11 10:30"), _at(zone, "2027-01-13 10:00"))  # [Mon 10:30, Wed 10:00)
    assert model.add_time_off(*away, now) == 1  # Monday only: Wednesday starts at its end
    assert model.sessions[dt.date(2027, 1, 11)].status == "cancelled"
    assert model.skipped_rows()[0][::2] == (dt.date(2027, 1, 11), "time_off")
    model.remove_time_off(*away)
    assert model.sessions[dt.date(2027, 1, 11)].status == "cancelled"  # until the next extension
    assert model.extend(now) == 1
    assert model.sessions[dt.date(2027, 1, 11)].status == "scheduled" and not model.skipped
    # held back at acceptance, then made by the first extension after the time off went
    model = Series(Request("recurring", days=MWF), zone)
    model.time_off.append(away)
    plan = model.accept(now)
    assert isinstance(plan, Plan) and [s.reason for s in plan.skipped] == ["time_off"]
    model.remove_time_off(*away)
    assert model.extend(_at(zone, "2027-01-11 10:00")) == 3  # 3, 5 and 8 March; 11 January has started
    assert model.skipped_rows()[0][::2] == (dt.date(2027, 1, 11), "time_off")


def test_reference_reschedule_matches_by_date() -> None:
    zone = "Africa/Addis_Ababa"
    now = _at(zone, "2027-01-04 12:00")
    model = Series(Request("recurring", days=MWF), zone)
    assert isinstance(model.accept(now), Plan)
    changes = model.reschedule(dt.date(2027, 1, 20), ["mon", "tue"], dt.time(9), None, now)
    assert not isinstance(changes, Refusal)
    by_date = {c.session_date: c for c in changes}
    assert by_date[dt.date(2027, 1, 20)] == Change(dt.date(2027, 1, 20), "cancel", "rescheduled")
    assert by_date[dt.date(2027, 1, 25)] == Change(dt.date(2027, 1, 25), "move", None)
    assert by_date[dt.date(2027, 1, 26)] == Change(dt.date(2027, 1, 26), "create", None)
    assert dt.date(2027, 1, 18) not in by_date  # before the change
    assert max(by_date) == dt.date(2027, 3, 1)  # up to made_until (1 March 12:00)
    assert model.sessions[dt.date(2027, 1, 25)].start_time == dt.time(9)
    assert model.sessions[dt.date(2027, 1, 25)].end_time == dt.time(11)
    # nothing changes: every session kept
    again = model.reschedule(dt.date(2027, 1, 20), None, None, None, now)
    assert not isinstance(again, Refusal) and {c.outcome for c in again} == {"keep", "cancel"}


def test_reference_end_cuts_and_refuses_later() -> None:
    zone = "Africa/Addis_Ababa"
    now = _at(zone, "2027-01-04 12:00")
    model = Series(Request("recurring", days=MWF), zone)
    assert isinstance(model.accept(now), Plan)
    assert model.end(dt.date(2027, 2, 1), now) == 12  # 3 February to 1 March
    assert model.end(dt.date(2027, 2, 1), now) == 0
    assert model.end(dt.date(2027, 2, 2), now) == Refusal("SeriesEnded", "p_last_date")
    assert model.end(dt.date(2027, 1, 20), now) == 5  # 22 January to 1 February
    assert model.extend(now + 30 * DAY) == 0 and not model.live


# --- found by the property ----------------------------------------------------------------------

def test_the_markers_day_moves_with_a_reschedule_and_the_extension_leaves_it(
        series_conn: psycopg.Connection[Any]) -> None:
    """Rescheduled to a later time than the marker's on the marker's own day, that day's session
    moves to it (a reschedule reaches the end of the marker's day: cancelling it would lose the
    lesson); the next extension reaches the new occurrence and must leave the date to the session
    already there, not insert a second."""
    tutors, student_user = _people(series_conn)
    with series_conn.transaction(force_rollback=True):
        series_conn.execute("SELECT set_config('TimeZone', 'UTC', true)")
        now: dt.datetime = scalar(series_conn, "SELECT now()")
        # a zone where the wall clock is not near midnight: the new start is a minute after it
        zone = next(z for z in ZONES
                    if dt.time(0, 10) < wall_clock(now, ZoneInfo(z)).time() < dt.time(23, 50))
        wall = wall_clock(now, ZoneInfo(zone))
        request = Request("recurring", days=list(WEEKDAYS), start_time=dt.time(0, 0), end_time=dt.time(1, 0))
        request_id = Factory(series_conn).request(
            tutors[zone], student_user, schedule_type="recurring", days=_jsonb(request.days),
            start_time=request.start_time, end_time=request.end_time)
        series_conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s",
                            (request_id,))
        model = Series(request, zone)
        assert isinstance(model.accept(now), Plan)
        later = (wall + dt.timedelta(minutes=1)).time().replace(second=0, microsecond=0)
        until = (wall + dt.timedelta(minutes=61)).time().replace(second=0, microsecond=0)
        want = model.reschedule(wall.date(), None, later, until, now)
        assert not isinstance(want, Refusal)
        assert model.made_until is not None
        marker_day = model.made_until.date()
        assert Change(marker_day, "move", None) in want
        series_conn.execute("SELECT * FROM astegni_reschedule(%s, %s, NULL, %s, %s)",
                            (request_id, wall.date(), later, until))
        _assert_matches(series_conn, request_id, model, "reschedule")
        at = now + DAY
        made = model.extend(at)
        assert _extend(series_conn, at) == made
        _assert_matches(series_conn, request_id, model, "extension a day later")


def test_extension_follows_the_old_pattern_before_the_reschedule_applies(
        series_conn: psycopg.Connection[Any]) -> None:
    """Rescheduled from a day beyond made_until ("this and all following" from there), the days the
    next extension reaches before that day still follow the old pattern (series_patterns.valid_from)."""
    tutors, student_user = _people(series_conn)
    zone = "Africa/Addis_Ababa"
    with series_conn.transaction(force_rollback=True):
        series_conn.execute("SELECT set_config('TimeZone', 'UTC', true)")
        now: dt.datetime = scalar(series_conn, "SELECT now()")
        request = Request("recurring", days=["Monday"])
        request_id = Factory(series_conn).request(tutors[zone], student_user, schedule_type="recurring",
                                                  days=_jsonb(request.days))
        series_conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s",
                            (request_id,))
        model = Series(request, zone)
        assert isinstance(model.accept(now), Plan) and model.made_until is not None
        valid_from = model.made_until.date() + 14 * DAY
        assert model.reschedule(valid_from, ["tue", "thu"], None, None, now) == []
        assert series_conn.execute(
            "SELECT * FROM astegni_reschedule(%s, %s, '[\"tue\", \"thu\"]', NULL, NULL)",
            (request_id, valid_from)).fetchall() == []
        at = now + 30 * DAY
        made = model.extend(at)
        assert {d.isoweekday() for d in model.sessions if d < valid_from} == {1}
        assert {d.isoweekday() for d in model.sessions if d >= valid_from} == {2, 4}
        assert _extend(series_conn, at) == made
        _assert_matches(series_conn, request_id, model, "extension 30 days on")


def test_restored_occurrence_keeps_the_times_of_its_pattern(series_conn: psycopg.Connection[Any]) -> None:
    """An occurrence held back by time off at acceptance, on a day before a reschedule applies, is
    made with its own pattern's times once the time off goes: its start_time and end_time say when its
    starts_at and ends_at are, not the new pattern's times."""
    tutors, student_user = _people(series_conn)
    zone = "Africa/Addis_Ababa"
    with series_conn.transaction(force_rollback=True):
        series_conn.execute("SELECT set_config('TimeZone', 'UTC', true)")
        now: dt.datetime = scalar(series_conn, "SELECT now()")
        tomorrow = wall_clock(now, ZoneInfo(zone)).date() + DAY
        request = Request("recurring", days=list(WEEKDAYS))  # 10:00-11:00
        request_id = Factory(series_conn).request(tutors[zone], student_user, schedule_type="recurring",
                                                  days=_jsonb(request.days))
        model = Series(request, zone)
        away = (instant(tomorrow, dt.time(9), ZoneInfo(zone)), instant(tomorrow, dt.time(12), ZoneInfo(zone)))
        time_off_id = scalar(series_conn, "INSERT INTO tutor_time_off (tutor_id, during)"
                             " VALUES (%s, tstzrange(%s, %s)) RETURNING id", tutors[zone], *away)
        model.add_time_off(*away, now)
        series_conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s",
                            (request_id,))
        assert isinstance(model.accept(now), Plan)
        assert model.skipped[tomorrow].reason == "time_off"
        model.reschedule(tomorrow + DAY, None, dt.time(15), dt.time(16), now)
        series_conn.execute("SELECT * FROM astegni_reschedule(%s, %s, NULL, '15:00', '16:00')",
                            (request_id, tomorrow + DAY))
        series_conn.execute("DELETE FROM tutor_time_off WHERE id = %s", (time_off_id,))
        model.remove_time_off(*away)
        assert model.extend(now) == 1
        assert model.sessions[tomorrow].start_time == dt.time(10)
        assert _extend(series_conn, now) == 1
        _assert_matches(series_conn, request_id, model, "the extension after the time off went")

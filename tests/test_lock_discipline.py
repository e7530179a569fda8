"""Every operation that books or frees a tutor's time holds what acceptance holds: it takes the
tutor's lock before it reads what it decides on, so that one that waited decides on committed state;
a wait is bounded; a transaction left open holds up only its own tutors; it is scoped to the tutor the
app names. Each test races two connections on one tutor (tests/support.held_open); the race matrix
(tests/test_race_matrix.py) runs every pair."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import psycopg
import pytest

import astegni
from astegni.errors import ImmutableRequest, InvalidSchedule, RetryableConflict
from tests.conftest import as_login
from tests.reliability_report import record
from tests.support import BERLIN, MON_WED_FRI, Factory, held_open, pull_back, scalar, tutor_today

Conn = psycopg.Connection[Any]


def series(conn: Conn, f: Factory, tutor: int) -> int:
    """An accepted Mon/Wed/Fri 17:00-18:00 series of the tutor (24 sessions)."""
    request = f.request(tutor, f.student()[0], start_time=dt.time(17), end_time=dt.time(18), **MON_WED_FRI)
    assert astegni.accept(conn, request).sessions_created == 24
    return request


def off_pattern(conn: Conn, request: int) -> list[tuple[Any, ...]]:
    """The request's live sessions whose weekday and time are not those of the pattern that applies on
    their date (series_patterns: the newest whose valid_from is on or before it)."""
    return conn.execute("""
        SELECT s.id, s.session_date, s.start_time FROM sessions AS s
        CROSS JOIN LATERAL (SELECT p.days, p.start_time FROM series_patterns AS p
                            WHERE p.request_id = s.request_id AND p.valid_from <= s.session_date
                            ORDER BY p.valid_from DESC, p.id DESC LIMIT 1) AS p
        WHERE s.request_id = %s AND s.status = 'scheduled'
          AND (trim(to_char(s.session_date, 'Day')) NOT IN (SELECT jsonb_array_elements_text(p.days))
               OR s.start_time <> p.start_time)
        ORDER BY s.session_date""", (request,)).fetchall()


def test_a_reschedule_that_waited_for_the_extension_cancels_what_the_extension_made(conn, db_url):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    request = series(conn, f, tutor)
    pull_back(conn, request, days=14)  # the extension will make the last two weeks: 6 sessions
    start = tutor_today(conn, BERLIN) + dt.timedelta(days=3)
    error = held_open(
        db_url, lambda a: a.execute("SELECT astegni_extend_series_at(now())"),
        lambda b: astegni.reschedule(b, request, start, days=["Tuesday", "Saturday"], tutor_id=tutor))
    record("races", 1)
    assert error is None
    assert off_pattern(conn, request) == []
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND status = 'scheduled'"
                        " AND session_date >= %s AND extract(isodow FROM session_date) IN (1, 3, 5)",
                  request, start) == 0


def test_a_reschedule_that_waited_for_another_applies_over_it(conn, db_url):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    request = series(conn, f, tutor)
    today = tutor_today(conn, BERLIN)
    error = held_open(
        db_url,
        lambda a: astegni.reschedule(a, request, today + dt.timedelta(days=3), days=["Tuesday"],
                                     start_time=dt.time(8), end_time=dt.time(9)),
        lambda b: astegni.reschedule(b, request, today + dt.timedelta(days=10), days=["Thursday"]))
    record("races", 1)
    assert error is None  # the second read the request as the first left it: not AS010 nor AS013
    assert off_pattern(conn, request) == []
    made = conn.execute("SELECT DISTINCT extract(isodow FROM session_date)::int, start_time FROM sessions"
                        " WHERE request_id = %s AND status = 'scheduled' AND session_date >= %s",
                        (request, today + dt.timedelta(days=10))).fetchall()
    assert made == [(4, dt.time(8))]  # Thursdays, at the time the first reschedule set


def test_an_end_that_waited_for_the_extension_cancels_what_it_made(conn, db_url):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    request = series(conn, f, tutor)
    pull_back(conn, request, days=14)
    last = tutor_today(conn, BERLIN) + dt.timedelta(days=14)
    error = held_open(db_url, lambda a: a.execute("SELECT astegni_extend_series_at(now())"),
                      lambda b: astegni.end_series(b, request, last, tutor_id=tutor))
    record("races", 1)
    assert error is None
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND status = 'scheduled'"
                        " AND session_date > %s", request, last) == 0


def test_an_open_transaction_holds_up_only_its_tutors_and_only_for_the_lock_timeout(conn, db_url, logins):
    """A scheduler's batch left open locks its own tutors: another tutor's acceptance goes through at
    once, and one of the locked tutor's waits 2 s, then is told to retry; nothing is written."""
    f = Factory(conn)
    busy, free = f.tutor(BERLIN), f.tutor(BERLIN)
    pull_back(conn, series(conn, f, busy))
    waiting_request = f.request(busy, f.student()[0], schedule_type="recurring", days=["Tuesday"])
    free_request = f.request(free, f.student()[0], schedule_type="recurring", days=["Tuesday"])
    with psycopg.connect(as_login(db_url, logins["scheduler"])) as job, psycopg.connect(db_url) as app:
        assert job.execute("SELECT last_tutor_id FROM astegni_extend_step(0, 1)").fetchone() == (busy,)
        assert astegni.accept(app, free_request).sessions_created == 8
        app.commit()
        began = time.monotonic()
        with pytest.raises(RetryableConflict) as refused:
            astegni.accept(app, waiting_request)
        waited = time.monotonic() - began
        app.rollback()
        job.rollback()
    assert refused.value.detail["sqlstate"] == "55P03"
    assert 1.5 < waited < 10
    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", waiting_request) == "pending"


@pytest.mark.parametrize("isolation", ["repeatable read", "serializable"])
def test_a_snapshot_older_than_the_lock_is_told_to_retry(conn, db_url, isolation):
    """Under REPEATABLE READ or SERIALIZABLE the snapshot cannot see what the lock's holder committed:
    the acceptance that waited is refused with 40001 instead of deciding on stale rows."""
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    package = f.package(tutor)
    first = f.request(tutor, f.student()[0], package_id=package, **MON_WED_FRI)
    second = f.request(tutor, f.student()[0], package_id=package, **MON_WED_FRI)

    def accept_on_an_older_snapshot(b: Conn) -> None:
        b.autocommit = False
        b.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
        b.execute("SELECT count(*) FROM sessions")  # the snapshot, taken before the first commits
        try:
            astegni.accept(b, second)
        finally:
            b.rollback()

    error = held_open(db_url, lambda a: astegni.accept(a, first), accept_on_an_older_snapshot)
    record("races", 1)
    assert isinstance(error, RetryableConflict) and error.detail["sqlstate"] == "40001"
    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", second) == "pending"
    assert astegni.accept(conn, second).sessions_created == 24  # retried: same course, no clash


@pytest.mark.parametrize("value", ["infinity", "-infinity", "5874897-12-31", "10000-01-01"])
def test_dates_no_calendar_holds_are_refused_by_name(conn, value):
    f = Factory(conn)
    request = series(conn, f, f.tutor(BERLIN))
    for call, field in ((lambda: conn.execute("SELECT * FROM astegni_reschedule(%s, %s, NULL, NULL, NULL)",
                                              (request, value)), "from"),
                        (lambda: conn.execute("SELECT astegni_end_series(%s, %s, NULL)", (request, value)),
                         "last_date")):
        with pytest.raises(psycopg.Error) as raw:
            call()
        refusal = astegni.errors.translate(raw.value)
        assert isinstance(refusal, InvalidSchedule), raw.value
        assert (refusal.field, refusal.value) == (field, value)
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND status = 'scheduled'",
                  request) == 24


def test_an_accepted_request_keeps_its_tutor(conn):
    f = Factory(conn)
    request = series(conn, f, f.tutor(BERLIN))
    other = f.tutor(BERLIN)
    with pytest.raises(psycopg.Error) as raw:
        conn.execute("UPDATE requested_sessions SET tutor_id = %s WHERE id = %s", (other, request))
    refusal = astegni.errors.translate(raw.value)
    assert isinstance(refusal, ImmutableRequest) and refusal.field == "tutor_id"


def test_the_reasons_of_an_end_and_a_time_off_are_bounded(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    request = series(conn, f, tutor)
    today = tutor_today(conn, BERLIN)
    starts = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), dt.UTC)
    ends = starts + dt.timedelta(days=1)
    for call in (lambda: astegni.end_series(conn, request, today, "x" * 2001),
                 lambda: astegni.add_time_off(conn, tutor, starts, ends, "x" * 2001)):
        with pytest.raises(InvalidSchedule) as refused:
            call()
        assert (refused.value.field, refused.value.detail["length"]) == ("reason", 2001)
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND status = 'scheduled'",
                  request) == 24
    assert scalar(conn, "SELECT count(*) FROM tutor_time_off") == 0


def idle_series(conn: Conn, f: Factory, tutor: int, weekday_ahead: int) -> tuple[int, dt.datetime]:
    """An accepted series of the tutor on one weekday, at an hour 12 hours from the wall clock's (no
    run minutes later crosses it): the weekday of the marker's day `weekday_ahead` days on. Its marker."""
    wall: dt.datetime = scalar(conn, "SELECT now() AT TIME ZONE %s", BERLIN)
    hour = dt.time((wall.hour + 12) % 24)
    marker = wall + dt.timedelta(weeks=8)
    day = (marker.date() + dt.timedelta(days=weekday_ahead)).strftime("%A")
    request = f.request(tutor, f.student()[0], schedule_type="recurring", days=[day], start_time=hour,
                        end_time=(dt.datetime.combine(wall.date(), hour) + dt.timedelta(hours=1)).time())
    astegni.accept(conn, request)
    return request, scalar(conn, "SELECT made_until FROM series WHERE request_id = %s", request)


def test_an_acceptance_of_a_tutor_with_nothing_to_make_never_waits_for_a_held_extension_batch(
        conn, db_url, logins):
    """A batch holds the locks of the tutors it makes sessions for, not of those whose series only
    have their marker moved: their acceptances go through while it is open (one that waited would be
    refused after the lock timeout, 2 s, the batch being held past it, as the busy tutor's is)."""
    f = Factory(conn)
    busy, idle = f.tutor(BERLIN), f.tutor(BERLIN)
    pull_back(conn, series(conn, f, busy))
    quiet, marker = idle_series(conn, f, idle, 4)  # the horizon an hour on adds none of its weekday
    busy_request = f.request(busy, f.student()[0], schedule_type="recurring", days=["Tuesday"])
    idle_request = f.request(idle, f.student()[0], schedule_type="recurring", days=["Tuesday"])
    with psycopg.connect(as_login(db_url, logins["scheduler"])) as job, psycopg.connect(db_url) as app:
        [(grown,)] = job.execute("SELECT series_grown FROM astegni_extend_step(0, 200)").fetchall()
        assert grown == 1  # the busy tutor's series
        assert astegni.accept(app, idle_request).sessions_created == 8
        app.commit()
        with pytest.raises(RetryableConflict):
            astegni.accept(app, busy_request)
        app.rollback()
        job.commit()
    assert scalar(conn, "SELECT made_until FROM series WHERE request_id = %s", quiet) > marker


def test_a_marker_moved_without_the_tutors_lock_never_passes_a_reschedule_in_flight(conn, db_url):
    """A reschedule holds the series row: the extension leaves its marker where it is (it reads the
    old pattern, with nothing to make), and the next run makes what the new pattern put there."""
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    request, marker = idle_series(conn, f, tutor, 4)
    day_after = marker.date() + dt.timedelta(days=1)  # past the day the reschedule makes up to
    with psycopg.connect(db_url) as a:
        astegni.reschedule(a, request, tutor_today(conn, BERLIN) + dt.timedelta(days=1),
                           days=[day_after.strftime("%A")], tutor_id=tutor)
        conn.execute("SELECT astegni_extend_series_at(now() + interval '2 days')")  # not waiting
        assert scalar(conn, "SELECT made_until FROM series WHERE request_id = %s", request) == marker
        a.commit()
    record("races", 1)
    conn.execute("SELECT astegni_extend_series_at(now() + interval '2 days')")
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND session_date = %s",
                  request, day_after) == 1


def test_a_reschedule_waits_for_a_marker_being_moved_and_makes_up_to_it(conn, db_url):
    """The extension holds the row of a series whose marker it moved: a reschedule waits for it, then
    reads the new marker and makes the new pattern's occurrences up to it."""
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    request, marker = idle_series(conn, f, tutor, 4)
    day_after = marker.date() + dt.timedelta(days=1)
    error = held_open(
        db_url, lambda a: a.execute("SELECT astegni_extend_series_at(now() + interval '2 days')"),
        lambda b: astegni.reschedule(b, request, tutor_today(conn, BERLIN) + dt.timedelta(days=1),
                                     days=[day_after.strftime("%A")], tutor_id=tutor))
    record("races", 1)
    assert error is None
    assert scalar(conn, "SELECT made_until FROM series WHERE request_id = %s", request) > marker
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND session_date = %s",
                  request, day_after) == 1

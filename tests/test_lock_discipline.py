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

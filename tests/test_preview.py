"""preview_sessions / astegni.preview: exactly what accepting would do, row for row, writing nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest

import astegni
from astegni.errors import (
    AlreadyResponded,
    InvalidSchedule,
    RequestNotFound,
    ScheduleConflict,
    TooManySessions,
)
from tests.support import BERLIN, Factory, book, last_sunday, next_year, scalar, tutor_today, upcoming


def specific_dates_mixed(conn: psycopg.Connection[Any]) -> int:
    """Specific dates 02:30-03:15 in Berlin: one past, one in the spring DST gap, one clashing
    with another course (conflict_policy 'skip'), one free."""
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    year = next_year(conn)
    today = tutor_today(conn, BERLIN)
    book(f, tutor, dt.date(year, 2, 1), dt.time(2), dt.time(2, 45))
    days = [today - dt.timedelta(days=2), last_sunday(year, 3), dt.date(year, 2, 1),
            dt.date(year, 2, 8)]
    return f.request(tutor, f.student()[0], package_id=f.package(tutor), schedule_type="specific",
                     specific_dates=[d.isoformat() for d in days], start_time=dt.time(2, 30),
                     end_time=dt.time(3, 15), conflict_policy="skip")


def weekly_group_class(conn: psycopg.Connection[Any]) -> int:
    """Weekly Mondays and Fridays (conflict_policy 'skip') in a package whose group class already
    meets at the same time (no clash) and whose tutor teaches another course on the third Monday."""
    f = Factory(conn)
    tutor = f.tutor("America/New_York")
    package = f.package(tutor)
    monday = upcoming(conn, "America/New_York", {1}, dt.date(next_year(conn), 12, 31))[2]
    book(f, tutor, monday, dt.time(9, 30), dt.time(10, 30))
    astegni.accept(conn, f.request(tutor, f.student()[0], package_id=package,
                                   schedule_type="recurring", days=["Friday"]))
    return f.request(tutor, f.student()[0], package_id=package, schedule_type="recurring",
                     days=["Mon", "Fri"], conflict_policy="skip")


def yearly_window(conn: psycopg.Connection[Any]) -> int:
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    return f.request(tutor, f.student()[0], schedule_type="recurring", days=["Sunday"],
                     months=["mar", "OCT"], year_range=[next_year(conn)], start_time=dt.time(2, 30),
                     end_time=dt.time(3, 30))


@pytest.mark.parametrize("make", [specific_dates_mixed, weekly_group_class, yearly_window])
def test_preview_equals_acceptance_row_for_row(conn, make):
    request = make(conn)
    rows = astegni.preview(conn, request)
    plain = conn.execute("SELECT * FROM preview_sessions(%s)", (request,)).fetchall()
    assert [tuple(vars(r).values()) for r in rows] == plain
    assert {r.outcome for r in rows} <= {"create", "skip"}

    result = astegni.accept(conn, request)
    sessions = conn.execute("SELECT session_date, starts_at, ends_at, duration FROM sessions"
                            " WHERE request_id = %s ORDER BY 1", (request,)).fetchall()
    skipped = conn.execute("SELECT session_date, starts_at, ends_at, reason, clash_session_id"
                           " FROM skipped_occurrences WHERE request_id = %s ORDER BY 1",
                           (request,)).fetchall()
    assert [(r.session_date, r.starts_at, r.ends_at, r.duration)
            for r in rows if r.outcome == "create"] == sessions
    assert [(r.session_date, r.starts_at, r.ends_at, r.reason, r.clash_session_id)
            for r in rows if r.outcome == "skip"] == skipped
    assert result.sessions_created == len(sessions) > 0
    assert [(s.session_date, s.reason, s.clash_session_id) for s in result.skipped] == [
        (s[0], s[3], s[4]) for s in skipped]


def test_preview_of_the_mixed_dates_names_each_outcome(conn):
    request = specific_dates_mixed(conn)
    clash = scalar(conn, "SELECT id FROM sessions")
    rows = astegni.preview(conn, request)
    assert [(r.outcome, r.reason, r.clash_session_id) for r in rows] == [
        ("skip", "past", None), ("skip", "conflict", clash), ("create", None, None),
        ("skip", "dst_gap", None)]


def test_preview_marks_the_clashes_that_refuse_a_fail_request(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    mondays = upcoming(conn, BERLIN, {1}, dt.date(next_year(conn), 12, 31))[:8]
    clash = book(f, tutor, mondays[5], dt.time(10, 45), dt.time(11, 15))
    request = f.request(tutor, f.student()[0], package_id=f.package(tutor),
                        schedule_type="recurring", days=["Monday"])
    rows = astegni.preview(conn, request)
    assert [r.session_date for r in rows] == mondays
    assert [(r.outcome, r.reason, r.clash_session_id) for r in rows] == (
        [("create", None, None)] * 5 + [("refuse", "conflict", clash)] + [("create", None, None)] * 2)
    with pytest.raises(ScheduleConflict) as refused:
        astegni.accept(conn, request)
    assert (refused.value.clash_session_id, refused.value.detail["session_date"]) == (
        clash, mondays[5].isoformat())


def test_preview_writes_nothing(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    book(f, tutor, upcoming(conn, BERLIN, {2}, dt.date(next_year(conn), 12, 31))[0], dt.time(10),
         dt.time(11))
    request = f.request(tutor, f.student()[0], package_id=f.package(tutor),
                        schedule_type="recurring", days=["Tuesday", "Thursday"])
    state = """SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM skipped_occurrences),
                      (SELECT count(*) FROM enrolled_courses), (SELECT count(*) FROM enrolled_students),
                      (SELECT row_to_json(r)::text FROM requested_sessions AS r WHERE r.id = %s)"""
    before = conn.execute(state, (request,)).fetchone()
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")  # any write would fail here
        rows = astegni.preview(conn, request)
    assert {r.outcome for r in rows} == {"create", "refuse"}
    assert conn.execute(state, (request,)).fetchone() == before


def test_preview_refuses_what_acceptance_refuses(conn):
    f = Factory(conn)
    tutor = f.tutor()
    user, _ = f.student()
    malformed = f.request(tutor, user, schedule_type="recurring", days=["Mon", "Funday"])
    with pytest.raises(InvalidSchedule) as refused:
        astegni.preview(conn, malformed)
    assert (refused.value.field, refused.value.value) == ("days", "Funday")

    too_many = f.request(tutor, user, schedule_type="recurring", days=["Mon"],
                         year_range=[next_year(conn), next_year(conn) + 4])
    conn.execute("UPDATE schedule_settings SET session_limit = 7")  # its first 8 weeks make 8
    with pytest.raises(TooManySessions):
        astegni.preview(conn, too_many)
    conn.execute("UPDATE schedule_settings SET session_limit = DEFAULT")

    accepted, rejected = f.request(tutor, user), f.request(tutor, user)
    conn.execute("UPDATE requested_sessions SET schedule_type = 'recurring', days = '[\"Sat\"]'"
                 " WHERE id = %s", (accepted,))
    astegni.accept(conn, accepted)
    astegni.reject(conn, rejected)
    for request in (accepted, rejected):
        with pytest.raises(AlreadyResponded):
            astegni.preview(conn, request)
    with pytest.raises(psycopg.Error) as plain:
        conn.execute("SELECT * FROM preview_sessions(%s)", (accepted,))
    assert plain.value.diag.sqlstate == "AS002"
    with pytest.raises(RequestNotFound):
        astegni.preview(conn, rejected + 1000)

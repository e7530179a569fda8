"""The live app's own statements keep working on an adopted database: each is replayed as the real
backend sends it (astegni-backend: tutor_sessions_endpoints.py, coursework_endpoints.py,
attendance_suggestion_endpoints.py, the reject path of session_request_endpoints.py) and either succeeds,
with both time pairs kept in agreement, or is refused with a documented SQLSTATE (a clash is AS007)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import psycopg
import pytest

import astegni
from astegni.errors import InconsistentSession, ScheduleConflict, translate
from tests.support import APP_CREATE_SESSION, APP_RESCHEDULE, doc_bookings, next_year, scalar

CANCEL_SESSION = "UPDATE sessions SET status = %s, updated_at = NOW() WHERE id = %s RETURNING id, status"
DELETE_SESSION = "DELETE FROM sessions WHERE id = %s"
# coursework_endpoints.create_coursework (auto-session)
COURSEWORK_SESSION = """
INSERT INTO sessions (
    enrolled_courses_id, session_date, start_time, end_time, duration,
    topics, session_mode, priority_level,
    status, created_at, updated_at
) VALUES (%s, %s, %s, %s, %s, %s, 'online', 'medium', 'scheduled', NOW(), NOW())
RETURNING id
"""
# attendance_suggestion_endpoints.update_session_attendance
ATTENDANCE = """
UPDATE sessions
SET tutor_attendance_status = %s, student_attendance_status = %s, attendance_marked_by = %s,
    attendance_marked_at = %s, attendance_source = %s, updated_at = %s
WHERE id = %s
RETURNING id, tutor_attendance_status, student_attendance_status,
          attendance_source, attendance_marked_at
"""
# session_request_endpoints.update_session_request_status, status 'rejected'
REJECT = """
UPDATE requested_sessions
SET status = %s, responded_at = CURRENT_TIMESTAMP, updated_at = CURRENT_TIMESTAMP,
    rejected_reason = %s, rejected_at = CURRENT_TIMESTAMP
WHERE id = %s AND tutor_id = %s AND status = 'pending'
RETURNING id, status, responded_at, requester_id, requester_type, package_id, requested_to_id
"""

COURSE = 9  # tutor 1's Mathematics course in tests/data/astegni_copy.sql
OTHER_COURSE = 10  # tutor 2's


@pytest.fixture
def app(adopted_db: str) -> Any:
    """A connection as the app holds one: autocommit off, psycopg 3, the server's default zone."""
    with psycopg.connect(adopted_db) as conn:
        yield conn


def create(conn: psycopg.Connection[Any], course: int, day: dt.date, start: str, end: str) -> int:
    """The app's create_session, its duration computed the app's way (negative across midnight)."""
    s, e = dt.time.fromisoformat(start), dt.time.fromisoformat(end)
    duration = int((dt.datetime.combine(day, e) - dt.datetime.combine(day, s)).total_seconds() / 60)
    row = conn.execute(APP_CREATE_SESSION, (course, day, s, e, duration, json.dumps(["Revision"]), "online",
                                        None, "medium", False, False, 15)).fetchone()
    assert row is not None
    return int(row[0])


def refused(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...]) -> Any:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(query, params)
    conn.rollback()
    return translate(caught.value)


def test_create_reschedule_cancel_and_delete_a_session(app):
    day = dt.date(next_year(app), 3, 1)
    session = create(app, COURSE, day, "22:00", "01:00")  # the app computes -1260 minutes
    app.commit()
    row = app.execute("SELECT tutor_id, duration, starts_at::text, ends_at::text, topics::text"
                      " FROM sessions WHERE id = %s", (session,)).fetchone()
    assert row == (1, 180, f"{day} 19:00:00+00", f"{day} 22:00:00+00", '["Revision"]')

    moved = app.execute(APP_RESCHEDULE, (day + dt.timedelta(days=1), dt.time(9), dt.time(10, 30),
                                     session)).fetchone()
    app.commit()
    assert moved == (session, "scheduled")
    assert app.execute("SELECT starts_at::text, duration FROM sessions WHERE id = %s",
                       (session,)).fetchone() == (f"{day + dt.timedelta(days=1)} 06:00:00+00", 90)

    assert app.execute(CANCEL_SESSION, ("cancelled", session)).fetchone() == (session, "cancelled")
    app.execute(DELETE_SESSION, (session,))
    app.commit()
    assert scalar(app, "SELECT count(*) FROM sessions WHERE id = %s", session) == 0


def test_clashes_are_as007_and_a_session_without_a_course_as010(app):
    day = dt.date(next_year(app), 3, 2)
    taken = create(app, COURSE, day, "10:00", "11:00")
    app.commit()
    # Another course of tutor 1 (its Physics package): it may not take course 9's slot.
    other = app.execute("INSERT INTO enrolled_courses (tutor_id, package_id) VALUES (1, 2) RETURNING id"
                        ).fetchone()
    assert other is not None
    app.commit()
    clash = refused(app, APP_CREATE_SESSION, (other[0], day, dt.time(10, 30), dt.time(11, 30), 60, "[]",
                                          "online", None, "medium", False, False, 15))
    assert isinstance(clash, ScheduleConflict) and clash.clash_session_id == taken
    free = create(app, other[0], day, "12:00", "13:00")
    app.commit()
    clash = refused(app, APP_RESCHEDULE, (day, dt.time(10, 15), dt.time(11), free))
    assert isinstance(clash, ScheduleConflict) and clash.clash_session_id == taken
    no_course = refused(app, APP_CREATE_SESSION, (None, day, dt.time(15), dt.time(16), 60, "[]", "online",
                                              None, "medium", False, False, 15))
    assert isinstance(no_course, InconsistentSession) and no_course.field == "enrolled_courses_id"


def test_coursework_auto_session_and_attendance(app):
    due = dt.date(next_year(app), 4, 6)
    start = dt.time(9)
    end = (dt.datetime.combine(due, start) + dt.timedelta(minutes=45)).time()
    row = app.execute(COURSEWORK_SESSION, (OTHER_COURSE, due, start, end, 45,
                                           json.dumps(["Coursework: Essay"]))).fetchone()
    assert row is not None
    session = int(row[0])
    marked = app.execute(ATTENDANCE, ("present", "late", 2, dt.datetime(2027, 4, 6, 9, 50),
                                      "manual", dt.datetime(2027, 4, 6, 9, 50), session)).fetchone()
    app.commit()
    assert marked is not None and marked[:4] == (session, "present", "late", "manual")
    assert app.execute("SELECT tutor_id, duration, starts_at::text FROM sessions WHERE id = %s",
                       (session,)).fetchone() == (2, 45, f"{due} 06:00:00+00")


def test_the_apps_reject_path(app):
    row = app.execute(REJECT, ("rejected", "Fully booked", 8, 1)).fetchone()
    app.commit()
    assert row is not None and row[:2] == (8, "rejected")
    stamps = app.execute("SELECT responded_at, rejected_at, now() AT TIME ZONE 'UTC' - responded_at"
                         " FROM requested_sessions WHERE id = 8").fetchone()
    assert stamps is not None and stamps[0] == stamps[1] and stamps[2] < dt.timedelta(minutes=1)
    assert app.execute(REJECT, ("rejected", None, 8, 1)).fetchone() is None  # not pending any more


def test_the_handlers_booking_rows_follow_the_rules_enrolments(app):
    # The statement docs/adopting.md gives the app's PATCH handler, run as written there.
    bookings = doc_bookings()
    count = "SELECT count(*) FROM user_investments WHERE investment_type = 'booking'"
    before = scalar(app, count)
    astegni.accept(app, 7)  # a shared booking: two children
    app.execute(bookings, {"request_id": 7})
    assert scalar(app, count) == before + 2
    app.execute(bookings, {"request_id": 7})  # once per enrolment
    app.commit()
    assert scalar(app, count) == before + 2

"""One session edited by hand with a plain UPDATE or INSERT: both time pairs stay in agreement, in the
tutor's zone, a move onto a clash or onto a date the request already holds is refused, and so are times
a schedule could not have (24:00, longer than schedule_settings.max_session_minutes)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

import astegni
from astegni.errors import (
    InconsistentSession,
    InvalidSchedule,
    ScheduleConflict,
    SessionDateTaken,
)
from tests.support import BERLIN, Factory, book, refusal, scalar

TZ = ZoneInfo(BERLIN)
ROW = "SELECT session_date, start_time, end_time, starts_at, ends_at, duration FROM sessions WHERE id = %s"


class Weekly:
    """A Berlin tutor's accepted weekly Monday request, 10:00-11:00, and its sessions by date."""

    def __init__(self, conn: psycopg.Connection[Any]):
        self.f = Factory(conn)
        self.tutor = self.f.tutor(BERLIN)
        self.request = self.f.request(self.tutor, self.f.student()[0], package_id=self.f.package(self.tutor),
                                      schedule_type="recurring", days=["Monday"])
        self.course = astegni.accept(conn, self.request).enrolled_course_id
        rows = conn.execute("SELECT id, session_date FROM sessions WHERE request_id = %s ORDER BY 2",
                            (self.request,)).fetchall()
        self.ids = [r[0] for r in rows]
        self.dates = [r[1] for r in rows]


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), TZ)


def test_moving_starts_at_alone_moves_the_wall_clock_and_keeps_the_length(conn):
    w = Weekly(conn)
    day = w.dates[0]
    conn.execute("UPDATE sessions SET starts_at = %s WHERE id = %s", (at(day, 14, 30) + dt.timedelta(days=1),
                                                                     w.ids[0]))
    assert conn.execute(ROW, (w.ids[0],)).fetchone() == (
        day + dt.timedelta(days=1), dt.time(14, 30), dt.time(15, 30),
        at(day, 14, 30) + dt.timedelta(days=1), at(day, 15, 30) + dt.timedelta(days=1), 60)


def test_moving_both_instants_sets_the_length(conn):
    w = Weekly(conn)
    day = w.dates[1]
    conn.execute("UPDATE sessions SET starts_at = %s, ends_at = %s WHERE id = %s",
                 (at(day, 9), at(day, 10, 30), w.ids[1]))
    assert conn.execute(ROW, (w.ids[1],)).fetchone() == (
        day, dt.time(9), dt.time(10, 30), at(day, 9), at(day, 10, 30), 90)


def test_moving_the_wall_clock_moves_the_instants_in_the_tutors_zone(conn):
    w = Weekly(conn)
    day = w.dates[0] + dt.timedelta(days=2)
    conn.execute("UPDATE sessions SET session_date = %s, start_time = '22:00', end_time = '23:30'"
                 " WHERE id = %s", (day, w.ids[0]))
    assert conn.execute(ROW, (w.ids[0],)).fetchone() == (
        day, dt.time(22), dt.time(23, 30), at(day, 22), at(day, 23, 30), 90)
    # One time alone, past midnight: the end falls on the next day.
    conn.execute("UPDATE sessions SET end_time = '00:30' WHERE id = %s", (w.ids[0],))
    assert conn.execute(ROW, (w.ids[0],)).fetchone() == (
        day, dt.time(22), dt.time(0, 30), at(day, 22), at(day + dt.timedelta(days=1), 0, 30), 150)


def test_both_pairs_must_agree(conn):
    w = Weekly(conn)
    day = w.dates[0] + dt.timedelta(days=1)
    error = refusal(conn, "UPDATE sessions SET session_date = %s, starts_at = %s WHERE id = %s",
                    day, at(day, 11), w.ids[0])
    assert isinstance(error, InconsistentSession)
    assert error.sqlstate == "AS010"
    for times in ("start_time = NULL", "end_time = start_time"):
        assert isinstance(refusal(conn, f"UPDATE sessions SET {times} WHERE id = %s", w.ids[0]),
                          InconsistentSession)
    assert conn.execute(ROW, (w.ids[0],)).fetchone()[0] == w.dates[0]

    conn.execute("UPDATE sessions SET session_date = %s, start_time = '10:00', end_time = '11:00',"
                 " starts_at = %s, ends_at = %s WHERE id = %s",
                 (day, at(day, 10), at(day, 11), w.ids[0]))
    assert conn.execute(ROW, (w.ids[0],)).fetchone() == (
        day, dt.time(10), dt.time(11), at(day, 10), at(day, 11), 60)


def test_a_move_onto_another_course_is_refused(conn):
    w = Weekly(conn)
    day = w.dates[0] + dt.timedelta(days=2)
    clash = book(w.f, w.tutor, day, dt.time(10, 30), dt.time(12))
    error = refusal(conn, "UPDATE sessions SET session_date = %s WHERE id = %s", day, w.ids[0])
    assert isinstance(error, ScheduleConflict)
    assert error.clash_session_id == clash
    error = refusal(conn, "UPDATE sessions SET starts_at = %s WHERE id = %s", at(day, 11, 59), w.ids[0])
    assert isinstance(error, ScheduleConflict)
    # Right after it ends: free.
    conn.execute("UPDATE sessions SET starts_at = %s WHERE id = %s", (at(day, 12), w.ids[0]))


def test_a_move_onto_a_date_the_request_holds_is_refused(conn):
    w = Weekly(conn)
    error = refusal(conn, "UPDATE sessions SET session_date = %s, start_time = '18:00', end_time = '19:00'"
                    " WHERE id = %s", w.dates[1], w.ids[0])
    assert isinstance(error, SessionDateTaken)
    assert error.sqlstate == "AS011"
    error = refusal(conn, "UPDATE sessions SET starts_at = starts_at + interval '7 days 3 hours'"
                    " WHERE id = %s", w.ids[0])
    assert isinstance(error, SessionDateTaken)


def test_a_session_inserted_by_hand_gets_its_tutor_instants_and_duration(conn):
    w = Weekly(conn)
    day = w.dates[0] + dt.timedelta(days=1)
    session = scalar(conn, "INSERT INTO sessions (enrolled_courses_id, session_date, start_time, end_time)"
                           " VALUES (%s, %s, '16:00', '17:15') RETURNING id", w.course, day)
    assert scalar(conn, "SELECT tutor_id FROM sessions WHERE id = %s", session) == w.tutor
    assert conn.execute(ROW, (session,)).fetchone() == (
        day, dt.time(16), dt.time(17, 15), at(day, 16), at(day, 17, 15), 75)

    later = day + dt.timedelta(days=1)
    by_instants = scalar(conn, "INSERT INTO sessions (enrolled_courses_id, starts_at, ends_at)"
                               " VALUES (%s, %s, %s) RETURNING id", w.course, at(later, 8), at(later, 9))
    assert conn.execute(ROW, (by_instants,)).fetchone() == (
        later, dt.time(8), dt.time(9), at(later, 8), at(later, 9), 60)

    assert isinstance(refusal(conn, "INSERT INTO sessions (enrolled_courses_id, session_date)"
                                    " VALUES (%s, %s)", w.course, day), InconsistentSession)
    other = book(w.f, w.tutor, later + dt.timedelta(days=1), dt.time(10), dt.time(11))
    other_course = scalar(conn, "SELECT enrolled_courses_id FROM sessions WHERE id = %s", other)
    error = refusal(conn, "INSERT INTO sessions (enrolled_courses_id, session_date, start_time, end_time)"
                          " VALUES (%s, %s, '16:30', '17:30')", other_course, day)
    assert isinstance(error, ScheduleConflict)
    assert error.clash_session_id == session


def test_uncancelling_onto_a_taken_slot_is_refused(conn):
    w = Weekly(conn)
    astegni.cancel(conn, w.request)
    taker = book(w.f, w.tutor, w.dates[0], dt.time(10), dt.time(11))
    error = refusal(conn, "UPDATE sessions SET status = 'scheduled' WHERE id = %s", w.ids[0])
    assert isinstance(error, ScheduleConflict)
    assert error.clash_session_id == taker
    assert scalar(conn, "SELECT status FROM sessions WHERE id = %s", w.ids[0]) == "cancelled"
    # A slot nobody took may be restored.
    conn.execute("UPDATE sessions SET status = 'scheduled' WHERE id = %s", (w.ids[1],))
    assert scalar(conn, "SELECT status FROM sessions WHERE id = %s", w.ids[1]) == "scheduled"


def test_a_session_by_hand_longer_than_the_limit_or_at_24_00_is_refused_by_name(conn):
    w = Weekly(conn)
    day = w.dates[0] + dt.timedelta(days=1)
    insert = ("INSERT INTO sessions (enrolled_courses_id, session_date, start_time, end_time)"
              " VALUES (%s, %s, %s, %s)")
    for start, end, field, value in [("09:00", "17:01", "end_time", "17:01:00"),
                                     ("11:00", "10:00", "end_time", "10:00:00"),
                                     ("24:00", "01:00", "start_time", "24:00:00"),
                                     ("23:00", "24:00", "end_time", "24:00:00")]:
        error = refusal(conn, insert, w.course, day, start, end)
        assert (type(error), error.sqlstate, error.field, error.value) == (
            InvalidSchedule, "AS005", field, value), (start, end)
    error = refusal(conn, "INSERT INTO sessions (enrolled_courses_id, starts_at, ends_at)"
                          " VALUES (%s, %s, %s)", w.course, at(day, 8), at(day, 18))
    assert (type(error), error.field) == (InvalidSchedule, "end_time")
    assert "600 minutes" in error.message
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE session_date = %s", day) == 0

    # Moved: by its wall clock or its instants.
    for statement, value in [("UPDATE sessions SET end_time = '09:00' WHERE id = %s", "09:00:00"),
                             ("UPDATE sessions SET ends_at = ends_at + interval '8 hours' WHERE id = %s",
                              "19:00:00")]:
        error = refusal(conn, statement, w.ids[0])
        assert (type(error), error.field, error.value) == (InvalidSchedule, "end_time", value)
    conn.execute("UPDATE sessions SET end_time = '18:00' WHERE id = %s", (w.ids[0],))  # 8 hours: the limit
    assert scalar(conn, "SELECT duration FROM sessions WHERE id = %s", w.ids[0]) == 480


def test_a_session_made_under_a_higher_limit_still_moves_as_it_is(conn):
    w = Weekly(conn)
    conn.execute("UPDATE schedule_settings SET max_session_minutes = 30")
    day = w.dates[0] + dt.timedelta(days=1)
    conn.execute("UPDATE sessions SET starts_at = %s WHERE id = %s", (at(day, 14), w.ids[0]))
    assert conn.execute(ROW, (w.ids[0],)).fetchone() == (
        day, dt.time(14), dt.time(15), at(day, 14), at(day, 15), 60)
    error = refusal(conn, "UPDATE sessions SET end_time = '15:30' WHERE id = %s", w.ids[0])
    assert isinstance(error, InvalidSchedule) and "limit of 30 minutes" in error.message

"""The calendar export, parsed back and compared event by event with the database."""

import datetime as dt

from icalendar import Calendar

import astegni
from astegni import ical
from tests.support import Factory, assert_calendar_matches, next_year


def seed(conn):
    """A student with a Berlin tutor across a DST change and an Addis Ababa tutor, cancelled."""
    f = Factory(conn)
    berlin, addis = f.tutor("Europe/Berlin"), f.tutor("Africa/Addis_Ababa")
    user, student = f.student()
    year = next_year(conn)
    physics = f.request(berlin, user, package_id=f.package(berlin), schedule_type="recurring",
                        days=["Tuesday"], months=["March", "April"], year_range=[year],
                        start_time=dt.time(18), end_time=dt.time(19, 30), message="Mechanics")
    maths = f.request(addis, user, schedule_type="specific_dates",
                      specific_dates=[f"{year}-01-05", f"{year}-01-12"], message="")
    other_user, _ = f.student()
    others = f.request(berlin, other_user, package_id=f.package(berlin), schedule_type="recurring",
                       days=["Friday"], message="Optics")
    for request in (physics, maths, others):
        astegni.accept(conn, request)
    astegni.cancel(conn, maths)
    return student, physics, maths, others


def ids(conn, *requests):
    return {r[0] for r in conn.execute("SELECT id FROM sessions WHERE request_id = ANY(%s)",
                                       (list(requests),)).fetchall()}


def test_student_calendar_matches_the_database(conn):
    student, physics, maths, _ = seed(conn)
    rows = ical.sessions(conn, student_id=student)
    data = ical.calendar(rows, name="Student").to_ical()
    assert_calendar_matches(conn, data, ids(conn, physics, maths))
    text = data.decode()
    assert "DTSTART;TZID=Europe/Berlin:" in text
    assert text.count("BEGIN:VTIMEZONE") == 2
    assert text.count("STATUS:CANCELLED") == 2  # the two dates of the cancelled request


def test_course_calendar_holds_the_course_only(conn):
    _, physics, _, others = seed(conn)
    [(course,)] = conn.execute("SELECT DISTINCT enrolled_courses_id FROM sessions"
                               " WHERE request_id = %s", (physics,)).fetchall()
    rows = ical.sessions(conn, course_id=course)
    assert_calendar_matches(conn, ical.calendar(rows, name="Course").to_ical(), ids(conn, physics))
    assert ids(conn, others)  # the tutor's other course has sessions, left out


def test_uid_is_stable_across_exports(conn):
    student, *_ = seed(conn)
    first = ical.calendar(ical.sessions(conn, student_id=student), name="x").to_ical()
    again = ical.calendar(ical.sessions(conn, student_id=student), name="x").to_ical()
    assert first == again


def test_empty_calendar_is_valid(conn):
    data = ical.calendar(ical.sessions(conn, student_id=12345), name="Nobody").to_ical()
    assert Calendar.from_ical(data).walk("VEVENT") == []

"""The calendar export, parsed back and compared event by event with the database."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar
from sqlalchemy.orm import Session

import astegni
from astegni import ical
from tests.support import Factory, assert_calendar_matches, last_sunday, next_year, scalar

UTC = dt.UTC
# Two DST changes a year each; Lord_Howe moves its clocks by 30 minutes.
DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
MINUTE = dt.timedelta(minutes=1)


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


def test_sessions_a_series_cancelled_or_moved_are_exported_as_such(conn):
    """Sessions the series rule cancels (kept, with a cancelled_reason) are CANCELLED events under the
    same UID; sessions it moves keep their UID at their new times."""
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, student = f.student()
    request = f.request(tutor, user, schedule_type="recurring", days=["Monday", "Wednesday", "Friday"],
                        start_time=dt.time(17), end_time=dt.time(18), message="Algebra")
    astegni.accept(conn, request)
    before = {str(e["UID"]): e.decoded("DTSTART") for e in Calendar.from_ical(
        ical.calendar(ical.sessions(conn, student_id=student), name="x").to_ical()).walk("VEVENT")}
    today = scalar(conn, "SELECT (now() AT TIME ZONE 'Europe/Berlin')::date")
    starts = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), ZoneInfo("Europe/Berlin"))
    astegni.add_time_off(conn, tutor, starts, starts + dt.timedelta(days=7))
    moved = [r for r in astegni.reschedule(conn, request, today + dt.timedelta(days=14), days=["Mon", "Wed"],
                                           start_time=dt.time(18), end_time=dt.time(19))
             if r.outcome == "move"]
    astegni.end_series(conn, request, today + dt.timedelta(days=35))
    data = ical.calendar(ical.sessions(conn, student_id=student), name="Student").to_ical()
    assert_calendar_matches(conn, data, ids(conn, request))
    reasons = dict(conn.execute("SELECT cancelled_reason, count(*) FROM sessions WHERE request_id = %s"
                                " AND status = 'cancelled' GROUP BY 1", (request,)).fetchall())
    assert reasons.keys() == {"time_off", "rescheduled", "series_ended"}
    assert data.decode().count("STATUS:CANCELLED") == sum(reasons.values())
    after = {str(e["UID"]): e.decoded("DTSTART") for e in Calendar.from_ical(data).walk("VEVENT")}
    assert moved
    for row in moved:
        uid = f"session-{row.session_id}@astegni"
        assert after[uid] == row.starts_at != before[uid]


def test_uid_is_stable_across_exports(conn):
    student, *_ = seed(conn)
    first = ical.calendar(ical.sessions(conn, student_id=student), name="x").to_ical()
    again = ical.calendar(ical.sessions(conn, student_id=student), name="x").to_ical()
    assert first == again


def test_empty_calendar_is_valid(conn):
    data = ical.calendar(ical.sessions(conn, student_id=12345), name="Nobody").to_ical()
    assert Calendar.from_ical(data).walk("VEVENT") == []


def test_sessions_read_through_every_client(conn, engine):
    """The rows come through the layer's shared fetch: a SQLAlchemy Connection or an ORM Session reads
    what a psycopg connection reads."""
    student, *_ = seed(conn)
    rows = ical.sessions(conn, student_id=student)
    assert rows
    with engine.connect() as connection:
        assert ical.sessions(connection, student_id=student) == rows
    with Session(engine) as session:
        assert ical.sessions(session, student_id=student) == rows


def transitions(zone: str, year: int) -> list[tuple[dt.datetime, dt.timedelta]]:
    """(first instant, change of UTC offset) of each of the zone's offset changes in the year."""
    tz, step = ZoneInfo(zone), dt.timedelta(minutes=15)
    instant, end = dt.datetime(year, 1, 1, tzinfo=UTC), dt.datetime(year + 1, 1, 1, tzinfo=UTC)
    offset, found = instant.astimezone(tz).utcoffset(), []
    while instant < end:
        instant += step
        now = instant.astimezone(tz).utcoffset()
        if now != offset:
            # Changes fall on quarter hours: the scan's instant is the first of the new offset.
            assert (instant - dt.timedelta(microseconds=1)).astimezone(tz).utcoffset() == offset
            found.append((instant, now - offset))
            offset = now
    return found


def around(change: dt.datetime, shift: dt.timedelta) -> list[tuple[str, dt.datetime, dt.datetime, bool]]:
    """(what, starts_at, ends_at, by wall clock) of sessions at and next to one DST change. By wall clock:
    made by accepting a request for its local times (the database reads a repeated time as its later
    instant); else moved to its instants by hand (the only way to the earlier one)."""
    hour = dt.timedelta(hours=1)
    if shift < dt.timedelta(0):  # clocks go back by h: [change - h, change) and [change, change + h)
        h = -shift  # have the same local times, the first occurrence and the second
        return [
            ("repeated hour, second occurrence", change + h / 2, change + h / 2 + hour, True),
            ("repeated hour, first occurrence", change - h / 2, change - h / 2 + hour, False),
            ("start of the repeated hour, first", change - h, change, False),
            ("start of the repeated hour, second", change, change + h, False),
            ("across the repeated hour", change - h - 30 * MINUTE, change + h + 30 * MINUTE, False),
            ("ends in the second occurrence", change - hour, change + h / 3, False),
            ("after the repeated hour", change + h, change + h + hour, True),
        ]
    return [  # clocks go forward: the local times [change, change + shift) are skipped
        ("across the gap", change - 15 * MINUTE, change + 15 * MINUTE, True),
        ("starts as the gap ends", change, change + hour, True),
        ("ends as the gap starts", change - hour, change, False),
    ]


def dst_sessions(conn, f: Factory, user: int, zone: str, year: int) -> list[int]:
    """The sessions of around() at both of the zone's DST changes in the year, one tutor each (so that
    none clashes), all for the student `user`; checked to be at their instants."""
    tz, made = ZoneInfo(zone), []
    for change, shift in transitions(zone, year):
        for what, starts_at, ends_at, by_wall_clock in around(change, shift):
            start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
            # Either made at its local times, or made at noon that day and moved to its instants.
            times = ((start.time(), end.time()) if by_wall_clock else (dt.time(12), dt.time(13)))
            tutor = f.tutor(zone)
            request = f.request(tutor, user, schedule_type="specific_dates",
                                specific_dates=[start.date().isoformat()],
                                start_time=times[0], end_time=times[1], message=f"{zone}: {what}")
            astegni.accept(conn, request)
            session = int(scalar(conn, "SELECT id FROM sessions WHERE request_id = %s", request))
            if not by_wall_clock:
                conn.execute("UPDATE sessions SET starts_at = %s, ends_at = %s WHERE id = %s",
                             (starts_at, ends_at, session))
            stored = conn.execute("SELECT starts_at, ends_at FROM sessions WHERE id = %s",
                                  (session,)).fetchone()
            assert stored == (starts_at, ends_at), (zone, what, stored)
            made.append(session)
    return made


@pytest.mark.parametrize("zone", DST_ZONES)
def test_dst_changes_read_back_as_the_database_instants(conn, zone):
    """Both DST changes of the zone: the export of the student's sessions, and of each session alone (a
    VTIMEZONE then spans one day), parsed back by icalendar and vobject, is each session's instants."""
    f = Factory(conn)
    user, student = f.student()
    made = dst_sessions(conn, f, user, zone, next_year(conn))
    assert len(made) == 10
    data = ical.calendar(ical.sessions(conn, student_id=student), name="DST").to_ical()
    assert_calendar_matches(conn, data, set(made))
    for session in made:
        request = scalar(conn, "SELECT request_id FROM sessions WHERE id = %s", session)
        alone = ical.calendar(ical.sessions(conn, request_id=request), name="One").to_ical()
        assert_calendar_matches(conn, alone, {session})


def test_the_repeated_hour_of_the_issue(conn):
    """02:15 in Berlin on the night clocks go back: the database holds the later instant (01:15Z); TZID
    form would mean the earlier (00:15Z), so the start is written in UTC, and the end in the zone."""
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, student = f.student()
    day = last_sunday(next_year(conn), 10)
    request = f.request(tutor, user, schedule_type="specific_dates", specific_dates=[day.isoformat()],
                        start_time=dt.time(2, 15), end_time=dt.time(3, 15))
    astegni.accept(conn, request)
    starts_at = scalar(conn, "SELECT starts_at FROM sessions WHERE request_id = %s", request)
    assert starts_at == dt.datetime.combine(day, dt.time(1, 15), UTC)
    text = ical.calendar(ical.sessions(conn, student_id=student), name="x").to_ical().decode()
    assert f"DTSTART:{day:%Y%m%d}T011500Z" in text
    assert f"DTEND;TZID=Europe/Berlin:{day:%Y%m%d}T031500" in text
    assert "DTSTART;TZID" not in text


def row(session: int, zone: str, starts_at: dt.datetime, ends_at: dt.datetime) -> ical.SessionRow:
    return ical.SessionRow(id=session, request_id=None, course_id=1, tutor_id=1, timezone=zone,
                           session_date=None, starts_at=starts_at, ends_at=ends_at, status="scheduled",
                           topics=[], updated_at=dt.datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("zone", DST_ZONES)
def test_every_quarter_hour_around_dst_changes(zone):
    """Without a database: sessions starting every quarter hour from 3 hours before to 3 hours after
    each DST change (45 minutes long), exported per change, read back by vobject at their instants."""
    for change, _ in transitions(zone, 2027):
        starts = [change + k * 15 * MINUTE for k in range(-12, 13)]
        rows = [row(i, zone, s, s + 45 * MINUTE) for i, s in enumerate(starts)]
        data = ical.calendar(rows, name="x").to_ical().decode()
        vars(vobject.icalendar)["__tzidMap"].clear()  # this file's VTIMEZONEs, not an earlier one's
        vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
        events = {str(e.uid.value): e for e in vobject.readOne(data).vevent_list}
        for r in rows:
            event = events[r.uid]
            assert event.dtstart.value.astimezone(UTC) == r.starts_at, (zone, r.starts_at, data)
            assert event.dtend.value.astimezone(UTC) == r.ends_at, (zone, r.ends_at, data)

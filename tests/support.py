"""Helpers shared by the test modules: migrations, URLs, the plugin's factory of rows, and the queries,
dates and checks more than one module uses."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from icalendar import Calendar

import astegni
from astegni.database import url_for_database
from astegni.errors import AstegniError, translate
from astegni.migrations import alembic_config, downgrade, execute_sql_files, sql_files, sql_object
from astegni.migrations import upgrade as migrate
from astegni.testing.factory import ADDIS_ABABA, Factory

__all__ = [
    "ADDIS_ABABA",
    "ADOPTING",
    "APP_CREATE_SESSION",
    "APP_RESCHEDULE",
    "APP_TESTS",
    "BERLIN",
    "MON_WED_FRI",
    "NOTHING",
    "ROOT",
    "SESSION_COLUMNS",
    "Factory",
    "alembic_config",
    "answer_of",
    "assert_calendar_matches",
    "assert_installs_exactly",
    "book",
    "doc_block",
    "doc_bookings",
    "downgrade",
    "held_open",
    "hour_from",
    "last_sunday",
    "migrate",
    "next_year",
    "project_objects",
    "refusal",
    "request_row",
    "scalar",
    "session_dates",
    "sessions",
    "slot_ahead",
    "tutor_today",
    "upcoming",
    "url_for_database",
    "written",
]

# The checkout: its docs/ and db/schema.sql (the installed package's SQL is astegni.migrations.DB_DIR).
ROOT = Path(__file__).resolve().parent.parent
ADOPTING = ROOT / "docs" / "adopting.md"
BERLIN = "Europe/Berlin"
MON_WED_FRI: dict[str, Any] = {"schedule_type": "recurring", "days": ["Monday", "Wednesday", "Friday"]}
SESSION_COLUMNS = "session_date, start_time, end_time, duration, starts_at, ends_at, topics"
# What written() reads when the rule has written nothing.
NOTHING: dict[str, int] = {
    "sessions": 0, "enrolled_students": 0, "enrolled_courses": 0, "skipped_occurrences": 0}


# The live app's own session writes, as astegni-backend's tutor_sessions_endpoints.py sends them.
# create_session:
APP_CREATE_SESSION = """
INSERT INTO sessions (
    enrolled_courses_id, session_date, start_time, end_time, duration,
    topics, session_mode, location, priority_level,
    notification_enabled, alarm_enabled, alarm_before_minutes,
    status, created_at, updated_at
) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'scheduled', NOW(), NOW())
RETURNING id
"""
# update_session: its fragments in this order, then updated_at
APP_RESCHEDULE = """
UPDATE sessions SET session_date = %s, start_time = %s, end_time = %s, updated_at = NOW()
WHERE id = %s
RETURNING id, status
"""


def answer_of(error: AstegniError) -> dict[str, Any]:
    """The body astegni.fastapi answers a refusal of the rule with."""
    return {"detail": {"code": error.sqlstate, "message": error.message, "field": error.field,
                       "value": error.value}}


def doc_block(path: Path, language: str, first_line: str) -> str:
    """The one ```language block of a document that begins with first_line (a comment naming it), as it
    is written there."""
    found: list[str] = [block for block in re.findall(rf"```{language}\n(.*?)```", path.read_text(), re.S)
                        if block.startswith(first_line + "\n")]
    assert len(found) == 1, f"{path.name} has {len(found)} {language} blocks beginning {first_line!r}"
    return found[0]


def doc_bookings() -> str:
    """The booking statement docs/adopting.md gives the app (BOOKINGS), as written there."""
    namespace: dict[str, Any] = {}
    exec(doc_block(ADOPTING, "python", "# session_request_endpoints.py: the booking statement"), namespace)
    return str(namespace["BOOKINGS"])


# An app's test module on astegni.testing's fixtures alone: the README's example, and a parent's booking
# on a database of its own.
APP_TESTS = doc_block(ROOT / "README.md", "python", "# test_booking.py: an app's test on astegni.testing")
APP_TESTS += '''

def test_a_parent_books_for_the_child_on_a_database_of_its_own(astegni_url, astegni_factory):
    import psycopg

    tutor, parent, child = astegni_factory.tutor(), astegni_factory.parent(), astegni_factory.student()
    request = astegni_factory.request(tutor, parent, requested_to_id=child.profile_id,
                                      schedule_type="recurring", days=["Tuesday"])
    with psycopg.connect(astegni_url) as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (0,)  # none of the first test's
        astegni.accept(conn, request)
    with psycopg.connect(astegni_url) as conn:
        assert conn.execute("SELECT student_id FROM enrolled_students").fetchall() == [(child.profile_id,)]
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (8,)


def test_the_apps_own_logic_needs_no_server():
    assert sorted(["Tuesday", "Monday"]) == ["Monday", "Tuesday"]
'''


def scalar(conn: psycopg.Connection[Any], query: str, *params: Any) -> Any:
    """The first column of the query's first row."""
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def next_year(conn: psycopg.Connection[Any]) -> int:
    """The year after the database's now(): dates in it never go stale."""
    return int(scalar(conn, "SELECT extract(year FROM now())::int + 1"))


def tutor_today(conn: psycopg.Connection[Any], zone: str) -> dt.date:
    """The database's today on the wall clock of the zone."""
    day: dt.date = scalar(conn, "SELECT (now() AT TIME ZONE %s)::date", zone)
    return day


def last_sunday(year: int, month: int) -> dt.date:
    """The last Sunday of a 31-day month: the EU's DST changes fall on it in March and October."""
    last = dt.date(year, month, 31)
    return last - dt.timedelta(days=last.isoweekday() % 7)


def slot_ahead(conn: psycopg.Connection[Any], zone: str, hours: int) -> dt.datetime:
    """The tutor's wall clock `hours` ahead, truncated to the hour: acceptances a few seconds apart
    all see a slot starting there as their next one, so their sessions can be compared row for row."""
    start: dt.datetime = scalar(
        conn, "SELECT date_trunc('hour', (now() AT TIME ZONE %s) + make_interval(hours => %s))",
        zone, hours)
    return start


def hour_from(start: dt.datetime) -> tuple[dt.time, dt.time]:
    """(start time, end time) of an hour starting at start."""
    return start.time(), (start + dt.timedelta(hours=1)).time()


def upcoming(conn: psycopg.Connection[Any], zone: str, weekdays: set[int], last: dt.date, *,
             months: set[int] | None = None, first: dt.date = dt.date.min,
             start: dt.time = dt.time(10), until: dt.datetime = dt.datetime.max) -> list[dt.date]:
    """Dates from first to last, on the weekdays (ISO) and months, whose start in the zone is after
    the database's now and, on the wall clock, not after `until`: what the rule should make,
    computed independently of it."""
    now = scalar(conn, "SELECT now()")
    tz = ZoneInfo(zone)
    day, dates = max(first, now.astimezone(tz).date()), []
    while day <= last:
        if (day.isoweekday() in weekdays and (not months or day.month in months)
                and dt.datetime.combine(day, start, tz) > now
                and dt.datetime.combine(day, start) <= until):
            dates.append(day)
        day += dt.timedelta(days=1)
    return dates


def horizon(conn: psycopg.Connection[Any], zone: str, opens: dt.date = dt.date.min,
            weeks: int = 8) -> dt.datetime:
    """How far a series is made now (docs/series.md): `weeks` weeks past the later of the tutor's
    wall clock and the day its window opens, a naive wall-clock time in the zone."""
    now: dt.datetime = scalar(conn, "SELECT now() AT TIME ZONE %s", zone)
    return max(now, dt.datetime.combine(opens, dt.time())) + dt.timedelta(weeks=weeks)


def pull_back(conn: psycopg.Connection[Any], request: int, days: int = 7) -> int:
    """Leaves the series `days` short of its horizon, as if the extension had not run for that long:
    its marker moves back and its sessions after it go. The number of sessions deleted."""
    conn.execute("UPDATE series SET made_until = made_until - make_interval(days => %s)"
                 " WHERE request_id = %s", (days, request))
    return conn.execute(
        "DELETE FROM sessions AS s USING series AS r WHERE r.request_id = s.request_id"
        " AND s.request_id = %s AND s.session_date + s.start_time > r.made_until", (request,)).rowcount


def held_open(db_url: str, first: Callable[[psycopg.Connection[Any]], object],
              second: Callable[[psycopg.Connection[Any]], object], *, owner: str | None = None
              ) -> BaseException | None:
    """Runs `first` in a transaction left open until `second`, on another (autocommit) connection, is
    seen waiting for a lock; then commits `first` and returns `second`'s error, None when it succeeded.
    Fails when `second` finishes without waiting: it was not serialised behind `first`. `owner`, a
    connection string, runs `first` as another login."""
    outcome: dict[str, BaseException] = {}
    started = threading.Event()
    pid: list[int] = []

    def other() -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as b:
                pid.append(b.info.backend_pid)
                started.set()
                second(b)
        except BaseException as error:  # returned below
            outcome["error"] = error
        finally:
            started.set()

    with psycopg.connect(owner or db_url) as a, psycopg.connect(db_url, autocommit=True) as watch:
        first(a)  # uncommitted
        racer = threading.Thread(target=other)
        racer.start()
        started.wait(10)
        deadline = time.monotonic() + 10
        while not waiting(watch, pid[0] if pid else 0):
            assert racer.is_alive() and time.monotonic() < deadline, (
                f"the second statement did not wait for the first's lock: {outcome.get('error')!r}")
            time.sleep(0.01)
        a.commit()
        racer.join(30)
    return outcome.get("error")


def waiting(conn: psycopg.Connection[Any], pid: int) -> bool:
    """Whether backend `pid` is waiting for a lock (`conn` in autocommit: the view is read afresh)."""
    return bool(scalar(conn, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
                             " AND wait_event_type = 'Lock'", pid))


def book(f: Factory, tutor: int, day: dt.date, start: dt.time, end: dt.time) -> int:
    """The id of an accepted session of a course of its own (a new package) on day, start to end."""
    user, _ = f.student()
    request = f.request(tutor, user, package_id=f.package(tutor), schedule_type="specific_dates",
                        specific_dates=[day.isoformat()], start_time=start, end_time=end)
    astegni.accept(f.conn, request)
    return int(scalar(f.conn, "SELECT id FROM sessions WHERE request_id = %s", request))


def session_dates(conn: psycopg.Connection[Any], request: int) -> list[dt.date]:
    """The request's session dates, in order."""
    rows = conn.execute("SELECT session_date FROM sessions WHERE request_id = %s ORDER BY 1",
                        (request,)).fetchall()
    return [r[0] for r in rows]


def sessions(conn: psycopg.Connection[Any], request: int,
             columns: str = SESSION_COLUMNS) -> list[tuple[Any, ...]]:
    """The request's sessions by date, with the columns asked for."""
    return conn.execute(
        f"SELECT {columns} FROM sessions WHERE request_id = %s ORDER BY session_date", (request,)
    ).fetchall()


def request_row(conn: psycopg.Connection[Any], request: int) -> dict[str, Any]:
    """The requested_sessions row, by column name."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        row = cursor.execute("SELECT * FROM requested_sessions WHERE id = %s", (request,)).fetchone()
    assert row is not None
    return row


def written(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Rows the rule writes, per table."""
    return {table: int(scalar(conn, f"SELECT count(*) FROM {table}"))
            for table in ("sessions", "enrolled_students", "enrolled_courses", "skipped_occurrences")}


def refusal(conn: psycopg.Connection[Any], query: str, *params: Any) -> AstegniError:
    """The refusal a plain statement gets from the database, as the layer maps it."""
    with pytest.raises(psycopg.Error) as refused:
        conn.execute(query, params)
    error = translate(refused.value)
    assert error is not None, refused.value
    return error


# The database's routines (functions and procedures alike) and triggers, each with a digest of its
# definition; the functions of extensions (btree_gist) aside.
PROJECT_OBJECTS = """
SELECT 'function ' || p.proname, md5(pg_get_functiondef(p.oid))
FROM pg_proc AS p
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT FROM pg_depend AS d WHERE d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'trigger ' || t.tgname, md5(pg_get_triggerdef(t.oid))
FROM pg_trigger AS t WHERE NOT t.tgisinternal
"""
# The app's own objects, part of the baseline (revision 0001).
APP_OBJECTS = {"function update_enrolled_courses_updated_at",
               "trigger trigger_update_enrolled_courses_updated_at"}


def project_objects(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """'function NAME' (a procedure too) or 'trigger NAME': the digest of its definition. Two routines of
    one name, which a migration creating a new signature without dropping the old one leaves, fail."""
    rows = conn.execute(PROJECT_OBJECTS).fetchall()
    names = [name for name, _ in rows]
    assert len(set(names)) == len(names), f"overloads: {sorted({n for n in names if names.count(n) > 1})}"
    return dict(rows)


def assert_installs_exactly(url: str, functions: Path) -> None:
    """The database at `url` holds exactly the objects the files of `functions` (db/functions/, or a
    copy's) create, and exactly as they create them, besides the app's own."""
    files = sql_files(functions, triggers=False) + sql_files(functions, triggers=True)
    names = {f"{'trigger' if obj.kind == 'trigger' else 'function'} {obj.name}"
             for obj in (sql_object(path.read_text()) for path in files)}
    with psycopg.connect(url) as conn:
        installed = project_objects(conn)
        assert set(installed) == names | APP_OBJECTS
        execute_sql_files(conn.execute, files)
        assert project_objects(conn) == installed, f"{functions} differs from what head installs"
        conn.rollback()


def assert_calendar_matches(conn: psycopg.Connection[Any], data: bytes, session_ids: set[int]) -> None:
    """`data` (an iCalendar export) holds exactly the sessions `session_ids`, each as the database has it.

    Every DTSTART and DTEND is read back twice, by icalendar and by an independent RFC 5545 reader
    (vobject, which interprets the file's own VTIMEZONEs with dateutil), and must be the session's
    instant exactly. Each is written in the tutor's zone (TZID, the wall-clock time) whenever that local
    time names the instant under RFC 5545, which reads a repeated local time as its first occurrence;
    otherwise (the second occurrence of a repeated hour) in UTC."""
    import vobject  # the independent reader: imported here, the check being the only one that needs it

    calendar = Calendar.from_ical(data)
    rows = {r[0]: r[1:] for r in conn.execute(
        "SELECT s.id, s.starts_at, s.ends_at, s.status, s.topics, t.timezone FROM sessions AS s"
        " JOIN tutor_profiles AS t ON t.id = s.tutor_id WHERE s.id = ANY(%s)",
        (list(session_ids),)).fetchall()}
    assert set(rows) == session_ids
    zones = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    events = calendar.walk("VEVENT")
    assert sorted(str(e["UID"]) for e in events) == sorted(f"session-{i}@astegni" for i in rows)
    # vobject keeps the first VTIMEZONE it ever parsed for a TZID, process-wide: forget earlier files'
    # zones, so that this file is read with its own (and a missing one fails instead of being guessed).
    registry = vars(vobject.icalendar)["__tzidMap"]
    registry.clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    parsed = vobject.readOne(data.decode())
    independent = {str(e.uid.value): e for e in parsed.contents.get("vevent", [])}
    assert set(independent) == {str(e["UID"]) for e in events}
    for event in events:
        uid = str(event["UID"])
        session = int(uid.removeprefix("session-").removesuffix("@astegni"))
        starts_at, ends_at, status, topics, zone = rows[session]
        for name, instant in (("DTSTART", starts_at), ("DTEND", ends_at)):
            local = instant.astimezone(ZoneInfo(zone))
            prop = event[name]
            if local.replace(fold=0).astimezone(dt.UTC) == instant:
                # Wall-clock time as the tutor wrote it, not shifted by DST.
                assert prop.params.get("TZID") == zone, (uid, name, prop.to_ical())
                assert prop.dt.replace(tzinfo=None) == local.replace(tzinfo=None)
                assert zone in zones
            else:
                assert "TZID" not in prop.params, (uid, name, prop.to_ical())
                assert prop.to_ical().endswith(b"Z")
            assert event.decoded(name).astimezone(dt.UTC) == instant, (uid, name, prop.to_ical())
            value = getattr(independent[uid], name.lower()).value
            # The file's own VTIMEZONE (or UTC), never a zone the reader looked up by name.
            assert type(value.tzinfo).__module__.startswith("dateutil."), (uid, name, value.tzinfo)
            assert value.astimezone(dt.UTC) == instant, (uid, name, prop.to_ical(), value)
        assert str(event["STATUS"]) == ("CANCELLED" if status == "cancelled" else "CONFIRMED")
        assert str(event["SUMMARY"]) == (", ".join(topics) or "Tutoring session")

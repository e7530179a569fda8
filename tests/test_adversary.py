"""No client can switch the rule off or bend it. Every attack runs as a login that is only a member of
astegni_app, or as a login with no grants at all (PostgreSQL still gives PUBLIC EXECUTE on new
functions, LISTEN/NOTIFY and advisory locks), unless the attack needs the owner's rights."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

import astegni
from astegni.errors import ImmutableRequest, InconsistentSession, ScheduleConflict, translate
from tests.conftest import as_login
from tests.reliability_report import record
from tests.support import BERLIN, MON_WED_FRI, Factory, held_open, next_year, scalar

ADDIS = "Africa/Addis_Ababa"


@pytest.fixture
def app(db_url: str, logins: dict[str, str]) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(as_login(db_url, logins["app"]), autocommit=True) as conn:
        yield conn


def pending(conn: psycopg.Connection[Any], zone: str = ADDIS, **fields: Any) -> int:
    return Factory(conn).pending(zone, **{**MON_WED_FRI, **fields})


def racing_an_acceptance(db_url: str, request: int, statement: str,
                         params: tuple[Any, ...]) -> BaseException | None:
    """Accepts `request` in a transaction kept open while another connection runs `statement`, which
    must wait for the tutor's lock until that acceptance commits; returns the statement's error."""
    error = held_open(db_url, lambda a: astegni.accept(a, request), lambda b: b.execute(statement, params))
    record("races", 1)
    return error


def made(conn: psycopg.Connection[Any], request: int) -> tuple[int, int]:
    """(scheduled sessions, enrolments of its tutor)."""
    return (scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND status = 'scheduled'",
                   request),
            scalar(conn, "SELECT count(*) FROM enrolled_students AS e JOIN requested_sessions AS r"
                         " ON r.tutor_id = e.tutor_id WHERE r.id = %s", request))


# 1. Nothing a client can set switches the rule off -------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE requested_sessions SET status = 'accepted' WHERE id = %s"
    " RETURNING id, set_config('astegni.status_changed', 'off', true)",
    "UPDATE requested_sessions SET status = 'accepted'"
    " WHERE id = %s AND set_config('astegni.status_changed', 'off', true) IS NOT NULL",
])
def test_a_setting_in_the_statement_does_not_switch_the_rule_off(conn, app, statement):
    request = pending(conn)
    app.execute(statement, (request,))
    assert made(conn, request) == (24, 1)
    app.execute(statement.replace("'accepted'", "'cancelled'"), (request,))
    assert made(conn, request) == (0, 1)  # every future session cancelled
    record("bypasses_tried", 2)


def test_a_request_keeps_its_id(conn, app):
    request = pending(conn)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the app may not even try
        app.execute("UPDATE requested_sessions SET status = 'accepted', id = id + 1000 WHERE id = %s",
                    (request,))
    with pytest.raises(psycopg.Error) as caught:  # nor may the owner
        conn.execute("UPDATE requested_sessions SET status = 'accepted', id = id + 1000 WHERE id = %s",
                     (request,))
    refusal = translate(caught.value)
    assert isinstance(refusal, ImmutableRequest) and refusal.request_id == request
    assert made(conn, request) == (0, 0)
    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", request) == "pending"
    record("bypasses_tried", 2)


def test_an_upsert_that_accepts_runs_the_rule(conn):
    request = pending(conn)
    conn.execute("INSERT INTO requested_sessions (id, tutor_id, requester_id, requester_type)"
                 " SELECT id, tutor_id, requester_id, requester_type FROM requested_sessions WHERE id = %s"
                 " ON CONFLICT (id) DO UPDATE SET status = 'accepted'", (request,))
    assert made(conn, request) == (24, 1)
    record("bypasses_tried", 1)


def test_a_merge_that_accepts_runs_the_rule_or_is_refused(conn):
    request = pending(conn)
    merge = ("MERGE INTO requested_sessions AS r USING (SELECT %s::int AS id) AS s ON r.id = s.id"
             " WHEN MATCHED THEN UPDATE SET status = 'accepted'")
    try:
        conn.execute(merge, (request,))
    except psycopg.errors.FeatureNotSupported:  # PostgreSQL refuses MERGE on a table with transition tables
        assert made(conn, request) == (0, 0)
    else:
        assert made(conn, request) == (24, 1)
    record("bypasses_tried", 1)


# 2. Cancellation serialises with acceptance -------------------------------------------------------

def test_cancel_racing_an_acceptance_of_the_same_student_keeps_the_student(db_url, conn):
    f = Factory(conn)
    tutor = f.tutor()
    package = f.package(tutor)
    user, student = f.student()
    accepted = f.request(tutor, user, package_id=package, **MON_WED_FRI)
    astegni.accept(conn, accepted)
    later = f.request(tutor, user, package_id=package, schedule_type="recurring", days=["Tuesday"])
    assert racing_an_acceptance(db_url, later, "SELECT * FROM astegni_cancel(%s, 'moved')",
                                (accepted,)) is None
    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", accepted) == "cancelled"
    assert scalar(conn, "SELECT students_id FROM enrolled_courses WHERE tutor_id = %s", tutor) == [student]
    assert made(conn, later)[0] == 8


# 3. A tutor's zone change keeps every session's two pairs in agreement -----------------------------

def test_a_zone_change_keeps_wall_clock_times_ahead_and_instants_behind(conn):
    f = Factory(conn)
    tutor = f.tutor(ADDIS)
    user, _ = f.student()
    request = f.request(tutor, user, schedule_type="recurring", days=["Monday"], start_time=dt.time(9),
                        end_time=dt.time(10))
    astegni.accept(conn, request)
    past = int(scalar(conn, "SELECT id FROM sessions WHERE request_id = %s ORDER BY starts_at LIMIT 1",
                      request))
    conn.execute("UPDATE sessions SET starts_at = starts_at - interval '28 days' WHERE id = %s", (past,))
    held = scalar(conn, "SELECT starts_at FROM sessions WHERE id = %s", past)
    conn.execute("UPDATE tutor_profiles SET timezone = %s WHERE id = %s", (BERLIN, tutor))
    rows = conn.execute("SELECT id, session_date, start_time, end_time, starts_at, ends_at FROM sessions"
                        " WHERE request_id = %s", (request,)).fetchall()
    for session, day, start, end, starts_at, ends_at in rows:
        zone = ZoneInfo(BERLIN)
        assert (starts_at.astimezone(zone).date(), starts_at.astimezone(zone).time(),
                ends_at.astimezone(zone).time()) == (day, start, end)
        if session == past:
            assert starts_at == held  # it happened when it happened
        else:
            assert (start, end) == (dt.time(9), dt.time(10))  # a 09:00 lesson stays at 09:00
    # An edit after the change moves nothing else.
    future = max(r[0] for r in rows)
    starts_at = scalar(conn, "SELECT starts_at FROM sessions WHERE id = %s", future)
    conn.execute("UPDATE sessions SET end_time = '10:30' WHERE id = %s", (future,))
    assert scalar(conn, "SELECT starts_at FROM sessions WHERE id = %s", future) == starts_at


def test_a_zone_change_that_would_double_book_is_refused_whole(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    courses = [scalar(conn, "INSERT INTO enrolled_courses (tutor_id, package_id) VALUES (%s, %s)"
                            " RETURNING id", tutor, f.package(tutor)) for _ in range(2)]
    by_hand = ("INSERT INTO sessions (enrolled_courses_id, starts_at, ends_at)"
               " VALUES (%s, now() + %s::interval, now() + %s::interval) RETURNING id")
    running = scalar(conn, by_hand, courses[0], "-30 minutes", "60 minutes")
    ahead = scalar(conn, by_hand, courses[1], "2 hours", "3 hours")
    before = conn.execute("SELECT id, starts_at, session_date, start_time FROM sessions ORDER BY id"
                          ).fetchall()
    # In Dubai (3 or 2 hours ahead of Berlin) the lesson ahead keeps its wall-clock time, so it moves
    # hours earlier: onto the lesson under way.
    with pytest.raises(psycopg.Error) as caught:
        conn.execute("UPDATE tutor_profiles SET timezone = 'Asia/Dubai' WHERE id = %s", (tutor,))
    clash = translate(caught.value)
    assert isinstance(clash, ScheduleConflict), caught.value
    assert (clash.detail["session_id"], clash.clash_session_id) == (ahead, running)
    assert conn.execute("SELECT id, starts_at, session_date, start_time FROM sessions ORDER BY id"
                        ).fetchall() == before
    assert scalar(conn, "SELECT timezone FROM tutor_profiles WHERE id = %s", tutor) == BERLIN


def test_an_acceptance_racing_a_zone_change_is_re_timed_with_the_others(db_url, conn):
    f = Factory(conn)
    tutor = f.tutor(ADDIS)
    user, _ = f.student()
    request = f.request(tutor, user, schedule_type="recurring", days=["Tuesday"], start_time=dt.time(9),
                        end_time=dt.time(10))
    # The acceptance times its sessions in Addis Ababa; the change re-times them once it commits.
    assert racing_an_acceptance(db_url, request, "UPDATE tutor_profiles SET timezone = %s WHERE id = %s",
                                (BERLIN, tutor)) is None
    rows = conn.execute("SELECT start_time, starts_at FROM sessions WHERE request_id = %s",
                        (request,)).fetchall()
    assert len(rows) == 8
    for start, starts_at in rows:
        assert start == dt.time(9) == starts_at.astimezone(ZoneInfo(BERLIN)).time()


# 4. Least privilege ----------------------------------------------------------------------------------

def test_a_login_with_no_grants_can_call_nothing_of_the_rule(conn, nobody):
    request = pending(conn)
    for call in ("SELECT * FROM astegni_accept(%s)", "SELECT * FROM preview_sessions(%s)",
                 "SELECT * FROM astegni_cancel(%s)"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            nobody.execute(call, (request,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), nobody.transaction():
        nobody.execute("LOCK TABLE schedule_settings IN ACCESS EXCLUSIVE MODE")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        nobody.execute("SELECT * FROM requested_sessions")
    assert made(conn, request) == (0, 0)
    record("privileges_checked", 5)


def test_no_login_can_hold_a_tutors_lock(db_url, conn, app, nobody):
    request = pending(conn)
    tutor = scalar(conn, "SELECT tutor_id FROM requested_sessions WHERE id = %s", request)
    nobody.execute("BEGIN")
    nobody.execute("SELECT pg_advisory_xact_lock(1634956391, %s)", (tutor,))  # the key of old
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute("SELECT * FROM astegni_tutor_locks FOR UPDATE")
    with psycopg.connect(db_url, autocommit=True) as other:
        other.execute("SET lock_timeout = '5s'")
        assert astegni.accept(other, request).sessions_created == 24
    nobody.execute("ROLLBACK")
    record("privileges_checked", 2)


def test_the_app_accepts_through_the_rule_and_writes_nothing_else(conn, app):
    request = pending(conn)
    assert astegni.accept(app, request).sessions_created == 24
    for statement in ("INSERT INTO sessions (enrolled_courses_id) VALUES (1)",
                      "UPDATE schedule_settings SET weeks_horizon = 1",
                      "DELETE FROM enrolled_students",
                      "SELECT password_hash FROM users"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute(statement)
    record("privileges_checked", 4)


# 7. A hand insert is always checked; 10. a clash racing an acceptance is AS007 -----------------------

def test_a_hand_insert_with_a_request_id_is_checked_too(conn):
    request = pending(conn, schedule_type="specific_dates", specific_dates=[f"{next_year(conn)}-05-03"])
    astegni.accept(conn, request)
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(
            "INSERT INTO sessions (enrolled_courses_id, tutor_id, request_id, session_date, start_time,"
            " end_time, starts_at, ends_at)"
            " SELECT enrolled_courses_id, tutor_id, request_id, session_date + 1, start_time, end_time,"
            " starts_at + interval '5 hours', ends_at + interval '5 hours'"
            " FROM sessions WHERE request_id = %s", (request,))
    assert isinstance(translate(caught.value), InconsistentSession)


def test_a_move_racing_an_acceptance_gets_as007_naming_the_session(db_url, conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    day = f"{next_year(conn)}-06-07"
    booked = f.request(tutor, f.student()[0], schedule_type="specific_dates", specific_dates=[day],
                       start_time=dt.time(14), end_time=dt.time(15))
    astegni.accept(conn, booked)
    incoming = f.request(tutor, f.student()[0], schedule_type="specific_dates", specific_dates=[day],
                         start_time=dt.time(10), end_time=dt.time(11))
    # The incoming 10:00 is not visible to the move until the acceptance commits.
    error = racing_an_acceptance(db_url, incoming, "UPDATE sessions SET start_time = '10:30',"
                                 " end_time = '11:30' WHERE request_id = %s", (booked,))
    assert isinstance(error, psycopg.Error) and error.diag.sqlstate == "AS007", error
    clash = translate(error)
    assert isinstance(clash, ScheduleConflict)
    assert clash.clash_session_id == scalar(conn, "SELECT id FROM sessions WHERE request_id = %s", incoming)

"""Issue 2, rule 11: every refusal has its own SQLSTATE, raised with MESSAGE, DETAIL (JSON facts) and
HINT, and maps to one exception class from psycopg and SQLAlchemy errors alike.

Each error is the real one: the refused statement is run against the database.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
import sqlalchemy.exc
from alembic.util import CommandError

from astegni.errors import (
    BY_SQLSTATE,
    AlreadyResponded,
    AstegniError,
    CalendarOwnerNotFound,
    DatabaseError,
    ImmutableRequest,
    InconsistentSession,
    InvalidEdit,
    InvalidPackage,
    InvalidSchedule,
    InvalidTimeOff,
    InvalidTimezone,
    InvalidTransition,
    MigrationError,
    NoStudent,
    NotASeries,
    NotFound,
    RequestNotFound,
    RetryableConflict,
    ScheduleConflict,
    SeriesEnded,
    SessionDateTaken,
    SettingsLocked,
    TooManySessions,
    from_database,
    reported,
    translate,
)
from astegni.migrations import FUNCTIONS_DIR
from tests.support import MON_WED_FRI, ROOT, Factory, next_year

Conn = psycopg.Connection[Any]
# A refused statement and the DETAIL facts it must report, made ready in a fresh database.
Setup = Callable[[Conn], tuple[str, dict[str, Any]]]


def accepted_request(conn: Conn, **fields: Any) -> tuple[Factory, int, int]:
    """(factory, tutor, request) of an accepted request on two dates next year."""
    f = Factory(conn)
    tutor = f.tutor()
    user, _ = f.student()
    year = next_year(conn)
    fields.setdefault("specific_dates", [f"{year}-05-04", f"{year}-05-06"])
    request = f.request(tutor, user, package_id=f.package(tutor), schedule_type="specific_dates",
                        **fields)
    conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s", (request,))
    return f, tutor, request


def first_session(conn: Conn, request: int) -> int:
    [[session]] = conn.execute(
        "SELECT id FROM sessions WHERE request_id = %s ORDER BY session_date LIMIT 1",
        (request,)).fetchall()
    return int(session)


def not_found(conn: Conn) -> tuple[str, dict[str, Any]]:
    return "SELECT * FROM astegni_accept(987654)", {"request_id": 987654}


def accepted_twice(conn: Conn) -> tuple[str, dict[str, Any]]:
    _, _, request = accepted_request(conn)
    return f"SELECT * FROM astegni_accept({request})", {"request_id": request, "status": "accepted"}


def rejected_after_acceptance(conn: Conn) -> tuple[str, dict[str, Any]]:
    _, _, request = accepted_request(conn)
    return (f"UPDATE requested_sessions SET status = 'rejected' WHERE id = {request}",
            {"request_id": request, "status": "accepted", "requested_status": "rejected"})


def pending_to_cancelled(conn: Conn) -> tuple[str, dict[str, Any]]:
    request = Factory(conn).pending()
    return (f"UPDATE requested_sessions SET status = 'cancelled' WHERE id = {request}",
            {"request_id": request, "status": "pending", "requested_status": "cancelled"})


def inserted_accepted(conn: Conn) -> tuple[str, dict[str, Any]]:
    f = Factory(conn)
    tutor, user = f.tutor(), f.user()
    return (f"INSERT INTO requested_sessions (tutor_id, requester_id, status)"
            f" VALUES ({tutor}, {user}, 'accepted')", {"field": "status", "value": "accepted"})


def parent_without_child(conn: Conn) -> tuple[str, dict[str, Any]]:
    f = Factory(conn)
    parent = f.user()
    conn.execute("INSERT INTO parent_profiles (user_id) VALUES (%s)", (parent,))
    request = f.request(f.tutor(), parent, requester_type="parent")
    return (f"UPDATE requested_sessions SET status = 'accepted' WHERE id = {request}",
            {"request_id": request, "field": "requested_to_id"})


def unknown_weekday(conn: Conn) -> tuple[str, dict[str, Any]]:
    request = Factory(conn).pending(schedule_type="recurring", days=["Mon", "Funday"])
    return (f"UPDATE requested_sessions SET status = 'accepted' WHERE id = {request}",
            {"request_id": request, "field": "days", "value": "Funday"})


def overnight_for_23_hours(conn: Conn) -> tuple[str, dict[str, Any]]:
    request = Factory(conn).pending(schedule_type="recurring", days=["Mon"], start_time=dt.time(11),
                                    end_time=dt.time(10))
    return (f"UPDATE requested_sessions SET status = 'accepted' WHERE id = {request}",
            {"request_id": request, "field": "end_time", "value": "10:00:00"})


def session_by_hand_too_long(conn: Conn) -> tuple[str, dict[str, Any]]:
    _, _, request = accepted_request(conn)
    session = first_session(conn, request)
    return (f"UPDATE sessions SET end_time = start_time + interval '9 hours' WHERE id = {session}",
            {"session_id": session, "field": "end_time", "value": "19:00:00"})


def reason_too_long(conn: Conn) -> tuple[str, dict[str, Any]]:
    request = Factory(conn).pending()
    return (f"SELECT * FROM astegni_reject({request}, repeat('-', 2001))",
            {"request_id": request, "field": "rejected_reason", "value": "-" * 40 + "...", "length": 2001})


def too_many_dates(conn: Conn) -> tuple[str, dict[str, Any]]:
    first = dt.date(next_year(conn), 1, 1)
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=[
        (first + dt.timedelta(days=n)).isoformat() for n in range(201)])
    return (f"SELECT * FROM astegni_accept({request})",
            {"request_id": request, "field": "specific_dates", "value": "201", "limit": 200})


def clashing_request(conn: Conn) -> tuple[str, dict[str, Any]]:
    f, tutor, accepted = accepted_request(conn)
    user, _ = f.student()
    day = conn.execute("SELECT min(session_date) FROM sessions").fetchall()[0][0]
    request = f.request(tutor, user, package_id=f.package(tutor), schedule_type="specific_dates",
                        specific_dates=[day.isoformat()], start_time=dt.time(10, 30),
                        end_time=dt.time(11, 30))
    return (f"UPDATE requested_sessions SET status = 'accepted' WHERE id = {request}",
            {"request_id": request, "clash_session_id": first_session(conn, accepted)})


def session_moved_onto_a_clash(conn: Conn) -> tuple[str, dict[str, Any]]:
    f, tutor, accepted = accepted_request(conn)
    user, _ = f.student()
    day = conn.execute("SELECT min(session_date) FROM sessions").fetchall()[0][0]
    other = f.request(tutor, user, package_id=f.package(tutor), schedule_type="specific_dates",
                      specific_dates=[day.isoformat()], start_time=dt.time(12), end_time=dt.time(13))
    conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s", (other,))
    moved = first_session(conn, other)
    return (f"UPDATE sessions SET start_time = '10:30', end_time = '11:30' WHERE id = {moved}",
            {"session_id": moved, "clash_session_id": first_session(conn, accepted)})


def settings_deleted(conn: Conn) -> tuple[str, dict[str, Any]]:
    return "DELETE FROM schedule_settings", {"operation": "DELETE"}


def unknown_zone(conn: Conn) -> tuple[str, dict[str, Any]]:
    tutor = Factory(conn).tutor()
    return (f"UPDATE tutor_profiles SET timezone = 'Mars/Olympus' WHERE id = {tutor}",
            {"tutor_id": tutor, "field": "timezone", "value": "Mars/Olympus"})


def session_without_time(conn: Conn) -> tuple[str, dict[str, Any]]:
    _, _, request = accepted_request(conn)
    session = first_session(conn, request)
    return (f"UPDATE sessions SET end_time = start_time WHERE id = {session}",
            {"session_id": session})


def session_onto_a_taken_date(conn: Conn) -> tuple[str, dict[str, Any]]:
    _, _, request = accepted_request(conn)
    session = first_session(conn, request)
    return (f"UPDATE sessions SET session_date = session_date + 2 WHERE id = {session}",
            {"session_id": session, "request_id": request})


def another_tutors_package(conn: Conn) -> tuple[str, dict[str, Any]]:
    f = Factory(conn)
    tutor, (user, _) = f.tutor(), f.student()
    package = f.package(f.tutor())
    request = f.request(tutor, user, package_id=package)
    return (f"UPDATE requested_sessions SET status = 'accepted' WHERE id = {request}",
            {"request_id": request, "field": "package_id", "value": str(package)})


def request_id_changed(conn: Conn) -> tuple[str, dict[str, Any]]:
    request = Factory(conn).pending()
    return (f"UPDATE requested_sessions SET status = 'accepted', id = id + 1000 WHERE id = {request}",
            {"request_id": request, "field": "id", "value": str(request + 1000)})


def pending_is_not_a_series(conn: Conn) -> tuple[str, dict[str, Any]]:
    request = Factory(conn).pending(**MON_WED_FRI)
    return (f"SELECT astegni_end_series({request}, '2099-01-01', NULL)",
            {"request_id": request, "status": "pending"})


def series_ended_later(conn: Conn) -> tuple[str, dict[str, Any]]:
    request = Factory(conn).pending(**MON_WED_FRI)
    conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s", (request,))
    conn.execute("SELECT astegni_end_series(%s, '2099-01-01', NULL)", (request,))
    return (f"SELECT astegni_end_series({request}, '2099-01-02', NULL)",
            {"request_id": request, "field": "last_date", "value": "2099-01-02",
             "last_date": "2099-01-01"})


def empty_time_off(conn: Conn) -> tuple[str, dict[str, Any]]:
    tutor = Factory(conn).tutor()
    return (f"INSERT INTO tutor_time_off (tutor_id, during) VALUES ({tutor}, 'empty')",
            {"tutor_id": tutor, "field": "during", "value": "empty"})


def edit_of_no_occurrence(conn: Conn) -> tuple[str, dict[str, Any]]:
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=["2099-01-05"])
    return (f"SELECT * FROM astegni_accept({request}, NULL, '{{2099-01-06}}')",
            {"request_id": request, "field": "without", "value": "2099-01-06"})
def calendar_for_no_student(conn: Conn) -> tuple[str, dict[str, Any]]:
    _, student = Factory(conn).student()
    return (f"SELECT * FROM astegni_calendar_link('student', {student + 1}, sha256('token'))",
            {"field": "owner_id", "value": str(student + 1), "owner_kind": "student"})


def calendar_for_no_kind(conn: Conn) -> tuple[str, dict[str, Any]]:
    return ("SELECT astegni_revoke_calendar_links('teacher', 1)", {"field": "owner_kind", "value": "teacher"})


CASES: list[tuple[str, type[AstegniError], Setup]] = [
    ("AS001", RequestNotFound, not_found),
    ("AS002", AlreadyResponded, accepted_twice),
    ("AS002", AlreadyResponded, rejected_after_acceptance),
    ("AS003", InvalidTransition, pending_to_cancelled),
    ("AS003", InvalidTransition, inserted_accepted),
    ("AS004", NoStudent, parent_without_child),
    ("AS005", InvalidSchedule, unknown_weekday),
    ("AS005", InvalidSchedule, overnight_for_23_hours),
    ("AS005", InvalidSchedule, session_by_hand_too_long),
    ("AS005", InvalidSchedule, reason_too_long),
    ("AS006", TooManySessions, too_many_dates),
    ("AS007", ScheduleConflict, clashing_request),
    ("AS007", ScheduleConflict, session_moved_onto_a_clash),
    ("AS008", SettingsLocked, settings_deleted),
    ("AS009", InvalidTimezone, unknown_zone),
    ("AS010", InconsistentSession, session_without_time),
    ("AS011", SessionDateTaken, session_onto_a_taken_date),
    ("AS012", InvalidPackage, another_tutors_package),
    ("AS013", ImmutableRequest, request_id_changed),
    ("AS014", NotASeries, pending_is_not_a_series),
    ("AS015", SeriesEnded, series_ended_later),
    ("AS016", InvalidTimeOff, empty_time_off),
    ("AS017", InvalidEdit, edit_of_no_occurrence),
    ("AS020", CalendarOwnerNotFound, calendar_for_no_student),
    ("AS020", CalendarOwnerNotFound, calendar_for_no_kind),
]
IDS = [f"{code}-{setup.__name__}" for code, _, setup in CASES]


# A call of astegni_raise and its first argument (the definition, `FUNCTION ... astegni_raise(p_code`, is
# told apart by what precedes it).
RAISE_CALL = re.compile(r"(FUNCTION\s+(?:public\.)?)?\bastegni_raise\s*\(\s*([^,]*?)\s*,")
# A row of the table in docs/errors.md: | ASnnn | `ExceptionName` ...
DOCUMENTED = re.compile(r"^\|\s*(AS\d{3})\s*\|\s*`(\w+)`", re.MULTILINE)


def raised_codes() -> dict[str, set[str]]:
    """Each project SQLSTATE raised by db/functions/*.sql, with the files raising it; comments aside."""
    codes: dict[str, set[str]] = {}
    for path in sorted(FUNCTIONS_DIR.glob("*.sql")):
        text = re.sub(r"/\*.*?\*/", "", re.sub(r"--[^\n]*", "", path.read_text()), flags=re.DOTALL)
        for call in RAISE_CALL.finditer(text):
            if call.group(1):
                continue
            code = re.fullmatch(r"'(AS\d{3})'", call.group(2))
            assert code, f"{path.name}: astegni_raise({call.group(2)}, ...) names no literal code"
            codes.setdefault(code.group(1), set()).add(path.name)
    return codes


def test_one_catalogue_of_refusals():
    """Each code raised by the rule is mapped and documented; each mapped or documented one is raised."""
    raised = raised_codes()
    assert len(raised) >= 12, "the parser found too few astegni_raise calls"
    documented = dict(DOCUMENTED.findall((ROOT / "docs" / "errors.md").read_text()))
    assert not raised.keys() - BY_SQLSTATE.keys(), (
        f"raised but not mapped in astegni.errors.BY_SQLSTATE: "
        f"{ {code: sorted(raised[code]) for code in sorted(raised.keys() - BY_SQLSTATE.keys())} }")
    assert not raised.keys() - documented.keys(), (
        f"raised but not documented in docs/errors.md: {sorted(raised.keys() - documented.keys())}")
    assert not BY_SQLSTATE.keys() - raised.keys(), (
        f"mapped but raised by no function in db/functions: {sorted(BY_SQLSTATE.keys() - raised.keys())}")
    assert not documented.keys() - raised.keys(), (
        f"documented but raised by no function in db/functions: {sorted(documented.keys() - raised.keys())}")
    assert {code: cls.__name__ for code, cls in BY_SQLSTATE.items()} == documented


def test_every_sqlstate_has_a_case():
    assert {code for code, _, _ in CASES} == set(BY_SQLSTATE)
    assert all(BY_SQLSTATE[code] is cls for code, cls, _ in CASES)


def assert_mapped(error: AstegniError | None, cls: type[AstegniError], diag: psycopg.errors.Diagnostic,
                  facts: dict[str, Any]) -> None:
    assert type(error) is cls
    assert error.message == diag.message_primary
    assert error.detail == json.loads(diag.message_detail or "null")
    assert error.detail.items() >= facts.items()
    assert error.hint == diag.message_hint


@pytest.mark.parametrize(("code", "cls", "setup"), CASES, ids=IDS)
def test_psycopg_error_maps_to_its_class(conn, code, cls, setup):
    statement, facts = setup(conn)
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(statement)
    error = caught.value
    # Outside the classes psycopg maps to ProgrammingError, OperationalError or InternalError.
    assert type(error) is psycopg.DatabaseError
    assert error.diag.sqlstate == code
    assert_mapped(translate(error), cls, error.diag, facts)


@pytest.mark.parametrize(("code", "cls", "setup"), CASES, ids=IDS)
def test_sqlalchemy_error_maps_to_its_class(conn, engine, code, cls, setup):
    statement, facts = setup(conn)
    with engine.connect() as connection, pytest.raises(sqlalchemy.exc.DBAPIError) as caught:
        connection.exec_driver_sql(statement)
    error = caught.value
    assert type(error) is sqlalchemy.exc.DatabaseError
    assert isinstance(error.orig, psycopg.Error)
    assert error.orig.diag.sqlstate == code
    assert_mapped(translate(error), cls, error.orig.diag, facts)


@pytest.mark.parametrize(("code", "cls", "setup"), CASES, ids=IDS)
def test_error_has_message_json_detail_and_hint(conn, code, cls, setup):
    statement, _ = setup(conn)
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(statement)
    diag = caught.value.diag
    assert diag.message_primary
    assert isinstance(json.loads(diag.message_detail or "null"), dict)
    assert diag.message_hint, f"{code} raised without a HINT: {diag.message_primary}"


@pytest.mark.parametrize("client", ["psycopg", "sqlalchemy"])
def test_serialization_failure_is_retryable(conn, db_url, engine, client):
    request = Factory(conn).pending()
    connection = psycopg.connect(db_url) if client == "psycopg" else engine.connect()
    run = connection.execute if client == "psycopg" else connection.exec_driver_sql
    with connection:
        run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        run("SELECT count(*) FROM requested_sessions")  # takes the snapshot
        conn.execute("UPDATE requested_sessions SET message = 'first' WHERE id = %s", (request,))
        with pytest.raises((psycopg.Error, sqlalchemy.exc.DBAPIError)) as caught:
            run(f"UPDATE requested_sessions SET message = 'late' WHERE id = {request}")
    mapped = translate(caught.value)
    assert type(mapped) is RetryableConflict
    assert mapped.detail == {"sqlstate": "40001"}


def test_deadlock_is_retryable(conn, db_url):
    first, second = Factory(conn).pending(), Factory(conn).pending()
    update = "UPDATE requested_sessions SET message = 'x' WHERE id = %s"

    def lock_then(connection: Conn, then: int) -> BaseException | None:
        try:
            connection.execute(update, (then,))
        except psycopg.Error as error:
            connection.rollback()  # releases this side's lock so that the other one finishes
            return error
        return None

    with psycopg.connect(db_url) as a, psycopg.connect(db_url) as b, ThreadPoolExecutor(1) as pool:
        a.execute(update, (first,))
        b.execute(update, (second,))
        waiting = pool.submit(lock_then, a, second)
        errors = [e for e in (lock_then(b, first), waiting.result()) if e is not None]
    assert len(errors) == 1
    mapped = translate(errors[0])
    assert type(mapped) is RetryableConflict
    assert mapped.detail == {"sqlstate": "40P01"}


def test_other_database_errors_become_one_line_database_errors(conn, engine):
    conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    with pytest.raises(psycopg.Error) as plain:
        conn.execute("CREATE TABLE written (id integer)")
    with engine.connect() as connection, pytest.raises(sqlalchemy.exc.DBAPIError) as wrapped:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        connection.exec_driver_sql("CREATE TABLE written (id integer)")
    for error in (plain.value, wrapped.value):
        mapped = from_database(error)
        assert type(mapped) is DatabaseError
        assert mapped.message == "cannot execute CREATE TABLE in a read-only transaction"
        assert mapped.detail == {"sqlstate": "25006"}
        assert mapped.hint is not None and "read-only" in mapped.hint
        assert reported(error).message == mapped.message


def test_a_refusal_stays_itself_through_from_database(conn):
    with pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT * FROM astegni_accept(987654)")
    mapped = from_database(caught.value)
    assert type(mapped) is RequestNotFound
    assert isinstance(mapped, NotFound)  # an unknown request is an unknown id like any other
    assert mapped.message == "request 987654 does not exist"


def test_a_failed_connection_is_one_line():
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect("postgresql://nobody@127.0.0.1:1/nowhere", connect_timeout=5)
    mapped = reported(caught.value)
    assert type(mapped) is DatabaseError
    assert mapped.message and "\n" not in mapped.message


@pytest.mark.parametrize(("error", "cls", "message"), [
    (CommandError("Can't locate revision identified by 'bogus'"), MigrationError,
     "Can't locate revision identified by 'bogus'"),
    (FileNotFoundError(2, "No such file or directory", "/nowhere/x.ics"), AstegniError,
     "No such file or directory: /nowhere/x.ics"),
    (ValueError("two\nlines"), AstegniError, "unexpected ValueError: two lines"),
    (sqlalchemy.exc.ArgumentError("bad\nargument"), DatabaseError, "bad argument"),
], ids=["alembic", "oserror", "unexpected", "sqlalchemy"])
def test_every_failure_is_reported_as_one_line(error, cls, message):
    mapped = reported(error)
    assert type(mapped) is cls
    assert mapped.message == message


def test_an_astegni_error_is_reported_as_itself():
    error = NotFound.of("tutor", 7, hint="a tutor profile id")
    assert reported(error) is error
    assert (error.message, error.detail) == ("tutor 7 does not exist", {"tutor_id": 7})

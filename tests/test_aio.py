"""astegni.aio: the sync API's results and refusals through a psycopg AsyncConnection, a SQLAlchemy
AsyncConnection and an AsyncSession, in one round trip, never committing."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
import pytest_asyncio
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

import astegni
import astegni.aio
import astegni.connection
from astegni.errors import (
    AlreadyResponded,
    AstegniError,
    InvalidSchedule,
    InvalidTransition,
    RequestNotFound,
    RetryableConflict,
)
from astegni.models import RequestedSession
from benchmarks.roundtrips import counted
from tests.support import (
    BERLIN,
    MON_WED_FRI,
    NOTHING,
    Factory,
    book,
    last_sunday,
    next_year,
    pull_back,
    request_row,
    scalar,
    tutor_today,
    written,
)
from tests.test_series_api import accepted_series

pytestmark = pytest.mark.asyncio

AsyncConn = psycopg.AsyncConnection[Any] | AsyncConnection | AsyncSession


def async_engine(db_url: str) -> AsyncEngine:
    """SQLAlchemy's asyncio engine on psycopg, as astegni.database.engine is the sync one."""
    return create_async_engine("postgresql+psycopg://", poolclass=pool.NullPool,
                               async_creator=lambda: psycopg.AsyncConnection.connect(db_url))


@contextlib.asynccontextmanager
async def psycopg_connection(db_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncConn]:
    conn = await psycopg.AsyncConnection.connect(db_url)
    try:
        yield conn
    finally:
        await conn.close()  # without a commit: an open transaction is rolled back


@contextlib.asynccontextmanager
async def sqlalchemy_connection(db_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncConn]:
    async with engine.connect() as conn:
        yield conn


@contextlib.asynccontextmanager
async def orm_session(db_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncConn]:
    async with AsyncSession(engine) as session:
        yield session


KINDS = {"psycopg": psycopg_connection, "sqlalchemy": sqlalchemy_connection, "session": orm_session}


@pytest_asyncio.fixture(params=list(KINDS))
async def aconn(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[AsyncConn]:
    """Each kind of asyncio connection to the test's database, in a transaction it never commits by
    itself (each is closed without a commit)."""
    engine = async_engine(db_url)
    async with KINDS[request.param](db_url, engine) as conn:
        yield conn
    await engine.dispose()


async def driver_connection(conn: AsyncConn) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection on the wire under any of the three."""
    if isinstance(conn, psycopg.AsyncConnection):
        return conn
    if isinstance(conn, AsyncSession):
        conn = await conn.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    assert isinstance(raw, psycopg.AsyncConnection)
    return raw


async def begin(conn: AsyncConn) -> None:
    """Opens the connection's transaction, so that what is counted next is the call alone."""
    if isinstance(conn, psycopg.AsyncConnection):
        await conn.execute("SELECT 1")
    else:
        await conn.execute(text("SELECT 1"))


def mixed_request(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """(request, the session it clashes with): specific dates in Berlin, 02:30-03:15, one past, one in
    the spring DST gap, one clashing with the tutor's other course (conflict_policy 'skip'), two free.
    Every call makes a twin of its own tutor, so that results can be compared but for their ids."""
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    year = next_year(conn)
    booked = book(f, tutor, dt.date(year, 2, 1), dt.time(2), dt.time(2, 45))
    days = [tutor_today(conn, BERLIN) - dt.timedelta(days=2), last_sunday(year, 3), dt.date(year, 2, 1),
            dt.date(year, 2, 8), dt.date(year, 2, 15)]
    request = f.request(tutor, f.student()[0], package_id=f.package(tutor), schedule_type="specific",
                        specific_dates=[d.isoformat() for d in days], start_time=dt.time(2, 30),
                        end_time=dt.time(3, 15), conflict_policy="skip", counter_offer_price="30.50")
    return request, booked


def but_ids(result: Any, booked: int | None = None) -> Any:
    """The result's fields but those naming rows of its own (or the moment of its transaction); the
    session it clashes with as 'booked'."""
    if isinstance(result, list):
        return [but_ids(item, booked) for item in result]
    fields = dataclasses.asdict(result)
    for key in ("request_id", "responded_at", "cancelled_at", "enrolled_course_id"):
        fields.pop(key, None)
    for item in [fields, *fields.get("skipped", ())]:
        if item.get("clash_session_id") is not None:
            assert item["clash_session_id"] == booked
            item["clash_session_id"] = "booked"
    return (type(result).__name__, fields)


def tutor_of(conn: psycopg.Connection[Any], request: int) -> int:
    return int(request_row(conn, request)["tutor_id"])


async def test_accept_equals_the_sync_acceptance(conn, aconn):
    (sync_request, sync_booked), (request, booked) = mixed_request(conn), mixed_request(conn)
    expected = astegni.accept(conn, sync_request)
    assert expected.sessions_created == 2 and expected.agreed_price == Decimal("30.50")
    assert {s.reason for s in expected.skipped} == {"past", "dst_gap", "conflict"}

    result = await astegni.aio.accept(aconn, request, tutor_id=tutor_of(conn, request))
    await aconn.commit()
    assert type(result) is astegni.Acceptance
    assert but_ids(result, booked) == but_ids(expected, sync_booked)
    assert result.request_id == request
    assert result.responded_at.tzinfo is not None
    assert result.enrolled_course_id == scalar(
        conn, "SELECT enrolled_courses_id FROM sessions WHERE request_id = %s LIMIT 1", request)
    assert result.as_response().keys() == expected.as_response().keys()
    assert request_row(conn, request)["status"] == "accepted"


async def test_reject_equals_the_sync_rejection(conn, aconn):
    f = Factory(conn)
    sync_request, request = f.pending(), f.pending()
    expected = astegni.reject(conn, sync_request, reason="Fully booked",
                              tutor_id=tutor_of(conn, sync_request))
    result = await astegni.aio.reject(aconn, request, reason="Fully booked",
                                      tutor_id=tutor_of(conn, request))
    await aconn.commit()
    assert but_ids(result) == but_ids(expected) == (
        "Rejection", {"status": "rejected", "rejected_reason": "Fully booked"})
    assert result.request_id == request
    assert request_row(conn, request)["rejected_reason"] == "Fully booked"


async def test_cancel_equals_the_sync_cancellation(conn, aconn):
    (sync_request, _), (request, _) = mixed_request(conn), mixed_request(conn)
    astegni.accept(conn, sync_request)
    astegni.accept(conn, request)
    expected = astegni.cancel(conn, sync_request, reason="moved away")
    result = await astegni.aio.cancel(aconn, request, reason="moved away", tutor_id=tutor_of(conn, request))
    await aconn.commit()
    assert type(result) is astegni.Cancellation
    assert but_ids(result) == but_ids(expected)
    assert (result.request_id, result.status, result.sessions_cancelled) == (request, "cancelled", 2)
    assert request_row(conn, request)["status"] == "cancelled"


async def test_preview_equals_the_sync_preview(conn, aconn):
    (sync_request, sync_booked), (request, booked) = mixed_request(conn), mixed_request(conn)
    expected = astegni.preview(conn, sync_request)
    assert {(row.outcome, row.reason) for row in expected} == {
        ("skip", "past"), ("skip", "dst_gap"), ("skip", "conflict"), ("create", None)}
    result = await astegni.aio.preview(aconn, request)
    assert all(type(row) is astegni.PreviewRow for row in result)
    assert but_ids(result, booked) == but_ids(expected, sync_booked)
    assert written(conn)["sessions"] == 2  # the two booked ones: preview writes nothing


async def test_edits_are_the_sync_apis(conn, aconn):
    (sync_request, sync_booked), (request, booked) = mixed_request(conn), mixed_request(conn)
    year = next_year(conn)
    # The clash moved away from, a free date left out.
    edits: dict[str, Any] = {"without": [dt.date(year, 2, 15)],
                             "moves": {dt.date(year, 2, 1): (dt.time(9), dt.time(10))}}
    expected = astegni.preview(conn, sync_request, **edits)
    shown = await astegni.aio.preview(aconn, request, **edits)
    assert but_ids(shown, booked) == but_ids(expected, sync_booked)
    result = await astegni.aio.accept(aconn, request, **edits)
    await aconn.commit()
    assert but_ids(result, booked) == but_ids(astegni.accept(conn, sync_request, **edits), sync_booked)
    assert (result.sessions_created, sorted(s.reason for s in result.skipped)) == (
        2, ["dst_gap", "past", "tutor_edit"])


def facts(error: AstegniError, request: int | None) -> tuple[Any, ...]:
    """What a refusal says, but the request it names (checked to be `request`)."""
    detail = dict(error.detail)
    assert detail.pop("request_id", request) == request
    return type(error), error.message.replace(str(request), "<request>"), detail, error.hint, \
        error.field, error.value


async def refused(call: Awaitable[object], conn: AsyncConn) -> AstegniError:
    """The refusal of an awaited call; its transaction is rolled back for the next one."""
    with pytest.raises(AstegniError) as caught:
        await call
    await conn.rollback()
    return caught.value


async def test_refusals_are_the_sync_ones(conn, aconn):
    f = Factory(conn)
    requests = {side: f.pending(schedule_type="recurring", days=["Mon", "Funday"]) for side in "sa"}
    unknown = 987654
    other_tutor = f.tutor()
    accepted = {side: f.pending() for side in "sa"}
    astegni.accept(conn, accepted["s"])
    astegni.accept(conn, accepted["a"])
    cases: list[tuple[type[AstegniError], dict[str, int], Callable[..., Any], Callable[..., Any]]] = [
        (InvalidSchedule, requests, astegni.accept, astegni.aio.accept),
        (RequestNotFound, {"s": unknown, "a": unknown}, astegni.accept, astegni.aio.accept),
        (RequestNotFound, {"s": unknown, "a": unknown}, astegni.reject, astegni.aio.reject),
        (RequestNotFound, {"s": unknown, "a": unknown}, astegni.preview, astegni.aio.preview),
        (AlreadyResponded, accepted, astegni.accept, astegni.aio.accept),
        (AlreadyResponded, accepted, astegni.reject, astegni.aio.reject),
        (InvalidTransition, requests, astegni.cancel, astegni.aio.cancel),
    ]
    for cls, ids, sync_call, async_call in cases:
        with pytest.raises(AstegniError) as caught:
            sync_call(conn, ids["s"])
        error = await refused(async_call(aconn, ids["a"]), aconn)
        assert type(error) is cls, (cls, error)
        assert facts(error, ids["a"]) == facts(caught.value, ids["s"])
    invalid = await refused(astegni.aio.accept(aconn, requests["a"]), aconn)
    assert (invalid.request_id, invalid.field, invalid.value) == (requests["a"], "days", "Funday")
    another = await refused(astegni.aio.accept(aconn, accepted["a"], tutor_id=other_tutor), aconn)
    assert type(another) is RequestNotFound and another.detail["tutor_id"] == other_tutor
    assert request_row(conn, requests["a"])["status"] == "pending"


async def test_nothing_is_committed(conn, aconn):
    f = Factory(conn)
    first, second = f.pending(**MON_WED_FRI), f.pending()
    assert (await astegni.aio.accept(aconn, first)).sessions_created == 24
    assert (await astegni.aio.reject(aconn, second)).status == "rejected"
    await aconn.rollback()
    assert {request_row(conn, r)["status"] for r in (first, second)} == {"pending"}
    assert written(conn) == NOTHING


async def test_closing_without_a_commit_keeps_the_request_pending(conn, db_url):
    f = Factory(conn)
    requests = {kind: f.pending() for kind in KINDS}
    engine = async_engine(db_url)
    for kind, open_ in KINDS.items():
        async with open_(db_url, engine) as aconn:
            await astegni.aio.accept(aconn, requests[kind])
    await engine.dispose()
    assert {request_row(conn, r)["status"] for r in requests.values()} == {"pending"}
    assert written(conn) == NOTHING


async def test_each_call_is_one_round_trip(conn, aconn):
    f = Factory(conn)
    first, second = f.pending(), f.pending()
    await begin(aconn)
    wire = await driver_connection(aconn)
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: astegni.aio.preview(aconn, first), lambda: astegni.aio.accept(aconn, first),
        lambda: astegni.aio.reject(aconn, second, reason="no"), lambda: astegni.aio.cancel(aconn, first)]
    for call in calls:
        with counted(wire) as trips:
            await call()
        assert trips.value == 1


async def test_an_async_session_is_flushed_first_and_expired_after(conn, db_url):
    request = Factory(conn).pending()
    engine = async_engine(db_url)
    async with AsyncSession(engine) as session:
        row = await session.get(RequestedSession, request)
        assert row is not None and row.status == "pending"
        row.counter_offer_price = Decimal("40.00")  # pending in the session: the call flushes it
        result = await astegni.aio.accept(session, request)
        assert result.agreed_price == Decimal("40.00")
        assert sa_inspect(row).expired  # the rule changed the row behind the identity map
        await session.refresh(row)
        assert row.status == "accepted"
        await session.commit()
    await engine.dispose()
    assert request_row(conn, request)["status"] == "accepted"


async def wait_for_lock(conn: psycopg.Connection[Any], pid: int) -> None:
    """Until the backend `pid` waits for a lock."""
    for _ in range(500):
        if scalar(conn, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                  pid):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for a lock")


SERIALIZABLE = "-c default_transaction_isolation=serializable"


async def accept_behind_a_concurrent_update(conn: psycopg.Connection[Any], db_url: str, request: int, *,
                                            api: str, autocommit: bool, block: bool) -> object:
    """What accepting (with astegni.accept in a thread, or astegni.aio.accept) returns or raises in a
    SERIALIZABLE transaction while another transaction holds the request's row, which it then changes:
    the acceptance's snapshot predates the change, so its statement fails with 40001."""
    with psycopg.connect(db_url) as blocker:
        blocker.execute("UPDATE requested_sessions SET message = 'first' WHERE id = %s", (request,))
        call: Awaitable[object]
        if api == "sync":
            sync_caller = psycopg.connect(db_url, autocommit=autocommit, options=SERIALIZABLE)
            pid = sync_caller.info.backend_pid

            def run() -> object:
                with sync_caller, sync_caller.transaction() if block else contextlib.nullcontext():
                    return astegni.accept(sync_caller, request)

            call = asyncio.to_thread(run)
        else:
            async_caller = await psycopg.AsyncConnection.connect(db_url, autocommit=autocommit,
                                                                 options=SERIALIZABLE)
            pid = async_caller.info.backend_pid

            async def run_async() -> object:
                async with async_caller, async_caller.transaction() if block else contextlib.nullcontext():
                    return await astegni.aio.accept(async_caller, request)

            call = run_async()
        accepting = asyncio.ensure_future(call)
        await wait_for_lock(conn, pid)
        blocker.commit()
        try:
            return await accepting
        except AstegniError as error:
            return error


RETRIES = astegni.connection.RETRIES


@pytest.mark.parametrize("api", ["sync", "async"])
@pytest.mark.parametrize(("autocommit", "block", "retries", "retried"), [
    (True, False, RETRIES, True),
    (True, False, 1, False),  # the first attempt does fail: the case above passes by a retry
    (True, True, RETRIES, False),
    (False, False, RETRIES, False),
], ids=["autocommit", "autocommit-one-attempt", "autocommit-in-a-transaction-block", "transaction"])
async def test_a_serialization_failure_is_retried_only_where_the_statement_is_its_own_transaction(
        conn, db_url, monkeypatch, api, autocommit, block, retries, retried):
    """Sync and async alike: on an autocommit psycopg connection outside a transaction block the
    statement is its own transaction, and is run again; in the caller's transaction the caller gets
    RetryableConflict, to retry the transaction."""
    monkeypatch.setattr(astegni.connection, "RETRIES", retries)
    request = Factory(conn).pending(**MON_WED_FRI)
    outcome = await accept_behind_a_concurrent_update(conn, db_url, request, api=api,
                                                      autocommit=autocommit, block=block)
    if retried:
        assert isinstance(outcome, astegni.Acceptance) and outcome.sessions_created == 24
    else:
        assert type(outcome) is RetryableConflict, outcome
        assert outcome.detail == {"sqlstate": "40001"}
    assert request_row(conn, request)["status"] == ("accepted" if retried else "pending")


async def test_a_sync_connection_is_refused(conn):
    with pytest.raises(TypeError, match=r"astegni\.aio needs"):
        await astegni.aio.accept(conn, 1)  # type: ignore[arg-type]


# Every operation of the sync API: the public functions astegni exports.
OPERATIONS = sorted(name for name in astegni.__all__ if inspect.isfunction(getattr(astegni, name)))


def parameters(signature: inspect.Signature) -> list[tuple[Any, ...]]:
    """Each parameter but the connection: name, kind, default, annotation."""
    return [(p.name, p.kind, p.default, p.annotation) for p in list(signature.parameters.values())[1:]]


async def test_every_sync_operation_has_an_async_twin_with_its_signature():
    assert sorted(astegni.aio.__all__) == OPERATIONS
    for name in OPERATIONS:
        sync, awaited = getattr(astegni, name), getattr(astegni.aio, name)
        assert inspect.iscoroutinefunction(awaited), name
        expected, signature = inspect.signature(sync), inspect.signature(awaited)
        assert signature.return_annotation == expected.return_annotation, name
        assert parameters(signature) == parameters(expected), name


# What names rows of their own, or the moment of their transaction: left out of a result's shape.
IDS_AND_CLOCKS = {"id", "request_id", "tutor_id", "session_id", "enrolled_course_id", "course_id", "owner_id",
                  "token", "etag", "responded_at", "cancelled_at", "created_at", "changed_at", "updated_at"}


def _plain(item: Any) -> Any:
    if isinstance(item, list | tuple):
        return [_plain(each) for each in item]
    if not isinstance(item, dict):
        return item
    fields = {key: _plain(value) for key, value in item.items() if key not in IDS_AND_CLOCKS}
    if "clash_session_id" in fields:
        fields["clash_session_id"] = fields["clash_session_id"] is not None
    return fields


def shape(result: Any) -> Any:
    """A result without what names rows of its own or the moment of its transaction: ids, clocks."""
    if isinstance(result, list):
        return [shape(item) for item in result]
    if isinstance(result, dt.datetime):
        return dt.datetime
    if not dataclasses.is_dataclass(result) or isinstance(result, type):
        return result
    return type(result).__name__, _plain(dataclasses.asdict(result))


Call = tuple[tuple[Any, ...], dict[str, Any]]


def series(conn: psycopg.Connection[Any]) -> tuple[int, int, dt.date]:
    """(tutor, request, the tutor's today) of an accepted Mon/Wed/Fri series of a tutor of its own."""
    _, tutor, request = accepted_series(conn)
    return tutor, request, tutor_today(conn, BERLIN)


def days_off(today: dt.date, after: int) -> tuple[dt.datetime, dt.datetime]:
    """Three days of time off, from midnight `after` days after today in the tutor's zone."""
    start = dt.datetime.combine(today + dt.timedelta(days=after), dt.time(), ZoneInfo(BERLIN))
    return start, start + dt.timedelta(days=3)


def extend_case(conn: psycopg.Connection[Any]) -> Call:
    pull_back(conn, accepted_series(conn)[2])
    return (), {}


def accept_case(conn: psycopg.Connection[Any]) -> Call:
    request, _ = mixed_request(conn)
    return (request,), {"tutor_id": tutor_of(conn, request)}


def cancel_case(conn: psycopg.Connection[Any]) -> Call:
    request, _ = mixed_request(conn)
    astegni.accept(conn, request)
    return (request,), {"reason": "moved away"}


def end_series_case(conn: psycopg.Connection[Any]) -> Call:
    tutor, request, today = series(conn)
    return (request, today + dt.timedelta(days=14), "exams"), {"tutor_id": tutor}


def reschedule_case(conn: psycopg.Connection[Any]) -> Call:
    _, request, today = series(conn)
    return (request, today + dt.timedelta(days=7)), {"days": ["Tue", "Thu"], "start_time": dt.time(9),
                                                    "end_time": dt.time(10, 30)}


def add_time_off_case(conn: psycopg.Connection[Any]) -> Call:
    tutor, _, today = series(conn)
    return (tutor, *days_off(today, 5), "conference"), {}


def remove_time_off_case(conn: psycopg.Connection[Any]) -> Call:
    tutor, _, today = series(conn)
    return (astegni.add_time_off(conn, tutor, *days_off(today, 5)).id,), {"tutor_id": tutor}


def list_time_off_case(conn: psycopg.Connection[Any]) -> Call:
    tutor, _, today = series(conn)
    for after in (12, 5):
        astegni.add_time_off(conn, tutor, *days_off(today, after), "conference")
    return (tutor,), {}


def booked_tutor(conn: psycopg.Connection[Any]) -> int:
    """A tutor of its own with an accepted request's sessions, for a calendar link."""
    request, _ = mixed_request(conn)
    astegni.accept(conn, request)
    return tutor_of(conn, request)


def calendar_token(conn: psycopg.Connection[Any]) -> str:
    return astegni.issue_calendar_link(conn, "tutor", booked_tutor(conn)).token


def revoke_case(conn: psycopg.Connection[Any]) -> Call:
    tutor = booked_tutor(conn)
    astegni.issue_calendar_link(conn, "tutor", tutor)
    return ("tutor", tutor), {}


# For each operation, a case made anew for each side on the sync connection: the call's arguments.
CASES: dict[str, Callable[[psycopg.Connection[Any]], Call]] = {
    # First: the extension grows every series short of its horizon, and only the case's is.
    "extend": extend_case,
    "accept": accept_case,
    "reject": lambda conn: ((Factory(conn).pending(),), {"reason": "Fully booked"}),
    "cancel": cancel_case,
    "preview": lambda conn: ((mixed_request(conn)[0],), {}),
    "end_series": end_series_case,
    "reschedule": reschedule_case,
    "preview_reschedule": reschedule_case,
    "add_time_off": add_time_off_case,
    "remove_time_off": remove_time_off_case,
    "list_time_off": list_time_off_case,
    "issue_calendar_link": lambda conn: (("tutor", booked_tutor(conn)), {}),
    "calendar_feed": lambda conn: ((calendar_token(conn),), {}),
    "calendar_changed": lambda conn: ((calendar_token(conn), '"an etag"'), {}),
    "revoke_calendar_links": revoke_case,
}


async def test_every_operation_gives_the_sync_result(conn, aconn, db_url):
    """Each operation on twin cases, sync and awaited, on each kind of asyncio connection: the same
    result but its ids."""
    assert list(CASES) == ["extend", *(name for name in CASES if name != "extend")]
    assert sorted(CASES) == OPERATIONS
    for name, case in CASES.items():
        args, kwargs = case(conn)
        expected = getattr(astegni, name)(conn, *args, **kwargs)
        args, kwargs = case(conn)
        if name == "extend":  # it commits batch by batch: an autocommit connection of its own
            async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as auto:
                result = await astegni.aio.extend(auto)
        else:
            result = await getattr(astegni.aio, name)(aconn, *args, **kwargs)
            await aconn.commit()
        assert type(result) is type(expected), name
        assert shape(result) == shape(expected), name
        assert expected not in (None, [], 0, False), f"{name}: a case that does nothing shows nothing"


async def test_psycopg_needs_no_greenlet(db_url):
    """SQLAlchemy's asyncio extension needs greenlet; a caller on psycopg's AsyncConnection does not."""
    script = """
import asyncio, sys
sys.modules["greenlet"] = None  # import greenlet fails, as where it is not installed
import psycopg
import astegni.aio

async def main():
    async with await psycopg.AsyncConnection.connect(sys.argv[1]) as conn:
        try:
            await astegni.aio.accept(conn, 987654)
        except astegni.errors.RequestNotFound as error:
            print(type(error).__name__)

asyncio.run(main())
"""
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", script, db_url,
                                                 stdout=asyncio.subprocess.PIPE)
    stdout, _ = await child.communicate()
    assert (child.returncode, stdout) == (0, b"RequestNotFound\n")

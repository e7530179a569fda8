"""The drop-in PATCH endpoint (astegni.fastapi.router), over HTTP: an app served by uvicorn on 127.0.0.1,
httpx as its client, the real database; once with a sync psycopg Connection, once with an
AsyncConnection. The app mounts the router twice: plain, and under /hooked with an on_accepted hook
that runs what the test puts in Wiring.hook; it has install_exception_handlers, as docs/adopting.md
says an app should.

The test app's connection dependency never commits: it closes the connection, so whatever another
connection sees was committed by the router itself, and it reports the transaction's status when the
endpoint is done with it (IDLE: the router committed or rolled back, leaving nothing open).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import time
import tomllib
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI, Header, HTTPException
from psycopg import IsolationLevel

import astegni
from astegni.accept import Acceptance
from astegni.errors import BY_SQLSTATE, AstegniError
from astegni.fastapi import HTTP_STATUS, install_exception_handlers, router
from tests.asgi import serving
from tests.support import (
    NOTHING,
    ROOT,
    Factory,
    answer_of,
    book,
    doc_bookings,
    next_year,
    request_row,
    scalar,
    written,
)

Conn = psycopg.Connection[Any]

ACCEPTED = "Session request accepted and student added to your students list"


@dataclass
class Wiring:
    """What the test app's connection dependency does; each test sets it afresh."""

    db_url: str = ""
    options: str | None = None  # libpq options, e.g. "-c default_transaction_read_only=on"
    # When set: REPEATABLE READ, a snapshot taken, then this runs before the endpoint gets the connection.
    after_snapshot: Callable[[], object] | None = None
    # Each connection's transaction status once the endpoint is done with it.
    ended: queue.Queue[str] = field(default_factory=queue.Queue)
    # What the /hooked router's on_accepted runs: a function on a sync app, a coroutine function on an
    # async one (a test may give the other kind, to see it refused).
    hook: Callable[[Any, Acceptance], Any] | None = None


def make_app(kind: str, wiring: Wiring) -> FastAPI:
    app = FastAPI()

    def current_tutor(x_tutor_id: Annotated[int | None, Header()] = None) -> int | None:
        return x_tutor_id  # None without the header: the router must refuse to answer for any tutor

    def options() -> dict[str, Any]:
        return {"options": wiring.options} if wiring.options else {}

    def sync_connection() -> Iterator[Conn]:
        conn = psycopg.connect(wiring.db_url, **options())
        try:
            if wiring.after_snapshot:
                conn.isolation_level = IsolationLevel.REPEATABLE_READ
                conn.execute("SELECT 1")
                wiring.after_snapshot()
            yield conn
        finally:
            wiring.ended.put(conn.info.transaction_status.name)
            conn.close()  # never commits

    async def async_connection() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await psycopg.AsyncConnection.connect(wiring.db_url, **options())
        try:
            if wiring.after_snapshot:
                await conn.set_isolation_level(IsolationLevel.REPEATABLE_READ)
                await conn.execute("SELECT 1")
                wiring.after_snapshot()
            yield conn
        finally:
            wiring.ended.put(conn.info.transaction_status.name)
            await conn.close()  # never commits

    def on_accepted(conn: Any, acceptance: Acceptance) -> object:
        assert wiring.hook is not None
        return wiring.hook(conn, acceptance)  # an awaitable when the test's hook is a coroutine function

    connection = sync_connection if kind == "sync" else async_connection
    app.include_router(router(tutor_id=current_tutor, connection=connection))
    app.include_router(router(tutor_id=current_tutor, connection=connection, on_accepted=on_accepted),
                       prefix="/hooked")
    install_exception_handlers(app)

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"pong": True}

    return app


@dataclass
class Served:
    kind: str
    base_url: str
    wiring: Wiring


@pytest.fixture(scope="module", params=["sync", "async"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    wiring = Wiring()
    with serving(make_app(request.param, wiring)) as base_url:
        yield Served(request.param, base_url, wiring)


@dataclass
class Api:
    http: httpx.Client
    wiring: Wiring

    def patch(self, request_id: int | str, tutor: int | None, body: dict[str, Any], *,
              hooked: bool = False) -> httpx.Response:
        headers = {"X-Tutor-Id": str(tutor)} if tutor is not None else {}
        prefix = "/hooked" if hooked else ""
        return self.http.patch(f"{prefix}/api/session-requests/tutor/{request_id}", json=body,
                               headers=headers)

    def settled(self) -> str:
        """The transaction status the endpoint left its connection in."""
        return self.wiring.ended.get(timeout=10)


@pytest.fixture
def api(served: Served, db_url: str) -> Iterator[Api]:
    served.wiring.db_url = db_url
    served.wiring.options = None
    served.wiring.after_snapshot = None
    served.wiring.hook = None
    with httpx.Client(base_url=served.base_url, timeout=30) as http:
        yield Api(http, served.wiring)
    while not served.wiring.ended.empty():  # connections of requests a test did not look at
        served.wiring.ended.get_nowait()


def body_bytes(body: dict[str, Any]) -> bytes:
    """The bytes FastAPI answers a dict with (the old endpoint returned a dict)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def assert_answer(response: httpx.Response, status: int, body: dict[str, Any]) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == body_bytes(body), response.text  # keys in the old order, byte for byte


def refused(conn: Conn, request: int, tutor: int) -> AstegniError:
    """What the sync API raises accepting the request (on an autocommit connection: nothing written)."""
    with pytest.raises(AstegniError) as error:
        astegni.accept(conn, request, tutor_id=tutor)
    return error.value


def two_dates(conn: Conn) -> list[str]:
    year = next_year(conn)
    return [f"{year}-05-04", f"{year}-05-06"]


def test_an_acceptance_answers_the_old_body_and_is_committed(api: Api, conn: Conn) -> None:
    f = Factory(conn)
    tutor = f.tutor()
    user, _ = f.student()
    request = f.request(tutor, user, schedule_type="specific_dates", specific_dates=two_dates(conn))

    response = api.patch(request, tutor, {"status": "accepted"})

    assert api.settled() == "IDLE"
    row = request_row(conn, request)  # another connection sees it: the router committed
    assert row["status"] == "accepted" and row["responded_at"].tzinfo is None
    course = scalar(conn, "SELECT id FROM enrolled_courses WHERE tutor_id = %s", tutor)
    assert_answer(response, 200, {
        "success": True,
        "message": f"{ACCEPTED} (2 sessions)",
        "request_id": request,
        "status": "accepted",
        "responded_at": row["responded_at"].isoformat(),  # the naive column's isoformat, no offset
        "agreed_price": 25.0,
        "sessions_created": 2,
        "enrolled_course_id": course,
    })
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s", request) == 2
    # Its responded_at is the database's stamp, UTC wall-clock time.
    now = scalar(conn, "SELECT now() AT TIME ZONE 'UTC'")
    assert dt.timedelta(0) <= now - dt.datetime.fromisoformat(response.json()["responded_at"]) < dt.timedelta(
        minutes=1)


def test_an_acceptance_takes_the_tutors_edits(api: Api, conn: Conn) -> None:
    f = Factory(conn)
    tutor = f.tutor()
    request = f.request(tutor, f.student()[0], schedule_type="recurring", days=["Monday", "Thursday"])
    dates = [r.session_date for r in astegni.preview(conn, request)]
    moves = {dates[2].isoformat(): {"start_time": "15:00", "end_time": "16:30"}}
    shown = astegni.preview(conn, request, without=[dates[0]],
                            moves={dates[2]: (dt.time(15), dt.time(16, 30))})

    response = api.patch(request, tutor, {"status": "accepted", "without": [dates[0].isoformat()],
                                          "moves": moves})

    assert api.settled() == "IDLE"
    assert response.status_code == 200, response.text
    assert response.json()["sessions_created"] == len(dates) - 1
    assert conn.execute("SELECT session_date, starts_at, ends_at FROM sessions WHERE request_id = %s"
                        " ORDER BY 1", (request,)).fetchall() == [
        (r.session_date, r.starts_at, r.ends_at) for r in shown if r.outcome == "create"]
    assert scalar(conn, "SELECT reason FROM skipped_occurrences WHERE request_id = %s AND session_date = %s",
                  request, dates[0]) == "tutor_edit"


def test_an_edit_that_cannot_apply_is_422_naming_it(api: Api, conn: Conn) -> None:
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=two_dates(conn))
    tutor = request_row(conn, request)["tutor_id"]
    day = two_dates(conn)[0][:-1] + "5"  # between the two dates

    response = api.patch(request, tutor, {"status": "accepted", "without": [day]})

    assert api.settled() == "IDLE"
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == {
        "code": "AS017", "field": "without", "value": day,
        "message": f"request {request}: without {day} is not one of its occurrences"
                   f" ({two_dates(conn)[0]} to {two_dates(conn)[1]})"}
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING


def test_a_zero_price_is_a_price_and_no_schedule_says_so(api: Api, conn: Conn) -> None:
    f = Factory(conn)
    tutor = f.tutor()
    user, _ = f.student()
    request = f.request(tutor, user, package_id=f.package(tutor, rate="0.00"))

    response = api.patch(request, tutor, {"status": "accepted"})

    assert response.status_code == 200, response.text
    # The old handler answered null here (`float(price) if price else None`): 0 is a price.
    assert response.json()["agreed_price"] == 0.0
    assert response.json()["sessions_created"] == 0
    assert response.json()["message"] == f"{ACCEPTED} (0 sessions: the request has no schedule yet)"


def test_a_rejection_answers_the_old_body_and_is_committed(api: Api, conn: Conn) -> None:
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=two_dates(conn))
    tutor = request_row(conn, request)["tutor_id"]

    response = api.patch(request, tutor, {"status": "rejected", "rejected_reason": "Fully booked"})

    assert api.settled() == "IDLE"
    row = request_row(conn, request)
    assert (row["status"], row["rejected_reason"]) == ("rejected", "Fully booked")
    assert_answer(response, 200, {
        "success": True,
        "message": "Session request rejected",
        "request_id": request,
        "status": "rejected",
        "responded_at": row["responded_at"].isoformat(),
    })
    assert written(conn) == NOTHING


def test_an_unknown_request_is_404(api: Api, conn: Conn) -> None:
    tutor = Factory(conn).tutor()

    response = api.patch(2147483647, tutor, {"status": "accepted"})

    assert api.settled() == "IDLE"
    assert_answer(response, 404, {"detail": {
        "code": "AS001", "message": f"tutor {tutor} has no request 2147483647", "field": None,
        "value": None}})


@pytest.mark.parametrize("status", ["accepted", "rejected"])
def test_another_tutors_request_is_404_and_stays_pending(api: Api, conn: Conn, status: str) -> None:
    f = Factory(conn)
    request = f.pending(schedule_type="specific_dates", specific_dates=two_dates(conn))
    other = f.tutor()

    response = api.patch(request, other, {"status": status})

    assert api.settled() == "IDLE"
    assert_answer(response, 404, {"detail": {
        "code": "AS001", "message": f"tutor {other} has no request {request}", "field": None,
        "value": None}})
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING


@pytest.mark.parametrize("status", ["accepted", "rejected"])
def test_an_answered_request_is_409(api: Api, conn: Conn, status: str) -> None:
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=two_dates(conn))
    tutor = request_row(conn, request)["tutor_id"]
    assert api.patch(request, tutor, {"status": "accepted"}).status_code == 200
    assert api.settled() == "IDLE"
    before = written(conn)

    response = api.patch(request, tutor, {"status": status})

    assert api.settled() == "IDLE"
    assert_answer(response, 409, {"detail": {
        "code": "AS002", "message": f"request {request} is already accepted", "field": None,
        "value": None}})
    assert request_row(conn, request)["status"] == "accepted"
    assert written(conn) == before


def test_a_malformed_schedule_is_422_naming_field_and_value(api: Api, conn: Conn) -> None:
    request = Factory(conn).pending(schedule_type="recurring", days=["Monday", "Funday"])
    tutor = request_row(conn, request)["tutor_id"]
    error = refused(conn, request, tutor)

    response = api.patch(request, tutor, {"status": "accepted"})

    assert api.settled() == "IDLE"  # rolled back by the router, not left failed
    assert_answer(response, 422, answer_of(error))
    assert response.json()["detail"] == {
        "code": "AS005", "message": f"request {request}: days 'Funday' is not a weekday", "field": "days",
        "value": "Funday"}
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING


def test_a_rejected_reason_longer_than_2000_characters_is_422_quoting_only_its_start(
        api: Api, conn: Conn) -> None:
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=two_dates(conn))
    tutor = request_row(conn, request)["tutor_id"]

    response = api.patch(request, tutor, {"status": "rejected", "rejected_reason": "Sorry. " * 300})

    assert api.settled() == "IDLE"
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == {
        "code": "AS005", "message": "rejected_reason 'Sorry. Sorry. Sorry. Sorry. Sorry. Sorry...' is 2100"
        " characters long, more than 2000", "field": "rejected_reason",
        "value": "Sorry. Sorry. Sorry. Sorry. Sorry. Sorry..."}
    assert request_row(conn, request)["status"] == "pending"
    assert api.patch(request, tutor, {"status": "rejected", "rejected_reason": "x" * 2000}).status_code == 200
    assert api.settled() == "IDLE"
    assert request_row(conn, request)["rejected_reason"] == "x" * 2000


def test_a_clash_is_409_and_stays_pending(api: Api, conn: Conn) -> None:
    f = Factory(conn)
    tutor = f.tutor()
    day = dt.date(next_year(conn), 5, 4)
    clash = book(f, tutor, day, dt.time(10), dt.time(11))
    user, _ = f.student()
    request = f.request(tutor, user, schedule_type="specific_dates", specific_dates=[day.isoformat()],
                        start_time=dt.time(10, 30), end_time=dt.time(11, 30))
    error = refused(conn, request, tutor)
    before = written(conn)

    response = api.patch(request, tutor, {"status": "accepted"})

    assert api.settled() == "IDLE"
    assert_answer(response, 409, answer_of(error))
    detail = response.json()["detail"]
    assert detail["code"] == "AS007" and f"session {clash}" in detail["message"]
    assert "PL/pgSQL" not in response.text
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == before


def test_another_tutors_package_is_422_and_stays_pending(api: Api, conn: Conn) -> None:
    f = Factory(conn)
    tutor, other = f.tutor(), f.tutor()
    package = f.package(other)
    user, _ = f.student()
    request = f.request(tutor, user, package_id=package, schedule_type="specific_dates",
                        specific_dates=two_dates(conn))
    error = refused(conn, request, tutor)

    response = api.patch(request, tutor, {"status": "accepted"})

    assert api.settled() == "IDLE"
    assert_answer(response, 422, answer_of(error))
    detail = response.json()["detail"]
    assert (detail["code"], detail["field"], detail["value"]) == ("AS012", "package_id", str(package))
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING


@pytest.mark.parametrize(("path", "body"), [
    ("{request}", {"status": "maybe"}),
    ("{request}", {}),
    ("{request}", {"status": "rejected", "rejected_reason": 5}),
    ("{request}", {"status": "rejected", "without": ["2027-01-11"]}),  # edits are an acceptance's
    ("{request}", {"status": "accepted", "moves": {"2027-01-11": {"start_time": "15:00"}}}),
    ("{request}", {"status": "accepted", "without": ["next Monday"]}),
    ("not-a-number", {"status": "accepted"}),
    ("2147483648", {"status": "accepted"}),  # past PostgreSQL's integer: refused before the database
])
def test_a_bad_body_or_id_is_fastapis_422(api: Api, conn: Conn, path: str, body: dict[str, Any]) -> None:
    request = Factory(conn).pending()
    tutor = request_row(conn, request)["tutor_id"]

    response = api.patch(path.format(request=request), tutor, body)

    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)  # FastAPI's validation errors
    assert request_row(conn, request)["status"] == "pending"


def test_another_database_error_is_a_500_without_its_context(api: Api, conn: Conn) -> None:
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=two_dates(conn))
    tutor = request_row(conn, request)["tutor_id"]
    api.wiring.options = "-c default_transaction_read_only=on"

    response = api.patch(request, tutor, {"status": "accepted"})

    assert api.settled() == "IDLE"
    assert_answer(response, 500, {"detail": {
        "code": "25006", "message": "Internal database error", "field": None, "value": None}})
    assert request_row(conn, request)["status"] == "pending"


def test_a_serialization_failure_is_503(api: Api, conn: Conn) -> None:
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=two_dates(conn))
    tutor = request_row(conn, request)["tutor_id"]
    # The endpoint's transaction has its snapshot; then another one changes the request and commits.
    api.wiring.after_snapshot = lambda: conn.execute(
        "UPDATE requested_sessions SET message = 'changed meanwhile' WHERE id = %s", (request,))

    response = api.patch(request, tutor, {"status": "accepted"})

    assert api.settled() == "IDLE"
    assert_answer(response, 503, {"detail": {
        "code": "40001", "message": "The database was busy with a concurrent change; try again",
        "field": None, "value": None}})
    assert response.headers["retry-after"] == "1"
    row = request_row(conn, request)
    assert (row["status"], row["message"]) == ("pending", "changed meanwhile")
    assert written(conn) == NOTHING


def test_a_tutor_locked_past_the_lock_timeout_is_503(api: Api, conn: Conn, db_url: str) -> None:
    """Another transaction holds the tutor's lock (an acceptance of the same tutor, left open): the
    PATCH waits the rule's lock_timeout, then answers 503 with Retry-After, and writes nothing."""
    f = Factory(conn)
    tutor = f.tutor()
    held = f.request(tutor, f.student()[0], schedule_type="specific_dates", specific_dates=two_dates(conn))
    request = f.request(tutor, f.student()[0], schedule_type="specific_dates", specific_dates=two_dates(conn))
    with psycopg.connect(db_url) as other:
        astegni.accept(other, held)  # uncommitted: the tutor's lock is held
        response = api.patch(request, tutor, {"status": "accepted"})
        other.rollback()

    assert api.settled() == "IDLE"
    assert response.status_code == 503, response.text
    assert response.json()["detail"]["code"] == "55P03"
    assert response.headers["retry-after"] == "1"
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING


@pytest.mark.parametrize("hooked", [False, True])
def test_a_user_who_is_not_a_tutor_gets_the_old_403(api: Api, conn: Conn, hooked: bool) -> None:
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=two_dates(conn))

    response = api.patch(request, None, {"status": "accepted"}, hooked=hooked)  # the dependency gave None

    assert_answer(response, 403, {"detail": "Only tutors can accept/reject session requests"})
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING


def test_the_fastapi_extras_floor_is_the_version_ci_tests() -> None:
    """The extra admits the live app's pins, and CI runs these tests on exactly them (.ci/run)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["fastapi"] == ["fastapi>=0.104,<1"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "'fastapi==0.104.1' 'pydantic==2.4.2'" in ci
    for module in ("tests/test_fastapi.py", "tests/test_fastapi_handlers.py", "tests/test_app_handler.py"):
        assert module in ci


def test_every_refusal_of_the_rule_has_an_http_status() -> None:
    assert set(HTTP_STATUS) == set(BY_SQLSTATE)
    assert all(400 <= status < 500 for status in HTTP_STATUS.values())


def test_the_database_work_leaves_the_event_loop_free(api: Api, conn: Conn, db_url: str) -> None:
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=two_dates(conn))
    tutor = request_row(conn, request)["tutor_id"]
    with psycopg.connect(db_url) as locker, ThreadPoolExecutor(1) as pool:
        locker.execute("SELECT FROM requested_sessions WHERE id = %s FOR UPDATE", (request,))
        patching = pool.submit(api.patch, request, tutor, {"status": "accepted"})
        deadline = time.monotonic() + 10
        while not scalar(conn, "SELECT count(*) FROM pg_stat_activity"
                               " WHERE datname = current_database() AND wait_event_type = 'Lock'"):
            assert time.monotonic() < deadline, "the PATCH never waited for the lock"
            time.sleep(0.02)
        # The PATCH waits in the database; the app still answers.
        started = time.monotonic()
        assert api.http.get("/ping", timeout=5).json() == {"pong": True}
        assert time.monotonic() - started < 5
        assert not patching.done()
        locker.commit()
        response = patching.result(timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["sessions_created"] == 2
    assert api.settled() == "IDLE"


# The transaction's id as xmin shows it on the rows it wrote (32 bits; pg_current_xact_id has the epoch).
XACT = "SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text"
BOOKINGS = doc_bookings()
ACCEPT = {"status": "accepted"}


def statement_hook(kind: str, seen: list[tuple[Acceptance, str]], *statements: str,
                   then: Callable[[], None] = lambda: None, swallow: bool = False) -> Callable[..., Any]:
    """A hook of the app's kind (a function, or a coroutine function for the async app): records the
    acceptance and its transaction's id, runs each statement with the request's id, then `then()`.
    With `swallow`, a statement's database error is caught and the hook returns as if it had worked."""
    if kind == "sync":
        def hook(conn: Conn, acceptance: Acceptance) -> None:
            row = conn.execute(XACT).fetchone()
            assert row is not None
            seen.append((acceptance, row[0]))
            for statement in statements:
                try:
                    conn.execute(statement, {"request_id": acceptance.request_id})
                except psycopg.Error:
                    if not swallow:
                        raise
            then()
        return hook

    async def async_hook(conn: psycopg.AsyncConnection[Any], acceptance: Acceptance) -> None:
        row = await (await conn.execute(XACT)).fetchone()
        assert row is not None
        seen.append((acceptance, row[0]))
        for statement in statements:
            try:
                await conn.execute(statement, {"request_id": acceptance.request_id})
            except psycopg.Error:
                if not swallow:
                    raise
        then()
    return async_hook


def bookings(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT user_id, investment_type, investment_name, student_payment_id,"
                        " due_date - investment_date, payment_status, xmin::text"
                        " FROM user_investments ORDER BY id").fetchall()


def test_the_hook_books_in_the_acceptances_own_transaction(api: Api, conn: Conn, served: Served) -> None:
    f = Factory(conn)
    tutor = f.tutor()
    package = f.package(tutor)
    user, student = f.student()
    request = f.request(tutor, user, package_id=package, schedule_type="specific_dates",
                        specific_dates=two_dates(conn))
    seen: list[tuple[Acceptance, str]] = []
    api.wiring.hook = statement_hook(served.kind, seen, BOOKINGS)

    response = api.patch(request, tutor, ACCEPT, hooked=True)

    assert api.settled() == "IDLE"
    assert response.status_code == 200, response.text
    assert response.json()["sessions_created"] == 2
    [(acceptance, xact)] = seen
    assert (acceptance.request_id, acceptance.sessions_created) == (request, 2)  # it ran after the rule
    enrolment = scalar(conn, "SELECT id FROM enrolled_students WHERE tutor_id = %s AND student_id = %s",
                       tutor, student)
    assert bookings(conn) == [
        (user, "booking", f"Booking with tutor (Package ID: {package})", enrolment, 7, "pending", xact)]
    # One transaction: the request's acceptance was written, and committed, by the hook's.
    assert scalar(conn, "SELECT xmin::text FROM requested_sessions WHERE id = %s", request) == xact

    # The same student accepted again with this tutor: the enrolment has its booking, none is added.
    again = f.request(tutor, user, package_id=package, schedule_type="specific_dates",
                      specific_dates=[f"{next_year(conn)}-06-01"])
    assert api.patch(again, tutor, ACCEPT, hooked=True).status_code == 200
    assert api.settled() == "IDLE"
    assert len(bookings(conn)) == 1


def fail(message: str) -> Callable[[], None]:
    def raises() -> None:
        raise RuntimeError(message)
    return raises


def payment_required() -> None:
    raise HTTPException(402, detail="Payment required")


SECRET = "gateway token tok_live_4242"
DIVIDE_BY_ZERO = "SELECT 1 / (%(request_id)s - %(request_id)s)"


@pytest.mark.parametrize(("statements", "then", "swallow", "status", "body"), [
    pytest.param([BOOKINGS], fail(SECRET), False, 500,
                 {"detail": {"code": None, "message": "Internal server error", "field": None, "value": None}},
                 id="raises"),
    pytest.param([BOOKINGS, DIVIDE_BY_ZERO], lambda: None, False, 500,
                 {"detail": {"code": "22012", "message": "Internal database error", "field": None,
                             "value": None}}, id="fails-in-the-database"),
    pytest.param([BOOKINGS, DIVIDE_BY_ZERO], lambda: None, True, 500,
                 {"detail": {"code": None, "message": "Internal server error", "field": None, "value": None}},
                 id="swallows-a-database-error"),
    pytest.param([BOOKINGS], payment_required, False, 402, {"detail": "Payment required"},
                 id="answers-with-its-own-httpexception"),
])
def test_a_hook_that_fails_rolls_the_acceptance_back_whole(
        api: Api, conn: Conn, served: Served, caplog: pytest.LogCaptureFixture, statements: list[str],
        then: Callable[[], None], swallow: bool, status: int, body: dict[str, Any]) -> None:
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=two_dates(conn))
    tutor = request_row(conn, request)["tutor_id"]
    seen: list[tuple[Acceptance, str]] = []
    api.wiring.hook = statement_hook(served.kind, seen, *statements, then=then, swallow=swallow)

    with caplog.at_level(logging.ERROR, logger="astegni.fastapi"):
        response = api.patch(request, tutor, ACCEPT, hooked=True)
        assert api.settled() == "IDLE"

    assert_answer(response, status, body)
    assert seen and seen[0][0].sessions_created == 2  # the rule had made the sessions: rolled back too
    assert SECRET not in response.text and "PL/pgSQL" not in response.text
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING
    assert bookings(conn) == []
    assert scalar(conn, "SELECT count(*) FROM acceptances") == 0
    logged = [r for r in caplog.records if r.name == "astegni.fastapi" and r.exc_info]
    if status == 500:  # what the client is not told is logged, with the hook's exception
        assert logged and f"request {request}" in logged[0].getMessage()
    else:
        assert not logged


def test_a_hook_of_the_other_kind_is_refused_and_rolled_back(api: Api, conn: Conn, served: Served) -> None:
    """A coroutine function on a sync connection (never run), a plain function on an AsyncConnection
    (it could not have awaited a statement): the acceptance is not committed without its booking."""
    request = Factory(conn).pending(schedule_type="specific_dates", specific_dates=two_dates(conn))
    tutor = request_row(conn, request)["tutor_id"]
    ran: list[Acceptance] = []

    async def coroutine_hook(conn: Any, acceptance: Acceptance) -> None:
        ran.append(acceptance)

    def plain_hook(conn: Any, acceptance: Acceptance) -> None:
        ran.append(acceptance)

    api.wiring.hook = coroutine_hook if served.kind == "sync" else plain_hook

    response = api.patch(request, tutor, ACCEPT, hooked=True)

    assert api.settled() == "IDLE"
    assert_answer(response, 500, {"detail": {
        "code": None, "message": "Internal server error", "field": None, "value": None}})
    assert len(ran) == (0 if served.kind == "sync" else 1)
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING

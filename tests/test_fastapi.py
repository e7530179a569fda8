"""The drop-in PATCH endpoint (astegni.fastapi.router), over HTTP: an app served by uvicorn on 127.0.0.1,
httpx as its client, the real database; once with a sync psycopg Connection, once with an
AsyncConnection.

The test app's connection dependency never commits: it closes the connection, so whatever another
connection sees was committed by the router itself, and it reports the transaction's status when the
endpoint is done with it (IDLE: the router committed or rolled back, leaving nothing open).
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI, Header
from psycopg import IsolationLevel

import astegni
from astegni.errors import AstegniError
from astegni.fastapi import router
from tests.support import NOTHING, Factory, book, next_year, request_row, scalar, written

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

    connection = sync_connection if kind == "sync" else async_connection
    app.include_router(router(tutor_id=current_tutor, connection=connection))

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"pong": True}

    return app


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free port of 127.0.0.1; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


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

    def patch(self, request_id: int | str, tutor: int | None, body: dict[str, Any]) -> httpx.Response:
        headers = {"X-Tutor-Id": str(tutor)} if tutor is not None else {}
        return self.http.patch(f"/api/session-requests/tutor/{request_id}", json=body, headers=headers)

    def settled(self) -> str:
        """The transaction status the endpoint left its connection in."""
        return self.wiring.ended.get(timeout=10)


@pytest.fixture
def api(served: Served, db_url: str) -> Iterator[Api]:
    served.wiring.db_url = db_url
    served.wiring.options = None
    served.wiring.after_snapshot = None
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


def refusal(error: AstegniError) -> dict[str, Any]:
    return {"detail": {"code": error.sqlstate, "message": error.message, "field": error.field,
                       "value": error.value}}


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
    assert_answer(response, 422, refusal(error))
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
    assert_answer(response, 409, refusal(error))
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
    assert_answer(response, 422, refusal(error))
    detail = response.json()["detail"]
    assert (detail["code"], detail["field"], detail["value"]) == ("AS012", "package_id", str(package))
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING


@pytest.mark.parametrize(("path", "body"), [
    ("{request}", {"status": "maybe"}),
    ("{request}", {}),
    ("{request}", {"status": "rejected", "rejected_reason": 5}),
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


def test_without_a_tutor_id_nothing_is_answered_for_any_tutor(api: Api, conn: Conn) -> None:
    request = Factory(conn).pending()

    response = api.patch(request, None, {"status": "accepted"})  # the app's dependency gave None

    assert response.status_code == 500
    assert request_row(conn, request)["status"] == "pending"


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

"""astegni.fastapi.install_exception_handlers, over HTTP: the app's own endpoints, written as the live
app's tutor_sessions_endpoints.py writes them (sync psycopg in `async def`, a database error wrapped in
`HTTPException(500, f"Database error: {e}")`), or letting the error through (psycopg, SQLAlchemy, an
astegni call), on the real database. The app has an HTTPException handler of its own, installed first:
what is not the rule's refusal still goes to it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from psycopg import sql
from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

import astegni
from astegni.fastapi import install_exception_handlers
from tests.asgi import serving
from tests.support import (
    APP_CREATE_SESSION,
    APP_RESCHEDULE,
    Factory,
    answer_of,
    book,
    next_year,
    refusal,
    scalar,
)

Conn = psycopg.Connection[Any]


@dataclass
class Target:
    """The database the served app's endpoints use; each test sets it afresh."""

    db_url: str = ""
    engine: Engine | None = None


class NewSession(BaseModel):
    """The app's SessionCreate, the fields its statement needs."""

    enrolled_courses_id: int
    session_date: dt.date
    start_time: dt.time
    end_time: dt.time


class Move(BaseModel):
    """The app's SessionUpdate, the fields a reschedule sends."""

    session_date: dt.date
    start_time: dt.time
    end_time: dt.time


def create_params(body: NewSession) -> tuple[Any, ...]:
    start = dt.datetime.combine(body.session_date, body.start_time)
    end = dt.datetime.combine(body.session_date, body.end_time)
    duration = int((end - start).total_seconds() / 60)
    return (body.enrolled_courses_id, body.session_date, body.start_time, body.end_time, duration,
            json.dumps(["Revision"]), "online", None, "medium", False, False, 15)


def make_app(target: Target) -> FastAPI:
    app = FastAPI()

    @app.exception_handler(StarletteHTTPException)
    async def apps_own(request: Request, error: StarletteHTTPException) -> Response:
        response = await http_exception_handler(request, error)
        response.headers["X-App-Handler"] = "yes"
        return response

    @app.post("/api/tutor/sessions")
    async def create_session(body: NewSession) -> dict[str, Any]:
        conn = psycopg.connect(target.db_url)
        try:
            with conn.cursor() as cur:
                cur.execute(APP_CREATE_SESSION, create_params(body))
                row = cur.fetchone()
                assert row is not None
                conn.commit()
                return {"success": True, "message": "Session created successfully", "session_id": row[0]}
        except HTTPException:
            raise
        except psycopg.Error as e:
            conn.rollback()
            # `from None` hides the cause from a traceback, not from the handler (__context__ stays).
            raise HTTPException(status_code=500, detail=f"Database error: {e!s}") from None
        finally:
            conn.close()

    @app.put("/api/tutor/sessions/{session_id}")
    async def update_session(session_id: int, body: Move) -> dict[str, Any]:
        conn = psycopg.connect(target.db_url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT id FROM sessions WHERE id = %s", (session_id,))
                if cur.fetchone() is None:
                    raise HTTPException(status_code=404, detail="Session not found")
                cur.execute(APP_RESCHEDULE, (body.session_date, body.start_time, body.end_time, session_id))
                row = cur.fetchone()
                assert row is not None
                conn.commit()
                return {"success": True, "session_id": row[0], "status": row[1]}
        except HTTPException:
            raise
        except psycopg.Error as e:
            conn.rollback()
            raise HTTPException(status_code=500, detail=f"Database error: {e!s}")  # noqa: B904 (the app's form)
        finally:
            conn.close()

    @app.post("/unwrapped/sessions")
    def create_unwrapped(body: NewSession) -> dict[str, Any]:
        with psycopg.connect(target.db_url) as conn:
            row = conn.execute(APP_CREATE_SESSION, create_params(body)).fetchone()
        assert row is not None
        return {"session_id": row[0]}

    @app.post("/sqlalchemy/sessions")
    def create_with_sqlalchemy(body: NewSession) -> dict[str, Any]:
        assert target.engine is not None
        with target.engine.begin() as conn:
            row = conn.exec_driver_sql(APP_CREATE_SESSION, create_params(body)).one()
        return {"session_id": row[0]}

    @app.post("/api/series/{request_id}/end")
    def end_series(request_id: int, last_date: dt.date) -> dict[str, Any]:
        with psycopg.connect(target.db_url) as conn:
            astegni.end_series(conn, request_id, last_date)
        return {"success": True}

    @app.get("/unwrapped/raise/{sqlstate}")
    def raise_sqlstate(sqlstate: str) -> dict[str, Any]:
        with psycopg.connect(target.db_url) as conn:
            conn.execute(sql.SQL("DO $$ BEGIN RAISE EXCEPTION 'refused by a later rule'"
                                 " USING ERRCODE = {}; END $$").format(sql.Literal(sqlstate)))
        return {}

    @app.get("/wrapped/division")
    async def wrapped_division() -> dict[str, Any]:
        with psycopg.connect(target.db_url) as conn:
            try:
                conn.execute("SELECT 1 / 0")
            except psycopg.Error as e:
                raise HTTPException(status_code=500, detail=f"Database error: {e!s}") from e
        return {}

    @app.get("/unwrapped/division")
    def unwrapped_division() -> dict[str, Any]:
        with psycopg.connect(target.db_url) as conn:
            conn.execute("SELECT 1 / 0")
        return {}

    install_exception_handlers(app)
    return app


@dataclass
class Served:
    base_url: str
    target: Target


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    target = Target()
    with serving(make_app(target)) as base_url:
        yield Served(base_url, target)


@pytest.fixture
def http(served: Served, db_url: str, engine: Engine) -> Iterator[httpx.Client]:
    served.target.db_url, served.target.engine = db_url, engine
    with httpx.Client(base_url=served.base_url, timeout=30) as client:
        yield client


@dataclass
class Courses:
    tutor: int
    day: dt.date
    taken: int  # a session 10:00-11:00, of one course
    other_course: int  # another course of the tutor, with its session 12:00-13:00
    other_session: int


@pytest.fixture
def courses(conn: Conn) -> Courses:
    f = Factory(conn)
    tutor = f.tutor()
    day = dt.date(next_year(conn), 5, 4)
    taken = book(f, tutor, day, dt.time(10), dt.time(11))
    other_session = book(f, tutor, day, dt.time(12), dt.time(13))
    other_course = scalar(conn, "SELECT enrolled_courses_id FROM sessions WHERE id = %s", other_session)
    return Courses(tutor, day, taken, other_course, other_session)


def clashing(courses: Courses) -> dict[str, Any]:
    """A new session of the other course over the taken one."""
    return {"enrolled_courses_id": courses.other_course, "session_date": courses.day.isoformat(),
            "start_time": "10:30:00", "end_time": "11:30:00"}


def assert_clash(response: httpx.Response, courses: Courses) -> None:
    """The router's answer to a clash: 409, its body, nothing of PostgreSQL's context."""
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert list(detail) == ["code", "message", "field", "value"]
    assert detail["code"] == "AS007" and f"clashes with session {courses.taken}" in detail["message"]
    for internal in ("PL/pgSQL", "CONTEXT", "Database error", "astegni_raise"):
        assert internal not in response.text


def sessions_of(conn: Conn, course: int) -> int:
    return int(scalar(conn, "SELECT count(*) FROM sessions WHERE enrolled_courses_id = %s", course))


@pytest.mark.parametrize("path", ["/api/tutor/sessions", "/unwrapped/sessions", "/sqlalchemy/sessions"])
def test_a_session_created_into_a_clash_is_the_routers_409(http: httpx.Client, conn: Conn, courses: Courses,
                                                          path: str) -> None:
    response = http.post(path, json=clashing(courses))

    assert_clash(response, courses)
    assert "x-app-handler" not in response.headers
    assert sessions_of(conn, courses.other_course) == 1


def test_a_session_rescheduled_into_a_clash_is_the_routers_409(http: httpx.Client, conn: Conn,
                                                              courses: Courses) -> None:
    move = (courses.day, dt.time(10, 15), dt.time(11), courses.other_session)
    expected = answer_of(refusal(conn, APP_RESCHEDULE, *move))  # the same refusal, nothing written

    response = http.put(f"/api/tutor/sessions/{courses.other_session}", json={
        "session_date": courses.day.isoformat(), "start_time": "10:15:00", "end_time": "11:00:00"})

    assert_clash(response, courses)
    assert response.json() == expected
    assert scalar(conn, "SELECT start_time FROM sessions WHERE id = %s", courses.other_session) == dt.time(12)


def test_what_the_app_answers_itself_is_left_to_it(http: httpx.Client, courses: Courses) -> None:
    moved = http.put(f"/api/tutor/sessions/{courses.other_session}", json={
        "session_date": courses.day.isoformat(), "start_time": "14:00:00", "end_time": "15:00:00"})
    assert moved.status_code == 200, moved.text

    missing = http.put("/api/tutor/sessions/2147483647", json={
        "session_date": courses.day.isoformat(), "start_time": "14:00:00", "end_time": "15:00:00"})
    assert (missing.status_code, missing.json()) == (404, {"detail": "Session not found"})
    assert missing.headers["x-app-handler"] == "yes"

    # Another database error, wrapped by the endpoint: the app's own answer, through its own handler.
    wrapped = http.get("/wrapped/division")
    assert (wrapped.status_code, wrapped.json()) == (500, {"detail": "Database error: division by zero"})
    assert wrapped.headers["x-app-handler"] == "yes"

    # Let through: FastAPI's own 500, as with no handler installed.
    raw = http.get("/unwrapped/division")
    assert (raw.status_code, raw.text) == (500, "Internal Server Error")


def test_an_astegni_refusal_in_the_apps_endpoint(http: httpx.Client, conn: Conn) -> None:
    request = Factory(conn).pending(schedule_type="recurring", days=["Monday"])

    response = http.post(f"/api/series/{request}/end", params={"last_date": f"{next_year(conn)}-06-01"})

    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert (detail["code"], detail["field"]) == ("AS014", None)
    assert str(request) in detail["message"]


def test_a_tutor_locked_past_the_lock_timeout_is_503(http: httpx.Client, conn: Conn, db_url: str,
                                                    courses: Courses) -> None:
    f = Factory(conn)
    held = f.request(courses.tutor, f.student()[0], schedule_type="specific_dates",
                     specific_dates=[f"{next_year(conn)}-07-01"])
    free_slot = {**clashing(courses), "start_time": "16:00:00", "end_time": "17:00:00"}
    with psycopg.connect(db_url) as other:
        astegni.accept(other, held)  # uncommitted: the tutor's lock is held
        response = http.post("/api/tutor/sessions", json=free_slot)
        other.rollback()

    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"detail": {
        "code": "55P03", "message": "The database was busy with a concurrent change; try again",
        "field": None, "value": None}}
    assert sessions_of(conn, courses.other_course) == 1


def test_a_refusal_of_a_later_rule_is_a_409_and_another_class_untouched(http: httpx.Client) -> None:
    """A database migrated by a later version raises AS0xx codes this one does not know."""
    later = http.get("/unwrapped/raise/AS099")
    assert (later.status_code, later.json()) == (409, {"detail": {
        "code": "AS099", "message": "refused by a later rule", "field": None, "value": None}})

    other = http.get("/unwrapped/raise/AS100")
    assert (other.status_code, other.text) == (500, "Internal Server Error")

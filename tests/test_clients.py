"""Issue 2, every client gets the same result, and the thin Python layer's contract."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

import astegni
from astegni.errors import AlreadyResponded, RequestNotFound
from astegni.models import RequestedSession
from astegni.models import Session as SessionRow
from tests.support import NOTHING, Factory, hour_from, request_row, sessions, slot_ahead, written


def accept_with_psycopg(conn: psycopg.Connection, engine: Engine, db_url: str, request: int) -> None:
    astegni.accept(conn, request)


def accept_with_orm_update(conn: psycopg.Connection, engine: Engine, db_url: str,
                           request: int) -> None:
    with Session(engine) as session:
        session.execute(
            update(RequestedSession).where(RequestedSession.id == request).values(status="accepted"))
        session.commit()


def accept_with_orm_attribute(conn: psycopg.Connection, engine: Engine, db_url: str,
                              request: int) -> None:
    with Session(engine) as session:
        row = session.get(RequestedSession, request)
        assert row is not None
        row.status = "accepted"
        session.flush()
        # The flush fired the rule: its sessions are visible in the same transaction.
        made = session.scalar(
            select(func.count()).select_from(SessionRow).where(SessionRow.request_id == request))
        assert made == 24
        session.commit()


def accept_with_psql(conn: psycopg.Connection, engine: Engine, db_url: str, request: int) -> None:
    subprocess.run(
        ["psql", db_url, "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-c", f"UPDATE requested_sessions SET status = 'accepted' WHERE id = {request}"],
        check=True, capture_output=True, text=True)


CLIENTS: list[Callable[[psycopg.Connection, Engine, str, int], None]] = [
    accept_with_psycopg, accept_with_orm_update, accept_with_orm_attribute, accept_with_psql]


def test_every_client_makes_identical_sessions(conn, engine, db_url):
    zone = "Europe/Berlin"
    f = Factory(conn)
    start, end = hour_from(slot_ahead(conn, zone, 12))
    requests = []
    for _ in CLIENTS:
        tutor = f.tutor(zone)
        user, _ = f.student()
        requests.append(f.request(tutor, user, package_id=f.package(tutor), message="Geometry",
                                  schedule_type="recurring", days=["Monday", " wed", "FRI"],
                                  start_time=start, end_time=end))
    for client, request in zip(CLIENTS, requests, strict=True):
        client(conn, engine, db_url, request)
    made = [sessions(conn, request) for request in requests]
    assert len(made[0]) == 24
    assert made[0][0][6] == ["Geometry"]
    assert all(rows == made[0] for rows in made[1:])
    assert {request_row(conn, r)["status"] for r in requests} == {"accepted"}
    assert conn.execute("SELECT count(*) FROM enrolled_students").fetchall() == [(len(CLIENTS),)]


def simple_request(conn: psycopg.Connection, **fields: object) -> int:
    f = Factory(conn)
    tutor = f.tutor()
    user, _ = f.student()
    fields.setdefault("package_id", f.package(tutor))
    return f.request(tutor, user, schedule_type="recurring", days=["Tue"], **fields)


def test_accept_through_a_sqlalchemy_connection(conn, engine):
    request = simple_request(conn)
    with engine.connect() as connection:
        result = astegni.accept(connection, request)
        connection.commit()
    assert (result.request_id, result.status, result.sessions_created) == (request, "accepted", 8)
    assert len(sessions(conn, request)) == 8


def test_accept_through_an_orm_session(conn, engine):
    request = simple_request(conn)
    with Session(engine) as session:
        row = session.get(RequestedSession, request)
        assert row is not None and row.status == "pending"
        result = astegni.accept(session, request)
        # The layer expires what the rule changed behind the identity map.
        # The app's column is naive: UTC wall-clock time.
        assert (row.status, row.responded_at) == (
            "accepted", result.responded_at.astimezone(dt.UTC).replace(tzinfo=None))
        assert len(row.sessions) == result.sessions_created == 8
        session.commit()
    assert len(sessions(conn, request)) == 8


def test_as_response_is_the_old_endpoints_body(conn):
    request = simple_request(conn)
    result = astegni.accept(conn, request)
    body = result.as_response()
    assert set(body) == {"success", "message", "request_id", "status", "responded_at",
                         "agreed_price", "sessions_created", "enrolled_course_id"}
    assert body["success"] is True
    assert isinstance(body["message"], str) and body["message"]
    assert body["request_id"] == request and type(body["request_id"]) is int
    assert body["status"] == "accepted"
    # As the app's naive column holds it: UTC wall-clock time, no offset.
    assert dt.datetime.fromisoformat(body["responded_at"]) == result.responded_at.astimezone(
        dt.UTC).replace(tzinfo=None)
    assert body["agreed_price"] == 25.0 and type(body["agreed_price"]) is float
    assert body["sessions_created"] == 8 and type(body["sessions_created"]) is int
    assert type(body["enrolled_course_id"]) is int
    assert json.loads(json.dumps(body)) == body


def test_as_response_without_a_price(conn):
    request = simple_request(conn)
    conn.execute("UPDATE tutor_packages SET hourly_rate = NULL"
                 " WHERE id = (SELECT package_id FROM requested_sessions WHERE id = %s)", (request,))
    result = astegni.accept(conn, request)
    assert result.agreed_price is None
    assert result.as_response()["agreed_price"] is None


def test_acceptance_fields_and_types(conn):
    request = simple_request(conn, counter_offer_price=Decimal("0"))
    result = astegni.accept(conn, request)
    assert result.agreed_price == Decimal("0") and isinstance(result.agreed_price, Decimal)
    assert isinstance(result.responded_at, dt.datetime) and result.responded_at.tzinfo is not None
    [[course]] = conn.execute("SELECT id FROM enrolled_courses").fetchall()
    assert result.enrolled_course_id == course
    assert result.skipped == ()


def test_the_layer_does_not_commit(conn, db_url):
    request = simple_request(conn)
    with psycopg.connect(db_url) as caller:
        result = astegni.accept(caller, request)
        assert result.sessions_created == 8
        caller.rollback()
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING


def test_the_layer_does_not_commit_a_sqlalchemy_transaction(conn, engine):
    request = simple_request(conn)
    with engine.connect() as connection:
        astegni.accept(connection, request)
        connection.rollback()
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING


def test_another_tutors_request_is_not_found(conn):
    f = Factory(conn)
    other = f.tutor()
    request = simple_request(conn)
    with pytest.raises(RequestNotFound) as caught:
        astegni.accept(conn, request, tutor_id=other)
    assert (caught.value.request_id, caught.value.detail["tutor_id"]) == (request, other)
    with pytest.raises(RequestNotFound):
        astegni.reject(conn, request, tutor_id=other)
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING
    owner = request_row(conn, request)["tutor_id"]
    assert astegni.accept(conn, request, tutor_id=owner).status == "accepted"


def test_unknown_request_is_not_found(conn):
    with pytest.raises(RequestNotFound) as caught:
        astegni.accept(conn, 987654)
    assert caught.value.request_id == 987654


@pytest.mark.parametrize(("first", "second"), [
    (astegni.accept, astegni.accept), (astegni.accept, astegni.reject),
    (astegni.reject, astegni.accept), (astegni.reject, astegni.reject),
])
def test_responding_twice_is_already_responded(conn, first, second):
    request = simple_request(conn)
    first(conn, request)
    before = (request_row(conn, request), written(conn))
    with pytest.raises(AlreadyResponded) as caught:
        second(conn, request)
    assert caught.value.request_id == request
    assert (request_row(conn, request), written(conn)) == before


def test_reject_with_a_reason(conn):
    request = simple_request(conn)
    with conn.transaction():
        [[now]] = conn.execute("SELECT now()").fetchall()
        rejection = astegni.reject(conn, request, reason="Fully booked")
    assert rejection == astegni.Rejection(request_id=request, status="rejected", responded_at=now,
                                          rejected_reason="Fully booked")
    row = request_row(conn, request)  # the app's naive columns hold UTC wall-clock time
    assert (row["status"], row["rejected_reason"], row["rejected_at"]) == (
        "rejected", "Fully booked", now.astimezone(dt.UTC).replace(tzinfo=None))
    assert written(conn) == NOTHING

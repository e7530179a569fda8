"""docs/adopting.md's two ways of changing the app's PATCH handler — the drop-in router with the
booking as its hook, and the handler edited — run verbatim, with its app.py line, in a module shaped
like the live app's session_request_endpoints.py (what it defines before the handler: `router`,
`get_current_user`, `SessionRequestUpdate`, `DATABASE_URL`, the two-factor check), served over HTTP on
an adopted live copy whose tables and functions belong to the app's login, as astegni_user owns the
real ones. Then the doc's rights: a login granted only astegni_app needs exactly its grants."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import httpx
import psycopg
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.security import OAuth2PasswordBearer
from psycopg import sql
from pydantic import BaseModel

from astegni.testing import fresh_database
from tests.asgi import serving
from tests.conftest import LOGIN_PASSWORD, admin, as_login
from tests.support import ADOPTING, doc_block, request_row, scalar, url_for_database

BOOKING = "# session_request_endpoints.py: the booking statement"
ALTERNATIVES = {
    "drop-in": "# session_request_endpoints.py: in place of update_session_request_status",
    "edited": "# session_request_endpoints.py: update_session_request_status, edited",
}
APP_PY = "# app.py: after `app = FastAPI(...)` and the app's own exception handlers"
RIGHTS = "-- the booking statement's rights, for a login granted only astegni_app"

# Every object of the app's schema that a superuser made (the copy, the migrations) given to a login,
# as the live app's tables belong to astegni_user; the extension's own objects stay the server's.
TO_OWNER = """
SELECT format('ALTER %%s %%s OWNER TO %%I', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
              ELSE 'TABLE' END, c.oid::regclass, %(owner)s::text)
FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')
  AND NOT EXISTS (SELECT FROM pg_depend AS d  -- a sequence owned by a column follows its table
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))
UNION ALL
SELECT format('ALTER ROUTINE %%s OWNER TO %%I', p.oid::regprocedure, %(owner)s::text)
FROM pg_proc AS p
WHERE p.pronamespace = 'public'::regnamespace AND p.prokind <> 'a'
  AND NOT EXISTS (SELECT FROM pg_depend AS d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT format('ALTER TYPE %%s OWNER TO %%I', t.oid::regtype, %(owner)s::text)
FROM pg_type AS t JOIN pg_class AS c ON c.oid = t.typrelid AND c.relkind = 'c'
WHERE t.typnamespace = 'public'::regnamespace
"""

# The live copy's (tests/data/astegni_copy.sql): users 1 and 2 are tutors 1 and 2, user 4 a student.
TUTOR_1, TUTOR_2, STUDENT = 1, 2, 4
DATES_REQUEST = 12  # tutor 1's, for student 2 (user 5), two dates in 2099, package 1
SHARED_REQUEST = 7  # tutor 2's, a parent's for two children (users 7 and 8), package 3
FUNDAY_REQUEST = 8  # tutor 1's, days ["Funday"]


@dataclass
class Logins:
    owner: str  # owns the app's tables and the rule's functions, as astegni_user does
    app_only: str  # granted astegni_app, owns nothing


@pytest.fixture(scope="module")
def logins_and_template(server_url: str, adopted: str) -> Iterator[tuple[Logins, str]]:
    """The two logins, and a template: the adopted live copy, owned by the owner login."""
    suffix = uuid.uuid4().hex[:8]
    logins = Logins(owner=f"astg_user_{suffix}", app_only=f"astg_web_{suffix}")
    template = f"astegni_owned_{suffix}"
    owner, app_only = sql.Identifier(logins.owner), sql.Identifier(logins.app_only)
    with admin(server_url) as conn:
        password = sql.Literal(LOGIN_PASSWORD)
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(owner, password))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE astegni_app").format(app_only,
                                                                                        password))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(template),
                                                                     sql.Identifier(adopted)))
    try:
        with psycopg.connect(url_for_database(server_url, template), autocommit=True) as conn:
            for (ddl,) in conn.execute(TO_OWNER, {"owner": logins.owner}).fetchall():
                conn.execute(ddl)
        yield logins, template
    finally:
        with admin(server_url) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(template)))
            conn.execute(sql.SQL("DROP ROLE {}, {}").format(owner, app_only))


@pytest.fixture
def live_db(server_url: str, logins_and_template: tuple[Logins, str]) -> Iterator[str]:
    """A fresh copy for this test alone (a superuser's URL: the test looks and grants as one)."""
    with fresh_database(server_url, logins_and_template[1]) as url:
        yield url


@dataclass
class Module:
    """The namespace of session_request_endpoints.py as the doc's blocks find it."""

    names: dict[str, Any]
    two_factor: list[tuple[Any, ...]] = field(default_factory=list)
    users_url: str = ""  # where get_current_user looks the user up: the owner's, whoever the app logs in as


def app_module() -> Module:
    """What the live module defines before its PATCH handler, for the blocks to run in: the real
    get_current_user decodes a JWT; here the bearer token is the user's id, and role_ids are the
    profile ids the app's login endpoint puts in the JWT."""
    module = Module(names={})
    oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")

    async def get_current_user(token: str = Depends(oauth2_scheme)) -> dict[str, Any]:
        with psycopg.connect(module.users_url) as conn:
            row = conn.execute(
                "SELECT u.id, u.roles, (SELECT id FROM tutor_profiles WHERE user_id = u.id),"
                " (SELECT id FROM student_profiles WHERE user_id = u.id) FROM users AS u WHERE u.id = %s",
                (int(token),)).fetchone()
        if row is None:
            raise HTTPException(status_code=401, detail="Could not validate credentials")
        role_ids = {role: str(id_) for role, id_ in (("tutor", row[2]), ("student", row[3])) if id_}
        return {"id": row[0], "roles": row[1] if isinstance(row[1], list) else [], "role_ids": role_ids}

    def require_2fa(user_id: int, role: str, verification_token: Optional[str] = None) -> bool:  # noqa: UP045
        module.two_factor.append((user_id, role, verification_token))
        return True  # tfa_protection's answer for a profile without two-factor authentication

    class SessionRequestUpdate(BaseModel):
        status: Literal["accepted", "rejected"]
        rejected_reason: Optional[str] = None  # noqa: UP045 (the app's spelling)

    module.names.update({
        "APIRouter": APIRouter, "Depends": Depends, "Header": Header, "HTTPException": HTTPException,
        "Optional": Optional, "psycopg": psycopg, "router": APIRouter(tags=["session-requests"]),
        "get_current_user": get_current_user, "SessionRequestUpdate": SessionRequestUpdate,
        "HAS_2FA_PROTECTION": True, "require_2fa": require_2fa, "DATABASE_URL": "",
    })
    return module


@dataclass
class Served:
    alternative: str
    base_url: str
    module: Module


@pytest.fixture(scope="module", params=list(ALTERNATIVES))
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    """The app: app.py's line, then the module with the booking and the alternative, run verbatim."""
    app = FastAPI()
    exec(doc_block(ADOPTING, "python", APP_PY), {"app": app})
    module = app_module()
    exec(doc_block(ADOPTING, "python", BOOKING), module.names)
    exec(doc_block(ADOPTING, "python", ALTERNATIVES[request.param]), module.names)
    app.include_router(module.names["router"])
    with serving(app) as base_url:
        yield Served(request.param, base_url, module)


@dataclass
class Client:
    http: httpx.Client
    module: Module

    def patch(self, request_id: int, user: int, body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {user}", "X-2FA-Token": "token-of-the-day"}
        return self.http.patch(f"/api/session-requests/tutor/{request_id}", json=body, headers=headers)


@pytest.fixture
def client(served: Served, live_db: str, logins_and_template: tuple[Logins, str]) -> Iterator[Client]:
    """The app on this test's copy, logged in as the owner (as the app is)."""
    owner = as_login(live_db, logins_and_template[0].owner)
    served.module.names["DATABASE_URL"] = served.module.users_url = owner
    served.module.two_factor.clear()
    # A new connection per request: after a 500 the app raised through, uvicorn closes the connection,
    # and a kept-alive one reused at that moment would be reset.
    with httpx.Client(base_url=served.base_url, timeout=30,
                      limits=httpx.Limits(max_keepalive_connections=0)) as http:
        yield Client(http, served.module)


ACCEPT = {"status": "accepted"}


def bookings(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """The booking rows the acceptances added (the copy has one of its own, for enrolment 1)."""
    return conn.execute(
        "SELECT ui.user_id, ui.investment_name, ui.payment_status, ui.due_date - ui.investment_date"
        " FROM user_investments AS ui JOIN enrolled_students AS e ON e.id = ui.student_payment_id"
        " WHERE e.id > 2 ORDER BY ui.user_id").fetchall()


def test_an_acceptance_makes_the_sessions_once_and_the_booking(client: Client, live_db: str) -> None:
    response = client.patch(DATES_REQUEST, TUTOR_1, ACCEPT)

    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["success", "message", "request_id", "status", "responded_at", "agreed_price",
                          "sessions_created", "enrolled_course_id"]
    assert (body["request_id"], body["status"], body["agreed_price"]) == (DATES_REQUEST, "accepted", 280.0)
    assert (body["sessions_created"], body["enrolled_course_id"]) == (2, 9)  # course 9: tutor 1's package 1
    assert client.module.two_factor == [(TUTOR_1, "tutor", "token-of-the-day")]
    with psycopg.connect(live_db) as conn:  # committed: another connection sees it all
        assert request_row(conn, DATES_REQUEST)["status"] == "accepted"
        assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s", DATES_REQUEST) == 2
        assert bookings(conn) == [(5, "Booking with tutor (Package ID: 1)", "pending", 7)]

    again = client.patch(DATES_REQUEST, TUTOR_1, ACCEPT)

    assert again.status_code == 409, again.text
    assert again.json()["detail"]["code"] == "AS002"
    with psycopg.connect(live_db) as conn:
        assert len(bookings(conn)) == 1


def test_a_shared_booking_books_each_child(client: Client, live_db: str) -> None:
    response = client.patch(SHARED_REQUEST, TUTOR_2, ACCEPT)

    assert response.status_code == 200, response.text
    assert response.json()["sessions_created"] == 8
    with psycopg.connect(live_db) as conn:
        assert bookings(conn) == [(7, "Booking with tutor (Package ID: 3)", "pending", 7),
                                  (8, "Booking with tutor (Package ID: 3)", "pending", 7)]


def test_refusals_answer_as_the_router_and_write_nothing(client: Client, live_db: str) -> None:
    not_a_tutor = client.patch(DATES_REQUEST, STUDENT, ACCEPT)
    assert (not_a_tutor.status_code, not_a_tutor.json()) == (
        403, {"detail": "Only tutors can accept/reject session requests"})

    another_tutors = client.patch(DATES_REQUEST, TUTOR_2, ACCEPT)
    assert another_tutors.status_code == 404, another_tutors.text
    assert another_tutors.json() == {"detail": {
        "code": "AS001", "message": f"tutor 2 has no request {DATES_REQUEST}", "field": None, "value": None}}

    funday = client.patch(FUNDAY_REQUEST, TUTOR_1, ACCEPT)
    assert funday.status_code == 422, funday.text
    assert funday.json()["detail"] | {"message": ""} == {
        "code": "AS005", "message": "", "field": "days", "value": "Funday"}
    assert "PL/pgSQL" not in funday.text

    with psycopg.connect(live_db) as conn:
        assert [request_row(conn, r)["status"] for r in (DATES_REQUEST, FUNDAY_REQUEST)] == ["pending"] * 2
        assert bookings(conn) == []


def test_a_rejection(client: Client, live_db: str) -> None:
    response = client.patch(DATES_REQUEST, TUTOR_1, {"status": "rejected", "rejected_reason": "Fully booked"})

    assert response.status_code == 200, response.text
    assert list(response.json()) == ["success", "message", "request_id", "status", "responded_at"]
    with psycopg.connect(live_db) as conn:
        row = request_row(conn, DATES_REQUEST)
        assert (row["status"], row["rejected_reason"]) == ("rejected", "Fully booked")
        assert bookings(conn) == []


def test_a_login_granted_only_astegni_app_needs_exactly_the_docs_grants(
        client: Client, live_db: str, logins_and_template: tuple[Logins, str]) -> None:
    login = logins_and_template[0].app_only
    client.module.names["DATABASE_URL"] = as_login(live_db, login)
    text = "\n".join(line for line in doc_block(ADOPTING, "sql", RIGHTS).splitlines()
                     if not line.startswith("--"))
    grants = [statement.strip().replace(':"login"', sql.Identifier(login).as_string())  # psql's -v login
              for statement in text.split(";") if statement.strip()]
    assert len(grants) == 3
    revoke = sql.SQL("REVOKE ALL ON user_investments, tutor_investments_id_seq FROM {}").format(
        sql.Identifier(login))

    with psycopg.connect(live_db, autocommit=True) as conn:
        for left_out in [*range(len(grants)), None]:
            conn.execute(revoke)
            for i, grant in enumerate(grants):
                if i != left_out:
                    conn.execute(grant)
            response = client.patch(DATES_REQUEST, TUTOR_1, ACCEPT)
            if left_out is not None:  # the booking is refused: the acceptance rolled back with it
                assert response.status_code == 500, (grants[left_out], response.text)
                assert "permission denied" not in response.text
                assert request_row(conn, DATES_REQUEST)["status"] == "pending"
                assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s", DATES_REQUEST) == 0
        assert response.status_code == 200, response.text
        assert bookings(conn) == [(5, "Booking with tutor (Package ID: 1)", "pending", 7)]

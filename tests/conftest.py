"""The project's tests run on astegni.testing, the plugin an app's tests use: its server
(ASTEGNI_TEST_DATABASE_URL, else testcontainers when Docker answers and has the image, else an embedded
PostgreSQL), its template migrated once, and a fresh clone per test. The fixtures below name them as the
tests do, and add the project's own: empty and baseline databases, the live copy, logins."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import Engine

from astegni import adopt
from astegni.database import engine as make_engine
from astegni.migrations import FROZEN_DIR
from astegni.testing import database, fresh_database
from tests.support import url_for_database


@pytest.fixture(scope="session")
def server_url(astegni_server: str) -> str:
    """A URL of the server, connected to its maintenance database."""
    return astegni_server


def admin(server_url: str) -> psycopg.Connection:
    return psycopg.connect(server_url, autocommit=True)


@pytest.fixture(scope="session")
def template_db(astegni_template: str) -> str:
    """A database migrated to head, cloned by every test."""
    return astegni_template


@pytest.fixture
def db_url(astegni_url: str) -> str:
    """A fresh database at head, for this test alone."""
    return astegni_url


@pytest.fixture
def empty_db_url(server_url: str) -> Iterator[str]:
    """A fresh empty database (no migrations), for migration tests."""
    with fresh_database(server_url) as url:
        yield url


@pytest.fixture
def baseline_db_url(server_url: str) -> Iterator[str]:
    """A fresh database made by revision 0001's up.sql alone, not versioned: the baseline itself."""
    with fresh_database(server_url) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute((FROZEN_DIR / "0001" / "up.sql").read_text())
        yield url


@pytest.fixture
def conn(astegni_conn: psycopg.Connection) -> psycopg.Connection:
    """An autocommit psycopg connection to the test's database."""
    return astegni_conn


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A SQLAlchemy engine on the test's database, disposed afterwards."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


# A copy of a live Astegni database shaped like the app's pg_dump: its tables as they were then, rows
# shaped like the real ones (tests/data/astegni_copy.sql).
LIVE_COPY = Path(__file__).parent / "data" / "astegni_copy.sql"
# What the app writes once its later scripts have added their tables and columns: the parent's request 7
# shares the tutor with a second child (a shared booking, on a package that allows sharing).
SHARED_BOOKING = """
UPDATE tutor_packages SET allow_sharing = true, max_shared_students = 3 WHERE id = 3;
UPDATE requested_sessions SET num_students = 2 WHERE id = 7;
INSERT INTO requested_session_students (requested_session_id, student_profile_id, is_related, is_primary)
VALUES (7, 4, true, true), (7, 5, true, false);
"""


def load_live_copy(url: str) -> None:
    """The app's own tables as the dump has them (no astegni_alembic_version) and its rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute((FROZEN_DIR / "0001" / "up.sql").read_text())
        conn.execute(LIVE_COPY.read_text())


@pytest.fixture(scope="session")
def adopted(server_url: str) -> Iterator[str]:
    """A live copy brought to the baseline and resolved by the SQL `astegni db adopt --sql` writes, given
    a shared booking, and upgraded with --apply: cloned by each test."""
    with database(server_url, prefix="astegni_adopted") as name:
        url = url_for_database(server_url, name)
        load_live_copy(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(adopt.inspect(url).sql)
            conn.execute(SHARED_BOOKING)
        adopt.apply(url)
        yield name


@pytest.fixture
def adopted_db(server_url: str, adopted: str) -> Iterator[str]:
    """A fresh adopted live copy at head, for this test alone."""
    with fresh_database(server_url, adopted) as url:
        yield url


# The password of the tests' logins: servers that ask for one over TCP (a container's, as the official
# image configures it) let them in too.
LOGIN_PASSWORD = "astegni-test-login"


# Adversaries: logins that are only a member of astegni_app (or astegni_admin, astegni_scheduler,
# astegni_mailer), or have no grants at all.
@pytest.fixture(scope="session")
def logins(server_url: str, template_db: str) -> Iterator[dict[str, str]]:
    """Five login roles: one only a member of astegni_app, one only of astegni_admin, one only of
    astegni_scheduler, one only of astegni_mailer (the roles made by migrating the template), one with
    no grants at all."""
    suffix = uuid.uuid4().hex[:8]
    names = {"app": f"astg_app_{suffix}", "admin": f"astg_admin_{suffix}",
             "scheduler": f"astg_scheduler_{suffix}", "mailer": f"astg_mailer_{suffix}",
             "nobody": f"astg_nobody_{suffix}"}
    with admin(server_url) as conn:
        for key in ("app", "admin", "scheduler", "mailer"):
            conn.execute(f"CREATE ROLE {names[key]} LOGIN PASSWORD '{LOGIN_PASSWORD}' IN ROLE astegni_{key}")
        conn.execute(f"CREATE ROLE {names['nobody']} LOGIN PASSWORD '{LOGIN_PASSWORD}'")
    yield names
    with admin(server_url) as conn:
        for name in names.values():
            conn.execute(f"DROP ROLE {name}")


def as_login(url: str, user: str) -> str:
    """The same database, as another login (of the tests' password)."""
    params = conninfo_to_dict(url)
    params["user"] = user
    params["password"] = LOGIN_PASSWORD
    return make_conninfo("", **params)


@pytest.fixture
def nobody(db_url: str, logins: dict[str, str]) -> Iterator[psycopg.Connection]:
    """A connection of the login with no grants (PUBLIC may still LISTEN, NOTIFY and take advisory locks)."""
    with psycopg.connect(as_login(db_url, logins["nobody"]), autocommit=True) as conn:
        yield conn

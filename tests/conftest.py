"""The test server: ASTEGNI_TEST_DATABASE_URL, else a testcontainers PostgreSQL when Docker answers,
else an embedded PostgreSQL. Migrated once into a template database; each test gets a fresh clone."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import Engine

from astegni import adopt
from astegni.database import engine as make_engine
from astegni.embedded import start as start_embedded
from astegni.migrations import FROZEN_DIR
from tests.support import migrate, url_for_database


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A URL of the server, connected to its maintenance database."""
    if url := os.environ.get("ASTEGNI_TEST_DATABASE_URL"):
        yield url
    elif _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
    else:
        # Short and under the temp directory: the server's socket lives in it (~100 characters).
        parent = Path(tempfile.mkdtemp(prefix="astg-", dir=tempfile.gettempdir()))
        server, url = start_embedded(parent / "pg", keep=False)
        yield url
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


def admin(server_url: str) -> psycopg.Connection:
    return psycopg.connect(server_url, autocommit=True)


@pytest.fixture(scope="session")
def template_db(server_url: str) -> Iterator[str]:
    """A database migrated to head, cloned by every test."""
    name = f"astegni_tpl_{uuid.uuid4().hex[:8]}"
    with admin(server_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate(url_for_database(server_url, name), "head")
    yield name
    with admin(server_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _fresh_database(server_url: str, template: str | None) -> Iterator[str]:
    name = f"astegni_t_{uuid.uuid4().hex[:10]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with admin(server_url) as conn:
        conn.execute(create)
    yield url_for_database(server_url, name)
    with admin(server_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def db_url(server_url: str, template_db: str) -> Iterator[str]:
    """A fresh database at head, for this test alone."""
    yield from _fresh_database(server_url, template_db)


@pytest.fixture
def empty_db_url(server_url: str) -> Iterator[str]:
    """A fresh empty database (no migrations), for migration tests."""
    yield from _fresh_database(server_url, None)


@pytest.fixture
def baseline_db_url(server_url: str) -> Iterator[str]:
    """A fresh database made by revision 0001's up.sql alone, not versioned: the baseline itself."""
    for url in _fresh_database(server_url, None):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute((FROZEN_DIR / "0001" / "up.sql").read_text())
        yield url


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit psycopg connection to the test's database."""
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


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
    name = f"astegni_adopted_{uuid.uuid4().hex[:8]}"
    url = url_for_database(server_url, name)
    with admin(server_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    load_live_copy(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(adopt.inspect(url).sql)
        conn.execute(SHARED_BOOKING)
    adopt.apply(url)
    yield name
    with admin(server_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def adopted_db(server_url: str, adopted: str) -> Iterator[str]:
    """A fresh adopted live copy at head, for this test alone."""
    yield from _fresh_database(server_url, adopted)


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
            conn.execute(f"CREATE ROLE {names[key]} LOGIN IN ROLE astegni_{key}")
        conn.execute(f"CREATE ROLE {names['nobody']} LOGIN")
    yield names
    with admin(server_url) as conn:
        for name in names.values():
            conn.execute(f"DROP ROLE {name}")


def as_login(url: str, user: str) -> str:
    """The same database, as another login."""
    params = conninfo_to_dict(url)
    params["user"] = user
    params.pop("password", None)
    return make_conninfo("", **params)


@pytest.fixture
def nobody(db_url: str, logins: dict[str, str]) -> Iterator[psycopg.Connection]:
    """A connection of the login with no grants (PUBLIC may still LISTEN, NOTIFY and take advisory locks)."""
    with psycopg.connect(as_login(db_url, logins["nobody"]), autocommit=True) as conn:
        yield conn

"""astegni.testing: a pytest plugin for an app's integration tests against the rule.

Installed with the package (`pip install 'astegni-sessions[testing]'` brings what it runs on), it gives
every test a fresh database at head, cloned from a template migrated once per session:

    def test_accepting_makes_sessions(astegni_conn, astegni_factory):
        request = astegni_factory.pending(schedule_type="recurring", days=["Monday"])
        assert astegni.accept(astegni_conn, request).sessions_created > 0

The server is ASTEGNI_TEST_DATABASE_URL, else a testcontainers PostgreSQL when Docker answers and has
the image ASTEGNI_TEST_IMAGE, else an embedded PostgreSQL; pytest's header says which, and why not the
others. The plugin is loaded by every pytest run of an app that installed the package, extra or not:
it imports nothing optional until a test asks for a server, which then fails in one line naming the
extra when nothing can serve it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from astegni.database import url_for_database
from astegni.migrations import upgrade
from astegni.testing.factory import Factory, Parent, Student
from astegni.testing.servers import Choice, choose, database, fresh_database, serve

__all__ = ["Choice", "Factory", "Parent", "Student", "choose", "database", "fresh_database"]


def pytest_report_header(config: pytest.Config) -> str:
    return choose().describe()


@pytest.fixture(scope="session")
def astegni_server() -> Iterator[str]:
    """The test server's URL, on its maintenance database (started for the session, stopped after)."""
    choice = choose()
    if choice.kind == "none":
        pytest.fail(choice.describe(), pytrace=False)
    with serve(choice) as url:
        yield url


@pytest.fixture(scope="session")
def astegni_template(astegni_server: str) -> Iterator[str]:
    """The name of a database migrated to head, which every test's database is cloned from."""
    with database(astegni_server, prefix="astegni_tpl") as name:
        upgrade(url_for_database(astegni_server, name), "head")
        yield name


@pytest.fixture
def astegni_url(astegni_server: str, astegni_template: str) -> Iterator[str]:
    """The URL of a fresh database at head, this test's alone (dropped after)."""
    with fresh_database(astegni_server, astegni_template) as url:
        yield url


@pytest.fixture
def astegni_conn(astegni_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit psycopg connection to the test's database, closed after."""
    with psycopg.connect(astegni_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def astegni_factory(astegni_conn: psycopg.Connection[Any]) -> Factory:
    """A Factory writing on astegni_conn."""
    return Factory(astegni_conn)

"""astegni.testing as an app uses it: a throwaway test module outside the project, on the plugin's
fixtures alone, run by pytest in a process of its own on each server the plugin can choose. The module
is the README's example and a test of our own, on the same fixtures."""

from __future__ import annotations

import os
import re
from typing import Any

import psycopg
import pytest

from astegni.testing import Factory
from astegni.testing.servers import DEFAULT_IMAGE, IMAGE_VARIABLE, docker_refusal
from tests.support import APP_TESTS

TIMEOUT = 300


@pytest.fixture
def app(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A directory holding the app's test module, run with no server named (each test names one)."""
    pytester.makepyfile(test_app=APP_TESTS)
    monkeypatch.delenv("ASTEGNI_TEST_DATABASE_URL", raising=False)
    return pytester


def run(app: pytest.Pytester) -> pytest.RunResult:
    return app.runpytest_subprocess("-p", "astegni.testing", "-p", "no:randomly", timeout=TIMEOUT)


def docker_image() -> str:
    """The image testcontainers is to run, skipping when Docker does not answer or lacks it."""
    image = os.environ.get(IMAGE_VARIABLE) or DEFAULT_IMAGE
    if refusal := docker_refusal(image):
        pytest.skip(refusal)
    return image


def test_on_the_server_the_url_names(app, monkeypatch, server_url):
    monkeypatch.setenv("ASTEGNI_TEST_DATABASE_URL", server_url)
    result = run(app)
    result.stdout.fnmatch_lines(["astegni.testing: the server at ASTEGNI_TEST_DATABASE_URL (*): *is set*"])
    result.assert_outcomes(passed=3)


@pytest.mark.own_servers
def test_on_testcontainers_when_docker_has_the_image(app):
    image = docker_image()
    result = run(app)
    result.stdout.fnmatch_lines([f"astegni.testing: a testcontainers PostgreSQL ({image}): *"])
    result.assert_outcomes(passed=3)


@pytest.mark.own_servers
def test_on_the_embedded_server_when_docker_does_not_answer(app, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    result = run(app)
    result.stdout.fnmatch_lines(["astegni.testing: an embedded PostgreSQL: ASTEGNI_TEST_DATABASE_URL is not"
                                 f" set; Docker does not answer at unix://{tmp_path}/no-docker.sock"])
    result.assert_outcomes(passed=3)


@pytest.mark.own_servers
def test_docker_without_the_image_falls_back_on_the_embedded_server(app, monkeypatch):
    docker_image()
    monkeypatch.setenv(IMAGE_VARIABLE, "astegni-no-such-image:0")
    result = run(app)
    result.stdout.fnmatch_lines(["astegni.testing: an embedded PostgreSQL: *Docker answers at * but has no"
                                 " image astegni-no-such-image:0 (docker pull astegni-no-such-image:0, *"])
    result.assert_outcomes(passed=3)


# The columns a row of these tables must be given: NOT NULL, without a default, not generated.
REQUIRED_COLUMNS = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = ANY(%s) AND is_nullable = 'NO' AND column_default IS NULL
  AND is_identity = 'NO' AND is_generated = 'NEVER'
"""


class Recorder:
    """A connection that notes the columns each INSERT names, table by table."""

    def __init__(self, conn: psycopg.Connection[Any]):
        self.conn = conn
        self.columns: dict[str, set[str]] = {}

    def execute(self, query: str, params: Any = None) -> psycopg.Cursor[Any]:
        insert = re.match(r"INSERT INTO (\w+) \(([^)]*)\)", query)
        assert insert, query
        self.columns.setdefault(insert[1], set()).update(map(str.strip, insert[2].split(",")))
        return self.conn.execute(query, params)


def test_the_factory_gives_every_row_the_columns_it_needs(conn):
    """Every NOT NULL column without a default of the tables the factory writes, at head (the baseline's
    and any a later revision adds), is one its statements name."""
    recorder = Recorder(conn)
    f = Factory(recorder)  # type: ignore[arg-type]
    tutor, parent, child = f.tutor(), f.parent(), f.student()
    f.request(tutor, child, package_id=f.package(tutor, rate="30.00", courses=[3]))
    f.request(tutor, parent, requested_to_id=child.profile_id)
    assert set(recorder.columns) == {"users", "tutor_profiles", "student_profiles", "parent_profiles",
                                     "tutor_packages", "requested_sessions"}
    required = conn.execute(REQUIRED_COLUMNS, [list(recorder.columns)]).fetchall()
    assert ("requested_sessions", "requester_id") in required
    assert [(table, column) for table, column in required if column not in recorder.columns[table]] == []
    requesters = conn.execute("SELECT requester_type, requester_id FROM requested_sessions ORDER BY id")
    assert requesters.fetchall() == [("student", child.user_id), ("parent", parent.user_id)]

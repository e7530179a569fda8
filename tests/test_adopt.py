"""Adopting a live Astegni database: the real baseline with rows shaped like the real ones, `astegni db
adopt` (a dry run), the resolutions it prints, `--apply`, then the pending real-shaped requests accepted
through psql, psycopg and the ORM alike, rejected and cancelled through astegni."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.orm import Session

import astegni
from astegni import adopt
from astegni.database import engine as make_engine
from astegni.errors import AstegniError
from astegni.migrations import head
from astegni.models import RequestedSession
from tests.conftest import admin, load_live_copy
from tests.support import scalar, url_for_database
from tests.test_cli import cli

PENDING = list(range(4, 13))

# Every column of the database, typed: the upgrade may add columns, never change one.
COLUMN_TYPES = """
SELECT c.relname || '.' || a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
"""


def column_types(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute(COLUMN_TYPES).fetchall())


@pytest.fixture
def live_db(empty_db_url: str) -> str:
    load_live_copy(empty_db_url)
    return empty_db_url


def test_adopt_reports_the_two_real_problems_writes_nothing_and_resolves_them(live_db, tmp_path):
    before = column_types(live_db)
    resolve = tmp_path / "resolve.sql"
    report = cli("db", "adopt", "--sql", str(resolve), url=live_db, check=False)
    assert report.returncode == 1, report.stderr
    out = report.stdout
    assert "revision none" in out and "Tables: as the baseline has them." in out
    assert "2 rows stop the upgrade" in out
    assert 'courses held twice for one tutor and package (enrolled_courses): {"ids": [9, 11]' in out
    assert 'sessions that belong to no course' in out and '"session_id": 5' in out
    assert "UPDATE sessions SET enrolled_courses_id = 9 WHERE enrolled_courses_id IN (11);" in out
    assert "Not ready" in out
    # The dry run saw the upgrade through with the resolutions, and judged every pending request.
    assert "accepted: 0 sessions (the request names no dates yet)" in out
    assert "accepted: 16 sessions (its month/year window has passed" in out
    assert "accepted: 8 sessions for 2 students" in out
    assert "refused AS005: request 8: days 'Funday'" in out
    assert "refused AS012: request 9: package_id 1 is tutor" in out
    with psycopg.connect(live_db) as conn:  # nothing was written
        assert scalar(conn, "SELECT to_regclass('astegni_alembic_version') IS NULL") is True
        assert scalar(conn, "SELECT count(*) FROM enrolled_courses") == 3
        assert scalar(conn, "SELECT count(*) FROM requested_sessions WHERE status = 'pending'") == 9
    assert column_types(live_db) == before

    with psycopg.connect(live_db, autocommit=True) as conn:
        conn.execute(resolve.read_text())
    ready = cli("db", "adopt", url=live_db)
    assert "Ready" in ready.stdout and "rows stop the upgrade" not in ready.stdout
    applied = cli("db", "adopt", "--apply", url=live_db)
    assert f"revision {head()} (head)" in applied.stdout

    after = column_types(live_db)
    assert {column: after[column] for column in before} == before  # expand, never mutate
    with psycopg.connect(live_db) as conn:
        assert scalar(conn, "SELECT students_id FROM enrolled_courses WHERE id = 9") == [1]
        assert scalar(conn, "SELECT enrolled_courses_id FROM sessions WHERE id = 3") == 9
        assert scalar(conn, "SELECT starts_at::text FROM sessions WHERE id = 4") == "2026-02-20 12:00:00+00"
        assert scalar(conn, "SELECT duration FROM sessions WHERE id = 4") == 60  # the negative one mended


# Tables of the app's own that hang on rows a resolution deletes: course 11 (the duplicate of 9) and a
# duplicate enrolment 3 (of 1) added here. courseworks' key sets NULL on delete; course_notes' keys
# cascade, one of them on two columns.
HANGING_ROWS = """
INSERT INTO enrolled_students (id, tutor_id, student_id, package_id) VALUES (3, 1, 1, 1);
CREATE TABLE courseworks (id serial PRIMARY KEY, title text NOT NULL,
                          course_id integer REFERENCES enrolled_courses (id) ON DELETE SET NULL);
ALTER TABLE enrolled_courses ADD CONSTRAINT enrolled_courses_course_tutor_key UNIQUE (id, tutor_id);
CREATE TABLE course_notes (id serial PRIMARY KEY, body text NOT NULL, course_id integer NOT NULL,
                           tutor_id integer NOT NULL,
                           enrolment_id integer REFERENCES enrolled_students (id) ON DELETE CASCADE,
                           FOREIGN KEY (course_id, tutor_id) REFERENCES enrolled_courses (id, tutor_id)
                               ON DELETE CASCADE);
INSERT INTO courseworks (title, course_id) VALUES ('Essay', 11);
INSERT INTO course_notes (body, course_id, tutor_id, enrolment_id) VALUES ('Bring a calculator', 11, 1, 3);
"""


def test_what_references_a_deleted_duplicate_follows_the_row_kept(live_db, tmp_path):
    """Each foreign key in the catalogue that references a duplicate the resolution deletes, whatever
    its ON DELETE, is pointed at the row kept first: nothing loses its course or enrolment."""
    with psycopg.connect(live_db, autocommit=True) as conn:
        conn.execute(HANGING_ROWS)
    resolve = tmp_path / "resolve.sql"
    report = cli("db", "adopt", "--sql", str(resolve), url=live_db, check=False)
    assert "3 rows stop the upgrade" in report.stdout
    assert "UPDATE courseworks SET course_id = 9 WHERE course_id IN (11);" in report.stdout
    assert "UPDATE course_notes SET enrolment_id = 1 WHERE enrolment_id IN (3);" in report.stdout
    assert "The upgrade would fail" not in report.stdout
    with psycopg.connect(live_db, autocommit=True) as conn:
        conn.execute(resolve.read_text())
    cli("db", "adopt", "--apply", url=live_db)
    with psycopg.connect(live_db) as conn:
        assert scalar(conn, "SELECT count(*) FROM enrolled_courses WHERE id = 11") == 0
        assert conn.execute("SELECT title, course_id FROM courseworks").fetchall() == [("Essay", 9)]
        assert conn.execute("SELECT course_id, tutor_id, enrolment_id FROM course_notes").fetchall() == [
            (9, 1, 1)]


def test_a_session_deleted_for_want_of_a_course_is_kept_while_anything_references_it(live_db):
    """No row takes the place of session 5 (it has no course): its resolution stops, changing nothing,
    while a row still references it, and names that row's table and key."""
    with psycopg.connect(live_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE attendance (session_id integer REFERENCES sessions (id)"
                     " ON DELETE CASCADE); INSERT INTO attendance VALUES (5)")
    report = adopt.inspect(live_db)
    assert report.failure is not None and not report.ready
    assert "rows of attendance reference sessions 5 (attendance_session_id_fkey)" in report.failure
    with pytest.raises(psycopg.errors.RaiseException), psycopg.connect(live_db) as conn:  # one transaction
        for blocker in report.blockers:
            conn.execute(blocker["resolution"])
    with psycopg.connect(live_db, autocommit=True) as conn:
        assert scalar(conn, "SELECT count(*) FROM attendance JOIN sessions ON id = session_id") == 1
        assert scalar(conn, "SELECT count(*) FROM enrolled_courses") == 3
        conn.execute("UPDATE sessions SET enrolled_courses_id = 10 WHERE id = 5")  # given its course
    assert adopt.inspect(live_db).failure is None


def test_apply_on_a_database_with_blockers_stops_and_changes_nothing(live_db):
    before = column_types(live_db)
    result = cli("db", "adopt", "--apply", url=live_db, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Migration 0002 stopped, nothing was changed: 2 rows" in result.stderr
    assert column_types(live_db) == before
    with psycopg.connect(live_db) as conn:
        assert scalar(conn, "SELECT to_regclass('astegni_alembic_version') IS NULL") is True


def test_an_apps_own_alembic_version_is_not_ours(live_db):
    """An app with an Alembic history of its own has an alembic_version: adopt reads this project's
    revision from astegni_alembic_version only, and leaves the app's row as it was."""
    with psycopg.connect(live_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('a1f0c3e9b7d2')")
        for blocker in adopt.inspect(live_db).blockers:
            conn.execute(blocker["resolution"])
    report = cli("db", "adopt", url=live_db)
    assert "revision none" in report.stdout and "Ready" in report.stdout
    assert f"revision {head()} (head)" in cli("db", "adopt", "--apply", url=live_db).stdout
    with psycopg.connect(live_db) as conn:
        assert scalar(conn, "SELECT version_num FROM alembic_version") == "a1f0c3e9b7d2"
        assert scalar(conn, "SELECT version_num FROM astegni_alembic_version") == head()


def outcome(url: str) -> dict[str, Any]:
    """What the rule made, without ids and clocks that differ between copies."""
    with psycopg.connect(url) as conn:
        def rows(query: str) -> list[tuple[Any, ...]]:
            return conn.execute(query).fetchall()
        return {
            "requests": rows("SELECT id, status FROM requested_sessions ORDER BY id"),
            "acceptances": rows("SELECT request_id, sessions_created, students_enrolled, note"
                                " FROM acceptances ORDER BY 1"),
            "sessions": rows("SELECT request_id, session_date, start_time, end_time, duration, starts_at,"
                             " ends_at, topics::text, status, enrolled_courses_id FROM sessions"
                             " WHERE request_id IS NOT NULL ORDER BY request_id, session_date"),
            "enrolled_students": rows("SELECT tutor_id, student_id, package_id, agreed_price"
                                      " FROM enrolled_students ORDER BY 1, 2"),
            "enrolled_courses": rows("SELECT tutor_id, package_id, ARRAY(SELECT unnest(students_id)"
                                     " ORDER BY 1) FROM enrolled_courses ORDER BY 1, 2"),
        }


def accept_with_psql(url: str) -> None:
    for request in PENDING:  # each its own statement, as an admin would type them; refusals say why
        result = subprocess.run(
            ["psql", url, "-v", "ON_ERROR_STOP=1", "-c",
             f"UPDATE requested_sessions SET status = 'accepted' WHERE id = {request}"],
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 or "ERROR:  request" in result.stderr, result.stderr


def accept_with_psycopg(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for request in PENDING:
            with contextlib.suppress(AstegniError):  # the refused ones stay pending
                astegni.accept(conn, request)


def accept_with_the_orm(url: str) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        for request in PENDING:
            row = session.get(RequestedSession, request)
            assert row is not None
            row.status = "accepted"
            try:
                session.commit()
            except Exception:
                session.rollback()
    engine.dispose()


def test_pending_real_shaped_requests_are_accepted_alike_by_every_client(server_url, adopted):
    copies = {}
    for client in (accept_with_psql, accept_with_psycopg, accept_with_the_orm):
        url = url_for_database(server_url, f"astegni_t_{uuid.uuid4().hex[:10]}")
        name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        with admin(server_url) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(adopted)))
        try:
            client(url)
            copies[client.__name__] = outcome(url)
        finally:
            with admin(server_url) as conn:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    made = copies["accept_with_psycopg"]
    assert copies["accept_with_psql"] == made == copies["accept_with_the_orm"]
    assert made["requests"][3:] == [
        (4, "accepted"), (5, "accepted"), (6, "accepted"), (7, "accepted"), (8, "pending"),
        (9, "pending"), (10, "pending"), (11, "pending"), (12, "accepted")]
    assert made["acceptances"] == [(4, 0, 1, "no_dates"), (5, 0, 1, "no_dates"), (6, 16, 1, "window_passed"),
                                   (7, 8, 2, None), (12, 2, 1, None)]
    assert (2, 4) in [row[:2] for row in made["enrolled_students"]]
    assert (2, 5) in [row[:2] for row in made["enrolled_students"]]  # the roster's second child
    assert (2, 3, [2, 4, 5]) in made["enrolled_courses"]


def test_reject_and_cancel_through_astegni(adopted_db):
    with psycopg.connect(adopted_db, autocommit=True) as conn:
        rejection = astegni.reject(conn, 8, reason="No such day as Funday")
        assert (rejection.status, rejection.rejected_reason) == ("rejected", "No such day as Funday")
        acceptance = astegni.accept(conn, 6)
        cancellation = astegni.cancel(conn, 6, reason="Moved away")
        assert (cancellation.status, cancellation.sessions_cancelled) == (
            "cancelled", acceptance.sessions_created)
        assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = 6") == "cancelled"
        assert scalar(conn, "SELECT students_id FROM enrolled_courses"
                            " WHERE tutor_id = 1 AND package_id = 2") == []

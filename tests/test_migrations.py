"""Migrations: up, down to zero, up again; one head; head installs exactly db/functions/; the models
match the migrations; an existing database is upgraded in place or stopped with the rows to fix."""

from __future__ import annotations

import itertools

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from astegni.errors import UpgradeBlocked
from astegni.migrations import FUNCTIONS_DIR
from tests.support import alembic_config, assert_installs_exactly, downgrade, migrate, project_objects


def tables(conn: psycopg.Connection) -> set[str]:
    """Tables and composite types."""
    rows = conn.execute("""SELECT relname FROM pg_class
                           WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'c')""")
    return {name for (name,) in rows.fetchall()}


def test_single_head():
    assert len(ScriptDirectory.from_config(alembic_config("unused")).get_heads()) == 1


def test_revisions_are_sequential():
    script = ScriptDirectory.from_config(alembic_config("unused"))
    revisions = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert revisions == [f"{n:04d}" for n in range(1, len(revisions) + 1)]


def test_up_down_to_zero_up_again(empty_db_url):
    migrate(empty_db_url, "head")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        at_head = project_objects(conn), tables(conn)
    downgrade(empty_db_url, "base")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert project_objects(conn) == {}
        assert tables(conn) == {"astegni_alembic_version"}
    migrate(empty_db_url, "head")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert (project_objects(conn), tables(conn)) == at_head


def test_each_downgrade_restores_the_revision_before(empty_db_url):
    script = ScriptDirectory.from_config(alembic_config("unused"))
    revisions = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    for before, revision in itertools.pairwise(revisions):
        migrate(empty_db_url, before)
        with psycopg.connect(empty_db_url, autocommit=True) as conn:
            expected = project_objects(conn), tables(conn)
        migrate(empty_db_url, revision)
        downgrade(empty_db_url, before)
        with psycopg.connect(empty_db_url, autocommit=True) as conn:
            assert (project_objects(conn), tables(conn)) == expected, f"downgrade of {revision}"


def test_head_installs_exactly_db_functions(db_url):
    """Every file of db/functions/ (a function, a procedure or a trigger) is installed at head, as written,
    and nothing else is: no routine left behind, no overload."""
    assert_installs_exactly(db_url, FUNCTIONS_DIR)


def test_models_match_migrations(db_url):
    command.check(alembic_config(db_url))


LEGACY_ROWS = """
INSERT INTO users (email, password_hash) VALUES ('abebe@example.test', 'x');
INSERT INTO tutor_profiles (user_id) VALUES (1);
INSERT INTO student_profiles (user_id) VALUES (1);
INSERT INTO tutor_packages (tutor_id, name) VALUES (1, 'Physics');
INSERT INTO enrolled_courses (tutor_id, package_id) VALUES (1, 1);
INSERT INTO sessions (enrolled_courses_id, session_date, start_time, end_time, duration)
VALUES (1, '2026-06-01', '22:00', '01:00', -1260);
"""


def test_existing_database_is_filled_in(empty_db_url):
    migrate(empty_db_url, "0001")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(LEGACY_ROWS)
    migrate(empty_db_url, "head")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT tutor_id, starts_at::text, ends_at::text, duration FROM sessions WHERE id = 1"
        ).fetchone()
    # Addis Ababa is UTC+3: 22:00 local is 19:00 UTC, and the overnight session ends the next day.
    assert row == (1, "2026-06-01 19:00:00+00", "2026-06-01 22:00:00+00", 180)


def test_duplicate_enrolments_stop_the_upgrade_and_keep_the_rows(empty_db_url):
    migrate(empty_db_url, "0001")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(LEGACY_ROWS)
        conn.execute("INSERT INTO enrolled_students (tutor_id, student_id, package_id)"
                     " VALUES (1, 1, 1), (1, 1, 1)")
    with pytest.raises(UpgradeBlocked, match=r"(?s)students enrolled twice.*\[1, 2\]") as stopped:
        migrate(empty_db_url, "head")
    [blocker] = stopped.value.blockers
    assert blocker["facts"] == {"tutor_id": 1, "student_id": 1, "ids": [1, 2]}
    assert "DELETE FROM enrolled_students WHERE id IN (2);" in blocker["resolution"]
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM enrolled_students").fetchone() == (2,)
        assert conn.execute("SELECT version_num FROM astegni_alembic_version").fetchone() == ("0001",)

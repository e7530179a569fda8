"""Adopting a live Astegni database: a copy shaped like the app's pg_dump (the baseline as it was then,
rows shaped like the real ones), `astegni db adopt` (a dry run), the DDL and resolutions it writes,
`--apply`, then the pending real-shaped requests accepted through psql, psycopg and the ORM alike,
rejected and cancelled through astegni."""

from __future__ import annotations

import contextlib
import re
import subprocess
import uuid
from typing import Any

import psycopg
import pytest
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy.orm import Session

import astegni
from astegni import adopt
from astegni.database import engine as make_engine
from astegni.errors import AstegniError
from astegni.migrations import FROZEN_DIR, head
from astegni.models import RequestedSession
from tests.conftest import admin, load_live_copy
from tests.support import ROOT, alembic_config, migrate, scalar, url_for_database
from tests.test_cli import assert_one_line_error, cli
from tests.test_schema import snapshot

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


GUIDE = ROOT / "docs" / "adopting.md"
GUIDE_WIDTH = "106"  # the guide's console blocks are indented by 3 in a 110-column page


def guide_output(command: str) -> str:
    """What docs/adopting.md shows `$ command` printing."""
    block = re.search(rf"```console\n   \$ {re.escape(command)}\n(.*?)\n   ```", GUIDE.read_text(), re.S)
    assert block, f"{GUIDE} shows no run of {command}"
    return "\n".join(line.removeprefix("   ").rstrip() for line in block.group(1).splitlines())


def as_in_the_guide(result: subprocess.CompletedProcess[str], shown_as: str, path: str = "") -> str:
    """A run's output (stdout, then stderr) as the guide shows it: its database is the guide's, its file
    resolve.sql."""
    text = (result.stdout + result.stderr).replace(path or "\0", "resolve.sql")
    text = re.sub(r"^.*?: revision", lambda _: f"{shown_as}: revision", text, count=1)
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def test_a_database_as_of_the_dump_adopts_by_the_sql_the_dry_run_writes(live_db, tmp_path):
    """As the guide runs it, output included: the dry run, its file run twice, the dry run again, --apply."""
    before = column_types(live_db)
    resolve = tmp_path / "resolve.sql"
    report = cli("db", "adopt", "--sql", str(resolve), url=live_db, env={"COLUMNS": GUIDE_WIDTH},
                 check=False)
    assert report.returncode == 1, report.stderr
    shown = guide_output("astegni db adopt --sql resolve.sql")
    shown_as = shown.split(": revision")[0]
    assert as_in_the_guide(report, shown_as, str(resolve)) == shown
    out = report.stdout
    assert "revision none" in out and "5 of them are missing" in out
    for missing in ("requested_session_students", "num_students", "allow_sharing", "max_shared_students",
                    "visibility"):
        assert missing in out
    assert "1 rows stop the upgrade" in out
    assert 'courses held twice for one tutor and package (enrolled_courses): {"ids": [9, 11]' in out
    assert "Not ready" in out and "The upgrade would fail" not in out
    # The dry run saw the upgrade through with the DDL and the resolutions, and judged every pending
    # request (the guide's table shows each outcome).
    assert "accepted: 16 sessions" in out and "refused AS012" in out

    # One block per missing table or column, naming the app's script that adds it; then the resolution.
    written = resolve.read_text()
    blocks = [block for block in written.split("\n\n") if block.strip()]
    assert [block.splitlines()[0] for block in blocks] == [
        "-- missing table requested_session_students"
        " (the app's migrate_create_requested_session_students.py)",
        "-- missing column requested_sessions.num_students (the app's migrate_add_num_students.py)",
        "-- missing column tutor_packages.allow_sharing (the app's migrate_add_package_sharing.py)",
        "-- missing column tutor_packages.max_shared_students (the app's migrate_add_package_sharing.py)",
        "-- missing column tutor_packages.visibility (the app's migrate_add_package_visibility.py)",
        '-- courses held twice for one tutor and package (enrolled_courses): {"ids": [9, 11],'
        ' "tutor_id": 1, "package_id": 1}']
    assert "ALTER TABLE tutor_packages\n    ADD COLUMN IF NOT EXISTS visibility character varying(16)" \
           " DEFAULT 'public'::character varying NOT NULL;" in written
    assert "UPDATE sessions SET enrolled_courses_id = 9 WHERE enrolled_courses_id IN (11);" in written
    with psycopg.connect(live_db) as conn:  # nothing was written
        assert scalar(conn, "SELECT to_regclass('astegni_alembic_version') IS NULL") is True
        assert scalar(conn, "SELECT to_regclass('requested_session_students') IS NULL") is True
        assert scalar(conn, "SELECT count(*) FROM enrolled_courses") == 3
        assert scalar(conn, "SELECT count(*) FROM requested_sessions WHERE status = 'pending'") == 9
    assert column_types(live_db) == before

    refused = cli("db", "adopt", "--apply", url=live_db, check=False)  # stamping would say it has them
    assert_one_line_error(refused, "lacks 5 tables or columns of the baseline", "nothing was changed",
                          "requested_session_students, requested_sessions.num_students")
    assert column_types(live_db) == before

    for _ in range(2):  # as the guide says, in one transaction; a second run changes nothing more
        subprocess.run(["psql", "-1", "-v", "ON_ERROR_STOP=1", "-q", "-f", str(resolve), live_db],
                       check=True, capture_output=True, timeout=60)
    ready = cli("db", "adopt", url=live_db)
    assert "Tables: as the baseline has them." in ready.stdout and "Ready" in ready.stdout
    assert "rows stop the upgrade" not in ready.stdout
    applied = cli("db", "adopt", "--apply", url=live_db)
    assert f"revision {head()} (head)" in applied.stdout
    assert as_in_the_guide(applied, shown_as) == guide_output("astegni db adopt --apply")

    after = column_types(live_db)
    assert {column: after[column] for column in before} == before  # expand, never mutate
    with psycopg.connect(live_db) as conn:
        assert scalar(conn, "SELECT students_id FROM enrolled_courses WHERE id = 9") == [1]
        assert scalar(conn, "SELECT enrolled_courses_id FROM sessions WHERE id = 3") == 9
        assert scalar(conn, "SELECT starts_at::text FROM sessions WHERE id = 4") == "2026-02-20 12:00:00+00"
        assert scalar(conn, "SELECT duration FROM sessions WHERE id = 4") == 60  # the negative one mended
        assert scalar(conn, "SELECT count(*) FROM tutor_packages WHERE visibility = 'public'"
                            " AND NOT allow_sharing AND max_shared_students = 1") == 3


def test_the_ddl_for_a_missing_baseline_is_the_baseline_exactly(empty_db_url, baseline_db_url):
    """Generated from the baseline's own definitions: where every table is missing, it makes the
    baseline that 0001's up.sql makes, constraints, indexes, sequences, trigger and function included."""
    report = adopt.inspect(empty_db_url)
    assert [(r.table, r.column) for r in report.repairs][-1] == ("requested_session_students", None)
    assert len(report.repairs) == 11 and not report.blockers and report.failure is None
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(report.sql)
    assert snapshot(empty_db_url) == snapshot(baseline_db_url)
    assert catalog_extras(empty_db_url) == catalog_extras(baseline_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(report.sql)  # idempotent
    assert snapshot(empty_db_url) == snapshot(baseline_db_url)


def test_the_guide_names_each_revision_and_what_it_adds(empty_db_url):
    """docs/adopting.md lists the revisions in order up to head, and each one's entry names the tables
    it creates, the columns it adds to tables there before, and the roles it creates."""
    text = GUIDE.read_text()
    entries = dict(re.findall(r"^- \*\*`(\d{4})`\*\*(.*?)(?=^- |^$)", text, re.M | re.S))
    script = ScriptDirectory.from_config(alembic_config("unused"))
    revisions = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert list(entries) == revisions and revisions[-1] == head()
    assert f"head (`{head()}`)" in text
    assert f"head {head()}" in guide_output("astegni db adopt --sql resolve.sql")
    columns: set[tuple[str, str]] = set()
    for revision in revisions:
        migrate(empty_db_url, revision)
        with psycopg.connect(empty_db_url) as conn:
            now = set(conn.execute(TABLE_COLUMNS).fetchall())
        tables = {table for table, _ in now} - {table for table, _ in columns}
        added = {(table, column) for table, column in now - columns if table not in tables}
        roles = set(re.findall(r"CREATE ROLE (\w+)", "".join(
            path.read_text() for path in (FROZEN_DIR / revision).glob("*.sql"))))
        entry = " ".join(entries[revision].split())
        for name in sorted(tables | roles):
            assert f"`{name}`" in entry, f"{GUIDE}: the entry of {revision} does not name {name}"
        for table, column in sorted(added):
            assert f"`{table}." in entry and (f"`{column}`" in entry or f"`{table}.{column}`" in entry), (
                f"{GUIDE}: the entry of {revision} does not name the column {table}.{column}")
        columns = now


TABLE_COLUMNS = """
SELECT c.relname, a.attname
FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> 'astegni_alembic_version'
"""


# What tests/test_schema.py's snapshot leaves out: triggers, functions, each sequence and its column.
CATALOG_EXTRAS = """
SELECT 'trigger', pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'function', pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'sequence', concat_ws(' ', s.relname, format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement,
                             q.seqmin, q.seqmax, q.seqcache, q.seqcycle, d.refobjid::regclass, d.refobjsubid)
FROM pg_class AS s JOIN pg_sequence AS q ON q.seqrelid = s.oid
LEFT JOIN pg_depend AS d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.deptype = 'a'
WHERE s.relnamespace = 'public'::regnamespace
"""


def catalog_extras(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return set(conn.execute(CATALOG_EXTRAS).fetchall())


# Not in the dump, but the app's handler could leave one: a session whose course is gone.
SESSION_WITHOUT_A_COURSE = """
INSERT INTO sessions (id, session_date, start_time, end_time, duration, topics)
VALUES (5, '2026-02-21', '15:00', '16:00', 60, '[]')
"""


def test_a_session_without_a_course_is_listed_with_its_resolution(live_db):
    """The dry run lists it, and its resolution (delete it, unless its course is known) lets the upgrade
    through."""
    with psycopg.connect(live_db, autocommit=True) as conn:
        conn.execute(SESSION_WITHOUT_A_COURSE)
    report = adopt.inspect(live_db)
    [_courses_twice, no_course] = report.blockers
    assert no_course["problem"].startswith("sessions that belong to no course")
    assert no_course["facts"]["session_id"] == 5
    assert "DELETE FROM sessions WHERE id = 5;" in no_course["resolution"]
    assert report.failure is None and report.trials
    with psycopg.connect(live_db, autocommit=True) as conn:
        conn.execute(report.sql)
    assert adopt.inspect(live_db).ready


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
    assert "2 rows stop the upgrade" in report.stdout
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
        conn.execute(SESSION_WITHOUT_A_COURSE)
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
    with psycopg.connect(live_db, autocommit=True) as conn:  # the baseline's tables and columns, only
        conn.execute("".join(repair.sql for repair in adopt.inspect(live_db).repairs))
    before = column_types(live_db)
    result = cli("db", "adopt", "--apply", url=live_db, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Migration 0002 stopped, nothing was changed: 1 rows" in result.stderr
    assert column_types(live_db) == before
    with psycopg.connect(live_db) as conn:
        assert scalar(conn, "SELECT to_regclass('astegni_alembic_version') IS NULL") is True


def test_an_apps_own_alembic_version_is_not_ours(live_db):
    """An app with an Alembic history of its own has an alembic_version: adopt reads this project's
    revision from astegni_alembic_version only, and leaves the app's row as it was."""
    with psycopg.connect(live_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('a1f0c3e9b7d2')")
        conn.execute(adopt.inspect(live_db).sql)
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

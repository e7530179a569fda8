"""The `astegni` command run as a user runs it: a subprocess, against a server URL or the embedded
default, checked against what the database then holds."""

import datetime as dt
import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from typer.testing import CliRunner

import astegni
from astegni import embedded
from astegni.cli import app
from astegni.demo import url_for_database
from astegni.migrations import head, revision
from tests.conftest import as_login
from tests.support import (
    MON_WED_FRI,
    ROOT,
    Factory,
    assert_calendar_matches,
    downgrade,
    pull_back,
    scalar,
    tutor_today,
)

COMMANDS = [["db", "upgrade"], ["db", "downgrade"], ["db", "adopt"], ["db", "current"], ["demo"], ["accept"],
            ["reject"], ["cancel"], ["preview"], ["sessions"], ["ical"], ["listen"], ["extend"],
            ["end-series"], ["reschedule"], ["time-off", "add"], ["time-off", "remove"],
            ["time-off", "list"], ["calendar-link"], ["mail"]]


def cli(*args, url=None, env=None, check=True):
    """Runs the command; url=None leaves DATABASE_URL unset."""
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update({"COLUMNS": "160", **(env or {})})
    if url is not None:
        environment["DATABASE_URL"] = url
    result = subprocess.run([sys.executable, "-m", "astegni.cli", *args], capture_output=True,
                            text=True, env=environment, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def assert_one_line_error(result, *fragments):
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture
def seeded(conn):
    """A Berlin tutor and a student with a pending Mon/Wed/Fri 17:00 request."""
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, student = f.student()
    request = f.request(tutor, user, package_id=f.package(tutor), start_time=dt.time(17),
                        end_time=dt.time(18), message="Algebra", **MON_WED_FRI)
    return tutor, user, student, request


# The commands that take a date, and how many.
DATED = {"end-series": 1, "reschedule": 1, "sessions": 2, "time-off add": 2}


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command):
    # In-process (the help text only): each command is run as a subprocess by the tests below.
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    assert "Example: astegni" in result.output
    assert "--database-url" in result.output  # after the command too
    # A date is shown one way: YYYY-MM-DD, never as strptime's format.
    assert "%" not in result.output
    assert result.output.count("YYYY-MM-DD") >= DATED.get(" ".join(command), 0)


def test_installed_script_runs():
    script = Path(sys.executable).parent / "astegni"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    assert "Usage: astegni" in result.stdout


def test_db_upgrade_current_downgrade(empty_db_url):
    assert "revision none" in cli("db", "current", url=empty_db_url).stdout
    assert f"revision {head()} (head)" in cli("db", "upgrade", url=empty_db_url).stdout
    assert f"revision 0001 (head is {head()})" in cli(
        "--database-url", empty_db_url, "db", "downgrade", "0001", "--yes").stdout
    assert "revision 0001" in cli("db", "current", url=empty_db_url).stdout
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT version_num FROM astegni_alembic_version") == "0001"


# The app's own tables: revision 0001, the baseline, which an adopted database had before this project.
BASELINE_TABLES = ["users", "tutor_profiles", "student_profiles", "parent_profiles", "tutor_packages",
                   "requested_sessions", "requested_session_students", "enrolled_courses",
                   "enrolled_students", "sessions", "user_investments"]


def in_order(rows):
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


def baseline_rows(url):
    """Each baseline table's rows as JSON objects, in order; None for a table that is gone."""
    rows = {}
    with psycopg.connect(url) as conn:
        for table in BASELINE_TABLES:
            if scalar(conn, "SELECT to_regclass(%s) IS NULL", table):
                rows[table] = None
            else:
                query = sql.SQL("SELECT to_jsonb(t) FROM {} AS t").format(sql.Identifier(table))
                rows[table] = in_order(row for (row,) in conn.execute(query))
    return rows


def revision_of(url):
    with psycopg.connect(url) as conn:
        return revision(conn)


def test_downgrade_below_the_rule_needs_yes_and_base_drops_what_the_project_created(db_url):
    refused = cli("db", "downgrade", "base", url=db_url, check=False)
    assert_one_line_error(refused, "going below 0002 removes the rule", "the columns it added",
                          "and revision 0001's tables (users, sessions, ...) with their rows", "--yes")
    assert_one_line_error(cli("db", "downgrade", "0001", url=db_url, check=False), "going below 0002")
    assert revision_of(db_url) == head()
    assert "revision 0002" in cli("db", "downgrade", "0002", url=db_url).stdout  # the rule stays: no --yes
    assert "revision none" in cli("db", "downgrade", "base", "--yes", url=db_url).stdout
    assert set(baseline_rows(db_url).values()) == {None}  # this project made them from nothing


def test_downgrade_of_an_adopted_database_keeps_the_apps_tables_and_rows(adopted_db):
    before = baseline_rows(adopted_db)
    assert before["users"] and before["sessions"]
    assert_one_line_error(cli("db", "downgrade", "base", url=adopted_db, check=False),
                          "going below 0002", "the app's own tables stay (this database was adopted", "--yes")
    assert revision_of(adopted_db) == head()

    done = cli("db", "downgrade", "base", "--yes", url=adopted_db).stdout
    assert "revision none" in done
    assert "The app's own tables (users, sessions, ...) are left as they were, with their rows" in done
    after = baseline_rows(adopted_db)
    # Every row of the app's, as it was; of its columns only those the rule added are gone.
    assert None not in after.values()
    for table, rows in before.items():
        columns = after[table][0].keys() if after[table] else ()
        assert after[table] == in_order({c: row[c] for c in columns} for row in rows), table
    with psycopg.connect(adopted_db) as conn:
        assert scalar(conn, "SELECT to_regclass('acceptances') IS NULL")
        assert scalar(conn, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'sessions'::regclass"
                            " AND attname = 'starts_at'") == 0

    # Adopted again, then taken down by Alembic's own path (the library): the tables stay all the same.
    assert f"revision {head()} (head)" in cli("db", "adopt", "--apply", url=adopted_db).stdout
    downgrade(adopted_db, "base")
    assert revision_of(adopted_db) is None
    assert baseline_rows(adopted_db) == after


def test_a_database_migrated_before_its_origin_was_recorded_counts_as_adopted(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("COMMENT ON TABLE astegni_alembic_version IS NULL")
    assert "left as they were" in cli("db", "downgrade", "base", "--yes", url=db_url).stdout
    assert None not in baseline_rows(db_url).values()


def test_adopt_says_the_plan_it_will_run(db_url):
    at_head = cli("db", "adopt", url=db_url).stdout
    assert f"Ready: astegni db adopt --apply changes nothing: the database is at head ({head()})" in at_head
    cli("db", "downgrade", "0002", url=db_url)
    behind = cli("db", "adopt", url=db_url).stdout
    assert f"Ready: astegni db adopt --apply only upgrades, from 0002 to head ({head()})" in behind
    assert "stamps 0001" not in behind
    assert f"revision {head()} (head)" in cli("db", "adopt", "--apply", url=db_url).stdout


def test_database_url_after_the_command(db_url, seeded):
    _, _, _, request = seeded
    nowhere = "postgresql://nobody@127.0.0.1:1/nowhere"
    assert f"revision {head()} (head)" in cli("db", "current", "--database-url", db_url).stdout
    assert "revision 0003" in cli("db", "downgrade", "0003", "--database-url", db_url).stdout
    assert f"revision {head()} (head)" in cli("db", "upgrade", "--database-url", db_url).stdout
    # The command's own wins over the one before the command and over DATABASE_URL.
    result = cli("--database-url", nowhere, "accept", str(request), "--database-url", db_url, url=nowhere)
    assert re.search(r"sessions created\s*│\s*24", result.stdout)


@pytest.mark.parametrize(("args", "message"), [
    (["end-series", "4", "2027-02-30"], "no such date: 2027-02-30"),
    (["end-series", "4", "30/01/2027"], "'30/01/2027' is not a date YYYY-MM-DD"),
    (["reschedule", "4", "--from", "2027-02-29"], "no such date: 2027-02-29"),
    (["sessions", "--tutor", "1", "--to", "2027-13-01"], "no such date: 2027-13-01"),
    (["time-off", "add", "1", "2027-04-31", "2027-05-02"], "no such date: 2027-04-31"),
    (["time-off", "add", "1", "2027-03-01T24:30", "2027-03-02"], "no such date or time: 2027-03-01T24:30"),
    (["sessions", "--tutor", "1", "--from", "2027-02-01", "--to", "2027-01-01"],
     "2027-01-01 is before --from 2027-02-01"),
], ids=["impossible day", "other format", "not a leap year", "month 13", "April 31", "hour 24", "backwards"])
def test_a_date_that_does_not_exist_or_a_backwards_range_is_refused(args, message):
    result = cli(*args, url="postgresql://nobody@127.0.0.1:1/nowhere", check=False)  # refused before
    assert result.returncode == 2
    assert message in " ".join(result.stderr.replace("│", " ").split())
    assert "%Y" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["sessions", "--tutor"], ["ical", "--student"]], ids=" ".join)
def test_a_reader_gone_ends_the_command_quietly(conn, db_url, seeded, command):
    """`astegni sessions --tutor 1 | head -3`: head leaves once it has its lines (a table by rich, a
    calendar as bytes)."""
    tutor, _, student, request = seeded
    astegni.accept(conn, request)
    ids = {"sessions": tutor, "ical": student}
    read, write = os.pipe()
    os.close(read)  # gone before the first line: every write fails
    try:
        result = subprocess.run([sys.executable, "-m", "astegni.cli", *command, str(ids[command[0]])],
                                stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
                                env={**os.environ, "DATABASE_URL": db_url})
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (0, "")


def test_unmigrated_database_is_one_line(empty_db_url, db_url):
    assert_one_line_error(cli("accept", "1", url=empty_db_url, check=False),
                          "is not migrated", "astegni db upgrade")
    downgrade(db_url, "0001")
    assert_one_line_error(cli("sessions", "--tutor", "1", url=db_url, check=False),
                          "is at revision 0001")


def test_unreachable_database_is_one_line():
    url = "postgresql://nobody:secret@127.0.0.1:1/nowhere"
    result = cli("preview", "1", url=url, check=False)
    assert_one_line_error(result, "cannot reach the database", "port=1")
    assert "secret" not in result.stderr


def test_no_database_is_one_line():
    assert_one_line_error(cli("accept", "1", check=False), "DATABASE_URL")


def test_read_only_database_is_one_line(server_url, empty_db_url, db_url):
    with psycopg.connect(server_url, autocommit=True) as admin:
        for url in (empty_db_url, db_url):
            admin.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(
                sql.Identifier(conninfo_to_dict(url)["dbname"])))
    assert_one_line_error(cli("db", "upgrade", url=empty_db_url, check=False),
                          "error 25006", "read-only transaction", "default_transaction_read_only")
    assert_one_line_error(cli("db", "downgrade", "0001", "--yes", url=db_url, check=False),
                          "error 25006", "read-only transaction")


def test_role_without_privileges_is_one_line(server_url, empty_db_url, db_url):
    role = f"astegni_nobody_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex  # also logs in where the server asks non-superusers for one
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(password)))
    try:
        as_nobody = [make_conninfo(url, user=role, password=password) for url in (empty_db_url, db_url)]
        result = cli("db", "upgrade", url=as_nobody[0], check=False)
        assert_one_line_error(result, "error 42501", "permission denied for schema public")
        assert password not in result.stderr
        assert_one_line_error(cli("sessions", "--tutor", "1", url=as_nobody[1], check=False),
                              f"the login {role} is granted neither astegni_app nor astegni_admin")
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.mark.parametrize("role", ["app", "admin"])
def test_every_client_command_runs_as_a_login_of_a_client_role(conn, db_url, seeded, logins, role, tmp_path):
    """A login that is only a member of astegni_app (or of astegni_admin) runs every command but
    `astegni db ...`: each reads the database's revision first, which the roles may read. The extension
    is the scheduler's, which astegni_admin is and astegni_app is not."""
    tutor, user, student, request = seeded
    url = as_login(db_url, logins[role])
    assert "24 create, 0 skip, 0 refuse" in cli("preview", str(request), url=url).stdout
    accepted = cli("accept", str(request), "--tutor", str(tutor), url=url).stdout
    assert re.search(r"sessions created\s*│\s*24", accepted)
    assert "24 sessions" in cli("sessions", "--tutor", str(tutor), url=url).stdout
    assert "24 sessions" in cli("sessions", "--student", str(student), url=url).stdout
    sessions = {r[0] for r in conn.execute("SELECT id FROM sessions").fetchall()}
    course = scalar(conn, "SELECT min(enrolled_courses_id) FROM sessions")
    for option, value in (("--student", student), ("--course", course)):
        path = tmp_path / f"{value}.ics"
        cli("ical", option, str(value), "-o", str(path), url=url)
        assert_calendar_matches(conn, path.read_bytes(), sessions)
    if role == "admin":
        assert cli("extend", url=url).stdout.strip() == "extended 0 series: 0 sessions made"
    else:
        assert_one_line_error(cli("extend", url=url, check=False), "error 42501", "astegni_extend_series",
                              "astegni extend a role granted astegni_admin")
    start = tutor_today(conn, "Europe/Berlin") + dt.timedelta(days=14)
    assert "if rescheduled" in cli("reschedule", str(request), "--from", str(start), "--start", "18:00",
                                   "--end", "19:00", "--preview", url=url).stdout
    first = tutor_today(conn, "Europe/Berlin") + dt.timedelta(days=1)
    cli("time-off", "add", str(tutor), str(first), str(first + dt.timedelta(days=1)), url=url)
    time_off = scalar(conn, "SELECT id FROM tutor_time_off WHERE tutor_id = %s", tutor)
    assert "1 time off" in cli("time-off", "list", str(tutor), url=url).stdout
    cli("time-off", "remove", str(time_off), url=url)
    cli("end-series", str(request), str(start), url=url)
    assert scalar(conn, "SELECT last_date FROM series WHERE request_id = %s", request) == start
    cli("cancel", str(request), url=url)
    other = Factory(conn).request(tutor, user, **MON_WED_FRI)
    cli("reject", str(other), "--reason", "Fully booked", url=url)
    assert cli("listen", "--count", "0", url=url).returncode == 0
    assert conn.execute("SELECT id, status FROM requested_sessions ORDER BY id").fetchall() == [
        (request, "cancelled"), (other, "rejected")]


def test_the_schedulers_login_runs_the_extension(conn, db_url, seeded, logins):
    """The cron job's login, granted astegni_scheduler alone: it reads the revision and extends."""
    assert cli("extend", url=as_login(db_url, logins["scheduler"])).stdout.strip() == (
        "extended 0 series: 0 sessions made")


# Every command but `astegni db upgrade/downgrade/adopt`, with arguments it accepts.
CLIENT_COMMANDS = [["accept", "1"], ["reject", "1"], ["cancel", "1"], ["preview", "1"],
                   ["sessions", "--tutor", "1"], ["ical", "--student", "1"], ["listen"], ["extend"],
                   ["end-series", "1", "2099-01-01"], ["reschedule", "1", "--from", "2099-01-01"],
                   ["time-off", "add", "1", "2099-01-01", "2099-01-02"], ["time-off", "remove", "1"],
                   ["time-off", "list", "1"], ["db", "current"]]


@pytest.mark.parametrize("command", CLIENT_COMMANDS, ids=" ".join)
def test_a_login_with_no_grants_is_told_which_grant_it_lacks(db_url, logins, command):
    nobody = logins["nobody"]
    assert_one_line_error(cli(*command, url=as_login(db_url, nobody), check=False),
                          f"error: the login {nobody} is granted neither astegni_app nor astegni_admin",
                          "astegni_alembic_version", f"GRANT astegni_app TO {nobody}",
                          f"GRANT astegni_admin TO {nobody}")


def test_a_client_login_on_a_database_older_than_its_grant_is_told_to_upgrade(db_url, logins):
    downgrade(db_url, "0003")  # before the client roles could read the revision
    assert_one_line_error(cli("sessions", "--tutor", "1", url=as_login(db_url, logins["app"]), check=False),
                          f"the login {logins['app']} is granted astegni_app, yet may not read",
                          "astegni db upgrade")


def test_unknown_revision_is_one_line(db_url):
    assert_one_line_error(cli("db", "downgrade", "bogus", url=db_url, check=False),
                          "error:", "No such revision or branch 'bogus'")
    assert_one_line_error(cli("db", "upgrade", "bogus", url=db_url, check=False), "'bogus'")


def test_migration_stopped_by_rows_lists_them_without_traceback(empty_db_url):
    assert "revision 0001" in cli("db", "upgrade", "0001", url=empty_db_url).stdout
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email, password_hash) VALUES ('abebe@example.test', 'x');"
                     "INSERT INTO tutor_profiles (user_id) VALUES (1);"
                     "INSERT INTO student_profiles (user_id) VALUES (1);"
                     "INSERT INTO tutor_packages (tutor_id, name) VALUES (1, 'Physics');"
                     "INSERT INTO enrolled_students (tutor_id, student_id, package_id)"
                     " VALUES (1, 1, 1), (1, 1, 1)")
    result = cli("db", "upgrade", url=empty_db_url, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    first, *rows = result.stderr.strip().splitlines()
    assert first.startswith("error: Migration 0002 stopped, nothing was changed: 1 rows")
    assert len(rows) == 1
    assert "students enrolled twice" in rows[0]
    assert "astegni db adopt" in rows[0]  # the hint follows the listed rows


def test_unwritable_output_is_one_line(conn, db_url, seeded, tmp_path):
    _, _, student, _ = seeded
    path = tmp_path / "missing" / "hana.ics"
    assert_one_line_error(cli("ical", "--student", str(student), "-o", str(path), url=db_url,
                              check=False), f"cannot write {path}", "No such file or directory")


@pytest.mark.parametrize("command", [
    ["sessions", "--tutor"], ["sessions", "--tz", "UTC", "--tutor"], ["sessions", "--student"],
    ["ical", "--student"], ["ical", "--course"]], ids=" ".join)
def test_unknown_id_is_one_error(db_url, command):
    kind = command[-1].removeprefix("--")
    result = cli(*command, "99999", url=db_url, check=False)
    assert_one_line_error(result, f"error: {kind} 99999 does not exist", f"--{kind} takes")
    assert result.stdout == ""


def test_preview_writes_nothing(conn, db_url, seeded):
    _, _, _, request = seeded
    result = cli("preview", str(request), url=db_url)
    assert "24 create, 0 skip, 0 refuse" in result.stdout
    assert re.search(r"17:00 CES?T", result.stdout)  # the tutor's wall clock, summer or winter
    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", request) == "pending"
    assert scalar(conn, "SELECT count(*) FROM sessions") == 0


def test_accept_commits_and_refusals_are_one_line(conn, db_url, seeded):
    tutor, _, _, request = seeded
    assert_one_line_error(cli("accept", str(request), "--tutor", str(tutor + 1), url=db_url,
                                  check=False), "error AS001")
    result = cli("accept", str(request), "--tutor", str(tutor), url=db_url)
    assert re.search(r"sessions created\s*│\s*24", result.stdout)
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s", request) == 24
    assert_one_line_error(cli("accept", str(request), url=db_url, check=False), "error AS002")


def test_accept_and_preview_take_the_tutors_edits(conn, db_url, seeded):
    tutor, _, _, request = seeded
    dates = [r.session_date for r in astegni.preview(conn, request)]
    edits = ["--without", str(dates[0]), "--without", str(dates[1]), "--move", f"{dates[2]}=19:00-20:30"]
    shown = cli("preview", str(request), *edits, url=db_url)
    assert "22 create, 2 skip, 0 refuse" in shown.stdout
    moved = rf"{dates[2]}\s*│\s*{dates[2]} 19:00 CES?T\s*│\s*{dates[2]} 20:30 CES?T\s*│\s*90\s*│\s*create"
    assert re.search(moved, shown.stdout)
    result = cli("accept", str(request), "--tutor", str(tutor), *edits, url=db_url)
    assert re.search(r"sessions created\s*│\s*22", result.stdout)
    assert result.stdout.count("tutor_edit") == 2
    assert scalar(conn, "SELECT start_time FROM sessions WHERE request_id = %s AND session_date = %s",
                  request, dates[2]) == dt.time(19)


def test_a_bad_edit_is_one_line(conn, db_url, seeded):
    _, _, _, request = seeded
    for move in ("2027-01-13", "2027-01-13=3pm-4pm"):
        result = cli("accept", str(request), "--move", move, url=db_url, check=False)
        assert result.returncode == 2 and "HH:MM" in result.stderr
    assert_one_line_error(cli("preview", str(request), "--without", "2020-01-06", url=db_url, check=False),
                          "error AS017", "without 2020-01-06 is not one of its occurrences")
    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", request) == "pending"


def test_accept_shows_what_was_skipped(conn, db_url, seeded):
    tutor, user, _, _ = seeded
    request = Factory(conn).request(tutor, user, schedule_type="specific_dates",
                                    specific_dates=["2020-01-06", "2099-01-05"])
    result = cli("accept", str(request), url=db_url)
    assert "2020-01-06" in result.stdout
    assert "past" in result.stdout
    assert scalar(conn, "SELECT count(*) FROM skipped_occurrences WHERE request_id = %s",
                  request) == 1


def test_malformed_schedule_names_field_and_value(conn, db_url, seeded):
    tutor, user, _, _ = seeded
    request = Factory(conn).request(tutor, user, schedule_type="recurring", days=["Mon", "Funday"])
    assert_one_line_error(cli("accept", str(request), url=db_url, check=False),
                          "error AS005", "Funday")


def test_reject_records_the_reason(conn, db_url, seeded):
    _, _, _, request = seeded
    cli("reject", str(request), "--reason", "Fully booked", url=db_url)
    assert conn.execute("SELECT status, rejected_reason FROM requested_sessions WHERE id = %s",
                        (request,)).fetchone() == ("rejected", "Fully booked")


def test_cancel_cancels_the_sessions(conn, db_url, seeded):
    _, _, _, request = seeded
    astegni.accept(conn, request)
    result = cli("cancel", str(request), "--reason", "Moved away", url=db_url)
    assert re.search(r"sessions cancelled\s*│\s*24", result.stdout)
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s"
                        " AND status = 'cancelled'", request) == 24


def test_sessions_in_the_viewers_zone(conn, db_url, seeded):
    tutor, _, student, request = seeded
    astegni.accept(conn, request)
    by_tutor = cli("sessions", "--tutor", str(tutor), url=db_url).stdout
    assert "24 sessions" in by_tutor
    assert "(times in Europe/Berlin)" in by_tutor
    assert re.search(r"17:00 CES?T", by_tutor)
    in_tokyo = cli("sessions", "--student", str(student), "--tz", "Asia/Tokyo", url=db_url).stdout
    assert "24 sessions" in in_tokyo
    assert re.search(r"0[01]:00 JST", in_tokyo)  # 17:00 in Berlin is 00:00 or 01:00 in Tokyo
    first = scalar(conn, "SELECT (min(starts_at) AT TIME ZONE 'Europe/Berlin')::date FROM sessions")
    week = cli("sessions", "--tutor", str(tutor), "--from", str(first),
               "--to", str(first + dt.timedelta(days=6)), url=db_url).stdout
    assert "3 sessions" in week


def test_sessions_needs_one_viewer(db_url):
    assert cli("sessions", url=db_url, check=False).returncode == 2


def test_ical_of_a_student_and_of_a_course(conn, db_url, seeded, tmp_path):
    _, _, student, request = seeded
    astegni.accept(conn, request)
    conn.execute("UPDATE sessions SET status = 'cancelled' WHERE id = (SELECT min(id) FROM sessions)")
    sessions = {r[0] for r in conn.execute("SELECT id FROM sessions").fetchall()}
    path = tmp_path / "student.ics"
    cli("ical", "--student", str(student), "-o", str(path), url=db_url)
    assert_calendar_matches(conn, path.read_bytes(), sessions)
    course = scalar(conn, "SELECT min(enrolled_courses_id) FROM sessions")
    stdout = subprocess.run([sys.executable, "-m", "astegni.cli", "--database-url", db_url, "ical",
                             "--course", str(course)], capture_output=True, check=True).stdout
    assert_calendar_matches(conn, stdout, sessions)


def test_listen_prints_json_lines(conn, db_url, seeded):
    _, _, student, request = seeded
    environment = {**os.environ, "DATABASE_URL": db_url}
    with subprocess.Popen([sys.executable, "-m", "astegni.cli", "listen", "--count", "2"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=environment) as listener:
        assert "Listening" in listener.stderr.readline()
        astegni.accept(conn, request)
        astegni.cancel(conn, request)
        stdout, _ = listener.communicate(timeout=120)
    assert listener.returncode == 0
    events = [json.loads(line) for line in stdout.splitlines()]
    assert [(e["event"], e["request_id"], e["student_id"], e["sessions"]) for e in events] == [
        ("accepted", request, student, 24), ("cancelled", request, student, 24)]



def test_extend_prints_what_it_made(conn, db_url, seeded):
    _, _, _, request = seeded
    astegni.accept(conn, request)
    assert pull_back(conn, request, days=14) == 6
    result = cli("extend", url=db_url)
    assert result.stdout.strip() == "extended 1 series: 6 sessions made"
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s", request) == 24
    assert scalar(conn, "SELECT (series_grown, sessions_made)::text FROM astegni_extensions") == "(1,6)"
    assert cli("extend", url=db_url).stdout.strip() == "extended 0 series: 0 sessions made"


def test_end_series_commits_and_refusals_are_one_line(conn, db_url, seeded):
    _, _, _, request = seeded
    assert_one_line_error(cli("end-series", str(request), "2099-01-01", url=db_url, check=False),
                          "error AS014", "not a series")
    astegni.accept(conn, request)
    dates = [d for (d,) in conn.execute("SELECT session_date FROM sessions WHERE request_id = %s"
                                        " ORDER BY 1", (request,)).fetchall()]
    result = cli("end-series", str(request), str(dates[11]), "--reason", "Exams", url=db_url)
    assert re.search(r"sessions cancelled\s*│\s*12", result.stdout)
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND status = 'cancelled'"
                        " AND cancelled_reason = 'series_ended'", request) == 12
    assert scalar(conn, "SELECT ended_reason FROM series WHERE request_id = %s", request) == "Exams"
    assert_one_line_error(cli("end-series", str(request), str(dates[15]), url=db_url, check=False),
                          "error AS015", "already ends on")
    assert cli("end-series", str(request), "next week", url=db_url, check=False).returncode == 2


def test_reschedule_preview_writes_nothing_and_the_change_commits(conn, db_url, seeded):
    _, _, _, request = seeded
    astegni.accept(conn, request)
    start = tutor_today(conn, "Europe/Berlin") + dt.timedelta(days=14)
    before = conn.execute("SELECT * FROM sessions ORDER BY id").fetchall()
    args = ["reschedule", str(request), "--from", str(start), "--days", "Tue, Wed", "--start", "18:00",
            "--end", "19:00"]
    preview = cli(*args, "--preview", url=db_url).stdout
    assert f"Series {request} if rescheduled from {start} (times in Europe/Berlin)" in preview
    assert re.search(r"18:00 CES?T", preview)
    counts = re.search(r"(\d+) keep, (\d+) move, (\d+) create, (\d+) cancel, (\d+) skip", preview)
    assert counts is not None
    assert conn.execute("SELECT * FROM sessions ORDER BY id").fetchall() == before
    applied = cli(*args, url=db_url).stdout
    assert f"Series {request} rescheduled from {start}" in applied
    assert counts.group(0) in applied  # what the preview said
    keep, move, create, cancel, _ = (int(n) for n in counts.groups())
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND session_date >= %s"
                        " AND status = 'scheduled' AND start_time = '18:00'", request, start) == (
        keep + move + create)
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s"
                        " AND cancelled_reason = 'rescheduled'", request) == cancel
    assert scalar(conn, "SELECT days::text FROM requested_sessions WHERE id = %s", request) == (
        '["Tue", "Wed"]')
    assert_one_line_error(cli("reschedule", str(request), "--from", str(start), "--days", "Mon,Funday",
                              url=db_url, check=False), "error AS005", "Funday")
    assert cli("reschedule", str(request), "--from", str(start), "--start", "7pm", url=db_url,
               check=False).returncode == 2


def test_time_off_add_list_remove(conn, db_url, seeded):
    tutor, _, _, request = seeded
    astegni.accept(conn, request)
    first = tutor_today(conn, "Europe/Berlin") + dt.timedelta(days=1)
    last = first + dt.timedelta(days=7)
    added = cli("time-off", "add", str(tutor), str(first), str(last), "--reason", "Conference",
                url=db_url).stdout
    assert re.search(r"sessions cancelled\s*│\s*3", added)
    assert re.search(rf"from\s*│\s*{first} 00:00 CES?T", added)
    time_off = scalar(conn, "SELECT id FROM tutor_time_off WHERE tutor_id = %s", tutor)
    assert f"Time off {time_off} of tutor {tutor}" in added
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE status = 'cancelled'"
                        " AND cancelled_reason = 'time_off'") == 3
    listed = cli("time-off", "list", str(tutor), url=db_url).stdout
    assert "Conference" in listed and "1 time off" in listed
    assert re.search(rf"│ {time_off}\s*│ {first} 00:00 CES?T\s*│ {last} 00:00 CES?T", listed)
    removed = cli("time-off", "remove", str(time_off), url=db_url).stdout
    assert f"Removed time off {time_off}" in removed
    assert scalar(conn, "SELECT count(*) FROM tutor_time_off") == 0
    assert cli("extend", url=db_url).stdout.strip() == "extended 1 series: 3 sessions made"
    assert_one_line_error(cli("time-off", "remove", str(time_off), url=db_url, check=False),
                          f"error: time off {time_off} does not exist")
    assert_one_line_error(cli("time-off", "add", "99999", str(first), str(last), url=db_url, check=False),
                          "error: tutor 99999 does not exist")
    assert_one_line_error(cli("time-off", "add", str(tutor), str(last), str(first), url=db_url,
                              check=False), "error AS016", "is empty")
    assert_one_line_error(cli("time-off", "list", "99999", url=db_url, check=False),
                          "error: tutor 99999 does not exist")


def test_listen_prints_series_events(conn, db_url, seeded):
    tutor, _, student, request = seeded
    astegni.accept(conn, request)
    pull_back(conn, request)
    environment = {**os.environ, "DATABASE_URL": db_url}
    with subprocess.Popen([sys.executable, "-m", "astegni.cli", "listen", "--count", "2"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=environment) as listener:
        assert "Listening" in listener.stderr.readline()
        astegni.extend(conn)
        astegni.end_series(conn, request, dt.date(2000, 1, 1), "Moved away")
        stdout, _ = listener.communicate(timeout=120)
    assert listener.returncode == 0
    events = [json.loads(line) for line in stdout.splitlines()]
    assert [(e["event"], e["request_id"], e["tutor_id"], e["student_id"], e["sessions"], e["note"])
            for e in events] == [("extended", request, tutor, student, 3, None),
                                 ("ended", request, tutor, student, 24, "Moved away")]


def demo_tables(stdout, *, on_embedded):
    """The demo's tables, and its last lines: the database, how to point DATABASE_URL at it and, on the
    embedded server, how to stop it. Returns the database's URL."""
    assert "refused ScheduleConflict (AS007)" in stdout
    assert "the tutor teaches another course then" in stdout
    assert "its date has passed" in stdout
    assert "Preview of request" in stdout
    assert "0 sessions: the request names no dates yet" in stdout
    assert "8 sessions: its month/year window has passed" in stdout
    assert re.search(r"CET.*\n.*\n.*CEST|CEST", stdout)
    url = re.search(r"The demo database: (.+)", stdout).group(1).strip()
    exported = re.search(r"Point astegni \(or psql\) at it: export DATABASE_URL=(.+)", stdout).group(1)
    # A server with a password (testcontainers') is shown without it, and the line says so.
    assert shlex.split(exported.removesuffix(" (and its password)")) == [url]
    stop = "Stop its server: astegni demo --stop (the next astegni demo starts it again)"
    assert stdout.rstrip().endswith(stop) == on_embedded
    return url


def assert_demo_database(url):
    """Six requests accepted, the clashing one left pending; sessions only for accepted ones."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT r.status, count(DISTINCT r.id), count(s.id) FROM requested_sessions AS r"
            " LEFT JOIN sessions AS s ON s.request_id = r.id GROUP BY r.status ORDER BY 1").fetchall()
        skipped = conn.execute("SELECT DISTINCT reason FROM skipped_occurrences ORDER BY 1").fetchall()
    assert [row[:2] for row in rows] == [("accepted", 6), ("pending", 1)]
    assert rows[1][2] == 0
    # 2 dated + 24 recurring + 8 around clashes + 18 in a window + 8 past a stale window
    assert rows[0][2] >= 58
    assert skipped == [("conflict",), ("past",)]


def readme_demo():
    """What the README shows the demo printing: the lines after `$ astegni demo` in its code block."""
    return (ROOT / "README.md").read_text().split("$ astegni demo\n", 1)[1].split("```", 1)[0].splitlines()


def headings(lines):
    """The lines that are not table rows, but the progress bar (its time varies)."""
    return [line.rstrip() for line in lines if line[:1].isalpha() and not line.startswith("Done ")]


def test_demo_against_a_server(server_url):
    name = f"astegni_demo_{uuid.uuid4().hex[:8]}"
    try:
        url = demo_tables(cli("demo", "--name", name, url=server_url).stdout, on_embedded=False)
        assert conninfo_to_dict(url)["dbname"] == name
        # The URL shown hides a password; connect with the server's own.
        assert_demo_database(make_conninfo(server_url, dbname=name))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def test_each_installation_has_a_demo_server_of_its_own(monkeypatch):
    mine = embedded.default_data_dir()
    assert mine.name.endswith(f"pg-{embedded.installation_key()}")
    monkeypatch.setattr(sys, "prefix", "/opt/another-venv")  # another environment, the same package
    theirs = embedded.default_data_dir()
    assert theirs != mine and theirs.parent == mine.parent


@pytest.mark.own_servers
def test_demo_against_the_embedded_default(tmp_path, monkeypatch):
    # A user's data directory under tmp_path; as root the default is the system temp directory.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    data_dir = embedded.default_data_dir()
    name = f"astegni_demo_{uuid.uuid4().hex[:8]}"
    result = cli("demo", "--name", name)
    assert f"Using the embedded PostgreSQL in {data_dir}" in result.stderr
    url = demo_tables(result.stdout, on_embedded=True)
    try:
        assert_demo_database(url)
        # The README's sample, but for this installation's directory and the database's name.
        sample, where = readme_demo(), re.compile(r"/tmp/astegni-demo-pg-[0-9a-f]{8}")
        assert result.stderr.splitlines() == [where.sub(str(data_dir), sample[0])]
        socket = conninfo_to_dict(url)["host"]
        assert headings(result.stdout.splitlines()) == [
            where.sub(socket, line).replace("dbname=astegni_demo", f"dbname={name}")
            for line in headings(sample[1:])]
        # What the last lines say works: astegni on that DATABASE_URL, then --stop.
        assert "Sessions of tutor 1" in cli("sessions", "--tutor", "1", url=url).stdout
    finally:
        with psycopg.connect(url_for_database(url, "postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        stopped = cli("demo", "--stop").stdout.strip()
    assert stopped == f"Stopped the demo's server in {data_dir} (its data stays, for the next astegni demo)"
    assert not embedded.running(data_dir)
    assert cli("demo", "--stop").stdout.strip() == f"Nothing to stop: no demo server runs in {data_dir}"

"""Least privilege: the web app's role accepts through the rule, and cannot write sessions itself,
nor steer the rule with temporary objects named like the ones it uses."""

import datetime as dt

import psycopg
import pytest

import astegni
from tests.support import MON_WED_FRI, Factory


@pytest.fixture
def app_conn(db_url):
    """An autocommit connection acting as astegni_app (the rows are made before, as the owner)."""
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


def as_app(conn):
    conn.execute("SET ROLE astegni_app")
    assert conn.execute("SELECT current_user").fetchone() == ("astegni_app",)


def made(conn, request):
    """The request's sessions as the rule stored them: count and ISO weekdays, in the tutor's zone."""
    count, weekdays = conn.execute(
        "SELECT count(*), array_agg(DISTINCT extract(isodow FROM s.starts_at AT TIME ZONE t.timezone)"
        "::int) FROM public.sessions AS s"
        " JOIN public.tutor_profiles AS t ON t.id = s.tutor_id WHERE s.request_id = %s",
        (request,)).fetchone()
    return count, sorted(weekdays or [])


def test_app_accepts_through_an_update(conn, app_conn):
    f = Factory(conn)
    user, _ = f.student()
    request = f.request(f.tutor(), user, **MON_WED_FRI)
    as_app(app_conn)
    app_conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s", (request,))
    assert made(app_conn, request) == (24, [1, 3, 5])


def test_app_accepts_through_the_python_layer(conn, app_conn):
    f = Factory(conn)
    user, _ = f.student()
    request = f.request(f.tutor(), user, **MON_WED_FRI)
    as_app(app_conn)
    assert astegni.accept(app_conn, request).sessions_created == 24
    assert astegni.cancel(app_conn, request).sessions_cancelled == 24


@pytest.mark.parametrize("statement", [
    "INSERT INTO sessions (enrolled_courses_id, tutor_id, session_date, start_time, end_time)"
    " SELECT enrolled_courses_id, tutor_id, session_date + 1, start_time, end_time FROM sessions"
    " LIMIT 1",
    "UPDATE sessions SET status = 'cancelled'",
    "DELETE FROM sessions",
    "INSERT INTO enrolled_students (tutor_id, student_id) SELECT tutor_id, 1 FROM sessions LIMIT 1",
    "DELETE FROM enrolled_students",
    "UPDATE enrolled_courses SET students_id = '{}'",
    "UPDATE requested_sessions SET days = '[\"Sunday\"]'",
])
def test_app_cannot_write_what_the_rule_writes(conn, app_conn, statement):
    f = Factory(conn)
    user, _ = f.student()
    astegni.accept(conn, f.request(f.tutor(), user, **MON_WED_FRI))
    as_app(app_conn)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute(statement)


def test_temporary_lookalikes_do_not_change_the_rule(conn, app_conn):
    f = Factory(conn)
    user, _ = f.student()
    request = f.request(f.tutor("Europe/Berlin"), user, start_time=dt.time(17),
                        end_time=dt.time(18), **MON_WED_FRI)
    as_app(app_conn)
    # Objects the app may create, named like the ones the rule reads or calls: a temp table comes
    # first in an unpinned search_path, so the rule would write into or read from these.
    app_conn.execute("CREATE TEMP TABLE sessions (LIKE public.sessions)")
    app_conn.execute("CREATE TEMP TABLE schedule_settings AS"
                     " SELECT true AS id, 1 AS weeks_horizon, 1 AS session_limit")
    app_conn.execute("CREATE TEMP TABLE tutor_profiles AS"
                     " SELECT id, user_id, 'Pacific/Kiritimati'::text AS timezone FROM public.tutor_profiles")
    app_conn.execute("CREATE FUNCTION pg_temp.astegni_weekday(text) RETURNS integer"
                     " LANGUAGE sql AS 'SELECT 7'")
    app_conn.execute("CREATE FUNCTION pg_temp.now() RETURNS timestamptz"
                     " LANGUAGE sql AS $$SELECT timestamptz '2099-01-01'$$")
    # They are in effect for an unqualified name in this session:
    assert app_conn.execute("SELECT weeks_horizon FROM schedule_settings").fetchone() == (1,)
    app_conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s", (request,))
    assert made(app_conn, request) == (24, [1, 3, 5])
    assert app_conn.execute("SELECT count(*) FROM pg_temp.sessions").fetchone() == (0,)
    assert app_conn.execute(
        "SELECT DISTINCT (starts_at AT TIME ZONE 'Europe/Berlin')::time FROM public.sessions"
        " WHERE request_id = %s", (request,)).fetchall() == [(dt.time(17),)]
    [(first,)] = app_conn.execute("SELECT min(starts_at) FROM public.sessions WHERE request_id = %s",
                                  (request,)).fetchall()
    assert first < dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


# The app's database holds password hashes, two-factor secrets and payments: the roles get exactly
# the tables and columns the rule needs.
SECRETS = [("users", "password_hash"), ("users", "email"), ("tutor_profiles", "two_factor_secret"),
           ("student_profiles", "two_factor_secret"), ("parent_profiles", "two_factor_secret"),
           ("user_investments", "amount")]


def readable_tables(conn, role):
    return {t for (t,) in conn.execute(
        "SELECT c.relname FROM pg_class AS c WHERE c.relnamespace = 'public'::regnamespace"
        " AND c.relkind = 'r' AND has_table_privilege(%s, c.oid, 'SELECT')", (role,)).fetchall()}


def readable_columns(conn, role, table):
    return {c for (c,) in conn.execute(
        "SELECT a.attname FROM pg_attribute AS a WHERE a.attrelid = %s::regclass AND a.attnum > 0"
        " AND NOT a.attisdropped AND has_column_privilege(%s, a.attrelid, a.attnum, 'SELECT')",
        (table, role)).fetchall()}


# astegni_admin also reads the mailer's refusals.
@pytest.mark.parametrize(("role", "also"), [("astegni_app", set()),
                                            ("astegni_admin", {"astegni_mail_refusals"})])
def test_roles_read_no_secret_and_nothing_beyond_the_rule(conn, role, also):
    for table, column in SECRETS:
        assert conn.execute("SELECT has_column_privilege(%s, %s, %s, 'SELECT')",
                            (role, table, column)).fetchone() == (False,), (table, column)
    assert readable_tables(conn, role) == {
        "requested_sessions", "requested_session_students", "sessions", "enrolled_students",
        "enrolled_courses", "skipped_occurrences", "acceptances", "tutor_packages", "schedule_settings",
        "time_zone_names", "astegni_events", "astegni_event_cursors", "series", "series_patterns",
        "tutor_time_off", "astegni_extensions", "astegni_alembic_version", *also}
    assert conn.execute("SELECT has_column_privilege(%s, 'tutor_profiles', 'timezone', 'SELECT')",
                        (role,)).fetchone() == (True,)


def test_the_mailer_reads_addresses_and_no_other_secret(conn):
    """astegni mail's role: users' id and email alone, the profiles' ids, what composing a message reads."""
    assert readable_columns(conn, "astegni_mailer", "users") == {"id", "email"}
    assert readable_columns(conn, "astegni_mailer", "student_profiles") == {"id", "user_id"}
    assert readable_columns(conn, "astegni_mailer", "tutor_profiles") == {"id", "timezone"}
    assert readable_columns(conn, "astegni_mailer", "parent_profiles") == set()
    assert readable_tables(conn, "astegni_mailer") == {
        "requested_sessions", "requested_session_students", "sessions", "astegni_events",
        "astegni_event_cursors", "astegni_mail_refusals", "astegni_alembic_version"}


def test_public_may_execute_no_routine_of_the_rule(conn):
    """PostgreSQL lets PUBLIC execute every routine it creates, so also one a revision adds or re-signs
    (drops and creates again): each revision's roles.sql revokes it. Every routine of the rule at head,
    procedures included."""
    executable = [name for (name,) in conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc AS p WHERE p.pronamespace = 'public'::regnamespace"
        " AND (p.proname LIKE 'astegni\\_%' OR p.proname LIKE 'preview\\_%')"
        " AND has_function_privilege('public', p.oid, 'EXECUTE')").fetchall()]
    assert executable == []

"""schedule_settings: the project's roles read it, only the database owner's role changes it, nobody
deletes it. astegni_admin may try (and hears why not, AS008); astegni_app and PUBLIC hold no write
privilege at all, not even enough to lock the table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import astegni
from astegni.errors import InvalidSchedule, SettingsLocked, translate
from tests.support import Factory, scalar

READ = "SELECT weeks_horizon, session_limit, max_session_minutes FROM schedule_settings"


@pytest.fixture(params=["astegni_app", "astegni_admin"])
def client(request, db_url) -> Iterator[psycopg.Connection[Any]]:
    """A connection acting as one of the project's roles, which are not the database owner's."""
    with psycopg.connect(db_url, autocommit=True) as connection:
        connection.execute(f"SET ROLE {request.param}")
        yield connection


def refused(conn: psycopg.Connection[Any], query: str) -> SettingsLocked:
    with pytest.raises(psycopg.Error) as error:
        conn.execute(query)
    assert error.value.diag.sqlstate == "AS008"
    locked = translate(error.value)
    assert isinstance(locked, SettingsLocked)
    return locked


def test_every_role_reads_the_settings(client):
    assert client.execute(READ).fetchall() == [(8, 200, 480)]


@pytest.mark.parametrize(("operation", "statement"), [
    ("UPDATE", "UPDATE schedule_settings SET weeks_horizon = 52"),
    ("UPDATE", "UPDATE schedule_settings SET max_session_minutes = 1440"),
    ("DELETE", "DELETE FROM schedule_settings"),
    ("INSERT", "INSERT INTO schedule_settings (id) VALUES (true) ON CONFLICT DO NOTHING"),
])
def test_a_role_not_the_owners_cannot_change_the_settings(conn, client, operation, statement):
    role = scalar(client, "SELECT current_user")
    if role == "astegni_admin" and operation == "UPDATE":
        locked = refused(client, statement)
        assert locked.detail == {"role": role, "operation": operation}
    else:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            client.execute(statement)
    assert conn.execute(READ).fetchall() == [(8, 200, 480)]


@pytest.mark.parametrize("role", ["astegni_app", "PUBLIC"])
def test_no_client_can_lock_the_settings_to_stall_acceptances(conn, role):
    # LOCK TABLE ... ACCESS EXCLUSIVE needs UPDATE, DELETE or TRUNCATE privilege.
    for privilege in ("UPDATE", "DELETE", "TRUNCATE", "INSERT"):
        assert scalar(conn, "SELECT has_table_privilege(%s, 'schedule_settings', %s)",
                      "public" if role == "PUBLIC" else role, privilege) is False


def test_nobody_deletes_or_truncates_the_settings(conn):
    refused(conn, "DELETE FROM schedule_settings")
    refused(conn, "TRUNCATE schedule_settings")
    assert conn.execute(READ).fetchall() == [(8, 200, 480)]


def test_the_owner_changes_the_settings_and_acceptance_follows(conn):
    conn.execute("UPDATE schedule_settings SET weeks_horizon = 3")
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE schedule_settings SET session_limit = 0")
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO schedule_settings (weeks_horizon) VALUES (4)")
    assert conn.execute(READ).fetchall() == [(3, 200, 480)]
    f = Factory(conn)
    tutor = f.tutor()
    request = f.request(tutor, f.student()[0], schedule_type="recurring", days=["Mon", "Wed"])
    assert astegni.accept(conn, request).sessions_created == 6


def test_the_owner_sets_the_longest_session_and_acceptance_preview_and_moves_follow(conn):
    f = Factory(conn)
    tutor = f.tutor()
    user = f.student()[0]
    day_long = f.request(tutor, user, schedule_type="recurring", days=["Mon"], start_time=dt.time(11),
                         end_time=dt.time(10))
    with pytest.raises(InvalidSchedule):
        astegni.preview(conn, day_long)
    for bad in (0, 1441, None):
        with pytest.raises(psycopg.errors.IntegrityError):
            conn.execute("UPDATE schedule_settings SET max_session_minutes = %s", (bad,))
    conn.execute("UPDATE schedule_settings SET max_session_minutes = 1440")
    assert {row.duration for row in astegni.preview(conn, day_long)} == {1380}
    assert astegni.accept(conn, day_long).sessions_created == 8

    conn.execute("UPDATE schedule_settings SET max_session_minutes = 60")
    longer = f.request(tutor, user, schedule_type="recurring", days=["Tue"], start_time=dt.time(10),
                       end_time=dt.time(11, 1))
    with pytest.raises(InvalidSchedule) as refused:
        astegni.accept(conn, longer)
    assert "limit of 60 minutes" in refused.value.message
    session = scalar(conn, "SELECT min(id) FROM sessions WHERE request_id = %s", day_long)
    with pytest.raises(psycopg.Error) as moved:
        conn.execute("UPDATE sessions SET end_time = '09:00' WHERE id = %s", (session,))
    assert isinstance(translate(moved.value), InvalidSchedule)

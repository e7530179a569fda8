"""The pg_cron job of docs/series.md ("Running the extension"), run for real: a throwaway PostgreSQL 15
with pg_cron preloaded, the project migrated into it, the job scheduled as the docs say; the test waits
for pg_cron to run it and checks the sessions it made. Skipped where PostgreSQL 15 or pg_cron (Debian's
postgresql-15-cron, installed by .ci/run) is missing."""

from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from astegni.migrations import upgrade
from tests.support import ADDIS_ABABA, MON_WED_FRI, ROOT, Factory, pull_back, scalar, session_dates

pytestmark = pytest.mark.own_servers  # a PostgreSQL 15 with pg_cron of its own

BIN = Path("/usr/lib/postgresql/15/bin")
PG_CRON = Path("/usr/lib/postgresql/15/lib/pg_cron.so")
DATABASE = "astegni"
JOB = "astegni-extend-series"
COMMAND = "CALL astegni_extend_series()"
# The statements docs/series.md gives, run verbatim.
SCHEDULE = f"SELECT cron.schedule('{JOB}', '17 * * * *', '{COMMAND}');"
UNSCHEDULE = f"SELECT cron.unschedule('{JOB}');"
# pg_cron 1.4 runs jobs on minute boundaries: the first run of an every-minute job is at most a minute
# (plus the run itself) away.
RUN_TIMEOUT = 75.0


def _server_user() -> str | None:
    """The OS user to run the server as: initdb refuses root, so as root the Debian packages' own
    `postgres` account (present wherever their binaries are); otherwise ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no `postgres` OS user to run the test server as")
    return "postgres"


def _run(user: str | None, cwd: Path, *args: str) -> None:
    command = ["runuser", "-u", user, "--", *args] if user else list(args)
    # The server's own user may not be able to enter the caller's working directory.
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


@pytest.fixture
def cron_server() -> Iterator[Path]:
    """A PostgreSQL 15 with pg_cron, listening only on a Unix socket in its temp directory (returned),
    with the database DATABASE (empty). Stopped and deleted afterwards."""
    for needed in (BIN / "pg_ctl", PG_CRON):
        if not needed.exists():
            pytest.skip(f"{needed} is missing: PostgreSQL 15 and pg_cron (postgresql-15-cron) are needed")
    user = _server_user()
    # Under /tmp and short: the socket lives here, and socket paths are limited to ~100 characters.
    home = Path(tempfile.mkdtemp(prefix="pgc", dir="/tmp"))
    data = home / "data"
    try:
        if user:
            shutil.chown(home, user, user)
        _run(user, home, str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-sync")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{home}'\n"
                "shared_preload_libraries = 'pg_cron'\n"
                f"cron.database_name = '{DATABASE}'\n"
                # pg_cron runs each job over a libpq connection, as the role that scheduled it, to
                # cron.host (default localhost over TCP): this server has only its socket, as a
                # production server's jobs would take Debian's /var/run/postgresql.
                f"cron.host = '{home}'\n"
                "fsync = off\n"  # a throwaway server
            )
        try:
            _run(user, home, str(BIN / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w", "start")
            # pg_cron's launcher exits while DATABASE does not exist; it is restarted every second.
            with psycopg.connect(host=str(home), user="postgres", dbname="postgres", autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {DATABASE}")
            yield home
        finally:
            if (data / "postmaster.pid").exists():
                _run(user, home, str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _log(home: Path) -> str:
    """The end of the server's log, for a failure message."""
    log = home / "log"
    return log.read_text()[-3000:] if log.exists() else "(no log)"


def _wait_for_run(conn: psycopg.Connection[Any], home: Path, job: int) -> tuple[str, str]:
    """(status, return_message) of the job's first finished run; fails the test if there is none in time."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT status, return_message FROM cron.job_run_details"
            " WHERE jobid = %s AND status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1", (job,)
        ).fetchone()
        if row is not None:
            return str(row[0]), str(row[1])
        time.sleep(1)
    pytest.fail(f"pg_cron did not run {JOB} within {RUN_TIMEOUT:.0f} s; server log:\n{_log(home)}")


def test_pg_cron_job_extends_the_series(cron_server: Path) -> None:
    url = f"postgresql://postgres@/{DATABASE}?host={cron_server}&port=5432"
    upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_cron")
        f = Factory(conn)
        tutor = f.tutor(ADDIS_ABABA)
        user, _ = f.student()
        # Six hours or more from the tutor's time of day: the horizon, moving by the minute or two the
        # test takes, crosses no occurrence, so the job makes exactly what was deleted.
        hour = scalar(conn, "SELECT extract(hour FROM now() AT TIME ZONE %s)::int", ADDIS_ABABA)
        start = dt.time(22 if 4 <= hour < 16 else 10)
        request = f.request(tutor, user, **MON_WED_FRI, start_time=start,
                            end_time=start.replace(hour=start.hour + 1))
        conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s", (request,))
        made = session_dates(conn, request)
        assert len(made) == 24  # 8 weeks of Mon/Wed/Fri

        # Two weeks back from the marker, and the sessions after it gone: the next extension's work.
        deleted = pull_back(conn, request, days=14)
        assert deleted >= 5
        logged = scalar(conn, "SELECT count(*) FROM astegni_extensions")

        # The docs' line, then the same name again every minute: it replaces the job.
        docs = (ROOT / "docs" / "series.md").read_text()
        assert SCHEDULE in docs
        assert UNSCHEDULE in docs
        first = scalar(conn, SCHEDULE)
        job = scalar(conn, "SELECT cron.schedule(%s, '* * * * *', %s)", JOB, COMMAND)
        assert job == first
        assert conn.execute("SELECT schedule, command, database, username FROM cron.job").fetchall() == [
            ("* * * * *", COMMAND, DATABASE, "postgres")]

        status, message = _wait_for_run(conn, cron_server, job)
        assert (status, message) == ("succeeded", "1 row"), _log(cron_server)
        assert scalar(conn, UNSCHEDULE) is True
        assert scalar(conn, "SELECT count(*) FROM cron.job") == 0

        assert session_dates(conn, request) == made
        runs = conn.execute("SELECT series_grown, sessions_made FROM astegni_extensions"
                            " ORDER BY id OFFSET %s", (logged,)).fetchall()
        assert runs[0] == (1, deleted)
        assert all(run == (0, 0) for run in runs[1:])  # a second run, if any, makes nothing
        extended = conn.execute("SELECT sessions FROM astegni_events WHERE request_id = %s"
                                " AND event = 'extended'", (request,)).fetchall()
        assert extended == [(deleted,)]

"""Figure 10: a web app's mixed load, driven by pgbench against the rule and against its floor.

The same four statements run on both sides, weighted as a tutor's app sends them: an accept (2), a
preview of a pending request (3), a tutor's week of sessions (3) and the app inserting a new request
(2). The rule's side calls astegni_accept and preview_sessions; the floor's, in a clone with the
project's triggers off, one PL/pgSQL function each (workload.FLOOR_ACCEPT, FLOOR_PREVIEW). Each accept
takes the next number of a sequence and accepts that request, tutors in turn, so that no two clients
race for one request; the previews read requests no accept reaches.
"""

from __future__ import annotations

import collections
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from benchmarks import workload
from benchmarks.server import Server

CLIENTS = (1, 2, 4, 8)
# A tutor's requests in slots 0..8 (of PER_TUTOR) are there to be accepted, the last one previewed.
ACCEPTED_SLOTS = 9

# Sessions already booked: every tutor's evenings (17:00 to 22:00, their zone), five a day from 25 days
# back (250 a tutor reach 25 days ahead), in a course of their own, at hours no request of the workload
# uses.
BOOKED = """
ALTER TABLE sessions DISABLE TRIGGER USER;
INSERT INTO tutor_packages (id, tutor_id, name) SELECT 1000000 + t, t, 'Evening'
FROM generate_series(1, {tutors}) AS t;
INSERT INTO enrolled_courses (id, tutor_id, package_id) SELECT 1000000 + t, t, 1000000 + t
FROM generate_series(1, {tutors}) AS t;
INSERT INTO sessions (enrolled_courses_id, tutor_id, session_date, start_time, end_time, duration,
                      starts_at, ends_at)
SELECT 1000000 + t.id, t.id, x.day, x.at, x.at + interval '1 hour', 60,
       (x.day + x.at) AT TIME ZONE t.timezone, (x.day + x.at + interval '1 hour') AT TIME ZONE t.timezone
FROM tutor_profiles AS t,
     generate_series(0, {per_tutor} - 1) AS k,
     LATERAL (SELECT current_date - 25 + k / 5 AS day, time '17:00' + (k % 5) * interval '1 hour' AS at) AS x
ORDER BY t.id, k;
ALTER TABLE sessions ENABLE TRIGGER USER;
CREATE INDEX IF NOT EXISTS sessions_tutor_starts_at ON public.sessions (tutor_id, starts_at);
CREATE SEQUENCE bench_mix_accepts;
"""

# The n-th accept: tutor (n - 1) % tutors + 1, its slot (n - 1) / tutors.
REQUEST = "((n - 1) % :tutors::integer) * 10 + (n - 1) / :tutors::integer + 1"
SCRIPTS = {
    "accept": {
        "rule": f"""
SELECT a.* FROM nextval('bench_mix_accepts') AS n,
    LATERAL astegni_accept(({REQUEST})::integer, ((n - 1) % :tutors::integer + 1)::integer) AS a;""",
        "floor": f"""
SELECT bench_floor_accept(({REQUEST})::integer) FROM nextval('bench_mix_accepts') AS n;""",
    },
    "preview": {
        "rule": "SELECT * FROM preview_sessions(:request::integer);",
        "floor": "SELECT * FROM bench_floor_preview(:request::integer);",
    },
    "week": {
        "both": """
SELECT s.id, s.request_id, s.starts_at, s.ends_at, s.status FROM sessions AS s
WHERE s.tutor_id = :tutor::integer AND s.starts_at >= now() AND s.starts_at < now() + interval '7 days'
ORDER BY s.starts_at;""",
    },
    "insert": {
        "both": """
INSERT INTO requested_sessions (tutor_id, requester_id, requester_type, package_id, message, schedule_type,
                                days, start_time, end_time)
VALUES (:tutor, :student, 'student', 2 * :tutor - 1, 'Physics', 'recurring', '["Saturday"]',
        '09:00', '10:00');""",
    },
}
WEIGHTS = {"accept": 2, "preview": 3, "week": 3, "insert": 2}
RANDOM = (f"\\set tutor random(1, :tutors)\n"
          f"\\set request (:tutor - 1) * 10 + random({ACCEPTED_SLOTS}, {workload.PER_TUTOR - 1}) + 1\n"
          "\\set student :tutors + :tutor\n")


def book(conn: psycopg.Connection[tuple[object, ...]], tutors: int, sessions: int) -> None:
    """The template's booked evenings (sessions // tutors a tutor) and the week listing's index."""
    conn.execute(BOOKED.format(tutors=tutors, per_tutor=max(1, sessions // tutors)))
    conn.execute("VACUUM ANALYZE")


def floor_functions(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute(workload.FLOOR_ACCEPT)
    conn.execute(workload.FLOOR_PREVIEW)


@dataclass
class Run:
    tps: float
    p99: dict[str, float]  # seconds, per statement
    # What the side's active backends waited on, sampled every SAMPLE_EVERY seconds ('CPU': nothing).
    waits: collections.Counter[str] = field(default_factory=collections.Counter)


SAMPLE_EVERY = 0.02
WAITS = """
SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
"""


def sample(url: str, waits: collections.Counter[str], done: threading.Event) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        while not done.wait(SAMPLE_EVERY):
            waits.update(str(row[0]) for row in conn.execute(WAITS))


def run(server: Server, database: str, side: str, clients: int, seconds: int, tutors: int,
        folder: Path) -> Run:
    """One pgbench run of the mix: -M prepared, one thread per client, a log line per statement."""
    scripts = []
    for name, texts in SCRIPTS.items():
        path = folder / f"{side}_{name}.sql"
        path.write_text(RANDOM + texts.get(side, texts.get("both", "")).strip() + "\n")
        scripts += ["-f", f"{path}@{WEIGHTS[name]}"]
    prefix = folder / f"{side}_{clients}"
    params = conninfo_to_dict(server.database_url(database))
    env = {"PATH": "/usr/bin:/bin", **{variable: str(params[key]) for key, variable in LIBPQ.items()
                                       if key in params}}
    waits: collections.Counter[str] = collections.Counter()
    finished = threading.Event()
    sampler = threading.Thread(target=sample, args=(server.database_url(database), waits, finished))
    sampler.start()
    try:
        done = subprocess.run(
            [pgbench(), "-n", "-M", "prepared", "-c", str(clients), "-j", str(clients), "-T", str(seconds),
             "-D", f"tutors={tutors}", "-l", f"--log-prefix={prefix}", *scripts],
            capture_output=True, text=True, env=env, check=False)
    finally:
        finished.set()
        sampler.join()
    if done.returncode != 0:
        with server.connect(database) as conn:
            row = conn.execute("SELECT last_value FROM bench_mix_accepts").fetchone()
        if row and int(str(row[0])) > tutors * ACCEPTED_SLOTS:
            raise AssertionError(f"the {side}'s mix ran out of pending requests to accept after "
                                 f"{tutors * ACCEPTED_SLOTS:,}: give --mix-requests more")
        raise AssertionError(f"pgbench failed on the {side}'s mix: {done.stderr[-2000:]}")
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    if not found:
        raise AssertionError(f"no tps in pgbench's output: {done.stdout[-2000:]}")
    latencies: dict[str, list[float]] = {name: [] for name in SCRIPTS}
    names = list(SCRIPTS)
    for log in folder.glob(f"{prefix.name}.*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            latencies[names[int(fields[3])]].append(int(fields[2]) / 1e6)
        log.unlink()
    return Run(float(found.group(1)), {name: p99(values) for name, values in latencies.items()}, waits)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else (
        values[0] if values else 0.0)


# The connection's parameters as pgbench reads them (libpq's environment).
LIBPQ = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
         "dbname": "PGDATABASE", "sslmode": "PGSSLMODE"}


def pgbench() -> str:
    found = shutil.which("pgbench") or "/usr/bin/pgbench"
    if not Path(found).exists():
        raise FileNotFoundError("pgbench is needed for figure 11 (apt-get install postgresql-client)")
    return found


def phases(server: Server, databases: dict[str, str], seconds: int, tutors: int
           ) -> dict[str, dict[int, Run]]:
    """Every client count, rule and floor one after the other (which goes first alternates)."""
    runs: dict[str, dict[int, Run]] = {"rule": {}, "floor": {}}
    with tempfile.TemporaryDirectory(prefix="astegni-mix-") as folder:
        for i, clients in enumerate(CLIENTS):
            for side in ("rule", "floor") if i % 2 == 0 else ("floor", "rule"):
                server.checkpoint()
                runs[side][clients] = run(server, databases[side], side, clients, seconds, tutors,
                                          Path(folder))
    return runs

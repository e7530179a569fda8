"""The seven figures of the rule's first budgets, the extension of series (8), the acceptances that
wait behind it (9), and those of tutors with nothing to make while it runs (10). Each builds its own
databases from a seeded template, interleaves the subject with its floor round by round (the machine
is shared and noisy) and keeps medians."""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import psycopg

import astegni
from astegni import notifications
from benchmarks import mix, workload
from benchmarks.roundtrips import counted
from benchmarks.server import Server

Conn = psycopg.Connection[tuple[object, ...]]
PENDING = "status = 'pending'"


@dataclass
class Sizes:
    requests: int  # figure 1: requests accepted by one bulk UPDATE
    rows: int  # figure 4: rows of the UPDATE of message
    growth_rows: int  # figure 7: sessions already in the table
    accepts: int  # figures 3 and 7: single accepts measured per side
    concurrent: int  # figure 6: accepts per concurrency phase
    rounds: int  # interleaved repetitions of the bulk figures
    series: int  # figure 8: live series extended by a week
    idle_series: int  # figure 10: live series, one tutor's in ten with sessions to make
    mix_requests: int  # figure 11: pending requests (ten a tutor) under the mixed load
    mix_sessions: int  # figure 11: sessions already booked
    mix_seconds: int  # figure 11: pgbench's run per side and client count
    pickups: int  # figure 12: events timed from commit to listen() under load


@dataclass
class Figure:
    number: int
    title: str
    subject: str
    baseline: str
    ratio: float
    budget: str
    met: bool
    notes: list[str] = field(default_factory=list)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def one(conn: Conn, query: str, *params: object) -> tuple[object, ...]:
    row = conn.execute(query, params or None).fetchone()
    assert row is not None
    return row


def seeded(server: Server, requests: int, *, mixed: bool) -> str:
    name = server.at_head()
    with server.connect(name) as conn:
        workload.seed(conn, requests, mixed=mixed)
    return name


def floor_database(server: Server, template: str) -> tuple[str, Conn]:
    name = server.create(template)
    conn = server.connect(name)
    workload.disable_triggers(conn)
    conn.execute("SET jit = off")  # as the rule's functions run: JIT only slows statements this size
    conn.execute("SET TimeZone = 'UTC'")  # as the rule runs: the app's naive timestamps get UTC defaults
    return name, conn


WARM = """SELECT (SELECT count(*) FROM requested_sessions), (SELECT count(*) FROM tutor_profiles),
                 (SELECT count(*) FROM tutor_packages), (SELECT count(*) FROM student_profiles)"""

# What an acceptance wrote for the requests of {where}, table by table: the number of rows and a digest
# of their sorted text. Rule and floor accept at different moments, so that a recurring request's
# dates may differ by the slot that passed in between: its sessions are digested by weekday, each
# checked to lie in its first stretch (wall-clock start after the acceptance, at or before the
# series' marker), and the marker checked to be the horizon of the acceptance's moment. A session's
# course is named by its package (the single-accept floor makes every course beforehand, in another
# order). Every other column is compared as it is (ids and the tables' creation timestamps aside).
ACCEPTED = """
WITH req AS MATERIALIZED (
    SELECT r.id, r.schedule_type = 'recurring' AS recurring, t.timezone, a.accepted_at
    FROM requested_sessions AS r
    JOIN tutor_profiles AS t ON t.id = r.tutor_id
    LEFT JOIN acceptances AS a ON a.request_id = r.id
    WHERE {where}
),
made AS MATERIALIZED (
    SELECT x.*, req.recurring, req.timezone, req.accepted_at, se.made_until, c.package_id
    FROM sessions AS x
    JOIN req ON req.id = x.request_id
    JOIN enrolled_courses AS c ON c.id = x.enrolled_courses_id
    LEFT JOIN series AS se ON se.request_id = x.request_id
),
per AS (
    SELECT request_id, count(*) AS sessions, min(starts_at) AS first, max(starts_at) AS last
    FROM made GROUP BY request_id
),
lines (kind, line) AS (
    SELECT 'sessions', ROW(m.request_id, m.tutor_id, m.package_id, m.start_time, m.end_time,
                           m.duration, m.topics::text, m.status, m.cancelled_reason,
                           CASE WHEN m.recurring THEN 'isodow ' || extract(isodow FROM m.session_date)
                                ELSE m.session_date::text END,
                           m.starts_at = (m.session_date + m.start_time) AT TIME ZONE m.timezone,
                           m.ends_at = (m.session_date + m.end_time) AT TIME ZONE m.timezone,
                           NOT m.recurring
                           OR m.session_date + m.start_time > m.accepted_at AT TIME ZONE m.timezone
                              AND m.session_date + m.start_time <= m.made_until)::text
    FROM made AS m
    UNION ALL
    SELECT 'series', ROW(se.request_id, se.tutor_id, se.window_start, se.window_end, se.last_date,
                         se.ended_reason, se.closed_at,
                         se.made_until = astegni_horizon(req.accepted_at, req.timezone, se.window_start,
                                                         (SELECT weeks_horizon FROM schedule_settings)))::text
    FROM series AS se JOIN req ON req.id = se.request_id
    UNION ALL
    SELECT 'skipped', ROW(k.request_id, k.reason, k.clash_session_id IS NULL,
                          CASE WHEN req.recurring THEN 'isodow ' || extract(isodow FROM k.session_date)
                               ELSE k.session_date::text END)::text
    FROM skipped_occurrences AS k JOIN req ON req.id = k.request_id
    UNION ALL
    SELECT 'acceptances', ROW(a.request_id, a.sessions_created, a.students_enrolled, a.note,
                              a.sessions_created = coalesce(per.sessions, 0))::text
    FROM acceptances AS a
    JOIN req ON req.id = a.request_id
    LEFT JOIN per ON per.request_id = a.request_id
    UNION ALL
    SELECT 'events', ROW(e.event, e.request_id, e.tutor_id, e.student_id, e.sessions, e.note,
                         e.first_starts_at IS NOT DISTINCT FROM per.first,
                         e.last_starts_at IS NOT DISTINCT FROM per.last)::text
    FROM astegni_events AS e
    JOIN req ON req.id = e.request_id
    LEFT JOIN per ON per.request_id = e.request_id
    UNION ALL
    SELECT 'enrolled_students', ROW(tutor_id, student_id, package_id, agreed_price)::text
    FROM enrolled_students WHERE {enrolments}
    UNION ALL
    SELECT 'enrolled_courses', ROW(tutor_id, package_id, ARRAY(SELECT unnest(students_id) ORDER BY 1),
                                   course_id)::text
    FROM enrolled_courses WHERE {enrolments}
)
SELECT kind, count(*), md5(string_agg(line, ',' ORDER BY line)) FROM lines GROUP BY kind ORDER BY kind
"""

# What an extension at a chosen moment wrote, exactly (ids and creation timestamps aside): both sides
# extend to the same moment, so that every date and instant must match.
EXTENDED = """
WITH lines (kind, line) AS (
    SELECT 'sessions', ROW(request_id, tutor_id, enrolled_courses_id, session_date, start_time, end_time,
                           duration, topics::text, status, cancelled_reason, starts_at, ends_at)::text
    FROM sessions
    UNION ALL
    SELECT 'series', ROW(request_id, tutor_id, window_start, window_end, made_until, last_date,
                         ended_reason, closed_at)::text
    FROM series
    UNION ALL
    SELECT 'skipped', ROW(request_id, session_date, starts_at, ends_at, reason, clash_session_id)::text
    FROM skipped_occurrences
    UNION ALL
    SELECT 'events', ROW(event, request_id, tutor_id, student_id, sessions, first_starts_at,
                         last_starts_at, note)::text
    FROM astegni_events
    UNION ALL
    -- The rule logs a row per batch of tutors, the floor one for the run: compared by run.
    SELECT 'extensions', ROW(at, sum(series_grown), sum(sessions_made))::text FROM astegni_extensions
    GROUP BY at
)
SELECT kind, count(*), md5(string_agg(line, ',' ORDER BY line)) FROM lines GROUP BY kind ORDER BY kind
"""

Digest = tuple[tuple[object, ...], ...]


def digest(conn: Conn, query: str) -> Digest:
    """The rows a side wrote, as (table, rows, md5) triples; instants are rendered in UTC."""
    conn.execute("SET TimeZone = 'UTC'")
    return tuple(conn.execute(query).fetchall())


def rows_of(made: Digest, kind: str) -> int:
    counts = {row[0]: row[1] for row in made}
    count = counts.get(kind, 0)
    assert isinstance(count, int)
    return count


def same_rows(made: dict[str, set[Digest]]) -> Digest:
    """The one digest every run of both sides produced; fails the run when they differ."""
    if made["rule"] != made["floor"] or len(made["rule"]) != 1:
        raise AssertionError(f"rule and floor made different rows: {made}")
    [digested] = made["rule"]
    return digested


def bulk(server: Server, sizes: Sizes) -> Figure:
    """1. One UPDATE over every pending request vs the hand-written set-based floor."""
    template = seeded(server, sizes.requests, mixed=True)
    times: dict[str, list[float]] = {"rule": [], "floor": []}
    made: dict[str, set[Digest]] = {"rule": set(), "floor": set()}
    for round_ in range(sizes.rounds):
        for side in ("rule", "floor") if round_ % 2 == 0 else ("floor", "rule"):
            if side == "rule":
                name = server.create(template)
                conn = server.connect(name)
                statement = f"UPDATE requested_sessions SET status = 'accepted' WHERE {PENDING}"
            else:
                name, conn = floor_database(server, template)
                statement = workload.bulk_floor(PENDING)
            with conn:
                conn.execute(WARM)
                server.checkpoint()
                times[side].append(timed(partial(conn.execute, statement)))
                made[side].add(digest(conn, ACCEPTED.format(where="true", enrolments="true")))
            server.drop(name)
    digested = same_rows(made)
    sessions, series = rows_of(digested, "sessions"), rows_of(digested, "series")
    students, courses = rows_of(digested, "enrolled_students"), rows_of(digested, "enrolled_courses")
    rule, floor = statistics.median(times["rule"]), statistics.median(times["floor"])
    return Figure(1, f"Bulk UPDATE accepting {sizes.requests:,} requests", ms(rule), ms(floor),
                  rule / floor, "≤ 1.10", rule / floor <= 1.10,
                  [f"{sessions:,} sessions, {series:,} series, {students:,} enrolments, {courses:,} courses,"
                   " an acceptance and an event per request, the same rows on both sides",
                   "runs (rule): " + ", ".join(ms(t) for t in times["rule"]),
                   "runs (floor): " + ", ".join(ms(t) for t in times["floor"])])


LOOP_ACCEPT = """
UPDATE requested_sessions AS r
SET status = 'accepted', responded_at = now() AT TIME ZONE 'UTC', updated_at = now() AT TIME ZONE 'UTC'
FROM tutor_profiles AS t WHERE r.id = %s AND t.id = r.tutor_id
RETURNING r.tutor_id, r.package_id, r.start_time, r.end_time, r.message, t.timezone,
          (now() AT TIME ZONE t.timezone)::date
"""
LOOP_COURSE = """
INSERT INTO enrolled_courses (tutor_id, package_id, course_id) VALUES (%s, %s, '{1,2}')
ON CONFLICT ON CONSTRAINT enrolled_courses_tutor_package_key DO UPDATE SET updated_at = now()
RETURNING id
"""
LOOP_SESSION = """
INSERT INTO sessions (enrolled_courses_id, tutor_id, request_id, session_date, start_time, end_time,
                      duration, topics, starts_at, ends_at)
VALUES (%(course)s, %(tutor)s, %(request)s, %(day)s, %(start)s, %(end)s, 60,
        json_build_array(%(message)s::text),
        (%(day)s + %(start)s) AT TIME ZONE %(zone)s, (%(day)s + %(end)s) AT TIME ZONE %(zone)s)
"""


def loop_accept(conn: Conn, request_id: int) -> int:
    """The replaced implementation: the request, its course, then each session in its own statement
    (2 + N statements) computed in Python. Returns the sessions made."""
    with conn.transaction():
        tutor, package, start, end, message, zone, today = one(conn, LOOP_ACCEPT, request_id)
        [course] = one(conn, LOOP_COURSE, tutor, package)
        assert isinstance(today, dt.date)
        days = [today + dt.timedelta(days=g) for g in range(1, 57)]
        days = [d for d in days if d.isoweekday() in (1, 3, 5)]
        for day in days:
            conn.execute(LOOP_SESSION, {"course": course, "tutor": tutor, "request": request_id,
                                        "day": day, "start": start, "end": end, "message": message,
                                        "zone": zone})
    return len(days)


FLOOR_ACCEPT = "SELECT bench_floor_accept(%s)"


def single(server: Server, sizes: Sizes) -> list[Figure]:
    """2. Round trips of one accept; 3. its latency vs one PL/pgSQL function writing the same rows."""
    loops = 5
    template = seeded(server, sizes.accepts + loops + 1, mixed=False)
    rule_name = server.create(template)
    floor_name, floor = floor_database(server, template)
    rule = server.connect(rule_name)
    with rule, floor:
        floor.execute(workload.FLOOR_ACCEPT)
        rule.execute(WARM)
        floor.execute(WARM)
        server.checkpoint()
        times: dict[str, list[float]] = {"rule": [], "floor": []}
        for request in range(1, sizes.accepts + 1):
            sides: list[tuple[str, Callable[[], object]]] = [
                ("rule", partial(astegni.accept, rule, request)),
                ("floor", partial(floor.execute, FLOOR_ACCEPT, (request,)))]
            for side, action in sides if request % 2 else sides[::-1]:
                times[side].append(timed(action))
        measured = ACCEPTED.format(where=f"r.id <= {sizes.accepts}", enrolments="true")
        same_rows({"rule": {digest(rule, measured)}, "floor": {digest(floor, measured)}})
        made = one(rule, "SELECT count(*) FROM sessions WHERE request_id = 1")[0]

        with counted(rule) as rule_trips:
            accepted = astegni.accept(rule, sizes.accepts + 1)
        loop_times, loop_trips = [], []
        for request in range(sizes.accepts + 2, sizes.accepts + 2 + loops):
            with counted(floor) as trips:
                start = time.perf_counter()
                loop_made = loop_accept(floor, request)
                loop_times.append(time.perf_counter() - start)
            loop_trips.append(trips.value)
    server.drop(rule_name)
    server.drop(floor_name)

    latency, floor_latency = statistics.median(times["rule"]), statistics.median(times["floor"])
    loop_latency = statistics.median(loop_times)
    return [
        Figure(2, f"Round trips of one accept ({accepted.sessions_created} sessions)",
               f"{rule_trips.value}", f"{max(loop_trips)} (loop: 2 + N = {2 + loop_made} statements"
               " + BEGIN, COMMIT)", rule_trips.value / max(loop_trips), "1 round trip",
               rule_trips.value == 1,
               ["counted on the wire (libpq trace: client messages answered by the server)"]),
        Figure(3, f"One accept of a {made}-session request, median of {sizes.accepts}",
               ms(latency), ms(floor_latency), latency / floor_latency, "≤ 1.10",
               latency / floor_latency <= 1.10,
               [f"per-session loop from Python (the replaced way): {ms(loop_latency)} "
                f"({loop_latency / latency:.1f}x the rule)"]),
    ]


def other_updates(server: Server, sizes: Sizes) -> Figure:
    """4. An UPDATE of message over every row, with the project's triggers vs without."""
    template = seeded(server, sizes.rows, mixed=True)
    rule_name = server.create(template)
    floor_name, floor = floor_database(server, template)
    rule = server.connect(rule_name)
    times: dict[str, list[float]] = {"rule": [], "floor": []}
    with rule, floor:
        for round_ in range(4 * sizes.rounds + 1):
            statement = f"UPDATE requested_sessions SET message = 'round {round_}'"
            for side, conn in (("rule", rule), ("floor", floor))[:: 1 if round_ % 2 else -1]:
                conn.execute("VACUUM requested_sessions")
                server.checkpoint()
                times[side].append(timed(partial(conn.execute, statement)))
    server.drop(rule_name)
    server.drop(floor_name)
    subject, floor_time = statistics.median(times["rule"]), statistics.median(times["floor"])
    return Figure(4, f"UPDATE of message over {sizes.rows:,} rows", ms(subject), ms(floor_time),
                  subject / floor_time, "≤ 1.10", subject / floor_time <= 1.10,
                  ["runs (rule): " + ", ".join(ms(t) for t in times["rule"]),
                   "runs (floor): " + ", ".join(ms(t) for t in times["floor"])])


def _server_ms(conn: Conn, request_id: int) -> float:
    """Server time of one preview: EXPLAIN ANALYZE's execution time (the function runs in full)."""
    [plan] = one(conn, "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM preview_sessions(%s)",
                     request_id)
    assert isinstance(plan, list)
    return float(plan[0]["Execution Time"])


def expansion(server: Server, sizes: Sizes) -> list[Figure]:
    """5. preview_sessions of a Monday-to-Friday request: 40 weeks (200) and 200 weeks (1,000)."""
    name = seeded(server, 1, mixed=False)
    figures = []
    with server.connect(name) as conn:
        conn.execute("""UPDATE requested_sessions
                        SET days = '["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]'""")
        for weeks, limit, budget in ((40, 200, 2.0), (200, 1000, 5.0)):
            conn.execute("UPDATE schedule_settings SET weeks_horizon = %s, session_limit = %s",
                         (weeks, limit))
            rows = len(astegni.preview(conn, 1))
            samples = [_server_ms(conn, 1) for _ in range(5 * sizes.rounds + 1)]
            median = statistics.median(samples)
            figures.append(Figure(5, f"preview_sessions expanding {rows:,} occurrences (server time)",
                                  f"{median:.2f} ms", f"budget {budget:g} ms", median / budget,
                                  "≤ 1 (of budget)", median <= budget,
                                  [f"median of {len(samples)} EXPLAIN ANALYZE runs"]))
    server.drop(name)
    return figures


REFERENCE = "SELECT count(*) FROM generate_series(1, 100000)"


def _run_share(url: str, work: list[int] | int, ready: threading.Barrier) -> None:
    """A client's share: its requests to accept, or a number of reference queries to run."""
    with psycopg.connect(url, autocommit=True) as conn:
        ready.wait()
        if isinstance(work, int):
            for _ in range(work):
                conn.execute(REFERENCE).fetchall()
        else:
            for request in work:
                astegni.accept(conn, request)


def _per_second(url: str, shares: list[list[int]] | list[int]) -> float:
    """Runs the shares on one thread (and connection) each, from one start; work done per second."""
    ready = threading.Barrier(len(shares) + 1)
    threads = [threading.Thread(target=_run_share, args=(url, share, ready)) for share in shares]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    done = sum(s if isinstance(s, int) else len(s) for s in shares)
    return done / (time.perf_counter() - start)


def concurrency(server: Server, sizes: Sizes) -> Figure:
    """6. Throughput of accepts by 1, 2 and 8 clients, each client with tutors of its own; beside it
    the same clients running a CPU-bound reference query, which shows how many cores were free."""
    clients = (1, 2, 8)
    per_phase = sizes.concurrent
    template = seeded(server, per_phase * len(clients) * sizes.rounds, mixed=False)
    name = server.create(template)
    url = server.database_url(name)
    throughput: dict[int, list[float]] = {k: [] for k in clients}
    reference: dict[int, list[float]] = {k: [] for k in clients}
    next_request = 1
    for _ in range(sizes.rounds):
        for k in clients:
            # Whole tutors (ten requests each) dealt round-robin: no tutor is shared by two clients.
            shares: list[list[int]] = [[] for _ in range(k)]
            for request in range(next_request, next_request + per_phase):
                shares[((request - 1) // workload.PER_TUTOR) % k].append(request)
            next_request += per_phase
            throughput[k].append(_per_second(url, shares))
            reference[k].append(_per_second(url, [per_phase // k] * k))
    with server.connect(name) as conn:
        accepted = one(conn, "SELECT count(*) FROM requested_sessions WHERE status = 'accepted'")[0]
    server.drop(name)
    if accepted != next_request - 1:
        raise AssertionError(f"{accepted} requests accepted of {next_request - 1}")
    medians = {k: statistics.median(v) for k, v in throughput.items()}
    free = {k: statistics.median(v) / statistics.median(reference[1]) for k, v in reference.items()}
    ratio = medians[2] / medians[1]
    return Figure(6, "Accepts per second, 2 clients vs 1 (different tutors)",
                  f"{medians[2]:.0f}/s", f"{medians[1]:.0f}/s", ratio, "≥ 1.5", ratio >= 1.5,
                  [f"8 clients: {medians[8]:.0f}/s ({medians[8] / medians[1]:.2f}x one client)",
                   f"reference (a CPU-bound query, same clients): 2 clients {free[2]:.2f}x one, "
                   f"8 clients {free[8]:.2f}x: the cores the machine had free",
                   f"{per_phase} accepts per phase, {sizes.rounds} rounds"])


FILLER = """
ALTER TABLE sessions DISABLE TRIGGER USER;
INSERT INTO users (id, email, password_hash)
SELECT 1000000 + f, 'filler' || f || '@bench.test', 'x' FROM generate_series(1, {tutors}) AS f;
INSERT INTO tutor_profiles (id, user_id, timezone)
SELECT 1000000 + f, 1000000 + f, 'UTC' FROM generate_series(1, {tutors}) AS f;
INSERT INTO tutor_packages (id, tutor_id, name) SELECT 1000000 + f, 1000000 + f, 'Filler'
FROM generate_series(1, {tutors}) AS f;
INSERT INTO enrolled_courses (id, tutor_id, package_id) SELECT 1000000 + f, 1000000 + f, 1000000 + f
FROM generate_series(1, {tutors}) AS f;
INSERT INTO sessions (enrolled_courses_id, tutor_id, session_date, start_time, end_time, duration,
                      starts_at, ends_at)
SELECT 1000000 + f, 1000000 + f, x.at::date, x.at::time, (x.at + interval '1 hour')::time, 60,
       x.at AT TIME ZONE 'UTC', (x.at + interval '1 hour') AT TIME ZONE 'UTC'
FROM generate_series(1, {tutors}) AS f, generate_series(0, {per_tutor} - 1) AS k,
     LATERAL (SELECT timestamp '2026-06-01' + k * interval '2 hours' AS at) AS x
ORDER BY f, k;
ALTER TABLE sessions ENABLE TRIGGER USER;
"""


def _floor_in_place(conn: Conn, request: int) -> float:
    """The floor's INSERT ... SELECT of one request's sessions, in the rule's own database, in a
    transaction rolled back (no DDL, which would invalidate the rule's cached plans)."""
    with conn.transaction(force_rollback=True):
        conn.execute(workload.COURSES.format(where=f"r.id = {int(request)}") + " ON CONFLICT DO NOTHING")
        return timed(partial(conn.execute, workload.SESSIONS.format(where=f"r.id = {int(request)}")))


def growth(server: Server, sizes: Sizes) -> Figure:
    """7. One accept with sessions empty vs holding growth_rows rows (same request shape), and the
    one-accept floor in the same two databases, which shows what the bigger indexes cost anyway."""
    template = seeded(server, 2 * sizes.accepts, mixed=False)
    empty_name, grown_name = server.create(template), server.create(template)
    per_tutor = 1000
    tutors = -(-sizes.growth_rows // per_tutor)
    empty, grown = server.connect(empty_name), server.connect(grown_name)
    with empty, grown:
        load = timed(partial(grown.execute, FILLER.format(tutors=tutors, per_tutor=per_tutor)))
        grown.execute("VACUUM ANALYZE")
        rows = one(grown, "SELECT count(*) FROM sessions")[0]
        for conn in (empty, grown):
            conn.execute(WARM)
        server.checkpoint()
        times: dict[str, list[float]] = {"empty": [], "grown": []}
        floors: dict[str, list[float]] = {"empty": [], "grown": []}
        for request in range(1, sizes.accepts + 1):
            sides = [("empty", empty), ("grown", grown)]
            for side, conn in sides if request % 2 else sides[::-1]:
                times[side].append(timed(partial(astegni.accept, conn, request)))
                floors[side].append(_floor_in_place(conn, sizes.accepts + request))
    server.drop(empty_name)
    server.drop(grown_name)
    at_zero, at_rows = statistics.median(times["empty"]), statistics.median(times["grown"])
    floor_zero, floor_rows = statistics.median(floors["empty"]), statistics.median(floors["grown"])
    assert isinstance(rows, int)
    return Figure(7, f"One accept with {rows:,} sessions vs none", ms(at_rows), ms(at_zero),
                  at_rows / at_zero, "≤ 1.3", at_rows / at_zero <= 1.3,
                  [f"median of {sizes.accepts} accepts of 24-session requests each side; "
                   f"{rows:,} rows loaded in {load:.1f} s",
                   f"the floor's INSERT of the sessions in the same databases: {ms(floor_rows)} vs "
                   f"{ms(floor_zero)} = "
                   f"{floor_rows / floor_zero:.2f}x"])


def extension(server: Server, sizes: Sizes) -> Figure:
    """8. Extending every live series by a week (astegni_extend_series_at, as the owner) vs the
    hand-written floor that inserts the same sessions and writes the same records."""
    template = seeded(server, sizes.series, mixed=False)
    with server.connect(template) as conn:
        conn.execute(f"UPDATE requested_sessions SET status = 'accepted' WHERE {PENDING}")
        conn.execute("VACUUM ANALYZE")
        [accepted_at] = one(conn, "SELECT DISTINCT accepted_at FROM acceptances")  # one statement
    # A week past the acceptance, the same moment on both sides: each series grows by exactly a week.
    assert isinstance(accepted_at, dt.datetime)
    moment = f"timestamptz '{(accepted_at + dt.timedelta(days=7)).isoformat()}'"
    statements = {"rule": f"SELECT astegni_extend_series_at({moment})",
                  "floor": workload.extension_floor(moment)}
    times: dict[str, list[float]] = {"rule": [], "floor": []}
    made: dict[str, set[Digest]] = {"rule": set(), "floor": set()}
    for round_ in range(sizes.rounds):
        for side in ("rule", "floor") if round_ % 2 == 0 else ("floor", "rule"):
            if side == "rule":
                name = server.create(template)
                conn = server.connect(name)
            else:
                name, conn = floor_database(server, template)
            with conn:
                conn.execute(WARM)
                server.checkpoint()
                times[side].append(timed(partial(conn.execute, statements[side])))
                grown, sessions = one(conn, "SELECT sum(series_grown)::integer, sum(sessions_made)::integer"
                                            " FROM astegni_extensions")
                made[side].add(digest(conn, EXTENDED))
            server.drop(name)
    same_rows(made)
    if grown != sizes.series:
        raise AssertionError(f"{grown} series grew of {sizes.series}")
    rule, floor = statistics.median(times["rule"]), statistics.median(times["floor"])
    assert isinstance(sessions, int)
    return Figure(8, f"Extending {sizes.series:,} live series by a week", ms(rule), ms(floor),
                  rule / floor, "≤ 1.10", rule / floor <= 1.10,
                  [f"{sessions:,} sessions, {grown:,} markers moved and 'extended' events, the run "
                   "logged in astegni_extensions (the rule: a row per batch of tutors), the same rows "
                   "on both sides",
                   "runs (rule): " + ", ".join(ms(t) for t in times["rule"]),
                   "runs (floor): " + ", ".join(ms(t) for t in times["floor"])])


# Every series a week short of its horizon (as if the extension had not run for a week), and one
# pending Saturday request per tutor, at an hour its series leaves free.
BEHIND = """
UPDATE series SET made_until = made_until - interval '7 days';
DELETE FROM sessions AS s USING series AS r
WHERE r.request_id = s.request_id AND s.session_date + s.start_time > r.made_until;
INSERT INTO requested_sessions (tutor_id, requester_id, requester_type, package_id, message, schedule_type,
                                days, start_time, end_time)
SELECT r.tutor_id, r.requester_id, 'student', r.package_id, 'Weekend', 'recurring', '["Saturday"]',
       '20:00', '21:00'
FROM (SELECT DISTINCT ON (tutor_id) * FROM requested_sessions ORDER BY tutor_id, id) AS r
"""


def _accepts(url: str, requests: list[int], until: threading.Event | None) -> list[float]:
    """The latency of each acceptance, one transaction each, in order; with `until`, only until it is
    set (the acceptances measured while something else runs)."""
    latencies: list[float] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for request in requests:
            if until is not None and until.is_set():
                break
            latencies.append(timed(partial(astegni.accept, conn, request)))
    return latencies


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100, method="inclusive")[98] if len(latencies) > 1 else (
        latencies[0] if latencies else 0.0)


def extension_waits(server: Server, sizes: Sizes) -> Figure:
    """9. Acceptances of tutors whose series are being extended, while CALL astegni_extend_series()
    runs over every series a week short of its horizon (batch by batch, a commit each), vs the same
    acceptances with no extension running."""
    template = seeded(server, sizes.series, mixed=False)
    with server.connect(template) as conn:
        conn.execute(f"UPDATE requested_sessions SET status = 'accepted' WHERE {PENDING}")
        conn.execute(BEHIND)
        conn.execute("VACUUM ANALYZE")
        pending = [int(str(r)) for (r,) in conn.execute(  # tutors over the whole run, in random order
            f"SELECT id FROM requested_sessions WHERE {PENDING} ORDER BY md5(id::text)").fetchall()]
    during: list[float] = []
    alone: list[float] = []
    runs: list[float] = []
    for _ in range(sizes.rounds):
        name = server.create(template)
        url = server.database_url(name)
        done = threading.Event()

        def extend(url: str = url, done: threading.Event = done) -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                runs.append(timed(partial(astegni.extend, conn)))
            done.set()

        extending = threading.Thread(target=extend)
        extending.start()
        measured = _accepts(url, pending, done)
        extending.join()
        during += measured
        server.drop(name)
        name = server.create(template)
        alone += _accepts(server.database_url(name), pending[:len(measured)], None)
        server.drop(name)
    worst, usual = p99(during), p99(alone)
    return Figure(9, f"p99 of acceptances while the extension runs over {sizes.series:,} series",
                  ms(worst), ms(usual), worst / usual, "p99 ≤ 100 ms", worst <= 0.100,
                  [f"{len(during)} acceptances of tutors being extended, measured while "
                   f"CALL astegni_extend_series() ran (batches of about 200 series, a commit each); "
                   f"beside them, as many with no extension running",
                   f"max {ms(max(during, default=0.0))} during, {ms(max(alone, default=0.0))} alone; "
                   "the extension's runs: " + ", ".join(ms(t) for t in runs)])


# Series made by the floor's statements (no session: the extension makes only what is ahead of the
# marker), their markers at the tutor's horizon now, but one tutor's in ten a week short; and one
# pending Saturday request per tutor, at an hour its series leaves free.
IDLE = """
ALTER TABLE requested_sessions DISABLE TRIGGER USER;
""" + ";\n".join([workload.ACCEPT.format(where=PENDING), workload.ENROL.format(where="r.status = 'accepted'"),
                  workload.COURSES.format(where="r.status = 'accepted'"),
                  workload.SERIES.format(where="r.status = 'accepted'")]) + """;
ALTER TABLE requested_sessions ENABLE TRIGGER USER;
UPDATE series SET made_until = made_until - interval '7 days' WHERE tutor_id % 10 = 0;
""" + BEHIND[BEHIND.index("INSERT INTO requested_sessions"):]


def idle_extension(server: Server, sizes: Sizes) -> Figure:
    """10. Acceptances while CALL astegni_extend_series() runs over idle_series series of which one
    tutor's in ten has a week to make, the rest only their marker to move: the longest wait of an
    acceptance of a tutor with nothing to make vs the same acceptances with no extension running."""
    template = seeded(server, sizes.idle_series, mixed=False)
    with server.connect(template) as conn:
        conn.execute(IDLE)
        conn.execute("VACUUM ANALYZE")
        pending = {busy: [int(str(r)) for (r,) in conn.execute(
            f"SELECT id FROM requested_sessions WHERE {PENDING} AND (tutor_id %% 10 = 0) = %s"
            " ORDER BY md5(id::text)", [busy]).fetchall()] for busy in (False, True)}
    during: dict[bool, list[float]] = {False: [], True: []}
    alone: list[float] = []
    runs: list[float] = []
    made: list[tuple[object, ...]] = []
    for _ in range(sizes.rounds):
        name = server.create(template)
        url = server.database_url(name)
        done = threading.Event()

        def extend(url: str = url, done: threading.Event = done) -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                runs.append(timed(partial(astegni.extend, conn)))
                made.append(one(conn, "SELECT sum(series_grown)::int, sum(sessions_made)::int, count(*)::int"
                                      " FROM astegni_extensions"))
            done.set()

        extending = threading.Thread(target=extend)
        extending.start()
        busy = threading.Thread(target=lambda url=url, done=done: during[True].extend(
            _accepts(url, pending[True], done)))
        busy.start()
        during[False] += _accepts(url, pending[False], done)
        busy.join()
        extending.join()
        server.drop(name)
        name = server.create(template)
        alone += _accepts(server.database_url(name), pending[False][:len(during[False])], None)
        server.drop(name)
    worst, usual = max(during[False], default=0.0), max(alone, default=0.0)
    grown, sessions, batches = made[-1]
    return Figure(10, f"Longest wait of an acceptance of a tutor with nothing to make while the extension"
                      f" runs over {sizes.idle_series:,} series", ms(worst), ms(usual), worst / usual,
                  "≤ 1.5", worst / usual <= 1.5,
                  [f"{len(during[False])} acceptances of tutors whose series have nothing to make, "
                   f"{len(during[True])} of tutors with a week to make (at the same time, on another "
                   f"connection), while CALL astegni_extend_series() ran; beside them, as many with no "
                   f"extension running",
                   "the extension's runs: " + ", ".join(ms(t) for t in runs) + f" ({batches} batches,"
                   f" {grown:,} series grown, {sessions:,} sessions made, the other markers moved)",
                   f"tutors with sessions to make: max {ms(max(during[True], default=0.0))}, "
                   f"p99 {ms(p99(during[True]))}; with nothing to make: p99 {ms(p99(during[False]))}"])


def clients(count: int) -> str:
    return f"{count} client{'s' if count > 1 else ''}"


def waits(run: mix.Run) -> str:
    """The three commonest waits of a run's samples, with their share."""
    total = sum(run.waits.values()) or 1
    return ", ".join(f"{name} {count / total:.0%}" for name, count in run.waits.most_common(3))


def mixed_load(server: Server, sizes: Sizes) -> Figure:
    """11. The web app's mix (accept, preview, a tutor's week, a new request) under pgbench at 1, 2, 4
    and 8 clients, the rule vs its floor: transactions per second, and each statement's p99."""
    tutors = sizes.mix_requests // workload.PER_TUTOR
    template = seeded(server, sizes.mix_requests, mixed=False)
    with server.connect(template) as conn:
        mix.book(conn, tutors, sizes.mix_sessions)
        booked = one(conn, "SELECT count(*) FROM sessions")[0]
    databases = {"rule": server.create(template)}
    databases["floor"], floor = floor_database(server, template)
    with floor:
        mix.floor_functions(floor)
    runs = mix.phases(server, databases, sizes.mix_seconds, tutors)
    made: dict[str, set[Digest]] = {}
    accepted: dict[str, int] = {}
    for side, name in databases.items():
        with server.connect(name) as conn:
            accepted[side] = int(str(one(conn, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END"
                                               " FROM bench_mix_accepts")[0]))
    # The requests both sides accepted (the first of the sequence's turns) made the same rows.
    common = (f"r.id IN (SELECT ((n - 1) % {tutors}) * 10 + (n - 1) / {tutors} + 1"
              f" FROM generate_series(1, {min(accepted.values())}) AS n)")
    for side, name in databases.items():
        with server.connect(name) as conn:
            made[side] = {digest(conn, ACCEPTED.format(where=common, enrolments="false"))}
        server.drop(name)
    same_rows(made)
    ratios = {k: runs["rule"][k].tps / runs["floor"][k].tps for k in mix.CLIENTS}
    worst = min(ratios.values())

    def tps(side: str) -> str:
        return " / ".join(f"{runs[side][k].tps:.0f}" for k in mix.CLIENTS)

    return Figure(11, f"Mixed web load, tps at {' / '.join(map(str, mix.CLIENTS))} clients (lowest ratio)",
                  tps("rule"), tps("floor"), worst, "≥ 0.9 at each", worst >= 0.9,
                  [f"pgbench -M prepared, {sizes.mix_seconds} s per side and client count, weights "
                   + ", ".join(f"{name} {weight}" for name, weight in mix.WEIGHTS.items())
                   + f"; {tutors:,} tutors, {sizes.mix_requests:,} pending requests, {booked:,} sessions"
                   " booked beforehand, the index sessions_tutor_starts_at on both sides",
                   "rule/floor tps: " + ", ".join(f"{clients(k)} {ratios[k]:.2f}" for k in mix.CLIENTS),
                   *(f"p99 at {clients(k)}, rule vs floor: " + ", ".join(
                       f"{name} {ms(runs['rule'][k].p99[name])} vs {ms(runs['floor'][k].p99[name])}"
                       for name in mix.SCRIPTS) for k in mix.CLIENTS),
                   *(f"waits of the active backends at {clients(k)}, rule vs floor (sampled every "
                     f"{mix.SAMPLE_EVERY * 1000:.0f} ms): {waits(runs['rule'][k])} vs "
                     f"{waits(runs['floor'][k])}" for k in mix.CLIENTS[2:]),
                   f"{accepted['rule']:,} accepts by the rule, {accepted['floor']:,} by the floor; the "
                   f"first {min(accepted.values()):,} made the same rows on both sides"])


BUSY_EVERY = 0.05  # figure 12's load: an accept 50 ms after the last, so that most send no NOTIFY
QUIET_EVERY = notifications.POLL + 0.2  # and a quiet spell's: each the first event in a poll


def _picked_up(url: str, expected: int, seen: dict[int, float], ready: threading.Event) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        events = notifications.listen(conn, stop_after=expected, timeout=30)
        ready.set()
        for event in events:
            seen[event.request_id] = time.perf_counter()


def _pickups(url: str, requests: list[int], every: float) -> list[float]:
    """Accepts the requests while a listener runs, each `every` seconds after the last one's commit;
    from each commit (the accept's return) to listen() yielding its event."""
    seen: dict[int, float] = {}
    ready = threading.Event()
    listener = threading.Thread(target=_picked_up, args=(url, len(requests), seen, ready))
    listener.start()
    ready.wait()
    committed: dict[int, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for request in requests:
            time.sleep(every)
            astegni.accept(conn, request)
            committed[request] = time.perf_counter()
    listener.join()
    if set(seen) != set(requests):
        raise AssertionError(f"listen() missed {sorted(set(requests) - set(seen))}")
    # A NOTIFY may wake the listener before the accept has returned: no wait at all.
    return [max(0.0, seen[r] - committed[r]) for r in requests]


def pickup(server: Server, sizes: Sizes) -> Figure:
    """12. From an acceptance's commit to listen() yielding its event: under a steady load (most
    commits send no NOTIFY: the listener finds them at its next look), and in a quiet spell."""
    quiet = max(3, sizes.pickups // 20)
    name = seeded(server, sizes.pickups + quiet, mixed=False)
    url = server.database_url(name)
    # Tutors in turn: consecutive accepts never wait for one another's lock.
    order = sorted(range(1, sizes.pickups + quiet + 1), key=lambda r: ((r - 1) % workload.PER_TUTOR, r))
    busy, idle = _pickups(url, order[:sizes.pickups], BUSY_EVERY), _pickups(url, order[sizes.pickups:],
                                                                             QUIET_EVERY)
    server.drop(name)
    budget = notifications.POLL + 0.1
    worst = p99(busy)
    return Figure(12, f"Commit to listen() yielding, p99 of {sizes.pickups} events under load "
                      f"(an accept every {BUSY_EVERY * 1000:.0f} ms)",
                  ms(worst), f"budget {ms(budget)}", worst / budget, "≤ 1 (of budget)", worst <= budget,
                  [f"under load: p50 {ms(statistics.median(busy))}, max {ms(max(busy))}; listen() looks "
                   f"every {notifications.POLL:g} s while it finds nothing, and the rule sends no NOTIFY "
                   f"within {notifications.POLL:g} s of another event",
                   f"quiet spell ({len(idle)} accepts {QUIET_EVERY:g} s apart, each woken by its NOTIFY):"
                   f" p50 {ms(statistics.median(idle))}, max {ms(max(idle))}"])


ALL: dict[int, Callable[[Server, Sizes], Figure | list[Figure]]] = {
    1: bulk, 2: single, 4: other_updates, 5: expansion, 6: concurrency, 7: growth, 8: extension,
    9: extension_waits, 10: idle_extension, 11: mixed_load, 12: pickup}

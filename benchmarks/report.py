"""Prints the figures and writes them to docs/benchmarks.md as a markdown table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from benchmarks.figures import Figure, Sizes

METHOD = """\
# Benchmarks

`python -m benchmarks` measures the sessions rule against hand-written floors (issue 4) and rewrites
this file; `python -m benchmarks --quick` is the small run CI makes (it must run, not meet budgets).
The server is `--database-url`, else `DATABASE_URL`, else an embedded PostgreSQL started for the run.
Every figure works in databases of its own (`astegni_bench_*`, migrated to head with alembic, dropped
afterwards). Subject and floor alternate round by round and medians are kept: the machine is shared.

- **Floor** of a bulk or single acceptance: a second database cloned from the same seeded template,
  with the project's triggers on `requested_sessions` and `sessions` disabled (`ALTER TABLE ...
  DISABLE TRIGGER USER`; foreign keys, unique and exclusion constraints all still checked), where a
  hand-written statement writes the same rows: the requests' status and timestamps, enrolments,
  courses, the sessions in one `INSERT ... SELECT` over `generate_series` (a recurring request's
  first stretch: wall-clock starts after now and at or before the same time 8 weeks on, in the
  tutor's zone), a `series` row per recurring request, and the rule's records (`acceptances`,
  `astegni_events`). The floor runs with `jit = off`, as the rule's functions do.
- **Floor of one accept** (figure 3, and the accepts of figure 11): the same rows written by one
  PL/pgSQL function (`benchmarks/workload.py`, `FLOOR_ACCEPT`), whose statements' plans are cached
  after the first calls as the rule's are: the request's status, its enrolment and course, its first
  stretch of sessions over `generate_series`, its series row, its `acceptances` row and its event.
- **Same rows**: after each run both sides' rows are compared table by table (count and a digest
  of the rows' text, ids and creation timestamps aside), and the run fails if they differ. The two
  sides of an acceptance run moments apart, so a recurring request's sessions are compared by
  weekday, each checked to lie in its first stretch, and its series' marker checked to be the
  horizon of its acceptance's moment; the extension's rows are compared exactly.
- **Extension** (figure 8): the template holds `--series` Monday/Wednesday/Friday requests accepted
  through the rule, each a live series made up to its horizon; both sides extend to the same moment,
  a week after that acceptance. The rule is `SELECT astegni_extend_series_at(moment)` as the owner;
  the floor, in a clone with the triggers on `sessions` and `astegni_extensions` disabled, is one
  hand-written statement: the sessions in (marker, new horizon] in one `INSERT ... SELECT`, the
  markers moved, one `'extended'` event per series and the run's `astegni_extensions` row.
- **Acceptances behind the extension** (figure 9): the same series, each a week short of its horizon,
  and one pending Saturday request per tutor. `CALL astegni_extend_series()` runs (a transaction per
  batch of about 200 series, each locking only its own tutors) while one client accepts those
  requests one by one, tutors in random order, until the extension ends: the p99 of those accepts,
  budget 100 ms, beside the p99 of as many accepts with no extension running.
- **Acceptances of tutors with nothing to make** (figure 10): `--idle-series` Monday/Wednesday/Friday
  series written by the floor's statements, their markers at the horizon, but one tutor's in ten a
  week short, and one pending Saturday request per tutor. While `CALL astegni_extend_series()` runs,
  one client accepts the requests of tutors with nothing to make (their series only have their marker
  moved, without the tutor's lock) and another those of tutors with a week to make: the longest of
  the former, budget 1.5x the longest of as many accepts with no extension running.
- **Workload**: ten requests per tutor, each at its own hour (no clashes), two packages per tutor,
  four time zones; a third each of recurring Monday/Wednesday/Friday (24 sessions), recurring
  Tuesday/Thursday (16) and 20 specific dates (20). Single accepts and the extension use
  Monday/Wednesday/Friday.
- **Mixed web load** (figure 11): `pgbench -M prepared`, one thread per client, at 1, 2, 4 and 8
  clients, rule and floor one after the other (in turn first): accept 2, preview 3, a tutor's week of
  sessions 3, the app inserting a request 2 (weights). 2,000 tutors, 20,000 pending requests, 500,000
  sessions booked beforehand (each tutor's evenings, 25 days back and 25 ahead), the index
  `sessions_tutor_starts_at` on both sides. The floor's accept and preview are PL/pgSQL functions
  (`FLOOR_ACCEPT`, `FLOOR_PREVIEW`), in a clone with the project's triggers off; the week and the insert
  are the same statements. tps per side and client count, each statement's p99 from pgbench's log;
  the requests both sides accepted are checked to have made the same rows.
- **Pickup** (figure 12): from an acceptance's commit (its call returning) to `listen()` yielding its
  event, while accepts come 50 ms apart (most send no NOTIFY: the listener finds them at its next
  look, every `astegni.notifications.POLL` seconds), beside a quiet spell (each woken by its NOTIFY).
- **Round trips** are counted on the wire with libpq's protocol trace.
- **Expansion** is server time: `EXPLAIN ANALYZE` execution time of `preview_sessions`.
- **Concurrency** is shown beside a CPU-bound reference query run by the same clients: how many
  cores the machine had free during the run.
- **Growth** is shown beside the floor's `INSERT` of the same sessions in the same two databases:
  what the bigger indexes cost any insert.
- **Options**: sizes (`--requests`, `--rows`, `--growth-rows`, `--accepts`, `--concurrent`,
  `--rounds`, `--series`, `--idle-series`, `--mix-requests`, `--mix-sessions`, `--mix-seconds`,
  `--pickups`), `--only 1,3`, `--output FILE`, and `--apply-sql FILE` (repeatable) to measure a change
  to db/functions before migrating it; a quick or patched run writes only with `--output`.
"""


def line(figure: Figure) -> str:
    verdict = "met" if figure.met else "MISSED"
    return (f"{figure.number}. {figure.title}: {figure.subject} vs {figure.baseline} = "
            f"{figure.ratio:.2f}x (budget {figure.budget}: {verdict})")


def show(figure: Figure) -> None:
    print(line(figure), flush=True)
    for note in figure.notes:
        print(f"     {note}", flush=True)


def markdown(figures: Sequence[Figure], *, version: str, machine: str, sizes: Sizes,
             command: str, elapsed: float) -> str:
    rows = ["| # | Figure | Rule | Floor / baseline | Ratio | Budget | |",
            "|---|---|---|---|---|---|---|"]
    rows += [f"| {f.number} | {f.title} | {f.subject} | {f.baseline} | {f.ratio:.2f} | {f.budget} |"
             f" {'met' if f.met else '**missed**'} |" for f in figures]
    notes = [f"- {f.number}: {note}" for f in figures for note in f.notes]
    return "\n".join([
        METHOD,
        f"## Last run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- Command: `{command}` ({elapsed:.0f} s)",
        f"- Sizes: {sizes.requests:,} requests (bulk), {sizes.rows:,} rows (other updates), "
        f"{sizes.growth_rows:,} sessions (growth), {sizes.accepts} single accepts, "
        f"{sizes.concurrent} accepts per concurrency phase, {sizes.series:,} series (extension), "
        f"{sizes.idle_series:,} series (figure 10), {sizes.rounds} rounds, mixed load {sizes.mix_requests:,} "
        f"requests, {sizes.mix_sessions:,} sessions, {sizes.mix_seconds} s a phase, {sizes.pickups} pickups",
        f"- PostgreSQL: {version}",
        f"- Machine: {machine}",
        "",
        *rows,
        "",
        "Details:",
        "",
        *notes,
        "",
    ])


ANALYSIS = "\n## Analysis"


def write(path: Path, text: str) -> None:
    """Writes the run; a hand-written section from "## Analysis" on is kept from the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text() if path.exists() else ""
    kept = old[old.index(ANALYSIS):] if ANALYSIS in old else ""
    path.write_text(text + kept)

"""Runs the reliability suites and writes their figures to docs/reliability.md.

    python -m tests.reliability_report              # the fast profile (what CI runs)
    python -m tests.reliability_report --thorough   # and `-m thorough` (10,000+ examples)

The suites (property, concurrency, fault and hostile-input tests) count what they do through
`record()`, into a JSON-lines file named by ASTEGNI_RELIABILITY_LOG; outside this command the
variable is unset and `record()` does nothing. The database is the tests' own: ASTEGNI_TEST_DATABASE_URL
when set, else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

LOG_ENV = "ASTEGNI_RELIABILITY_LOG"
ROOT = Path(__file__).resolve().parent.parent
SUITES = ["tests/test_properties.py", "tests/test_series_properties.py", "tests/test_concurrency.py",
          "tests/test_race_matrix.py", "tests/test_faults.py", "tests/test_hostile.py",
          "tests/test_adversary.py"]
SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed|error).*?)\s*=*$")


def record(metric: str, value: int) -> None:
    """Adds `value` to a figure of the report (summed over the run); a no-op outside it."""
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:  # one short append per line: thread-safe
            log.write(json.dumps({"metric": metric, "value": value}) + "\n")


def _figures(log: Path) -> Counter[str]:
    figures: Counter[str] = Counter()
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            figures[item["metric"]] += item["value"]
    return figures


def _version(number: int) -> str:
    return f"{number // 10000}.{number % 10000}" if number else "unknown"


def render(figures: Counter[str], summary: str, passed: bool, seconds: float,
           thorough: bool) -> str:
    """The Markdown report."""
    f = figures
    outcomes = {k.split(":", 1)[1]: v for k, v in f.items() if k.startswith("property_outcome:")}
    skips = {k.split(":", 1)[1]: v for k, v in f.items()
             if k.startswith("property_skips_compared:")}
    steps = {k.split(":", 1)[1]: v for k, v in f.items() if k.startswith("series_step:")}
    replanned = {k.split(":", 1)[1]: v for k, v in f.items() if k.startswith("series_reschedule:")}
    row_waits = {k.split(":", 1)[1]: v for k, v in f.items() if k.startswith("race_row_waits:")}
    verdict = ("Every check passed: no session was lost or doubled, no request was left half-accepted, "
               "no hostile input was executed, and the database agreed with the reference model on "
               "every example." if passed else
               "**Some checks FAILED** (see the pytest summary): the figures below are not a proof.")
    profile = "fast and thorough (`-m thorough`)" if thorough else "fast (the default, as in CI)"
    command = "python -m tests.reliability_report" + (" --thorough" if thorough else "")
    rows = [
        "| what | figure |",
        "| --- | --- |",
        f"| property examples: requests accepted in PostgreSQL and compared with the reference model "
        f"| {f['property_examples']:,} |",
        *(f"| &nbsp;&nbsp;of which {kind} | {n:,} |" for kind, n in sorted(outcomes.items())),
        f"| sessions compared row by row (date, starts_at, ends_at, times, duration, topics) "
        f"| {f['property_sessions_compared']:,} |",
        *(f"| skipped occurrences compared, reason `{reason}` | {n:,} |"
          for reason, n in sorted(skips.items())),
        f"| series examples: a weekly request accepted, then steps over simulated weeks, the database "
        f"compared with the reference model after each | {f['series_examples']:,} |",
        *(f"| &nbsp;&nbsp;steps: {kind} | {n:,} |" for kind, n in sorted(steps.items())),
        f"| &nbsp;&nbsp;extensions run (each at a later moment, some twice: the second made nothing) "
        f"| {f['series_extensions']:,} |",
        f"| &nbsp;&nbsp;occurrences held back by time off and made again once it was removed "
        f"| {f['series_restored']:,} |",
        *(f"| &nbsp;&nbsp;reschedule plan rows `{outcome}` | {n:,} |"
          for outcome, n in sorted(replanned.items())),
        f"| &nbsp;&nbsp;series sessions and skipped occurrences compared after the steps "
        f"| {f['series_sessions_compared']:,} and {f['series_skips_compared']:,} |",
        f"| wall-clock readings compared with PostgreSQL's `AT TIME ZONE` (DST nights included) "
        f"| {f['instant_examples']:,} |",
        f"| concurrent clients accepting the same requests | {f['concurrency_clients:same_requests']} |",
        f"| requests raced for by all of them | {f['concurrency_same_requests']:,} |",
        f"| accept calls in that race (each request won exactly once, every other call "
        f"`AlreadyResponded`) | {f['concurrency_accept_calls']:,} "
        f"({f['concurrency_already_responded']:,} `AlreadyResponded`) |",
        f"| sessions checked after the race against the reference | "
        f"{f['concurrency_sessions_checked']:,} |",
        f"| concurrent clients accepting different requests of one (tutor, package) | "
        f"{f['concurrency_clients:one_course']} clients, {f['concurrency_one_course_requests']} "
        f"requests: every student in `students_id` once |",
        f"| concurrent clients accepting shared bookings of one course, rosters overlapping | "
        f"{f['concurrency_clients:shared_bookings']} clients, "
        f"{f['concurrency_shared_booking_requests']} requests: every roster student enrolled once |",
        f"| race matrix: operations that book or free a tutor's time, each alone on the starting state "
        f"(it succeeds and changes it) | {f['race_operations']} |",
        f"| &nbsp;&nbsp;held cases: every ordered pair, A's transaction held open while B runs "
        f"| {f['race_cases:held']:,} |",
        f"| &nbsp;&nbsp;&nbsp;&nbsp;of which B was seen waiting on a lock A held "
        f"| {f['race_waits_seen']:,} |",
        f"| &nbsp;&nbsp;&nbsp;&nbsp;of which another tutor's acceptance completed while A was held "
        f"| {f['race_other_tutor_accepted']:,} |",
        f"| &nbsp;&nbsp;random cases: a seeded pair released together after seeded delays "
        f"| {f['race_cases:random']:,} |",
        f"| &nbsp;&nbsp;timeout cases: A held past the rule's lock timeout; B, waiting for the tutor's "
        f"lock, must give up (55P03) and write nothing | {f['race_cases:timeout']:,} "
        f"({f['race_timeouts_refused']:,} refused 55P03) |",
        *(f"| &nbsp;&nbsp;&nbsp;&nbsp;of which B waited on, past the bound, for a row of `{table}` that A "
          f"wrote, locked before the tutor's lock (then finished after A, as held) | {n:,} |"
          for table, n in sorted(row_waits.items())),
        f"| &nbsp;&nbsp;cases whose database equalled a serial order (held: exactly A;B; timeout: A "
        f"alone, or A;B when B waited for a row A wrote) | {f['race_serial_matches']:,} |",
        f"| backends terminated (`pg_terminate_backend`) mid bulk acceptance | "
        f"{f['faults_backend_terminated']} |",
        f"| clients whose connection was killed inside `astegni.accept` | "
        f"{f['faults_client_connection_lost']} |",
        f"| server crashes (`pg_ctl stop -m immediate`) mid bulk acceptance, then restarted | "
        f"{f['faults_server_crashed']} |",
        f"| requests in flight at those faults, each found all-or-nothing afterwards | "
        f"{f['fault_requests_in_flight']:,} |",
        f"| hostile inputs tried (injection, 100,000 dates, depth-1000 JSON, wrong types, NULLs) "
        f"| {f['hostile_inputs']:,} |",
        f"| bypasses tried as a login of `astegni_app` or the owner (a setting reset in the statement, "
        f"an id changed, an upsert, a MERGE) | {f['bypasses_tried']} |",
        f"| races with an acceptance in flight (a cancellation, a hand move, a zone change) | {f['races']} |",
        f"| privileges checked as a login with no grants and as a member of `astegni_app` "
        f"| {f['privileges_checked']} |",
    ]
    return "\n".join([
        "# Reliability: proof under stress",
        "",
        f"Generated by `{command}`; do not edit by hand. Profile: {profile}.",
        f"Run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, PostgreSQL "
        f"{_version(f['postgresql_version'])}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPU(s), {seconds:.0f} s.",
        "",
        f"pytest: `{summary}`",
        "",
        verdict,
        "",
        *rows,
        "",
        "## What each suite proves",
        "",
        "- `tests/test_properties.py`: Hypothesis generates requests (weekday subsets with odd "
        "spellings, duplicate, past and impossible dates, times across midnight and inside DST "
        "changes, month and year windows, stale year windows, missing lists and times, wrong "
        "types) for tutors in America/New_York, Europe/Berlin, Australia/Lord_Howe, Asia/Kathmandu "
        "and Africa/Addis_Ababa, accepted by clients in TimeZones of their own; the database must "
        "make exactly the sessions and skipped occurrences of `tests/reference.py` (written from "
        "the contract, not from the SQL), record its note in `acceptances` and stamp the app's "
        "naive timestamp columns with UTC wall-clock time, or refuse with the same error and field "
        "and leave nothing behind. Fixed moments (DST nights, month and year ends, stale windows) "
        "are unit tests of the reference.",
        "- `tests/test_series_properties.py`: a recurring request becomes a series; after it is "
        "accepted, Hypothesis runs a sequence of steps over simulated weeks (extensions at later "
        "moments, time off added, moved and removed, a reschedule, an end) and after each one the "
        "series' sessions, skipped occurrences and marker must be those of the reference's `Series`: "
        "every occurrence up to the horizon exactly once, nothing beyond it.",
        "- `tests/test_concurrency.py`: 16 autocommit connections race; no deadlock or "
        "serialization error escapes the Python layer.",
        "- `tests/test_race_matrix.py`: the race matrix (harness in `tests/races.py`). One table lists "
        "every operation that books or frees a tutor's time: acceptance (a series and specific "
        "dates), cancellation, two reschedules, an end, time off added, moved and removed, the "
        "extension, a zone change, a session inserted and one moved by hand. Each ordered pair (an "
        "operation with itself included) runs on a starting state of its own (an accepted Mon/Wed/Fri "
        "series whose marker is two weeks behind, time off over two of its sessions, two pending "
        "requests whose dates it overlaps, another tutor with a pending request). Held: A's "
        "transaction stays open, B must be seen waiting on a lock A holds (`pg_blocking_pids`), the "
        "other tutor's acceptance must complete meanwhile without waiting on either, then A commits. "
        "Random: both released together after seeded delays. Timeout: A held past the rule's lock "
        "timeout, B must give up with `RetryableConflict` (55P03) and write nothing (unless it "
        "waited for a row A wrote, locked before the tutor's lock). The tutor's sessions, "
        "skipped occurrences, series, patterns, time off, requests, enrolments and zone, and the "
        "SQLSTATE each operation raised, must then equal a serial order's (held: exactly A;B), with "
        "no raw error, and the series invariants of `tests/reference.py` hold (each live session is "
        "its pattern's, no occurrence lost, no double or overlapping session, both time pairs agree).",
        "- `tests/test_faults.py`: faults are injected once the acceptance is observed writing "
        "(the sessions file grew, or the backend holds a transaction id and waits on a lock); "
        "afterwards every request is accepted with all its sessions or pending with none, and "
        "accepting again completes the work. The crash test runs on an embedded server of its own.",
        "- `tests/test_hostile.py`: every hostile input is refused with its documented error or "
        "handled per the contract, under `statement_timeout = 20s`.",
        "- `tests/test_adversary.py`: as a login that is only a member of `astegni_app` and as one "
        "with no grants, nothing switches the rule off or bends it: a status change is always fully "
        "processed or refused; cancellation and hand moves serialise with acceptance on locks no "
        "client can take; a zone change keeps every session's two time pairs in agreement or is "
        "refused whole.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability_report",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--thorough", action="store_true",
                        help="also run the thorough profile (pytest -m thorough)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "reliability.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "figures.jsonl"
        marker = "thorough or not thorough" if args.thorough else "not thorough"
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marker, *SUITES],
            cwd=ROOT, env={**os.environ, LOG_ENV: str(log)}, capture_output=True, text=True,
            check=False)
        seconds = time.monotonic() - started
        figures = _figures(log)
    sys.stdout.write(run.stdout[-3000:])
    sys.stderr.write(run.stderr[-3000:])
    summaries = [m.group(1) for line in run.stdout.splitlines() if (m := SUMMARY.match(line))]
    summary = summaries[-1] if summaries else f"pytest exited with {run.returncode}"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(figures, summary, run.returncode == 0, seconds, args.thorough),
                           encoding="utf-8")
    print(f"wrote {args.output}")
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())

"""python -m benchmarks [--quick] [--database-url URL] [sizes...]: see docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from benchmarks import figures, report
from benchmarks.server import ROOT, machine, server

FULL = figures.Sizes(requests=10_000, rows=10_000, growth_rows=2_000_000, accepts=100,
                     concurrent=160, rounds=3, series=10_000, idle_series=50_000, mix_requests=20_000,
                     mix_sessions=500_000, mix_seconds=10, pickups=200)
QUICK = figures.Sizes(requests=300, rows=1_000, growth_rows=50_000, accepts=10, concurrent=30,
                      rounds=2, series=300, idle_series=1_000, mix_requests=3_000, mix_sessions=10_000,
                      mix_seconds=1, pickups=20)


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute (CI)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="a server to create the benchmark's databases on (default: "
                             "DATABASE_URL, else an embedded PostgreSQL)")
    parser.add_argument("--output", type=Path,
                        help="markdown file to write (default: docs/benchmarks.md, not in --quick)")
    parser.add_argument("--apply-sql", type=Path, action="append", default=[],
                        help="SQL file run in every database after migrating (to measure a change to"
                             " db/functions before it is migrated); may be repeated")
    parser.add_argument("--only", help="comma-separated figure numbers, e.g. 1,3")
    for size in figures.Sizes.__dataclass_fields__:
        parser.add_argument(f"--{size.replace('_', '-')}", type=int, help=f"default {getattr(FULL, size)}"
                            f" ({getattr(QUICK, size)} with --quick)")
    return parser.parse_args(argv)


def command(argv: list[str]) -> str:
    """The command line as recorded, without the server's address (it may hold a password)."""
    shown: list[str] = []
    for arg in argv:
        if shown and shown[-1] == "--database-url":
            shown[-1] = "--database-url URL"
        elif arg.startswith("--database-url="):
            shown.append("--database-url URL")
        else:
            shown.append(shlex.quote(arg))
    return " ".join(["python -m benchmarks", *shown])


def main(argv: list[str]) -> int:
    args = arguments(argv)
    defaults = QUICK if args.quick else FULL
    sizes = figures.Sizes(**{name: getattr(args, name) or getattr(defaults, name)
                             for name in figures.Sizes.__dataclass_fields__})
    wanted = {int(n) for n in args.only.split(",")} if args.only else set(range(1, max(figures.ALL) + 1))
    # The record is a full run of the project as migrated: a quick or patched run writes only if told.
    output = args.output or (None if args.quick or args.apply_sql else ROOT / "docs" / "benchmarks.md")
    started = time.perf_counter()
    results: list[figures.Figure] = []
    with server(args.database_url, tuple(args.apply_sql)) as bench:
        version = bench.version()
        print(f"PostgreSQL: {version}\nMachine: {machine()}", flush=True)
        for patch in args.apply_sql:
            print(f"Applied after migrating: {patch}", flush=True)
        for number, run in figures.ALL.items():
            covers = {2, 3} if number == 2 else {number}
            if not covers & wanted:
                continue
            made = run(bench, sizes)
            for figure in made if isinstance(made, list) else [made]:
                report.show(figure)
                results.append(figure)
    elapsed = time.perf_counter() - started
    missed = [f.number for f in results if not f.met]
    print(f"{len(results)} figures in {elapsed:.0f} s; budgets missed: {missed or 'none'}")
    if output:
        report.write(output, report.markdown(results, version=version, machine=machine(),
                                             sizes=sizes, command=command(argv), elapsed=elapsed))
        print(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

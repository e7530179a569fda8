"""CI's run of the benchmarks: `python -m benchmarks --quick` must run to the end and report every
figure (its budgets are for full runs on a known machine, not asserted here)."""

import re
import subprocess
import sys

from benchmarks.figures import ALL
from tests.support import ROOT


def test_quick_benchmarks_run_and_report_every_figure(empty_db_url, tmp_path):
    output = tmp_path / "benchmarks.md"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--database-url", empty_db_url,
         "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    reported = {int(n) for n in re.findall(r"^(\d+)\. .* = [\d.]+x \(budget", run.stdout, re.M)}
    assert reported == set(range(1, max(ALL) + 1)), run.stdout  # figure 3 comes with figure 2's run
    assert "PostgreSQL" in run.stdout and "CPUs" in run.stdout
    assert re.search(r"Round trips of one accept \(24 sessions\): 1 vs 2\d ", run.stdout), run.stdout
    table = [line for line in output.read_text().splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(table) == max(ALL) + 1  # figure 5 has two rows, 200 and 1,000 occurrences

"""The race matrix: every ordered pair of the operations that book or free a tutor's time (tests/races.py's
OPERATIONS, an operation with itself included), raced on one tutor, must leave the database as one of the
two serial orders would, with no raw error, no false refusal and no broken invariant.

- held (every pair, the default run): A's transaction is left open, B must be seen waiting on a lock A
  holds, another tutor's acceptance must complete meanwhile without waiting on either; the database
  must then be exactly A;B's. A pair where A holds B up by neither the tutor's lock nor the series row
  (the extension with nothing to make, either side) must instead see B finish without waiting, and
  the database be A;B's or B;A's.
- random (a few seeds by default, many under `pytest -m thorough`): A and B released together after
  small seeded delays; the database must be A;B's or B;A's.
- timeout (a few pairs by default, every pair where A holds B up under `pytest -m thorough`): A's
  transaction is held past the rule's lock timeout; B must give up with RetryableConflict (55P03)
  while A is still open, and the database must be A's alone (a B still waiting for a row A wrote,
  which it locks before the tutor's lock, finishes after A as in a held case).

A new operation joins the matrix by adding its entry to OPERATIONS.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from astegni.testing import fresh_database
from tests.races import (
    BY_NAME,
    OPERATIONS,
    Case,
    Matrix,
    Operation,
    Outcome,
    judge,
    pairs,
    report,
)
from tests.reliability_report import record

QUICK_SEEDS = range(6)
THOROUGH_SEEDS = range(6, 1006)
# Pairs whose B takes the tutor's lock each its own way: a function claiming the request, the zone's
# trigger, a hand insert's trigger, time off's function.
QUICK_TIMEOUTS = [("extension", "reschedule"), ("reschedule", "zone change"),
                  ("zone change", "session inserted"), ("session moved", "time off removed")]


@pytest.fixture(scope="module")
def matrix(server_url: str, template_db: str) -> Iterator[Matrix]:
    """The matrix's database: every case builds its starting state there."""
    with fresh_database(server_url, template_db) as url:
        runner = Matrix(url)
        yield runner
        runner.close()


def _checked(case: Case) -> None:
    problems = judge(case)
    record(f"race_cases:{case.mode}", 1)
    record("race_waits_seen", 1 if case.mode == "held" and case.waited else 0)
    if case.waited_on:
        record(f"race_row_waits:{case.waited_on}", 1)
    record("race_serial_matches", 0 if case.matched is None else 1)
    record("race_other_tutor_accepted", 1 if case.mode == "held" and case.other_tutor is None else 0)
    record("race_timeouts_refused", 1 if case.mode == "timeout" and case.outcomes[1].timed_out else 0)
    if problems:
        pytest.fail(report(case, problems), pytrace=False)


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_each_operation_alone_succeeds_and_changes_the_tutors_state(matrix: Matrix, op: Operation) -> None:
    """The starting state gives every operation work: alone, it succeeds and changes the snapshot."""
    before, outcome, after, broken = matrix.alone(op)
    record("race_operations", 1)
    assert outcome == Outcome(), f"{op} on the starting state: {outcome}"
    assert after.tables != before.tables, f"{op} changed nothing"
    assert broken == []


@pytest.mark.parametrize(("a", "b"), pairs(), ids=lambda op: str(op).replace(" ", "_"))
def test_held(matrix: Matrix, a: Operation, b: Operation) -> None:
    _checked(matrix.held(a, b))


def _random(matrix: Matrix, seed: int) -> None:
    a, b = random.Random(seed).choice(pairs())
    _checked(matrix.raced(a, b, seed))


@pytest.mark.parametrize("seed", QUICK_SEEDS)
def test_random(matrix: Matrix, seed: int) -> None:
    _random(matrix, seed)


@pytest.mark.thorough
@pytest.mark.parametrize("seed", THOROUGH_SEEDS)
def test_random_thorough(matrix: Matrix, seed: int) -> None:
    _random(matrix, seed)


@pytest.mark.parametrize(("a", "b"), QUICK_TIMEOUTS, ids=lambda name: name.replace(" ", "_"))
def test_timeout(matrix: Matrix, a: str, b: str) -> None:
    _checked(matrix.timeout(BY_NAME[a], BY_NAME[b]))


@pytest.mark.thorough
@pytest.mark.parametrize(("a", "b"), [(a, b) for a, b in pairs() if a.holds_up(b)],
                         ids=lambda op: str(op).replace(" ", "_"))
def test_timeout_thorough(matrix: Matrix, a: Operation, b: Operation) -> None:
    _checked(matrix.timeout(a, b))

"""An operation of the API, defined once: its statement (astegni/queries.py), how its parameters are
built and how its rows are read into its result. `run` carries it out on a sync connection and
`run_async` on an asyncio one, so that `astegni.accept` and `astegni.aio.accept` (and every other pair)
send the same statement with the same parameters and read the same result: they cannot drift.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from astegni.connection import Conn, Row, fetch, fetch_async, fetch_committing, fetch_committing_async

if TYPE_CHECKING:
    from astegni.connection import AsyncConn

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

# A tutor's moves of single occurrences, in the step that accepts: date -> (start, end) on that day.
Moves = Mapping[dt.date, tuple[dt.time, dt.time]]
NO_MOVES: Moves = MappingProxyType({})


@dataclass(frozen=True)
class Operation(Generic[P, R]):
    statement: str
    params: Callable[P, dict[str, Any]]  # takes the public function's arguments but the connection
    read: Callable[[list[Row]], R]
    # A statement that commits as it goes (a procedure committing batch by batch): it needs an
    # autocommit connection outside any transaction.
    commits: bool = False


def run(conn: Conn, operation: Operation[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """The operation's result on a psycopg connection, a SQLAlchemy Connection or an ORM Session."""
    fetch_rows = fetch_committing if operation.commits else fetch
    return operation.read(fetch_rows(conn, operation.statement, operation.params(*args, **kwargs)))


async def run_async(conn: AsyncConn, operation: Operation[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """The operation's result on a psycopg AsyncConnection, a SQLAlchemy AsyncConnection or an
    AsyncSession."""
    fetch_rows = fetch_committing_async if operation.commits else fetch_async
    return operation.read(await fetch_rows(conn, operation.statement, operation.params(*args, **kwargs)))


def one(read: Callable[[Row], T]) -> Callable[[list[Row]], T]:
    """Reads the single row of a statement that returns exactly one."""
    def read_one(rows: list[Row]) -> T:
        [row] = rows
        return read(row)
    return read_one


def each(read: Callable[[Row], T]) -> Callable[[list[Row]], list[T]]:
    """Reads every row of a statement, in order."""
    def read_each(rows: list[Row]) -> list[T]:
        return [read(row) for row in rows]
    return read_each


def edits(without: Iterable[dt.date], moves: Moves) -> dict[str, Any]:
    """The parameters of a tutor's edits of an acceptance or its preview (astegni_edits reads them): the
    dates left out, and each moved date's wall-clock times."""
    left_out = list(without)
    for day in [*left_out, *moves]:
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise TypeError(f"an occurrence is named by its date (datetime.date), not {day!r}")
    for day, times in moves.items():
        if (not isinstance(times, tuple) or len(times) != 2
                or not all(isinstance(t, dt.time) for t in times)):
            raise TypeError(f"the move of {day} is a (start, end) pair of datetime.time, not {times!r}")
    moved = {day.isoformat(): {"start_time": start.isoformat(), "end_time": end.isoformat()}
             for day, (start, end) in sorted(moves.items())}
    return {"without": sorted(set(left_out)), "moves": json.dumps(moved)}

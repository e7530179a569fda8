"""An operation of the API, defined once: its statement (astegni/queries.py), how its parameters are
built and how its rows are read into its result. `run` carries it out on a sync connection and
`run_async` on an asyncio one, so that `astegni.accept` and `astegni.aio.accept` (and every other pair)
send the same statement with the same parameters and read the same result: they cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from astegni.connection import Conn, Row, fetch, fetch_async, fetch_committing, fetch_committing_async

if TYPE_CHECKING:
    from astegni.connection import AsyncConn

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


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

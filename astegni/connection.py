"""Runs the layer's statements on whatever connection the caller has, and maps the database's errors.

Accepted: a psycopg 3 connection, a SQLAlchemy Connection or an ORM Session (`fetch`), and their
asyncio counterparts, a psycopg AsyncConnection, a SQLAlchemy AsyncConnection or an AsyncSession
(`fetch_async`); SQLAlchemy on its psycopg driver. The caller owns the transaction: nothing here
commits. A deadlock or serialization failure is retried only on an autocommit psycopg connection
(sync or async) outside a `conn.transaction()` block, where the statement is its own transaction and
PostgreSQL says a retry is safe; elsewhere it is raised as RetryableConflict for the caller to retry
its transaction.

Every statement is sent unprepared (psycopg's `prepare=False`), whatever the connection's
prepare_threshold: behind a pooler in transaction mode (pgbouncer's pool_mode = transaction) a
statement psycopg prepared after its fifth run lives in the server session the pooler lent for that
transaction, which the next transaction may not get, or may share with another client that prepared
the same name (DuplicatePreparedStatement, or "prepared statement does not exist"). The rule's
statements are one function call each, planned in microseconds; the functions' own plans are cached
by PL/pgSQL on the server either way (docs/scaling.md, "Behind a connection pooler"). The connection
is otherwise left as given: its settings, its autocommit mode, its transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

import psycopg
import sqlalchemy.exc
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.orm import Session as ORMSession

from astegni.errors import RETRIED_SQLSTATES, NotAutocommit, RetryableConflict, translate

if TYPE_CHECKING:
    # Imported when needed only: SQLAlchemy's asyncio extension requires greenlet, which a caller on
    # psycopg's AsyncConnection need not install.
    from sqlalchemy.ext.asyncio import AsyncConnection as SAAsyncConnection
    from sqlalchemy.ext.asyncio import AsyncSession

    AsyncConn: TypeAlias = psycopg.AsyncConnection[Any] | SAAsyncConnection | AsyncSession

Conn = psycopg.Connection[Any] | SAConnection | ORMSession
Row = dict[str, Any]

RETRIES = 5


def fetch(conn: Conn, sql: str, params: dict[str, Any]) -> list[Row]:
    """The rows of one statement, with the database's refusals raised as AstegniError."""
    attempts = _attempts(conn)
    for attempt in range(attempts):
        try:
            return _fetch(conn, sql, params)
        except (psycopg.Error, sqlalchemy.exc.DBAPIError) as error:
            _raise_unless_retried(error, retry_left=attempt + 1 < attempts)
    raise AssertionError("unreachable")


def fetch_committing(conn: Conn, sql: str, params: dict[str, Any]) -> list[Row]:
    """`fetch` for a statement that commits as it goes (a procedure that commits between batches):
    PostgreSQL runs it only outside a transaction block, so the connection must be in autocommit mode
    and idle (a SQLAlchemy one with isolation_level="AUTOCOMMIT")."""
    driver = conn.connection.driver_connection if isinstance(conn, SAConnection) else (
        conn.connection().connection.driver_connection if isinstance(conn, ORMSession) else conn)
    assert isinstance(driver, psycopg.Connection)
    _require_autocommit(driver)
    return fetch(conn, sql, params)


async def fetch_committing_async(conn: AsyncConn, sql: str, params: dict[str, Any]) -> list[Row]:
    """`fetch_committing` on an asyncio connection."""
    if isinstance(conn, psycopg.AsyncConnection):
        _require_autocommit(conn)
        return await fetch_async(conn, sql, params)
    if isinstance(conn, _sqlalchemy_async()):
        return await conn.run_sync(fetch_committing, sql, params)
    return await fetch_async(conn, sql, params)  # refuses the connection's type


def _require_autocommit(driver: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    if not driver.autocommit or driver.info.transaction_status != TransactionStatus.IDLE:
        raise NotAutocommit("the extension commits batch by batch, so it runs on an autocommit connection"
                            " outside any transaction",
                            hint="psycopg.connect(url, autocommit=True), or SQLAlchemy's"
                                 ' execution_options(isolation_level="AUTOCOMMIT")')


async def fetch_async(conn: AsyncConn, sql: str, params: dict[str, Any]) -> list[Row]:
    """`fetch` on an asyncio connection: the same statement, errors and retries, awaited."""
    if isinstance(conn, psycopg.AsyncConnection):
        attempts = _attempts(conn)
        for attempt in range(attempts):
            try:
                async with conn.cursor(row_factory=dict_row) as cursor:
                    await cursor.execute(sql, params, prepare=False)
                    return await cursor.fetchall()
            except psycopg.Error as error:
                _raise_unless_retried(error, retry_left=attempt + 1 < attempts)
        raise AssertionError("unreachable")
    if isinstance(conn, _sqlalchemy_async()):
        # SQLAlchemy's own bridge runs the sync path (flush, statement, expire_all) on the async driver.
        return await conn.run_sync(fetch, sql, params)
    raise TypeError(f"astegni.aio needs a psycopg AsyncConnection, a SQLAlchemy AsyncConnection or an"
                    f" AsyncSession, not {type(conn).__name__} (astegni.accept & co. take sync ones)")


def _attempts(conn: Conn | AsyncConn) -> int:
    """RETRIES where the statement is its own transaction (autocommit, outside `conn.transaction()`),
    else 1: a failed statement aborts the caller's transaction, which only the caller can retry."""
    own_transaction = (isinstance(conn, psycopg.Connection | psycopg.AsyncConnection) and conn.autocommit
                       and conn.info.transaction_status == TransactionStatus.IDLE)
    return RETRIES if own_transaction else 1


def _raise_unless_retried(error: Exception, *, retry_left: bool) -> None:
    """Raises the AstegniError for a failed statement (or the error itself when it is not one of ours);
    returns only when the statement is to be run again."""
    mapped = translate(error)
    if mapped is None:
        raise error
    # A lock that timed out has already waited: retried at once it would only wait again.
    retried = isinstance(mapped, RetryableConflict) and mapped.detail["sqlstate"] in RETRIED_SQLSTATES
    if retried and retry_left:
        return
    raise mapped from error


def _fetch(conn: Conn, sql: str, params: dict[str, Any]) -> list[Row]:
    if isinstance(conn, psycopg.Connection):
        with conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(sql, params, prepare=False)
            return cursor.fetchall()
    if isinstance(conn, ORMSession):
        conn.flush()
        connection = conn.connection()
        with _unprepared(connection):
            rows = [dict(r) for r in connection.exec_driver_sql(sql, params).mappings()]
        conn.expire_all()  # the rule changed rows behind the identity map
        return rows
    with _unprepared(conn):
        return [dict(r) for r in conn.exec_driver_sql(sql, params).mappings()]


@contextmanager
def _unprepared(conn: SAConnection) -> Iterator[None]:
    """No statement prepared on the psycopg connection under a SQLAlchemy one (sync, or the async
    driver under run_sync) while inside: SQLAlchemy's execute passes no `prepare` argument, so the
    connection's own prepare_threshold is lifted for the statement and put back after."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection | psycopg.AsyncConnection)
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


@functools.cache
def _sqlalchemy_async() -> tuple[type[SAAsyncConnection], type[AsyncSession]] | tuple[()]:
    """SQLAlchemy's asyncio connection classes, or none when it cannot be imported (no greenlet): then
    no caller can hold one either."""
    try:
        from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
    except ImportError:
        return ()
    return AsyncConnection, AsyncSession

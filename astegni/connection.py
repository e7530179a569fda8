"""Runs the layer's statements on whatever connection the caller has, and maps the database's errors.

Accepted: a psycopg 3 connection, a SQLAlchemy Connection or an ORM Session. The caller owns the
transaction: nothing here commits. A deadlock or serialization failure is retried only on an
autocommit psycopg connection, where the statement is its own transaction and PostgreSQL says a
retry is safe; elsewhere it is raised as RetryableConflict for the caller to retry its transaction.
"""

from __future__ import annotations

from typing import Any

import psycopg
import sqlalchemy.exc
from psycopg.rows import dict_row
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.orm import Session as ORMSession

from astegni.errors import RetryableConflict, translate

Conn = psycopg.Connection[Any] | SAConnection | ORMSession
Row = dict[str, Any]

RETRIES = 5


def fetch(conn: Conn, sql: str, params: dict[str, Any]) -> list[Row]:
    """The rows of one statement, with the database's refusals raised as AstegniError."""
    attempts = RETRIES if isinstance(conn, psycopg.Connection) and conn.autocommit else 1
    for attempt in range(attempts):
        try:
            return _fetch(conn, sql, params)
        except (psycopg.Error, sqlalchemy.exc.DBAPIError) as error:
            mapped = translate(error)
            if mapped is None:
                raise
            if isinstance(mapped, RetryableConflict) and attempt + 1 < attempts:
                continue
            raise mapped from error
    raise AssertionError("unreachable")


def _fetch(conn: Conn, sql: str, params: dict[str, Any]) -> list[Row]:
    if isinstance(conn, psycopg.Connection):
        with conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    if isinstance(conn, ORMSession):
        conn.flush()
        rows = [dict(r) for r in conn.connection().exec_driver_sql(sql, params).mappings()]
        conn.expire_all()  # the rule changed rows behind the identity map
        return rows
    return [dict(r) for r in conn.exec_driver_sql(sql, params).mappings()]

"""`astegni.accept`, `reject`, `cancel`, `preview` and `extend` for asyncio: the same statements, results
and errors.

Each takes a psycopg `AsyncConnection`, a SQLAlchemy `AsyncConnection` or an `AsyncSession` (SQLAlchemy
on its psycopg driver; its asyncio extension needs greenlet, a psycopg connection does not), and is
awaited:

    async with await psycopg.AsyncConnection.connect(URL) as conn:
        result = await astegni.aio.accept(conn, 42, tutor_id=7)

Each is one round trip and none commits but `extend` (batch by batch): the caller owns the
transaction. An AsyncSession is flushed first and expired after, as a Session is; a deadlock is retried
only on an autocommit psycopg connection, as in the sync API (astegni/connection.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from astegni import queries
from astegni.accept import Acceptance, Cancellation, Rejection
from astegni.connection import fetch_async, fetch_committing_async
from astegni.preview import PreviewRow
from astegni.series import Extension

if TYPE_CHECKING:
    from astegni.connection import AsyncConn

__all__ = ["accept", "cancel", "extend", "preview", "reject"]


async def accept(conn: AsyncConn, request_id: int, *, tutor_id: int | None = None) -> Acceptance:
    """Accepts a pending request (only tutor_id's own when given) and reports what was made."""
    [row] = await fetch_async(conn, queries.ACCEPT, {"request_id": request_id, "tutor_id": tutor_id})
    return Acceptance.from_row(row)


async def reject(conn: AsyncConn, request_id: int, *, reason: str | None = None,
                 tutor_id: int | None = None) -> Rejection:
    """Rejects a pending request (only tutor_id's own when given)."""
    [row] = await fetch_async(conn, queries.REJECT,
                              {"request_id": request_id, "reason": reason, "tutor_id": tutor_id})
    return Rejection.from_row(row)


async def cancel(conn: AsyncConn, request_id: int, *, reason: str | None = None,
                 tutor_id: int | None = None) -> Cancellation:
    """Cancels an accepted request: its sessions not yet started are cancelled, and counted."""
    [row] = await fetch_async(conn, queries.CANCEL,
                              {"request_id": request_id, "reason": reason, "tutor_id": tutor_id})
    return Cancellation.from_row(row)


async def preview(conn: AsyncConn, request_id: int) -> list[PreviewRow]:
    """One row per occurrence of a pending request; writes nothing."""
    rows = await fetch_async(conn, queries.PREVIEW, {"request_id": request_id})
    return [PreviewRow.from_row(row) for row in rows]


async def extend(conn: AsyncConn) -> Extension:
    """Brings every live series to its horizon now, committing batch by batch (an autocommit
    connection outside any transaction), and reports the run."""
    [row] = await fetch_committing_async(conn, queries.EXTEND, {})
    return Extension.from_row(row)

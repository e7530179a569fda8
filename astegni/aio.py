"""Every operation of the sync API for asyncio: the same statements, parameters, results and errors.

Each takes a psycopg `AsyncConnection`, a SQLAlchemy `AsyncConnection` or an `AsyncSession` (SQLAlchemy
on its psycopg driver; its asyncio extension needs greenlet, a psycopg connection does not), and is
awaited:

    async with await psycopg.AsyncConnection.connect(URL) as conn:
        result = await astegni.aio.accept(conn, 42, tutor_id=7)

Each awaits the Operation its sync twin runs (astegni/operation.py), with the same signature but the
connection's type. Each is one round trip and none commits but `extend` (batch by batch): the caller
owns the transaction. An AsyncSession is flushed first and expired after, as a Session is; a deadlock
is retried only on an autocommit psycopg connection, as in the sync API (astegni/connection.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from astegni import feeds
from astegni.accept import ACCEPT, CANCEL, REJECT, Acceptance, Cancellation, Rejection
from astegni.feeds import Feed, Link, OwnerKind
from astegni.operation import NO_MOVES, Moves, run_async
from astegni.preview import PREVIEW, PreviewRow
from astegni.series import (
    ADD_TIME_OFF,
    END_SERIES,
    EXTEND,
    LIST_TIME_OFF,
    PREVIEW_RESCHEDULE,
    REMOVE_TIME_OFF,
    RESCHEDULE,
    Extension,
    RescheduleRow,
    TimeOff,
)

if TYPE_CHECKING:
    from astegni.connection import AsyncConn

__all__ = ["accept", "add_time_off", "calendar_changed", "calendar_feed", "cancel", "end_series", "extend",
           "issue_calendar_link", "list_time_off", "preview", "preview_reschedule", "reject",
           "remove_time_off", "reschedule", "revoke_calendar_links"]


async def accept(conn: AsyncConn, request_id: int, *, tutor_id: int | None = None,
                 without: Iterable[dt.date] = (), moves: Moves = NO_MOVES) -> Acceptance:
    """`astegni.accept`, awaited."""
    return await run_async(conn, ACCEPT, request_id, tutor_id=tutor_id, without=without, moves=moves)


async def reject(conn: AsyncConn, request_id: int, *, reason: str | None = None,
                 tutor_id: int | None = None) -> Rejection:
    """`astegni.reject`, awaited."""
    return await run_async(conn, REJECT, request_id, reason=reason, tutor_id=tutor_id)


async def cancel(conn: AsyncConn, request_id: int, *, reason: str | None = None,
                 tutor_id: int | None = None) -> Cancellation:
    """`astegni.cancel`, awaited."""
    return await run_async(conn, CANCEL, request_id, reason=reason, tutor_id=tutor_id)


async def preview(conn: AsyncConn, request_id: int, *, without: Iterable[dt.date] = (),
                  moves: Moves = NO_MOVES) -> list[PreviewRow]:
    """`astegni.preview`, awaited."""
    return await run_async(conn, PREVIEW, request_id, without=without, moves=moves)


async def extend(conn: AsyncConn) -> Extension:
    """`astegni.extend`, awaited: it commits batch by batch, on an autocommit connection outside any
    transaction."""
    return await run_async(conn, EXTEND)


async def end_series(conn: AsyncConn, request_id: int, last_date: dt.date, reason: str | None = None, *,
                     tutor_id: int | None = None) -> int:
    """`astegni.end_series`, awaited."""
    return await run_async(conn, END_SERIES, request_id, last_date, reason, tutor_id=tutor_id)


async def reschedule(conn: AsyncConn, request_id: int, from_date: dt.date, *,
                     days: Sequence[str] | None = None, start_time: dt.time | None = None,
                     end_time: dt.time | None = None, tutor_id: int | None = None) -> list[RescheduleRow]:
    """`astegni.reschedule`, awaited."""
    return await run_async(conn, RESCHEDULE, request_id, from_date, days=days, start_time=start_time,
                           end_time=end_time, tutor_id=tutor_id)


async def preview_reschedule(conn: AsyncConn, request_id: int, from_date: dt.date, *,
                             days: Sequence[str] | None = None, start_time: dt.time | None = None,
                             end_time: dt.time | None = None,
                             tutor_id: int | None = None) -> list[RescheduleRow]:
    """`astegni.preview_reschedule`, awaited."""
    return await run_async(conn, PREVIEW_RESCHEDULE, request_id, from_date, days=days,
                           start_time=start_time, end_time=end_time, tutor_id=tutor_id)


async def add_time_off(conn: AsyncConn, tutor_id: int, starts_at: dt.datetime, ends_at: dt.datetime,
                       reason: str | None = None) -> TimeOff:
    """`astegni.add_time_off`, awaited."""
    return await run_async(conn, ADD_TIME_OFF, tutor_id, starts_at, ends_at, reason)


async def remove_time_off(conn: AsyncConn, time_off_id: int, *, tutor_id: int | None = None) -> bool:
    """`astegni.remove_time_off`, awaited."""
    return await run_async(conn, REMOVE_TIME_OFF, time_off_id, tutor_id=tutor_id)


async def list_time_off(conn: AsyncConn, tutor_id: int) -> list[TimeOff]:
    """`astegni.list_time_off`, awaited."""
    return await run_async(conn, LIST_TIME_OFF, tutor_id)


async def calendar_feed(conn: AsyncConn, token: str) -> Feed | None:
    """`astegni.calendar_feed`, awaited."""
    return await run_async(conn, feeds.FEED, token)


async def calendar_changed(conn: AsyncConn, token: str, etag: str) -> dt.datetime | None:
    """`astegni.calendar_changed`, awaited."""
    return await run_async(conn, feeds.CHANGED, token, etag)


async def issue_calendar_link(conn: AsyncConn, owner_kind: OwnerKind, owner_id: int) -> Link:
    """`astegni.issue_calendar_link`, awaited."""
    token = feeds.new_token()
    link_id, created_at = await run_async(conn, feeds.ISSUE, owner_kind, owner_id, token)
    return Link(link_id, owner_kind, owner_id, token, created_at)


async def revoke_calendar_links(conn: AsyncConn, owner_kind: OwnerKind, owner_id: int) -> int:
    """`astegni.revoke_calendar_links`, awaited."""
    return await run_async(conn, feeds.REVOKE, owner_kind, owner_id)

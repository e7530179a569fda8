"""The app's `PATCH /api/session-requests/tutor/{request_id}`, drop-in, for FastAPI (the `fastapi` extra).

    from astegni.fastapi import router
    app.include_router(router(tutor_id=current_tutor_id, connection=get_connection))

`tutor_id` and `connection` are the app's own FastAPI dependencies: the current tutor's profile id
(`tutor_profiles.id`, an int), and a psycopg `Connection` or `AsyncConnection` (returned or yielded).
The body is `{"status": "accepted" | "rejected", "rejected_reason": ...}`. A success is committed and
answered with the old endpoint's body, byte for byte (`success`, `message`, `request_id`, `status`,
`responded_at`, and for an acceptance `agreed_price`, `sessions_created`, `enrolled_course_id`). A
refusal is rolled back and answered by its SQLSTATE (HTTP_STATUS) with
`{"detail": {"code", "message", "field", "value"}}`; a deadlock, a serialization failure or a tutor
locked past the rule's lock_timeout is 503 with Retry-After, any other database error a 500 with a
generic message. PostgreSQL's context (the PL/pgSQL call stack) never reaches the client: it is logged
to the `astegni.fastapi` logger.

On a sync connection the database work runs in FastAPI's threadpool, never on the event loop; on an
AsyncConnection it is awaited (astegni.aio).
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint's annotations at run time, and they
# name the router's arguments (closure variables a string annotation cannot resolve).
import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from astegni import aio
from astegni.accept import accept as accept_sync
from astegni.accept import reject as reject_sync
from astegni.errors import AstegniError, RetryableConflict, from_database

__all__ = ["HTTP_STATUS", "PATH", "StatusUpdate", "router"]

logger = logging.getLogger(__name__)

PATH = "/api/session-requests/tutor/{request_id}"

# The HTTP status of each refusal of the rule, by SQLSTATE (docs/errors.md). A code not listed here
# (AS008, which this endpoint cannot cause), like any other database error, is a 500.
HTTP_STATUS: dict[str, int] = {
    "AS001": 404,  # RequestNotFound: no such request, or another tutor's
    "AS002": 409,  # AlreadyResponded: not pending any more
    "AS003": 409,  # InvalidTransition: the request's current status does not allow the change
    "AS004": 422,  # NoStudent: the request names no student to enrol
    "AS005": 422,  # InvalidSchedule: a malformed schedule, or a rejected_reason too long (field, value)
    "AS006": 422,  # TooManySessions: more sessions than the limit (value: the count)
    "AS007": 409,  # ScheduleConflict: a clash with another of the tutor's sessions
    "AS009": 422,  # InvalidTimezone: the tutor's zone is not an IANA name
    "AS010": 409,  # InconsistentSession: a session of the tutor disagrees with itself
    "AS011": 409,  # SessionDateTaken: the request already has a session that day
    "AS012": 422,  # InvalidPackage: the request's package is missing or another tutor's (field, value)
    "AS013": 409,  # ImmutableRequest: the request's id cannot change
}
RETRY_AFTER_SECONDS = 1

BUSY = "The database was busy with a concurrent change; try again"
FAILED = "Internal database error"

# Request ids are PostgreSQL integers: one out of their range is a 422, not a database error.
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1


class StatusUpdate(BaseModel):
    """The PATCH body, as the old endpoint took it; `rejected_reason` is ignored on acceptance."""

    status: Literal["accepted", "rejected"]
    rejected_reason: str | None = None


def router(*, tutor_id: Callable[..., Any], connection: Callable[..., Any]) -> APIRouter:
    """The PATCH endpoint on the app's dependencies: `tutor_id` gives the current tutor's profile id,
    `connection` a psycopg Connection or AsyncConnection (it may yield it, and close it after)."""
    api = APIRouter()

    @api.patch(
        PATH,
        response_class=JSONResponse,
        responses={
            404: {"description": "AS001: no such request of this tutor"},
            409: {"description": "AS002 already responded, AS007 a clash, ... (HTTP_STATUS)"},
            422: {"description": "A bad body, or AS004/AS005/AS006/AS012: the request cannot be accepted"},
            503: {"description": "A deadlock, a serialization failure, or the tutor's schedule locked past"
                                  " the rule's lock_timeout by another change: retry"},
        },
    )
    async def update_session_request_status(
        request_id: Annotated[int, Path(ge=INT4_MIN, le=INT4_MAX)],
        update: StatusUpdate,
        tutor: Annotated[Any, Depends(tutor_id)],
        conn: Annotated[Any, Depends(connection)],
    ) -> JSONResponse:
        # Never None: astegni.accept(tutor_id=None) would answer for any tutor's request.
        if not isinstance(tutor, int) or isinstance(tutor, bool):
            raise TypeError(f"the tutor_id dependency gave {tutor!r}, not a tutor profile id (int)")
        if isinstance(conn, psycopg.AsyncConnection):
            body = await _respond_async(conn, request_id, tutor, update)
        elif isinstance(conn, psycopg.Connection):
            body = await run_in_threadpool(_respond_sync, conn, request_id, tutor, update)
        else:
            raise TypeError(f"the connection dependency gave a {type(conn).__name__},"
                            " not a psycopg Connection or AsyncConnection")
        return JSONResponse(body)

    return api


def _respond_sync(conn: psycopg.Connection[Any], request_id: int, tutor: int,
                  update: StatusUpdate) -> dict[str, Any]:
    try:
        if update.status == "accepted":
            body = accept_sync(conn, request_id, tutor_id=tutor).as_response()
        else:
            body = reject_sync(conn, request_id, reason=update.rejected_reason, tutor_id=tutor).as_response()
        conn.commit()
    except Exception as error:
        try:
            conn.rollback()
        except psycopg.Error as lost:
            logger.warning("rollback failed after request %s: %s", request_id, lost)
        raise _http_error(error, request_id) from error
    return body


async def _respond_async(conn: psycopg.AsyncConnection[Any], request_id: int, tutor: int,
                         update: StatusUpdate) -> dict[str, Any]:
    try:
        if update.status == "accepted":
            body = (await aio.accept(conn, request_id, tutor_id=tutor)).as_response()
        else:
            body = (await aio.reject(conn, request_id, reason=update.rejected_reason,
                                     tutor_id=tutor)).as_response()
        await conn.commit()
    except Exception as error:
        try:
            await conn.rollback()
        except psycopg.Error as lost:
            logger.warning("rollback failed after request %s: %s", request_id, lost)
        raise _http_error(error, request_id) from error
    return body


def _http_error(error: Exception, request_id: int) -> Exception:
    """The HTTPException answering a database error or a refusal; any other error, unchanged."""
    if isinstance(error, psycopg.Error):
        mapped = from_database(error)
    elif isinstance(error, AstegniError):
        mapped = error
    else:
        return error
    if isinstance(mapped, RetryableConflict):
        return HTTPException(503, detail=_detail(mapped.detail.get("sqlstate"), BUSY),
                             headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    status = HTTP_STATUS.get(mapped.sqlstate or "")
    if status is None:
        logger.error("request %s: database error", request_id, exc_info=error)
        return HTTPException(500, detail=_detail(mapped.sqlstate or mapped.detail.get("sqlstate"), FAILED))
    return HTTPException(status, detail=_detail(mapped.sqlstate, mapped.message, mapped.field, mapped.value))


def _detail(code: str | None, message: str, field: str | None = None,
            value: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field, "value": value}

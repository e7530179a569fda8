"""The app's `PATCH /api/session-requests/tutor/{request_id}`, drop-in, for FastAPI (the `fastapi` extra),
and the same answers for the rule's refusals raised anywhere else in the app.

    from astegni.fastapi import install_exception_handlers, router
    app.include_router(router(tutor_id=current_tutor_id, connection=get_connection, on_accepted=book))
    install_exception_handlers(app)

`tutor_id` and `connection` are the app's own FastAPI dependencies: the current tutor's profile id
(`tutor_profiles.id`, an int, or None for a user who is not a tutor: 403, as the old endpoint answered),
and a psycopg `Connection` or `AsyncConnection` (returned or yielded). The body is
`{"status": "accepted" | "rejected", "rejected_reason": ...}`, and an acceptance may carry the tutor's
edits: `"without": ["YYYY-MM-DD", ...]` (occurrences left out) and
`"moves": {"YYYY-MM-DD": {"start_time": "HH:MM", "end_time": "HH:MM"}}` (single occurrences moved).
`on_accepted(conn, acceptance)`, when given, runs on that connection after the rule accepted and before
the commit (a function on a Connection, a coroutine function on an AsyncConnection): what it writes is
committed with the acceptance, and if it raises, the acceptance is rolled back whole.

A success is committed and answered with the old endpoint's body, byte for byte (`success`, `message`,
`request_id`, `status`, `responded_at`, and for an acceptance `agreed_price`, `sessions_created`,
`enrolled_course_id`). A refusal is rolled back and answered by its SQLSTATE (HTTP_STATUS) with
`{"detail": {"code", "message", "field", "value"}}`; a deadlock, a serialization failure or a tutor
locked past the rule's lock_timeout is 503 with Retry-After, any other error (a hook's included) a 500
with a generic message. PostgreSQL's context (the PL/pgSQL call stack) and a hook's exception never
reach the client: they are logged to the `astegni.fastapi` logger.

On a sync connection the database work runs in FastAPI's threadpool, never on the event loop; on an
AsyncConnection it is awaited (astegni.aio). Works with FastAPI 0.104 (Starlette 0.27, Pydantic 2.4)
and later.

`calendar_router(connection=get_connection)` serves the calendar feeds (`GET /calendar/{token}.ics`,
astegni.feeds, docs/calendar.md) on the same kind of connection dependency.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint's annotations at run time, and they
# name the router's arguments (closure variables a string annotation cannot resolve).
import datetime as dt
import email.utils
import inspect
import logging
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

import psycopg
import sqlalchemy.exc
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from psycopg.pq import TransactionStatus
from pydantic import BaseModel, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from astegni import aio, feeds
from astegni.accept import Acceptance
from astegni.accept import accept as accept_sync
from astegni.accept import reject as reject_sync
from astegni.errors import AstegniError, RetryableConflict, from_database

__all__ = ["CALENDAR_PATH", "HTTP_STATUS", "PATH", "Move", "OnAccepted", "StatusUpdate", "calendar_router",
           "install_exception_handlers", "router"]

logger = logging.getLogger(__name__)

PATH = "/api/session-requests/tutor/{request_id}"
CALENDAR_PATH = "/calendar/{token}.ics"
# A feed is fetched again by every subscriber, often: each fetch revalidates (ETag, Last-Modified), and
# no shared cache keeps what only the link's holder may read.
CALENDAR_CACHE_CONTROL = "private, no-cache"

# The HTTP status of each refusal of the rule, by SQLSTATE (docs/errors.md); every code of
# astegni.errors has one (a test checks it).
HTTP_STATUS: dict[str, int] = {
    "AS001": 404,  # RequestNotFound: no such request, or another tutor's
    "AS002": 409,  # AlreadyResponded: not pending any more
    "AS003": 409,  # InvalidTransition: the request's current status does not allow the change
    "AS004": 422,  # NoStudent: the request names no student to enrol
    "AS005": 422,  # InvalidSchedule: a malformed schedule, or a rejected_reason too long (field, value)
    "AS006": 422,  # TooManySessions: more sessions than the limit (value: the count)
    "AS007": 409,  # ScheduleConflict: a clash with another of the tutor's sessions
    "AS008": 403,  # SettingsLocked: schedule_settings changed by a role that may not
    "AS009": 422,  # InvalidTimezone: the tutor's zone is not an IANA name
    "AS010": 409,  # InconsistentSession: a session of the tutor disagrees with itself, or has no course
    "AS011": 409,  # SessionDateTaken: the request already has a session that day
    "AS012": 422,  # InvalidPackage: the request's package is missing or another tutor's (field, value)
    "AS013": 409,  # ImmutableRequest: the request's id, or an accepted request's schedule, cannot change
    "AS014": 409,  # NotASeries: ending or rescheduling what is not an accepted recurring request
    "AS015": 409,  # SeriesEnded: rescheduling or ending past the series' last date
    "AS016": 422,  # InvalidTimeOff: time off that is empty or unbounded
    "AS017": 422,  # InvalidEdit: a date left out or moved that is no occurrence, a bad move (field, value)
    "AS020": 404,  # CalendarOwnerNotFound: a calendar link for no such student, parent or tutor
}
# A refusal of the rule this version does not know (a database migrated by a later one): AS0xx.
RULE_SQLSTATE = re.compile(r"AS0[0-9A-Z]{2}")
UNKNOWN_REFUSAL_STATUS = 409
RETRY_AFTER_SECONDS = 1

BUSY = "The database was busy with a concurrent change; try again"
FAILED = "Internal database error"
INTERNAL = "Internal server error"
# The old endpoint's answer to a user who is not a tutor.
NOT_A_TUTOR = "Only tutors can accept/reject session requests"

# Request ids are PostgreSQL integers: one out of their range is a 422, not a database error.
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1

# on_accepted(conn, acceptance): returns None on a Connection, an awaitable on an AsyncConnection.
OnAccepted = Callable[[Any, Acceptance], object]

# What a refusal is answered with: status, detail, headers.
Answer = tuple[int, dict[str, Any], dict[str, str]]
# A Starlette exception handler: (request, exception) -> Response, or an awaitable of one.
Handler = Callable[[Request, Any], Any]


class Move(BaseModel):
    """An occurrence moved to other times of its own day, on the tutor's wall clock."""

    start_time: dt.time
    end_time: dt.time


class StatusUpdate(BaseModel):
    """The PATCH body, as the old endpoint took it; `rejected_reason` is ignored on acceptance. An
    acceptance may also leave out occurrences (`without`, their dates) and move single ones (`moves`),
    as astegni.accept does."""

    status: Literal["accepted", "rejected"]
    rejected_reason: str | None = None
    without: list[dt.date] = Field(default_factory=list)
    moves: dict[dt.date, Move] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _edits_only_on_acceptance(self) -> "StatusUpdate":
        if self.status == "rejected" and (self.without or self.moves):
            raise ValueError("without and moves edit an acceptance: a rejection takes neither")
        return self

    def edits(self) -> dict[str, Any]:
        """The edits as astegni.accept takes them."""
        return {"without": self.without,
                "moves": {day: (move.start_time, move.end_time) for day, move in self.moves.items()}}


def router(*, tutor_id: Callable[..., Any], connection: Callable[..., Any],
           on_accepted: OnAccepted | None = None) -> APIRouter:
    """The PATCH endpoint on the app's dependencies: `tutor_id` gives the current tutor's profile id, or
    None when the user is not a tutor (answered 403); `connection` a psycopg Connection or
    AsyncConnection (it may yield it, and close it after). `on_accepted(conn, acceptance)` runs in the
    acceptance's transaction, before its commit (awaited on an AsyncConnection)."""
    api = APIRouter()

    @api.patch(
        PATH,
        response_class=JSONResponse,
        responses={
            403: {"description": "The user is not a tutor"},
            404: {"description": "AS001: no such request of this tutor"},
            409: {"description": "AS002 already responded, AS007 a clash, ... (HTTP_STATUS)"},
            422: {"description": "A bad body, or AS004/AS005/AS006/AS012/AS017: the request cannot be"
                                  " accepted (with these edits)"},
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
        if tutor is None:
            raise HTTPException(403, detail=NOT_A_TUTOR)
        # Never anything but an int: astegni.accept(tutor_id=None) would answer for any tutor's request.
        if not isinstance(tutor, int) or isinstance(tutor, bool):
            raise TypeError(f"the tutor_id dependency gave {tutor!r}, not a tutor profile id (int) or None")
        if isinstance(conn, psycopg.AsyncConnection):
            body = await _respond_async(conn, request_id, tutor, update, on_accepted)
        elif isinstance(conn, psycopg.Connection):
            body = await run_in_threadpool(_respond_sync, conn, request_id, tutor, update, on_accepted)
        else:
            raise TypeError(f"the connection dependency gave a {type(conn).__name__},"
                            " not a psycopg Connection or AsyncConnection")
        return JSONResponse(body)

    return api


def calendar_router(*, connection: Callable[..., Any]) -> APIRouter:
    """`GET /calendar/{token}.ics` on the app's connection dependency (a psycopg Connection or
    AsyncConnection, returned or yielded): a live link's feed as text/calendar with its ETag and
    Last-Modified, 304 to a conditional GET that has it already (If-None-Match, else
    If-Modified-Since). A token never issued, revoked or malformed is answered 404 exactly as a path
    the app does not have."""
    api = APIRouter()

    @api.get(
        CALENDAR_PATH,
        response_class=Response,
        responses={
            200: {"content": {"text/calendar": {}}, "description": "The feed (RFC 5545)"},
            304: {"description": "The feed has not changed since the validator given"},
            404: {"description": "No live link has this token"},
            503: {"description": "A serialization failure or a deadlock: retry"},
        },
    )
    async def calendar_feed(token: str, request: Request,
                            conn: Annotated[Any, Depends(connection)]) -> Response:
        if not feeds.TOKEN.fullmatch(token):
            raise HTTPException(404)
        if isinstance(conn, psycopg.AsyncConnection):
            served = await _feed_async(conn, token)
        elif isinstance(conn, psycopg.Connection):
            served = await run_in_threadpool(_feed_sync, conn, token)
        else:
            raise TypeError(f"the connection dependency gave a {type(conn).__name__},"
                            " not a psycopg Connection or AsyncConnection")
        if served is None:
            raise HTTPException(404)
        body, etag, changed_at = served
        headers = {"ETag": etag, "Last-Modified": email.utils.format_datetime(changed_at, usegmt=True),
                   "Cache-Control": CALENDAR_CACHE_CONTROL}
        if _not_modified(request, etag, changed_at):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)

    return api


# A served feed: its body, ETag and Last-Modified (whole seconds, in UTC, as HTTP dates carry it).
Served = tuple[bytes, str, dt.datetime]


def _feed_sync(conn: psycopg.Connection[Any], token: str) -> Served | None:
    try:
        feed = feeds.calendar_feed(conn, token)
        served: Served | None = None
        if feed is not None:
            body, etag = _rendered(feed)
            changed_at = feed.changed_at if etag == feed.etag else feeds.calendar_changed(conn, token, etag)
            if changed_at is not None:  # None: revoked meanwhile
                served = (body, etag, _http_date(changed_at))
        conn.commit()
    except Exception as error:
        try:
            conn.rollback()
        except psycopg.Error as lost:
            logger.warning("rollback failed after a calendar feed: %s", lost)
        raise _feed_error(error) from error
    return served


async def _feed_async(conn: psycopg.AsyncConnection[Any], token: str) -> Served | None:
    try:
        feed = await aio.calendar_feed(conn, token)
        served: Served | None = None
        if feed is not None:
            body, etag = _rendered(feed)
            changed_at = (feed.changed_at if etag == feed.etag
                          else await aio.calendar_changed(conn, token, etag))
            if changed_at is not None:  # None: revoked meanwhile
                served = (body, etag, _http_date(changed_at))
        await conn.commit()
    except Exception as error:
        try:
            await conn.rollback()
        except psycopg.Error as lost:
            logger.warning("rollback failed after a calendar feed: %s", lost)
        raise _feed_error(error) from error
    return served


def _rendered(feed: feeds.Feed) -> tuple[bytes, str]:
    body = feed.body()
    return body, feeds.etag_of(body)


def _http_date(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _not_modified(request: Request, etag: str, changed_at: dt.datetime) -> bool:
    """Whether the client's copy is current (RFC 9110 13.1.2-3): If-None-Match, compared weakly, when it
    is given; else If-Modified-Since, to the second."""
    if (tags := request.headers.get("if-none-match")) is not None:
        given = {tag.strip().removeprefix("W/") for tag in tags.split(",")}
        return "*" in given or etag in given
    if (since := request.headers.get("if-modified-since")) is not None:
        try:
            moment = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False  # an invalid date is ignored, as RFC 9110 says
        return moment.tzinfo is not None and changed_at <= moment
    return False


def _feed_error(error: Exception) -> HTTPException:
    """A failed feed: 503 with Retry-After for a conflict worth retrying, else 500 (logged, never shown)."""
    answer = _refusal(error)
    if answer is not None and answer[0] == 503:
        status, detail, headers = answer
        return HTTPException(status, detail=detail, headers=headers)
    logger.error("calendar feed: rolled back after an error", exc_info=error)
    return HTTPException(500, detail=_detail(None, FAILED if isinstance(
        error, psycopg.Error | AstegniError) else INTERNAL))


def _respond_sync(conn: psycopg.Connection[Any], request_id: int, tutor: int, update: StatusUpdate,
                  on_accepted: OnAccepted | None) -> dict[str, Any]:
    try:
        if update.status == "accepted":
            acceptance = accept_sync(conn, request_id, tutor_id=tutor, **update.edits())
            if on_accepted is not None:
                outcome = on_accepted(conn, acceptance)
                if inspect.isawaitable(outcome):
                    _discard(outcome)
                    raise TypeError("on_accepted returned an awaitable on a sync Connection:"
                                    " give a plain function, or an AsyncConnection")
            body = acceptance.as_response()
        else:
            body = reject_sync(conn, request_id, reason=update.rejected_reason, tutor_id=tutor).as_response()
        _require_open(conn)
        conn.commit()
    except Exception as error:
        try:
            conn.rollback()
        except psycopg.Error as lost:
            logger.warning("rollback failed after request %s: %s", request_id, lost)
        raise _http_error(error, request_id) from error
    return body


async def _respond_async(conn: psycopg.AsyncConnection[Any], request_id: int, tutor: int,
                         update: StatusUpdate, on_accepted: OnAccepted | None) -> dict[str, Any]:
    try:
        if update.status == "accepted":
            acceptance = await aio.accept(conn, request_id, tutor_id=tutor, **update.edits())
            if on_accepted is not None:
                outcome = on_accepted(conn, acceptance)
                if not inspect.isawaitable(outcome):
                    # A plain function cannot have run a statement on an AsyncConnection: it would
                    # only have made coroutines nobody awaits, and the booking would be lost.
                    raise TypeError("on_accepted returned no awaitable on an AsyncConnection:"
                                    " give a coroutine function (async def)")
                await outcome
            body = acceptance.as_response()
        else:
            body = (await aio.reject(conn, request_id, reason=update.rejected_reason,
                                     tutor_id=tutor)).as_response()
        _require_open(conn)
        await conn.commit()
    except Exception as error:
        try:
            await conn.rollback()
        except psycopg.Error as lost:
            logger.warning("rollback failed after request %s: %s", request_id, lost)
        raise _http_error(error, request_id) from error
    return body


def _require_open(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    """Refuses to commit a failed transaction (a hook that caught its own database error): PostgreSQL
    would roll it back and psycopg would not say so."""
    if conn.info.transaction_status == TransactionStatus.INERROR:
        raise RuntimeError("on_accepted left the transaction failed: nothing can be committed")


def _discard(awaitable: object) -> None:
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()  # a coroutine never awaited: no "was never awaited" warning, nothing run


def _http_error(error: Exception, request_id: int) -> Exception:
    """The HTTPException answering any error of the endpoint's work (an app's hook included)."""
    if isinstance(error, HTTPException):
        return error  # the app's hook chose its answer (rolled back all the same)
    answer = _refusal(error)
    if answer is not None:
        status, detail, headers = answer
        return HTTPException(status, detail=detail, headers=headers or None)
    logger.error("request %s: rolled back after an error", request_id, exc_info=error)
    if isinstance(error, psycopg.Error | sqlalchemy.exc.SQLAlchemyError | AstegniError):
        mapped = from_database(error) if not isinstance(error, AstegniError) else error
        return HTTPException(500, detail=_detail(mapped.sqlstate or mapped.detail.get("sqlstate"), FAILED))
    return HTTPException(500, detail=_detail(None, INTERNAL))


def _refusal(error: BaseException) -> Answer | None:
    """The answer to a refusal of the rule (a rule's SQLSTATE, or a retryable conflict), raised as a
    psycopg, SQLAlchemy or astegni error; None for anything else."""
    if isinstance(error, psycopg.Error | sqlalchemy.exc.SQLAlchemyError):
        mapped = from_database(error)
    elif isinstance(error, AstegniError):
        mapped = error
    else:
        return None
    if isinstance(mapped, RetryableConflict):
        return 503, _detail(mapped.detail.get("sqlstate"), BUSY), {"Retry-After": str(RETRY_AFTER_SECONDS)}
    code = mapped.sqlstate or mapped.detail.get("sqlstate") or ""
    if code in HTTP_STATUS:
        return HTTP_STATUS[code], _detail(code, mapped.message, mapped.field, mapped.value), {}
    if RULE_SQLSTATE.fullmatch(code):
        return UNKNOWN_REFUSAL_STATUS, _detail(code, mapped.message), {}
    return None


def _detail(code: str | None, message: str, field: str | None = None,
            value: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field, "value": value}


def install_exception_handlers(app: FastAPI) -> None:
    """Answers the rule's refusals raised by the app's own endpoints as the router does: a psycopg,
    SQLAlchemy or astegni error whose SQLSTATE is the rule's (HTTP_STATUS; 40001, 40P01 and 55P03 are
    503 with Retry-After), raised as it is or wrapped by the endpoint in an HTTPException of status 500
    or more (`raise HTTPException(500, f"Database error: {e}")` inside `except psycopg.Error as e`).
    PostgreSQL's context never reaches the client. Every other error is answered as before: by the
    app's own handler, if it had one, else as FastAPI answers it. Call it after the app has added its
    own exception handlers."""
    for kind in (psycopg.Error, sqlalchemy.exc.DBAPIError, AstegniError):
        app.add_exception_handler(kind, _raised_handler(app.exception_handlers.get(kind)))
    previous = app.exception_handlers.get(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(StarletteHTTPException, _wrapped_handler(previous))


def _raised_handler(previous: Handler | None) -> Handler:
    async def handle(request: Request, error: Exception) -> Response:
        answer = _refusal(error)
        if answer is not None:
            return _respond(answer)
        if previous is None:
            raise error  # untouched: as if no handler were installed (FastAPI's 500)
        return await _call(previous, request, error)

    return handle


def _wrapped_handler(previous: Handler) -> Handler:
    async def handle(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code >= 500:
            cause = _database_cause(error)
            answer = _refusal(cause) if cause is not None else None
            if answer is not None:
                return _respond(answer)
        return await _call(previous, request, error)

    return handle


def _database_cause(error: BaseException) -> BaseException | None:
    """The first psycopg, SQLAlchemy or astegni error the exception was raised from or while handling."""
    seen: set[int] = set()
    current = error.__cause__ or error.__context__
    while current is not None and id(current) not in seen:
        if isinstance(current, psycopg.Error | sqlalchemy.exc.SQLAlchemyError | AstegniError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _respond(answer: Answer) -> JSONResponse:
    status, detail, headers = answer
    return JSONResponse({"detail": detail}, status_code=status, headers=headers or None)


async def _call(handler: Handler, request: Request, error: Exception) -> Response:
    """An exception handler called as Starlette calls it: awaited, or in the threadpool."""
    if inspect.iscoroutinefunction(handler):
        response: Response = await handler(request, error)
    else:
        response = await run_in_threadpool(handler, request, error)
    return response

"""Every error of this package as a Python exception, and the one place database errors become them.

The database raises each refusal of the rule with its own SQLSTATE (class AS) and a DETAIL that is a
JSON object of the facts (request_id, field, value, clash_session_id, ...). `translate` turns a psycopg
or SQLAlchemy error into the matching exception; the mapping branches on the code, never on the text.
`from_database` also turns every other database error into one (DatabaseError), and `reported` turns
any failure of the `astegni` command into the one AstegniError it prints.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import psycopg
import sqlalchemy.exc
from alembic.util import CommandError


class AstegniError(Exception):
    """Base of every error this package raises."""

    sqlstate: ClassVar[str | None] = None

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.detail: dict[str, Any] = detail or {}
        self.hint = hint

    @property
    def request_id(self) -> int | None:
        return self._id("request_id")

    @property
    def field(self) -> str | None:
        """The column or schedule field at fault, when one is."""
        return self.detail.get("field")

    @property
    def value(self) -> str | None:
        """The bad value, as text."""
        return self.detail.get("value")

    def _id(self, key: str) -> int | None:
        value = self.detail.get(key)
        return int(value) if value is not None else None


class NotConfigured(AstegniError):
    """No database URL, or one that is not PostgreSQL's."""


class NotificationsUndelivered(NotConfigured):
    """`listen` on a connection that notifications do not reach: behind a pooler in transaction mode,
    which lends the session that ran LISTEN to other clients between transactions."""


class MissingExtra(AstegniError):
    """A feature whose packages are an extra that is not installed (the message says what to install)."""


class Unreachable(AstegniError):
    """The server cannot be reached (or refused the login)."""

    @classmethod
    def of(cls, where: str, error: BaseException) -> Unreachable:
        """The connection to `where` (a URL without its password) failed with `error`."""
        return cls(f"cannot reach the database {where}: {_one_line(str(error))}")


class NotAutocommit(AstegniError):
    """A call that commits as it goes (the extension, batch by batch) was given a connection that is
    not in autocommit mode, or is inside a transaction."""


class NotMigrated(AstegniError):
    """The database is not at the migrations' head."""


class NotGranted(AstegniError):
    """The login may not read the database's revision (astegni_alembic_version), which every command
    reads first: it is granted neither client role, or the database predates the grant to them."""

    @classmethod
    def of(cls, login: str, roles: str | None) -> NotGranted:
        """`roles`: the client roles the login is granted (astegni_app, astegni_admin), None for neither."""
        if roles is None:
            return cls(f"the login {login} is granted neither astegni_app nor astegni_admin, so it may not"
                       " read the database's revision (astegni_alembic_version)", detail={"login": login},
                       hint=f"the database owner grants one: GRANT astegni_app TO {login};"
                            f" an admin's login: GRANT astegni_admin TO {login}")
        return cls(f"the login {login} is granted {roles}, yet may not read the database's revision"
                   " (astegni_alembic_version): the database is older than the revision granting that,"
                   " or the grant was revoked", detail={"login": login, "roles": roles},
                   hint="as the database owner: astegni db upgrade")


class NotFound(AstegniError):
    """An id that names no row: a tutor, a student, a course (`detail` has `<kind>_id`)."""

    @classmethod
    def of(cls, kind: str, id_: int, *, hint: str | None = None) -> NotFound:
        """`<kind> <id> does not exist`, the form of the rule's own RequestNotFound."""
        return cls(f"{kind} {id_} does not exist", detail={f"{kind}_id": id_}, hint=hint)


class DatabaseError(AstegniError):
    """PostgreSQL refused for a reason other than the rule's: a read-only database, a role without a
    privilege, a lost connection... `detail["sqlstate"]` is its SQLSTATE when it has one."""


class MigrationError(AstegniError):
    """Alembic refused the command itself, e.g. an unknown revision."""


class MailNotSent(AstegniError):
    """The SMTP server could not be reached, refused the login or the sender, or refused a message for a
    reason it says is temporary (a 4xx reply): the mailer stops before moving past the event, which is
    sent again at its next start. A recipient refused for good (5xx) is recorded, not raised."""


class RequestNotFound(NotFound):
    """No such request, or it belongs to another tutor."""

    sqlstate = "AS001"


class AlreadyResponded(AstegniError):
    """The request already has the status asked for, or is no longer pending."""

    sqlstate = "AS002"


class InvalidTransition(AstegniError):
    """A change of status the rule does not allow (e.g. pending -> cancelled)."""

    sqlstate = "AS003"


class NoStudent(AstegniError):
    """The request names no student and its requester has no student profile."""

    sqlstate = "AS004"


class InvalidSchedule(AstegniError):
    """A malformed value: a schedule's (or a session's times set by hand), or a reason longer than
    2,000 characters; `field` and `value` name what is wrong (a long text's `value` is its start)."""

    sqlstate = "AS005"


class TooManySessions(InvalidSchedule):
    """The schedule would make more sessions than schedule_settings.session_limit."""

    sqlstate = "AS006"


class ScheduleConflict(AstegniError):
    """An occurrence clashes with another session of the tutor; `clash_session_id` names it."""

    sqlstate = "AS007"

    @property
    def clash_session_id(self) -> int | None:
        return self._id("clash_session_id")


class SettingsLocked(AstegniError):
    """schedule_settings changed by a role that is not a member of the database owner's role."""

    sqlstate = "AS008"


class InvalidTimezone(AstegniError):
    """A tutor's zone that is not an IANA name known to the server."""

    sqlstate = "AS009"


class InconsistentSession(AstegniError):
    """A session whose date and times disagree with its instants, or that has no time."""

    sqlstate = "AS010"


class SessionDateTaken(AstegniError):
    """A session moved onto a date where its request already has a session."""

    sqlstate = "AS011"


class InvalidPackage(AstegniError):
    """The request's package is missing, does not exist, or is another tutor's (`value` names it)."""

    sqlstate = "AS012"


class ImmutableRequest(AstegniError):
    """A request's id changed by an UPDATE: a request's id cannot change, sessions refer to it."""

    sqlstate = "AS013"


class NotASeries(AstegniError):
    """Ending or rescheduling a request that is not a series: not an accepted recurring request
    (`detail` has its `status`)."""

    sqlstate = "AS014"


class SeriesEnded(AstegniError):
    """A series asked to run past its last date: rescheduled from after it, or ended later than it
    already ends (`detail` has its `last_date`)."""

    sqlstate = "AS015"


class InvalidTimeOff(AstegniError):
    """Time off that is empty or unbounded (`field` during, `value` the range)."""

    sqlstate = "AS016"

    @property
    def time_off_id(self) -> int | None:
        return self._id("time_off_id")


class InvalidEdit(AstegniError):
    """An edit of an acceptance or its preview that cannot apply: a date left out or moved that is not
    one of the request's occurrences, a move to times no session may have, a date both left out and
    moved, moves not written as {date: {start_time, end_time}} (`field` without or moves, `value` the
    date or the bad text)."""

    sqlstate = "AS017"


class CalendarOwnerNotFound(NotFound):
    """A calendar link asked for an owner that does not exist: no such student, parent or tutor
    profile (`field` owner_id), or an owner kind that is none of those (`field` owner_kind)."""

    sqlstate = "AS020"


class UpgradeBlocked(AstegniError):
    """Existing rows that a migration's new constraints would refuse; `blockers` lists each, with the
    SQL that resolves it. The migration changed nothing."""

    def __init__(self, revision: str, blockers: list[dict[str, Any]]):
        listed = "\n".join(f"  {b['problem']}: {json.dumps(b['facts'], default=str)}" for b in blockers[:50])
        more = f"\n  ... and {len(blockers) - 50} more" if len(blockers) > 50 else ""
        super().__init__(
            f"Migration {revision} stopped, nothing was changed: {len(blockers)} rows stand in its way:\n"
            f"{listed}{more}",
            detail={"revision": revision},
            hint="`astegni db adopt` prints the SQL that resolves each; run the upgrade again after it")
        self.blockers = blockers


class BaselineMissing(AstegniError):
    """A database not yet adopted lacks tables or columns of the baseline (revision 0001): stamping it
    would say it has them. `missing` lists each as (table, column), column None for a whole table."""

    def __init__(self, missing: list[tuple[str, str | None]]):
        listed = ", ".join(f"{table}.{column}" if column else table for table, column in missing)
        super().__init__(f"the database lacks {len(missing)} tables or columns of the baseline (revision"
                         f" 0001), nothing was changed: {listed}",
                         hint="`astegni db adopt --sql FILE` writes the DDL that adds them; run it, then"
                              " --apply")
        self.missing = missing


class RetryableConflict(AstegniError):
    """A deadlock, a serialization failure, or a tutor's lock held past the rule's lock_timeout by
    another transaction: the transaction may be retried."""


BY_SQLSTATE: dict[str, type[AstegniError]] = {
    cls.sqlstate: cls
    for cls in (RequestNotFound, AlreadyResponded, InvalidTransition, NoStudent, InvalidSchedule,
                TooManySessions, ScheduleConflict, SettingsLocked, InvalidTimezone,
                InconsistentSession, SessionDateTaken, InvalidPackage, ImmutableRequest, NotASeries,
                SeriesEnded, InvalidTimeOff, InvalidEdit, CalendarOwnerNotFound)
    if cls.sqlstate
}
# Deadlock and serialization failure: PostgreSQL says a retry is safe at once.
RETRIED_SQLSTATES = frozenset({"40001", "40P01"})
# The rule waited its lock_timeout for a tutor's lock (astegni_lock_tutors): retry later.
LOCK_TIMEOUT = "55P03"
EXCLUSION_VIOLATION = "23P01"


def translate(error: BaseException) -> AstegniError | None:
    """The AstegniError for a psycopg or SQLAlchemy error, or None when it is not one of ours."""
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        error = error.orig or error
    if not isinstance(error, psycopg.Error):
        return None
    diag = error.diag
    sqlstate = diag.sqlstate or ""
    message = diag.message_primary or str(error)
    cls = BY_SQLSTATE.get(sqlstate)
    if cls is not None:
        detail = _detail(diag.message_detail)
        return cls(message, detail=detail, hint=diag.message_hint)
    if sqlstate == LOCK_TIMEOUT:
        return RetryableConflict(f"a tutor's schedule stayed locked by another transaction ({message})",
                                 detail={"sqlstate": sqlstate}, hint="retry the transaction in a moment")
    if sqlstate in RETRIED_SQLSTATES:
        return RetryableConflict(message, detail={"sqlstate": sqlstate}, hint=diag.message_hint)
    if sqlstate == EXCLUSION_VIOLATION and diag.table_name == "sessions":
        # A race the trigger's own check could not see; the constraint caught it.
        return ScheduleConflict(message, detail={"constraint": diag.constraint_name})
    return None


# PostgreSQL's own hint comes first; these are for the errors an operator meets most.
HINTS = {
    "25006": "the database or the role is read-only (default_transaction_read_only, or a standby):"
             " use a writable primary",
    "42501": "the role lacks a privilege: migrations need the database owner's role, astegni extend a"
             " role granted astegni_admin (or astegni_app and astegni_scheduler), astegni calendar-link"
             " a role granted astegni_admin, astegni mail one granted astegni_mailer, the other commands a"
             " role granted astegni_app or astegni_admin",
}


def from_database(error: psycopg.Error | sqlalchemy.exc.SQLAlchemyError) -> AstegniError:
    """The AstegniError for any database error: the rule's refusal when it is one (`translate`),
    else a DatabaseError with PostgreSQL's message, its SQLSTATE and a hint."""
    mapped = translate(error)
    if mapped is not None:
        return mapped
    if isinstance(error, sqlalchemy.exc.DBAPIError) and isinstance(error.orig, psycopg.Error):
        error = error.orig
    if isinstance(error, psycopg.Error):
        diag = error.diag
        sqlstate = diag.sqlstate
        message = diag.message_primary or _one_line(str(error))
        return DatabaseError(message, detail={"sqlstate": sqlstate} if sqlstate else {},
                             hint=diag.message_hint or HINTS.get(sqlstate or ""))
    text = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
    return DatabaseError(_one_line(text))


def reported(error: Exception) -> AstegniError:
    """The AstegniError the `astegni` command prints for a failure, whatever raised it."""
    if isinstance(error, AstegniError):
        return error
    if isinstance(error, psycopg.Error | sqlalchemy.exc.SQLAlchemyError):
        return from_database(error)
    if isinstance(error, CommandError):
        return MigrationError(_one_line(str(error)),
                              hint="astegni db current shows the database's revision and the head")
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename is not None else ""
        return AstegniError(f"{error.strerror}{where}")
    return AstegniError(f"unexpected {type(error).__name__}: {_one_line(str(error))}",
                        hint="a bug: run again with ASTEGNI_DEBUG=1 for its traceback, and report it")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _detail(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"text": text}

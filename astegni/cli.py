"""The `astegni` command: migrations, the demo, responses to requests, series and time off, schedules,
calendars, events.

Every command is a thin client: the rule runs in PostgreSQL. The database is named by
--database-url (before the command or after it) or DATABASE_URL. Every failure (a refusal, an
unreachable or read-only database, an unknown id or revision, a file that cannot be written) is one line
on stderr and exit code 1, never a traceback: astegni.errors.reported says what to print.
ASTEGNI_DEBUG=1 lets a traceback through. A reader that stops reading (`astegni sessions ... | head`)
ends the command quietly, with exit code 0.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
import typer
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import astegni
from astegni import adopt, embedded, feeds, ical, mail, migrations, notifications, queries
from astegni import demo as demo_module
from astegni.accept import NOTES
from astegni.errors import AstegniError, NotConfigured, NotFound, NotMigrated, Unreachable, reported
from astegni.migrations import BASELINE, RULE


class Output(Console):
    """Standard output, where a reader gone (`| head`) raises BrokenPipeError for Commands to end on
    quietly, rather than rich's own SystemExit(1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


# Piped output is not cut to 80 columns: tables of sessions need about 110.
console = Output(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120)
errors = Console(stderr=True, soft_wrap=True)


class App(typer.Typer):
    """A Typer app that reports every failure as one line on stderr and exit code 1."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:
            if os.environ.get("ASTEGNI_DEBUG"):
                raise
            _fail(reported(error))


def _fail(error: AstegniError) -> NoReturn:
    """One line (UpgradeBlocked's message goes on to list the rows that stopped the migration)."""
    sqlstate = error.sqlstate or error.detail.get("sqlstate")
    code = f" {sqlstate}" if sqlstate else ""
    hint = f" (hint: {escape(' '.join(error.hint.split()))})" if error.hint else ""
    errors.print(f"[bold red]error{code}:[/] {escape(error.message)}{hint}", markup=True,
                 highlight=False, soft_wrap=True)
    sys.exit(1)


class Commands(typer.core.TyperGroup):
    """The root command, which runs every other."""

    def invoke(self, ctx: Any) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # inside the try: a reader gone shows here, not at exit
        except BrokenPipeError:
            # The reader has what it wanted (`| head`): stop quietly. Python flushes stdout at exit,
            # which would fail again, so what is still buffered goes to /dev/null.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        return result


app = App(help="Accepted tutoring requests become sessions, by a rule that lives in PostgreSQL.",
          cls=Commands, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode="rich")
db_app = typer.Typer(help="Migrations (Alembic).", no_args_is_help=True)
app.add_typer(db_app, name="db")

URL_HELP = "libpq URL, e.g. postgresql://postgres@127.0.0.1:5432/astegni"
# --database-url after the command (astegni accept 4 --database-url URL): each command takes it too.
UrlOption = Annotated[str | None, typer.Option(
    "--database-url", metavar="URL", help=f"{URL_HELP} (also before the command, or DATABASE_URL).")]


@app.callback()
def main(
    ctx: typer.Context,
    database_url: Annotated[str | None, typer.Option(
        "--database-url", metavar="URL", envvar="DATABASE_URL", show_envvar=True, help=URL_HELP)] = None,
) -> None:
    """Accepted tutoring requests become sessions, by a rule that lives in PostgreSQL."""
    ctx.obj = database_url


def _url(ctx: typer.Context, given: str | None) -> str:
    """The command's own --database-url, else the one before the command, else DATABASE_URL."""
    url: str | None = given or ctx.obj
    if not url:
        raise NotConfigured("no database: set DATABASE_URL or pass --database-url",
                            hint="e.g. postgresql://postgres@127.0.0.1:5432/astegni")
    return url


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    params = conninfo_to_dict(url)
    params.pop("password", None)
    return make_conninfo("", **params)


def _connect(url: str, *, autocommit: bool = False, migrated: bool = True) -> psycopg.Connection[Any]:
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as error:
        raise Unreachable.of(_shown(url), error) from None
    if migrated:
        try:
            current = _revision(conn)
            head = migrations.head()
            if current != head:
                state = f"is at revision {current}" if current else "is not migrated"
                raise NotMigrated(f"the database {_shown(url)} {state} (code expects {head})",
                                  hint="run: astegni db upgrade")
        except BaseException:
            conn.close()
            raise
    return conn


def _revision(conn: psycopg.Connection[Any]) -> str | None:
    current = migrations.revision(conn)
    if not conn.autocommit:
        conn.rollback()  # the command's own transaction starts afresh (its now() included)
    return current


# ---- db ----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument()] = "head",
               database_url: UrlOption = None) -> None:
    """Migrates the database up to REVISION (default: head).

    Example: astegni db upgrade --database-url postgresql://postgres@127.0.0.1:5432/astegni
    """
    url = _url(ctx, database_url)
    _connect(url, migrated=False).close()
    migrations.upgrade(url, revision)
    _print_revision(url)


@db_app.command("downgrade")
def db_downgrade(
    ctx: typer.Context,
    revision: str,
    yes: Annotated[bool, typer.Option(
        "--yes", help=f"Go below {RULE}: remove the rule (its tables, functions, roles and the columns it"
                      " added).")] = False,
    database_url: UrlOption = None,
) -> None:
    """Migrates the database down to REVISION (e.g. 0002, or base for none).

    Below 0002 the rule goes, and only with --yes. The app's own tables (users, sessions, ...) go only
    where this project created them (base on a database it made from nothing): on an adopted database,
    stamped at 0001, they stay as they are, with their rows.

    Example: astegni db downgrade 0003
    """
    url = _url(ctx, database_url)
    with _connect(url, migrated=False) as conn:
        current = _revision(conn)
        created = migrations.baseline_created(conn)
    undone = migrations.undone(current, revision)
    kept = "" if created else "; the app's own tables stay (this database was adopted: 0001 was stamped)"
    if RULE in undone and not yes:
        dropped = ", and revision 0001's tables (users, sessions, ...) with their rows" if (
            BASELINE in undone and created) else ""
        raise AstegniError(f"going below {RULE} removes the rule from {_shown(url)}: its tables, functions,"
                           f" roles and the columns it added{dropped}{kept}",
                           hint=f"run again with --yes: astegni db downgrade {revision} --yes")
    migrations.downgrade(url, revision)
    _print_revision(url)
    if BASELINE in undone and not created:
        console.print("The app's own tables (users, sessions, ...) are left as they were, with their rows:"
                      f" revision {BASELINE} was stamped here (astegni db adopt), not created.",
                      highlight=False, soft_wrap=True)


@db_app.command("adopt")
def db_adopt(
    ctx: typer.Context,
    apply: Annotated[bool, typer.Option(
        "--apply", help="Stamp the baseline (0001) and upgrade to head, in one transaction.")] = False,
    sql_file: Annotated[Path | None, typer.Option(
        "--sql", help="Also write the SQL that resolves the blocking rows here, for review.")] = None,
    database_url: UrlOption = None,
) -> None:
    """Checks a live Astegni database against this project, writing nothing (a dry run).

    Lists how its tables differ from the baseline, the rows that would stop the upgrade with the SQL
    that resolves each, and what accepting each pending request would do under the rule. Exit code 0
    only when `astegni db adopt --apply` would succeed.

    Example: astegni db adopt --sql resolve.sql   (review resolve.sql, psql -f it, run again, then --apply)
    """
    url = _url(ctx, database_url)
    _connect(url, migrated=False).close()
    if apply:
        adopt.apply(url)
        _print_revision(url)
        return
    report = adopt.inspect(url)
    _show_adoption(url, report)
    if sql_file is not None:
        _write(sql_file, report.sql.encode())
        errors.print(f"Wrote {len(report.repairs)} DDL blocks and {len(report.blockers)} resolutions to"
                     f" {sql_file}", highlight=False)
    if not report.ready:
        raise typer.Exit(1)


def _show_adoption(url: str, report: adopt.Report) -> None:
    console.print(f"{_shown(url)}: revision {report.revision or 'none'}, head {migrations.head()}",
                  highlight=False, soft_wrap=True)
    if report.differences:
        table = Table(title="Differences from the baseline (revision 0001)", title_justify="left")
        for column in ("Table", "Column", "Baseline", "This database"):
            table.add_column(column)
        for d in report.differences:
            table.add_row(d.table, d.column or "", d.baseline, d.live or "[red]missing[/]")
        console.print(table)
    elif report.revision is None:
        console.print("Tables: as the baseline has them.")
    if report.repairs:
        console.print(f"[bold]{len(report.repairs)} of them are missing;[/] the DDL below adds each as the"
                      " baseline has it (idempotent; nothing has been run):")
        for repair in report.repairs:
            console.print(repair.sql, highlight=False, soft_wrap=True, markup=False, end="")
    if report.blockers:
        console.print(f"[bold]{len(report.blockers)} rows stop the upgrade;[/] the SQL below resolves each "
                      "(review it; nothing has been run):")
        for number, b in enumerate(report.blockers, start=1):
            console.print(f"{number}. {b['problem']}: {json.dumps(b['facts'], default=str)}",
                          highlight=False, soft_wrap=True)
            console.print(b["resolution"], highlight=False, soft_wrap=True, markup=False)
    if report.trials:
        table = Table(title="Pending requests, each accepted alone under the rule (rolled back)",
                      title_justify="left")
        for column in ("Request", "Tutor", "Schedule", "Outcome"):
            table.add_column(column)
        for t in report.trials:
            if t.refusal is not None:
                code = t.refusal.sqlstate or t.refusal.detail.get("sqlstate") or ""
                outcome = f"[red]refused {code}[/]: {t.refusal.message}"
            else:
                outcome = f"accepted: {t.sessions_created} sessions"
                if t.students_enrolled != 1:
                    outcome += f" for {t.students_enrolled} students"
                if t.note:
                    outcome += f" ({NOTES[t.note]})"
            table.add_row(str(t.request_id), str(t.tutor_id), t.schedule, outcome)
        console.print(table)
    if report.failure:
        console.print(f"[red]The upgrade would fail[/] {report.failure}", highlight=False, soft_wrap=True)
    if report.ready:
        console.print(f"[green]Ready:[/] astegni db adopt --apply {_adoption_plan(report.revision)}.",
                      highlight=False)
    else:
        console.print("[red]Not ready:[/] resolve what is listed above, then run astegni db adopt again.")


def _adoption_plan(revision: str | None) -> str:
    """What `astegni db adopt --apply` does to a database at `revision` (adopt.apply)."""
    head = migrations.head()
    if revision is None:
        return f"stamps {BASELINE} and upgrades to head"
    if revision == head:
        return f"changes nothing: the database is at head ({head})"
    return f"only upgrades, from {revision} to head ({head}): the database is versioned, nothing is stamped"


@db_app.command("current")
def db_current(ctx: typer.Context, database_url: UrlOption = None) -> None:
    """Shows the database's revision and the code's head.

    Example: astegni db current   (with DATABASE_URL set)
    """
    _print_revision(_url(ctx, database_url))


def _print_revision(url: str) -> None:
    with _connect(url, migrated=False) as conn:
        current = _revision(conn)
    head = migrations.head()
    marker = " (head)" if current == head else f" (head is {head})"
    console.print(f"{_shown(url)}: revision {current or 'none'}{marker}", highlight=False,
                  soft_wrap=True)


# ---- demo --------------------------------------------------------------------------------------


@app.command()
def demo(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(
        "--name", help="The database to drop and create on the server.")] = demo_module.DEMO_DATABASE,
    stop: Annotated[bool, typer.Option(
        "--stop", help="Stop the embedded PostgreSQL the demo keeps running (this installation's), and"
                       " exit.")] = False,
    database_url: UrlOption = None,
) -> None:
    """Builds a small school in a fresh database, accepts its requests, shows the result.

    Without --database-url or DATABASE_URL it runs an embedded PostgreSQL (the extra `demo`), one per
    installation, kept running between runs until `astegni demo --stop`.

    Example: astegni demo
    """
    if stop:
        data_dir = embedded.default_data_dir()
        if embedded.stop(data_dir):
            done = f"Stopped the demo's server in {data_dir} (its data stays, for the next astegni demo)"
        else:
            done = f"Nothing to stop: no demo server runs in {data_dir}"
        console.print(done, highlight=False, soft_wrap=True)
        return
    server_url: str | None = database_url or ctx.obj
    on_embedded = not server_url
    if not server_url:
        data_dir = embedded.default_data_dir()
        errors.print(f"Using the embedded PostgreSQL in {data_dir}", highlight=False, soft_wrap=True)
        _, server_url = embedded.start(data_dir, keep=True)
    else:
        _connect(server_url, migrated=False).close()
    url = demo_module.run(server_url, console, name)
    shown = _shown(url)  # without the password, which the user has
    password = " (and its password)" if "password" in conninfo_to_dict(url) else ""
    lines = [f"The demo database: {shown}",
             f"Point astegni (or psql) at it: export DATABASE_URL={shlex.quote(shown)}{password}"]
    if on_embedded:
        lines.append("Stop its server: astegni demo --stop (the next astegni demo starts it again)")
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True, markup=False)


# ---- dates -------------------------------------------------------------------------------------
# The parsers' names are what typer before 0.29 shows as the type: <date>, <moment>.

# The one way a date is written, in help and in errors.
DATE = "YYYY-MM-DD"
DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A moment: a date (its midnight), or a date and a time, on the tutor's wall clock or with an offset.
MOMENT_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?:Z|[+-]\d{2}:?\d{2})?)?")


def date(value: str) -> dt.date:
    """A date written YYYY-MM-DD that exists (2027-02-30 does not)."""
    if not DATE_SHAPE.fullmatch(value):
        raise typer.BadParameter(f"{value!r} is not a date {DATE}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"no such date: {value}") from None


def moment(value: str) -> dt.datetime:
    """A date (its midnight) or a date and time, YYYY-MM-DD[THH:MM[+HH:MM]], that exists."""
    if not MOMENT_SHAPE.fullmatch(value):
        raise typer.BadParameter(f"{value!r} is not a date {DATE} or a time {DATE}THH:MM")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        what = "date" if DATE_SHAPE.fullmatch(value) else "date or time"
        raise typer.BadParameter(f"no such {what}: {value}") from None


@dataclass(frozen=True)
class Move:
    """An occurrence moved to other times of its own day."""

    day: dt.date
    start: dt.time
    end: dt.time


def move(value: str) -> Move:
    """An occurrence moved on its own day: YYYY-MM-DD=HH:MM-HH:MM (its date, the new start and end)."""
    day, equals, times = value.partition("=")
    start, dash, end = times.partition("-")
    if not (equals and dash and DATE_SHAPE.fullmatch(day)):
        raise typer.BadParameter(f"{value!r} is not a move {DATE}=HH:MM-HH:MM")
    try:
        return Move(date(day), dt.time.fromisoformat(start), dt.time.fromisoformat(end))
    except ValueError:
        raise typer.BadParameter(f"{value!r}: {start!r} or {end!r} is not a time HH:MM") from None


# ---- responses ---------------------------------------------------------------------------------

TutorOption = Annotated[int | None, typer.Option("--tutor", help="Act as this tutor (profile id):"
                                                 " another tutor's request or time off is not found.")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Told to the student.")]
WithoutOption = Annotated[list[dt.date] | None, typer.Option(
    "--without", parser=date, metavar=DATE,
    help="Leave out the occurrence on this date (repeat for more): never made, not even later.")]
MoveOption = Annotated[list[Move] | None, typer.Option(
    "--move", parser=move, metavar=f"{DATE}=HH:MM-HH:MM",
    help="Move the occurrence on this date to these times of its day (repeat for more).")]


def _edits(without: list[dt.date] | None, moves: list[Move] | None) -> dict[str, Any]:
    """The edits as astegni.accept and astegni.preview take them."""
    return {"without": without or [], "moves": {m.day: (m.start, m.end) for m in moves or []}}


def _record(title: str, fields: dict[str, Any]) -> None:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in fields.items():
        table.add_row(key, "" if value is None else str(value))
    console.print(table)


@app.command()
def accept(ctx: typer.Context, request_id: int, tutor: TutorOption = None, without: WithoutOption = None,
           moves: MoveOption = None, database_url: UrlOption = None) -> None:
    """Accepts a pending request: the database creates its sessions, less the occurrences left out
    (--without), with those moved (--move) at their new times; `astegni preview` with the same options
    shows what it makes.

    Example: astegni accept 42 --tutor 7 --without 2027-01-11 --move 2027-01-13=15:00-16:00
    """
    with _connect(_url(ctx, database_url)) as conn:
        result = astegni.accept(conn, request_id, tutor_id=tutor, **_edits(without, moves))
        conn.commit()
        zone = _request_zone(conn, request_id)
    _record(f"Request {request_id} accepted", {
        "status": result.status, "responded at": result.responded_at,
        "agreed price": result.agreed_price, "sessions created": result.sessions_created,
        "enrolled course": result.enrolled_course_id, "occurrences skipped": len(result.skipped)})
    if result.skipped:
        table = Table(title=f"Skipped (times in {zone})", title_justify="left")
        for column in ("Date", "Starts", "Ends", "Reason", "Clashes with session"):
            table.add_column(column)
        for s in result.skipped:
            table.add_row(str(s.session_date), _time(s.starts_at, zone), _time(s.ends_at, zone),
                          s.reason, str(s.clash_session_id or ""))
        console.print(table)


@app.command()
def reject(ctx: typer.Context, request_id: int, reason: ReasonOption = None,
           tutor: TutorOption = None, database_url: UrlOption = None) -> None:
    """Rejects a pending request.

    Example: astegni reject 42 --reason "Fully booked in March"
    """
    with _connect(_url(ctx, database_url)) as conn:
        result = astegni.reject(conn, request_id, reason=reason, tutor_id=tutor)
        conn.commit()
    _record(f"Request {request_id} rejected", {
        "status": result.status, "responded at": result.responded_at,
        "reason": result.rejected_reason})


@app.command()
def cancel(ctx: typer.Context, request_id: int, reason: ReasonOption = None,
           tutor: TutorOption = None, database_url: UrlOption = None) -> None:
    """Cancels an accepted request: its sessions not yet started are cancelled (kept, marked).

    Example: astegni cancel 42 --reason "Moved abroad"
    """
    with _connect(_url(ctx, database_url)) as conn:
        result = astegni.cancel(conn, request_id, reason=reason, tutor_id=tutor)
        conn.commit()
    _record(f"Request {request_id} cancelled", {
        "status": result.status, "cancelled at": result.cancelled_at,
        "reason": result.cancelled_reason, "sessions cancelled": result.sessions_cancelled})


@app.command()
def preview(ctx: typer.Context, request_id: int, without: WithoutOption = None, moves: MoveOption = None,
            database_url: UrlOption = None) -> None:
    """Shows what accepting a pending request now (with the same --without and --move) would do; writes
    nothing.

    Example: astegni preview 42 --without 2027-01-11
    """
    with _connect(_url(ctx, database_url)) as conn:
        rows = astegni.preview(conn, request_id, **_edits(without, moves))
        zone = _request_zone(conn, request_id)
    table = Table(title=f"Request {request_id} if accepted now (times in {zone})",
                  title_justify="left")
    for column in ("Date", "Starts", "Ends", "Minutes", "Outcome", "Reason", "Clashes with session"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row.session_date), _time(row.starts_at, zone), _time(row.ends_at, zone),
                      str(row.duration), row.outcome, row.reason or "", str(row.clash_session_id or ""))
    console.print(table)
    counts = {o: sum(r.outcome == o for r in rows) for o in ("create", "skip", "refuse")}
    console.print(", ".join(f"{n} {o}" for o, n in counts.items()), highlight=False)


# ---- series ------------------------------------------------------------------------------------

@app.command()
def extend(ctx: typer.Context, database_url: UrlOption = None) -> None:
    """Brings every live series to its horizon now, once: for cron or a systemd timer (hourly is plenty;
    a run that finds nothing to do makes nothing). See docs/series.md.

    It commits batch by batch, so that no tutor waits for the whole run; the login needs the
    astegni_scheduler role.

    Example: astegni extend   (crontab: 17 * * * * DATABASE_URL=postgresql://astegni@/astegni astegni extend)
    """
    with _connect(_url(ctx, database_url), autocommit=True) as conn:
        run = astegni.extend(conn)
    console.print(run.explanation, highlight=False)


@app.command("end-series")
def end_series(
    ctx: typer.Context,
    request_id: int,
    last_date: Annotated[dt.date, typer.Argument(
        parser=date, metavar="LAST_DATE",
        help="The series' last day (YYYY-MM-DD, on the tutor's calendar): its sessions after it are"
             " cancelled.")],
    reason: ReasonOption = None,
    tutor: TutorOption = None,
    database_url: UrlOption = None,
) -> None:
    """Ends a series after LAST_DATE: it makes nothing later, and its sessions after that date that have
    not started are cancelled (kept, marked 'series_ended').

    Example: astegni end-series 42 2027-06-30 --reason "School year over" --tutor 7
    """
    with _connect(_url(ctx, database_url)) as conn:
        cancelled = astegni.end_series(conn, request_id, last_date, reason, tutor_id=tutor)
        conn.commit()
    _record(f"Series {request_id} ended", {
        "last date": last_date, "reason": reason, "sessions cancelled": cancelled})


def _clock(value: str | None, option: str) -> dt.time | None:
    """A wall-clock time given as HH:MM."""
    if value is None:
        return None
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a time HH:MM", param_hint=option) from None


@app.command()
def reschedule(
    ctx: typer.Context,
    request_id: int,
    from_date: Annotated[dt.date, typer.Option(
        "--from", parser=date, metavar=DATE,
        help="The first day the new days and times apply to (the tutor's calendar; today if earlier).")],
    days: Annotated[str | None, typer.Option(
        "--days", metavar="DAYS", help="The new weekdays, comma-separated (Mon,Wed or Monday,Wednesday);"
                                      " default: the current ones.")] = None,
    start: Annotated[str | None, typer.Option(
        "--start", metavar="HH:MM",
        help="The new start time (the tutor's wall clock); default: the current one.")] = None,
    end: Annotated[str | None, typer.Option(
        "--end", metavar="HH:MM",
        help="The new end time (the tutor's wall clock); default: the current one.")] = None,
    preview: Annotated[bool, typer.Option(
        "--preview", help="Show what the change would do; write nothing.")] = False,
    tutor: TutorOption = None,
    database_url: UrlOption = None,
) -> None:
    """Changes a series' days and times from a date on ("this and all following"), showing each date's
    outcome: keep, move, create, cancel or skip.

    Example: astegni reschedule 42 --from 2027-03-01 --days Tue,Thu --start 18:00 --end 19:00 --preview
    """
    weekdays = None if days is None else [day.strip() for day in days.split(",") if day.strip()]
    start_time, end_time = _clock(start, "--start"), _clock(end, "--end")
    change = astegni.preview_reschedule if preview else astegni.reschedule
    with _connect(_url(ctx, database_url)) as conn:
        rows = change(conn, request_id, from_date, days=weekdays, start_time=start_time,
                      end_time=end_time, tutor_id=tutor)
        if not preview:
            conn.commit()
        zone = _request_zone(conn, request_id)
    done = "if rescheduled" if preview else "rescheduled"
    table = Table(title=f"Series {request_id} {done} from {from_date} (times in {zone})",
                  title_justify="left")
    for column in ("Date", "Starts", "Ends", "Minutes", "Outcome", "Reason", "Session",
                   "Clashes with session"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row.session_date), _time(row.starts_at, zone), _time(row.ends_at, zone),
                      str(row.duration), row.outcome, row.reason or "", str(row.session_id or ""),
                      str(row.clash_session_id or ""))
    console.print(table)
    outcomes = ["keep", "move", "create", "cancel", "skip"]
    outcomes += sorted({r.outcome for r in rows} - set(outcomes))  # a preview's 'refuse'
    console.print(", ".join(f"{sum(r.outcome == o for r in rows)} {o}" for o in outcomes), highlight=False)


time_off_app = typer.Typer(help="A tutor's time off: no session is made inside it, and the sessions"
                                " inside it are cancelled.", no_args_is_help=True)
app.add_typer(time_off_app, name="time-off")

def _in_zone(moment: dt.datetime, zone: str) -> dt.datetime:
    """A moment given without an offset is on the tutor's wall clock."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(zone))


@time_off_app.command("add")
def time_off_add(
    ctx: typer.Context,
    tutor_id: int,
    start: Annotated[dt.datetime, typer.Argument(
        parser=moment, metavar="START",
        help=f"When it starts: {DATE} or {DATE}THH:MM on the tutor's wall clock ({DATE}THH:MM+HH:MM with"
             " an offset).")],
    end: Annotated[dt.datetime, typer.Argument(
        parser=moment, metavar="END",
        help="When it ends (excluded), written as START is: a date alone is its midnight, so 2027-03-08 ends"
             " as the 7th does.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept with the time off).")] = None,
    database_url: UrlOption = None,
) -> None:
    """Records a tutor's time off: the tutor's sessions inside it that have not started are cancelled
    (kept, marked 'time_off'), and no session is made inside it until it is removed.

    Example: astegni time-off add 7 2027-03-01 2027-03-08 --reason "Conference"
    """
    with _connect(_url(ctx, database_url)) as conn:
        zone = str(_known(conn, "tutor", tutor_id)[0])
        result = astegni.add_time_off(conn, tutor_id, _in_zone(start, zone), _in_zone(end, zone), reason)
        conn.commit()
    _record(f"Time off {result.id} of tutor {tutor_id}", {
        "from": _time(result.starts_at, zone), "to": _time(result.ends_at, zone), "time zone": zone,
        "reason": result.reason, "sessions cancelled": result.sessions_cancelled})


@time_off_app.command("remove")
def time_off_remove(ctx: typer.Context, time_off_id: int, tutor: TutorOption = None,
                    database_url: UrlOption = None) -> None:
    """Removes a time off: the next `astegni extend` makes again the sessions it held back.

    Example: astegni time-off remove 3 --tutor 7
    """
    with _connect(_url(ctx, database_url)) as conn:
        removed = astegni.remove_time_off(conn, time_off_id, tutor_id=tutor)
        conn.commit()
    if not removed:
        raise NotFound(f"time off {time_off_id} does not exist", detail={"time_off_id": time_off_id},
                       hint="astegni time-off list TUTOR_ID shows a tutor's time off with its ids")
    console.print(f"Removed time off {time_off_id}: the next astegni extend makes again what it held back",
                  highlight=False)


@time_off_app.command("list")
def time_off_list(ctx: typer.Context, tutor_id: int, database_url: UrlOption = None) -> None:
    """A tutor's time off, in time order, in the tutor's zone.

    Example: astegni time-off list 7
    """
    with _connect(_url(ctx, database_url)) as conn:
        zone = str(_known(conn, "tutor", tutor_id)[0])
        rows = astegni.list_time_off(conn, tutor_id)
    table = Table(title=f"Time off of tutor {tutor_id} (times in {zone})", title_justify="left")
    for column in ("Id", "From", "To", "Reason", "Recorded"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row.id), _time(row.starts_at, zone), _time(row.ends_at, zone), row.reason or "",
                      _time(row.created_at, zone))
    console.print(table)
    console.print(f"{len(rows)} time off", highlight=False)


def _request_zone(conn: psycopg.Connection[Any], request_id: int) -> str:
    row = conn.execute(queries.REQUEST_ZONE, {"request_id": request_id}).fetchone()
    return str(row[0]) if row else "UTC"


def _time(instant: dt.datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


# ---- schedules and calendars -------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {name!r} (an IANA name, e.g. Europe/Berlin)",
                                 param_hint="--tz") from None


@app.command("sessions")
def list_sessions(
    ctx: typer.Context,
    tutor: Annotated[int | None, typer.Option("--tutor", help="Tutor profile id.")] = None,
    student: Annotated[int | None, typer.Option("--student", help="Student profile id.")] = None,
    start: Annotated[dt.date | None, typer.Option(
        "--from", parser=date, metavar=DATE, help="First day shown (in --tz).")] = None,
    end: Annotated[dt.date | None, typer.Option(
        "--to", parser=date, metavar=DATE, help="Last day shown (in --tz), on or after --from.")] = None,
    tz: Annotated[str | None, typer.Option(
        "--tz", help="Time zone of the viewer (default: the tutor's with --tutor, else UTC).")] = None,
    database_url: UrlOption = None,
) -> None:
    """A tutor's or a student's sessions, in the viewer's time zone.

    Example: astegni sessions --tutor 7 --from 2027-03-01 --to 2027-03-07 --tz Europe/Berlin
    """
    if (tutor is None) == (student is None):
        raise typer.BadParameter("give exactly one of --tutor and --student")
    if start is not None and end is not None and end < start:
        raise typer.BadParameter(f"{end} is before --from {start}: no day is in that range",
                                 param_hint="--to")
    with _connect(_url(ctx, database_url)) as conn:
        viewer_zone = "UTC"
        if tutor is not None:
            viewer_zone = str(_known(conn, "tutor", tutor)[0])
        elif student is not None:
            _known(conn, "student", student)
        zone_name = tz or viewer_zone
        zone = _zone(zone_name)
        rows = ical.sessions(
            conn, tutor_id=tutor, student_id=student,
            start=_midnight(start, zone) if start else None,
            end=_midnight(end + dt.timedelta(days=1), zone) if end else None)
    who = f"tutor {tutor}" if tutor is not None else f"student {student}"
    table = Table(title=f"Sessions of {who} (times in {zone_name})", title_justify="left")
    for column in ("Session", "Date", "Starts", "Ends", "Request", "Course", "Status", "Topics"):
        table.add_column(column)
    for row in rows:
        starts, ends = row.starts_at.astimezone(zone), row.ends_at.astimezone(zone)
        table.add_row(str(row.id), starts.strftime("%a %Y-%m-%d"), starts.strftime("%H:%M %Z"),
                      ends.strftime("%H:%M %Z"), str(row.request_id or ""), str(row.course_id),
                      row.status, row.summary)
    console.print(table)
    console.print(f"{len(rows)} sessions", highlight=False)


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The start of a day in a zone."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


# The statement finding each kind of id a command takes (no row: unknown), and what the id is.
LOOKUPS = {
    "tutor": (queries.TUTOR_ZONE, "a tutor profile id (tutor_profiles.id)"),
    "student": (queries.STUDENT_EXISTS, "a student profile id (student_profiles.id)"),
    "course": (queries.COURSE_EXISTS, "an enrolled course id (enrolled_courses.id)"),
}


def _known(conn: psycopg.Connection[Any], kind: str, id_: int) -> tuple[Any, ...]:
    """The row of a tutor, student or course id; NotFound when there is none."""
    query, what = LOOKUPS[kind]
    row = conn.execute(query, {f"{kind}_id": id_}).fetchone()
    if row is None:
        raise NotFound.of(kind, id_, hint=f"--{kind} takes {what}")
    return tuple(row)


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as error:
        raise AstegniError(f"cannot write {path}: {error.strerror or error}") from None


@app.command("ical")
def export_ical(
    ctx: typer.Context,
    student: Annotated[int | None, typer.Option("--student", help="Student profile id.")] = None,
    course: Annotated[int | None, typer.Option("--course", help="Enrolled course id.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write here instead of standard output.")] = None,
    database_url: UrlOption = None,
) -> None:
    """A student's or a course's sessions as an iCalendar file (RFC 5545).

    Example: astegni ical --student 12 -o hana.ics
    """
    if (student is None) == (course is None):
        raise typer.BadParameter("give exactly one of --student and --course")
    with _connect(_url(ctx, database_url)) as conn:
        if student is not None:
            _known(conn, "student", student)
        elif course is not None:
            _known(conn, "course", course)
        rows = ical.sessions(conn, student_id=student, course_id=course)
    name = f"Astegni: student {student}" if student is not None else f"Astegni: course {course}"
    data = ical.calendar(rows, name=name).to_ical()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        _write(output, data)
        errors.print(f"Wrote {len(rows)} events to {output}", highlight=False)


# The app's own URL, the calendar router mounted under it: an http(s) URL with a host and no query.
BASE_URL = re.compile(r"https?://[^/?#\s]+(/[^?#\s]*)?")


@app.command("calendar-link")
def calendar_link(
    ctx: typer.Context,
    student: Annotated[int | None, typer.Option("--student", help="Student profile id.")] = None,
    parent: Annotated[int | None, typer.Option(
        "--parent", help="Parent profile id: the sessions of each of their children.")] = None,
    tutor: Annotated[int | None, typer.Option("--tutor", help="Tutor profile id.")] = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", metavar="URL", envvar="ASTEGNI_BASE_URL", show_envvar=True,
        help="Where the app serves astegni.fastapi.calendar_router, e.g. https://astegni.example")] = None,
    revoke: Annotated[bool, typer.Option(
        "--revoke", help="Revoke every live link of the owner instead: their feeds answer 404.")] = False,
    database_url: UrlOption = None,
) -> None:
    """Issues a calendar feed link of a student, a parent or a tutor and prints its URLs: webcal://
    (subscribe) and the base URL's own scheme. The token is random and shown only here: the database
    keeps its hash. Needs the astegni_admin role.

    Example: astegni calendar-link --student 12 --base-url https://astegni.example
    """
    candidates: list[tuple[feeds.OwnerKind, int | None]] = [
        ("student", student), ("parent", parent), ("tutor", tutor)]
    owners = [(kind, id_) for kind, id_ in candidates if id_ is not None]
    if len(owners) != 1:
        raise typer.BadParameter("give exactly one of --student, --parent and --tutor")
    [(kind, owner_id)] = owners
    if revoke:
        with _connect(_url(ctx, database_url)) as conn:
            revoked = feeds.revoke_calendar_links(conn, kind, owner_id)
            conn.commit()
        console.print(f"Revoked {revoked} calendar links of {kind} {owner_id}", highlight=False)
        return
    base = _base_url(base_url)
    with _connect(_url(ctx, database_url)) as conn:
        link = feeds.issue_calendar_link(conn, kind, owner_id)
        conn.commit()
    errors.print(f"Calendar link {link.id} of {kind} {owner_id}, issued {_time(link.created_at, 'UTC')};"
                 " its token is shown only here", highlight=False, soft_wrap=True)
    for url in link.urls(base):
        print(url)


def _base_url(given: str | None) -> str:
    if given is None:
        raise typer.BadParameter("give the app's URL (or set ASTEGNI_BASE_URL)", param_hint="--base-url")
    if not BASE_URL.fullmatch(given):
        raise typer.BadParameter(f"{given!r} is not an http:// or https:// URL with a host",
                                 param_hint="--base-url")
    return given


@app.command()
def listen(
    ctx: typer.Context,
    count: Annotated[int | None, typer.Option(
        "--count", help="Stop after this many events.")] = None,
    name: Annotated[str | None, typer.Option(
        "--name", help="A listener's name: it resumes after a restart where it stopped.")] = None,
    database_url: UrlOption = None,
) -> None:
    """Prints each event of the rule as a JSON line until Ctrl-C: a request accepted or cancelled, a
    series extended, ended or rescheduled, sessions cancelled by time off (`event`: accepted, cancelled,
    extended, ended, rescheduled, time_off; `sessions` counts those made, cancelled or rescheduled).

    The events are rows the rule wrote in the transaction that made them; a NOTIFY only wakes the
    listener, so nothing sent on the channel by anyone else is printed. A hook point for email or SMS
    senders: pipe the lines into one. It connects directly, or through session pooling: behind a pooler
    in transaction mode no notification reaches it, and it says so at its start.

    Example: astegni listen --name mailer | ./send-emails
    """
    with _connect(_url(ctx, database_url), autocommit=True) as conn:
        events = notifications.listen(conn, name=name, stop_after=count)
        errors.print(f"Listening on {notifications.CHANNEL} (Ctrl-C to stop)", highlight=False)
        try:
            for event in events:
                print(event.as_json(), flush=True)
        except KeyboardInterrupt:
            pass


@app.command("mail")
def send_mail(
    ctx: typer.Context,
    smtp: Annotated[str, typer.Option(
        "--smtp", metavar="URL", help="The SMTP server: smtp://HOST:PORT (port default: 25, 587"
        " with --starttls, 465 with --tls).")],
    sender: Annotated[str, typer.Option(
        "--sender", metavar="ADDR", help="From: e.g. 'Astegni <noreply@astegni.example>'; its domain"
        " ends every Message-ID.")],
    starttls: Annotated[bool, typer.Option(
        "--starttls", help="Upgrade the connection with STARTTLS.")] = False,
    tls: Annotated[bool, typer.Option("--tls", help="TLS from the first byte (SMTPS).")] = False,
    user: Annotated[str | None, typer.Option(
        "--user", help="Log in as this user, with the password in ASTEGNI_SMTP_PASSWORD.")] = None,
    once: Annotated[bool, typer.Option(
        "--once", help="Mail what is pending, then exit (else wait for events until Ctrl-C).")] = False,
    name: Annotated[str, typer.Option(
        "--name", help="The cursor's name: a restart resumes where it stopped.")] = "mail",
    database_url: UrlOption = None,
) -> None:
    """Emails the students, and the parent who made the request, about each event: an acceptance (with
    its sessions as an .ics), a cancellation, a series ended or rescheduled, sessions cancelled for time
    off. Needs a login granted astegni_mailer (it reads users.email).

    The cursor moves past an event only after the server took, or refused for good, each of its
    messages: a crash mails it again with the same Message-IDs, never loses it. A recipient refused, or
    without an address, is recorded in astegni_mail_refusals, and the worker goes on. The first start
    mails the events from then on.

    Example: astegni mail --smtp smtp://mail.example:587 --starttls --user astegni --sender
    noreply@astegni.example (the password in ASTEGNI_SMTP_PASSWORD)
    """
    if starttls and tls:
        raise typer.BadParameter("give at most one of --starttls and --tls")
    security: mail.Security = "tls" if tls else "starttls" if starttls else "plain"
    server = mail.Smtp.from_url(smtp, security=security, user=user,
                                password=os.environ.get("ASTEGNI_SMTP_PASSWORD"))
    mail.sender_domain(sender)
    with _connect(_url(ctx, database_url), autocommit=True) as conn, mail.Mailer(server) as mailer:
        mailer.connect()
        deliveries = mail.deliver(conn, mailer, sender=sender, name=name, timeout=0 if once else None)
        if not once:
            errors.print(f"Mailing the events through {server.host}:{server.port} (Ctrl-C to stop)",
                         highlight=False)
        try:
            for delivery in deliveries:
                print(delivery.summary, flush=True)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    app()

"""`astegni demo`: a small realistic school in a fresh database, accepted by the rule, shown as tables.

Two tutors in two time zones, students, a request of every schedule kind, one clash refused and one
skipped. The demo only inserts requests and accepts them: every session, skip and refusal shown is
the database's. It always starts from a fresh database (`astegni_demo`) on the server it is given.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, LiteralString
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import astegni
from astegni import queries
from astegni.accept import SKIP_REASONS, Acceptance, Skipped
from astegni.database import url_for_database
from astegni.errors import AstegniError
from astegni.ical import sessions
from astegni.migrations import upgrade
from astegni.preview import PreviewRow

DEMO_DATABASE = "astegni_demo"
SHOWN_PER_REQUEST = 3
PREVIEW_ROWS = 6


@dataclass(frozen=True)
class Tutor:
    name: str
    timezone: str
    packages: dict[str, str]  # package name -> hourly rate


@dataclass(frozen=True)
class DemoRequest:
    """What a student asks for; `columns` are requested_sessions columns (jsonb as Python lists)."""

    tutor: str
    package: str
    student: str
    story: str
    columns: dict[str, Any]
    preview_first: bool = False


@dataclass
class Outcome:
    request: DemoRequest
    request_id: int
    acceptance: Acceptance | None = None
    refusal: AstegniError | None = None
    preview: list[PreviewRow] = field(default_factory=list)


TUTORS = (
    Tutor("Abebe", "Africa/Addis_Ababa", {"Mathematics": "25.00", "Chemistry": "28.00"}),
    Tutor("Lena", "Europe/Berlin", {"Physics": "30.00"}),
)
STUDENTS = ("Hana", "Dawit", "Meron", "Sara", "Yonas")


def requests(today: dt.date) -> list[DemoRequest]:
    """A request of every schedule kind, dated relative to the database's today."""
    next_year = today.year + 1
    return [
        DemoRequest("Abebe", "Mathematics", "Hana", "specific dates, one already past", {
            "schedule_type": "specific_dates", "message": "Geometry revision",
            "specific_dates": [str(today - dt.timedelta(days=3)), str(today + dt.timedelta(days=5)),
                               str(today + dt.timedelta(days=12))],
            "start_time": dt.time(16), "end_time": dt.time(17, 30)}),
        DemoRequest("Abebe", "Mathematics", "Dawit", "recurring Mon/Wed/Fri (weeks horizon)", {
            "schedule_type": "recurring", "message": "Algebra, grade 10",
            "days": ["Monday", "Wednesday", "Friday"],
            "start_time": dt.time(10), "end_time": dt.time(11)}),
        DemoRequest("Abebe", "Chemistry", "Meron", "recurring Mondays 10:30, policy fail", {
            "schedule_type": "recurring", "message": "Organic chemistry",
            "days": ["Monday"], "conflict_policy": "fail",
            "start_time": dt.time(10, 30), "end_time": dt.time(11, 30)}),
        DemoRequest("Abebe", "Chemistry", "Meron", "recurring Mon/Thu 10:30, policy skip", {
            "schedule_type": "recurring", "message": "Organic chemistry",
            "days": ["Monday", "Thursday"], "conflict_policy": "skip",
            "start_time": dt.time(10, 30), "end_time": dt.time(11, 30)}, preview_first=True),
        DemoRequest("Lena", "Physics", "Sara",
                    f"recurring Tue/Thu in March-April {next_year} (its first 8 weeks)", {
            "schedule_type": "recurring", "message": "Mechanics",
            "days": ["tue", "THU"], "months": ["March", "April"], "year_range": [next_year],
            "start_time": dt.time(18), "end_time": dt.time(19)}),
        DemoRequest("Lena", "Physics", "Yonas", "specific dates, none given yet", {
            "schedule_type": "specific", "specific_dates": None,
            "message": "Trial lesson, date to be agreed"}),
        DemoRequest("Lena", "Physics", "Hana", f"' Wednesday' in {today.year - 1} (the form's stale year)", {
            "schedule_type": "recurring", "message": "Optics",
            "days": [" Wednesday"], "year_range": [today.year - 1],
            "start_time": dt.time(17), "end_time": dt.time(18)}),
    ]


class Seeder:
    """Inserts the demo's rows and remembers their ids by name."""

    def __init__(self, conn: psycopg.Connection[Any]):
        self.conn = conn
        self.tutors: dict[str, int] = {}
        self.zones: dict[str, str] = {}
        self.packages: dict[tuple[str, str], int] = {}
        self.students: dict[str, int] = {}  # name -> user id

    def _id(self, query: LiteralString | sql.Composed, params: dict[str, Any]) -> int:
        row = self.conn.execute(query, params).fetchone()
        assert row is not None
        return int(row[0])

    def _user(self, name: str) -> int:
        return self._id(queries.DEMO_USER, {"name": name, "email": f"{name.lower()}@demo.astegni.test"})

    def people(self) -> None:
        for tutor in TUTORS:
            user = self._user(tutor.name)
            self.tutors[tutor.name] = self._id(queries.DEMO_TUTOR,
                                               {"user_id": user, "timezone": tutor.timezone})
            self.zones[tutor.name] = tutor.timezone
            for number, (package, rate) in enumerate(tutor.packages.items(), start=1):
                self.packages[tutor.name, package] = self._id(queries.DEMO_PACKAGE, {
                    "tutor_id": self.tutors[tutor.name], "name": package, "rate": rate,
                    "course_ids": [number]})
        for name in STUDENTS:
            user = self._user(name)
            self._id(queries.DEMO_STUDENT, {"user_id": user})
            self.students[name] = user

    def request(self, request: DemoRequest) -> int:
        values: dict[str, Any] = {
            "tutor_id": self.tutors[request.tutor], "requester_id": self.students[request.student],
            "requester_type": "student", "package_id": self.packages[request.tutor, request.package],
        }
        values.update({key: json.dumps(value) if isinstance(value, list) else value
                       for key, value in request.columns.items()})
        return self._id(queries.DEMO_REQUEST.format(
            columns=sql.SQL(", ").join(map(sql.Identifier, values)),
            values=sql.SQL(", ").join(map(sql.Placeholder, values))), values)


def fresh_database(server_url: str, database: str) -> str:
    """Drops and recreates the database on the server; returns its URL."""
    maintenance = server_url
    if conninfo_to_dict(server_url).get("dbname") == database:
        maintenance = url_for_database(server_url, "postgres")
    name = sql.Identifier(database)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(queries.DEMO_DROP_DATABASE.format(name))
        conn.execute(queries.DEMO_CREATE_DATABASE.format(name))
    return url_for_database(server_url, database)


def run(server_url: str, console: Console, database: str = DEMO_DATABASE) -> str:
    """Builds the demo in a fresh `database` on the server and prints what the rule made; returns the
    demo database's URL."""
    with Progress(TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task(f"Creating database {database}", total=3)
        url = fresh_database(server_url, database)
        progress.update(task, advance=1, description="Migrating to head")
        upgrade(url)
        progress.update(task, advance=1, description="Adding tutors, students and requests")
        with psycopg.connect(url, autocommit=True) as conn:
            seeder = Seeder(conn)
            seeder.people()
            row = conn.execute(queries.DEMO_TODAY).fetchone()
            assert row is not None
            outcomes = [Outcome(r, seeder.request(r)) for r in requests(row[0])]
            progress.update(task, advance=1, total=3 + len(outcomes))
            for outcome in outcomes:
                progress.update(task, description=f"Accepting request {outcome.request_id}")
                _accept(conn, outcome)
                progress.advance(task)
            progress.update(task, description="Done")
            progress.stop()
            _show(console, seeder, outcomes)
    return url


def _accept(conn: psycopg.Connection[Any], outcome: Outcome) -> None:
    """Accepts one request in its own transaction (autocommit), keeping a refusal to show."""
    if outcome.request.preview_first:
        outcome.preview = astegni.preview(conn, outcome.request_id)
    try:
        outcome.acceptance = astegni.accept(conn, outcome.request_id)
    except AstegniError as error:
        outcome.refusal = error


def _local(instant: dt.datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M %Z")


def _show(console: Console, seeder: Seeder, outcomes: list[Outcome]) -> None:
    requests_table = Table(title="Requests, as the rule answered them", title_justify="left")
    for column in ("#", "Tutor (zone)", "Student", "Schedule", "Outcome"):
        requests_table.add_column(column)
    for o in outcomes:
        r = o.request
        if o.acceptance is not None:
            result = f"[green]accepted[/]: {o.acceptance.explanation}"
        else:
            error = o.refusal
            assert error is not None
            result = f"[red]refused {type(error).__name__} ({error.sqlstate})[/]: {error.message}"
        requests_table.add_row(str(o.request_id), f"{r.tutor} ({seeder.zones[r.tutor]})",
                               r.student, r.story, result)
    console.print(requests_table)

    for o in outcomes:
        if o.preview:
            _show_preview(console, o, seeder.zones[o.request.tutor])

    made = Table(title="Sessions created (first ones, in the tutor's zone)", title_justify="left")
    for column in ("#", "Topic", "Sessions", "First", "Last"):
        made.add_column(column)
    for o in outcomes:
        if o.acceptance is None:
            continue
        zone = seeder.zones[o.request.tutor]
        rows = sessions(seeder.conn, request_id=o.request_id)
        first = "\n".join(_local(s.starts_at, zone) for s in rows[:SHOWN_PER_REQUEST]) or "-"
        last = _local(rows[-1].starts_at, zone) if len(rows) > SHOWN_PER_REQUEST else ""
        made.add_row(str(o.request_id), str(o.request.columns["message"]), str(len(rows)), first, last)
    console.print(made)

    skipped = Table(title="Occurrences skipped, and why", title_justify="left")
    for column in ("#", "Starts (tutor's zone)", "Reason", "Clashes with session"):
        skipped.add_column(column)
    for o in outcomes:
        for s in o.acceptance.skipped if o.acceptance else ():
            skipped.add_row(str(o.request_id), _local(s.starts_at, seeder.zones[o.request.tutor]),
                            _reason(s), str(s.clash_session_id or ""))
    console.print(skipped)


def _reason(skipped: Skipped) -> str:
    return SKIP_REASONS[skipped.reason]


def _show_preview(console: Console, outcome: Outcome, zone: str) -> None:
    table = Table(title=f"Preview of request {outcome.request_id} before accepting it (writes nothing)",
                  title_justify="left")
    for column in ("Starts (tutor's zone)", "Outcome", "Reason", "Clashes with session"):
        table.add_column(column)
    for row in outcome.preview[:PREVIEW_ROWS]:
        table.add_row(_local(row.starts_at, zone), row.outcome, row.reason or "",
                      str(row.clash_session_id or ""))
    if len(outcome.preview) > PREVIEW_ROWS:
        table.add_row(f"... {len(outcome.preview) - PREVIEW_ROWS} more", "", "", "")
    console.print(table)

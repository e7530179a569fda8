"""Adopting a live Astegni database: what `astegni db adopt` reports, and `--apply`.

The dry run does everything the upgrade would do inside one transaction and rolls it back, so its
verdict is the upgrade's own: it builds the baseline (revision 0001) beside the live tables and lists
how they differ, with the DDL that adds each baseline table or column the database lacks (generated
from the baseline's own definitions), runs that DDL, stamps and upgrades, lists the rows that stop the
upgrade with the SQL that resolves each (where it deletes a row, whatever references that row in the
catalogue follows the row kept first), applies that SQL to see the upgrade through, then accepts each
pending request alone and notes what the rule did. Nothing it does is committed; it holds the upgrade's
locks until it rolls back.
"""

from __future__ import annotations

import graphlib
import json
from dataclasses import dataclass, field
from typing import Any

import psycopg
from alembic import command
from psycopg import sql
from psycopg.rows import dict_row
from sqlalchemy.engine import Connection

from astegni import migrations, queries
from astegni.accept import accept
from astegni.database import engine
from astegni.errors import AstegniError, BaselineMissing, UpgradeBlocked, reported

BASELINE = "0001"

# The app's own scripts (astegni-backend/migrate_*.py) that add what the baseline has beyond the app's
# pg_dump of 2026-02-15: a database restored from that dump lacks these until they, or the DDL the dry
# run writes, have run.
APP_SCRIPTS: dict[tuple[str, str | None], str] = {
    ("requested_sessions", "num_students"): "migrate_add_num_students.py",
    ("requested_session_students", None): "migrate_create_requested_session_students.py",
    ("tutor_packages", "allow_sharing"): "migrate_add_package_sharing.py",
    ("tutor_packages", "max_shared_students"): "migrate_add_package_sharing.py",
    ("tutor_packages", "visibility"): "migrate_add_package_visibility.py",
}


@dataclass(frozen=True)
class Difference:
    """A baseline table or column the live database lacks, or has with another type or nullability."""

    table: str
    column: str | None
    baseline: str
    live: str | None  # None: missing


@dataclass(frozen=True)
class Repair:
    """The DDL that adds a baseline table (column None) or column the live database lacks, as the
    baseline defines it: idempotent, so that it may run again."""

    table: str
    column: str | None
    statements: tuple[str, ...]

    @property
    def script(self) -> str | None:
        """The app's own script that adds the same, when one does."""
        return APP_SCRIPTS.get((self.table, self.column))

    @property
    def sql(self) -> str:
        """The block the dry run writes: a comment naming what it adds and the app's script that adds
        the same, then the DDL."""
        what = f"column {self.table}.{self.column}" if self.column else f"table {self.table}"
        origin = f" (the app's {self.script})" if self.script else ""
        return f"-- missing {what}{origin}\n" + "\n".join(self.statements) + "\n"


@dataclass(frozen=True)
class Trial:
    """What accepting one pending request alone would do under the rule."""

    request_id: int
    tutor_id: int
    schedule: str
    sessions_created: int | None = None
    students_enrolled: int | None = None
    note: str | None = None
    refusal: AstegniError | None = None


@dataclass
class Report:
    revision: str | None
    differences: list[Difference] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)  # for the differences that are missing
    blockers: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None  # why the upgrade would fail, other than the blockers
    trials: list[Trial] = field(default_factory=list)

    @property
    def sql(self) -> str:
        """What `astegni db adopt --sql FILE` writes: the DDL adding each missing table and column first
        (the upgrade, and a resolution, may need them), then the SQL resolving each blocking row."""
        return "".join([f"{repair.sql}\n" for repair in self.repairs] + [
            f"-- {b['problem']}: {json.dumps(b['facts'], default=str)}\n{b['resolution']}\n\n"
            for b in self.blockers])

    @property
    def ready(self) -> bool:
        """Whether `astegni db adopt --apply` would succeed as the database is now."""
        return not self.repairs and not self.blockers and self.failure is None


def inspect(url: str) -> Report:
    """The dry run: the report, with nothing committed."""
    sa_engine = engine(url)
    try:
        with sa_engine.connect() as conn:
            conn.begin()
            driver = _driver(conn)
            report = Report(revision=migrations.revision(driver))
            if report.revision is None:  # once stamped, the baseline is history: 0002 has added to it
                report.differences, report.repairs = _differences(driver)
            if report.repairs:
                # Run as the admin will, first: the verdict is then on the whole path to head.
                with conn.begin_nested() as attempt:
                    try:
                        for repair in report.repairs:
                            driver.execute(repair.sql)
                    except Exception as error:
                        report.failure = f"the DDL adding what the baseline has: {_reason(error)}"
                        attempt.rollback()
            with conn.begin_nested() as attempt:
                try:
                    _upgrade(conn, url, report.revision)
                except UpgradeBlocked as blocked:
                    attempt.rollback()
                    report.blockers = [_following(driver, blocker) for blocker in blocked.blockers]
                except Exception as error:  # any other reason the real upgrade would fail
                    report.failure = _reason(error)
                    attempt.rollback()
            if report.blockers:
                # With the resolutions applied, as the admin would: does the upgrade then go through?
                with conn.begin_nested() as attempt:
                    try:
                        for blocker in report.blockers:
                            driver.execute(blocker["resolution"])
                        _upgrade(conn, url, report.revision)
                    except Exception as error:
                        report.failure = f"after the resolutions below: {_reason(error)}"
                        attempt.rollback()
            if report.failure is None:
                report.trials = _trials(conn, driver)
            conn.rollback()
    finally:
        sa_engine.dispose()
    return report


def apply(url: str) -> None:
    """Stamps an unversioned database at the baseline and upgrades it to head, in one transaction;
    refuses (BaselineMissing), changing nothing, while the database lacks a table or column of the
    baseline: stamping it would say it has them."""
    sa_engine = engine(url)
    try:
        with sa_engine.connect() as conn, conn.begin():
            driver = _driver(conn)
            revision = migrations.revision(driver)
            if revision is None:
                with conn.begin_nested() as check:
                    _, repairs = _differences(driver)
                    check.rollback()
                if repairs:
                    raise BaselineMissing([(r.table, r.column) for r in repairs])
            _upgrade(conn, url, revision)
    finally:
        sa_engine.dispose()


def _upgrade(conn: Connection, url: str, revision: str | None) -> None:
    config = migrations.alembic_config(url)
    config.attributes["connection"] = conn
    if revision is None:
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")


def _driver(conn: Connection) -> psycopg.Connection[Any]:
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def _differences(driver: psycopg.Connection[Any]) -> tuple[list[Difference], list[Repair]]:
    """The baseline built in a schema of its own (rolled back with the rest), compared column by column,
    and the DDL for what is missing, read from the baseline's catalog."""
    driver.execute(queries.BASELINE_SCHEMA)
    driver.execute((migrations.FROZEN_DIR / BASELINE / "up.sql").read_text())
    with driver.cursor(row_factory=dict_row) as cursor:
        repair_rows = cursor.execute(queries.BASELINE_REPAIRS).fetchall()
    driver.execute(queries.BASELINE_SCHEMA_END)
    with driver.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(queries.BASELINE_DIFFERENCES).fetchall()
    return [Difference(**row) for row in rows], _repairs(repair_rows)


def _repairs(rows: list[dict[str, Any]]) -> list[Repair]:
    """One Repair per missing table or column: the tables first, each after the missing tables its
    foreign keys reference, then the columns (which may reference those tables)."""
    statements: dict[tuple[str, str | None], list[str]] = {}
    references: dict[str, set[str]] = {}
    for row in rows:
        statements.setdefault((row["table"], row["column"]), []).append(row["statement"])
        if row["column"] is None:
            references.setdefault(row["table"], set()).update(row["refs"])
    tables = list(graphlib.TopologicalSorter(references).static_order())
    order = [(table, None) for table in tables] + [key for key in statements if key[1] is not None]
    return [Repair(table, column, tuple(statements[table, column])) for table, column in order]


def _deletion(blocker: dict[str, Any]) -> tuple[str, int | None, list[int]] | None:
    """What a blocker's resolution deletes (sql/0002/blockers.sql, by rank): the table, the row kept in
    place of the deleted ones (None: none, a session without a course has no stand-in), the rows deleted."""
    facts = blocker["facts"]
    match blocker["rank"]:
        case 1:  # one tutor's student enrolled twice: merged into the first enrolment
            return "enrolled_students", facts["ids"][0], facts["ids"][1:]
        case 2:  # one tutor's package held twice: merged into the first course
            return "enrolled_courses", facts["ids"][0], facts["ids"][1:]
        case 3:
            return "sessions", None, [facts["session_id"]]
    return None  # the others only update rows


def _following(driver: psycopg.Connection[Any], blocker: dict[str, Any]) -> dict[str, Any]:
    """The blocker, its resolution first making every row that references a row it deletes follow the
    row kept, or, where none is kept, stopping while any row references it (queries.FOLLOW_KEPT_ROW,
    from the catalogue as it is: the app's own tables too, whatever their ON DELETE). What the frozen
    resolution already moves (sessions, payments) is not repeated."""
    deletion = _deletion(blocker)
    if deletion is None:
        return blocker
    table, kept, deleted = deletion
    rows = driver.execute(queries.FOLLOW_KEPT_ROW.format(
        table=sql.Literal(table), kept=sql.Literal(kept), deleted=sql.Literal(deleted))).fetchall()
    statements = [statement for (statement,) in rows if statement not in blocker["resolution"]]
    if not statements:
        return blocker
    listed = ", ".join(map(str, deleted))
    why = (f"-- what references {table} {listed} follows it to {kept} (every foreign key to {table})"
           if kept is not None else
           f"-- stops while anything references {table} {listed} (every foreign key to {table})")
    return {**blocker, "resolution": "\n".join([why, *statements, blocker["resolution"]])}


def _trials(conn: Connection, driver: psycopg.Connection[Any]) -> list[Trial]:
    with driver.cursor(row_factory=dict_row) as cursor:
        pending = cursor.execute(queries.PENDING_REQUESTS).fetchall()
    trials = []
    for request in pending:
        shown = (request["id"], request["tutor_id"], request["schedule"])
        with conn.begin_nested() as attempt:
            try:
                result = accept(driver, request["id"])
                trials.append(Trial(*shown, sessions_created=result.sessions_created,
                                    students_enrolled=result.students_enrolled, note=result.note))
            except (AstegniError, psycopg.Error) as error:
                trials.append(Trial(*shown, refusal=reported(error)))
            attempt.rollback()
    return trials


def _reason(error: Exception) -> str:
    failure = reported(error)
    code = failure.sqlstate or failure.detail.get("sqlstate")
    return f"{code}: {failure.message}" if code else failure.message

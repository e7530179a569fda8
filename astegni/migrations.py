"""Running the migrations, and the SQL files they install: db/functions/ (the current truth) and each
revision's frozen SQL under db/migrations/sql/NNNN/ (its DDL files and a copy of its functions).

The files come with the package: the wheel carries db/ as astegni/db/ and alembic.ini as
astegni/alembic.ini (pyproject.toml). An editable install (`pip install -e .`) has neither inside the
package, so the checkout beside it is used: the same layout, one directory up.

The revision is recorded in astegni_alembic_version (VERSION_TABLE), so that an app with an Alembic
history of its own keeps its alembic_version: the two histories run side by side on one database.
"""

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from alembic import command, op
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from psycopg.rows import dict_row

from astegni import queries
from astegni.errors import NotGranted

# The table holding this project's revision (db/migrations/env.py; queries.MIGRATED and REVISION).
VERSION_TABLE = "astegni_alembic_version"
# The app's own tables, as a live Astegni database has them: an existing database is stamped at this
# revision (astegni db adopt), a new one created by it.
BASELINE = "0001"
# The rule: going below this revision removes it.
RULE = "0002"


def _data_dir() -> Path:
    """The directory holding alembic.ini and db/: the installed package, else the checkout."""
    package = resources.files("astegni")
    if not isinstance(package, Path):  # e.g. imported from a zip: Alembic needs real files
        raise RuntimeError(f"astegni is installed as {package!r}; install it as a directory (pip install)")
    for candidate in (package, package.parent):
        if (candidate / "alembic.ini").is_file() and (candidate / "db" / "migrations" / "env.py").is_file():
            return candidate
    raise FileNotFoundError(f"astegni's migrations are missing: neither {package} nor {package.parent} holds"
                            " alembic.ini and db/migrations/ (reinstall the package)")


DATA_DIR = _data_dir()
# The Alembic configuration: `alembic -c <ALEMBIC_INI> upgrade head` runs this project's migrations.
ALEMBIC_INI = DATA_DIR / "alembic.ini"
DB_DIR = DATA_DIR / "db"
FUNCTIONS_DIR = DB_DIR / "functions"
FROZEN_DIR = DB_DIR / "migrations" / "sql"


def is_trigger_file(name: str) -> bool:
    """Whether a file of db/functions/ (or a frozen copy) holds a trigger rather than a routine."""
    return name.startswith("trigger_")


def sql_files(directory: Path, *, triggers: bool) -> list[Path]:
    """The function files (triggers=False) or trigger files (triggers=True) of a directory, in name order."""
    return sorted(p for p in directory.glob("*.sql") if is_trigger_file(p.name) == triggers)


# What a file of db/functions/ creates: a routine of schema public (a function or a procedure), or a
# trigger (db/new_revision.py reads the rest of their headers).
ROUTINE = re.compile(r"^CREATE OR REPLACE (FUNCTION|PROCEDURE) public\.(\w+)\s*\(", re.M | re.I)
TRIGGER = re.compile(r"^CREATE OR REPLACE TRIGGER (\w+)\s+(?:BEFORE|AFTER|INSTEAD OF)\s.*?\sON\s+([\w.]+)",
                     re.M | re.I | re.S)


@dataclass(frozen=True)
class SqlObject:
    """The one object a file of db/functions/ creates."""

    kind: str  # "function", "procedure" or "trigger"
    name: str
    table: str | None = None  # a trigger's table

    @property
    def drop(self) -> str:
        """The statement dropping it. IF EXISTS: a revision's own DDL may have dropped it already (a trigger
        with its table); DROP ROUTINE without arguments covers a function or a procedure and fails when
        the name has overloads, which the rule never has."""
        if self.kind == "trigger":
            return f"DROP TRIGGER IF EXISTS {self.name} ON {self.table}"
        return f"DROP ROUTINE IF EXISTS public.{self.name}"


def sql_object(text: str) -> SqlObject:
    """The object an SQL file creates: `CREATE OR REPLACE FUNCTION|PROCEDURE public.<name>(` or
    `CREATE OR REPLACE TRIGGER <name> ... ON <table>`, exactly one."""
    found = [SqlObject(kind.lower(), name) for kind, name in ROUTINE.findall(text)]
    found += [SqlObject("trigger", name, table) for name, table in TRIGGER.findall(text)]
    if len(found) != 1:
        raise ValueError(f"expected one CREATE OR REPLACE FUNCTION, PROCEDURE or TRIGGER, found {len(found)}")
    return found[0]


def execute_sql_files(execute: Callable[[str], object], files: list[Path]) -> None:
    """Runs each file through `execute`, a driver-level call (no bind-parameter parsing of `:name`)."""
    execute("SET LOCAL check_function_bodies = off")
    for path in files:
        execute(path.read_text())


def _driver() -> Any:
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    return driver


def install_frozen(revision: str, *, triggers: bool, only: Collection[str] | None = None) -> None:
    """Inside a migration: installs the frozen functions of `revision` (or its triggers), or only the
    files named in `only` (a downgrade restoring what the next revision replaced)."""
    files = sql_files(FROZEN_DIR / revision / "functions", triggers=triggers)
    if only is not None:
        files = [path for path in files if path.name in only]
        assert len(files) == len(only), f"{revision} has no frozen copy of some of {sorted(only)}"
    execute_sql_files(_driver().execute, files)


def frozen_copy(name: str, revision: str) -> Path:
    """The copy of db/functions/<name> installed at `revision`: the one in the newest revision at or below
    it that has one (a revision freezes only the files it adds or changes). The migrations ask only for
    files installed at `revision`, never for one a revision at or below it dropped."""
    for directory in sorted(FROZEN_DIR.iterdir(), reverse=True):
        path = directory / "functions" / name
        if directory.name <= revision and path.is_file():
            return path
    raise FileNotFoundError(f"no revision at or below {revision} has a frozen copy of {name}")


def restore_frozen(revision: str, names: Collection[str], *, triggers: bool) -> None:
    """Inside a downgrade: installs the copies the files `names` had at `revision` (frozen_copy), the
    routines (triggers=False) or the triggers among them."""
    files = [frozen_copy(name, revision) for name in sorted(names) if is_trigger_file(name) == triggers]
    execute_sql_files(_driver().execute, files)


def drop_frozen(revision: str, names: Collection[str], *, triggers: bool) -> None:
    """Inside a migration: drops the objects of the files `names` as their copies at `revision` define
    them, the routines (triggers=False) or the triggers among them."""
    for name in sorted(names):
        if is_trigger_file(name) == triggers:
            _driver().execute(sql_object(frozen_copy(name, revision).read_text()).drop)


def run_frozen(revision: str, name: str) -> None:
    """Inside a migration: runs one of `revision`'s DDL files (db/migrations/sql/NNNN/name).

    The baseline's down.sql drops the app's own tables (users, sessions, ...): it runs only where its
    up.sql created them, which it records (baseline_created), never on a database stamped at 0001 (one
    adopted, whose tables the app made): there going below 0001 removes nothing but the revision."""
    driver = _driver()
    if (revision, name) == (BASELINE, "down.sql") and not baseline_created(driver):
        return
    driver.execute((FROZEN_DIR / revision / name).read_text())
    if (revision, name) == (BASELINE, "up.sql"):
        driver.execute(queries.BASELINE_CREATED)
    elif (revision, name) == (BASELINE, "down.sql"):
        driver.execute(queries.BASELINE_DROPPED)


def baseline_created(conn: psycopg.Connection[Any]) -> bool:
    """Whether this project created the database's baseline tables (revision 0001 ran its up.sql here),
    rather than stamped tables the app had made. A database stamped, or migrated before the project
    recorded it, counts as stamped: its baseline tables are never dropped."""
    row = conn.execute(queries.BASELINE_WAS_CREATED, {"mark": queries.BASELINE_MARK}).fetchone()
    return bool(row and row[0])


def frozen_rows(revision: str, name: str) -> list[dict[str, Any]]:
    """Inside a migration: the rows of one of `revision`'s query files, by column name."""
    with _driver().cursor(row_factory=dict_row) as cursor:
        rows: list[dict[str, Any]] = cursor.execute((FROZEN_DIR / revision / name).read_text()).fetchall()
    return rows


def alembic_config(url: str) -> Config:
    """The project's Alembic configuration, aimed at `url` (db/migrations/env.py reads it)."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Down to `revision`. Below 0001 on a database whose baseline was stamped (run_frozen), only the
    revision goes: the app's tables stay."""
    command.downgrade(alembic_config(url), revision)


def undone(current: str | None, target: str) -> list[str]:
    """The revisions a downgrade from `current` to `target` undoes, newest first, the target resolved as
    Alembic's downgrade resolves it (base, an id or its prefix, -N); CommandError when it cannot be."""
    script = ScriptDirectory.from_config(alembic_config(""))
    try:
        steps = script.iterate_revisions(current, target, select_for_downgrade=True)
        return [step.revision for step in steps]
    except RevisionError as error:
        raise CommandError(str(error)) from None


def revision(conn: psycopg.Connection[Any]) -> str | None:
    """The database's revision; None when it has never been migrated (or stamped). NotGranted when the
    login may not read it (checked first, so that it is told which grant it lacks)."""
    row = conn.execute(queries.MIGRATED).fetchone()
    assert row is not None
    migrated, readable, login, roles = row
    if not migrated:
        return None
    if not readable:
        raise NotGranted.of(login, roles)
    version = conn.execute(queries.REVISION).fetchone()
    return str(version[0]) if version else None


def head() -> str | None:
    """The newest revision this installation knows."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()

"""Running the migrations, and the SQL files they install: db/functions/ (the current truth) and each
revision's frozen SQL under db/migrations/sql/NNNN/ (its DDL files and a copy of its functions)."""

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import psycopg
from alembic import command, op
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg.rows import dict_row

from astegni import queries

ROOT = Path(__file__).resolve().parent.parent
DB_DIR = ROOT / "db"
FUNCTIONS_DIR = DB_DIR / "functions"
FROZEN_DIR = DB_DIR / "migrations" / "sql"


def sql_files(directory: Path, *, triggers: bool) -> list[Path]:
    """The function files (triggers=False) or trigger files (triggers=True) of a directory, in name order."""
    return sorted(p for p in directory.glob("*.sql") if p.name.startswith("trigger_") == triggers)


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


def run_frozen(revision: str, name: str) -> None:
    """Inside a migration: runs one of `revision`'s DDL files (db/migrations/sql/NNNN/name)."""
    _driver().execute((FROZEN_DIR / revision / name).read_text())


def frozen_rows(revision: str, name: str) -> list[dict[str, Any]]:
    """Inside a migration: the rows of one of `revision`'s query files, by column name."""
    with _driver().cursor(row_factory=dict_row) as cursor:
        rows: list[dict[str, Any]] = cursor.execute((FROZEN_DIR / revision / name).read_text()).fetchall()
    return rows


def alembic_config(url: str) -> Config:
    """The project's Alembic configuration, aimed at `url` (db/migrations/env.py reads it)."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def revision(conn: psycopg.Connection[Any]) -> str | None:
    """The database's revision; None when it has never been migrated (or stamped)."""
    row = conn.execute(queries.MIGRATED).fetchone()
    if row is None or not row[0]:
        return None
    version = conn.execute(queries.REVISION).fetchone()
    return str(version[0]) if version else None


def head() -> str | None:
    """The newest revision this checkout knows."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()

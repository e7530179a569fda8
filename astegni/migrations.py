"""Running the migrations, and the SQL files they install: db/functions/ (the current truth) and each
revision's frozen copy."""

from collections.abc import Callable, Collection
from pathlib import Path

from alembic import command, op
from alembic.config import Config
from alembic.script import ScriptDirectory

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


def install_frozen(revision: str, *, triggers: bool, only: Collection[str] | None = None) -> None:
    """Inside a migration: installs the frozen SQL of `revision` (functions or triggers), or only the
    files named in `only` (a downgrade restoring what the next revision replaced)."""
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    files = sql_files(FROZEN_DIR / revision, triggers=triggers)
    if only is not None:
        files = [path for path in files if path.name in only]
        assert len(files) == len(only), f"{revision} has no frozen copy of some of {sorted(only)}"
    execute_sql_files(driver.execute, files)


def alembic_config(url: str) -> Config:
    """The project's Alembic configuration, aimed at `url` (db/migrations/env.py reads it)."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def head() -> str | None:
    """The newest revision this checkout knows."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()

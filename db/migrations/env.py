"""Alembic environment: the URL comes from DATABASE_URL, the target metadata from astegni.models, and
the revision goes to astegni_alembic_version (never alembic_version, which an app's own Alembic history
may hold in the same database).

A caller may hand over an open SQLAlchemy connection instead (config.attributes["connection"]): the
migrations then run inside its transaction and commit nothing (astegni db adopt's dry run rolls it back).
"""

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from astegni.database import database_url, engine
from astegni.migrations import VERSION_TABLE
from astegni.models import Base


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """The models map the project's tables and the app's columns the rule uses; the app's other
    columns, tables and indexes are the app's own, not a difference."""
    return not (reflected and compare_to is None)


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        transaction_per_migration=True,
        compare_server_default=False,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    if (connection := context.config.attributes.get("connection")) is not None:
        run_on(connection)
        return
    url = context.config.attributes.get("url") or database_url()
    migrations_engine = engine(url)
    with migrations_engine.connect() as connection:
        run_on(connection)
    migrations_engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported: migrations read the database")
run_migrations()

"""Alembic environment: the URL comes from DATABASE_URL, the target metadata from astegni.models."""

from alembic import context

from astegni.database import database_url, engine
from astegni.models import Base


def run_migrations() -> None:
    url = context.config.attributes.get("url") or database_url()
    migrations_engine = engine(url)
    with migrations_engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            transaction_per_migration=True,
            compare_server_default=False,
        )
        with context.begin_transaction():
            context.run_migrations()
    migrations_engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported: migrations read the database")
run_migrations()

"""The server the benchmarks run on: fresh databases migrated to head, clones, and cleanup."""

from __future__ import annotations

import contextlib
import os
import platform
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parent.parent


def url_for_database(url: str, database: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = database
    return make_conninfo("", **params)


class Server:
    """Creates databases named astegni_bench_* on the server of `url` and drops them at close()."""

    def __init__(self, url: str, patches: tuple[Path, ...] = ()):
        self.url = url
        self.patches = patches  # SQL run after migrating: to measure a change before migrating it
        self.created: list[str] = []

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url, autocommit=True)

    def create(self, template: str | None = None) -> str:
        """A new database (a clone of template when given); returns its name."""
        name = f"astegni_bench_{uuid.uuid4().hex[:10]}"
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self.admin() as conn:
            conn.execute(create)
        self.created.append(name)
        return name

    def at_head(self) -> str:
        """A new database migrated to head with alembic, as the project's tests do."""
        name = self.create()
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["url"] = self.database_url(name)
        command.upgrade(config, "head")
        if self.patches:
            with self.connect(name) as conn:
                for patch in self.patches:
                    conn.execute(patch.read_text().encode())
        return name

    def database_url(self, name: str) -> str:
        return url_for_database(self.url, name)

    def connect(self, name: str, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.database_url(name), autocommit=autocommit)

    def drop(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        self.created.remove(name)

    def close(self) -> None:
        for name in list(self.created):
            self.drop(name)

    def checkpoint(self) -> None:
        """Flushes dirty buffers before a timed run, so that one run does not pay for another's
        writes; skipped without the right (superuser or pg_checkpoint)."""
        with self.admin() as conn, contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")

    def version(self) -> str:
        with self.admin() as conn:
            row = conn.execute("SELECT version()").fetchone()
        return str(row[0]) if row else "unknown"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{platform.platform()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


@contextlib.contextmanager
def server(url: str | None, patches: tuple[Path, ...] = ()) -> Iterator[Server]:
    """The server of url, else an embedded PostgreSQL in a temporary directory, deleted afterwards."""
    if url:
        bench = Server(url, patches)
        try:
            yield bench
        finally:
            bench.close()
        return
    import shutil
    import tempfile

    from astegni.embedded import start

    data_dir = Path(tempfile.mkdtemp(prefix="astb-")) / "pg"
    handle, embedded_url = start(data_dir, keep=False)
    bench = Server(embedded_url, patches)
    try:
        yield bench
    finally:
        bench.close()
        handle.cleanup()
        shutil.rmtree(data_dir.parent, ignore_errors=True)

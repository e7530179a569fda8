"""The test server astegni.testing runs on: ASTEGNI_TEST_DATABASE_URL, else a testcontainers PostgreSQL
when Docker answers and has the image, else an embedded PostgreSQL. Nothing optional is imported before
a server is chosen: the plugin loads in every pytest run of an app that installed the package."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from astegni.database import url_for_database
from astegni.errors import MissingExtra

URL_VARIABLE = "ASTEGNI_TEST_DATABASE_URL"
IMAGE_VARIABLE = "ASTEGNI_TEST_IMAGE"
DEFAULT_IMAGE = "postgres:16-alpine"
INSTALL_EXTRA = "pip install 'astegni-sessions[testing]'"
# Seconds Docker has to answer before it is taken as absent.
DOCKER_TIMEOUT = 3


@dataclass(frozen=True)
class Choice:
    """Which server (none: nothing can serve), on what (a URL, or an image), and why not the others."""

    kind: Literal["url", "testcontainers", "embedded", "none"]
    target: str
    why: str

    def describe(self) -> str:
        """One line for pytest's header."""
        if self.kind == "url":
            # The URL as given, unless it holds a password: not shown.
            params = conninfo_to_dict(self.target)
            shown = self.target if "password" not in params else make_conninfo(self.target, password="***")
            where = f"the server at {URL_VARIABLE} ({shown})"
        elif self.kind == "testcontainers":
            where = f"a testcontainers PostgreSQL ({self.target})"
        elif self.kind == "embedded":
            where = "an embedded PostgreSQL"
        else:
            where = "no test server"
        return f"astegni.testing: {where}: {self.why}"


@functools.cache
def choose() -> Choice:
    """The server this process's tests run on (probed once: the header and the fixtures agree)."""
    if url := os.environ.get(URL_VARIABLE):
        return Choice("url", url, f"{URL_VARIABLE} is set: neither Docker nor the embedded server is tried")
    image = os.environ.get(IMAGE_VARIABLE) or DEFAULT_IMAGE
    refusal = docker_refusal(image)
    if refusal is None:
        return Choice("testcontainers", image, f"{URL_VARIABLE} is not set and Docker has the image")
    from astegni.embedded import EXTRA_MODULES

    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        return Choice("none", "", f"{URL_VARIABLE} is not set; {refusal}; the embedded server is not"
                                  f" installed ({', '.join(missing)} missing): set {URL_VARIABLE}, or"
                                  f" {INSTALL_EXTRA}")
    return Choice("embedded", "", f"{URL_VARIABLE} is not set; {refusal}")


def docker_refusal(image: str) -> str | None:
    """Why testcontainers cannot run the image here, or None when it can: Docker (DOCKER_HOST, else its
    default socket) answers within DOCKER_TIMEOUT and has the image, and Ryuk's unless it is disabled.
    Nothing is pulled: a missing image is said, not waited for."""
    try:
        import docker
        from testcontainers.core.config import testcontainers_config
    except ImportError:
        return "testcontainers is not installed"
    where = os.environ.get("DOCKER_HOST", "its default socket")
    try:
        client = docker.from_env(timeout=DOCKER_TIMEOUT)
        client.ping()
    except Exception:  # docker's own errors, and the transport's: refused, missing socket, timeout
        return f"Docker does not answer at {where}"
    images = [image] if testcontainers_config.ryuk_disabled else [image, testcontainers_config.ryuk_image]
    try:
        missing = [name for name in images if not client.images.list(name=name)]
    finally:
        client.close()
    if image in missing:
        return (f"Docker answers at {where} but has no image {image} (docker pull {image}, or build one:"
                f" .ci/postgres-image, then {IMAGE_VARIABLE}=astegni-test-postgres:15)")
    if missing:
        return (f"Docker answers at {where} but has no image {missing[0]}, testcontainers' Ryuk"
                " (docker pull it, or TESTCONTAINERS_RYUK_DISABLED=true)")
    return None


@contextmanager
def serve(choice: Choice) -> Iterator[str]:
    """The chosen server, started (and stopped after) unless it is the URL's: its URL, connected to its
    maintenance database. MissingExtra when there is none."""
    if choice.kind == "url":
        yield choice.target
    elif choice.kind == "testcontainers":
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer(choice.target, driver=None) as container:
            yield container.get_connection_url()
    elif choice.kind == "embedded":
        with embedded() as url:
            yield url
    else:
        raise MissingExtra(choice.describe())


@contextmanager
def embedded() -> Iterator[str]:
    """An embedded PostgreSQL in a temporary directory, deleted after."""
    from astegni.embedded import start

    # Short and under the temp directory: the server's socket lives in it (~100 characters).
    parent = Path(tempfile.mkdtemp(prefix="astg-", dir=tempfile.gettempdir()))
    try:
        server, url = start(parent / "pg", keep=False)
        # A throwaway server: no need to survive a crash (as the test image runs), and every test's
        # CREATE DATABASE and commit is cheaper for it.
        with psycopg.connect(url, autocommit=True) as conn:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
            conn.execute("SELECT pg_reload_conf()")
        yield url
        server.cleanup()
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def execute(server_url: str, statement: sql.Composed) -> None:
    """One statement on the server's maintenance database, outside a transaction (CREATE DATABASE)."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(statement)


@contextmanager
def database(server_url: str, *, prefix: str = "astegni_t", template: str | None = None) -> Iterator[str]:
    """A new database on the server, empty or cloned from `template`, dropped after: its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    execute(server_url, create)
    try:
        yield name
    finally:
        execute(server_url, sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def fresh_database(server_url: str, template: str | None = None) -> Iterator[str]:
    """database(), as a URL."""
    with database(server_url, template=template) as name:
        yield url_for_database(server_url, name)

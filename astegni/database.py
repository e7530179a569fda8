"""Where the database is: DATABASE_URL, any libpq connection string (URL or key=value)."""

from __future__ import annotations

import os

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import Engine, create_engine, pool

from astegni.errors import NotConfigured


def database_url() -> str:
    """The server named by DATABASE_URL (e.g. postgresql://user@host:5432/db)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise NotConfigured("DATABASE_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/astegni)")
    return url


def engine(url: str) -> Engine:
    """A SQLAlchemy engine on psycopg 3 for a libpq connection string, without a pool."""
    return create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(url),
                         poolclass=pool.NullPool)


def url_for_database(url: str, database: str) -> str:
    """The same server, another database (host:port and Unix-socket URLs alike)."""
    params = conninfo_to_dict(url)
    params["dbname"] = database
    return make_conninfo("", **params)

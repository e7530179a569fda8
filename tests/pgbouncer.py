"""A real pgbouncer (Debian's package) in transaction pooling mode in front of the test server, for the
tests of what the layer does behind a pooler (tests/test_pooler.py), configured as docs/scaling.md
shows.

The server is reached as the test server is: over TCP, or on the embedded server's Unix socket
(`host=/path/to/socketdir`). pgbouncer refuses to run as root: then it runs as the owner of that socket
directory (only that user may enter the embedded server's data directory), or as nobody over TCP.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.support import ROOT, doc_block

INSTALL = "apt-get install pgbouncer"
# The configuration docs/scaling.md shows ("Behind a connection pooler"), run with the test's own
# server, port and auth_file.
CONFIG = doc_block(ROOT / "docs" / "scaling.md", "ini", "; pgbouncer.ini, as tests/test_pooler.py runs it")


def _config(**values: str) -> str:
    """CONFIG with the given keys' values (`*` as star) in place of the doc's."""
    def value(line: re.Match[str]) -> str:
        key = "star" if line["key"] == "*" else line["key"]
        return f"{line['key']} = {values[key]}" if key in values else line[0]
    return re.sub(r"^(?P<key>\S+) =.*$", value, CONFIG, flags=re.M)


def executable() -> str | None:
    """pgbouncer's path (Debian installs it in /usr/sbin, outside a user's PATH), or None."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _quoted(text: str) -> str:
    """A name or password in pgbouncer's auth_file, double quotes doubled."""
    return '"' + text.replace('"', '""') + '"'


@dataclass(frozen=True)
class Bouncer:
    port: int

    def url(self, database_url: str) -> str:
        """`database_url` through pgbouncer: the same user and database, pgbouncer's host and port."""
        return make_conninfo(database_url, host="127.0.0.1", port=str(self.port))


@contextmanager
def running(server_url: str) -> Iterator[Bouncer]:
    """Starts pgbouncer in front of the server of `server_url` (every database of it), and stops it
    after."""
    binary = executable()
    if binary is None:
        raise RuntimeError(f"pgbouncer is not installed: {INSTALL}")
    params = conninfo_to_dict(server_url)
    host = str(params.get("host") or "/var/run/postgresql")
    server = f"host={host} port={params.get('port') or 5432}"  # the password: auth_file's
    user = str(params.get("user") or pwd.getpwuid(os.geteuid()).pw_name)
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="astg-pgbouncer-"))
    workdir.chmod(0o755)  # read by the user pgbouncer switches to
    auth_file = workdir / "userlist.txt"
    auth_file.write_text(f"{_quoted(user)} {_quoted(str(params.get('password') or ''))}\n")
    config = workdir / "pgbouncer.ini"
    config.write_text(_config(star=server, listen_port=str(port), auth_file=str(auth_file)))
    for written in (auth_file, config):
        written.chmod(0o644)
    command = [binary, str(config)]
    if os.geteuid() == 0:
        owner = pwd.getpwuid(Path(host).stat().st_uid).pw_name if host.startswith("/") else "nobody"
        command[1:1] = ["-u", owner]
    log = workdir / "pgbouncer.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, process, log)
        yield Bouncer(port)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited with {process.returncode}: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not listen on 127.0.0.1:{port} within 10 s: {log.read_text()}")

"""Counts round trips on the wire with libpq's protocol trace: one round trip is a burst of
messages from the client followed by the server's answer, whatever API or pipeline sent them."""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from collections.abc import Iterator

import psycopg
from psycopg import pq


class Count:
    value = 0


@contextlib.contextmanager
def counted(conn: psycopg.Connection[tuple[object, ...]]) -> Iterator[Count]:
    count = Count()
    with tempfile.TemporaryFile() as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield count
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        directions = [line[:1] for line in trace.read().splitlines() if line[:1] in (b"F", b"B")]
    count.value = sum(1 for before, after in itertools.pairwise(directions)
                      if before == b"F" and after == b"B")

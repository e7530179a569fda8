"""What the rule announces, once its transaction commits: one event per request accepted or cancelled,
per series extended, ended or rescheduled, per request whose sessions time off cancelled (EVENTS).

The rule writes each event as a row of astegni_events in the transaction that did it. `listen` reads
the rows, never a notification: it looks again every POLL seconds while it finds nothing, and at once
when woken by a NOTIFY on astegni_sessions (whatever it says: a forged or garbled one only makes it
look). The rule sends that empty NOTIFY only when no other transaction wrote an event in the last POLL
seconds (astegni_notify): an idle listener hears the first event of a quiet spell at once, and under
load, when the next poll is never more than POLL away, commits do not queue for the lock NOTIFY takes
at commit. So an event reaches `listen` at most POLL seconds (plus a query) after its commit.

An event's id is drawn at its insert, not at its commit, so a later-numbered event may commit first.
`listen` therefore reads events in the order of the transactions that wrote them (astegni_events.xact,
then id), and only those of transactions older than every transaction still running on the server
(queries.SETTLED): no event is passed over. The price: while a transaction that has written anything
stays open, the events of younger transactions wait for it to end (a client's transaction held open,
bounded by idle_in_transaction_session_timeout where it is set). A named listener keeps its place in
astegni_event_cursors, recorded at its first start, and resumes there after a restart. The hook point
for email or SMS senders.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from astegni import queries
from astegni.connection import fetch
from astegni.errors import NotConfigured, NotificationsUndelivered, Unreachable

CHANNEL = "astegni_sessions"
# How long `listen` waits at its start for its check's notification (_check_delivery).
DELIVERY_CHECK_SECONDS = 2.0
# Seconds between a listener's looks while it finds nothing: the interval astegni_notify skips the
# NOTIFY within, so the longest an event waits for `listen` after its commit.
POLL = 0.5

# Each kind of event, and what its `sessions` (with first_starts_at and last_starts_at) counts.
EVENTS = {
    "accepted": "sessions made",  # note: the acceptance's (astegni.accept.NOTES), why not more
    "cancelled": "sessions cancelled",
    "extended": "sessions made",  # by the extension, up to the series' new horizon
    "ended": "sessions cancelled",  # after the series' last date; note: the reason given
    "rescheduled": "sessions scheduled from the date the new days and times apply",
    "time_off": "sessions cancelled",  # inside the tutor's new or moved time off
}


@dataclass(frozen=True)
class Notification:
    """A request accepted or cancelled, a series extended, ended or rescheduled, or sessions of a
    request cancelled by the tutor's time off: `event` says which, `sessions` counts what EVENTS says."""

    id: int  # the event's place in astegni_events
    event: str  # a key of EVENTS
    request_id: int
    tutor_id: int
    student_id: int | None
    sessions: int
    first_starts_at: dt.datetime | None
    last_starts_at: dt.datetime | None
    # An acceptance's note (astegni.accept.NOTES): why not more sessions; an ending's reason.
    note: str | None = None

    @property
    def explanation(self) -> str:
        """The event in words, e.g. 'request 42 extended: 3 sessions made'."""
        counted = EVENTS.get(self.event, "sessions")
        what = counted.replace("sessions", "session", 1) if self.sessions == 1 else counted
        text = f"request {self.request_id} {self.event.replace('_', ' ')}: {self.sessions} {what}"
        return f"{text} ({self.note})" if self.note else text

    def as_json(self) -> str:
        """One line of JSON, instants in ISO 8601 with their offset."""
        return json.dumps({key: value.isoformat() if isinstance(value, dt.datetime) else value
                           for key, value in asdict(self).items()})


def listen(conn: psycopg.Connection[Any], *, name: str | None = None, timeout: float | None = None,
           stop_after: int | None = None) -> Iterator[Notification]:
    """Yields the events committed from now on — or, for a listener `name`, from where that listener
    stopped last time (remembered after each event) — until `stop_after` of them have come or none came
    for `timeout` seconds (None: forever). `conn` must be in autocommit mode: inside a transaction,
    LISTEN would only start at its commit. It must reach PostgreSQL directly or through session
    pooling: NotificationsUndelivered at once otherwise (_check_delivery)."""
    if not conn.autocommit:
        raise NotConfigured("listen needs an autocommit connection",
                            hint="psycopg.connect(url, autocommit=True)")
    conn.execute(queries.LISTEN)  # before reading the start: no event can fall between the two
    _check_delivery(conn)
    [start] = fetch(conn, queries.NOW, {}) if name is None else fetch(conn, queries.PLACE, {"listener": name})
    return _events(conn, name, start, timeout, stop_after)


def _check_delivery(conn: psycopg.Connection[Any]) -> None:
    """NotificationsUndelivered unless a NOTIFY sent by another session reaches `conn` within
    DELIVERY_CHECK_SECONDS. Behind a pooler in transaction mode, LISTEN holds in the server session
    the pooler lent for that one transaction; what that session is notified of while lent to no one
    is dropped (pgbouncer: "got packet 'A' from server when not linked"), so `listen` would wait
    forever. The NOTIFY comes from a second connection with conn's parameters: one sent on `conn`
    itself may run in the very session that listens, which PostgreSQL notifies before that
    transaction ends, while the pooler still relays to `conn` (so it arrives through pgbouncer too)."""
    payload = uuid.uuid4().hex
    conn.execute(queries.LISTEN_CHECK)
    try:
        try:
            notifier = psycopg.connect(conn.info.dsn, password=conn.info.password, autocommit=True)
        except psycopg.Error as error:
            raise Unreachable.of(conn.info.dsn, error) from None
        with notifier:
            fetch(notifier, queries.NOTIFY_CHECK, {"payload": payload})
        # A wake-up of the rule's channel that comes meanwhile is dropped: the events are read after.
        with contextlib.closing(conn.notifies(timeout=DELIVERY_CHECK_SECONDS)) as arrived:
            delivered = any(notify.payload == payload for notify in arrived)
        if not delivered:
            raise NotificationsUndelivered(
                f"notifications do not reach this connection (the check's NOTIFY did not arrive within"
                f" {DELIVERY_CHECK_SECONDS:g} s), as behind a pooler in transaction mode (pgbouncer's"
                " pool_mode = transaction): connect the listener directly to PostgreSQL or through session"
                " pooling")
    finally:
        conn.execute(queries.UNLISTEN_CHECK)


def _events(conn: psycopg.Connection[Any], name: str | None, place: dict[str, Any], timeout: float | None,
            stop_after: int | None) -> Iterator[Notification]:
    """`place`: the last event handed on, as last_xact and last_event_id (queries.EVENTS_AFTER's order),
    and the snapshot of the listener's first start (started)."""
    count = 0
    last_found = time.monotonic()
    while stop_after is None or count < stop_after:
        rows = fetch(conn, queries.EVENTS_AFTER, place)
        for row in rows:
            place = {**place, "last_xact": row.pop("xact"), "last_event_id": row["id"]}
            yield Notification(**row)
            if name is not None:
                fetch(conn, queries.EVENTS_SEEN, {"listener": name, **place})
            count += 1
            if stop_after is not None and count >= stop_after:
                return
        if rows:
            last_found = time.monotonic()
            continue
        left = None if timeout is None else timeout - (time.monotonic() - last_found)
        if left is not None and left <= 0:
            return
        _wait(conn, POLL if left is None else min(POLL, left))


def _wait(conn: psycopg.Connection[Any], seconds: float) -> None:
    """Until a NOTIFY on the channel (whatever it says) or `seconds` have passed."""
    for notify in conn.notifies(timeout=seconds):
        if notify.channel == CHANNEL:
            return

"""Calendar feeds a student, a parent or a tutor subscribes to (docs/calendar.md).

A link is a random token (`secrets.token_urlsafe(32)`) that exists only in the URL handed out: the
database keeps its SHA-256 (astegni_calendar_links, which no client role reads), resolves a token only
through astegni_calendar_feed and issues and revokes links for astegni_admin alone. A feed is the
owner's sessions from three months back (UTC) on, cancelled ones as STATUS:CANCELLED, written by
`astegni.ical.calendar` as `astegni ical` writes them; its ETag is a hash of those bytes and its
Last-Modified the time the database first served that ETag (so a session deleted, or one passing out
of the window, moves it too, which no session's updated_at would).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from astegni import queries
from astegni.connection import Conn, Row
from astegni.ical import SessionRow, calendar
from astegni.operation import Operation, one, run

__all__ = ["CHANGED", "FEED", "ISSUE", "REVOKE", "TOKEN", "Feed", "Link", "OwnerKind", "calendar_changed",
           "calendar_feed", "etag_of", "issue_calendar_link", "new_token", "revoke_calendar_links",
           "token_hash"]

OwnerKind = Literal["student", "parent", "tutor"]
# What new_token makes: 43 characters of the URL-safe base64 alphabet (a shorter or other one is no
# link: answered without asking the database).
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# How often a subscribed calendar should fetch the feed again (RFC 7986 REFRESH-INTERVAL).
REFRESH = dt.timedelta(hours=1)


def new_token() -> str:
    """A link's token: 256 random bits."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """What the database keeps of a token: its SHA-256."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Link:
    """A link just issued: `token` is in no database, only in the URLs (`urls`)."""

    id: int
    owner_kind: OwnerKind
    owner_id: int
    token: str
    created_at: dt.datetime

    def urls(self, base_url: str) -> tuple[str, str]:
        """The feed's webcal:// URL (a calendar app subscribes) and its URL on the app's own scheme."""
        url = f"{base_url.rstrip('/')}/calendar/{self.token}.ics"
        return "webcal://" + url.split("://", 1)[1], url


@dataclass(frozen=True)
class Feed:
    """A live link's feed as the database has it: whose it is, its sessions, and the ETag and change
    time it was last served with (None before its first serving)."""

    owner_kind: OwnerKind
    owner_id: int
    sessions: list[SessionRow]
    etag: str | None
    changed_at: dt.datetime | None

    @property
    def name(self) -> str:
        return f"Astegni: {self.owner_kind} {self.owner_id}"

    def body(self) -> bytes:
        """The RFC 5545 calendar, as `astegni ical` writes it, with a refresh interval for subscribers."""
        cal = calendar(self.sessions, name=self.name)
        cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", REFRESH)
        data: bytes = cal.to_ical()
        return data


def etag_of(body: bytes) -> str:
    """A strong ETag of the body (quoted, as the header carries it)."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _token_params(token: str) -> dict[str, Any]:
    return {"token_hash": token_hash(token)}


def _read_feed(rows: list[Row]) -> Feed | None:
    if not rows:
        return None
    first = rows[0]
    fields = SessionRow.__dataclass_fields__
    sessions = [SessionRow(**{k: row[k] for k in fields}) for row in rows if row["id"] is not None]
    return Feed(owner_kind=first["owner_kind"], owner_id=first["owner_id"], sessions=sessions,
                etag=first["feed_etag"], changed_at=first["feed_changed_at"])


def _owner_params(owner_kind: OwnerKind, owner_id: int) -> dict[str, Any]:
    return {"owner_kind": owner_kind, "owner_id": owner_id}


def _issue_params(owner_kind: OwnerKind, owner_id: int, token: str) -> dict[str, Any]:
    return {**_owner_params(owner_kind, owner_id), **_token_params(token)}


FEED: Operation[[str], Feed | None] = Operation(queries.CALENDAR_FEED, _token_params, _read_feed)
CHANGED: Operation[[str, str], dt.datetime | None] = Operation(
    queries.CALENDAR_CHANGED, lambda token, etag: {**_token_params(token), "etag": etag},
    one(lambda row: row["changed_at"]))
ISSUE: Operation[[OwnerKind, int, str], tuple[int, dt.datetime]] = Operation(
    queries.CALENDAR_LINK, _issue_params, one(lambda row: (row["id"], row["created_at"])))
REVOKE: Operation[[OwnerKind, int], int] = Operation(
    queries.REVOKE_CALENDAR_LINKS, _owner_params, one(lambda row: row["revoked"]))


def calendar_feed(conn: Conn, token: str) -> Feed | None:
    """The feed of a live link's token; None for a token never issued, or revoked."""
    return run(conn, FEED, token)


def calendar_changed(conn: Conn, token: str, etag: str) -> dt.datetime | None:
    """Records that the feed is served with `etag` now; when the feed last changed (None: the link has
    been revoked meanwhile)."""
    return run(conn, CHANGED, token, etag)


def issue_calendar_link(conn: Conn, owner_kind: OwnerKind, owner_id: int) -> Link:
    """A new link of a student, a parent or a tutor (astegni_admin); the caller commits. AS020
    (CalendarOwnerNotFound) when there is no such owner."""
    token = new_token()
    link_id, created_at = run(conn, ISSUE, owner_kind, owner_id, token)
    return Link(link_id, owner_kind, owner_id, token, created_at)


def revoke_calendar_links(conn: Conn, owner_kind: OwnerKind, owner_id: int) -> int:
    """Revokes every live link of the owner (astegni_admin); how many. The caller commits."""
    return run(conn, REVOKE, owner_kind, owner_id)

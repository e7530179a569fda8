"""Email about the rule's events: students and the parent who made the request hear of an acceptance
(what was made, the first sessions, why not more, the sessions as an .ics), a cancellation, a series
ended or rescheduled, sessions cancelled for the tutor's time off.

`compose` turns an event into one message per recipient (plain text and HTML, from the templates in
astegni/templates/mail); `Mailer` sends them over SMTP (stdlib smtplib); `deliver` is the worker: a
named listener (astegni.notifications.listen) that moves past an event only once the SMTP server has
taken, or refused for good, each of its messages. A crash in between sends the event again at the next
start, with the same Message-IDs (derived from the event and the recipient): at-least-once delivery,
whose duplicates a mail system can recognise, never a loss. Reading addresses needs the role
astegni_mailer (users.email), which astegni_app lacks.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import smtplib
import ssl
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from importlib.resources import files
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psycopg

from astegni import ical, queries
from astegni.accept import NOTES
from astegni.connection import fetch
from astegni.errors import MailNotSent, NotConfigured
from astegni.notifications import Notification, listen

Security = Literal["plain", "starttls", "tls"]
DEFAULT_PORTS: dict[Security, int] = {"plain": 25, "starttls": 587, "tls": 465}
# The events mailed, and whether their sessions were made (else cancelled). Not "extended": the
# routine growth of a series its acceptance already announced.
MADE = {"accepted": True, "rescheduled": True, "cancelled": False, "ended": False, "time_off": False}
# Each event's subject and opening sentence; $request is the request's id, $sessions the count.
WORDING = {
    "accepted": ("Request $request accepted: $sessions",
                 "Your tutoring request $request was accepted: $sessions scheduled."),
    "cancelled": ("Request $request cancelled",
                  "Your tutoring request $request was cancelled: $sessions cancelled."),
    "ended": ("Request $request: the weekly sessions end",
              "The weekly sessions of request $request end: $sessions after their last date cancelled."),
    "rescheduled": ("Request $request: new days and times",
                    "The weekly sessions of request $request have new days or times: $sessions"
                    " scheduled from the date they apply."),
    "time_off": ("Request $request: $sessions cancelled for time off",
                 "The tutor is on time off: $sessions of request $request cancelled."),
}
FIRST_SESSIONS = 5  # sessions listed in the message; the .ics has them all
TEMPLATES = files("astegni") / "templates" / "mail"


@dataclass(frozen=True)
class Smtp:
    """Where and how to send: an SMTP server, its transport security and login."""

    host: str
    port: int
    security: Security = "plain"
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str, *, security: Security = "plain", user: str | None = None,
                 password: str | None = None) -> Smtp:
        """smtp://HOST[:PORT] (the port defaults to 25, 587 with STARTTLS, 465 with TLS)."""
        example = "smtp://HOST:PORT, e.g. smtp://127.0.0.1:587"
        parts = urlsplit(url)
        if parts.scheme != "smtp" or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise NotConfigured(f"--smtp {url!r} is not an SMTP URL", hint=f"--smtp takes {example}")
        try:
            port = parts.port
        except ValueError:
            port_text = parts.netloc.rpartition(":")[2]
            raise NotConfigured(f"--smtp {url!r}: the port {port_text!r} is not a number from 1 to 65535",
                                hint=f"--smtp takes {example}") from None
        if port == 0:
            raise NotConfigured(f"--smtp {url!r}: the port 0 is not a number from 1 to 65535",
                                hint=f"--smtp takes {example}")
        if parts.username or parts.password:
            raise NotConfigured(f"--smtp {url!r} holds a login", hint="give --user, and the password"
                                " in ASTEGNI_SMTP_PASSWORD (never in a URL, where ps shows it)")
        if user and password is None:
            raise NotConfigured(f"--user {user} given, but ASTEGNI_SMTP_PASSWORD is not set")
        return cls(parts.hostname, port or DEFAULT_PORTS[security], security, user or None, password)


@dataclass(frozen=True)
class Recipient:
    """A student or parent of the request: their user and address (None when they have none)."""

    user_id: int | None
    address: str | None
    role: str  # 'student' or 'parent'
    student_id: int | None  # the student profile, for a student


@dataclass(frozen=True)
class Refusal:
    recipient: Recipient
    reason: str  # the server's reply ("550 5.1.1 no such user"), or why there was no address


@dataclass(frozen=True)
class Delivery:
    """What became of an event's messages: those the server took, the recipients refused or skipped."""

    event: Notification
    sent: list[EmailMessage]
    refused: list[Refusal]

    @property
    def summary(self) -> str:
        """One line, e.g. 'event 7 (request 4 accepted): sent 2, refused 1: x@y.test (550 no such user)'."""
        text = (f"event {self.event.id} (request {self.event.request_id} "
                f"{self.event.event.replace('_', ' ')}): sent {len(self.sent)}, refused {len(self.refused)}")
        if self.refused:
            text += ": " + "; ".join(f"{r.recipient.address or f'user {r.recipient.user_id}'} ({r.reason})"
                                     for r in self.refused)
        return text


def sender_domain(sender: str) -> str:
    """The domain of the sender's address ('Astegni <noreply@astegni.example>': astegni.example), which
    the Message-IDs carry."""
    _, address = email.utils.parseaddr(sender)
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain.strip("."):
        raise NotConfigured(f"--sender {sender!r} is not an email address with a domain",
                            hint="e.g. --sender 'Astegni <noreply@astegni.example>'")
    return domain.lower()


def message_id(event_id: int, user_id: int, domain: str) -> str:
    """The same for every sending of this event to this user: a duplicate is recognisable."""
    return f"<astegni-event-{event_id}-user-{user_id}@{domain}>"


def recipients(conn: psycopg.Connection[Any], request_id: int) -> list[Recipient]:
    """The request's students, then the parent who made it; one per address."""
    found: list[Recipient] = []
    seen: set[str] = set()
    for row in fetch(conn, queries.MAIL_RECIPIENTS, {"request_id": request_id}):
        recipient = Recipient(**row)
        if recipient.address is not None:
            if recipient.address.lower() in seen:
                continue
            seen.add(recipient.address.lower())
        found.append(recipient)
    return found


def compose(conn: psycopg.Connection[Any], event: Notification, *,
            sender: str) -> tuple[list[tuple[Recipient, EmailMessage]], list[Refusal]]:
    """The messages of an event, one per recipient with an address, and the recipients without one.
    Nothing for an event that is not mailed (MADE)."""
    if event.event not in MADE:
        return [], []
    domain = sender_domain(sender)
    listed = _listed(conn, event)
    # An acceptance's calendar: the sessions made; any other: the request's as they are now (a calendar
    # that imported the acceptance sees the cancelled ones as CANCELLED, by their UIDs).
    attached = listed if event.event == "accepted" else ical.sessions(conn, request_id=event.request_id)
    subject, lead = (string.Template(text).substitute(request=event.request_id,
                                                      sessions=_count(event.sessions))
                     for text in WORDING[event.event])
    paragraphs = _paragraphs(conn, event, listed, attached)
    calendar = ical.calendar(attached, name=f"Astegni: request {event.request_id}").to_ical()
    messages: list[tuple[Recipient, EmailMessage]] = []
    refused: list[Refusal] = []
    for recipient in recipients(conn, event.request_id):
        if recipient.address is None or recipient.user_id is None:
            refused.append(Refusal(recipient, _no_address(recipient)))
            continue
        footer = (f"Sent by Astegni about event {event.id}"
                  + (", as the parent who made the request." if recipient.role == "parent" else "."))
        fields = {"subject": subject, "lead": lead, "footer": footer}
        message = EmailMessage()
        message["From"] = sender
        message["To"] = recipient.address
        message["Subject"] = subject
        message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
        message["Message-ID"] = message_id(event.id, recipient.user_id, domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        message.set_content(_render("message.txt", fields, _text(paragraphs)))
        message.add_alternative(_render("message.html", fields, _html(paragraphs), escape=True),
                                subtype="html")
        if attached:
            message.add_attachment(calendar, maintype="text", subtype="calendar",
                                   filename=f"request-{event.request_id}.ics")
        messages.append((recipient, message))
    return messages, refused


class Mailer:
    """One SMTP connection, opened when first needed and again when the server has closed it."""

    def __init__(self, smtp: Smtp, *, timeout: float = 30):
        self.smtp = smtp
        self.timeout = timeout
        self._client: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Connects (TLS, STARTTLS, login) unless connected: a bad server or login fails here."""
        if self._client is not None:
            return
        smtp = self.smtp
        try:
            if smtp.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=self.timeout,
                                                        context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout)
            try:
                if smtp.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if smtp.user:
                    client.login(smtp.user, smtp.password or "")
            except BaseException:
                client.close()
                raise
        except (smtplib.SMTPException, OSError) as error:
            raise MailNotSent(f"cannot use the SMTP server {self._where}: {_reply(error)}",
                              hint=_connect_hint(error)) from None
        self._client = client

    def send(self, message: EmailMessage, address: str) -> str | None:
        """Sends to one address: None once the server has taken it, else its permanent refusal (5xx).
        MailNotSent when it could not be sent now (unreachable, a temporary 4xx refusal)."""
        try:
            try:
                self.connect()
                assert self._client is not None
                self._client.send_message(message, to_addrs=[address])
            except smtplib.SMTPServerDisconnected:
                # An idle connection the server closed: once more on a new one (should the server have
                # taken the message before closing, this is a duplicate with the same Message-ID).
                self._client = None
                self.connect()
                assert self._client is not None
                self._client.send_message(message, to_addrs=[address])
        except smtplib.SMTPRecipientsRefused as error:
            code, text = error.recipients[address]
            if code >= 500:
                return f"{code} {text.decode(errors='replace')}"
            self.close()
            raise MailNotSent(f"the SMTP server {self._where} refused {address} for now: {code}"
                              f" {text.decode(errors='replace')}", hint="run again later") from None
        except smtplib.SMTPDataError as error:
            if error.smtp_code >= 500:
                return _reply(error)
            self.close()
            raise MailNotSent(f"the SMTP server {self._where} refused the message to {address} for now:"
                              f" {_reply(error)}", hint="run again later") from None
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise MailNotSent(f"cannot send through the SMTP server {self._where}: {_reply(error)}",
                              hint=_connect_hint(error)) from None
        return None

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    @property
    def _where(self) -> str:
        return f"{self.smtp.host}:{self.smtp.port}"


def deliver(conn: psycopg.Connection[Any], mailer: Mailer, *, sender: str, name: str = "mail",
            timeout: float | None = None) -> Iterator[Delivery]:
    """The worker: mails each event after the cursor `name`, records the recipients refused or without an
    address, and yields what became of the event, until no event came for `timeout` seconds (0: what is
    pending; None: forever). `conn` is an autocommit connection of a login granted astegni_mailer.

    The cursor is recorded at once, at the first start (what happens from then on is mailed). It
    moves past an event when the next one is asked for (listen keeps its place then), so
    only after the server took or refused each of its messages; a crash before that mails it again."""
    sender_domain(sender)  # a bad sender fails before any event is read
    return _deliveries(conn, mailer, sender, listen(conn, name=name, timeout=timeout))


def _deliveries(conn: psycopg.Connection[Any], mailer: Mailer, sender: str,
                events: Iterator[Notification]) -> Iterator[Delivery]:
    for event in events:
        if event.event not in MADE:
            continue
        messages, refused = compose(conn, event, sender=sender)
        sent = []
        for recipient, message in messages:
            assert recipient.address is not None
            reason = mailer.send(message, recipient.address)
            if reason is None:
                sent.append(message)
            else:
                refused.append(Refusal(recipient, reason))
        for refusal in refused:
            fetch(conn, queries.MAIL_REFUSED, {
                "event_id": event.id, "user_id": refusal.recipient.user_id,
                "address": refusal.recipient.address, "reason": refusal.reason})
        yield Delivery(event, sent, refused)


@dataclass(frozen=True)
class _Paragraph:
    text: str
    items: Sequence[str] = ()


def _listed(conn: psycopg.Connection[Any], event: Notification) -> list[ical.SessionRow]:
    """The sessions the event made or cancelled, as they are now: those of its request from its first
    start to its last, of the status the event gave them."""
    if event.first_starts_at is None or event.last_starts_at is None:
        return []
    rows = ical.sessions(conn, request_id=event.request_id, start=event.first_starts_at,
                         end=event.last_starts_at + dt.timedelta(microseconds=1))
    if event.event == "accepted":
        return rows
    return [row for row in rows if (row.status == "cancelled") != MADE[event.event]]


def _paragraphs(conn: psycopg.Connection[Any], event: Notification, listed: list[ical.SessionRow],
                attached: list[ical.SessionRow]) -> list[_Paragraph]:
    paragraphs = []
    if listed:
        made = MADE[event.event]
        heading = "First sessions" if made else "Sessions cancelled"
        items = [_when(row) + (" (since cancelled)" if made and row.status == "cancelled" else "")
                 for row in listed[:FIRST_SESSIONS]]
        if len(listed) > FIRST_SESSIONS:
            items.append(f"and {len(listed) - FIRST_SESSIONS} more")
        paragraphs.append(_Paragraph(f"{heading} (times in {listed[0].timezone}):", items))
    if event.event == "accepted" and event.note:
        paragraphs.append(_Paragraph(f"Why not more: {NOTES.get(event.note, event.note)}."))
    reason = event.note if event.event == "ended" else None
    if event.event == "cancelled":
        [row] = fetch(conn, queries.MAIL_CANCELLED_REASON, {"request_id": event.request_id})
        reason = row["cancelled_reason"]
    if reason:
        paragraphs.append(_Paragraph(f"Reason given: {reason}"))
    if attached:
        paragraphs.append(_Paragraph(
            f"The sessions are attached as a calendar (request-{event.request_id}.ics); importing it"
            " again updates the same events."))
    return paragraphs


def _when(row: ical.SessionRow) -> str:
    """E.g. 'Wed 02 Dec 2026 10:00-11:00 EAT', in the tutor's zone."""
    zone = ZoneInfo(row.timezone)
    starts, ends = row.starts_at.astimezone(zone), row.ends_at.astimezone(zone)
    return f"{starts:%a %d %b %Y %H:%M}-{ends:%H:%M %Z}"


def _count(sessions: int) -> str:
    return "no session" if sessions == 0 else "1 session" if sessions == 1 else f"{sessions} sessions"


def _text(paragraphs: Sequence[_Paragraph]) -> str:
    return "\n".join(p.text + "\n" + "".join(f"  - {item}\n" for item in p.items) for p in paragraphs)


def _html(paragraphs: Sequence[_Paragraph]) -> str:
    parts = []
    for p in paragraphs:
        parts.append(f"<p>{html.escape(p.text)}</p>")
        if p.items:
            parts.append("<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in p.items) + "</ul>")
    return "\n".join(parts)


def _render(name: str, fields: dict[str, str], details: str, *, escape: bool = False) -> str:
    """A template of astegni/templates/mail with its fields (HTML-escaped for HTML) and the details
    (already in the template's format)."""
    values = {key: html.escape(value) if escape else value for key, value in fields.items()}
    return string.Template(TEMPLATES.joinpath(name).read_text(encoding="utf-8")).substitute(
        values, details=details)


def _no_address(recipient: Recipient) -> str:
    if recipient.user_id is None:
        return f"no address: student profile {recipient.student_id} has no user"
    return f"no address: user {recipient.user_id} has no email"


def _reply(error: BaseException) -> str:
    """An SMTP error as the server's reply ('535 5.7.8 Authentication failed'), else its text."""
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) \
            else str(error.smtp_error)
        return " ".join(f"{error.smtp_code} {text}".split())
    return " ".join(str(error).split()) or type(error).__name__


def _connect_hint(error: BaseException) -> str | None:
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return "check --user and ASTEGNI_SMTP_PASSWORD"
    if isinstance(error, ssl.SSLError):
        return "--tls is TLS from the first byte (port 465), --starttls an upgrade (port 587)"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return "the server offers no STARTTLS: try --tls, or neither on a trusted network"
    return None

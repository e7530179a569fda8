"""astegni mail against a real SMTP server on 127.0.0.1 (aiosmtpd): who gets what, the .ics read back by
two parsers, refusals recorded, TLS and STARTTLS with a login, and a worker killed between the server
taking a message and its cursor moving, which mails that event again under the same Message-ID."""

import asyncio
import datetime as dt
import email
import email.policy
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import astegni
from astegni import mail, queries
from astegni.accept import NOTES
from astegni.errors import MailNotSent, NotConfigured
from astegni.notifications import Notification
from tests.conftest import as_login
from tests.support import MON_WED_FRI, Factory, assert_calendar_matches, scalar

SENDER = "Astegni <noreply@astegni.example>"
PASSWORD = "s3cret pass"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    def part(self, content_type):
        [part] = [p for p in self.message.walk() if p.get_content_type() == content_type]
        return part

    def text(self, content_type="text/plain"):
        """A text part as written (SMTP carries its lines ended by CRLF)."""
        return self.part(content_type).get_content().replace("\r\n", "\n")


@dataclass
class Inbox:
    """An aiosmtpd handler: keeps each message; refuses the addresses in `refuse` at RCPT (550); with
    `hold`, answers no DATA until `released` is set."""

    refuse: set[str] = field(default_factory=set)
    hold: bool = False
    received: list[Received] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        while self.hold and not self.released.is_set():
            await asyncio.sleep(0.01)
        return "250 Message accepted for delivery"

    def wait_for(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} messages came"
            time.sleep(0.02)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(inbox, **kwargs):
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def inbox():
    return Inbox()


@pytest.fixture
def smtp(inbox):
    """A plain SMTP server on 127.0.0.1 delivering into `inbox`; its URL."""
    controller = serve(inbox)
    yield f"smtp://127.0.0.1:{controller.port}"
    inbox.released.set()
    controller.stop()


@pytest.fixture
def mailer_url(db_url, logins):
    """The test's database as a login granted astegni_mailer only."""
    return as_login(db_url, logins["mailer"])


def settle(url, timeout=60):
    """Waits until every event of the database is settled, as `--once` mails only those: no transaction
    older than the one that wrote it still runs on the server (in any database: another test's may be
    held open on purpose)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute(f"SELECT EXISTS (SELECT FROM astegni_events WHERE xact >= {queries.SETTLED})"
                           ).fetchone() != (False,):
            assert time.monotonic() < deadline, "events still held back by an older open transaction"
            time.sleep(0.05)


def run_mail(url, smtp_url, *args, env=None, check=True):
    """`astegni mail --once` as a subprocess, once every event is settled."""
    settle(url)
    environment = {**os.environ, "DATABASE_URL": url, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "astegni.cli", "mail", "--smtp", smtp_url, "--sender", SENDER, "--once",
         *args], capture_output=True, text=True, env=environment, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def event_ids(conn, request):
    return [r[0] for r in conn.execute("SELECT id FROM astegni_events WHERE request_id = %s ORDER BY id",
                                       (request,))]


def email_of(conn, user):
    return scalar(conn, "SELECT email FROM users WHERE id = %s", user)


def session_ids(conn, request):
    return {r[0] for r in conn.execute("SELECT id FROM sessions WHERE request_id = %s", (request,))}


def cursor(conn, name="mail"):
    return scalar(conn, "SELECT last_event_id FROM astegni_event_cursors WHERE listener = %s", name)


def refusals(conn):
    return conn.execute("SELECT event_id, user_id, address, reason FROM astegni_mail_refusals"
                        " ORDER BY event_id, user_id").fetchall()


def test_an_acceptance_is_mailed_once_to_the_student_with_its_sessions(conn, mailer_url, smtp, inbox):
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, _ = f.student()
    request = f.request(tutor, user, start_time=dt.time(17), end_time=dt.time(18), **MON_WED_FRI)
    # The first start records the cursor: what happens from then on is mailed.
    assert run_mail(mailer_url, smtp).stdout == ""
    astegni.accept(conn, request)
    [event] = event_ids(conn, request)
    assert run_mail(mailer_url, smtp).stdout == (
        f"event {event} (request {request} accepted): sent 1, refused 0\n")
    [received] = inbox.received
    address = email_of(conn, user)
    assert received.rcpt_tos == [address]
    assert received.mail_from == "noreply@astegni.example"
    message = received.message
    assert (message["From"], message["To"]) == (SENDER, address)
    assert message["Subject"] == f"Request {request} accepted: 24 sessions"
    assert message["Message-ID"] == f"<astegni-event-{event}-user-{user}@astegni.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    first = conn.execute("SELECT starts_at, ends_at FROM sessions WHERE request_id = %s ORDER BY starts_at"
                         " LIMIT 5", (request,)).fetchall()
    zone = ZoneInfo("Europe/Berlin")
    berlin = [(s.astimezone(zone), e.astimezone(zone)) for s, e in first]
    lines = [f"  - {s:%a %d %b %Y %H:%M}-{e:%H:%M %Z}" for s, e in berlin]
    assert all(s.hour == 17 and e.hour == 18 for s, e in berlin)
    text = received.text()
    assert text == "\n".join([
        "Hello,", "", f"Your tutoring request {request} was accepted: 24 sessions scheduled.", "",
        "First sessions (times in Europe/Berlin):", *lines, "  - and 19 more", "",
        f"The sessions are attached as a calendar (request-{request}.ics); importing it again updates"
        " the same events.", "", "--", f"Sent by Astegni about event {event}.", ""])
    page = received.text("text/html")
    assert f"<li>{lines[0].removeprefix('  - ')}</li>" in page
    assert "<title>Request" in page and "</html>" in page
    calendar = received.part("text/calendar")
    assert calendar.get_filename() == f"request-{request}.ics"
    assert_calendar_matches(conn, calendar.get_content().encode(), session_ids(conn, request))
    # Nothing more is pending: a second run sends nothing.
    assert run_mail(mailer_url, smtp).stdout == ""
    assert len(inbox.received) == 1
    assert cursor(conn) == event


def test_the_parent_who_asked_is_mailed_and_refusals_are_recorded(conn, mailer_url, smtp, inbox):
    f = Factory(conn)
    tutor = f.tutor()
    child_user, child = f.student()
    parent = f.user()
    inbox.refuse.add(email_of(conn, child_user))
    by_parent = f.request(tutor, parent, requester_type="parent", requested_to_id=child,
                          schedule_type="specific_dates", specific_dates=["2099-01-05"])
    no_address_user, _ = f.student()
    conn.execute("UPDATE users SET email = ' ' WHERE id = %s", (no_address_user,))
    undated = f.request(tutor, no_address_user, schedule_type="specific_dates", specific_dates=[],
                        package_id=f.package(tutor))
    run_mail(mailer_url, smtp)
    astegni.accept(conn, by_parent)
    astegni.accept(conn, undated)
    [first], [second] = event_ids(conn, by_parent), event_ids(conn, undated)
    child_address = email_of(conn, child_user)
    assert run_mail(mailer_url, smtp).stdout.splitlines() == [
        f"event {first} (request {by_parent} accepted): sent 1, refused 1:"
        f" {child_address} (550 5.1.1 no such mailbox here)",
        f"event {second} (request {undated} accepted): sent 0, refused 1: user {no_address_user}"
        f" (no address: user {no_address_user} has no email)"]
    [received] = inbox.received
    assert received.rcpt_tos == [email_of(conn, parent)]
    assert received.message["Message-ID"] == f"<astegni-event-{first}-user-{parent}@astegni.example>"
    assert "as the parent who made the request" in received.text()
    expected = [(first, child_user, child_address, "550 5.1.1 no such mailbox here"),
                (second, no_address_user, None, f"no address: user {no_address_user} has no email")]
    assert refusals(conn) == expected
    assert run_mail(mailer_url, smtp).stdout == ""
    assert refusals(conn) == expected


def test_why_not_more_and_every_kind_of_change(conn, mailer_url, smtp, inbox):
    """In-process: an acceptance that made nothing says why (and attaches nothing); a reschedule, time
    off, the end of a series and a cancellation each get their message and the request's calendar."""
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, _ = f.student()
    undated = f.request(tutor, user, schedule_type="specific_dates", specific_dates=[])
    series = f.request(tutor, user, start_time=dt.time(17), end_time=dt.time(18),
                       package_id=f.package(tutor), **MON_WED_FRI)
    server = mail.Smtp.from_url(smtp)
    with psycopg.connect(mailer_url, autocommit=True) as mailer_conn, mail.Mailer(server) as mailer:
        def pending():
            settle(mailer_url)
            return list(mail.deliver(mailer_conn, mailer, sender=SENDER, timeout=0))

        assert pending() == []
        astegni.accept(conn, undated)
        astegni.accept(conn, series)
        today = scalar(conn, "SELECT (now() AT TIME ZONE 'Europe/Berlin')::date")
        astegni.reschedule(conn, series, today + dt.timedelta(days=14), days=["Tue"])
        starts = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), dt.UTC)
        astegni.add_time_off(conn, tutor, starts, starts + dt.timedelta(days=7), "Conference")
        astegni.end_series(conn, series, today + dt.timedelta(days=21), "Exams")
        astegni.cancel(conn, series, reason="Moved <away> & gone")
        deliveries = pending()
        # A series' routine extension is not mailed.
        extended = Notification(id=0, event="extended", request_id=series, tutor_id=tutor, student_id=None,
                                sessions=3, first_starts_at=None, last_starts_at=None)
        assert mail.compose(mailer_conn, extended, sender=SENDER) == ([], [])
    assert [(d.event.event, d.event.request_id, len(d.sent)) for d in deliveries] == [
        ("accepted", undated, 1), ("accepted", series, 1), ("rescheduled", series, 1),
        ("time_off", series, 1), ("ended", series, 1), ("cancelled", series, 1)]
    messages = [r.message for r in inbox.received]
    assert [m["Subject"] for m in messages] == [
        f"Request {undated} accepted: no session", f"Request {series} accepted: 24 sessions",
        f"Request {series}: new days and times",
        f"Request {series}: {deliveries[3].event.sessions} sessions cancelled for time off",
        f"Request {series}: the weekly sessions end", f"Request {series} cancelled"]
    texts = [r.text() for r in inbox.received]
    assert f"Why not more: {NOTES['no_dates']}." in texts[0]
    assert not [p for p in messages[0].walk() if p.get_content_type() == "text/calendar"]
    assert "Sessions cancelled (times in Europe/Berlin):" in texts[3]
    assert "Reason given: Exams" in texts[4]
    assert "Reason given: Moved <away> & gone" in texts[5]
    assert "Reason given: Moved &lt;away&gt; &amp; gone" in inbox.received[5].text("text/html")
    # After the cancellation, the calendar holds every session of the request, as they are now.
    ics = inbox.received[5].part("text/calendar").get_content().encode()
    assert_calendar_matches(conn, ics, session_ids(conn, series))
    assert b"STATUS:CANCELLED" in ics


def test_a_worker_killed_after_the_server_took_a_message_loses_nothing(conn, mailer_url, smtp, inbox):
    """The server holds its answer to the first message until the worker is killed: its cursor has not
    moved, so the restart mails that event again, under the same Message-ID, then the next."""
    f = Factory(conn)
    tutor = f.tutor()
    requests = []
    for hour in (9, 12):
        user, _ = f.student()
        requests.append(f.request(tutor, user, start_time=dt.time(hour), end_time=dt.time(hour + 1),
                                  package_id=f.package(tutor), **MON_WED_FRI))
    run_mail(mailer_url, smtp)
    start = cursor(conn)
    for request in requests:
        astegni.accept(conn, request)
    inbox.hold = True
    worker = subprocess.Popen(
        [sys.executable, "-m", "astegni.cli", "mail", "--smtp", smtp, "--sender", SENDER, "--once"],
        env={**os.environ, "DATABASE_URL": mailer_url}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        inbox.wait_for(1)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)
    inbox.hold = False
    inbox.released.set()
    assert cursor(conn) == start
    run_mail(mailer_url, smtp)
    ids = [r.message["Message-ID"] for r in inbox.received]
    first, second = (event_ids(conn, r)[0] for r in requests)
    users = [scalar(conn, "SELECT requester_id FROM requested_sessions WHERE id = %s", r) for r in requests]
    expected = [f"<astegni-event-{e}-user-{u}@astegni.example>" for e, u in zip((first, second), users,
                                                                                  strict=True)]
    assert ids == [expected[0], *expected]
    assert inbox.received[0].message.get_body().get_content() == (
        inbox.received[1].message.get_body().get_content())
    assert cursor(conn) == second
    assert run_mail(mailer_url, smtp).stdout == ""


def test_the_worker_waits_for_events_until_interrupted(conn, mailer_url, smtp, inbox):
    f = Factory(conn)
    user, _ = f.student()
    request = f.request(f.tutor(), user, **MON_WED_FRI)
    worker = subprocess.Popen(
        [sys.executable, "-m", "astegni.cli", "mail", "--smtp", smtp, "--sender", SENDER],
        env={**os.environ, "DATABASE_URL": mailer_url}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        assert worker.stderr is not None and worker.stdout is not None
        assert "Mailing the events through 127.0.0.1" in worker.stderr.readline()
        astegni.accept(conn, request)
        inbox.wait_for(1)
        # Its line comes once the server's reply has: interrupted before, it would not be printed.
        assert select.select([worker.stdout], [], [], 30)[0], "the worker printed nothing in 30 s"
        line = worker.stdout.readline()
    finally:
        worker.send_signal(signal.SIGINT)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    [event] = event_ids(conn, request)
    assert line + out == f"event {event} (request {request} accepted): sent 1, refused 0\n"
    assert inbox.received[0].rcpt_tos == [email_of(conn, user)]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"astegni", PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers a failure itself


# aiosmtpd cannot tell that a connection is TLS from its first byte: it warns of AUTH without TLS.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_a_login(conn, mailer_url, inbox, certificate, security):
    """The server's certificate is checked (trusted here through SSL_CERT_FILE); the password comes from
    ASTEGNI_SMTP_PASSWORD; a wrong one is one line naming the server's refusal."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    tls = {"ssl_context": context, "auth_require_tls": False} if security == "tls" else {
        "tls_context": context, "require_starttls": True}
    controller = serve(inbox, authenticator=authenticator, auth_required=True, **tls)
    url = f"smtp://127.0.0.1:{controller.port}"
    try:
        f = Factory(conn)
        user, _ = f.student()
        request = f.request(f.tutor(), user, **MON_WED_FRI)
        env = {"SSL_CERT_FILE": str(cert), "ASTEGNI_SMTP_PASSWORD": PASSWORD}
        login = [f"--{security}", "--user", "astegni"]
        run_mail(mailer_url, url, *login, env=env)
        astegni.accept(conn, request)
        wrong = run_mail(mailer_url, url, *login, env={**env, "ASTEGNI_SMTP_PASSWORD": "nope"}, check=False)
        assert wrong.returncode == 1
        assert wrong.stderr.startswith(f"error: cannot use the SMTP server 127.0.0.1:{controller.port}: 535")
        assert "check --user and ASTEGNI_SMTP_PASSWORD" in wrong.stderr
        untrusted = run_mail(mailer_url, url, *login, env={"ASTEGNI_SMTP_PASSWORD": PASSWORD}, check=False)
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
        assert inbox.received == []
        run_mail(mailer_url, url, *login, env=env)
        [received] = inbox.received
        assert received.rcpt_tos == [email_of(conn, user)]
    finally:
        controller.stop()


@pytest.mark.parametrize(("args", "message"), [
    (["--smtp", "http://127.0.0.1:25"], "--smtp 'http://127.0.0.1:25' is not an SMTP URL"),
    (["--smtp", "smtp://127.0.0.1:notaport"], "the port 'notaport' is not a number from 1 to 65535"),
    (["--smtp", "smtp://127.0.0.1:70000"], "the port '70000' is not a number from 1 to 65535"),
    (["--smtp", "smtp://u:p@127.0.0.1:25"], "holds a login"),
    (["--smtp", "smtp://127.0.0.1:25", "--tls", "--starttls"], "at most one of --starttls and --tls"),
    (["--smtp", "smtp://127.0.0.1:25", "--user", "astegni"], "ASTEGNI_SMTP_PASSWORD is not set"),
])
def test_bad_options_are_one_line_naming_what_is_wrong(mailer_url, args, message):
    environment = {k: v for k, v in os.environ.items() if k != "ASTEGNI_SMTP_PASSWORD"}
    result = subprocess.run([sys.executable, "-m", "astegni.cli", "mail", "--sender", SENDER, "--once",
                             *args], capture_output=True, text=True, env={**environment,
                                                                          "DATABASE_URL": mailer_url})
    assert result.returncode != 0
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.stderr


def test_the_smtp_url_and_the_sender():
    assert mail.Smtp.from_url("smtp://mail.example", security="starttls") == mail.Smtp(
        "mail.example", 587, "starttls")
    assert mail.Smtp.from_url("smtp://mail.example:2525").port == 2525
    assert mail.sender_domain("Astegni <noreply@Astegni.Example>") == "astegni.example"
    for sender in ("noreply", "noreply@localhost", "<@astegni.example>"):
        with pytest.raises(NotConfigured, match="is not an email address with a domain"):
            mail.sender_domain(sender)


def test_an_unreachable_server_stops_the_worker_before_its_cursor_moves(conn, mailer_url):
    url = f"smtp://127.0.0.1:{free_port()}"
    with pytest.raises(MailNotSent, match=r"cannot use the SMTP server 127\.0\.0\.1:\d+"):
        mail.Mailer(mail.Smtp.from_url(url)).connect()
    result = run_mail(mailer_url, url, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot use the SMTP server 127.0.0.1")


def test_the_app_login_is_told_the_mailer_role_it_lacks(conn, db_url, logins, smtp, inbox):
    f = Factory(conn)
    user, _ = f.student()
    request = f.request(f.tutor(), user, **MON_WED_FRI)
    app = as_login(db_url, logins["app"])
    run_mail(app, smtp)
    astegni.accept(conn, request)
    result = run_mail(app, smtp, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error 42501: permission denied for table users"), result.stderr
    assert "astegni mail one granted astegni_mailer" in " ".join(result.stderr.split())
    assert inbox.received == []


def test_only_the_mailer_reads_addresses(conn, db_url, logins):
    f = Factory(conn)
    f.student()
    with psycopg.connect(as_login(db_url, logins["app"]), autocommit=True) as app:
        for statement in ("SELECT email FROM users", "SELECT id FROM users",
                          "SELECT * FROM astegni_mail_refusals"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(statement)
    with psycopg.connect(as_login(db_url, logins["mailer"]), autocommit=True) as mailer:
        assert mailer.execute("SELECT count(email) FROM users").fetchone() == (1,)
        for statement in ("SELECT password_hash FROM users", "SELECT first_name FROM users",
                          "SELECT two_factor_secret FROM student_profiles",
                          "UPDATE requested_sessions SET status = 'cancelled'",
                          "INSERT INTO astegni_events (event, request_id, tutor_id, sessions)"
                          " VALUES ('accepted', 1, 1, 0)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                mailer.execute(statement)
    with psycopg.connect(as_login(db_url, logins["admin"]), autocommit=True) as admin:
        assert admin.execute("SELECT count(*) FROM astegni_mail_refusals").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            admin.execute("INSERT INTO astegni_mail_refusals (event_id, reason) VALUES (1, 'x')")

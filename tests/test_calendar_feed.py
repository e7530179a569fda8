"""Calendar feeds over HTTP: links issued by `astegni calendar-link` (run as the admin login), served by
astegni.fastapi.calendar_router on uvicorn with the app login's connection (only a member of
astegni_app), sync and async, fetched with httpx and read back by icalendar and vobject."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

import astegni
from astegni import feeds
from astegni.cli import app as cli_app
from astegni.fastapi import calendar_router, install_exception_handlers
from tests.asgi import serving
from tests.conftest import as_login
from tests.support import BERLIN, ROOT, Factory, assert_calendar_matches, next_year, scalar
from tests.test_cli import assert_one_line_error, cli

# A zone far from UTC: a client's TimeZone must change nothing in a feed.
KIRITIMATI = "Pacific/Kiritimati"


def make_app(kind: str, url: str) -> FastAPI:
    """An app serving the feeds on connections of `url`, each closed after its request (never
    committed by the app: the router ends its own transaction)."""
    app = FastAPI()
    options = f"-c TimeZone={KIRITIMATI}"

    def sync_connection() -> Iterator[psycopg.Connection[Any]]:
        with psycopg.connect(url, options=options) as conn:
            yield conn

    async def async_connection() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with await psycopg.AsyncConnection.connect(url, options=options) as conn:
            yield conn

    app.include_router(calendar_router(connection=sync_connection if kind == "sync" else async_connection))
    install_exception_handlers(app)
    return app


@pytest.fixture(params=["sync", "async"])
def server(request, db_url, logins) -> Iterator[str]:
    """The app's base URL, serving as the app login."""
    with serving(make_app(request.param, as_login(db_url, logins["app"]))) as base:
        yield base


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http


def issue(db_url: str, logins: dict[str, str], base: str, *owner: str) -> str:
    """The https-or-http URL `astegni calendar-link` prints (run as the admin login), checked against
    its webcal:// twin."""
    result = cli("calendar-link", *owner, "--base-url", base, url=as_login(db_url, logins["admin"]))
    webcal, url = result.stdout.split()
    assert webcal == "webcal://" + url.removeprefix("http://")
    assert url.startswith(f"{base}/calendar/") and url.endswith(".ics")
    assert "shown only here" in result.stderr
    return url


def move_back(conn: psycopg.Connection[Any], session: int, days: int) -> None:
    """Moves a session `days` before today, at its time of day (the rule re-times it)."""
    conn.execute("UPDATE sessions SET session_date = (now() AT TIME ZONE t.timezone)::date - %s"
                 " FROM tutor_profiles AS t WHERE t.id = sessions.tutor_id AND sessions.id = %s",
                 (days, session))


def session_ids(conn: psycopg.Connection[Any], *requests: int) -> set[int]:
    return {r[0] for r in conn.execute("SELECT id FROM sessions WHERE request_id = ANY(%s)",
                                       (list(requests),)).fetchall()}


def seed(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """A student with a Berlin series and an Addis Ababa course, two of whose dates are moved into the
    past: 60 days back (in the feed) and 100 days back (before its three months); another student of
    the Berlin tutor; a shared booking whose roster has both students."""
    f = Factory(conn)
    berlin, addis = f.tutor(BERLIN), f.tutor()
    user, student = f.student()
    other_user, other = f.student()
    year = next_year(conn)
    physics = f.request(berlin, user, package_id=f.package(berlin), schedule_type="recurring",
                        days=["Tuesday"], start_time=dt.time(18), end_time=dt.time(19, 30),
                        message="Mechanics")
    maths = f.request(addis, user, schedule_type="specific_dates",
                      specific_dates=[f"{year}-01-05", f"{year}-01-12", f"{year}-01-19"])
    optics = f.request(berlin, other_user, package_id=f.package(berlin), schedule_type="recurring",
                       days=["Friday"])
    shared = f.request(addis, other_user, schedule_type="specific_dates",
                       specific_dates=[f"{year}-02-02"], start_time=dt.time(14), end_time=dt.time(15))
    conn.execute("INSERT INTO requested_session_students (requested_session_id, student_profile_id)"
                 " VALUES (%s, %s), (%s, %s)", (shared, other, shared, student))
    for request in (physics, maths, optics, shared):
        astegni.accept(conn, request)
    recent, old, _ = sorted(session_ids(conn, maths))
    move_back(conn, recent, 60)
    move_back(conn, old, 100)
    conn.execute("UPDATE sessions SET topics = '[\"Fractions\"]' WHERE request_id = %s", (maths,))
    return {"berlin": berlin, "addis": addis, "student": student, "other": other, "physics": physics,
            "maths": maths, "optics": optics, "shared": shared, "old": old}


def test_a_students_feed_with_its_validators(conn, db_url, logins, server, client):
    s = seed(conn)
    url = issue(db_url, logins, server, "--student", str(s["student"]))
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["content-type"] == "text/calendar; charset=utf-8"
    assert first.headers["cache-control"] == "private, no-cache"
    # Theirs alone (not the other student's series), from three months back (not the 100-day-old one).
    expected = session_ids(conn, s["physics"], s["maths"], s["shared"]) - {s["old"]}
    assert_calendar_matches(conn, first.content, expected)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in first.content
    assert b"STATUS:CANCELLED" not in first.content
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"') and not etag.startswith('W/')

    for validator in ({"If-None-Match": etag}, {"If-None-Match": f'"other", W/{etag}'},
                      {"If-Modified-Since": modified}):
        again = client.get(url, headers=validator)
        assert (again.status_code, again.content) == (304, b""), validator
        assert (again.headers["etag"], again.headers["last-modified"]) == (etag, modified)
    earlier = email.utils.format_datetime(
        email.utils.parsedate_to_datetime(modified) - dt.timedelta(seconds=1), usegmt=True)
    assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match decides when both are given (RFC 9110): another tag is a full answer.
    assert client.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": modified}
                      ).status_code == 200

    cancelled = astegni.cancel(conn, s["physics"]).sessions_cancelled
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.content.count(b"STATUS:CANCELLED") == cancelled > 0
    assert_calendar_matches(conn, changed.content, expected)
    assert changed.headers["etag"] != etag
    assert (email.utils.parsedate_to_datetime(changed.headers["last-modified"])
            > email.utils.parsedate_to_datetime(modified))
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": changed.headers["last-modified"]}
                      ).status_code == 304

    # A session deleted by hand changes no row's updated_at; the feed's validators move all the same.
    conn.execute("DELETE FROM sessions WHERE id = %s", (min(expected),))
    gone = client.get(url, headers={"If-Modified-Since": changed.headers["last-modified"]})
    assert gone.status_code == 200
    assert_calendar_matches(conn, gone.content, expected - {min(expected)})


def test_parent_and_tutor_feeds(conn, db_url, logins, server, client):
    s = seed(conn)
    f = Factory(conn)
    parent = scalar(conn, "INSERT INTO parent_profiles (user_id, children_ids) VALUES (%s, %s) RETURNING id",
                    f.user(), [s["student"], s["other"]])
    childless = scalar(conn, "INSERT INTO parent_profiles (user_id) VALUES (%s) RETURNING id", f.user())
    everything = session_ids(conn, s["physics"], s["maths"], s["optics"], s["shared"]) - {s["old"]}
    feeds_of = {
        ("--parent", parent): everything,
        ("--parent", childless): set(),
        ("--tutor", s["berlin"]): session_ids(conn, s["physics"], s["optics"]),
        ("--tutor", s["addis"]): session_ids(conn, s["maths"], s["shared"]) - {s["old"]},
        ("--student", s["other"]): session_ids(conn, s["optics"], s["shared"]),
    }
    for (option, owner), expected in feeds_of.items():
        if owner in (parent, s["berlin"]):  # from the command line
            url = issue(db_url, logins, server, option, str(owner))
        else:
            url = feeds.issue_calendar_link(conn, option.removeprefix("--"), owner).urls(server)[1]
        answer = client.get(url)
        assert answer.status_code == 200
        assert_calendar_matches(conn, answer.content, expected)


def test_revoked_and_unknown_tokens_answer_as_never_issued(conn, db_url, logins, server, client):
    s = seed(conn)
    url = issue(db_url, logins, server, "--student", str(s["student"]))
    second = feeds.issue_calendar_link(conn, "student", s["student"]).urls(server)[1]
    kept = feeds.issue_calendar_link(conn, "student", s["other"]).urls(server)[1]
    assert client.get(url).status_code == client.get(second).status_code == 200

    revoked = cli("calendar-link", "--student", str(s["student"]), "--revoke",
                  url=as_login(db_url, logins["admin"]))
    assert revoked.stdout.strip() == f"Revoked 2 calendar links of student {s['student']}"

    def answer(target: str) -> tuple[int, bytes, dict[str, str]]:
        response = client.get(target)
        return response.status_code, response.content, {
            k: v for k, v in response.headers.items() if k != "date"}

    never = answer(f"{server}/calendar/{secrets.token_urlsafe(32)}.ics")
    assert never[0] == 404
    for target in (url, second, f"{server}/calendar/short.ics", f"{server}/calendar/{'x' * 500}.ics",
                   f"{server}/no/such/path"):
        assert answer(target) == never, target
    assert client.get(kept).status_code == 200  # another owner's link stays live


def test_the_app_login_serves_feeds_but_never_reads_links(conn, db_url, logins):
    s = seed(conn)
    link = feeds.issue_calendar_link(conn, "student", s["student"])
    with psycopg.connect(as_login(db_url, logins["app"]), autocommit=True) as app:
        served = feeds.calendar_feed(app, link.token)
        assert served is not None and {row.id for row in served.sessions} >= session_ids(conn, s["physics"])
        for statement in ("SELECT * FROM astegni_calendar_links",
                          "UPDATE astegni_calendar_links SET revoked_at = NULL",
                          "SELECT astegni_revoke_calendar_links('student', 1)",
                          "SELECT * FROM astegni_calendar_link('student', 1, sha256('x'))"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(statement)
    with psycopg.connect(as_login(db_url, logins["admin"]), autocommit=True) as admin:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            admin.execute("SELECT token_hash FROM astegni_calendar_links")
        assert feeds.revoke_calendar_links(admin, "student", s["student"]) == 1
    stored = conn.execute("SELECT token_hash FROM astegni_calendar_links").fetchall()
    assert stored == [(feeds.token_hash(link.token),)]  # the token itself is nowhere in the database


def test_a_feed_does_not_depend_on_the_clients_time_zone(conn, db_url):
    s = seed(conn)
    link = feeds.issue_calendar_link(conn, "student", s["student"])
    bodies = set()
    for zone in ("UTC", KIRITIMATI, "America/Adak"):
        with psycopg.connect(db_url, options=f"-c TimeZone={zone}", autocommit=True) as other:
            served = feeds.calendar_feed(other, link.token)
            assert served is not None
            bodies.add(served.body())
    assert len(bodies) == 1


@pytest.mark.asyncio
async def test_the_async_api_issues_serves_and_revokes(conn, db_url):
    s = seed(conn)
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as aconn:
        link = await astegni.aio.issue_calendar_link(aconn, "tutor", s["berlin"])
        served = await astegni.aio.calendar_feed(aconn, link.token)
        assert served == feeds.calendar_feed(conn, link.token)
        assert served is not None and {r.id for r in served.sessions} == session_ids(
            conn, s["physics"], s["optics"])
        assert await astegni.aio.calendar_changed(aconn, link.token, '"x"') is not None
        assert await astegni.aio.revoke_calendar_links(aconn, "tutor", s["berlin"]) == 1
        assert await astegni.aio.calendar_feed(aconn, link.token) is None
        assert await astegni.aio.calendar_changed(aconn, link.token, '"y"') is None


def test_calendar_link_refuses_bad_input(conn, db_url, logins):
    student = Factory(conn).student()[1]
    base = ("--base-url", "https://astegni.example")
    # Usage errors, before any connection (in-process: typer's own answer).
    for args, fragment in [
        ((*base,), "give exactly one of --student, --parent and --tutor"),
        (("--student", str(student), "--tutor", "1", *base), "give exactly one"),
        (("--student", str(student)), "ASTEGNI_BASE_URL"),
        (("--student", str(student), "--base-url", "astegni.example"), "is not an http:// or https://"),
    ]:
        result = CliRunner().invoke(cli_app, ["--database-url", db_url, "calendar-link", *args],
                                    env={"COLUMNS": "200", "ASTEGNI_BASE_URL": ""})
        assert result.exit_code == 2, (args, result.output)
        assert fragment in " ".join(result.output.replace("│", " ").split()), (args, result.output)
    for args, fragment in [
        (("--student", str(student + 1), *base), f"error AS020: student {student + 1} does not exist"),
        (("--parent", "999", "--revoke"), "error AS020: parent 999 does not exist"),
    ]:
        assert_one_line_error(cli("calendar-link", *args, url=db_url, check=False), fragment)
    # What docs/calendar.md shows the command printing, but for the token.
    shown = (ROOT / "docs" / "calendar.md").read_text().split("```text\n", 1)[1].split("```", 1)[0]
    printed = CliRunner().invoke(cli_app, ["--database-url", db_url, "calendar-link", "--student",
                                           str(student), *base])
    assert printed.exit_code == 0, printed.output
    token = feeds.TOKEN.search(printed.stdout)
    assert token is not None and printed.stdout.replace(token.group(), "<token>") == shown
    # The app's login serves feeds but issues none.
    assert_one_line_error(cli("calendar-link", "--student", str(student), *base, check=False,
                              url=as_login(db_url, logins["app"])),
                          "error 42501", "astegni calendar-link a role granted astegni_admin")
    revoked = cli("calendar-link", "--student", str(student), "--revoke", url=db_url).stdout.strip()
    assert revoked == f"Revoked 1 calendar links of student {student}"
    assert cli("calendar-link", "--student", str(student), "--revoke", url=db_url).stdout.strip() == (
        f"Revoked 0 calendar links of student {student}")
    assert scalar(conn, "SELECT count(*) FROM astegni_calendar_links WHERE revoked_at IS NULL") == 0


def test_the_feed_query_scans_no_table(conn):
    """Every statement of astegni_calendar_feed, for each kind of feed, reaches each table by a key
    (an equality in its index condition) with sequential scans priced out (auto_explain of its nested
    statements): no Seq Scan, no index read whole or by a range in its place."""
    s = seed(conn)
    f = Factory(conn)
    parent = scalar(conn, "INSERT INTO parent_profiles (user_id, children_ids) VALUES (%s, %s) RETURNING id",
                    f.user(), [s["student"]])
    # Other students' requests, each with its roster, and links, and statistics: the planner weighs
    # real choices.
    conn.execute("""
        WITH u AS (INSERT INTO users (email, password_hash)
                   SELECT gen_random_uuid() || '@example.test', 'x' FROM generate_series(1, 500)
                   RETURNING id),
        student AS (INSERT INTO student_profiles (user_id) SELECT u.id FROM u RETURNING id, user_id),
        link AS (INSERT INTO astegni_calendar_links (owner_kind, owner_id, token_hash)
                 SELECT 'student', student.id, sha256(convert_to(gen_random_uuid()::text, 'UTF8'))
                 FROM student),
        request AS (INSERT INTO requested_sessions (tutor_id, requester_id, requester_type, package_id)
                    SELECT %(tutor)s, student.user_id, 'student', %(package)s FROM student
                    RETURNING id, requester_id)
        INSERT INTO requested_session_students (requested_session_id, student_profile_id)
        SELECT request.id, student.id FROM request JOIN student ON student.user_id = request.requester_id
        """, {"tutor": s["berlin"], "package": f.package(s["berlin"])})
    busy = f.tutor()
    user, _ = f.student()
    course = astegni.accept(conn, f.request(busy, user)).enrolled_course_id  # no schedule: no session
    conn.execute("INSERT INTO sessions (enrolled_courses_id, session_date, start_time, end_time)"
                 " SELECT %s, current_date + day, '10:00', '11:00' FROM generate_series(-1500, 1500) AS day",
                 (course,))
    conn.execute("ANALYZE")
    plans: list[dict[str, Any]] = []

    def logged(notice: psycopg.errors.Diagnostic) -> None:
        text = notice.message_primary or ""
        if text.startswith("duration:"):  # "duration: ... ms  plan:" and the plan, as JSON
            plans.append(json.loads(text.split("\n", 1)[1])["Plan"])

    conn.add_notice_handler(logged)
    conn.execute("LOAD 'auto_explain'")
    for setting in ("auto_explain.log_min_duration = 0", "auto_explain.log_nested_statements = on",
                    "auto_explain.log_format = json", "auto_explain.log_level = notice",
                    "enable_seqscan = off"):
        conn.execute(f"SET {setting}")
    for kind, owner in (("student", s["student"]), ("parent", parent), ("tutor", s["berlin"])):
        token = feeds.issue_calendar_link(conn, kind, owner).token
        plans.clear()
        served = feeds.calendar_feed(conn, token)
        assert served is not None and served.sessions
        scans = [node for plan in plans for node in _nodes(plan)
                 if node["Node Type"] in ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Index Scan")]
        assert scans, plans
        for node in scans:
            assert re.search(r"[^<>!]= ", node.get("Index Cond", "")), (kind, json.dumps(node))
        used = {node["Index Name"] for node in scans}
        assert "astegni_calendar_links_token_hash_key" in used
        wanted = {"sessions_tutor_starts_at"} if kind == "tutor" else {
            "sessions_request_date_key", "idx_requested_sessions_requested_to",
            "requested_sessions_requester_idx", "requested_session_students_student_idx"}
        assert wanted <= used, (kind, used)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)

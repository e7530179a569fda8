"""Every ```sql block of docs/psql.md, run in order with the psql program against a seeded database.

A block names itself (`-- recipe: name`); `-- expect: AS005` marks a refusal shown on purpose. After
each block, its check (below) compares psql's output and the database with what the guide says.
"""

import datetime as dt
import re
import shutil
import subprocess

import pytest

import astegni
from tests.support import ROOT, Factory, next_year, scalar

GUIDE = ROOT / "docs" / "psql.md"
BLOCK = re.compile(r"```sql\n(.*?)```", re.S)


def blocks():
    """(recipe, expected SQLSTATE or None, sql) of every sql block, in order."""
    found = []
    for text in BLOCK.findall(GUIDE.read_text()):
        recipe = re.search(r"^-- recipe: (\S+)$", text, re.M)
        expect = re.search(r"^-- expect: (AS\d{3})$", text, re.M)
        assert recipe, f"a sql block without '-- recipe:' in {GUIDE}:\n{text}"
        found.append((recipe.group(1), expect.group(1) if expect else None, text))
    return found


def seed(conn):
    """The guide's database: requests 1 to 8, pending, as the guide describes them."""
    f = Factory(conn)
    berlin, addis, third = f.tutor("Europe/Berlin"), f.tutor("Africa/Addis_Ababa"), f.tutor()
    algebra, chemistry, addis_package = f.package(berlin), f.package(berlin), f.package(addis)
    students = [f.student()[0] for _ in range(6)]
    parent = f.user()
    year = next_year(conn)
    recurring = {"schedule_type": "recurring"}
    ids = [
        f.request(berlin, students[0], package_id=algebra, days=["Monday", "Wednesday"],
                  start_time=dt.time(17), end_time=dt.time(18), message="Algebra", **recurring),
        f.request(addis, students[1], package_id=addis_package, schedule_type="specific_dates",
                  specific_dates=[f"{year}-01-05", f"{year}-01-12"], start_time=dt.time(9),
                  end_time=dt.time(10, 30)),
        f.request(addis, students[2], package_id=addis_package, days=["Tuesday", "Thursday"],
                  start_time=dt.time(14), end_time=dt.time(15), **recurring),
        f.request(berlin, students[3], package_id=algebra, days=["Monday", "Funday"],
                  start_time=dt.time(8), end_time=dt.time(9), **recurring),
        f.request(berlin, students[4], package_id=chemistry, days=["Monday"],
                  start_time=dt.time(17, 30), end_time=dt.time(18, 30), **recurring),
        f.request(berlin, students[5], package_id=algebra, schedule_type="specific_dates",
                  specific_dates=[f"{year}-02-01"]),
        f.request(third, parent, requester_type="parent", schedule_type="specific_dates",
                  specific_dates=[f"{year}-03-01"]),
        f.request(third, students[0], days=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                  year_range=[year, year + 1], **recurring),
    ]
    assert ids == list(range(1, 9)), "the guide names requests 1 to 8"


def rows(n):
    return f"({n} row)" if n == 1 else f"({n} rows)"


def status(conn, request):
    return scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", request)


def sessions(conn, request, session_status="scheduled"):
    return scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND status = %s",
                  request, session_status)


class Checks:
    """What the guide promises after each recipe; `before` runs before it, for facts it changes."""

    def __init__(self, conn):
        self.conn = conn
        self.facts = {}

    def before_preview(self):
        self.facts["preview"] = len(astegni.preview(self.conn, 1))

    def after_preview(self, out):
        assert rows(self.facts["preview"]) in out
        assert self.facts["preview"] == 16  # 8 weeks x Monday, Wednesday
        assert scalar(self.conn, "SELECT count(*) FROM sessions") == 0

    def after_accept_one(self, out):
        assert (status(self.conn, 1), sessions(self.conn, 1)) == ("accepted", 16)

    def after_acceptance_notes(self, out):
        assert rows(1) in out
        assert re.search(r"1 \|\s+16 \|\s+1 \|\s*$", out, re.M)  # made in full: no note

    def after_accept_many(self, out):
        assert "UPDATE 2" in out
        assert [status(self.conn, r) for r in (2, 3)] == ["accepted", "accepted"]
        assert (sessions(self.conn, 2), sessions(self.conn, 3)) == (2, 16)

    def after_reject(self, out):
        assert self.conn.execute("SELECT status, rejected_reason FROM requested_sessions"
                                 " WHERE id = 6").fetchone() == ("rejected", "Fully booked this term")

    def after_cancel(self, out):
        assert status(self.conn, 2) == "cancelled"
        assert (sessions(self.conn, 2), sessions(self.conn, 2, "cancelled")) == (0, 2)

    def after_events(self, out):
        # Request 1 accepted alone, 2 and 3 in one statement, 2 cancelled: one row each.
        assert rows(4) in out
        assert re.search(r"\| cancelled \|\s+2 \|\s+2 \|", out)

    def before_tutor_week(self):
        self.facts["week"] = scalar(
            self.conn, "SELECT count(*) FROM sessions WHERE tutor_id = 1"
            " AND (starts_at AT TIME ZONE 'Europe/Berlin')::date - (now() AT TIME ZONE"
            " 'Europe/Berlin')::date BETWEEN 0 AND 6")

    def after_tutor_week(self, out):
        assert self.facts["week"] >= 1
        assert rows(self.facts["week"]) in out

    def before_find_clashes(self):
        self.facts["clashes"] = sum(p.clash_session_id is not None
                                    for p in astegni.preview(self.conn, 5))

    def after_find_clashes(self, out):
        assert self.facts["clashes"] >= 7  # the Mondays of request 1, which came first
        assert rows(self.facts["clashes"]) in out

    def after_clash_refused(self, out):
        assert (status(self.conn, 5), sessions(self.conn, 5)) == ("pending", 0)

    def after_clash_skip(self, out):
        assert status(self.conn, 5) == "accepted"
        skipped = scalar(self.conn, "SELECT count(*) FROM skipped_occurrences WHERE request_id = 5"
                                    " AND reason = 'conflict'")
        assert skipped == self.facts["clashes"]

    def after_skipped_clashes(self, out):
        assert rows(self.facts["clashes"]) in out

    def after_malformed(self, out):
        assert status(self.conn, 4) == "pending"

    def after_schedule_problem(self, out):
        assert rows(1) in out
        assert re.search(r"4 \| days\s+\| Funday\s+\| is not a weekday", out)

    def after_fix_and_accept(self, out):
        assert (status(self.conn, 4), sessions(self.conn, 4)) == ("accepted", 16)

    def after_series(self, out):
        assert rows(4) in out  # requests 1, 3, 4 and 5: the recurring ones accepted
        # series_grown | sessions_made | batches: right after acceptance, nothing due
        assert re.search(r"^\s+0 \|\s+0 \|\s+1$", out, re.M)
        assert scalar(self.conn, "SELECT count(*) FROM astegni_extensions") == 2  # the batch, the last row

    def before_time_off(self):
        self.facts["away"] = scalar(
            self.conn, "SELECT count(*) FROM sessions WHERE tutor_id = 1 AND status = 'scheduled'"
            " AND tstzrange(starts_at, ends_at) && tstzrange(now() + interval '14 days',"
            " now() + interval '21 days')")

    def after_time_off(self, out):
        cancelled = scalar(self.conn, "SELECT count(*) FROM sessions WHERE tutor_id = 1"
                                      " AND status = 'cancelled' AND cancelled_reason = 'time_off'")
        assert cancelled == self.facts["away"] >= 2  # request 1's Monday and Wednesday at least
        assert rows(cancelled) in out

    def after_time_off_removed(self, out):
        assert re.search(rf"^\s+\d+ \|\s+{self.facts['away']} \|\s+1$", out, re.M)
        assert scalar(self.conn, "SELECT count(*) FROM sessions WHERE cancelled_reason = 'time_off'"
                                 " OR status = 'cancelled' AND tutor_id = 1") == 0
        assert sessions(self.conn, 1) == 16

    def before_reschedule_preview(self):
        self.facts["request 1"] = self.conn.execute(
            "SELECT id, starts_at, status FROM sessions WHERE request_id = 1 ORDER BY id").fetchall()

    def after_reschedule_preview(self, out):
        outcomes = set(re.findall(r"\| (\w+)\s+\|", out)) - {"outcome"}  # the header's
        assert {"keep", "move", "create", "cancel"} >= outcomes >= {"create", "cancel"}
        assert self.conn.execute("SELECT id, starts_at, status FROM sessions WHERE request_id = 1"
                                 " ORDER BY id").fetchall() == self.facts["request 1"]

    def after_reschedule(self, out):
        assert scalar(self.conn, "SELECT days FROM requested_sessions WHERE id = 1") == [
            "Tuesday", "Thursday"]
        made = self.conn.execute(
            "SELECT extract(isodow FROM session_date)::int, start_time,"
            " session_date >= (now() AT TIME ZONE 'Europe/Berlin')::date + 7"
            " FROM sessions WHERE request_id = 1 AND status = 'scheduled'").fetchall()
        assert {(day, start) for day, start, later in made if later} == {
            (2, dt.time(18)), (4, dt.time(18))}
        assert {(day, start) for day, start, later in made if not later} <= {
            (1, dt.time(17)), (3, dt.time(17))}
        assert rows(2) in out  # the patterns: the first one and the new one

    def after_end_series(self, out):
        last = scalar(self.conn, "SELECT last_date FROM series WHERE request_id = 3")
        cancelled = scalar(self.conn, "SELECT count(*) FROM sessions WHERE request_id = 3"
                                      " AND cancelled_reason = 'series_ended'")
        assert cancelled > 0 and re.search(rf"^\s+{cancelled}$", out, re.M)
        assert scalar(self.conn, "SELECT max(session_date) FROM sessions WHERE request_id = 3"
                                 " AND status = 'scheduled'") <= last

    def after_error_series_ended(self, out):
        assert scalar(self.conn, "SELECT last_date - (now() AT TIME ZONE 'Africa/Addis_Ababa')::date"
                                 " FROM series WHERE request_id = 3") == 20

    def after_error_settings(self, out):
        assert scalar(self.conn, "SELECT weeks_horizon FROM schedule_settings") == 8

    def after_error_time_zone(self, out):
        assert scalar(self.conn, "SELECT timezone FROM tutor_profiles WHERE id = 1") == "Europe/Berlin"

    def after_settings(self, out):
        assert re.search(r"\s8 \|\s+200 \|\s+480\s", out)


@pytest.mark.skipif(shutil.which("psql") is None, reason="needs the psql program")
def test_every_recipe_of_the_guide(conn, db_url):
    seed(conn)
    checks = Checks(conn)
    recipes = blocks()
    names = [name for name, _, _ in recipes]
    assert len(set(names)) == len(names)
    checked = {m.split("_", 1)[1] for m in dir(Checks) if m.startswith(("before_", "after_"))}
    assert checked <= {n.replace("-", "_") for n in names}, "a check whose recipe is gone"
    for name, expect, text in recipes:
        key = name.replace("-", "_")
        if before := getattr(checks, f"before_{key}", None):
            before()
        result = subprocess.run(
            ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", "-d", db_url],
            input=text, capture_output=True, text=True, timeout=120)
        if expect:
            assert result.returncode == 3, f"{name}: expected {expect}, got\n{result.stdout}"
            assert f"ERROR:  {expect}:" in result.stderr, f"{name}: {result.stderr}"
        else:
            assert result.returncode == 0, f"{name}: {result.stderr}"
            assert "ERROR" not in result.stderr, f"{name}: {result.stderr}"
        if after := getattr(checks, f"after_{key}", None):
            after(result.stdout)

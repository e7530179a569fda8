"""sessions_tutor_starts_at: revision 0005 builds it or adopts one built ahead, and every listing the
project sends or documents reads sessions through an index, never the whole table."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

import astegni.ical
from astegni.cli import app
from astegni.migrations import downgrade
from astegni.migrations import upgrade as migrate
from tests.support import ADOPTING, ROOT, Factory, doc_block, held_open, scalar, waiting
from tests.test_psql_guide import seed

INDEX = "sessions_tutor_starts_at"
DEFINITION = f"CREATE INDEX {INDEX} ON public.sessions USING btree (tutor_id, starts_at)"
GUIDE = ROOT / "docs" / "psql.md"
DAILY = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def index_state(conn: psycopg.Connection[Any]) -> tuple[str, bool, int] | None:
    """The index's definition, whether it is valid, and its oid (None: no such index)."""
    row = conn.execute("SELECT pg_get_indexdef(indexrelid), indisvalid, indexrelid::int FROM pg_index"
                       " WHERE indexrelid = to_regclass(%s)", [f"public.{INDEX}"]).fetchone()
    return None if row is None else (row[0], row[1], row[2])


@pytest.fixture
def at_0004(db_url):
    downgrade(db_url, "0004")
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert index_state(conn) is None
        yield db_url, conn


def test_upgrade_builds_it_and_downgrade_drops_it(at_0004):
    url, conn = at_0004
    migrate(url)
    assert index_state(conn)[:2] == (DEFINITION, True)
    downgrade(url, "0004")
    assert index_state(conn) is None


def test_one_built_ahead_concurrently_as_adopting_md_says_is_adopted(at_0004):
    url, conn = at_0004
    conn.execute(doc_block(ADOPTING, "sql", f"-- {INDEX}, built ahead of revision 0005 (outside a"
                                            " transaction, while the app runs)"))
    built = index_state(conn)
    migrate(url)
    assert index_state(conn) == built  # the same index, not built again


def test_one_of_that_name_and_another_definition_stops_the_upgrade(at_0004):
    url, conn = at_0004
    conn.execute(f"CREATE INDEX {INDEX} ON public.sessions (starts_at)")
    with pytest.raises(Exception, match=rf"public\.{INDEX} exists but is not the index revision 0005"
                                        r" makes: .*\(starts_at\)"):
        migrate(url)
    assert scalar(conn, "SELECT version_num FROM astegni_alembic_version") == "0004"


def test_an_invalid_one_stops_the_upgrade(at_0004):
    url, conn = at_0004
    # A concurrent build cancelled while it waits out an older snapshot leaves its index INVALID.
    with psycopg.connect(url) as holder:
        holder.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        holder.execute("SELECT 1")  # a transaction open, holding its snapshot
        conn.execute("SET statement_timeout = '500ms'")
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(f"CREATE INDEX CONCURRENTLY {INDEX} ON public.sessions (tutor_id, starts_at)")
        conn.execute("RESET statement_timeout")
    assert index_state(conn)[:2] == (DEFINITION, False)
    with pytest.raises(Exception, match=rf"index public\.{INDEX} is INVALID"):
        migrate(url)


# --- every listing reads sessions through an index -------------------------------------------------

def sessions_scans(plan: Any) -> list[dict[str, Any]]:
    """Every plan node of EXPLAIN (FORMAT JSON) that reads the sessions table."""
    if isinstance(plan, list):
        return [node for item in plan for node in sessions_scans(item)]
    if not isinstance(plan, dict):
        return []
    found = [plan] if plan.get("Relation Name") == "sessions" else []
    for key in ("Plan", "Plans"):
        if key in plan:
            found += sessions_scans(plan[key])
    return found


def assert_indexed(conn: psycopg.Connection[Any], query: str, params: Any = None, *,
                   index: str | None = None) -> None:
    """The query reads sessions only by an index condition (with index: that index's)."""
    [[plan]] = conn.execute(f"EXPLAIN (FORMAT JSON) {query}", params).fetchall()
    scans = sessions_scans(plan)
    assert scans, f"the plan reads no sessions:\n{plan}"
    for scan in scans:
        assert scan["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), plan
        if scan["Node Type"] == "Bitmap Heap Scan":
            scan = scan["Plans"][0]
        assert "Index Cond" in scan, f"a whole index read:\n{plan}"
        if index is not None:
            assert scan["Index Name"] == index, plan


@pytest.fixture
def busy(conn):
    """The psql guide's database, two of its requests accepted, beside 40 tutors with five daily series
    each (about 11,000 sessions), analysed; sequential scans off, so that a plan reading the table
    whole shows as one reading an index whole."""
    seed(conn)
    f = Factory(conn)
    for _ in range(40):
        tutor = f.tutor()
        for hour in range(8, 13):
            f.request(tutor, f.student()[0], schedule_type="recurring", days=DAILY,
                      start_time=dt.time(hour), end_time=dt.time(hour, 45))
    conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id IN (1, 3) OR tutor_id > 3")
    assert scalar(conn, "SELECT count(*) FROM sessions") > 10_000
    conn.execute("ANALYZE")
    conn.execute("SET enable_seqscan = off")
    return conn


@pytest.fixture
def sent(monkeypatch):
    """The statements astegni.ical sends, with their parameters, as the commands run in this process."""
    statements: list[tuple[str, dict[str, Any]]] = []
    real = astegni.ical.fetch

    def recording(conn: Any, query: str, params: dict[str, Any]) -> Any:
        statements.append((query, params))
        return real(conn, query, params)

    monkeypatch.setattr(astegni.ical, "fetch", recording)
    return statements


@pytest.mark.parametrize(("command", "index"), [
    (["sessions", "--tutor", "1", "--from", "2027-03-01", "--to", "2027-03-07"], INDEX),
    (["sessions", "--tutor", "1"], INDEX),
    (["sessions", "--student", "1"], None),
    (["ical", "--student", "1"], None),
    (["ical", "--course", "1"], None),
], ids=lambda value: " ".join(value) if isinstance(value, list) else str(value))
def test_each_command_reads_sessions_by_an_index(busy, db_url, sent, command, index):
    result = CliRunner().invoke(app, [*command, "--database-url", db_url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [(query, params)] = sent
    assert_indexed(busy, query, params, index=index)


def test_a_tutors_listing_by_time_reads_the_index(busy):
    params = {"tutor_id": 1, "student_id": None, "course_id": None, "request_id": None,
              "start": "2027-03-01T00:00+01", "end": "2027-03-08T00:00+01"}
    assert_indexed(busy, astegni.ical.queries.SESSIONS, params, index=INDEX)


def guide_statements() -> list[str]:
    """Every SELECT of docs/psql.md's recipes that reads sessions, as the guide writes it."""
    found = []
    for recipe in re.findall(r"^-- recipe: (\S+)$", GUIDE.read_text(), re.M):
        block = doc_block(GUIDE, "sql", f"-- recipe: {recipe}")
        for statement in block.split(";\n"):
            text = "\n".join(line for line in statement.splitlines() if not line.startswith("-- "))
            if re.match(r"\s*(SELECT|WITH)\b", text) and re.search(r"\b(FROM|JOIN) sessions\b", text):
                found.append(text)
    return found


def test_the_guides_listings_read_sessions_by_an_index(busy):
    statements = guide_statements()
    week = [s for s in statements if "tutor.today + 7" in s]
    assert len(week) == 1, "the guide's tutor-week recipe"
    assert_indexed(busy, week[0], index=INDEX)
    for statement in statements:
        assert_indexed(busy, statement)


def test_a_plain_build_holds_writes_off_and_a_concurrent_one_does_not(at_0004):
    """What docs/adopting.md says of building it on a live table: a plain CREATE INDEX makes every write
    to sessions wait until it commits; CREATE INDEX CONCURRENTLY, even while it waits out an older
    transaction, lets them through."""
    url, conn = at_0004
    write = "UPDATE sessions SET topics = topics WHERE id = -1"
    plain = held_open(url, lambda a: a.execute(f"CREATE INDEX {INDEX} ON public.sessions"
                                               " (tutor_id, starts_at)"), lambda b: b.execute(write))
    assert plain is None
    conn.execute(f"DROP INDEX {INDEX}")
    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as builder:
        holder.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        holder.execute("SELECT 1")  # an older transaction the concurrent build must wait out
        build = threading.Thread(target=builder.execute, args=(
            f"CREATE INDEX CONCURRENTLY {INDEX} ON public.sessions (tutor_id, starts_at)",))
        build.start()
        while not waiting(conn, builder.info.backend_pid):
            time.sleep(0.01)
        conn.execute("SET lock_timeout = '1s'")
        conn.execute(write)  # not held off
        holder.commit()
        build.join(30)
    assert index_state(conn)[:2] == (DEFINITION, True)

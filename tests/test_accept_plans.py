"""An acceptance reads its tutor, the tutor's package and the tutor's lock by key: in a database of many
tutors, accepting one request reads none of those tables whole (the generic plans of the rule's
statements, which guess ten requests, must not hash every row for one)."""

from __future__ import annotations

from typing import Any

import psycopg

import astegni
from tests.support import Factory

TUTORS = 2000  # the mixed load's; with the old plans, where hashing them all still looked cheaper
PROBED = ("tutor_profiles", "tutor_packages", "astegni_tutor_locks")


def seq_scans(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Sequential scans of the probed tables not yet reported (this transaction's, and maybe earlier
    ones' of this session: compare two readings of one transaction)."""
    rows = conn.execute("SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE relname = ANY (%s)",
                        [list(PROBED)]).fetchall()
    return {name: count for name, count in rows}


def test_accepting_one_request_reads_tutors_packages_and_locks_by_key(conn):
    f = Factory(conn)
    requests = [f.request(tutor, f.student(), package_id=f.package(tutor), schedule_type="recurring",
                          days=["Monday", "Wednesday", "Friday"]) for tutor in (f.tutor() for _ in range(8))]
    conn.execute("""
        WITH u AS (INSERT INTO users (email, password_hash)
                   SELECT gen_random_uuid() || '@example.test', 'x' FROM generate_series(1, %s) RETURNING id),
             t AS (INSERT INTO tutor_profiles (user_id) SELECT u.id FROM u RETURNING id),
             p AS (INSERT INTO tutor_packages (tutor_id, name, hourly_rate, course_ids)
                   SELECT t.id, 'Mathematics', 25, '{1,2}' FROM t)
        INSERT INTO astegni_tutor_locks (tutor_id) SELECT t.id FROM t""", [TUTORS])
    conn.execute("ANALYZE tutor_profiles, tutor_packages, astegni_tutor_locks")
    # Past the five custom plans PL/pgSQL tries before it settles on a generic one.
    for request in requests[:-1]:
        astegni.accept(conn, request)
    with conn.transaction():
        before = seq_scans(conn)
        accepted = astegni.accept(conn, requests[-1])
        assert accepted.sessions_created == 24
        after = seq_scans(conn)
    assert {name: after.get(name, 0) - before.get(name, 0) for name in PROBED} == dict.fromkeys(PROBED, 0)

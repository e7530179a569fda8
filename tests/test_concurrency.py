"""Concurrency: many connections accepting at once never double, lose or deadlock anything.

Each client is a thread with its own autocommit connection, using astegni.accept: the layer retries
a deadlock or serialization failure itself (PostgreSQL says a retry is safe there), so one that
escapes as RetryableConflict fails the test like any other unexpected error.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

import astegni
from astegni.errors import AlreadyResponded
from tests.reference import Plan, Request, expected
from tests.reliability_report import record
from tests.support import Factory, next_year

CLIENTS = 16
ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
         "Africa/Addis_Ababa")


def _race(db_url: str, work: list[list[int]],
          act: Callable[[psycopg.Connection[Any], int], Any]) -> list[tuple[str, int, Any]]:
    """Runs each client's list of request ids on its own connection, all released at once;
    returns (outcome, request id, result or exception) for every call."""
    barrier = threading.Barrier(len(work))

    def client(ids: list[int]) -> list[tuple[str, int, Any]]:
        outcomes: list[tuple[str, int, Any]] = []
        with psycopg.connect(db_url, autocommit=True) as conn:
            barrier.wait()
            for request_id in ids:
                try:
                    outcomes.append(("won", request_id, act(conn, request_id)))
                except AlreadyResponded:
                    outcomes.append(("lost", request_id, None))
                except Exception as error:  # any other error is a failure, reported below
                    outcomes.append(("error", request_id, error))
        return outcomes

    with ThreadPoolExecutor(len(work)) as pool:
        return [o for outcomes in pool.map(client, work) for o in outcomes]


def test_same_200_requests_accepted_by_16_clients_in_shuffled_orders(db_url: str) -> None:
    rng = random.Random(6)
    requests: dict[int, tuple[Request, str]] = {}
    with psycopg.connect(db_url, autocommit=True) as conn:
        f = Factory(conn)
        year = next_year(conn)
        for t in range(10):
            zone = ZONES[t % len(ZONES)]
            tutor = f.tutor(zone)
            packages = [f.package(tutor), f.package(tutor)]
            for slot in range(20):  # a slot per hour: no clash between the tutor's requests
                start = dt.time(slot + 2)
                request = Request(schedule_type="recurring", start_time=start,
                                  end_time=dt.time(slot + 2, 45),
                                  days=rng.sample(["Mon", "tuesday", " WED", "thu", "Fri"],
                                                  rng.randint(1, 3)))
                if slot % 4 == 0:
                    request = Request(schedule_type="specific_dates", start_time=start,
                                      end_time=dt.time(slot + 2, 45),
                                      specific_dates=[f"{year}-0{m}-1{m}" for m in range(1, 8)])
                user, _ = f.student()
                request_id = f.request(
                    tutor, user, package_id=packages[slot % 2],
                    schedule_type=request.schedule_type, start_time=request.start_time,
                    end_time=request.end_time, days=request.days,
                    specific_dates=request.specific_dates)
                requests[request_id] = (request, zone)
    ids = list(requests)
    orders = [rng.sample(ids, len(ids)) for _ in range(CLIENTS)]

    outcomes = _race(db_url, orders, astegni.accept)

    assert [o for o in outcomes if o[0] == "error"] == []
    winners = Counter(request_id for kind, request_id, _ in outcomes if kind == "won")
    assert winners == Counter(ids)  # every request accepted exactly once, the others lost
    with psycopg.connect(db_url, autocommit=True) as conn:
        for kind, request_id, acceptance in outcomes:
            if kind != "won":
                continue
            request, zone = requests[request_id]
            plan = expected(request, zone, acceptance.responded_at)
            assert isinstance(plan, Plan)
            made = conn.execute(
                "SELECT session_date, starts_at, ends_at FROM sessions WHERE request_id = %s"
                " ORDER BY session_date", (request_id,)).fetchall()
            assert made == [(o.session_date, o.starts_at, o.ends_at) for o in plan.sessions]
            assert (acceptance.sessions_created, acceptance.students_enrolled, acceptance.note) == (
                len(made), 1, plan.note)
        pending = conn.execute(
            "SELECT count(*) FROM requested_sessions WHERE status <> 'accepted'").fetchone()
        assert pending == (0,)
        sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()
    record("concurrency_clients:same_requests", CLIENTS)
    record("concurrency_same_requests", len(ids))
    record("concurrency_accept_calls", len(outcomes))
    record("concurrency_already_responded", len(outcomes) - len(ids))
    record("concurrency_sessions_checked", sessions[0] if sessions else 0)


def test_16_clients_accepting_one_course_list_every_student_once(db_url: str) -> None:
    per_client = 4
    with psycopg.connect(db_url, autocommit=True) as conn:
        f = Factory(conn)
        tutor = f.tutor("Europe/Berlin")
        package = f.package(tutor)
        students: dict[int, int] = {}
        for _ in range(CLIENTS * per_client):
            user, student = f.student()
            request_id = f.request(tutor, user, package_id=package, schedule_type="recurring",
                                   days=json.dumps(["Monday", "Thursday"]))
            students[request_id] = student
    ids = list(students)
    work = [ids[i::CLIENTS] for i in range(CLIENTS)]

    outcomes = _race(db_url, work, astegni.accept)

    assert [o for o in outcomes if o[0] != "won"] == []
    with psycopg.connect(db_url, autocommit=True) as conn:
        courses = conn.execute(
            "SELECT students_id FROM enrolled_courses WHERE tutor_id = %s AND package_id = %s",
            (tutor, package)).fetchall()
        enrolled = conn.execute(
            "SELECT student_id, count(*) FROM enrolled_students WHERE tutor_id = %s"
            " GROUP BY student_id", (tutor,)).fetchall()
        sessions = conn.execute(
            "SELECT request_id, count(*) FROM sessions GROUP BY request_id").fetchall()
    [(students_id,)] = courses
    assert sorted(students_id) == sorted(students.values())
    assert sorted(enrolled) == sorted((s, 1) for s in students.values())
    assert sorted(sessions) == sorted((r, 16) for r in ids)
    record("concurrency_clients:one_course", CLIENTS)
    record("concurrency_one_course_requests", len(ids))


def test_16_clients_accepting_shared_bookings_with_overlapping_rosters(db_url: str) -> None:
    """Shared bookings of one course whose rosters overlap: every student of every roster is
    enrolled once, in the course once, whichever client gets there first."""
    rng = random.Random(16)
    per_client, roster_size = 4, 3
    with psycopg.connect(db_url, autocommit=True) as conn:
        f = Factory(conn)
        tutor = f.tutor("Asia/Kathmandu")
        package = f.package(tutor)
        pool = [f.student()[1] for _ in range(12)]
        rosters: dict[int, set[int]] = {}
        for _ in range(CLIENTS * per_client):
            user, own = f.student()
            others = rng.sample(pool, roster_size)
            request_id = f.request(tutor, user, package_id=package, num_students=roster_size + 1,
                                   schedule_type="recurring", days=["tue", "sat"])
            conn.execute("INSERT INTO requested_session_students (requested_session_id,"
                         " student_profile_id, is_primary) SELECT %s, s, s = %s"
                         " FROM unnest(%s::int[]) AS s", (request_id, own, [own, *others]))
            rosters[request_id] = {own, *others}
    ids = list(rosters)
    work = [ids[i::CLIENTS] for i in range(CLIENTS)]

    outcomes = _race(db_url, work, astegni.accept)

    assert [o for o in outcomes if o[0] != "won"] == []
    assert sorted((request_id, a.students_enrolled, a.sessions_created)
                  for _, request_id, a in outcomes) == sorted(
        (r, roster_size + 1, 16) for r in ids)
    everyone = sorted(set().union(*rosters.values()))
    with psycopg.connect(db_url, autocommit=True) as conn:
        [(students_id,)] = conn.execute(
            "SELECT students_id FROM enrolled_courses WHERE tutor_id = %s AND package_id = %s",
            (tutor, package)).fetchall()
        enrolled = conn.execute(
            "SELECT student_id, count(*) FROM enrolled_students WHERE tutor_id = %s"
            " GROUP BY student_id ORDER BY 1", (tutor,)).fetchall()
    assert sorted(students_id) == everyone
    assert enrolled == [(s, 1) for s in everyone]
    record("concurrency_clients:shared_bookings", CLIENTS)
    record("concurrency_shared_booking_requests", len(ids))

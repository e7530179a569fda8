"""Cancelling an accepted request: its sessions not yet started are cancelled (kept), the rest stay,
the student leaves the course unless another accepted request keeps them, and the slots are freed."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import astegni
from astegni.errors import AlreadyResponded, InvalidTransition, translate
from tests.support import Factory, scalar

WEEKLY: dict[str, Any] = {"schedule_type": "recurring", "days": ["Monday", "Thursday"]}


def statuses(conn: psycopg.Connection[Any], request: int) -> dict[int, str]:
    rows = conn.execute("SELECT id, status FROM sessions WHERE request_id = %s", (request,)).fetchall()
    return dict(rows)


def students_of(conn: psycopg.Connection[Any], package: int) -> list[int]:
    return sorted(scalar(conn, "SELECT students_id FROM enrolled_courses WHERE package_id = %s", package))


def test_cancel_cancels_future_sessions_and_keeps_started_and_completed_ones(conn):
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, _ = f.student()
    request = f.request(tutor, user, package_id=f.package(tutor), **WEEKLY)
    astegni.accept(conn, request)
    ids = [r[0] for r in conn.execute("SELECT id FROM sessions WHERE request_id = %s ORDER BY starts_at",
                                      (request,)).fetchall()]
    assert len(ids) == 16
    started, completed, *future = ids
    # One session moved into the past (started), one marked completed by the tutor.
    conn.execute("UPDATE sessions SET starts_at = now() - interval '30 minutes' WHERE id = %s",
                 (started,))
    conn.execute("UPDATE sessions SET status = 'completed' WHERE id = %s", (completed,))

    with conn.transaction():
        result = astegni.cancel(conn, request, reason="moving abroad")
        now = scalar(conn, "SELECT now()")
    assert result.sessions_cancelled == 14
    assert (result.status, result.cancelled_reason, result.cancelled_at) == (
        "cancelled", "moving abroad", now)
    assert conn.execute("SELECT status, cancelled_at, cancelled_reason FROM requested_sessions"
                        " WHERE id = %s", (request,)).fetchone() == ("cancelled", now, "moving abroad")
    assert statuses(conn, request) == {started: "scheduled", completed: "completed",
                                       **{s: "cancelled" for s in future}}


def test_student_leaves_the_course_unless_another_accepted_request_keeps_them(conn):
    f = Factory(conn)
    tutor = f.tutor()
    package = f.package(tutor)
    (user, student), (other_user, other) = f.student(), f.student()
    first = f.request(tutor, user, package_id=package, **WEEKLY)
    second = f.request(tutor, user, package_id=package, schedule_type="recurring", days=["Friday"])
    classmate = f.request(tutor, other_user, package_id=package, **WEEKLY)
    for request in (first, second, classmate):
        astegni.accept(conn, request)
    assert students_of(conn, package) == sorted([student, other])

    astegni.cancel(conn, first)
    assert students_of(conn, package) == sorted([student, other])  # kept by `second`
    astegni.cancel(conn, classmate)
    assert students_of(conn, package) == [student]
    astegni.cancel(conn, second)
    assert students_of(conn, package) == []
    # enrolled_students holds payment history: kept.
    assert scalar(conn, "SELECT count(*) FROM enrolled_students WHERE tutor_id = %s", tutor) == 2


def test_cancelling_twice_or_a_pending_request_is_refused(conn):
    f = Factory(conn)
    tutor = f.tutor()
    user, _ = f.student()
    accepted, pending = f.request(tutor, user, **WEEKLY), f.request(tutor, user, **WEEKLY)
    astegni.accept(conn, accepted)
    astegni.cancel(conn, accepted, reason="first")

    with pytest.raises(AlreadyResponded):
        astegni.cancel(conn, accepted, reason="second")
    # A plain UPDATE to the same status changes nothing (the core rule); back to accepted is refused.
    conn.execute("UPDATE requested_sessions SET status = 'cancelled' WHERE id = %s", (accepted,))
    with pytest.raises(psycopg.Error) as plain:
        conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s", (accepted,))
    assert isinstance(translate(plain.value), AlreadyResponded)
    with pytest.raises(InvalidTransition):
        astegni.cancel(conn, pending)
    with pytest.raises(psycopg.Error) as plain:
        conn.execute("UPDATE requested_sessions SET status = 'cancelled' WHERE id = %s", (pending,))
    assert plain.value.diag.sqlstate == "AS003"

    assert conn.execute("SELECT id, status, cancelled_reason FROM requested_sessions ORDER BY id"
                        ).fetchall() == [(accepted, "cancelled", "first"), (pending, "pending", None)]


def test_cancelled_slots_take_another_course(conn):
    f = Factory(conn)
    tutor = f.tutor("America/New_York")
    user, _ = f.student()
    old = f.request(tutor, user, package_id=f.package(tutor), **WEEKLY)
    new = f.request(tutor, user, package_id=f.package(tutor), **WEEKLY)
    astegni.accept(conn, old)
    slots = conn.execute("SELECT starts_at, ends_at FROM sessions WHERE request_id = %s ORDER BY 1",
                         (old,)).fetchall()

    assert astegni.cancel(conn, old).sessions_cancelled == 16
    result = astegni.accept(conn, new)
    assert (result.sessions_created, result.skipped) == (16, ())
    assert conn.execute("SELECT starts_at, ends_at FROM sessions WHERE request_id = %s ORDER BY 1",
                        (new,)).fetchall() == slots
    assert set(statuses(conn, old).values()) == {"cancelled"}

"""The rule's notifications: sent by the database, delivered only after commit, one per request.

Absence is shown without waiting on a clock: a later notification (a sentinel) arrives first.
"""

import datetime as dt
import json

import psycopg
import pytest

import astegni
from astegni.errors import NotConfigured
from astegni.notifications import CHANNEL, Notification, listen
from tests.support import MON_WED_FRI, Factory, next_year, scalar


def starts(conn, request_id, status=None):
    """Count, first and last start of a request's sessions (with that status, if given)."""
    return conn.execute("SELECT count(*), min(starts_at), max(starts_at) FROM sessions"
                        " WHERE request_id = %s AND status = coalesce(%s, status)",
                        (request_id, status)).fetchone()


@pytest.fixture
def listener(db_url):
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


def test_delivered_after_commit_only(conn, listener, db_url):
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, student = f.student()
    rolled_back = f.request(tutor, user, **MON_WED_FRI)
    committed = f.request(tutor, user, schedule_type="specific_dates",
                          specific_dates=["2099-01-05", "2099-01-07"])
    events = listen(listener, stop_after=1)
    with psycopg.connect(db_url) as writer:
        astegni.accept(writer, rolled_back)
        writer.rollback()
        astegni.accept(writer, committed)
        writer.commit()
    [event] = events
    count, first, last = starts(conn, committed)
    assert event == Notification(event="accepted", request_id=committed, tutor_id=tutor,
                                 student_id=student, sessions=count, first_starts_at=first,
                                 last_starts_at=last)
    assert count == 2


def test_one_per_request_in_a_bulk_update(conn, listener):
    f = Factory(conn)
    tutor = f.tutor()
    requests = {}
    for hour in range(8, 13):
        user, student = f.student()
        request = f.request(tutor, user, package_id=f.package(tutor), start_time=dt.time(hour),
                            end_time=dt.time(hour, 45), **MON_WED_FRI)
        requests[request] = student
    events = listen(listener, stop_after=len(requests) + 1)
    updated = conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = ANY(%s)",
                           (list(requests),)).rowcount
    assert updated == 5
    sentinel = min(requests)
    astegni.cancel(conn, sentinel)
    received = list(events)
    accepted, last = received[:-1], received[-1]
    assert sorted(e.request_id for e in accepted) == sorted(requests)
    for e in accepted:
        assert (e.event, e.tutor_id, e.student_id) == ("accepted", tutor, requests[e.request_id])
        assert (e.sessions, e.first_starts_at, e.last_starts_at) == starts(conn, e.request_id)
        assert e.sessions == 24
    assert (last.event, last.request_id) == ("cancelled", sentinel)


def test_cancellation_names_the_sessions_cancelled(conn, listener):
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, student = f.student()
    request = f.request(tutor, user, **MON_WED_FRI)
    astegni.accept(conn, request)
    events = listen(listener, stop_after=1)
    result = astegni.cancel(conn, request, reason="moved away")
    [event] = events
    count, first, last = starts(conn, request, "cancelled")
    assert event == Notification(event="cancelled", request_id=request, tutor_id=tutor,
                                 student_id=student, sessions=result.sessions_cancelled,
                                 first_starts_at=first, last_starts_at=last)
    assert count == 24


def test_as_json_round_trips(conn, listener):
    f = Factory(conn)
    user, _ = f.student()
    request = f.request(f.tutor(), user, **MON_WED_FRI)
    events = listen(listener, stop_after=1)
    astegni.accept(conn, request)
    [event] = events
    assert Notification.from_payload(event.as_json()) == event


def test_listen_needs_autocommit(db_url):
    with psycopg.connect(db_url) as connection, pytest.raises(NotConfigured):
        listen(connection)


def test_payload_names_why_an_acceptance_made_fewer_sessions(conn, listener):
    """The payload's "note" is the acceptance's note: a schedule that is not there yet enrols the
    student with no session and says which part is missing; a stale year window takes the weeks
    horizon; a full schedule has none."""
    f = Factory(conn)
    stale = next_year(conn) - 3  # past in every zone
    shapes = {
        None: MON_WED_FRI,
        "no_schedule": {"schedule_type": None},
        "no_dates": {"schedule_type": "specific_dates", "specific_dates": []},
        "no_days": {"schedule_type": "recurring", "days": None},
        "no_times": {**MON_WED_FRI, "end_time": None},
        "window_passed": {**MON_WED_FRI, "months": ["jan"], "year_range": [stale]},
        "none_ahead": {"schedule_type": "specific_dates", "specific_dates": [f"{stale}-01-05"]},
    }
    requests = {f.pending(**fields): note for note, fields in shapes.items()}
    listener.execute("LISTEN " + CHANNEL)
    acceptances = {request: astegni.accept(conn, request) for request in requests}
    # A safety net, not a clock the test waits on: all of them are committed before this reads.
    payloads = [json.loads(n.payload) for n in listener.notifies(stop_after=len(requests), timeout=60)
                if n.channel == CHANNEL]
    assert sorted(p["request_id"] for p in payloads) == sorted(requests)
    for payload in payloads:
        request = payload["request_id"]
        count, first, last = starts(conn, request)
        assert set(payload) == {"event", "request_id", "tutor_id", "student_id", "sessions",
                                "first_starts_at", "last_starts_at", "note"}
        assert (payload["event"], payload["note"], payload["sessions"]) == (
            "accepted", requests[request], count)
        assert acceptances[request].note == requests[request]
        assert scalar(conn, "SELECT note FROM acceptances WHERE request_id = %s",
                      request) == requests[request]
        event = Notification.from_payload(json.dumps(payload))
        assert (event.first_starts_at, event.last_starts_at) == (first, last)
        assert count == (24 if requests[request] in (None, "window_passed") else 0)
        # Enrolled either way: the schedule never holds up the enrolment.
        assert scalar(conn, "SELECT count(*) FROM enrolled_students WHERE student_id = %s",
                      payload["student_id"]) == 1

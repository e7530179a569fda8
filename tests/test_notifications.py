"""The rule's events: written by the database in the transaction that did it, seen only after commit,
one per request; NOTIFY only wakes the listener, so nothing a client sends on the channel counts.

Absence is shown without waiting on a clock: a later event (a sentinel) arrives first.
"""

import dataclasses
import datetime as dt
import json

import psycopg
import pytest

import astegni
from astegni.errors import NotConfigured
from astegni.notifications import CHANNEL, Notification, listen
from tests.support import MON_WED_FRI, Factory, next_year, pull_back, scalar


def without_id(event):
    """The event as the rule described it (its id is its place in astegni_events)."""
    return dataclasses.replace(event, id=0)


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
    assert without_id(event) == Notification(id=0, event="accepted", request_id=committed, tutor_id=tutor,
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
    assert without_id(event) == Notification(id=0, event="cancelled", request_id=request, tutor_id=tutor,
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
    data = json.loads(event.as_json())
    assert data == {**dataclasses.asdict(event), "first_starts_at": event.first_starts_at.isoformat(),
                    "last_starts_at": event.last_starts_at.isoformat()}
    assert dt.datetime.fromisoformat(data["first_starts_at"]) == event.first_starts_at


def test_listen_needs_autocommit(db_url):
    with psycopg.connect(db_url) as connection, pytest.raises(NotConfigured):
        listen(connection)


def test_events_name_why_an_acceptance_made_fewer_sessions(conn, listener):
    """The event's note is the acceptance's note: a schedule that is not there yet enrols the student
    with no session and says which part is missing; a stale year window takes the weeks horizon; a full
    schedule has none."""
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
    events = listen(listener, stop_after=len(requests), timeout=60)
    acceptances = {request: astegni.accept(conn, request) for request in requests}
    received = list(events)
    assert sorted(e.request_id for e in received) == sorted(requests)
    for event in received:
        request = event.request_id
        count, first, last = starts(conn, request)
        assert (event.event, event.note, event.sessions) == ("accepted", requests[request], count)
        assert (event.first_starts_at, event.last_starts_at) == (first, last)
        assert acceptances[request].note == requests[request]
        assert scalar(conn, "SELECT note FROM acceptances WHERE request_id = %s",
                      request) == requests[request]
        assert count == (24 if requests[request] in (None, "window_passed") else 0)
        # Enrolled either way: the schedule never holds up the enrolment.
        assert scalar(conn, "SELECT count(*) FROM enrolled_students WHERE student_id = %s",
                      event.student_id) == 1


def test_forged_and_garbled_notifications_are_not_events(conn, listener, nobody):
    f = Factory(conn)
    user, _ = f.student()
    real = f.request(f.tutor(), user, **MON_WED_FRI)
    events = listen(listener, stop_after=1, timeout=60)
    forged = json.dumps({"event": "accepted", "request_id": 999, "tutor_id": 1, "student_id": 1,
                         "sessions": 24, "first_starts_at": None, "last_starts_at": None})
    nobody.execute("SELECT pg_notify(%s, %s)", (CHANNEL, forged))
    nobody.execute(f"NOTIFY {CHANNEL}, 'not json'")
    # The login with no grants hears only that something happened, and cannot read what.
    nobody.execute(f"LISTEN {CHANNEL}")
    astegni.accept(conn, real)
    assert [(e.event, e.request_id) for e in events] == [("accepted", real)]
    heard = [n.payload for n in nobody.notifies(timeout=30, stop_after=1)]
    assert heard == [""]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        nobody.execute("SELECT * FROM astegni_events")


def event_at(conn, request_id, tutor_id, at):
    """An event row written by hand, as if committed at `at` (an SQL expression), with no NOTIFY."""
    return scalar(conn, f"INSERT INTO astegni_events (event, request_id, tutor_id, sessions, created_at)"
                        f" VALUES ('cancelled', %s, %s, 0, {at}) RETURNING id", request_id, tutor_id)


def test_an_event_committed_without_a_wake_up_is_found_by_the_next_look(conn, listener):
    f = Factory(conn)
    user, _ = f.student()
    tutor = f.tutor()
    request = f.request(tutor, user, **MON_WED_FRI)
    events = listen(listener, stop_after=1, timeout=30)
    written = event_at(conn, request, tutor, "now()")
    assert [e.id for e in events] == [written]


def test_the_wake_up_is_skipped_within_a_poll_of_another_event(conn, listener):
    f = Factory(conn)
    user, _ = f.student()
    tutor = f.tutor()
    request = f.request(tutor, user, **MON_WED_FRI)
    listener.execute(f"LISTEN {CHANNEL}")
    # An event another transaction wrote long ago: a commit now wakes the listeners.
    event_at(conn, request, tutor, "now() - interval '1 hour'")
    conn.execute("SELECT astegni_notify()")
    assert [n.payload for n in listener.notifies(timeout=30, stop_after=1)] == [""]
    # One stamped as just written (in an hour, so that no clock makes it old during the test): the
    # listeners will look by themselves, and the commit sends nothing. The sentinel, sent after it on
    # the same connection, is heard first.
    event_at(conn, request, tutor, "now() + interval '1 hour'")
    conn.execute("SELECT astegni_notify()")
    conn.execute(f"NOTIFY {CHANNEL}, 'sentinel'")
    assert [n.payload for n in listener.notifies(timeout=30, stop_after=1)] == ["sentinel"]


def test_a_named_listener_resumes_where_it_stopped(conn, db_url):
    f = Factory(conn)
    user, _ = f.student()
    requests = [f.request(f.tutor(), user, **MON_WED_FRI) for _ in range(3)]
    with psycopg.connect(db_url, autocommit=True) as first_run:
        events = listen(first_run, name="mailer", stop_after=1, timeout=60)
        for request in requests:
            astegni.accept(conn, request)
        assert [e.request_id for e in events] == requests[:1]
    # Restarted: the two it had not handed on yet, then nothing more.
    with psycopg.connect(db_url, autocommit=True) as second_run:
        assert [e.request_id for e in listen(second_run, name="mailer", timeout=1)] == requests[1:]
    assert scalar(conn, "SELECT last_event_id FROM astegni_event_cursors WHERE listener = 'mailer'") == \
        scalar(conn, "SELECT max(id) FROM astegni_events")



def test_an_event_numbered_first_and_committed_last_is_not_passed_over(conn, db_url):
    """Ids are drawn at insert, not at commit: a named listener that looks while an earlier-numbered
    event is still uncommitted does not skip it, and gets each event once across restarts."""
    f = Factory(conn)
    user, _ = f.student()
    first, second = (f.request(f.tutor(), user, **MON_WED_FRI) for _ in range(2))
    with psycopg.connect(db_url, autocommit=True) as run:
        handed_on = list(listen(run, name="mailer", timeout=0.1))  # its first start: its place kept
    with psycopg.connect(db_url) as slow:
        astegni.accept(slow, first)  # its event's id is drawn now, its commit comes last
        astegni.accept(conn, second)
        with psycopg.connect(db_url, autocommit=True) as run:
            handed_on += listen(run, name="mailer", timeout=1)
        slow.commit()
    for _ in range(2):  # restarted, and restarted again: nothing twice
        with psycopg.connect(db_url, autocommit=True) as run:
            handed_on += listen(run, name="mailer", timeout=1)
    assert sorted(e.request_id for e in handed_on) == [first, second]


def test_an_extension_announces_the_sessions_it_made(conn, listener):
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, student = f.student()
    grown, idle = (f.request(tutor, user, package_id=f.package(tutor), start_time=dt.time(hour),
                             end_time=dt.time(hour, 45), **MON_WED_FRI) for hour in (9, 11))
    for request in (grown, idle):
        astegni.accept(conn, request)
    made_before = {s for (s,) in conn.execute("SELECT id FROM sessions").fetchall()}
    assert pull_back(conn, grown, days=14) == 6
    events = listen(listener, stop_after=2)
    run = astegni.extend(conn)
    astegni.cancel(conn, idle)  # the sentinel: no event of the idle series came before it
    extended, sentinel = events
    assert (run.series_grown, run.sessions_made) == (1, 6)
    made = conn.execute("SELECT count(*), min(starts_at), max(starts_at) FROM sessions"
                        " WHERE request_id = %s AND id <> ALL(%s)", (grown, list(made_before))).fetchone()
    assert without_id(extended) == Notification(id=0, event="extended", request_id=grown, tutor_id=tutor,
                                                student_id=student, sessions=6, first_starts_at=made[1],
                                                last_starts_at=made[2])
    assert made[0] == 6
    assert extended.explanation == f"request {grown} extended: 6 sessions made"
    assert (sentinel.event, sentinel.request_id) == ("cancelled", idle)
    assert json.loads(extended.as_json())["event"] == "extended"


def test_series_changes_and_time_off_are_announced(conn, listener):
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, student = f.student()
    request = f.request(tutor, user, start_time=dt.time(17), end_time=dt.time(18), **MON_WED_FRI)
    astegni.accept(conn, request)
    today = scalar(conn, "SELECT (now() AT TIME ZONE 'Europe/Berlin')::date")
    events = listen(listener, stop_after=3)
    rows = astegni.reschedule(conn, request, today + dt.timedelta(days=14), days=["Tue"])
    starts = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), dt.UTC)
    time_off = astegni.add_time_off(conn, tutor, starts, starts + dt.timedelta(days=7), "Conference")
    cancelled = astegni.end_series(conn, request, today + dt.timedelta(days=21), "Exams")
    rescheduled, away, ended = events
    assert (rescheduled.event, rescheduled.request_id, rescheduled.student_id) == (
        "rescheduled", request, student)
    assert rescheduled.sessions == sum(r.outcome in ("keep", "move", "create") for r in rows)
    assert (away.event, away.sessions, away.note) == ("time_off", time_off.sessions_cancelled, None)
    assert away.sessions == 3
    assert (ended.event, ended.sessions, ended.note) == ("ended", cancelled, "Exams")
    assert ended.explanation == f"request {request} ended: {cancelled} sessions cancelled (Exams)"
    assert away.explanation == f"request {request} time off: 3 sessions cancelled"

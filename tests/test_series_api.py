"""The Python layer of series (docs/series.md): astegni.extend, end_series, reschedule,
preview_reschedule, add_time_off, remove_time_off and list_time_off, each against a migrated database,
checked against the rows the rule then holds; refusals by class and field."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

import astegni
import astegni.aio
from astegni.errors import (
    InvalidSchedule,
    InvalidTimeOff,
    NotASeries,
    NotAutocommit,
    RequestNotFound,
    ScheduleConflict,
    SeriesEnded,
)
from tests.conftest import as_login
from tests.support import (
    BERLIN,
    MON_WED_FRI,
    Factory,
    book,
    pull_back,
    request_row,
    scalar,
    tutor_today,
)

Conn = psycopg.Connection[Any]
TUESDAY, WEDNESDAY = 2, 3


def accepted_series(conn: Conn, zone: str = BERLIN) -> tuple[Factory, int, int]:
    """(factory, tutor, request) of an accepted Mon/Wed/Fri 17:00-18:00 series: 24 sessions."""
    f = Factory(conn)
    tutor = f.tutor(zone)
    user, _ = f.student()
    request = f.request(tutor, user, package_id=f.package(tutor), start_time=dt.time(17),
                        end_time=dt.time(18), **MON_WED_FRI)
    assert astegni.accept(conn, request).sessions_created == 24
    return f, tutor, request



def snapshot(conn: Conn, request: int) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT id, session_date, start_time, end_time, starts_at, ends_at, status, cancelled_reason"
        " FROM sessions WHERE request_id = %s ORDER BY session_date", (request,)).fetchall()


def statuses(conn: Conn, request: int) -> dict[tuple[str, str | None], int]:
    rows = conn.execute("SELECT status, cancelled_reason, count(*) FROM sessions WHERE request_id = %s"
                        " GROUP BY 1, 2", (request,)).fetchall()
    return {(status, reason): count for status, reason, count in rows}


def events(conn: Conn, kind: str) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT request_id, sessions, note FROM astegni_events WHERE event = %s"
                        " ORDER BY id", (kind,)).fetchall()


# ---- extend ------------------------------------------------------------------------------------


def test_extend_makes_what_the_horizon_lacks_and_reports_its_run(conn):
    _, tutor, request = accepted_series(conn)
    idle = astegni.extend(conn)
    assert (idle.series_grown, idle.sessions_made, idle.batches) == (0, 0, 1)
    deleted = pull_back(conn, request)
    assert deleted == 3  # a week of Mon/Wed/Fri
    run = astegni.extend(conn)
    assert (run.series_grown, run.sessions_made, run.batches) == (1, 3, 1)
    assert run.explanation == "extended 1 series: 3 sessions made"
    # Each batch is logged, and the run's last row says no tutor was left.
    logged = conn.execute("SELECT after_tutor_id, last_tutor_id, series_grown, sessions_made"
                          " FROM astegni_extensions ORDER BY id DESC LIMIT 2").fetchall()
    assert logged == [(tutor, None, 0, 0), (0, tutor, 1, 3)]
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s"
                        " AND status = 'scheduled'", request) == 24
    assert events(conn, "extended") == [(request, 3, None)]
    assert (astegni.extend(conn).sessions_made, scalar(conn, "SELECT count(*) FROM sessions")) == (0, 24)


def test_extend_commits_each_batch_of_tutors_in_a_transaction_of_its_own(conn):
    requests = [accepted_series(conn)[2] for _ in range(3)]
    for request in requests:
        pull_back(conn, request)
    [(grown, made, batches)] = conn.execute("CALL astegni_extend_series(1)").fetchall()
    assert (grown, made, batches) == (3, 9, 3)
    # One transaction per batch: each logged row has a moment of its own.
    assert scalar(conn, "SELECT count(DISTINCT at) FROM astegni_extensions") == 4


def test_extend_needs_an_autocommit_connection_outside_any_transaction(conn, db_url):
    _, _, request = accepted_series(conn)
    pull_back(conn, request)
    with psycopg.connect(db_url) as tx, pytest.raises(NotAutocommit):
        astegni.extend(tx)
    with (psycopg.connect(db_url, autocommit=True) as auto, auto.transaction(),
          pytest.raises(NotAutocommit)):
        astegni.extend(auto)
    # The procedure itself refuses a transaction block, whatever the client.
    with psycopg.connect(db_url) as tx, pytest.raises(psycopg.errors.InvalidTransactionTermination):
        tx.execute("CALL astegni_extend_series()")
    assert scalar(conn, "SELECT count(*) FROM sessions") == 21


def test_extend_through_sqlalchemy_and_asyncio(conn, engine, db_url):
    _, _, request = accepted_series(conn)
    pull_back(conn, request)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        assert astegni.extend(connection).sessions_made == 3
    with engine.connect() as connection, pytest.raises(NotAutocommit):
        astegni.extend(connection)
    assert scalar(conn, "SELECT count(*) FROM sessions") == 24
    pull_back(conn, request, days=14)

    async def extend_async() -> astegni.Extension:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as aconn:
            return await astegni.aio.extend(aconn)

    run = asyncio.run(extend_async())
    assert (run.series_grown, run.sessions_made) == (1, 6)
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE status = 'scheduled'") == 24


# ---- end_series --------------------------------------------------------------------------------


def test_end_series_cancels_the_sessions_after_its_last_date(conn):
    _, _, request = accepted_series(conn)
    dates = [row[1] for row in snapshot(conn, request)]
    last_date = dates[9]
    assert astegni.end_series(conn, request, last_date, "School year over") == 14
    cancelled = conn.execute("SELECT session_date FROM sessions WHERE request_id = %s"
                             " AND status = 'cancelled' AND cancelled_reason = 'series_ended' ORDER BY 1",
                             (request,)).fetchall()
    assert [d for (d,) in cancelled] == dates[10:]
    assert statuses(conn, request) == {("scheduled", None): 10, ("cancelled", "series_ended"): 14}
    assert conn.execute("SELECT last_date, ended_reason, closed_at FROM series WHERE request_id = %s",
                        (request,)).fetchone() == (last_date, "School year over", None)
    assert events(conn, "ended") == [(request, 14, "School year over")]
    # The same date changes nothing; an earlier one cuts more; a later one is refused.
    assert astegni.end_series(conn, request, last_date) == 0
    assert astegni.end_series(conn, request, dates[7]) == 2
    with pytest.raises(SeriesEnded) as later:
        astegni.end_series(conn, request, dates[20])
    assert (later.value.field, later.value.request_id) == ("last_date", request)
    assert later.value.detail["last_date"] == dates[7].isoformat()
    assert statuses(conn, request) == {("scheduled", None): 8, ("cancelled", "series_ended"): 16}
    # Nothing is made after it any more.
    conn.execute("SELECT astegni_extend_series_at(now() + interval '30 days')")
    assert scalar(conn, "SELECT max(session_date) FROM sessions WHERE request_id = %s", request) == dates[-1]


def test_end_series_before_today_closes_it_at_once(conn):
    _, _, request = accepted_series(conn)
    course = scalar(conn, "SELECT enrolled_courses_id FROM sessions WHERE request_id = %s LIMIT 1", request)
    enrolled = scalar(conn, "SELECT students_id FROM enrolled_courses WHERE id = %s", course)
    assert enrolled  # the student of the series
    yesterday = tutor_today(conn, BERLIN) - dt.timedelta(days=1)
    assert astegni.end_series(conn, request, yesterday) == 24
    assert scalar(conn, "SELECT closed_at IS NOT NULL FROM series WHERE request_id = %s", request)
    assert scalar(conn, "SELECT students_id FROM enrolled_courses WHERE id = %s", course) == []
    assert statuses(conn, request) == {("cancelled", "series_ended"): 24}


def test_end_series_refusals(conn):
    f, tutor, request = accepted_series(conn)
    with pytest.raises(InvalidSchedule) as no_date:
        astegni.end_series(conn, request, None)  # type: ignore[arg-type]
    assert (no_date.value.field, no_date.value.request_id) == ("last_date", request)
    pending = f.request(tutor, f.student()[0], package_id=f.package(tutor), **MON_WED_FRI)
    user, _ = f.student()
    dated = f.request(tutor, user, package_id=f.package(tutor), schedule_type="specific_dates",
                      specific_dates=["2099-01-05"])
    astegni.accept(conn, dated)
    for not_a_series, status in ((pending, "pending"), (dated, "accepted")):
        with pytest.raises(NotASeries) as refused:
            astegni.end_series(conn, not_a_series, dt.date(2099, 1, 1))
        assert refused.value.request_id == not_a_series
        assert refused.value.detail["status"] == status
    with pytest.raises(RequestNotFound):
        astegni.end_series(conn, 987654, dt.date(2099, 1, 1))
    assert statuses(conn, request) == {("scheduled", None): 24}
    assert events(conn, "ended") == []


# ---- reschedule --------------------------------------------------------------------------------


def test_reschedule_applies_the_plan_its_preview_showed(conn):
    _, _, request = accepted_series(conn)
    start = tutor_today(conn, BERLIN) + dt.timedelta(days=14)
    before = snapshot(conn, request)
    change: dict[str, Any] = {"days": ["Tue", "Wednesday"], "start_time": dt.time(18),
                              "end_time": dt.time(19)}
    planned = astegni.preview_reschedule(conn, request, start, **change)
    assert snapshot(conn, request) == before  # a preview writes nothing
    rows = astegni.reschedule(conn, request, start, **change)
    assert rows == planned
    assert {r.outcome for r in rows} == {"move", "create", "cancel"}
    untouched = [s for s in before if s[1] < start]
    assert [s for s in snapshot(conn, request) if s[1] < start] == untouched
    by_id = {s[0]: s for s in snapshot(conn, request)}
    zone = ZoneInfo(BERLIN)
    for row in rows:
        if row.outcome in ("move", "create"):
            [session] = [s for s in by_id.values() if s[1] == row.session_date]
            assert row.outcome == "create" or session[0] == row.session_id  # moved in place
            assert session[2:8] == (dt.time(18), dt.time(19), row.starts_at, row.ends_at, "scheduled", None)
            assert row.starts_at.astimezone(zone).time() == dt.time(18)
            assert row.session_date.isoweekday() in (TUESDAY, WEDNESDAY)
        else:
            assert row.outcome == "cancel" and row.reason == "rescheduled"
            assert row.session_id is not None
            assert by_id[row.session_id][6:] == ("cancelled", "rescheduled")
            assert row.session_date.isoweekday() not in (TUESDAY, WEDNESDAY)
    req = request_row(conn, request)
    assert (req["days"], req["start_time"], req["end_time"]) == (
        ["Tue", "Wednesday"], dt.time(18), dt.time(19))
    patterns = conn.execute("SELECT valid_from, days, start_time FROM series_patterns WHERE request_id = %s"
                            " ORDER BY id", (request,)).fetchall()
    assert [p[1:] for p in patterns] == [(MON_WED_FRI["days"], dt.time(17)),
                                          (["Tue", "Wednesday"], dt.time(18))]
    assert patterns[1][0] == start
    scheduled = sum(r.outcome != "cancel" for r in rows)
    assert events(conn, "rescheduled") == [(request, scheduled, None)]
    # Rescheduling to what it already is keeps every session.
    again = astegni.reschedule(conn, request, start)
    assert {r.outcome for r in again} == {"keep"}
    assert len(again) == scheduled


def test_a_reschedule_onto_a_clash_changes_nothing(conn):
    f, tutor, request = accepted_series(conn)
    start = tutor_today(conn, BERLIN) + dt.timedelta(days=14)
    tuesday = start + dt.timedelta(days=(TUESDAY - start.isoweekday()) % 7)
    booked = book(f, tutor, tuesday, dt.time(18, 30), dt.time(19, 30))
    before = snapshot(conn, request)
    plan = astegni.preview_reschedule(conn, request, start, days=["Tue"], start_time=dt.time(18),
                                      end_time=dt.time(19))
    [refused] = [r for r in plan if r.outcome == "refuse"]
    assert (refused.session_date, refused.clash_session_id) == (tuesday, booked)
    with pytest.raises(ScheduleConflict) as clash:
        astegni.reschedule(conn, request, start, days=["Tue"], start_time=dt.time(18), end_time=dt.time(19))
    assert clash.value.clash_session_id == booked
    assert snapshot(conn, request) == before
    assert request_row(conn, request)["days"] == MON_WED_FRI["days"]
    assert events(conn, "rescheduled") == []


@pytest.mark.parametrize("change", [astegni.reschedule, astegni.preview_reschedule])
def test_reschedule_refusals(conn, change):
    f, tutor, request = accepted_series(conn)
    today = tutor_today(conn, BERLIN)
    cases: list[tuple[type[Exception], str | None, dict[str, Any]]] = [
        (InvalidSchedule, "from", {"from_date": None}),
        (InvalidSchedule, "days", {"days": ["Mon", "Funday"]}),
        (InvalidSchedule, "days", {"days": []}),
        (InvalidSchedule, "end_time", {"start_time": dt.time(18), "end_time": dt.time(18)}),
        (InvalidSchedule, "end_time", {"start_time": dt.time(18), "end_time": dt.time(17)}),  # 23 hours
    ]
    for cls, field, arguments in cases:
        arguments = {"from_date": today, **arguments}
        with pytest.raises(cls) as refused:
            change(conn, request, arguments.pop("from_date"), **arguments)
        assert (type(refused.value), refused.value.field) == (cls, field), arguments
    with pytest.raises(InvalidSchedule) as malformed:
        change(conn, request, today, days=["Funday"])
    assert malformed.value.value == "Funday"
    # A series accepted without times: a new pattern needs them (field start_time).
    user, _ = f.student()
    timeless = f.request(tutor, user, package_id=f.package(tutor), start_time=None, end_time=None,
                         **MON_WED_FRI)
    assert astegni.accept(conn, timeless).note == "no_times"
    with pytest.raises(InvalidSchedule) as no_times:
        change(conn, timeless, today, end_time=dt.time(9))
    assert no_times.value.field == "start_time"
    astegni.end_series(conn, request, today + dt.timedelta(days=7))
    with pytest.raises(SeriesEnded) as ended:
        change(conn, request, today + dt.timedelta(days=8))
    assert (ended.value.field, ended.value.value) == ("from", (today + dt.timedelta(days=8)).isoformat())
    pending = f.request(tutor, f.student()[0], package_id=f.package(tutor), **MON_WED_FRI)
    with pytest.raises(NotASeries):
        change(conn, pending, today)
    with pytest.raises(RequestNotFound):
        change(conn, 987654, today)
    assert request_row(conn, request)["days"] == MON_WED_FRI["days"]
    assert events(conn, "rescheduled") == []


# ---- time off ----------------------------------------------------------------------------------


def test_time_off_cancels_the_sessions_inside_and_its_removal_lets_them_be_made_again(conn):
    _, tutor, request = accepted_series(conn)
    zone = ZoneInfo(BERLIN)
    first = dt.datetime.combine(tutor_today(conn, BERLIN) + dt.timedelta(days=1), dt.time(), zone)
    last = first + dt.timedelta(days=7)
    inside = {s[0]: s[4] for s in snapshot(conn, request) if first <= s[4] < last}
    assert len(inside) == 3
    time_off = astegni.add_time_off(conn, tutor, first, last, "Conference")
    assert (time_off.tutor_id, time_off.starts_at, time_off.ends_at, time_off.reason) == (
        tutor, first, last, "Conference")
    assert time_off.sessions_cancelled == 3
    cancelled = conn.execute("SELECT id FROM sessions WHERE status = 'cancelled'"
                             " AND cancelled_reason = 'time_off' ORDER BY starts_at").fetchall()
    assert [i for (i,) in cancelled] == list(inside)
    assert scalar(conn, "SELECT count(*) FROM skipped_occurrences WHERE request_id = %s"
                        " AND reason = 'time_off'", request) == 3
    assert events(conn, "time_off") == [(request, 3, None)]
    # A second time off over the same days cancels nothing more, and says so.
    later = first + dt.timedelta(days=2)
    overlapping = astegni.add_time_off(conn, tutor, later, last)
    assert overlapping.sessions_cancelled == 0
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE status = 'cancelled'") == 3
    listed = astegni.list_time_off(conn, tutor)
    assert [t.id for t in listed] == [time_off.id, overlapping.id]
    assert listed[0] == astegni.TimeOff(**{**vars(time_off), "sessions_cancelled": None})
    # Removed, the time off lets the next extension make its sessions again (the same rows).
    assert astegni.remove_time_off(conn, time_off.id) is True
    freed = [i for i, starts_at in inside.items() if starts_at < later]  # the other still covers the rest
    assert astegni.extend(conn).sessions_made == len(freed)
    assert statuses(conn, request) == {("scheduled", None): 21 + len(freed),
                                       ("cancelled", "time_off"): 3 - len(freed)}
    assert astegni.remove_time_off(conn, overlapping.id) is True
    assert astegni.remove_time_off(conn, overlapping.id) is False
    assert astegni.list_time_off(conn, tutor) == []
    run = astegni.extend(conn)
    assert (run.series_grown, run.sessions_made) == (1, 3 - len(freed))
    assert statuses(conn, request) == {("scheduled", None): 24}
    again = conn.execute("SELECT id FROM sessions WHERE id = ANY(%s) AND status = 'scheduled' ORDER BY id",
                         (list(inside),)).fetchall()
    assert [i for (i,) in again] == sorted(inside)  # the same rows, scheduled again
    assert scalar(conn, "SELECT count(*) FROM skipped_occurrences WHERE request_id = %s", request) == 0


def test_time_off_is_bounded_and_not_empty(conn):
    tutor = Factory(conn).tutor()
    moment = dt.datetime(2099, 1, 5, 10, tzinfo=dt.UTC)
    for starts_at, ends_at, value in ((moment, moment, "empty"),
                                      (moment, moment - dt.timedelta(hours=1), "empty"),
                                      (None, moment, "(,\"2099-01-05 10:00:00+00\")"),
                                      (moment, None, "[\"2099-01-05 10:00:00+00\",)")):
        with pytest.raises(InvalidTimeOff) as refused:
            astegni.add_time_off(conn, tutor, starts_at, ends_at)  # type: ignore[arg-type]
        assert (refused.value.field, refused.value.value) == ("during", value)
        assert refused.value.detail["tutor_id"] == tutor
    assert scalar(conn, "SELECT count(*) FROM tutor_time_off") == 0


def test_the_app_role_may_do_all_of_it_but_the_extension(conn, db_url, logins):
    """A login that is only a member of astegni_app runs every call but the extension (the rule's
    functions are SECURITY DEFINER; it reads series and sessions, and records time off through the
    rule's functions, not the table); the extension is astegni_scheduler's."""
    _, tutor, request = accepted_series(conn)
    pull_back(conn, request)
    today = tutor_today(conn, BERLIN)
    starts = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), ZoneInfo(BERLIN))
    with psycopg.connect(as_login(db_url, logins["app"]), autocommit=True) as app:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            astegni.extend(app)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("DELETE FROM tutor_time_off")
        time_off = astegni.add_time_off(app, tutor, starts, starts + dt.timedelta(days=7))
        assert time_off.sessions_cancelled == 3
        assert [t.id for t in astegni.list_time_off(app, tutor)] == [time_off.id]
        assert astegni.remove_time_off(app, time_off.id, tutor_id=tutor)
        plan = astegni.preview_reschedule(app, request, today + dt.timedelta(days=14), days=["Tue"],
                                          tutor_id=tutor)
        assert astegni.reschedule(app, request, today + dt.timedelta(days=14), days=["Tue"],
                                  tutor_id=tutor) == plan
        assert astegni.end_series(app, request, today + dt.timedelta(days=28), tutor_id=tutor) > 0
    assert statuses(conn, request)[("cancelled", "series_ended")] > 0
    with psycopg.connect(as_login(db_url, logins["scheduler"]), autocommit=True) as job:
        assert astegni.extend(job).batches == 1


def test_changes_of_a_series_and_time_off_are_scoped_to_the_tutor_named(conn):
    """Another tutor's series or time off is not found (AS001), as another tutor's request is for
    accept; nothing changes."""
    _, tutor, request = accepted_series(conn)
    other = Factory(conn).tutor()
    today = tutor_today(conn, BERLIN)
    starts = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), ZoneInfo(BERLIN))
    time_off = astegni.add_time_off(conn, tutor, starts, starts + dt.timedelta(hours=1))
    before = snapshot(conn, request)
    for change in (lambda: astegni.end_series(conn, request, today, tutor_id=other),
                   lambda: astegni.reschedule(conn, request, today, days=["Tue"], tutor_id=other),
                   lambda: astegni.preview_reschedule(conn, request, today, days=["Tue"], tutor_id=other),
                   lambda: astegni.remove_time_off(conn, time_off.id, tutor_id=other),
                   lambda: astegni.remove_time_off(conn, time_off.id + 1, tutor_id=tutor)):
        with pytest.raises(RequestNotFound) as refused:
            change()
        assert refused.value.detail["tutor_id"] in (other, tutor)
    assert snapshot(conn, request) == before
    assert [t.id for t in astegni.list_time_off(conn, tutor)] == [time_off.id]
    assert astegni.remove_time_off(conn, time_off.id, tutor_id=tutor) is True

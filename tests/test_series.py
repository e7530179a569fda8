"""Series (docs/series.md) through plain SQL: the rolling horizon and its extension, single sessions
edited by hand, ending, "this and all following", time off, and who may move the clock.

Later moments are simulated with astegni_extend_series_at, which only the owner may execute (the test
connection is the owner)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import psycopg
import pytest

import astegni
from astegni.errors import (
    ImmutableRequest,
    InvalidTimeOff,
    NotASeries,
    ScheduleConflict,
    SeriesEnded,
)
from tests.conftest import as_login
from tests.support import BERLIN, MON_WED_FRI, Factory, book, horizon, pull_back, refusal, scalar, tutor_today


def extend_at(conn: psycopg.Connection[Any], days: float) -> int:
    """The extension as it runs `days` days from now."""
    made: int = scalar(conn, "SELECT astegni_extend_series_at(now() + make_interval(secs => %s))",
                       days * 86400)
    return made


def scheduled(conn: psycopg.Connection[Any], request: int) -> list[tuple[int, dt.date, dt.time]]:
    return conn.execute("SELECT id, session_date, start_time FROM sessions WHERE request_id = %s"
                        " AND status = 'scheduled' ORDER BY session_date", (request,)).fetchall()


def ahead(conn: psycopg.Connection[Any], request: int, days: float) -> int:
    """Scheduled sessions of the request starting after now + days."""
    count: int = scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND status = 'scheduled'"
                              " AND starts_at > now() + make_interval(secs => %s)", request, days * 86400)
    return count


def end_in(conn: psycopg.Connection[Any], request: int, days: int) -> None:
    """Ends the series `days` days after the tutor's today."""
    conn.execute("SELECT astegni_end_series(%s, %s, 'ended')",
                 (request, tutor_today(conn, BERLIN) + dt.timedelta(days)))


def students(conn: psycopg.Connection[Any], request: int) -> list[int]:
    """The students of the course of the request's sessions."""
    found: list[int] = scalar(conn, "SELECT c.students_id FROM enrolled_courses AS c"
                                    " JOIN sessions AS s ON s.enrolled_courses_id = c.id"
                                    " WHERE s.request_id = %s LIMIT 1", request)
    return found


def series_request(conn: psycopg.Connection[Any], zone: str = BERLIN, **fields: Any) -> int:
    """A new Mon/Wed/Fri 10:00 request of a new tutor, accepted."""
    f = Factory(conn)
    tutor = f.tutor(zone)
    request = f.request(tutor, f.student()[0], **{**MON_WED_FRI, **fields})
    astegni.accept(conn, request)
    return request


def test_a_weekly_series_always_has_its_next_eight_weeks(conn):
    request = series_request(conn)
    assert ahead(conn, request, 0) == 24
    for days in (0.5, 3, 7, 7, 30, *range(35, 200, 7)):
        extend_at(conn, days)
        assert ahead(conn, request, days) == 24, f"{days} days on"
    dates = [d for _, d, _ in scheduled(conn, request)]
    assert len(dates) == len(set(dates))  # exactly once
    assert (dates[-1] - dates[0]).days // 7 >= 27 + 7
    assert scalar(conn, "SELECT count(*) FROM skipped_occurrences") == 0


def test_a_late_extension_records_what_it_can_no_longer_make(conn):
    request = series_request(conn)
    extend_at(conn, 70)  # two weeks past the horizon: those occurrences have already started
    assert ahead(conn, request, 70) == 24
    assert scalar(conn, "SELECT count(*) FROM skipped_occurrences WHERE request_id = %s AND reason = 'past'",
                  request) == 6


def test_extension_is_idempotent_and_logs_each_run(conn):
    request = series_request(conn)
    assert extend_at(conn, 0) == 0  # just accepted: nothing due
    assert extend_at(conn, 7) == 3
    assert extend_at(conn, 7) == 0
    assert len(scheduled(conn, request)) == 27
    # A row per batch of tutors, and per run a last one that found no tutor left.
    assert conn.execute("SELECT series_grown, sessions_made FROM astegni_extensions"
                        " WHERE last_tutor_id IS NOT NULL ORDER BY id").fetchall() == [(0, 0), (1, 3), (0, 0)]
    assert scalar(conn, "SELECT count(*) FROM astegni_extensions WHERE last_tutor_id IS NULL") == 3
    events = conn.execute("SELECT event, sessions FROM astegni_events WHERE request_id = %s ORDER BY id",
                          (request,)).fetchall()
    assert events == [("accepted", 24), ("extended", 3)]  # one event per series that grew


def test_two_extensions_at_once_make_each_session_once(conn, db_url):
    requests = [series_request(conn) for _ in range(3)]
    for request in requests:
        pull_back(conn, request, days=14)
    before = scalar(conn, "SELECT count(*) FROM sessions")
    barrier = threading.Barrier(2)
    made: list[int] = []

    def run() -> None:
        with psycopg.connect(db_url, autocommit=True) as other:
            barrier.wait()
            made.append(astegni.extend(other).sessions_made)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = scalar(conn, "SELECT count(*) FROM sessions")
    assert sorted(made)[0] == 0 and sum(made) == after - before > 0
    for request in requests:
        assert ahead(conn, request, 0) == 24


def test_a_clash_at_extension_is_skipped_and_told_whatever_the_policy(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    request = f.request(tutor, f.student()[0], **MON_WED_FRI, conflict_policy="fail")
    astegni.accept(conn, request)
    horizon = scalar(conn, "SELECT made_until FROM series WHERE request_id = %s", request)
    # Another course books the first Monday past the horizon at the series' time.
    monday = horizon.date() + dt.timedelta(days=(7 - horizon.weekday()) % 7 or 7)
    clash = book(f, tutor, monday, dt.time(9, 30), dt.time(10, 30))
    assert extend_at(conn, 14) == 5  # two weeks of Mon/Wed/Fri, that Monday skipped
    assert conn.execute("SELECT session_date, reason, clash_session_id FROM skipped_occurrences"
                        " WHERE request_id = %s", (request,)).fetchall() == [(monday, "conflict", clash)]
    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", request) == "accepted"
    assert scalar(conn, "SELECT sessions FROM astegni_events WHERE event = 'extended'") == 5


def test_sessions_cancelled_deleted_or_moved_by_hand_are_never_made_again(conn):
    request = series_request(conn)
    first, second, third, *rest = scheduled(conn, request)
    conn.execute("UPDATE sessions SET status = 'cancelled' WHERE id = %s", (first[0],))
    conn.execute("DELETE FROM sessions WHERE id = %s", (second[0],))
    # Moved to a later Tuesday: its own date is free, the Tuesday is no weekday of the series.
    conn.execute("UPDATE sessions SET session_date = session_date + 1 WHERE id = %s", (third[0],))
    later = [(i, d, t) for i, d, t in rest]
    for days in (7, 14, 60):
        extend_at(conn, days)
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s AND session_date IN (%s, %s)",
                  request, first[1], second[1]) == 1  # the cancelled one, kept; the deleted one gone
    assert scalar(conn, "SELECT status FROM sessions WHERE id = %s", first[0]) == "cancelled"
    moved = scalar(conn, "SELECT session_date FROM sessions WHERE id = %s", third[0])
    assert moved == third[1] + dt.timedelta(1)
    assert scheduled(conn, request)[1:len(later) + 1] == later  # the later ones untouched


def test_a_session_moved_past_the_horizon_keeps_its_date_from_the_extension(conn):
    request = series_request(conn)
    horizon = scalar(conn, "SELECT made_until FROM series WHERE request_id = %s", request)
    target = horizon.date() + dt.timedelta(days=(7 - horizon.weekday()) % 7 or 7)  # a Monday ahead
    moved = scheduled(conn, request)[0][0]
    conn.execute("UPDATE sessions SET session_date = %s WHERE id = %s", (target, moved))
    extend_at(conn, 14)
    assert conn.execute("SELECT id FROM sessions WHERE request_id = %s AND session_date = %s",
                        (request, target)).fetchall() == [(moved,)]


def test_a_window_that_opens_later_grows_as_time_passes_and_stops_at_its_end(conn):
    year = scalar(conn, "SELECT extract(year FROM now())::int") + 1
    request = series_request(conn, months=["March", "April"], year_range=[year])
    dates = [d for _, d, _ in scheduled(conn, request)]
    assert dates[0] >= dt.date(year, 3, 1) and dates[-1] < dt.date(year, 4, 27)
    days_to_april = (dt.datetime(year, 4, 1, tzinfo=dt.UTC) - scalar(conn, "SELECT now()")).days
    extend_at(conn, days_to_april)
    extend_at(conn, days_to_april + 200)
    dates = [d for _, d, _ in scheduled(conn, request)]
    assert {d.month for d in dates} == {3, 4} and {d.year for d in dates} == {year}
    assert len(dates) == len([d for d in (dt.date(year, 3, 1) + dt.timedelta(n) for n in range(61))
                              if d.isoweekday() in (1, 3, 5)])


def test_end_series_cancels_after_the_last_date_and_makes_no_more(conn):
    request = series_request(conn)
    last = tutor_today(conn, BERLIN) + dt.timedelta(days=20)
    expected = len([s for s in scheduled(conn, request) if s[1] > last])
    assert scalar(conn, "SELECT astegni_end_series(%s, %s, 'moving')", request, last) == expected
    assert scalar(conn, "SELECT astegni_end_series(%s, %s, 'again')", request, last) == 0
    extend_at(conn, 60)
    assert max(d for _, d, _ in scheduled(conn, request)) <= last
    assert conn.execute("SELECT DISTINCT cancelled_reason FROM sessions WHERE request_id = %s"
                        " AND status = 'cancelled'", (request,)).fetchall() == [("series_ended",)]
    assert conn.execute("SELECT last_date, ended_reason FROM series WHERE request_id = %s",
                        (request,)).fetchone() == (last, "moving")
    error = refusal(conn, "SELECT astegni_end_series(%s, %s, 'later')", request, last + dt.timedelta(1))
    assert isinstance(error, SeriesEnded) and error.field == "last_date"


def test_the_student_leaves_once_the_ended_series_is_over(conn):
    request = series_request(conn)
    enrolled = students(conn, request)
    assert len(enrolled) == 1
    end_in(conn, request, 10)
    assert students(conn, request) == enrolled
    extend_at(conn, 5)
    assert students(conn, request) == enrolled
    extend_at(conn, 12)
    assert students(conn, request) == []
    assert scalar(conn, "SELECT closed_at IS NOT NULL FROM series WHERE request_id = %s", request)

    # Ended in the past: the student leaves at once.
    other = series_request(conn)
    end_in(conn, other, -1)
    assert students(conn, other) == []
    assert scheduled(conn, other) == []


def test_only_accepted_recurring_requests_are_series(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    dated = f.request(tutor, f.student()[0], schedule_type="specific_dates", specific_dates=["2099-01-05"])
    astegni.accept(conn, dated)
    pending = f.request(tutor, f.student()[0], **MON_WED_FRI)
    for request in (dated, pending):
        for statement in ("SELECT astegni_end_series(%s, current_date, 'x')",
                          "SELECT * FROM astegni_reschedule(%s, current_date, NULL, '12:00', NULL)"):
            assert isinstance(refusal(conn, statement, request), NotASeries)
    assert refusal(conn, "SELECT astegni_end_series(%s, NULL, 'x')", pending).field == "last_date"


def test_a_time_change_moves_the_sessions_in_place(conn):
    request = series_request(conn)
    before = scheduled(conn, request)
    start = tutor_today(conn, BERLIN) + dt.timedelta(days=14)
    preview = conn.execute("SELECT * FROM preview_reschedule(%s, %s, NULL, '15:00', '16:30')",
                           (request, start)).fetchall()
    done = conn.execute("SELECT * FROM astegni_reschedule(%s, %s, NULL, '15:00', '16:30')",
                        (request, start)).fetchall()
    assert done == preview  # row for row
    # The marker's own day is made to its end: when the marker's time is before 10:00 (an acceptance
    # just after midnight), that day had no session yet, and gets one at the new time.
    marker_day = scalar(conn, "SELECT made_until::date FROM series WHERE request_id = %s", request)
    created = [row[1] for row in done if row[5] == "create"]
    assert created in ([], [marker_day])
    after = [row for row in scheduled(conn, request) if row[1] not in created]
    assert [i for i, _, _ in after] == [i for i, _, _ in before]  # the same rows
    assert [(d, t) for _, d, t in after] == [(d, dt.time(15) if d >= start else t) for _, d, t in before]
    assert {row[5] for row in done} - {"create"} == {"move"}
    assert conn.execute("SELECT start_time, end_time FROM requested_sessions WHERE id = %s",
                        (request,)).fetchone() == (dt.time(15), dt.time(16, 30))
    patterns = conn.execute("SELECT valid_from, start_time FROM series_patterns WHERE request_id = %s"
                            " ORDER BY id", (request,)).fetchall()
    assert patterns == [(tutor_today(conn, BERLIN), dt.time(10)), (start, dt.time(15))]
    # The extension goes on with the new pattern.
    extend_at(conn, 7)
    assert scheduled(conn, request)[-1][2] == dt.time(15)
    assert scalar(conn, "SELECT count(*) FROM astegni_events WHERE event = 'rescheduled'") == 1


def test_a_day_change_cancels_the_dropped_dates_and_makes_the_new_ones(conn):
    request = series_request(conn)
    start = tutor_today(conn, BERLIN) + dt.timedelta(days=7)
    rows = conn.execute("SELECT session_date, outcome, reason"
                        " FROM astegni_reschedule(%s, %s, %s, NULL, NULL)",
                        (request, start, '["Tuesday", "Wednesday"]')).fetchall()
    assert {o for _, o, _ in rows} == {"keep", "cancel", "create"}
    assert all(reason == "rescheduled" for _, o, reason in rows if o == "cancel")
    made = scheduled(conn, request)
    assert {d.isoweekday() for _, d, _ in made if d >= start} == {2, 3}
    horizon = scalar(conn, "SELECT made_until FROM series WHERE request_id = %s", request)
    assert max(d for _, d, _ in made) <= horizon.date()
    cancelled = scalar(conn, "SELECT count(*) FROM sessions WHERE request_id = %s"
                             " AND cancelled_reason = 'rescheduled'", request)
    assert cancelled == len([r for r in rows if r[1] == "cancel"]) > 0


def test_a_reschedule_that_clashes_under_policy_fail_changes_nothing(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    request = f.request(tutor, f.student()[0], **MON_WED_FRI)
    astegni.accept(conn, request)
    start = tutor_today(conn, BERLIN) + dt.timedelta(days=7)
    tuesday = start + dt.timedelta(days=(2 - start.isoweekday()) % 7)
    clash = book(f, tutor, tuesday, dt.time(10), dt.time(11))
    before = conn.execute("SELECT * FROM sessions ORDER BY id").fetchall()
    preview = conn.execute("SELECT outcome, clash_session_id FROM preview_reschedule(%s, %s, %s, NULL, NULL)"
                           " WHERE outcome = 'refuse'", (request, start, '["Tuesday"]')).fetchall()
    assert preview == [("refuse", clash)]
    error = refusal(conn, "SELECT * FROM astegni_reschedule(%s, %s, %s, NULL, NULL)", request, start,
                    '["Tuesday"]')
    assert isinstance(error, ScheduleConflict) and error.detail["clash_session_id"] == clash
    assert conn.execute("SELECT * FROM sessions ORDER BY id").fetchall() == before
    assert scalar(conn, "SELECT count(*) FROM series_patterns") == 0


def test_an_accepted_schedule_changes_only_through_reschedule(conn):
    request = series_request(conn)
    for change in ("days = '[\"Sunday\"]'", "start_time = '07:00'", "year_range = '[2030]'",
                   "schedule_type = 'specific_dates'"):
        assert isinstance(refusal(conn, f"UPDATE requested_sessions SET {change} WHERE id = %s", request),
                          ImmutableRequest)
    conn.execute("UPDATE requested_sessions SET message = 'still fine' WHERE id = %s", (request,))


def test_reschedule_refuses_bad_patterns_by_field(conn):
    request = series_request(conn)
    today = tutor_today(conn, BERLIN)
    cases = [(today, '["Funday"]', None, None, "days"), (today, "[]", None, None, "days"),
             (today, None, "10:00", "10:00", "end_time"), (None, None, "12:00", None, "from")]
    for start, days, begin, end, field in cases:
        error = refusal(conn, "SELECT * FROM astegni_reschedule(%s, %s, %s, %s, %s)", request, start, days,
                        begin, end)
        assert (error.sqlstate, error.field) == ("AS005", field)
    conn.execute("SELECT astegni_end_series(%s, %s, 'x')", (request, today + dt.timedelta(3)))
    error = refusal(conn, "SELECT * FROM astegni_reschedule(%s, %s, NULL, '12:00', '13:00')", request,
                    today + dt.timedelta(10))
    assert isinstance(error, SeriesEnded)


def test_a_reschedule_to_a_session_longer_than_the_limit_is_refused_and_changes_nothing(conn):
    request = series_request(conn)
    start = tutor_today(conn, BERLIN) + dt.timedelta(days=7)
    before = conn.execute("SELECT * FROM sessions ORDER BY id").fetchall()
    # The end alone: 10:00 to 09:00 would end the next day, 23 hours later.
    for function in ("preview_reschedule", "astegni_reschedule"):
        for begin, end, field in [(None, "09:00", "end_time"), ("09:00", "17:30", "end_time"),
                                  ("24:00", None, "start_time")]:
            error = refusal(conn, f"SELECT * FROM {function}(%s, %s, NULL, %s, %s)", request, start,
                            begin, end)
            assert (error.sqlstate, error.field) == ("AS005", field), (function, begin, end)
    assert "1380 minutes" in refusal(conn, "SELECT * FROM astegni_reschedule(%s, %s, NULL, NULL, '09:00')",
                                     request, start).message
    assert conn.execute("SELECT * FROM sessions ORDER BY id").fetchall() == before
    assert scalar(conn, "SELECT count(*) FROM series_patterns") == 0
    conn.execute("UPDATE schedule_settings SET max_session_minutes = 1440")
    conn.execute("SELECT * FROM astegni_reschedule(%s, %s, NULL, NULL, '09:00')", (request, start))
    assert scalar(conn, "SELECT end_time FROM requested_sessions WHERE id = %s", request) == dt.time(9)


def test_time_off_cancels_skips_and_comes_back_when_removed(conn):
    request = series_request(conn)
    tutor = scalar(conn, "SELECT tutor_id FROM requested_sessions WHERE id = %s", request)
    # Seven whole days of the tutor's, a week from today: one Monday, Wednesday and Friday each, whatever
    # the hour (a week from now could cut into the session running now, a fourth).
    away = conn.execute(
        "INSERT INTO tutor_time_off (tutor_id, during, reason) SELECT %s,"
        " tstzrange((d + 7)::timestamp AT TIME ZONE %s, (d + 14)::timestamp AT TIME ZONE %s), 'holiday'"
        " FROM (SELECT (now() AT TIME ZONE %s)::date AS d) AS today RETURNING id",
        (tutor, BERLIN, BERLIN, BERLIN)).fetchone()[0]
    cancelled = conn.execute("SELECT id FROM sessions WHERE request_id = %s"
                             " AND cancelled_reason = 'time_off'",
                             (request,)).fetchall()
    assert len(cancelled) == 3
    assert scalar(conn, "SELECT count(*) FROM skipped_occurrences WHERE reason = 'time_off'") == 3
    assert conn.execute("SELECT event, sessions FROM astegni_events WHERE event = 'time_off'").fetchall() == [
        ("time_off", 3)]
    # A second series of the tutor accepted now skips the time off.
    f = Factory(conn)
    other = f.request(tutor, f.student()[0], **MON_WED_FRI, start_time=dt.time(12), end_time=dt.time(13))
    assert astegni.accept(conn, other).sessions_created == 21
    assert scalar(conn, "SELECT count(*) FROM skipped_occurrences WHERE request_id = %s"
                        " AND reason = 'time_off'",
                  other) == 3

    assert extend_at(conn, 0) == 0  # still away: nothing comes back
    conn.execute("DELETE FROM tutor_time_off WHERE id = %s", (away,))
    assert extend_at(conn, 0) == 6
    assert ahead(conn, request, 0) == ahead(conn, other, 0) == 24
    # The cancelled sessions are scheduled again, the same rows.
    assert {s for (s,) in cancelled} <= {i for i, _, _ in scheduled(conn, request)}
    assert scalar(conn, "SELECT count(*) FROM skipped_occurrences") == 0



@pytest.mark.parametrize("time_off_gone", [False, True], ids=["time off kept", "time off gone"])
def test_the_markers_day_a_reschedule_skipped_is_left_to_it(conn, time_off_gone):
    """Rescheduled to a later time than the marker's, a series makes its marker's whole day anew; with
    time off over that day the new occurrence is skipped. The extension that reaches it must leave
    the date as the reschedule left it: one skipped occurrence while the time off lasts, one session
    once it has gone (not a second skipped row, nor a duplicate session refusing the whole run)."""
    # A zone whose wall clock is far from midnight and DST changes: the new time stays on its day.
    zone, wall = next((z, w) for z in ("Africa/Addis_Ababa", "Asia/Tokyo", "America/New_York")
                      for w in [scalar(conn, "SELECT now() AT TIME ZONE %s", z)]
                      if dt.time(4) <= w.time() < dt.time(22))
    f = Factory(conn)
    tutor = f.tutor(zone)
    request = f.request(tutor, f.student()[0], schedule_type="recurring",
                        days='["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]',
                        start_time=dt.time(0), end_time=dt.time(1))
    marker_day = horizon(conn, zone).date()
    away = scalar(conn, "INSERT INTO tutor_time_off (tutor_id, during) VALUES (%s, tstzrange("
                        "%s::timestamp AT TIME ZONE %s, %s::timestamp AT TIME ZONE %s)) RETURNING id",
                  tutor, marker_day, zone, marker_day + dt.timedelta(1), zone)
    astegni.accept(conn, request)
    later = (wall + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    plan = conn.execute(
        "SELECT session_date, outcome, reason FROM astegni_reschedule(%s, %s, NULL, %s, %s)",
        (request, wall.date(), later.time(), (later + dt.timedelta(hours=1)).time())).fetchall()
    assert (marker_day, "skip", "time_off") in plan
    if time_off_gone:
        conn.execute("DELETE FROM tutor_time_off WHERE id = %s", (away,))
    # A day on, a minute short of the next day's occurrence: the marker's day is all it reaches.
    at = dt.datetime.combine(wall.date() + dt.timedelta(1), later.time()) - dt.timedelta(minutes=1)
    made = scalar(conn, "SELECT astegni_extend_series_at(%s::timestamp AT TIME ZONE %s)", at, zone)
    on_marker_day = (
        conn.execute("SELECT start_time, status FROM sessions WHERE request_id = %s AND session_date = %s",
                     (request, marker_day)).fetchall(),
        conn.execute("SELECT reason FROM skipped_occurrences WHERE request_id = %s AND session_date = %s",
                     (request, marker_day)).fetchall())
    if time_off_gone:
        assert (made, on_marker_day) == (1, ([(later.time(), "scheduled")], []))
    else:
        assert (made, on_marker_day) == (0, ([], [("time_off",)]))

def test_time_off_must_be_bounded(conn):
    tutor = Factory(conn).tutor()
    for during in ("tstzrange(now(), NULL)", "tstzrange(NULL, now())", "'empty'::tstzrange",
                   "tstzrange(now(), 'infinity')", "tstzrange('-infinity', now())"):
        error = refusal(conn, f"INSERT INTO tutor_time_off (tutor_id, during) VALUES (%s, {during})", tutor)
        assert isinstance(error, InvalidTimeOff) and error.field == "during"


def test_no_client_role_moves_the_clock_or_writes_the_series(conn, db_url, logins):
    request = series_request(conn)
    with psycopg.connect(as_login(db_url, logins["app"]), autocommit=True) as app:
        for statement in ("CALL astegni_extend_series()",
                          "SELECT * FROM astegni_extend_step(0, 200)",
                          "SELECT astegni_extend_series_at(now() + interval '30 days')",
                          "INSERT INTO astegni_extensions (at) VALUES (now() + interval '30 days')",
                          "UPDATE series SET made_until = made_until - interval '7 days'",
                          "INSERT INTO series_patterns (request_id, valid_from, days)"
                          f" VALUES ({request}, current_date, '[]')",
                          "SET TimeZone = 'Pacific/Kiritimati'; SELECT astegni_extend_series_at(now())"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(statement)
        assert scalar(app, "SELECT count(*) FROM series") == 1
    with (psycopg.connect(as_login(db_url, logins["nobody"]), autocommit=True) as nobody,
          pytest.raises(psycopg.errors.InsufficientPrivilege)):
        nobody.execute("CALL astegni_extend_series()")
    assert ahead(conn, request, 0) == 24
    assert scalar(conn, "SELECT count(*) FROM astegni_extensions") == 0

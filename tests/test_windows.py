"""Which occurrences a request gets: month/year windows (a series runs inside its window, made up to
the horizon: weeks_horizon weeks past the later of now and the day the window opens), the session
limit, past dates and DST changes."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

import astegni
from astegni.errors import InvalidSchedule, TooManySessions
from tests.support import (
    BERLIN,
    Factory,
    horizon,
    last_sunday,
    next_year,
    scalar,
    session_dates,
    tutor_today,
    upcoming,
)

TEN = dt.time(10)
# Spelled out: calendar.month_name and day_name follow the locale.
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def accepted_dates(conn: psycopg.Connection[Any], zone: str = BERLIN, **fields: Any) -> list[dt.date]:
    """The session dates of a new request, accepted."""
    f = Factory(conn)
    tutor = f.tutor(zone)
    request = f.request(tutor, f.student()[0], package_id=f.package(tutor), **fields)
    result = astegni.accept(conn, request)
    dates = session_dates(conn, request)
    assert result.sessions_created == len(dates)
    return dates


def test_months_in_any_case_full_or_three_letters(conn):
    year = next_year(conn)
    dates = accepted_dates(conn, schedule_type="recurring", days=["monday"],
                           months=["JANUARY", "feb", " Mar "], year_range=[year])
    opens = dt.date(year, 1, 1)
    assert dates == upcoming(conn, BERLIN, {1}, dt.date(year, 3, 31), first=opens,
                             until=horizon(conn, BERLIN, opens))
    assert len(dates) == 8


@pytest.mark.parametrize("form", ["number", "string", "[from]", "[from, to]"])
def test_year_range_forms(conn, form):
    year = next_year(conn)
    year_range: Any = {"number": year, "string": f'"{year}"', "[from]": [year],
                       "[from, to]": [year, year + 1]}[form]
    last = year + 1 if form == "[from, to]" else year
    dates = accepted_dates(conn, schedule_type="recurring", days=["Tue"], months=["june"],
                           year_range=year_range)
    # The window opens in June of its first year: its first 8 weeks hold that June's Tuesdays.
    assert dates == upcoming(conn, BERLIN, {2}, dt.date(last, 12, 31), months={6},
                             until=horizon(conn, BERLIN, dt.date(year, 6, 1)))
    assert {d.month for d in dates} == {6} and {d.year for d in dates} == {year}
    assert conn.execute("SELECT window_start, window_end FROM series").fetchall() == [
        (dt.date(year, 6, 1), dt.date(last, 12, 31))]


def test_months_alone_are_the_twelve_months_from_the_current_one(conn):
    zone = "America/New_York"
    today = tutor_today(conn, zone)
    end_month = (today.month + 10) % 12 + 1
    end_year = today.year + (today.month + 11 > 12)
    last = dt.date(end_year, end_month, calendar.monthrange(end_year, end_month)[1])
    dates = accepted_dates(conn, zone, schedule_type="recurring", days=["Wednesday"],
                           months=MONTHS)
    assert dates == upcoming(conn, zone, {3}, last, until=horizon(conn, zone))
    # The window ends with the eleventh month after this one: this month is not taken again.
    assert conn.execute("SELECT window_start, window_end FROM series").fetchall() == [
        (today.replace(day=1), last)]


def test_year_range_alone_is_whole_years(conn):
    year = next_year(conn)
    dates = accepted_dates(conn, schedule_type="recurring", days=["Friday"], year_range=year)
    opens = dt.date(year, 1, 1)
    assert dates == upcoming(conn, BERLIN, {5}, dt.date(year, 12, 31), first=opens,
                             until=horizon(conn, BERLIN, opens))
    assert len(dates) == 8
    assert conn.execute("SELECT window_start, window_end FROM series").fetchall() == [
        (opens, dt.date(year, 12, 31))]


def test_a_window_that_has_begun_starts_now_and_records_no_past(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    year = next_year(conn) - 1
    request = f.request(tutor, f.student()[0], schedule_type="recurring",
                        days=WEEKDAYS, year_range=[year])
    expected = upcoming(conn, BERLIN, set(range(1, 8)), dt.date(year, 12, 31),
                        until=horizon(conn, BERLIN))
    result = astegni.accept(conn, request)
    assert (result.sessions_created, result.skipped) == (len(expected), ())
    assert scalar(conn, "SELECT count(*) FROM skipped_occurrences") == 0


@pytest.mark.parametrize("unset", [[], None, "null"], ids=["empty list", "SQL null", "JSON null"])
def test_empty_or_null_window_means_the_weeks_horizon(conn, unset):
    dates = accepted_dates(conn, schedule_type="recurring", days=["Monday"], months=unset,
                           year_range=unset)
    assert dates == upcoming(conn, BERLIN, {1}, dt.date(next_year(conn), 12, 31))[:8]


@pytest.mark.parametrize(("field", "months", "year_range", "value"), [
    ("months", ["Janvier"], None, "Janvier"),
    ("months", ["Jan", 3], None, "3"),
    ("months", '"January"', None, '"January"'),
    ("year_range", None, [2031, 2030], "[2031, 2030]"),
    ("year_range", None, [2030, 2031, 2032], "[2030, 2031, 2032]"),
    ("year_range", None, '"next year"', '"next year"'),
    ("year_range", None, 0, "0"),
    ("year_range", ["May"], {"from": 2030}, '{"from": 2030}'),
])
def test_malformed_windows_are_refused_by_field(conn, field, months, year_range, value):
    f = Factory(conn)
    tutor = f.tutor()
    request = f.request(tutor, f.student()[0], schedule_type="recurring", days=["Monday"],
                        months=months, year_range=year_range)
    with pytest.raises(InvalidSchedule) as refused:
        astegni.accept(conn, request)
    assert (refused.value.field, refused.value.value) == (field, value)
    assert not isinstance(refused.value, TooManySessions)
    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", request) == "pending"
    assert scalar(conn, "SELECT count(*) FROM sessions") == 0


def test_session_limit_counts_the_sessions_the_window_would_make(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    year = next_year(conn)
    window = {"schedule_type": "recurring", "days": ["Mon", "Thu"], "months": ["Jan"],
              "year_range": [year]}
    made = len(upcoming(conn, BERLIN, {1, 4}, dt.date(year, 1, 31), first=dt.date(year, 1, 1)))
    request = f.request(tutor, f.student()[0], **window)
    conn.execute("UPDATE schedule_settings SET session_limit = %s", (made - 1,))
    with pytest.raises(TooManySessions) as refused:
        astegni.accept(conn, request)
    assert (refused.value.field, refused.value.value) == ("year_range", str(made))
    conn.execute("UPDATE schedule_settings SET session_limit = %s", (made,))
    assert astegni.accept(conn, request).sessions_created == made


@pytest.mark.parametrize("zone", [BERLIN, "America/New_York"])
def test_window_across_dst_changes_keeps_the_wall_clock_time(conn, zone):
    year = next_year(conn)
    f = Factory(conn)
    tutor = f.tutor(zone)
    request = f.request(tutor, f.student()[0], schedule_type="recurring", days=["Sunday"],
                        months=["March", "April", "October", "November"], year_range=[year])
    astegni.accept(conn, request)
    rows = conn.execute("SELECT session_date, start_time, starts_at, ends_at, duration FROM sessions"
                        " WHERE request_id = %s ORDER BY 1", (request,)).fetchall()
    tz = ZoneInfo(zone)
    opens = dt.date(year, 3, 1)
    assert [r[0] for r in rows] == upcoming(conn, zone, {7}, dt.date(year, 12, 31),
                                            months={3, 4, 10, 11}, first=opens,
                                            until=horizon(conn, zone, opens))
    for day, start, starts_at, ends_at, duration in rows:
        assert start == TEN
        assert starts_at == dt.datetime.combine(day, TEN, tz)
        assert (ends_at - starts_at, duration) == (dt.timedelta(hours=1), 60)
    # Summer and winter time both occur: the instants moved, the wall clock did not.
    assert len({r[2].astimezone(tz).utcoffset() for r in rows}) == 2


def test_past_specific_dates_are_recorded_not_made(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    today = tutor_today(conn, BERLIN)
    past, future = today - dt.timedelta(days=3), dt.date(next_year(conn), 2, 1)
    request = f.request(tutor, f.student()[0], schedule_type="specific_dates",
                        specific_dates=[past.isoformat(), future.isoformat()])
    result = astegni.accept(conn, request)
    starts = dt.datetime.combine(past, TEN, ZoneInfo(BERLIN))
    assert result.sessions_created == 1
    assert result.skipped == (astegni.Skipped(past, starts, starts + dt.timedelta(hours=1), "past", None),)
    assert conn.execute("SELECT session_date, reason FROM skipped_occurrences WHERE request_id = %s",
                        (request,)).fetchall() == [(past, "past")]


def test_specific_date_in_a_dst_gap_is_recorded_not_made(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    gap = last_sunday(next_year(conn), 3)
    ordinary = gap + dt.timedelta(days=7)
    request = f.request(tutor, f.student()[0], schedule_type="specific_dates",
                        specific_dates=[gap.isoformat(), ordinary.isoformat()],
                        start_time=dt.time(2, 30), end_time=dt.time(3, 15))
    result = astegni.accept(conn, request)
    assert result.sessions_created == 1
    assert [(s.session_date, s.reason, s.clash_session_id) for s in result.skipped] == [
        (gap, "dst_gap", None)]
    assert conn.execute("SELECT session_date, duration FROM sessions WHERE request_id = %s",
                        (request,)).fetchall() == [(ordinary, 45)]
    assert conn.execute("SELECT session_date, reason FROM skipped_occurrences WHERE request_id = %s",
                        (request,)).fetchall() == [(gap, "dst_gap")]


def test_a_dst_gap_inside_the_weeks_horizon_is_recorded_not_made(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    gap = last_sunday(next_year(conn), 3)
    start = dt.time(2, 30)
    # A horizon reaching two weeks past the gap: the horizon is wall-clock weeks, the gap one of them.
    weeks = (gap - tutor_today(conn, BERLIN)).days // 7 + 3
    conn.execute("UPDATE schedule_settings SET weeks_horizon = %s", (weeks,))
    sundays = upcoming(conn, BERLIN, {7}, gap + dt.timedelta(weeks=3), start=start,
                       until=horizon(conn, BERLIN, weeks=weeks))
    request = f.request(tutor, f.student()[0], schedule_type="recurring", days=["Sunday"],
                        start_time=start, end_time=dt.time(3, 15))
    result = astegni.accept(conn, request)
    assert gap in sundays and sundays[-1] >= gap + dt.timedelta(weeks=2)
    assert result.sessions_created == len(sundays) - 1
    assert [(s.session_date, s.reason) for s in result.skipped] == [(gap, "dst_gap")]
    assert session_dates(conn, request) == [d for d in sundays if d != gap]

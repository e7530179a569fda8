"""Edits before accepting: the tutor leaves out occurrences (`without`) or moves single ones (`moves`) in
the step that accepts, through astegni.accept, astegni_accept and the same arguments on the preview."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

import astegni
from astegni.errors import AlreadyResponded, InvalidEdit, ScheduleConflict
from tests.conftest import as_login
from tests.support import (
    ADDIS_ABABA,
    BERLIN,
    MON_WED_FRI,
    Factory,
    book,
    last_sunday,
    next_year,
    pull_back,
    scalar,
)

TEN, ELEVEN = dt.time(10), dt.time(11)
THREE, FOUR = dt.time(15), dt.time(16)


def series(conn: psycopg.Connection[Any], zone: str = ADDIS_ABABA, **fields: Any) -> tuple[Factory, int, int]:
    """A tutor's pending Mon/Wed/Fri request at 10:00-11:00: (factory, tutor, request)."""
    f = Factory(conn)
    tutor = f.tutor(zone)
    return f, tutor, f.request(tutor, f.student()[0], **{**MON_WED_FRI, **fields})


def made(conn: psycopg.Connection[Any], request: int) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT session_date, start_time, end_time, starts_at, ends_at, duration"
                        " FROM sessions WHERE request_id = %s AND status = 'scheduled' ORDER BY 1",
                        (request,)).fetchall()


def skipped(conn: psycopg.Connection[Any], request: int) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT session_date, starts_at, ends_at, reason, clash_session_id"
                        " FROM skipped_occurrences WHERE request_id = %s ORDER BY 1", (request,)).fetchall()


def test_an_occurrence_left_out_is_one_fewer_recorded_and_never_made_by_the_extension(conn):
    _, _, request = series(conn)
    full = astegni.preview(conn, request)
    left_out = full[3].session_date
    result = astegni.accept(conn, request, without=[left_out])

    assert result.sessions_created == len(made(conn, request)) == len(full) - 1 == 23
    assert left_out not in [row[0] for row in made(conn, request)]
    assert [(s.session_date, s.reason) for s in result.skipped] == [(left_out, "tutor_edit")]
    assert [(row[0], row[3]) for row in skipped(conn, request)] == [(left_out, "tutor_edit")]
    assert scalar(conn, "SELECT count(*) FROM acceptance_edits") == 0  # consumed by the acceptance

    # The extension not run for two weeks, then run as cron runs it: it makes those weeks again; weeks
    # later it makes the new ones; never the date left out, which the acceptance judged (the extension
    # makes only what lies past the series' marker, which the acceptance set past every occurrence).
    pull_back(conn, request, days=14)
    assert astegni.extend(conn).sessions_made == 6
    grown = scalar(conn, "SELECT astegni_extend_series_at(now() + interval '30 days')")
    assert grown > 0
    dates = [row[0] for row in made(conn, request)]
    assert left_out not in dates and len(dates) == 23 + grown
    assert [(row[0], row[3]) for row in skipped(conn, request)] == [(left_out, "tutor_edit")]
    assert scalar(conn, "SELECT count(*) FROM series_patterns WHERE request_id = %s", request) == 0


def test_a_move_is_what_its_preview_showed_and_the_series_keeps_its_pattern(conn):
    _, _, request = series(conn, BERLIN)
    dates = [r.session_date for r in astegni.preview(conn, request)]
    moved, left_out = dates[5], dates[0]
    edits: dict[str, Any] = {"without": [left_out], "moves": {moved: (THREE, FOUR)}}
    rows = astegni.preview(conn, request, **edits)
    plain = conn.execute("SELECT * FROM preview_sessions(%s, %s, %s)", (
        request, [left_out], json.dumps({moved.isoformat(): {"start_time": "15:00", "end_time": "16:00"}}))
    ).fetchall()
    assert [tuple(vars(r).values()) for r in rows] == plain
    [row] = [r for r in rows if r.session_date == moved]
    assert (row.outcome, row.duration) == ("create", 60)
    assert row.starts_at == dt.datetime.combine(moved, THREE, ZoneInfo(BERLIN))

    astegni.accept(conn, request, **edits)
    assert made(conn, request) == [
        (r.session_date, *((THREE, FOUR) if r.session_date == moved else (TEN, ELEVEN)), r.starts_at,
         r.ends_at, r.duration) for r in rows if r.outcome == "create"]
    assert [(r.session_date, r.starts_at, r.ends_at, r.reason, r.clash_session_id)
            for r in rows if r.outcome == "skip"] == skipped(conn, request)
    # The request's pattern is its own: one occurrence moved, the others and the next weeks at 10:00.
    assert conn.execute("SELECT start_time, end_time FROM requested_sessions WHERE id = %s",
                        (request,)).fetchone() == (TEN, ELEVEN)
    scalar(conn, "SELECT astegni_extend_series_at(now() + interval '30 days')")
    times = conn.execute("SELECT DISTINCT start_time FROM sessions"
                         " WHERE request_id = %s AND session_date <> %s", (request, moved)).fetchall()
    assert times == [(TEN,)]


def test_a_move_onto_another_course_is_a_clash_like_any_other(conn):
    f, tutor, fail = series(conn)
    dates = [r.session_date for r in astegni.preview(conn, fail)]
    clash = book(f, tutor, dates[2], dt.time(15, 30), dt.time(16, 30))
    # At its own time it is free; moved onto the other course it clashes, and refuses a 'fail' request.
    assert all(r.outcome == "create" for r in astegni.preview(conn, fail))
    rows = astegni.preview(conn, fail, moves={dates[2]: (THREE, FOUR)})
    assert [(r.outcome, r.reason, r.clash_session_id) for r in rows if r.session_date == dates[2]] == [
        ("refuse", "conflict", clash)]
    with pytest.raises(ScheduleConflict) as refused:
        astegni.accept(conn, fail, moves={dates[2]: (THREE, FOUR)})
    assert (refused.value.clash_session_id, refused.value.detail["session_date"],
            refused.value.detail["start_time"]) == (clash, dates[2].isoformat(), "15:00")
    assert f"clashes on {dates[2]} at 15:00" in refused.value.message
    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", fail) == "pending"
    assert scalar(conn, "SELECT count(*) FROM acceptance_edits") == 0  # rolled back with the statement

    skip = f.request(tutor, f.student()[0], conflict_policy="skip", **MON_WED_FRI)
    result = astegni.accept(conn, skip, moves={dates[2]: (THREE, FOUR)})
    assert result.sessions_created == len(dates) - 1
    assert [(s.session_date, s.reason, s.clash_session_id) for s in result.skipped] == [
        (dates[2], "conflict", clash)]


def test_a_move_away_from_a_clash_makes_the_session(conn):
    f, tutor, request = series(conn)
    dates = [r.session_date for r in astegni.preview(conn, request)]
    book(f, tutor, dates[1], dt.time(10, 30), dt.time(11, 30))
    with pytest.raises(ScheduleConflict):
        astegni.accept(conn, request)
    result = astegni.accept(conn, request, moves={dates[1]: (THREE, FOUR)})
    assert (result.sessions_created, result.skipped) == (len(dates), ())


def test_a_move_into_a_dst_gap_is_skipped_as_dst_gap(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    gap_day, other = last_sunday(next_year(conn), 3), dt.date(next_year(conn), 2, 7)
    request = f.request(tutor, f.student()[0], schedule_type="specific_dates",
                        specific_dates=[gap_day.isoformat(), other.isoformat()])
    moves = {gap_day: (dt.time(2, 30), dt.time(3, 15))}
    rows = astegni.preview(conn, request, moves=moves)
    assert [(r.session_date, r.outcome, r.reason) for r in rows] == [
        (other, "create", None), (gap_day, "skip", "dst_gap")]
    result = astegni.accept(conn, request, moves=moves)
    assert [(s.session_date, s.reason) for s in result.skipped] == [(gap_day, "dst_gap")]


def test_a_request_whose_only_occurrence_is_moved_into_a_dst_gap_makes_nothing(conn):
    """Its instants end before they start (02:30 is read past the gap, 03:00 is not): no window of
    times to probe the tutor's booked sessions with, and no error either."""
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    gap_day = last_sunday(next_year(conn), 3)
    book(f, tutor, gap_day + dt.timedelta(days=7), dt.time(9), dt.time(10))
    request = f.request(tutor, f.student()[0], schedule_type="specific_dates",
                        specific_dates=[gap_day.isoformat()])
    moves = {gap_day: (dt.time(2, 30), dt.time(3, 0))}
    rows = astegni.preview(conn, request, moves=moves)
    assert [(r.outcome, r.reason) for r in rows] == [("skip", "dst_gap")]
    result = astegni.accept(conn, request, moves=moves)
    assert (result.sessions_created, [s.reason for s in result.skipped]) == (0, ["dst_gap"])


@pytest.mark.parametrize(("edits", "field", "problem"), [
    ({"without": ["next-week"]}, "without", "is not one of its occurrences"),
    ({"moves": {"next-week": ["15:00", "16:00"]}}, "moves", "is not one of its occurrences"),
    ({"moves": {0: ["24:00", "01:00"]}}, "moves", "start_time is 24:00, not a time of day"),
    ({"moves": {0: ["09:00", "18:00"]}}, "moves", "end_time makes a session of 540 minutes"),
    ({"moves": {0: ["22:00", "07:00"]}}, "moves", "540 minutes (22:00 to 07:00 the next day)"),
    ({"moves": {0: ["15:00", "15:00"]}}, "moves", "ends when it starts (15:00)"),
    ({"moves": {0: ["15:00", "3pm"]}}, "moves", 'needs end_time as a time of day (HH:MM), not "3pm"'),
    ({"moves": {0: ["15:00", "16:00"]}, "without": [0]}, "moves", "is both left out (without) and moved"),
])
def test_an_edit_that_cannot_apply_is_refused_naming_it(conn, edits, field, problem):
    _, _, request = series(conn)
    dates = [r.session_date for r in astegni.preview(conn, request)]
    day = {0: dates[0], "next-week": dates[0] + dt.timedelta(days=1)}  # a Tuesday: no occurrence
    without = [day[d] for d in edits.get("without", [])]
    moves = {day[d].isoformat(): {"start_time": start, "end_time": end}
             for d, (start, end) in edits.get("moves", {}).items()}
    for function in ("preview_sessions(%s, %s, %s)", "astegni_accept(%s, NULL, %s, %s)"):
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(f"SELECT * FROM {function}", (request, without, json.dumps(moves)))
        error = astegni.errors.translate(refused.value)
        assert isinstance(error, InvalidEdit), refused.value
        named = day["next-week"] if "occurrences" in problem else dates[0]
        assert (error.field, error.value) == (field, named.isoformat())
        assert problem in error.message, error.message
    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", request) == "pending"


def test_moves_not_written_as_an_object_of_dates_are_refused(conn):
    _, _, request = series(conn)
    for moves, value, problem in (
            ('["2027-01-13"]', '["2027-01-13"]', "moves is a JSON array, not an object"),
            ('{"13 Jan": {"start_time": "15:00", "end_time": "16:00"}}', "13 Jan", "is not a date"),
            ('{"2027-01-13": "15:00"}', "2027-01-13", 'needs start_time as a time of day (HH:MM)')):
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT * FROM astegni_accept(%s, NULL, '{}', %s)", (request, moves))
        error = astegni.errors.translate(refused.value)
        assert isinstance(error, InvalidEdit) and (error.field, error.value) == ("moves", value)
        assert problem in error.message, error.message
    with pytest.raises(psycopg.Error) as refused:
        conn.execute("SELECT * FROM astegni_accept(%s, NULL, '{NULL}')", (request,))
    assert refused.value.diag.sqlstate == "AS017"


def test_edits_of_a_request_already_answered_are_refused_as_its_acceptance(conn):
    _, _, request = series(conn)
    day = astegni.preview(conn, request)[0].session_date
    astegni.accept(conn, request)
    for edits in ({"without": [day]}, {"moves": {day: (THREE, FOUR)}}):
        with pytest.raises(AlreadyResponded):
            astegni.accept(conn, request, **edits)
        with pytest.raises(AlreadyResponded):
            astegni.preview(conn, request, **edits)


def test_edits_staged_by_another_transaction_are_never_applied(conn):
    """Only astegni_accept stages edits, just before its UPDATE; a direct call that did not accept leaves
    rows that a later acceptance by hand ignores, and that the next staging replaces."""
    _, _, request = series(conn)
    day = astegni.preview(conn, request)[0].session_date
    conn.execute("SELECT astegni_stage_edits(%s, %s, '{}')", (request, [day]))
    assert scalar(conn, "SELECT count(*) FROM acceptance_edits") == 1
    conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s", (request,))
    assert (len(made(conn, request)), skipped(conn, request)) == (24, [])


def test_python_edits_name_their_dates_and_times(conn):
    _, _, request = series(conn)
    day = astegni.preview(conn, request)[0].session_date
    with pytest.raises(TypeError, match=r"datetime\.date"):
        astegni.preview(conn, request, without=[day.isoformat()])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"datetime\.date"):
        astegni.accept(conn, request, without=[dt.datetime.combine(day, TEN)])
    with pytest.raises(TypeError, match=r"\(start, end\) pair"):
        astegni.accept(conn, request, moves={day: ("15:00", "16:00")})  # type: ignore[dict-item]
    # The same date given twice is one edit.
    assert astegni.accept(conn, request, without=[day, day]).sessions_created == 23


def test_the_apps_role_accepts_with_edits_but_writes_no_edit_itself(conn, db_url, logins):
    _, tutor, request = series(conn)
    dates = [r.session_date for r in astegni.preview(conn, request)]
    with psycopg.connect(as_login(db_url, logins["app"]), autocommit=True) as app:
        assert len(astegni.preview(app, request, without=[dates[0]])) == len(dates)
        result = astegni.accept(app, request, tutor_id=tutor, without=[dates[0]],
                                moves={dates[1]: (THREE, FOUR)})
        assert result.sessions_created == len(dates) - 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("INSERT INTO acceptance_edits (request_id, session_date) VALUES (%s, %s)",
                        (request, dates[2]))

"""Issue 2, "The rule": every point of the acceptance rule, asserted on a real database.

Dates are picked relative to the database's now() (next year), so the tests never go stale.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

import astegni
from astegni.accept import NOTES
from astegni.errors import (
    AlreadyResponded,
    InvalidPackage,
    InvalidSchedule,
    InvalidTransition,
    NoStudent,
    TooManySessions,
)
from tests.support import (
    ADDIS_ABABA,
    NOTHING,
    Factory,
    hour_from,
    last_sunday,
    next_year,
    refusal,
    request_row,
    scalar,
    session_dates,
    sessions,
    slot_ahead,
    tutor_today,
    upcoming,
    written,
)

# The app's columns are naive timestamps: the rule writes UTC wall-clock time into them.
UTC_NOW = "SELECT now() AT TIME ZONE 'UTC'"


def enrolment(conn: psycopg.Connection[Any], tutor: int, student: int) -> tuple[Any, ...]:
    rows = conn.execute(
        "SELECT package_id, agreed_price, updated_at FROM enrolled_students"
        " WHERE tutor_id = %s AND student_id = %s", (tutor, student)).fetchall()
    assert len(rows) == 1
    return rows[0]


# 1. responded_at and updated_at ------------------------------------------------------------------

def test_responded_at_and_updated_at_are_the_transaction_time(conn):
    request = Factory(conn).pending()
    with conn.transaction():
        conn.execute("SET LOCAL TimeZone = 'Pacific/Kiritimati'")  # the client's zone changes nothing
        [[now]] = conn.execute(UTC_NOW).fetchall()
        conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s", (request,))
    row = request_row(conn, request)
    assert row["status"] == "accepted"
    assert row["responded_at"] == now
    assert row["updated_at"] == now
    assert row["rejected_at"] is None


# 2. The student -----------------------------------------------------------------------------------

def test_student_is_requested_to_id(conn):
    f = Factory(conn)
    tutor = f.tutor()
    parent = f.user()
    conn.execute("INSERT INTO parent_profiles (user_id) VALUES (%s)", (parent,))
    _, child = f.student()
    request = f.request(tutor, parent, requester_type="parent", requested_to_id=child)
    astegni.accept(conn, request)
    assert conn.execute("SELECT student_id FROM enrolled_students").fetchall() == [(child,)]
    assert conn.execute("SELECT students_id FROM enrolled_courses").fetchall() == [([child],)]


def test_student_is_the_requesting_students_profile(conn):
    f = Factory(conn)
    tutor = f.tutor()
    f.student()  # another student, who must not be enrolled
    user, student = f.student()
    request = f.request(tutor, user)
    astegni.accept(conn, request)
    assert conn.execute("SELECT student_id FROM enrolled_students").fetchall() == [(student,)]


@pytest.mark.parametrize("requester_type", ["parent", "student"])
def test_request_naming_no_student_is_refused_and_writes_nothing(conn, requester_type):
    f = Factory(conn)
    tutor = f.tutor()
    requester = f.user()  # no student profile
    if requester_type == "parent":
        conn.execute("INSERT INTO parent_profiles (user_id) VALUES (%s)", (requester,))
    request = f.request(tutor, requester, requester_type=requester_type,
                        schedule_type="specific_dates", specific_dates=[f"{next_year(conn)}-05-03"])
    with pytest.raises(NoStudent) as caught:
        astegni.accept(conn, request)
    assert caught.value.request_id == request
    assert request_row(conn, request)["status"] == "pending"
    assert request_row(conn, request)["responded_at"] is None
    assert written(conn) == NOTHING


# 3. agreed_price ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("counter_offer", "expected"), [
    (Decimal("0"), Decimal("0.00")),
    (Decimal("12.50"), Decimal("12.50")),
    (None, Decimal("25.00")),
])
def test_agreed_price_is_the_counter_offer_else_the_package_rate(conn, counter_offer, expected):
    f = Factory(conn)
    tutor = f.tutor()
    user, student = f.student()
    package = f.package(tutor, rate="25.00")
    request = f.request(tutor, user, package_id=package, counter_offer_price=counter_offer)
    result = astegni.accept(conn, request)
    assert result.agreed_price == expected
    assert enrolment(conn, tutor, student)[1] == expected


# 4. enrolled_students -----------------------------------------------------------------------------

def test_enrolment_is_refreshed_by_a_later_acceptance(conn):
    f = Factory(conn)
    tutor = f.tutor()
    user, student = f.student()
    first, second = f.package(tutor, rate="25.00"), f.package(tutor, rate="40.00")
    astegni.accept(conn, f.request(tutor, user, package_id=first))
    request = f.request(tutor, user, package_id=second, counter_offer_price=Decimal("33.00"))
    with conn.transaction():
        [[now]] = conn.execute(UTC_NOW).fetchall()
        astegni.accept(conn, request)
    assert enrolment(conn, tutor, student) == (second, Decimal("33.00"), now)
    assert conn.execute("SELECT count(*) FROM enrolled_students").fetchall() == [(1,)]


# 5. enrolled_courses ------------------------------------------------------------------------------

def test_course_per_tutor_and_package_with_the_package_courses(conn):
    f = Factory(conn)
    tutor = f.tutor()
    package = f.package(tutor, courses=[7, 9])
    (user_a, student_a), (user_b, student_b) = f.student(), f.student()
    results = [astegni.accept(conn, f.request(tutor, user, package_id=package))
               for user in (user_a, user_b, user_a)]  # the second request of student a changes nothing
    assert len({r.enrolled_course_id for r in results}) == 1
    assert conn.execute(
        "SELECT id, tutor_id, package_id, course_id, students_id FROM enrolled_courses"
    ).fetchall() == [(results[0].enrolled_course_id, tutor, package, [7, 9], [student_a, student_b])]


@pytest.mark.parametrize("whose", ["none", "another tutor's"])
def test_a_package_that_is_not_the_tutors_is_refused_by_name(conn, whose):
    # enrolled_students.package_id is NOT NULL, and a package sets the course and the price.
    f = Factory(conn)
    tutor = f.tutor()
    user, _ = f.student()
    package = f.package(f.tutor()) if whose == "another tutor's" else None
    request = f.request(tutor, user, package_id=package, schedule_type="recurring", days=["Mon"])
    with pytest.raises(InvalidPackage) as caught:
        astegni.accept(conn, request)
    assert (caught.value.request_id, caught.value.field) == (request, "package_id")
    assert caught.value.value == (None if package is None else str(package))
    assert str(request) in caught.value.message
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING


def test_two_requests_of_one_student_in_one_statement_enrol_them_once(conn):
    f = Factory(conn)
    tutor = f.tutor()
    user, student = f.student()
    package = f.package(tutor)
    requests = [f.request(tutor, user, package_id=package) for _ in range(2)]
    conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = ANY (%s)", (requests,))
    assert conn.execute("SELECT students_id FROM enrolled_courses").fetchall() == [([student],)]


# 6. Sessions from the schedule ---------------------------------------------------------------------

def test_no_schedule_is_accepted_with_no_sessions(conn):
    request = Factory(conn).pending(schedule_type=None)
    result = astegni.accept(conn, request)
    assert (result.status, result.sessions_created) == ("accepted", 0)
    assert sessions(conn, request) == []
    assert request_row(conn, request)["status"] == "accepted"


@pytest.mark.parametrize("schedule_type", ["specific_dates", "specific"])
def test_specific_dates_one_session_per_distinct_date_past_skipped(conn, schedule_type):
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, _ = f.student()
    year = next_year(conn)
    yesterday = tutor_today(conn, "Europe/Berlin") - dt.timedelta(days=1)
    dates = [f"{year}-03-02", f"{year}-03-02", f"{year}-01-15", "2020-01-01", yesterday.isoformat()]
    request = f.request(tutor, user, schedule_type=schedule_type, specific_dates=dates)
    result = astegni.accept(conn, request)
    assert result.sessions_created == 2
    assert [r[0] for r in sessions(conn, request)] == [dt.date(year, 1, 15), dt.date(year, 3, 2)]
    assert [(s.session_date, s.reason) for s in result.skipped] == [
        (dt.date(2020, 1, 1), "past"), (yesterday, "past")]


def test_recurring_weekday_spellings_make_eight_weeks_of_each(conn):
    zone = "Africa/Addis_Ababa"
    request = Factory(conn).pending(zone, schedule_type="recurring", days=["monday", " Wednesday", "FRI"])
    result = astegni.accept(conn, request)
    dates = session_dates(conn, request)
    assert result.sessions_created == len(dates) == 24
    assert {d.isoweekday() for d in dates} == {1, 3, 5}
    assert all(sum(d.isoweekday() == w for d in dates) == 8 for w in (1, 3, 5))
    # The next 24 occurrences: no Mon/Wed/Fri missing in between, the one before already started.
    every = [dates[0] + dt.timedelta(days=n) for n in range((dates[-1] - dates[0]).days + 1)]
    assert dates == [d for d in every if d.isoweekday() in (1, 3, 5)]
    before = dates[0] - dt.timedelta(days=1)
    while before.isoweekday() not in (1, 3, 5):
        before -= dt.timedelta(days=1)
    assert dt.datetime.combine(before, dt.time(10), ZoneInfo(zone)) <= result.responded_at
    [[first_start]] = conn.execute(
        "SELECT min(starts_at) FROM sessions WHERE request_id = %s", (request,)).fetchall()
    assert first_start > result.responded_at


def test_recurring_counts_each_weekday_once(conn):
    request = Factory(conn).pending(schedule_type="recurring",
                                    days=["Mon", "monday", " MONDAY ", "tue"])
    assert astegni.accept(conn, request).sessions_created == 16


def test_weeks_come_from_schedule_settings(conn):
    conn.execute("UPDATE schedule_settings SET weeks_horizon = 2")
    request = Factory(conn).pending(schedule_type="recurring", days=["Mon", "Wed", "Fri"])
    assert astegni.accept(conn, request).sessions_created == 6
    assert len(session_dates(conn, request)) == 6


def test_overnight_session_ends_the_next_day(conn):
    zone = "America/New_York"
    f = Factory(conn)
    tutor = f.tutor(zone)
    user, _ = f.student()
    day = dt.date(next_year(conn), 6, 15)
    request = f.request(tutor, user, schedule_type="specific_dates", specific_dates=[day.isoformat()],
                        start_time=dt.time(22, 30), end_time=dt.time(1, 15))
    astegni.accept(conn, request)
    [(session_date, start, end, duration, starts_at, ends_at, _)] = sessions(conn, request)
    assert (session_date, start, end, duration) == (day, dt.time(22, 30), dt.time(1, 15), 165)
    assert starts_at == dt.datetime.combine(day, dt.time(22, 30), ZoneInfo(zone))
    assert ends_at == dt.datetime.combine(day + dt.timedelta(days=1), dt.time(1, 15), ZoneInfo(zone))


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles", "Africa/Addis_Ababa"])
def test_starts_at_is_the_wall_clock_time_in_the_tutors_zone(conn, zone):
    f = Factory(conn)
    tutor = f.tutor(zone)
    user, _ = f.student()
    day = dt.date(next_year(conn), 6, 15)
    request = f.request(tutor, user, schedule_type="specific_dates", specific_dates=[day.isoformat()])
    astegni.accept(conn, request)
    [(_, _, _, duration, starts_at, ends_at, _)] = sessions(conn, request)
    assert starts_at == dt.datetime.combine(day, dt.time(10), ZoneInfo(zone))
    assert ends_at == dt.datetime.combine(day, dt.time(11), ZoneInfo(zone))
    assert duration == 60


def test_dst_changes_keep_the_wall_clock_time(conn):
    berlin = ZoneInfo("Europe/Berlin")
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, _ = f.student()
    year = next_year(conn)
    days = [sunday + dt.timedelta(days=shift)
            for sunday in (last_sunday(year, 3), last_sunday(year, 10)) for shift in (-1, 0, 1)]
    request = f.request(tutor, user, schedule_type="specific_dates",
                        specific_dates=[d.isoformat() for d in days])
    astegni.accept(conn, request)
    rows = sessions(conn, request)
    assert [r[0] for r in rows] == days
    for _, start, end, duration, starts_at, ends_at, _ in rows:
        local = starts_at.astimezone(berlin)
        assert (local.time(), ends_at.astimezone(berlin).time()) == (dt.time(10), dt.time(11))
        assert (start, end, duration) == (dt.time(10), dt.time(11), 60)
    offsets = [r[4].astimezone(berlin).utcoffset() for r in rows]
    winter, summer = dt.timedelta(hours=1), dt.timedelta(hours=2)
    assert offsets == [winter, summer, summer, summer, winter, winter]


def test_dst_gap_occurrence_is_skipped(conn):
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, _ = f.student()
    sunday = last_sunday(next_year(conn), 3)
    saturday = sunday - dt.timedelta(days=1)
    request = f.request(tutor, user, schedule_type="specific_dates",
                        specific_dates=[saturday.isoformat(), sunday.isoformat()],
                        start_time=dt.time(2, 30), end_time=dt.time(3, 0))
    result = astegni.accept(conn, request)
    assert session_dates(conn, request) == [saturday]
    assert [(s.session_date, s.reason) for s in result.skipped] == [(sunday, "dst_gap")]


def test_client_time_zone_setting_is_irrelevant(db_url, conn):
    # UTC-12 for the tutor, UTC+14 and UTC-11 for the clients: the first client's date is always a
    # day or two after the tutor's, so a rule reading the client's date misses the next slot.
    zone = "Etc/GMT+12"
    f = Factory(conn)
    first = slot_ahead(conn, zone, 2)
    start, end = hour_from(first)
    today = tutor_today(conn, zone)
    dates = [(today + dt.timedelta(days=n)).isoformat() for n in (-1, 0, 1, 2)]
    results = []
    for client_zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        tutor = f.tutor(zone)
        user, _ = f.student()
        package = f.package(tutor)
        requests = [
            f.request(tutor, user, package_id=package, schedule_type="recurring",
                      days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                      start_time=start, end_time=end),
            f.request(tutor, user, package_id=package, schedule_type="specific_dates",
                      specific_dates=dates, start_time=start, end_time=end),
        ]
        with psycopg.connect(db_url, autocommit=True) as client:
            client.execute(f"SET TimeZone = '{client_zone}'")
            client.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = ANY (%s)",
                           (requests,))
        results.append([sessions(conn, r) for r in requests])
    assert results[0] == results[1]
    recurring = results[0][0]
    assert len(recurring) == 56
    assert recurring[0][0] == first.date()
    assert recurring[0][4] == first.replace(tzinfo=ZoneInfo(zone))


def test_more_sessions_than_the_limit_are_refused(conn):
    f = Factory(conn)
    tutor = f.tutor()
    user, _ = f.student()
    first = dt.date(next_year(conn), 1, 1)
    dates = [(first + dt.timedelta(days=n)).isoformat() for n in range(201)]
    request = f.request(tutor, user, schedule_type="specific_dates", specific_dates=dates)
    with pytest.raises(TooManySessions) as caught:
        astegni.accept(conn, request)
    assert (caught.value.request_id, caught.value.field, caught.value.value) == (
        request, "specific_dates", "201")
    assert request_row(conn, request)["status"] == "pending"
    assert written(conn) == NOTHING
    # 200 dates are allowed.
    allowed = f.request(tutor, user, schedule_type="specific_dates", specific_dates=dates[:200])
    assert astegni.accept(conn, allowed).sessions_created == 200


def test_recurring_limit_counts_the_configured_weeks(conn):
    conn.execute("UPDATE schedule_settings SET weeks_horizon = 30")
    request = Factory(conn).pending(schedule_type="recurring",
                                    days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    with pytest.raises(TooManySessions) as caught:
        astegni.accept(conn, request)
    assert (caught.value.field, caught.value.value) == ("days", "210")
    assert written(conn) == NOTHING


def test_topics_and_defaults(conn):
    f = Factory(conn)
    tutor = f.tutor()
    user, _ = f.student()
    package = f.package(tutor)  # one course: its sessions may share a slot
    day = f"{next_year(conn)}-04-07"
    for message, topics in (("Algebra", ["Algebra"]), (None, []), ("   ", [])):
        request = f.request(tutor, user, schedule_type="specific_dates", specific_dates=[day],
                            message=message, package_id=package)
        result = astegni.accept(conn, request)
        assert sessions(
            conn, request,
            "topics, session_mode, status, priority_level, request_id, tutor_id, enrolled_courses_id"
        ) == [(topics, "online", "scheduled", "medium", request, tutor, result.enrolled_course_id)]


# 7. Malformed schedules ---------------------------------------------------------------------------

MALFORMED = [
    ({"schedule_type": "weekly", "days": ["Mon"]}, "schedule_type", "weekly"),
    ({"schedule_type": "recurring", "days": ["Monday", "Funday"]}, "days", "Funday"),
    ({"schedule_type": "specific_dates", "specific_dates": ["2027-02-30"]},
     "specific_dates", "2027-02-30"),
    ({"schedule_type": "specific", "specific_dates": ["not-a-date"]}, "specific_dates", "not-a-date"),
    ({"schedule_type": "recurring", "days": json.dumps({"monday": True})}, "days", '{"monday": true}'),
    ({"schedule_type": "recurring", "days": ["Mon"], "end_time": dt.time(10)}, "end_time", "10:00:00"),
    # Longer than schedule_settings.max_session_minutes (480): an end before the start ends the next day.
    ({"schedule_type": "recurring", "days": ["Mon"], "start_time": dt.time(11), "end_time": dt.time(9, 30)},
     "end_time", "09:30:00"),
    ({"schedule_type": "specific_dates", "specific_dates": ["2027-05-04"], "start_time": dt.time(9),
      "end_time": dt.time(17, 1)}, "end_time", "17:01:00"),
]


@pytest.mark.parametrize(("fields", "field", "value"), MALFORMED,
                         ids=[f"{m[1]}={m[2]}" for m in MALFORMED])
def test_malformed_schedule_is_refused_by_name_and_writes_nothing(conn, fields, field, value):
    request = Factory(conn).pending(**fields)
    with pytest.raises(InvalidSchedule) as caught:
        astegni.accept(conn, request)
    assert type(caught.value) is InvalidSchedule
    assert (caught.value.request_id, caught.value.field, caught.value.value) == (request, field, value)
    assert str(request) in caught.value.message
    row = request_row(conn, request)
    assert (row["status"], row["responded_at"]) == ("pending", None)
    assert written(conn) == NOTHING


def test_a_session_ending_before_it_starts_is_refused_with_its_length_and_the_limit(conn):
    """11:00-10:00 reads as a session of 23 hours (it ends the next day): it would block the tutor's
    days, so it is refused, saying how long it is and what the limit is."""
    request = Factory(conn).pending(schedule_type="recurring", days=["Mon"], start_time=dt.time(11),
                                    end_time=dt.time(10))
    with pytest.raises(InvalidSchedule) as caught:
        astegni.accept(conn, request)
    assert (caught.value.field, caught.value.value) == ("end_time", "10:00:00")
    assert "1380 minutes" in caught.value.message and "limit of 480 minutes" in caught.value.message
    assert written(conn) == NOTHING


@pytest.mark.parametrize(("start", "end", "minutes"), [
    (dt.time(22), dt.time(1), 180), (dt.time(22), dt.time(6), 480), (dt.time(9), dt.time(17), 480)])
def test_sessions_up_to_the_limit_are_made_overnight_too(conn, start, end, minutes):
    request = Factory(conn).pending(schedule_type="recurring", days=["Mon"], start_time=start,
                                    end_time=end)
    assert astegni.accept(conn, request).sessions_created == 8
    assert {row[3] for row in sessions(conn, request)} == {minutes}


@pytest.mark.parametrize("schedule", [{"schedule_type": "recurring", "days": ["Mon"]},
                                      {"schedule_type": "specific", "specific_dates": ["2027-05-04"]}])
@pytest.mark.parametrize("field", ["start_time", "end_time"])
def test_24_00_is_refused_by_name_and_told_to_be_00_00(conn, schedule, field):
    """PostgreSQL's time takes 24:00 (Python's cannot even read it back); the rule does not."""
    times = {"start_time": "22:00", "end_time": "23:00", field: "24:00"}
    request = Factory(conn).pending(**schedule, **times)
    with pytest.raises(InvalidSchedule) as caught:
        astegni.accept(conn, request)
    assert (caught.value.field, caught.value.value) == (field, "24:00:00")
    assert "00:00" in caught.value.message
    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", request) == "pending"
    assert written(conn) == NOTHING


# 8. Status transitions ----------------------------------------------------------------------------

def test_pending_to_rejected_stamps_responded_and_rejected_at(conn):
    request = Factory(conn).pending(schedule_type="recurring", days=["Mon"])
    with conn.transaction():
        [[now]] = conn.execute(UTC_NOW).fetchall()
        conn.execute("UPDATE requested_sessions SET status = 'rejected' WHERE id = %s", (request,))
    row = request_row(conn, request)
    assert (row["status"], row["responded_at"], row["rejected_at"], row["updated_at"]) == (
        "rejected", now, now, now)
    assert written(conn) == NOTHING


@pytest.mark.parametrize(("first", "then", "error"), [
    ("accepted", "rejected", AlreadyResponded),
    ("rejected", "accepted", AlreadyResponded),
    ("accepted", "pending", InvalidTransition),
    ("rejected", "pending", InvalidTransition),
    ("pending", "cancelled", InvalidTransition),
    ("pending", "done", InvalidTransition),
])
def test_other_status_changes_are_refused(conn, first, then, error):
    request = Factory(conn).pending(schedule_type="recurring", days=["Mon"])
    update = "UPDATE requested_sessions SET status = %s WHERE id = %s"
    if first != "pending":
        conn.execute(update, (first, request))
    before = (request_row(conn, request), written(conn))
    refused = refusal(conn, update, then, request)
    assert type(refused) is error
    assert refused.request_id == request
    assert (request_row(conn, request), written(conn)) == before


@pytest.mark.parametrize("field", ["rejected_reason", "cancelled_reason"])
def test_a_reason_is_at_most_2000_characters_and_never_echoed_whole(conn, field):
    f = Factory(conn)
    tutor = f.tutor()
    user, _ = f.student()
    respond = astegni.reject if field == "rejected_reason" else astegni.cancel
    too_long, longest = f.request(tutor, user), f.request(tutor, user)
    if field == "cancelled_reason":
        conn.execute("UPDATE requested_sessions SET status = 'accepted'")
    before = request_row(conn, too_long)
    with pytest.raises(InvalidSchedule) as caught:
        respond(conn, too_long, reason="x" * 2001)
    assert (caught.value.request_id, caught.value.field) == (too_long, field)
    assert caught.value.value == "x" * 40 + "..."
    assert (caught.value.detail["length"], caught.value.detail["limit"]) == (2001, 2000)
    assert request_row(conn, too_long) == before
    respond(conn, longest, reason="y" * 2000)
    assert request_row(conn, longest)[field] == "y" * 2000


def test_a_20_mb_reason_written_by_a_plain_update_is_refused_in_a_few_words(conn):
    request = Factory(conn).pending()
    error = refusal(conn, "UPDATE requested_sessions SET status = 'rejected',"
                          " rejected_reason = repeat('x', 20000000) WHERE id = %s", request)
    assert (type(error), error.field, error.detail["length"]) == (
        InvalidSchedule, "rejected_reason", 20_000_000)
    assert len(error.message) + len(str(error.detail)) < 500
    assert request_row(conn, request)["status"] == "pending"


@pytest.mark.parametrize("status", ["accepted", "rejected", "cancelled"])
def test_a_request_is_inserted_pending(conn, status):
    f = Factory(conn)
    tutor = f.tutor()
    user, _ = f.student()
    refused = refusal(
        conn, "INSERT INTO requested_sessions (tutor_id, requester_id, status) VALUES (%s, %s, %s)",
        tutor, user, status)
    assert type(refused) is InvalidTransition
    assert (refused.detail["field"], refused.detail["value"]) == ("status", status)
    assert conn.execute("SELECT count(*) FROM requested_sessions").fetchall() == [(0,)]


@pytest.mark.parametrize("status", ["pending", "accepted", "rejected"])
def test_setting_the_same_status_again_changes_nothing(conn, status):
    request = Factory(conn).pending(schedule_type="recurring", days=["Mon", "Thu"])
    update = "UPDATE requested_sessions SET status = %s WHERE id = %s"
    if status != "pending":
        conn.execute(update, (status, request))
    before = (request_row(conn, request), written(conn), sessions(conn, request, "id"))
    conn.execute(update, (status, request))
    assert (request_row(conn, request), written(conn), sessions(conn, request, "id")) == before


@pytest.mark.parametrize("higher_gets_first_package", [True, False])
def test_one_statement_two_requests_higher_id_sets_package_and_price(
        conn, higher_gets_first_package):
    f = Factory(conn)
    tutor = f.tutor()
    user, student = f.student()
    packages = [f.package(tutor, rate="25.00"), f.package(tutor, rate="40.00")]
    if higher_gets_first_package:
        packages.reverse()
    lower = f.request(tutor, user, package_id=packages[0], counter_offer_price=Decimal("50.00"))
    higher = f.request(tutor, user, package_id=packages[1], counter_offer_price=Decimal("10.00"))
    conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id IN (%s, %s)",
                 (higher, lower))
    assert enrolment(conn, tutor, student)[:2] == (packages[1], Decimal("10.00"))
    assert sorted(conn.execute("SELECT package_id, students_id FROM enrolled_courses").fetchall()) \
        == sorted([(packages[0], [student]), (packages[1], [student])])


# 9. One session per request and date, by a constraint ---------------------------------------------

def test_unique_constraint_refuses_a_second_session_on_a_date(conn):
    [[columns]] = conn.execute(
        "SELECT array_agg(a.attname::text ORDER BY k.n) FROM pg_constraint AS c"
        " CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k (attnum, n)"
        " JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = k.attnum"
        " WHERE c.conrelid = 'sessions'::regclass AND c.conname = 'sessions_request_date_key'"
        " AND c.contype = 'u'").fetchall()
    assert columns == ["request_id", "session_date"]
    request = Factory(conn).pending(schedule_type="specific_dates",
                                    specific_dates=[f"{next_year(conn)}-02-10"])
    astegni.accept(conn, request)
    # The constraint alone, as under the rule's own bulk insert (which the trigger leaves to it).
    conn.execute("ALTER TABLE sessions DISABLE TRIGGER sessions_insert_by_hand")
    with pytest.raises(psycopg.errors.UniqueViolation) as caught:
        conn.execute(
            "INSERT INTO sessions (enrolled_courses_id, tutor_id, request_id, session_date,"
            " start_time, end_time, duration, starts_at, ends_at)"
            " SELECT enrolled_courses_id, tutor_id, request_id, session_date, '14:00', '15:00', 60,"
            " starts_at + interval '4 hours', ends_at + interval '4 hours'"
            " FROM sessions WHERE request_id = %s", (request,))
    assert caught.value.diag.constraint_name == "sessions_request_date_key"
    assert len(sessions(conn, request)) == 1


# 10. Bulk, set-based ------------------------------------------------------------------------------

def test_bulk_update_accepts_every_pending_request(conn):
    f = Factory(conn)
    requests: dict[int, list[int]] = {}
    students: dict[int, list[int]] = {}
    for _ in range(5):
        tutor = f.tutor()
        package = f.package(tutor)
        for _ in range(10):
            user, student = f.student()
            students.setdefault(tutor, []).append(student)
            requests.setdefault(tutor, []).append(f.request(
                tutor, user, package_id=package, schedule_type="recurring", days=["mon", "wed", "fri"]))
    cursor = conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE status = 'pending'")
    assert cursor.rowcount == 50
    assert conn.execute(
        "SELECT request_id, count(*) FROM sessions GROUP BY request_id ORDER BY request_id"
    ).fetchall() == [(r, 24) for rs in requests.values() for r in rs]
    assert conn.execute(
        "SELECT tutor_id, students_id FROM enrolled_courses ORDER BY tutor_id").fetchall() == [
        (tutor, sorted(s)) for tutor, s in students.items()]
    assert conn.execute("SELECT count(*) FROM enrolled_students").fetchall() == [(50,)]
    assert conn.execute("SELECT status, count(*) FROM requested_sessions GROUP BY status"
                        ).fetchall() == [("accepted", 50)]


# 11. Shapes real users send ----------------------------------------------------------------------

MISSING = [
    ({"schedule_type": None}, "no_schedule"),
    ({"schedule_type": "specific", "specific_dates": None}, "no_dates"),
    ({"schedule_type": "specific_dates", "specific_dates": []}, "no_dates"),
    ({"schedule_type": "recurring", "days": None}, "no_days"),
    ({"schedule_type": "recurring", "days": []}, "no_days"),
    ({"schedule_type": "recurring", "days": ["Mon"], "start_time": None}, "no_times"),
    ({"schedule_type": "specific_dates", "specific_dates": ["2099-01-05"], "end_time": None}, "no_times"),
]


@pytest.mark.parametrize(("fields", "note"), MISSING, ids=[m[1] + str(i) for i, m in enumerate(MISSING)])
def test_a_schedule_not_there_yet_enrols_the_student_and_says_why(conn, fields, note):
    f = Factory(conn)
    tutor = f.tutor()
    user, student = f.student()
    request = f.request(tutor, user, **fields)
    result = astegni.accept(conn, request)
    assert (result.status, result.sessions_created, result.students_enrolled, result.note) == (
        "accepted", 0, 1, note)
    assert result.explanation == f"0 sessions: {NOTES[note]}"
    assert conn.execute("SELECT sessions_created, note FROM acceptances WHERE request_id = %s",
                        (request,)).fetchall() == [(0, note)]
    assert enrolment(conn, tutor, student)[0] is not None
    assert written(conn)["sessions"] == 0


def test_a_window_that_has_passed_gives_way_to_the_weeks_horizon(conn):
    # The app's form ticks a year by default: a request made today can carry last year's window.
    zone = ADDIS_ABABA
    last_year = tutor_today(conn, zone).year - 1
    request = Factory(conn).pending(zone, schedule_type="recurring", days=[" Wednesday", "FRI"],
                                    year_range=[last_year], months=["January"])
    result = astegni.accept(conn, request)
    assert (result.sessions_created, result.note) == (16, "window_passed")
    expected = upcoming(conn, zone, {3, 5}, tutor_today(conn, zone) + dt.timedelta(weeks=10))[:16]
    assert session_dates(conn, request) == expected


def test_a_schedule_made_in_full_has_no_note_and_one_with_nothing_ahead_says_so(conn):
    f = Factory(conn)
    full = f.pending(schedule_type="recurring", days=["Mon"])
    past = f.pending(schedule_type="specific_dates", specific_dates=["2020-01-06"])
    assert (astegni.accept(conn, full).note, astegni.accept(conn, past).note) == (None, "none_ahead")


def test_a_shared_booking_enrols_every_student_of_its_roster(conn):
    f = Factory(conn)
    tutor = f.tutor()
    package = f.package(tutor)
    booker, primary = f.student()
    others = [f.student()[1] for _ in range(2)]
    request = f.request(tutor, booker, package_id=package, requested_to_id=primary, num_students=3,
                        schedule_type="recurring", days=["Tue"])
    conn.execute("INSERT INTO requested_session_students (requested_session_id, student_profile_id,"
                 " is_primary) SELECT %s, s, s = %s FROM unnest(%s::int[]) AS s",
                 (request, primary, [primary, *others]))
    result = astegni.accept(conn, request)
    assert (result.students_enrolled, result.sessions_created) == (3, 8)  # one session per occurrence
    assert result.explanation == "8 sessions for 3 students"
    everyone = sorted([primary, *others])
    assert [r[0] for r in conn.execute("SELECT student_id FROM enrolled_students WHERE tutor_id = %s"
                                       " ORDER BY 1", (tutor,)).fetchall()] == everyone
    [[students]] = conn.execute("SELECT students_id FROM enrolled_courses WHERE id = %s",
                                (result.enrolled_course_id,)).fetchall()
    assert sorted(students) == everyone

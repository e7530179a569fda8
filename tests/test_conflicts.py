"""No double booking: the exclusion constraint, clashes on any occurrence of a series, 'skip', several
requests in one statement, racing acceptances, and an upgrade over data that already double-books."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

import astegni
from astegni.errors import ScheduleConflict, UpgradeBlocked, translate
from tests.support import BERLIN, Factory, book, migrate, next_year, scalar, session_dates, upcoming

OVERLAPPING = """
    SELECT count(*) FROM sessions AS a JOIN sessions AS b
      ON b.tutor_id = a.tutor_id AND b.id > a.id AND b.enrolled_courses_id <> a.enrolled_courses_id
     AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
    WHERE a.status IS DISTINCT FROM 'cancelled' AND b.status IS DISTINCT FROM 'cancelled'"""


def raw_session(conn: psycopg.Connection[Any], course: int, tutor: int, request: int,
                starts: dt.datetime, status: str = "scheduled") -> int:
    """An hour's session written with every column set (as a bulk load would), so that no trigger
    fills it in."""
    local = starts.astimezone(ZoneInfo(BERLIN))
    ends = starts + dt.timedelta(hours=1)
    return int(scalar(
        conn,
        "INSERT INTO sessions (enrolled_courses_id, tutor_id, request_id, session_date, start_time,"
        " end_time, duration, starts_at, ends_at, status)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        course, tutor, request, local.date(), local.time(),
        ends.astimezone(ZoneInfo(BERLIN)).time(), 60, starts, ends, status))


def course_of(conn: psycopg.Connection[Any], tutor: int, package: int) -> int:
    return int(scalar(conn, "INSERT INTO enrolled_courses (tutor_id, package_id) VALUES (%s, %s)"
                            " RETURNING id", tutor, package))


def test_exclusion_constraint_holds_for_rows_no_trigger_checks(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    user, _ = f.student()
    first, second = course_of(conn, tutor, f.package(tutor)), course_of(conn, tutor, f.package(tutor))
    requests = [f.request(tutor, user) for _ in range(5)]
    ten = dt.datetime(next_year(conn), 2, 1, 10, tzinfo=ZoneInfo(BERLIN))
    # The constraint alone, as under the rule's own bulk insert (which the trigger leaves to it).
    conn.execute("ALTER TABLE sessions DISABLE TRIGGER sessions_insert_by_hand")
    raw_session(conn, first, tutor, requests[0], ten)
    # Same course (a group class): may overlap.
    raw_session(conn, first, tutor, requests[1], ten + dt.timedelta(minutes=30))
    # Another course, cancelled: does not count.
    raw_session(conn, second, tutor, requests[2], ten, status="cancelled")
    # Another course, right after ([start, end) ranges): no overlap.
    raw_session(conn, second, tutor, requests[3], ten + dt.timedelta(hours=1, minutes=30))
    with pytest.raises(psycopg.errors.ExclusionViolation) as refused:
        raw_session(conn, second, tutor, requests[4], ten + dt.timedelta(minutes=59))
    assert refused.value.diag.constraint_name == "sessions_no_overlap"
    assert isinstance(translate(refused.value), ScheduleConflict)


def test_a_session_belongs_to_its_course_tutor(conn):
    f = Factory(conn)
    tutor, other = f.tutor(BERLIN), f.tutor(BERLIN)
    user, _ = f.student()
    course = course_of(conn, tutor, f.package(tutor))
    starts = dt.datetime(next_year(conn), 2, 1, 10, tzinfo=ZoneInfo(BERLIN))
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as refused:
        raw_session(conn, course, other, f.request(other, user), starts)
    assert refused.value.diag.constraint_name == "sessions_course_tutor_fkey"

    session = raw_session(conn, course, tutor, f.request(tutor, user), starts)
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as refused:
        conn.execute("UPDATE sessions SET tutor_id = %s WHERE id = %s", (other, session))
    assert refused.value.diag.constraint_name == "sessions_course_tutor_fkey"
    assert scalar(conn, "SELECT tutor_id FROM sessions WHERE id = %s", session) == tutor


def test_same_course_may_overlap_another_course_may_not(conn):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    group = f.package(tutor)
    day = upcoming(conn, BERLIN, {1}, dt.date(next_year(conn), 12, 31))[0]
    dates = {"schedule_type": "specific_dates", "specific_dates": [day.isoformat()]}
    for _ in range(2):
        user, _ = f.student()
        assert astegni.accept(conn, f.request(tutor, user, package_id=group, **dates)).sessions_created == 1
    user, _ = f.student()
    other = f.request(tutor, user, package_id=f.package(tutor), start_time=dt.time(10, 59),
                      end_time=dt.time(12), **dates)
    with pytest.raises(ScheduleConflict):
        astegni.accept(conn, other)
    assert scalar(conn, "SELECT count(*) FROM sessions WHERE tutor_id = %s", tutor) == 2


def tenth_clash(conn: psycopg.Connection[Any], policy: str) -> tuple[int, list[dt.date], int, int]:
    """A weekly Wednesday request (12 weeks) whose 10th occurrence clashes with another course's
    session: (request, its 12 dates, the clashing session, its student)."""
    f = Factory(conn)
    conn.execute("UPDATE schedule_settings SET weeks_horizon = 12")
    tutor = f.tutor(BERLIN)
    dates = upcoming(conn, BERLIN, {3}, dt.date(next_year(conn), 12, 31))[:12]
    clash = book(f, tutor, dates[9], dt.time(10, 30), dt.time(11, 30))
    user, student = f.student()
    request = f.request(tutor, user, package_id=f.package(tutor), schedule_type="recurring",
                        days=["Wednesday"], conflict_policy=policy)
    return request, dates, clash, student


def test_series_clashing_on_its_tenth_occurrence_only_is_refused_whole(conn):
    request, dates, clash, student = tenth_clash(conn, "fail")
    with pytest.raises(ScheduleConflict) as refused:
        astegni.accept(conn, request)
    error = refused.value
    assert error.clash_session_id == clash
    assert error.detail == {"request_id": request, "session_date": dates[9].isoformat(),
                            "start_time": "10:00", "timezone": BERLIN, "clash_session_id": clash}
    assert dates[9].isoformat() in error.message and "10:00" in error.message
    assert str(clash) in error.message
    # The same refusal through a plain UPDATE, as psql would send it.
    with pytest.raises(psycopg.Error) as plain:
        conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = %s", (request,))
    assert plain.value.diag.sqlstate == "AS007"

    assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", request) == "pending"
    assert session_dates(conn, request) == []
    assert scalar(conn, "SELECT count(*) FROM skipped_occurrences") == 0
    assert scalar(conn, "SELECT count(*) FROM enrolled_students WHERE student_id = %s", student) == 0
    assert scalar(conn, "SELECT count(*) FROM enrolled_courses") == 1  # the clashing session's


def test_skip_policy_skips_the_clashing_occurrence_and_records_it(conn):
    request, dates, clash, _ = tenth_clash(conn, "skip")
    result = astegni.accept(conn, request)
    starts = dt.datetime.combine(dates[9], dt.time(10), ZoneInfo(BERLIN))
    expected = astegni.Skipped(dates[9], starts, starts + dt.timedelta(hours=1), "conflict", clash)
    assert result.status == "accepted"
    assert result.sessions_created == 11
    assert result.skipped == (expected,)
    assert session_dates(conn, request) == dates[:9] + dates[10:]
    stored = conn.execute("SELECT session_date, starts_at, ends_at, reason, clash_session_id"
                          " FROM skipped_occurrences WHERE request_id = %s", (request,)).fetchall()
    assert [astegni.Skipped(*row) for row in stored] == [expected]


def statement_requests(conn: psycopg.Connection[Any], later_policy: str) -> list[int]:
    """Three requests of one tutor: Mondays 10-11 (course A), Mondays and Tuesdays 10:30-11:30
    (course B, clashing with the first on Mondays), and Mondays 10-11 of another student in course A."""
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    first, second = f.package(tutor), f.package(tutor)
    recurring: dict[str, Any] = {"schedule_type": "recurring", "days": ["Monday"]}
    ids = [f.request(tutor, f.student()[0], package_id=first, **recurring)]
    ids.append(f.request(tutor, f.student()[0], package_id=second, schedule_type="recurring",
                         days=["Monday", "Tuesday"], start_time=dt.time(10, 30),
                         end_time=dt.time(11, 30), conflict_policy=later_policy))
    ids.append(f.request(tutor, f.student()[0], package_id=first, **recurring))
    return ids


def outcome(conn: psycopg.Connection[Any], requests: list[int]) -> tuple[list[Any], ...]:
    """Statuses, sessions and skipped occurrences, clashes named by the clashing session's request."""
    return tuple(conn.execute(query, (requests,)).fetchall() for query in (
        "SELECT id, status FROM requested_sessions WHERE id = ANY (%s) ORDER BY 1",
        "SELECT request_id, session_date, starts_at, ends_at FROM sessions"
        " WHERE request_id = ANY (%s) ORDER BY 1, 2",
        "SELECT k.request_id, k.session_date, k.reason, c.request_id FROM skipped_occurrences AS k"
        " LEFT JOIN sessions AS c ON c.id = k.clash_session_id WHERE k.request_id = ANY (%s)"
        " ORDER BY 1, 2",
    ))


def test_one_statement_accepts_as_one_at_a_time_in_id_order(conn):
    requests = statement_requests(conn, "skip")
    with conn.transaction(force_rollback=True):
        for request in requests:
            astegni.accept(conn, request)
        one_at_a_time = outcome(conn, requests)
    conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = ANY (%s)", (requests,))
    statuses, sessions, skipped = outcome(conn, requests)
    assert (statuses, sessions, skipped) == one_at_a_time
    assert statuses == [(r, "accepted") for r in requests]
    by_request = {r: [s for s in sessions if s[0] == r] for r in requests}
    assert [len(by_request[r]) for r in requests] == [8, 8, 8]
    assert all(s[1].isoweekday() == 2 for s in by_request[requests[1]])  # its Tuesdays only
    # The earlier request wins every Monday.
    assert len(skipped) == 8
    assert {(s[0], s[2], s[3]) for s in skipped} == {(requests[1], "conflict", requests[0])}
    assert scalar(conn, OVERLAPPING) == 0


def test_one_statement_with_a_failing_later_request_is_refused_whole(conn):
    requests = statement_requests(conn, "fail")
    with pytest.raises(psycopg.Error) as refused:
        conn.execute("UPDATE requested_sessions SET status = 'accepted' WHERE id = ANY (%s)",
                     (requests,))
    error = translate(refused.value)
    assert isinstance(error, ScheduleConflict)
    assert error.request_id == requests[1]
    statuses, sessions, skipped = outcome(conn, requests)
    assert statuses == [(r, "pending") for r in requests]
    assert sessions == skipped == []


def wait_until_waiting_for_a_lock(conn: psycopg.Connection[Any], pid: int) -> None:
    for _ in range(1000):
        if scalar(conn, "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", pid) == "Lock":
            return
        time.sleep(0.01)
    pytest.fail(f"backend {pid} never waited for a lock")


def race(db_url: str, conn: psycopg.Connection[Any], first: list[int], racing: list[int],
         then: list[int]) -> dict[str, Any]:
    """The winner accepts `first` in a transaction it keeps open; the loser, in its own transaction
    and thread, accepts `racing` and must wait for the tutor; the winner then accepts `then` and
    commits. Returns the loser's acceptances ("results") or its error ("error")."""
    outcome: dict[str, Any] = {}
    with psycopg.connect(db_url) as winner, psycopg.connect(db_url) as loser:
        winner.execute("SET lock_timeout = '20s'")  # a rule that let both write would hang here

        def run() -> None:
            try:
                outcome["results"] = [astegni.accept(loser, r) for r in racing]
                loser.commit()
            except Exception as error:
                outcome["error"] = error
                loser.rollback()

        for request in first:
            astegni.accept(winner, request)
        thread = threading.Thread(target=run)
        thread.start()
        wait_until_waiting_for_a_lock(conn, loser.info.backend_pid)
        for request in then:
            astegni.accept(winner, request)
        winner.commit()
        thread.join()
    return outcome


def weekly(f: Factory, tutor: int, day: str, start: dt.time, end: dt.time, policy: str) -> int:
    return f.request(tutor, f.student()[0], package_id=f.package(tutor), schedule_type="recurring",
                     days=[day], start_time=start, end_time=end, conflict_policy=policy)


@pytest.mark.parametrize("policy", ["fail", "skip"])
def test_racing_acceptances_of_clashing_requests_one_wins_without_deadlock(db_url, conn, policy):
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    first = weekly(f, tutor, "Monday", dt.time(10), dt.time(11), "fail")
    second = weekly(f, tutor, "Monday", dt.time(10, 30), dt.time(11, 30), policy)
    outcome = race(db_url, conn, [first], [second], [])

    assert len(session_dates(conn, first)) == 8
    assert scalar(conn, OVERLAPPING) == 0
    if policy == "fail":
        assert isinstance(outcome.get("error"), ScheduleConflict), outcome
        assert scalar(conn, "SELECT status FROM requested_sessions WHERE id = %s", second) == "pending"
        assert session_dates(conn, second) == []
    else:
        [result] = outcome["results"]
        assert result.sessions_created == 0
        assert [s.reason for s in result.skipped] == ["conflict"] * 8
        clashes = {s.clash_session_id for s in result.skipped}
        assert clashes == {r[0] for r in conn.execute(
            "SELECT id FROM sessions WHERE request_id = %s", (first,)).fetchall()}


def test_racing_transactions_that_cross_each_other_never_deadlock(db_url, conn):
    """Unserialised, the loser would book Tuesday, the winner wait for it on Tuesday and the loser
    wait for the winner on Monday: a deadlock. Serialised, the loser waits before writing anything."""
    f = Factory(conn)
    tutor = f.tutor(BERLIN)
    early, late = (dt.time(10), dt.time(11)), (dt.time(10, 30), dt.time(11, 30))
    winner_monday, winner_tuesday = (weekly(f, tutor, day, *early, "fail")
                                     for day in ("Monday", "Tuesday"))
    loser_tuesday, loser_monday = (weekly(f, tutor, day, *late, "fail")
                                   for day in ("Tuesday", "Monday"))
    outcome = race(db_url, conn, [winner_monday], [loser_tuesday, loser_monday], [winner_tuesday])

    assert isinstance(outcome.get("error"), ScheduleConflict), outcome
    assert outcome["error"].request_id == loser_tuesday
    assert conn.execute("SELECT id, status FROM requested_sessions ORDER BY id").fetchall() == [
        (winner_monday, "accepted"), (winner_tuesday, "accepted"),
        (loser_tuesday, "pending"), (loser_monday, "pending")]
    assert scalar(conn, "SELECT count(*) FROM sessions") == 16


def test_upgrade_over_overlapping_sessions_stops_and_deletes_nothing(empty_db_url):
    migrate(empty_db_url, "0001")
    with psycopg.connect(empty_db_url, autocommit=True) as legacy:
        user = scalar(legacy, "INSERT INTO users (email, password_hash)"
                              " VALUES ('t@x.test', 'x') RETURNING id")
        tutor = scalar(legacy, "INSERT INTO tutor_profiles (user_id) VALUES (%s) RETURNING id", user)
        courses = [scalar(legacy, "WITH p AS (INSERT INTO tutor_packages (tutor_id, name)"
                                  " VALUES (%s, 'Physics') RETURNING id)"
                                  " INSERT INTO enrolled_courses (tutor_id, package_id)"
                                  " SELECT %s, id FROM p RETURNING id", tutor, tutor)
                   for _ in range(2)]
        insert = ("INSERT INTO sessions (enrolled_courses_id, session_date, start_time, end_time)"
                  " VALUES (%s, %s, %s, %s) RETURNING id")
        day = dt.date(2027, 1, 4)
        first = scalar(legacy, insert, courses[0], day, dt.time(10), dt.time(11))
        second = scalar(legacy, insert, courses[1], day, dt.time(10, 30), dt.time(11, 30))
        scalar(legacy, insert, courses[1], day, dt.time(11), dt.time(12))  # overlaps only the second
        before = legacy.execute("SELECT * FROM sessions ORDER BY id").fetchall()

    with pytest.raises(UpgradeBlocked) as stopped:
        migrate(empty_db_url, "head")
    assert [(b["problem"], b["facts"]["session_id"], b["facts"]["overlaps_session_id"], b["resolution"])
            for b in stopped.value.blockers] == [
        ("tutors with two overlapping sessions of different courses", first, second,
         f"-- or move one of the two\nUPDATE sessions SET status = 'cancelled' WHERE id = {second};")]

    with psycopg.connect(empty_db_url, autocommit=True) as legacy:
        assert legacy.execute("SELECT * FROM sessions ORDER BY id").fetchall() == before
        assert scalar(legacy, "SELECT version_num FROM astegni_alembic_version") == "0001"
        assert scalar(legacy, "SELECT count(*) FROM information_schema.columns"
                              " WHERE table_name = 'sessions' AND column_name = 'tutor_id'") == 0

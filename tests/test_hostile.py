"""Hostile input: injection text, huge and deeply nested JSON, wrong JSON types and NULLs.

Each is stored or refused literally, with the documented error, never executed, and never leaves a
half-accepted request behind. Every connection has a statement_timeout as a guard against a hang
(a guard, not a timed assertion: a timeout fails the test as an unexpected error).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import astegni
from astegni.errors import AstegniError, InvalidTimezone, InvalidTransition, translate
from astegni.testing import fresh_database
from tests.reliability_report import record
from tests.support import Factory, next_year

INJECTION = "'); DROP TABLE sessions; --"
GUARD = "SET statement_timeout = '20s'"


@pytest.fixture(scope="module")
def hostile_url(server_url: str, template_db: str) -> Iterator[str]:
    """One database for the module; each test runs in a transaction rolled back at its end."""
    with fresh_database(server_url, template_db) as url:
        yield url


@pytest.fixture
def hostile(hostile_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(hostile_url) as conn, conn.transaction(force_rollback=True):
        conn.execute(GUARD)
        yield conn
        # Nothing was executed: every table is still there.
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND"
            " tablename IN ('sessions', 'users', 'requested_sessions')").fetchone()
        assert tables == (3,)


def _request(conn: psycopg.Connection[Any], **fields: Any) -> tuple[int, int]:
    """(request id, tutor id) of a pending request; JSON fields given as JSON text."""
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, _ = f.student()
    return f.request(tutor, user, package_id=f.package(tutor), **fields), tutor


def _refusal(conn: psycopg.Connection[Any], request_id: int) -> AstegniError:
    """Accepts, expecting a refusal; checks that nothing was written."""
    with pytest.raises(AstegniError) as caught, conn.transaction():
        astegni.accept(conn, request_id)
    left = conn.execute(
        "SELECT r.status, (SELECT count(*) FROM sessions WHERE request_id = r.id),"
        " (SELECT count(*) FROM skipped_occurrences WHERE request_id = r.id),"
        " (SELECT count(*) FROM enrolled_students WHERE tutor_id = r.tutor_id)"
        " FROM requested_sessions r WHERE r.id = %s", (request_id,)).fetchone()
    assert left == ("pending", 0, 0, 0)
    record("hostile_inputs", 1)
    return caught.value


def test_injection_in_message_is_stored_verbatim(hostile: psycopg.Connection[Any]) -> None:
    request_id, _ = _request(hostile, schedule_type="specific_dates", message=INJECTION,
                             specific_dates=json.dumps([f"{next_year(hostile)}-01-05"]))
    assert astegni.accept(hostile, request_id).sessions_created == 1
    topics = hostile.execute("SELECT topics FROM sessions WHERE request_id = %s",
                             (request_id,)).fetchall()
    assert topics == [([INJECTION],)]
    record("hostile_inputs", 1)


@pytest.mark.parametrize(("field", "fields"), [
    ("days", {"schedule_type": "recurring", "days": [INJECTION]}),
    ("days", {"schedule_type": "recurring", "days": ["mon", "mon; DELETE FROM users"]}),
    ("specific_dates", {"schedule_type": "specific", "specific_dates": [INJECTION]}),
    ("specific_dates", {"schedule_type": "specific",
                        "specific_dates": ["2027-01-01'::date); DROP TABLE sessions; --"]}),
    ("months", {"schedule_type": "recurring", "days": ["mon"], "months": [INJECTION]}),
    ("year_range", {"schedule_type": "recurring", "days": ["mon"], "year_range": [INJECTION]}),
    ("schedule_type", {"schedule_type": INJECTION}),
])
def test_injection_in_schedule_is_refused_literally(hostile: psycopg.Connection[Any], field: str,
                                                    fields: dict[str, Any]) -> None:
    stored = {k: json.dumps(v) if isinstance(v, list) else v for k, v in fields.items()}
    request_id, _ = _request(hostile, **stored)
    error = _refusal(hostile, request_id)
    assert (type(error).__name__, error.detail.get("field")) == ("InvalidSchedule", field)
    bad = {"schedule_type": fields[field], "year_range": json.dumps(fields[field])}.get(
        field, fields[field][-1])  # year_range is named whole, the lists by their bad element
    assert error.detail.get("value") == bad
    row = hostile.execute(f"SELECT {field} FROM requested_sessions WHERE id = %s",
                          (request_id,)).fetchone()
    assert row == (fields[field],)  # stored as given


@pytest.mark.parametrize("zone", [INJECTION, "Europe/Berlin'; DROP TABLE sessions; --",
                                  "Europe/Berlin; SELECT pg_sleep(30)", "../../etc/passwd",
                                  "europe/berlin", " Europe/Berlin", ""])
def test_injection_in_zone_is_refused(hostile: psycopg.Connection[Any], zone: str) -> None:
    f = Factory(hostile)
    with pytest.raises(psycopg.Error) as caught, hostile.transaction():
        f.tutor(zone)
    assert isinstance(translate(caught.value), InvalidTimezone)
    tutor = f.tutor("Europe/Berlin")
    with pytest.raises(psycopg.Error) as caught, hostile.transaction():
        hostile.execute("UPDATE tutor_profiles SET timezone = %s WHERE id = %s", (zone, tutor))
    assert isinstance(translate(caught.value), InvalidTimezone)
    assert hostile.execute("SELECT timezone FROM tutor_profiles WHERE id = %s",
                           (tutor,)).fetchone() == ("Europe/Berlin",)
    record("hostile_inputs", 2)


def _days_from(first: dt.date, count: int) -> list[str]:
    return [(first + dt.timedelta(days=k)).isoformat() for k in range(count)]


@pytest.mark.parametrize(("dates", "error"), [
    (lambda y: _days_from(dt.date(y, 1, 1), 100_000), "TooManySessions"),
    (lambda y: [*_days_from(dt.date(y, 1, 1), 99_999), "2027-02-30"], "InvalidSchedule"),
    (lambda y: [f"{y}-13-{k % 100:02d}" for k in range(100_000)], "InvalidSchedule"),
])
def test_100000_dates_are_refused(hostile: psycopg.Connection[Any], dates: Any,
                                  error: str) -> None:
    request_id, _ = _request(hostile, schedule_type="specific_dates",
                             specific_dates=json.dumps(dates(next_year(hostile))))
    refused = _refusal(hostile, request_id)
    assert (type(refused).__name__, refused.detail.get("field")) == (error, "specific_dates")


def test_100000_copies_of_one_date_make_one_session(hostile: psycopg.Connection[Any]) -> None:
    day = f" {next_year(hostile)}-03-03 "
    request_id, _ = _request(hostile, schedule_type="specific_dates",
                             specific_dates=json.dumps([day] * 100_000))
    assert astegni.accept(hostile, request_id).sessions_created == 1
    record("hostile_inputs", 1)


def _nested(depth: int, inner: Any) -> str:
    """JSON text of `inner` inside `depth` lists (too deep for Python's json encoder)."""
    return "[" * depth + json.dumps(inner) + "]" * depth


@pytest.mark.parametrize(("field", "fields"), [
    ("days", {"schedule_type": "recurring", "days": _nested(1000, "mon")}),
    ("days", {"schedule_type": "recurring", "days": '["mon", ' + _nested(999, {"a": "tue"}) + "]"}),
    ("specific_dates", {"schedule_type": "specific", "specific_dates": _nested(1000, "2027-01-01")}),
    ("months", {"schedule_type": "recurring", "days": '["mon"]', "months": _nested(1000, "jan")}),
    ("year_range", {"schedule_type": "recurring", "days": '["mon"]',
                    "year_range": _nested(1000, 2027)}),
])
def test_deeply_nested_json_is_refused(hostile: psycopg.Connection[Any], field: str,
                                       fields: dict[str, Any]) -> None:
    request_id, _ = _request(hostile, **fields)
    error = _refusal(hostile, request_id)
    assert (type(error).__name__, error.detail.get("field")) == ("InvalidSchedule", field)


WRONG_TYPES: list[tuple[str, dict[str, Any]]] = [
    ("days", {"schedule_type": "recurring", "days": '{"monday": true}'}),
    ("days", {"schedule_type": "recurring", "days": '"monday"'}),
    ("days", {"schedule_type": "recurring", "days": "1"}),
    ("days", {"schedule_type": "recurring", "days": "true"}),
    ("days", {"schedule_type": "recurring", "days": '["monday", null]'}),
    ("days", {"schedule_type": "recurring", "days": '["monday", 1.5]'}),
    ("specific_dates", {"schedule_type": "specific", "specific_dates": "[20270105]"}),
    ("specific_dates", {"schedule_type": "specific", "specific_dates": "[2027, 1, 5]"}),
    ("specific_dates", {"schedule_type": "specific", "specific_dates": '{"date": "2027-01-05"}'}),
    ("specific_dates", {"schedule_type": "specific", "specific_dates": '"2027-01-05"'}),
    ("specific_dates", {"schedule_type": "specific", "specific_dates": "[null]"}),
    ("specific_dates", {"schedule_type": "specific", "specific_dates": "[false]"}),
    ("months", {"schedule_type": "recurring", "days": '["mon"]', "months": '{"jan": 1}'}),
    ("months", {"schedule_type": "recurring", "days": '["mon"]', "months": "[1, 2]"}),
    ("months", {"schedule_type": "recurring", "days": '["mon"]', "months": "[null]"}),
    ("year_range", {"schedule_type": "recurring", "days": '["mon"]', "year_range": '{"a": 1}'}),
    ("year_range", {"schedule_type": "recurring", "days": '["mon"]', "year_range": "[null]"}),
    ("year_range", {"schedule_type": "recurring", "days": '["mon"]', "year_range": "true"}),
    ("year_range", {"schedule_type": "recurring", "days": '["mon"]', "year_range": "[2027.5]"}),
    ("year_range", {"schedule_type": "recurring", "days": '["mon"]',
                    "year_range": "1e400"}),
]


@pytest.mark.parametrize(("field", "fields"), WRONG_TYPES)
def test_wrong_json_types_are_refused(hostile: psycopg.Connection[Any], field: str,
                                      fields: dict[str, Any]) -> None:
    request_id, _ = _request(hostile, **fields)
    error = _refusal(hostile, request_id)
    assert (type(error).__name__, error.detail.get("field")) == ("InvalidSchedule", field)


@pytest.mark.parametrize("text", ['["mon\\u0000"]', '["\\ud800"]'])
def test_json_that_postgresql_cannot_hold_is_refused_at_insert(
        hostile: psycopg.Connection[Any], text: str) -> None:
    with pytest.raises(psycopg.DataError), hostile.transaction():
        _request(hostile, schedule_type="recurring", days=text)
    record("hostile_inputs", 1)


# NULL in each field: the documented refusal, or what the contract says the NULL means. A schedule
# not there yet (no type, dates, days or times; SQL NULL or JSON null) enrols with no session.
NULLS: list[tuple[dict[str, Any], str | int]] = [
    ({"schedule_type": None}, 0),
    ({"schedule_type": "recurring", "days": None}, 0),
    ({"schedule_type": "recurring", "days": "null"}, 0),
    ({"schedule_type": "specific", "specific_dates": None}, 0),
    ({"schedule_type": "specific", "specific_dates": "null"}, 0),
    ({"schedule_type": "recurring", "days": '["mon"]', "months": None}, 8),
    ({"schedule_type": "recurring", "days": '["mon"]', "year_range": None}, 8),
    ({"schedule_type": "recurring", "days": '["mon"]', "start_time": None}, 0),
    ({"schedule_type": "recurring", "days": '["mon"]', "end_time": None}, 0),
    ({"schedule_type": "recurring", "days": '["mon"]', "message": None}, 8),
    ({"schedule_type": "recurring", "days": '["mon"]', "package_id": None}, "InvalidPackage:package_id"),
    ({"schedule_type": "recurring", "days": '["mon"]', "counter_offer_price": None}, 8),
    ({"schedule_type": None, "days": None, "specific_dates": None, "months": None,
      "year_range": None, "start_time": None, "end_time": None, "message": None,
      "counter_offer_price": None}, 0),
]


@pytest.mark.parametrize(("fields", "outcome"), NULLS)
def test_null_fields(hostile: psycopg.Connection[Any], fields: dict[str, Any],
                     outcome: str | int) -> None:
    f = Factory(hostile)
    tutor = f.tutor("Asia/Kathmandu")
    user, _ = f.student()
    request_id = f.request(tutor, user, **{"package_id": f.package(tutor), **fields})
    if isinstance(outcome, int):
        assert astegni.accept(hostile, request_id).sessions_created == outcome
        record("hostile_inputs", 1)
        return
    error = _refusal(hostile, request_id)
    assert f"{type(error).__name__}:{error.detail.get('field', '')}" == outcome


@pytest.mark.parametrize("column", ["tutor_id", "requester_id", "requester_type"])
def test_null_in_a_required_column_is_refused_at_insert(hostile: psycopg.Connection[Any],
                                                        column: str) -> None:
    f = Factory(hostile)
    tutor = f.tutor()
    user, _ = f.student()
    with pytest.raises(psycopg.errors.NotNullViolation), hostile.transaction():
        f.request(tutor, user, **{column: None})
    record("hostile_inputs", 1)


def test_null_status_is_refused(hostile: psycopg.Connection[Any]) -> None:
    request_id, _ = _request(hostile, schedule_type="recurring", days='["mon"]')
    with pytest.raises(psycopg.Error) as caught, hostile.transaction():
        hostile.execute("UPDATE requested_sessions SET status = NULL WHERE id = %s", (request_id,))
    assert isinstance(translate(caught.value), InvalidTransition)
    assert hostile.execute("SELECT status FROM requested_sessions WHERE id = %s",
                           (request_id,)).fetchone() == ("pending",)
    record("hostile_inputs", 1)

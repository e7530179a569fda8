"""The layer behind a real pgbouncer in transaction pooling mode (tests/pgbouncer.py): its calls work on
connections left at psycopg's defaults (prepare_threshold 5), sync, async and through SQLAlchemy, from
many clients sharing fewer server sessions; `listen`, whose notifications such a pooler cannot deliver,
says so at its start instead of waiting for nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import astegni
import astegni.aio
from astegni import notifications
from astegni.errors import NotificationsUndelivered
from astegni.notifications import CHANNEL, listen
from tests import pgbouncer
from tests.support import ADDIS_ABABA, MON_WED_FRI, ROOT, Factory, doc_block, next_year, tutor_today
from tests.test_cli import assert_one_line_error, cli

T = TypeVar("T")

CLIENTS = 8
# Past psycopg's prepare_threshold (5): a statement sent this often on one connection is prepared, on
# whichever server session the pooler lent it then, unless the layer sends it unprepared.
ROUNDS = 7


@pytest.fixture(scope="session")
def bouncer(server_url: str) -> Iterator[pgbouncer.Bouncer]:
    if pgbouncer.executable() is None:
        pytest.skip(f"pgbouncer is not installed: {pgbouncer.INSTALL}")
    with pgbouncer.running(server_url) as running:
        yield running


@pytest.fixture
def pooled_url(bouncer: pgbouncer.Bouncer, db_url: str) -> str:
    """The test's database through pgbouncer."""
    return bouncer.url(db_url)


def pending(conn: psycopg.Connection[Any], tutors: int, per_tutor: int) -> dict[int, list[int]]:
    """Pending requests of new tutors, each request by a new student for two dates next March, an hour
    apart from the tutor's others: {tutor: [request, ...]}."""
    f = Factory(conn)
    year = next_year(conn)
    made: dict[int, list[int]] = {}
    for _ in range(tutors):
        tutor = f.tutor()
        package = f.package(tutor)
        made[tutor] = [
            f.request(tutor, f.student()[0], package_id=package, start_time=dt.time(hour),
                      end_time=dt.time(hour, 45), schedule_type="specific_dates",
                      specific_dates=[f"{year}-03-02", f"{year}-03-04"])
            for hour in range(6, 6 + per_tutor)]
    return made


def concurrently(work: Callable[[T], object], items: list[T]) -> dict[T, str]:
    """Runs work(item) for every item at once, each in a thread of its own; what each failed with."""
    with ThreadPoolExecutor(len(items)) as threads:
        futures = {item: threads.submit(work, item) for item in items}
    return {item: repr(future.exception()) for item, future in futures.items() if future.exception()}


def assert_made_once(conn: psycopg.Connection[Any], requests: list[int], status: str = "accepted") -> None:
    """Each request has its status and its two sessions, one per date, and one acceptance."""
    rows = conn.execute(
        "SELECT q.id, q.status, count(s.id), count(DISTINCT s.session_date),"
        " (SELECT count(*) FROM acceptances a WHERE a.request_id = q.id)"
        " FROM requested_sessions q LEFT JOIN sessions s ON s.request_id = q.id"
        " WHERE q.id = ANY(%s) GROUP BY q.id", (requests,)).fetchall()
    assert sorted(rows) == [(request, status, 2, 2, 1) for request in sorted(requests)]


def test_concurrent_acceptances_on_psycopg_defaults(conn, pooled_url):
    tutors = pending(conn, CLIENTS, ROUNDS)

    def accept_all(tutor: int) -> None:
        with psycopg.connect(pooled_url) as client:  # a web app's: a transaction per call, committed
            assert client.prepare_threshold == 5
            for request in tutors[tutor]:
                assert astegni.accept(client, request, tutor_id=tutor).sessions_created == 2
                client.commit()

    assert concurrently(accept_all, list(tutors)) == {}
    assert_made_once(conn, [request for requests in tutors.values() for request in requests])


def test_every_call_through_the_pooler(conn, pooled_url):
    """Preview, accept, cancel, reject, a listing and the series' calls, from 4 clients at once."""
    tutors = pending(conn, 4, 2 * ROUNDS)
    f = Factory(conn)
    series = {tutor: f.request(tutor, f.student()[0], package_id=f.package(tutor), start_time=dt.time(17),
                               end_time=dt.time(18), **MON_WED_FRI) for tutor in tutors}
    for request in series.values():
        assert astegni.accept(conn, request).sessions_created == 24
    today = tutor_today(conn, ADDIS_ABABA)

    def answer_all(tutor: int) -> None:
        with psycopg.connect(pooled_url) as client:
            requests = tutors[tutor]
            for accepted, rejected in zip(requests[::2], requests[1::2], strict=True):
                assert [row.outcome for row in astegni.preview(client, accepted)] == ["create", "create"]
                astegni.accept(client, accepted, tutor_id=tutor)
                assert astegni.cancel(client, accepted, tutor_id=tutor).sessions_cancelled == 2
                assert astegni.reject(client, rejected, tutor_id=tutor).status == "rejected"
                assert astegni.list_time_off(client, tutor) == []
                assert astegni.preview_reschedule(client, series[tutor], today + dt.timedelta(days=14),
                                                  start_time=dt.time(19), end_time=dt.time(20))
                client.commit()
            assert astegni.end_series(client, series[tutor], today + dt.timedelta(days=21)) > 0
            client.commit()

    assert concurrently(answer_all, list(tutors)) == {}
    statuses = dict(conn.execute("SELECT id, status FROM requested_sessions WHERE id = ANY(%s)",
                                 ([r for requests in tutors.values() for r in requests],)).fetchall())
    assert sorted(statuses.values()) == sorted(["cancelled", "rejected"] * ROUNDS * len(tutors))
    assert conn.execute("SELECT count(*) FROM series WHERE request_id = ANY(%s) AND last_date IS NOT NULL",
                        (list(series.values()),)).fetchone() == (len(tutors),)


@pytest.mark.asyncio
async def test_async_calls_through_the_pooler(conn, pooled_url):
    tutors = pending(conn, 4, ROUNDS)

    async def accept_all(tutor: int) -> None:
        async with await psycopg.AsyncConnection.connect(pooled_url) as client:
            for request in tutors[tutor]:
                assert len(await astegni.aio.preview(client, request)) == 2
                assert (await astegni.aio.accept(client, request, tutor_id=tutor)).sessions_created == 2
                await client.commit()

    await asyncio.gather(*(accept_all(tutor) for tutor in tutors))
    assert_made_once(conn, [request for requests in tutors.values() for request in requests])


def test_sqlalchemy_sessions_through_the_pooler(conn, pooled_url):
    """An ORM Session on an engine with SQLAlchemy's own pool: each DBAPI connection serves many calls."""
    tutors = pending(conn, 4, 2 * ROUNDS)
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(pooled_url),
                           pool_size=len(tutors))

    def accept_all(tutor: int) -> None:
        with Session(engine) as session:
            for request in tutors[tutor]:
                assert astegni.accept(session, request, tutor_id=tutor).sessions_created == 2
                session.commit()

    try:
        assert concurrently(accept_all, list(tutors)) == {}
    finally:
        engine.dispose()
    assert_made_once(conn, [request for requests in tutors.values() for request in requests])


def test_listen_through_the_pooler_fails_at_once(pooled_url):
    with psycopg.connect(pooled_url, autocommit=True) as listener, \
            pytest.raises(NotificationsUndelivered) as refused:
        listen(listener)
    message = str(refused.value)
    assert "\n" not in message
    assert f"did not arrive within {notifications.DELIVERY_CHECK_SECONDS:g} s" in message
    assert "connect the listener directly to PostgreSQL or through session pooling" in message


def test_listen_command_through_the_pooler_exits_with_one_line(pooled_url):
    result = cli("listen", url=pooled_url, check=False)
    assert_one_line_error(result, "connect the listener directly to PostgreSQL or through session pooling")
    # What docs/scaling.md shows, word for word.
    shown = doc_block(ROOT / "docs" / "scaling.md", "console",
                      "$ astegni listen    # DATABASE_URL: a pgbouncer database in pool_mode = transaction")
    assert result.stderr.strip() == shown.splitlines()[1]


def test_listen_directly_still_works_and_wakes_no_one_else(conn, db_url):
    request = Factory(conn).pending(schedule_type="specific_dates",
                                    specific_dates=[f"{next_year(conn)}-03-02"])
    with psycopg.connect(db_url, autocommit=True) as other, \
            psycopg.connect(db_url, autocommit=True) as listener:
        other.execute(f"LISTEN {CHANNEL}")
        events = listen(listener, stop_after=1)  # its check's NOTIFY came back
        astegni.accept(conn, request)
        [event] = events
        # The check notified a channel of its own: the first wake-up another listener sees is the rule's.
        [woken] = other.notifies(timeout=30, stop_after=1)
    assert (event.event, event.request_id, event.sessions) == ("accepted", request, 1)
    assert (woken.channel, woken.payload) == (CHANNEL, "")

import datetime as dt

import astegni
from tests.support import Factory


def test_accept_recurring_mon_wed_fri_makes_24(conn):
    f = Factory(conn)
    tutor = f.tutor("Europe/Berlin")
    user, _student = f.student()
    package = f.package(tutor)
    request = f.request(tutor, user, package_id=package, schedule_type="recurring",
                        days=["Monday", " wed", "FRIDAY"], message="Algebra")
    result = astegni.accept(conn, request)
    assert result.sessions_created == 24
    assert result.status == "accepted"
    rows = conn.execute("SELECT start_time, duration FROM sessions WHERE request_id = %s",
                        (request,)).fetchall()
    assert {r for r in rows} == {(dt.time(10), 60)}

"""Helpers shared by the tests: migrations, URLs and a small factory of rows."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import psycopg

from astegni.database import url_for_database
from astegni.migrations import ROOT, alembic_config, downgrade
from astegni.migrations import upgrade as migrate

__all__ = ["ROOT", "Factory", "alembic_config", "downgrade", "migrate", "url_for_database"]


class Factory:
    """Makes users, tutors, students, packages and requests with plain SQL."""

    def __init__(self, conn: psycopg.Connection[Any]):
        self.conn = conn

    def _id(self, query: str, *params: Any) -> int:
        row = self.conn.execute(query, params).fetchone()
        assert row is not None
        return int(row[0])

    def user(self) -> int:
        return self._id("INSERT INTO users DEFAULT VALUES RETURNING id")

    def tutor(self, timezone: str = "Africa/Addis_Ababa") -> int:
        return self._id("INSERT INTO tutor_profiles (user_id, timezone) VALUES (%s, %s) RETURNING id",
                        self.user(), timezone)

    def student(self) -> tuple[int, int]:
        """(user id, student profile id)."""
        user = self.user()
        return user, self._id("INSERT INTO student_profiles (user_id) VALUES (%s) RETURNING id", user)

    def package(self, tutor: int, *, rate: str = "25.00", courses: list[int] | None = None) -> int:
        return self._id(
            "INSERT INTO tutor_packages (tutor_id, name, hourly_rate, course_ids)"
            " VALUES (%s, 'Mathematics', %s, %s) RETURNING id",
            tutor, rate, courses if courses is not None else [1, 2])

    def request(self, tutor: int, student_user: int, **fields: Any) -> int:
        """A pending request by a student; jsonb fields given as Python lists are encoded."""
        values: dict[str, Any] = {
            "tutor_id": tutor, "requester_id": student_user, "requester_type": "student",
            "start_time": dt.time(10, 0), "end_time": dt.time(11, 0),
        }
        values.update(fields)
        for key in ("days", "specific_dates", "months", "year_range"):
            if key in values and values[key] is not None and not isinstance(values[key], str):
                values[key] = json.dumps(values[key])
        columns = ", ".join(values)
        placeholders = ", ".join(f"%({k})s" for k in values)
        row = self.conn.execute(
            f"INSERT INTO requested_sessions ({columns}) VALUES ({placeholders}) RETURNING id", values
        ).fetchone()
        assert row is not None
        return int(row[0])

"""Rows an app's tests need, written with plain SQL: every NOT NULL column of the app's baseline (revision
0001) gets a valid value, so a test names only what it is about."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, NamedTuple

import psycopg

# The tutors' default zone, as in tutor_profiles.timezone.
ADDIS_ABABA = "Africa/Addis_Ababa"
# requested_sessions' jsonb columns: given as Python values, they are encoded.
JSONB_COLUMNS = ("days", "specific_dates", "months", "year_range")


class Student(NamedTuple):
    user_id: int
    profile_id: int


class Parent(NamedTuple):
    user_id: int
    profile_id: int


class Factory:
    """Makes users, tutors, students, parents, packages and requests on a connection (autocommit, or
    inside the caller's transaction): each method returns the new row's id (ids, for a person)."""

    def __init__(self, conn: psycopg.Connection[Any]):
        self.conn = conn

    def _id(self, query: str, *params: Any) -> int:
        row = self.conn.execute(query, params).fetchone()
        assert row is not None
        return int(row[0])

    def user(self) -> int:
        """A new user (users need an email, unique here, and a password hash)."""
        return self._id("INSERT INTO users (email, password_hash)"
                        " VALUES (gen_random_uuid() || '@example.test', 'x') RETURNING id")

    def tutor(self, timezone: str = ADDIS_ABABA) -> int:
        """A new tutor profile (of a new user) whose sessions are on the wall clock of `timezone`."""
        return self._id("INSERT INTO tutor_profiles (user_id, timezone) VALUES (%s, %s) RETURNING id",
                        self.user(), timezone)

    def student(self) -> Student:
        """A new student: the user and the student profile."""
        user = self.user()
        profile = self._id("INSERT INTO student_profiles (user_id) VALUES (%s) RETURNING id", user)
        return Student(user, profile)

    def parent(self) -> Parent:
        """A new parent: the user and the parent profile (a parent's request names the child's profile in
        requested_to_id)."""
        user = self.user()
        profile = self._id("INSERT INTO parent_profiles (user_id) VALUES (%s) RETURNING id", user)
        return Parent(user, profile)

    def package(self, tutor_id: int, *, rate: str = "25.00", courses: list[int] | None = None) -> int:
        """A new 'Mathematics' package of the tutor, at `rate` per hour, teaching `courses` (ids)."""
        return self._id(
            "INSERT INTO tutor_packages (tutor_id, name, hourly_rate, course_ids)"
            " VALUES (%s, 'Mathematics', %s, %s) RETURNING id",
            tutor_id, rate, courses if courses is not None else [1, 2])

    def request(self, tutor_id: int, requester: Student | Parent | int, /, **columns: Any) -> int:
        """A pending request to the tutor, 10:00 to 11:00 on a new package of theirs unless `columns` (of
        requested_sessions) say otherwise. `requester` is a student or a parent (requester_type follows),
        or a user id (requester_type is then 'student' unless given); jsonb columns may be Python values."""
        requester_type = "parent" if isinstance(requester, Parent) else "student"
        values: dict[str, Any] = {
            "tutor_id": tutor_id,
            "requester_id": requester if isinstance(requester, int) else requester.user_id,
            "requester_type": requester_type,
            "start_time": dt.time(10, 0), "end_time": dt.time(11, 0),
            **columns,
        }
        if "package_id" not in values:  # enrolled_students.package_id is NOT NULL: a request names one
            values["package_id"] = self.package(tutor_id)
        for key in JSONB_COLUMNS:
            if values.get(key) is not None and not isinstance(values[key], str):
                values[key] = json.dumps(values[key])
        names = ", ".join(values)
        placeholders = ", ".join(f"%({key})s" for key in values)
        row = self.conn.execute(
            f"INSERT INTO requested_sessions ({names}) VALUES ({placeholders}) RETURNING id", values
        ).fetchone()
        assert row is not None
        return int(row[0])

    def pending(self, timezone: str = ADDIS_ABABA, **columns: Any) -> int:
        """A pending request by a new student to a new tutor in `timezone`."""
        return self.request(self.tutor(timezone), self.student(), **columns)

"""SQLAlchemy 2 models of every table, as the migrations make them (a test runs `alembic check`).

The rule lives in the database: changing `RequestedSession.status` to "accepted" and flushing is an
acceptance, whatever the client. Sessions and enrolments are read back, never computed here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP, ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

TIMESTAMPTZ = TIMESTAMP(timezone=True)


class Base(DeclarativeBase):
    pass


def stamped() -> Mapped[dt.datetime]:
    return mapped_column(TIMESTAMPTZ, server_default=text("now()"))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = stamped()


class TutorProfile(Base):
    __tablename__ = "tutor_profiles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    timezone: Mapped[str] = mapped_column(Text, server_default=text("'Africa/Addis_Ababa'::text"))
    created_at: Mapped[dt.datetime] = stamped()


class StudentProfile(Base):
    __tablename__ = "student_profiles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    created_at: Mapped[dt.datetime] = stamped()


class ParentProfile(Base):
    __tablename__ = "parent_profiles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = stamped()


class TutorPackage(Base):
    __tablename__ = "tutor_packages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int | None] = mapped_column(ForeignKey("tutor_profiles.id"))
    name: Mapped[str] = mapped_column(Text)
    hourly_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), server_default=text("0"))
    course_ids: Mapped[list[int] | None] = mapped_column(
        ARRAY(Integer), server_default=text("'{}'::integer[]"))


class RequestedSession(Base):
    __tablename__ = "requested_sessions"
    __table_args__ = (
        CheckConstraint("requester_type IN ('student', 'parent')",
                        name="requested_sessions_requester_type_check"),
        CheckConstraint("conflict_policy IN ('fail', 'skip')",
                        name="requested_sessions_conflict_policy_check"),
        Index("requested_sessions_tutor_package_idx", "tutor_id", "package_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("tutor_profiles.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requester_type: Mapped[str | None] = mapped_column(Text)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("tutor_packages.id"))
    requested_to_id: Mapped[int | None] = mapped_column(ForeignKey("student_profiles.id"))
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=text("'pending'::text"))
    schedule_type: Mapped[str | None] = mapped_column(Text)
    days: Mapped[Any | None] = mapped_column(JSONB)
    specific_dates: Mapped[Any | None] = mapped_column(JSONB)
    months: Mapped[Any | None] = mapped_column(JSONB)
    year_range: Mapped[Any | None] = mapped_column(JSONB)
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    end_time: Mapped[dt.time | None] = mapped_column(Time)
    counter_offer_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    created_at: Mapped[dt.datetime] = stamped()
    updated_at: Mapped[dt.datetime] = stamped()
    responded_at: Mapped[dt.datetime | None] = mapped_column(TIMESTAMPTZ)
    rejected_at: Mapped[dt.datetime | None] = mapped_column(TIMESTAMPTZ)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    conflict_policy: Mapped[str] = mapped_column(Text, server_default=text("'fail'::text"))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(TIMESTAMPTZ)
    cancelled_reason: Mapped[str | None] = mapped_column(Text)

    sessions: Mapped[list[Session]] = relationship(
        back_populates="request", order_by="Session.starts_at", viewonly=True)
    skipped: Mapped[list[SkippedOccurrence]] = relationship(
        order_by="SkippedOccurrence.session_date", viewonly=True)


class EnrolledStudent(Base):
    __tablename__ = "enrolled_students"
    __table_args__ = (
        UniqueConstraint("tutor_id", "student_id", name="enrolled_students_tutor_student_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int | None] = mapped_column(ForeignKey("tutor_profiles.id"))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("student_profiles.id"))
    package_id: Mapped[int | None] = mapped_column(ForeignKey("tutor_packages.id"))
    agreed_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    status: Mapped[str | None] = mapped_column(Text, server_default=text("'active'::text"))
    enrolled_at: Mapped[dt.datetime] = stamped()
    updated_at: Mapped[dt.datetime] = stamped()


class EnrolledCourse(Base):
    __tablename__ = "enrolled_courses"
    __table_args__ = (
        UniqueConstraint("tutor_id", "package_id", name="enrolled_courses_tutor_package_key",
                         postgresql_nulls_not_distinct=True),
        UniqueConstraint("id", "tutor_id", name="enrolled_courses_id_tutor_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int | None] = mapped_column(ForeignKey("tutor_profiles.id"))
    package_id: Mapped[int | None] = mapped_column(ForeignKey("tutor_packages.id"))
    students_id: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), server_default=text("'{}'::integer[]"))
    course_id: Mapped[list[int] | None] = mapped_column(
        ARRAY(Integer), server_default=text("'{}'::integer[]"))
    status: Mapped[str | None] = mapped_column(Text, server_default=text("'active'::text"))
    created_at: Mapped[dt.datetime] = stamped()
    updated_at: Mapped[dt.datetime] = stamped()

    sessions: Mapped[list[Session]] = relationship(
        back_populates="course", order_by="Session.starts_at", viewonly=True,
        foreign_keys="Session.enrolled_courses_id")


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        ForeignKeyConstraint(["enrolled_courses_id", "tutor_id"],
                             ["enrolled_courses.id", "enrolled_courses.tutor_id"],
                             name="sessions_course_tutor_fkey"),
        UniqueConstraint("request_id", "session_date", name="sessions_request_date_key"),
        CheckConstraint("ends_at > starts_at", name="sessions_time_check"),
        ExcludeConstraint(
            ("tutor_id", "="), (text("tstzrange(starts_at, ends_at)"), "&&"),
            ("enrolled_courses_id", "<>"),
            name="sessions_no_overlap", using="gist",
            where=text("status IS DISTINCT FROM 'cancelled'::text")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolled_courses_id: Mapped[int] = mapped_column(ForeignKey("enrolled_courses.id"))
    session_date: Mapped[dt.date | None] = mapped_column(Date)
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    end_time: Mapped[dt.time | None] = mapped_column(Time)
    duration: Mapped[int | None] = mapped_column(Integer)
    topics: Mapped[Any | None] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    session_mode: Mapped[str | None] = mapped_column(Text, server_default=text("'online'::text"))
    status: Mapped[str | None] = mapped_column(Text, server_default=text("'scheduled'::text"))
    priority_level: Mapped[str | None] = mapped_column(Text, server_default=text("'medium'::text"))
    created_at: Mapped[dt.datetime] = stamped()
    updated_at: Mapped[dt.datetime] = stamped()
    tutor_id: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requested_sessions.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ)
    ends_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ)

    request: Mapped[RequestedSession | None] = relationship(back_populates="sessions", viewonly=True)
    course: Mapped[EnrolledCourse] = relationship(back_populates="sessions", viewonly=True,
                                                  foreign_keys=[enrolled_courses_id])


class SkippedOccurrence(Base):
    __tablename__ = "skipped_occurrences"
    __table_args__ = (
        CheckConstraint("reason IN ('past', 'dst_gap', 'conflict')",
                        name="skipped_occurrences_reason_check"),
        Index("skipped_occurrences_request_id_idx", "request_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requested_sessions.id"))
    session_date: Mapped[dt.date] = mapped_column(Date)
    starts_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ)
    ends_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ)
    reason: Mapped[str] = mapped_column(Text)
    clash_session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    created_at: Mapped[dt.datetime] = stamped()


class ScheduleSettings(Base):
    __tablename__ = "schedule_settings"
    __table_args__ = (
        CheckConstraint("id", name="schedule_settings_id_check"),
        CheckConstraint("weeks_horizon >= 1 AND weeks_horizon <= 520",
                        name="schedule_settings_weeks_horizon_check"),
        CheckConstraint("session_limit >= 1 AND session_limit <= 100000",
                        name="schedule_settings_session_limit_check"),
    )
    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    weeks_horizon: Mapped[int] = mapped_column(Integer, server_default=text("8"))
    session_limit: Mapped[int] = mapped_column(Integer, server_default=text("200"))


class TimeZoneName(Base):
    __tablename__ = "time_zone_names"
    name: Mapped[str] = mapped_column(Text, primary_key=True)

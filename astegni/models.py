"""SQLAlchemy 2 models of the tables the rule touches, as the migrations make them (a test runs
`alembic check`): the project's own tables in full, the app's tables with the columns the rule reads or
writes, in the app's own types (naive timestamps, varchar statuses, json topics). The app's other
columns are the app's business.

The rule lives in the database: changing `RequestedSession.status` to "accepted" and flushing is an
acceptance, whatever the client. Sessions and enrolments are read back, never computed here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB, TIMESTAMP, TSTZRANGE, ExcludeConstraint, Range
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from astegni.accept import SKIP_REASONS

TIMESTAMPTZ = TIMESTAMP(timezone=True)
NAIVE = TIMESTAMP(timezone=False)  # the app's columns: UTC wall-clock time when the rule writes them
NOW = text("CURRENT_TIMESTAMP")


class Base(DeclarativeBase):
    pass


def app_stamped() -> Mapped[dt.datetime | None]:
    return mapped_column(NAIVE, server_default=NOW)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class TutorProfile(Base):
    __tablename__ = "tutor_profiles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    timezone: Mapped[str] = mapped_column(Text, server_default=text("'Africa/Addis_Ababa'::text"))


class StudentProfile(Base):
    __tablename__ = "student_profiles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class TutorPackage(Base):
    __tablename__ = "tutor_packages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("tutor_profiles.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String)
    hourly_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), server_default=text("0"))
    course_ids: Mapped[list[int] | None] = mapped_column(
        ARRAY(Integer), server_default=text("'{}'::integer[]"))


class RequestedSession(Base):
    __tablename__ = "requested_sessions"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'accepted', 'rejected', 'cancelled')",
                        name="session_requests_status_check"),
        CheckConstraint("conflict_policy IN ('fail', 'skip')",
                        name="requested_sessions_conflict_policy_check"),
        Index("requested_sessions_tutor_package_idx", "tutor_id", "package_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("tutor_profiles.id", ondelete="CASCADE"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    requester_type: Mapped[str] = mapped_column(String(20))
    package_id: Mapped[int | None] = mapped_column(ForeignKey("tutor_packages.id", ondelete="SET NULL"))
    requested_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("student_profiles.id", ondelete="SET NULL"))
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(20), server_default=text("'pending'"))
    schedule_type: Mapped[str | None] = mapped_column(String(50))
    days: Mapped[Any | None] = mapped_column(JSONB)
    specific_dates: Mapped[Any | None] = mapped_column(JSONB)
    months: Mapped[Any | None] = mapped_column(JSONB)
    year_range: Mapped[Any | None] = mapped_column(JSONB)
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    end_time: Mapped[dt.time | None] = mapped_column(Time)
    counter_offer_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    num_students: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[dt.datetime | None] = app_stamped()
    updated_at: Mapped[dt.datetime | None] = app_stamped()
    responded_at: Mapped[dt.datetime | None] = mapped_column(NAIVE)
    rejected_at: Mapped[dt.datetime | None] = mapped_column(NAIVE)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    conflict_policy: Mapped[str] = mapped_column(Text, server_default=text("'fail'::text"))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(TIMESTAMPTZ)
    cancelled_reason: Mapped[str | None] = mapped_column(Text)

    sessions: Mapped[list[Session]] = relationship(
        back_populates="request", order_by="Session.starts_at", viewonly=True)
    skipped: Mapped[list[SkippedOccurrence]] = relationship(
        order_by="SkippedOccurrence.session_date", viewonly=True)
    acceptance: Mapped[Acceptance | None] = relationship(viewonly=True)
    roster: Mapped[list[RequestedSessionStudent]] = relationship(viewonly=True)
    series: Mapped[Series | None] = relationship(viewonly=True)


class RequestedSessionStudent(Base):
    """The students of a shared booking (the app's roster); acceptance enrols each."""

    __tablename__ = "requested_session_students"
    __table_args__ = (Index("idx_rss_session", "requested_session_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requested_session_id: Mapped[int] = mapped_column(
        ForeignKey("requested_sessions.id", ondelete="CASCADE"))
    student_profile_id: Mapped[int] = mapped_column(Integer)
    is_related: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_primary: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[dt.datetime | None] = app_stamped()


class EnrolledStudent(Base):
    __tablename__ = "enrolled_students"
    __table_args__ = (
        UniqueConstraint("tutor_id", "student_id", name="enrolled_students_tutor_student_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("tutor_profiles.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("student_profiles.id", ondelete="CASCADE"))
    package_id: Mapped[int] = mapped_column(ForeignKey("tutor_packages.id", ondelete="SET NULL"))
    agreed_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    status: Mapped[str | None] = mapped_column(String(20), server_default=text("'active'"))
    enrolled_at: Mapped[dt.datetime | None] = app_stamped()
    created_at: Mapped[dt.datetime | None] = app_stamped()
    updated_at: Mapped[dt.datetime | None] = app_stamped()


class EnrolledCourse(Base):
    __tablename__ = "enrolled_courses"
    __table_args__ = (
        UniqueConstraint("tutor_id", "package_id", name="enrolled_courses_tutor_package_key",
                         postgresql_nulls_not_distinct=True),
        UniqueConstraint("id", "tutor_id", name="enrolled_courses_id_tutor_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("tutor_profiles.id", ondelete="CASCADE"))
    package_id: Mapped[int | None] = mapped_column(Integer)
    students_id: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), server_default=text("'{}'::integer[]"))
    course_id: Mapped[list[int] | None] = mapped_column(
        ARRAY(Integer), server_default=text("'{}'::integer[]"))
    status: Mapped[str | None] = mapped_column(String(50), server_default=text("'active'"))
    created_at: Mapped[dt.datetime | None] = app_stamped()
    updated_at: Mapped[dt.datetime | None] = app_stamped()

    sessions: Mapped[list[Session]] = relationship(
        back_populates="course", order_by="Session.starts_at", viewonly=True,
        foreign_keys="Session.enrolled_courses_id")


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        ForeignKeyConstraint(["enrolled_courses_id", "tutor_id"],
                             ["enrolled_courses.id", "enrolled_courses.tutor_id"],
                             name="sessions_course_tutor_fkey", ondelete="CASCADE"),
        UniqueConstraint("request_id", "session_date", name="sessions_request_date_key"),
        CheckConstraint("ends_at > starts_at", name="sessions_time_check"),
        ExcludeConstraint(
            ("tutor_id", "="), (text("tstzrange(starts_at, ends_at)"), "&&"),
            ("enrolled_courses_id", "<>"),
            name="sessions_no_overlap", using="gist",
            where=text("status IS DISTINCT FROM 'cancelled'")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolled_courses_id: Mapped[int] = mapped_column(
        ForeignKey("enrolled_courses.id", ondelete="CASCADE"))
    session_date: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    duration: Mapped[int | None] = mapped_column(Integer)
    topics: Mapped[Any | None] = mapped_column(JSON, server_default=text("'[]'::json"))
    session_mode: Mapped[str | None] = mapped_column(String(50), server_default=text("'online'"))
    status: Mapped[str | None] = mapped_column(String(20), server_default=text("'scheduled'"))
    priority_level: Mapped[str | None] = mapped_column(String(20), server_default=text("'medium'"))
    created_at: Mapped[dt.datetime | None] = app_stamped()
    updated_at: Mapped[dt.datetime | None] = app_stamped()
    tutor_id: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("requested_sessions.id", ondelete="SET NULL"))
    starts_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ)
    ends_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ)
    # Why the rule cancelled it: 'request_cancelled', 'series_ended', 'rescheduled' or 'time_off'.
    cancelled_reason: Mapped[str | None] = mapped_column(Text)

    request: Mapped[RequestedSession | None] = relationship(back_populates="sessions", viewonly=True)
    course: Mapped[EnrolledCourse] = relationship(back_populates="sessions", viewonly=True,
                                                  foreign_keys=[enrolled_courses_id])


class SkippedOccurrence(Base):
    __tablename__ = "skipped_occurrences"
    __table_args__ = (
        CheckConstraint(f"reason IN ({', '.join(map(repr, SKIP_REASONS))})",
                        name="skipped_occurrences_reason_check"),
        Index("skipped_occurrences_request_id_idx", "request_id"),
        # The occurrences time off held back: the extension looks for those it may make again.
        Index("skipped_occurrences_time_off_idx", "request_id", postgresql_where=text("reason = 'time_off'")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requested_sessions.id", ondelete="CASCADE"))
    session_date: Mapped[dt.date] = mapped_column(Date)
    starts_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ)
    ends_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ)
    reason: Mapped[str] = mapped_column(Text)
    clash_session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ, server_default=text("now()"))


class Acceptance(Base):
    """What an acceptance made, and why not more (note: a key of astegni.accept.NOTES)."""

    __tablename__ = "acceptances"
    __table_args__ = (
        CheckConstraint("note IN ('no_schedule', 'no_dates', 'no_days', 'no_times', 'window_passed',"
                        " 'none_ahead')", name="acceptances_note_check"),
    )
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requested_sessions.id", ondelete="CASCADE"), primary_key=True)
    accepted_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ)
    sessions_created: Mapped[int] = mapped_column(Integer)
    students_enrolled: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    """What the rule announced: a request accepted or cancelled, a series extended, ended or
    rescheduled, sessions cancelled by time off (astegni.notifications reads them)."""

    __tablename__ = "astegni_events"
    __table_args__ = (
        CheckConstraint("event IN ('accepted', 'cancelled', 'extended', 'ended', 'rescheduled', 'time_off')",
                        name="astegni_events_event_check"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ, server_default=text("now()"))
    event: Mapped[str] = mapped_column(Text)
    request_id: Mapped[int] = mapped_column(ForeignKey("requested_sessions.id", ondelete="CASCADE"))
    tutor_id: Mapped[int] = mapped_column(Integer)
    student_id: Mapped[int | None] = mapped_column(Integer)
    sessions: Mapped[int] = mapped_column(Integer)
    first_starts_at: Mapped[dt.datetime | None] = mapped_column(TIMESTAMPTZ)
    last_starts_at: Mapped[dt.datetime | None] = mapped_column(TIMESTAMPTZ)
    note: Mapped[str | None] = mapped_column(Text)
    # The transaction that wrote it (0 before revision 0005): listeners read in (xact, id) order.
    xact: Mapped[int] = mapped_column(BigInteger, server_default=text("(pg_current_xact_id())::text::bigint"))


class Series(Base):
    """An accepted recurring request that keeps making its sessions up to a rolling horizon
    (docs/series.md): written by the rule alone."""

    __tablename__ = "series"
    __table_args__ = (
        CheckConstraint("window_end >= window_start", name="series_check"),
        Index("series_tutor_id_idx", "tutor_id"),
    )
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requested_sessions.id", ondelete="CASCADE"), primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("tutor_profiles.id", ondelete="CASCADE"))
    # The month/year window fixed at acceptance (None: none, or one that had passed).
    window_start: Mapped[dt.date | None] = mapped_column(Date)
    window_end: Mapped[dt.date | None] = mapped_column(Date)
    # The horizon last reached, a wall-clock time in the tutor's zone.
    made_until: Mapped[dt.datetime] = mapped_column(NAIVE)
    last_date: Mapped[dt.date | None] = mapped_column(Date)
    ended_reason: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[dt.datetime | None] = mapped_column(TIMESTAMPTZ)
    closed_at: Mapped[dt.datetime | None] = mapped_column(TIMESTAMPTZ)

    request: Mapped[RequestedSession] = relationship(back_populates="series", viewonly=True)
    patterns: Mapped[list[SeriesPattern]] = relationship(order_by="SeriesPattern.id", viewonly=True)


class SeriesPattern(Base):
    """A pattern (days and times) a series has had, from the date it applied; the newest is the
    request's own."""

    __tablename__ = "series_patterns"
    __table_args__ = (Index("series_patterns_request_id_idx", "request_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("series.request_id", ondelete="CASCADE"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    days: Mapped[Any | None] = mapped_column(JSONB)
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    end_time: Mapped[dt.time | None] = mapped_column(Time)
    set_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ, server_default=text("now()"))


class TutorTimeOff(Base):
    """When a tutor is away: inserting or moving one cancels the tutor's sessions inside it."""

    __tablename__ = "tutor_time_off"
    __table_args__ = (
        Index("tutor_time_off_during_idx", "tutor_id", "during", postgresql_using="gist"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("tutor_profiles.id", ondelete="CASCADE"))
    during: Mapped[Range[dt.datetime]] = mapped_column(TSTZRANGE)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ, server_default=text("now()"))


class ExtensionRun(Base):
    """One batch of a run of the extension (astegni_extend_series): the moment it extended to, the
    tutors after after_tutor_id up to last_tutor_id (None: none was left, the run's last row), what it
    made."""

    __tablename__ = "astegni_extensions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ)
    ran_at: Mapped[dt.datetime] = mapped_column(TIMESTAMPTZ, server_default=text("now()"))
    series_grown: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    sessions_made: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    after_tutor_id: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    batch_size: Mapped[int] = mapped_column(Integer, server_default=text("200"))
    last_tutor_id: Mapped[int | None] = mapped_column(Integer)


class EventCursor(Base):
    """How far a named listener has read astegni_events."""

    __tablename__ = "astegni_event_cursors"
    listener: Mapped[str] = mapped_column(Text, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger)
    last_xact: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    started: Mapped[str | None] = mapped_column(Text)  # a pg_snapshot: its first start's


class TutorLock(Base):
    """A tutor's lock row (astegni_lock_tutors): written by the rule alone."""

    __tablename__ = "astegni_tutor_locks"
    tutor_id: Mapped[int] = mapped_column(
        ForeignKey("tutor_profiles.id", ondelete="CASCADE"), primary_key=True)


class ScheduleSettings(Base):
    __tablename__ = "schedule_settings"
    __table_args__ = (
        CheckConstraint("id", name="schedule_settings_id_check"),
        CheckConstraint("weeks_horizon >= 1 AND weeks_horizon <= 520",
                        name="schedule_settings_weeks_horizon_check"),
        CheckConstraint("session_limit >= 1 AND session_limit <= 100000",
                        name="schedule_settings_session_limit_check"),
        CheckConstraint("max_session_minutes >= 1 AND max_session_minutes <= 1440",
                        name="schedule_settings_max_session_minutes_check"),
    )
    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    weeks_horizon: Mapped[int] = mapped_column(Integer, server_default=text("8"))
    session_limit: Mapped[int] = mapped_column(Integer, server_default=text("200"))
    max_session_minutes: Mapped[int] = mapped_column(Integer, server_default=text("480"))


class TimeZoneName(Base):
    __tablename__ = "time_zone_names"
    name: Mapped[str] = mapped_column(Text, primary_key=True)

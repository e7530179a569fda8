"""Sessions as the database holds them, and as an RFC 5545 calendar (the `icalendar` library).

Each event is written in its tutor's zone (DTSTART;TZID=...) with the zone's VTIMEZONE, so that a
calendar shows a weekly 18:00 lesson at 18:00 on both sides of a DST change; the UID is stable per
session, so that importing again updates events instead of duplicating them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from icalendar import Calendar, Event
from psycopg.rows import class_row

from astegni import queries


@dataclass(frozen=True)
class SessionRow:
    id: int
    request_id: int | None
    course_id: int
    tutor_id: int
    timezone: str  # the tutor's IANA zone
    session_date: dt.date | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    topics: Any  # jsonb: a list of strings as the rule writes it
    updated_at: dt.datetime

    @property
    def summary(self) -> str:
        topics = self.topics if isinstance(self.topics, list) else []
        named = ", ".join(str(topic) for topic in topics if str(topic).strip())
        return named or "Tutoring session"

    @property
    def uid(self) -> str:
        return f"session-{self.id}@astegni"


def sessions(conn: psycopg.Connection[Any], *, tutor_id: int | None = None,
             student_id: int | None = None, course_id: int | None = None,
             request_id: int | None = None, start: dt.datetime | None = None,
             end: dt.datetime | None = None) -> list[SessionRow]:
    """The sessions matching every filter given (start <= starts_at < end), in time order."""
    params = {"tutor_id": tutor_id, "student_id": student_id, "course_id": course_id,
              "request_id": request_id, "start": start, "end": end}
    with conn.cursor(row_factory=class_row(SessionRow)) as cursor:
        return cursor.execute(queries.SESSIONS, params).fetchall()


def calendar(rows: Sequence[SessionRow], *, name: str) -> Calendar:
    """One VEVENT per session, in its tutor's zone, with the VTIMEZONE of every zone used."""
    cal = Calendar()
    cal.add("prodid", "-//Astegni//Sessions//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for row in rows:
        zone = ZoneInfo(row.timezone)
        event = Event()
        event.add("uid", row.uid)
        event.add("dtstamp", row.updated_at.astimezone(dt.UTC))
        event.add("dtstart", row.starts_at.astimezone(zone))
        event.add("dtend", row.ends_at.astimezone(zone))
        event.add("summary", row.summary)
        event.add("status", "CANCELLED" if row.status == "cancelled" else "CONFIRMED")
        cal.add_component(event)
    if rows:
        # Transitions only for the calendar's own span: a VTIMEZONE since 1970 would dwarf it.
        cal.add_missing_timezones(
            first_date=min(r.starts_at for r in rows).date() - dt.timedelta(days=1),
            last_date=max(r.ends_at for r in rows).date() + dt.timedelta(days=1))
    return cal

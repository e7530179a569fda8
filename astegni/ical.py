"""Sessions as the database holds them, and as an RFC 5545 calendar (the `icalendar` library).

Each event is written in its tutor's zone (DTSTART;TZID=...) with the zone's VTIMEZONE, so that a
calendar shows a weekly 18:00 lesson at 18:00 on both sides of a DST change; the UID is stable per
session, so that importing again updates events instead of duplicating them. A start or end whose local
time does not name its instant under RFC 5545 (the second occurrence of the hour a DST change repeats,
which RFC 5545 reads as the first) is written in UTC instead: every DTSTART and DTEND means exactly the
database's starts_at and ends_at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from astegni import queries
from astegni.connection import Conn, fetch


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
    topics: Any  # json: a list of strings as the rule writes it
    updated_at: dt.datetime  # aware: the app's naive UTC stamp, read as UTC

    @property
    def summary(self) -> str:
        topics = self.topics if isinstance(self.topics, list) else []
        named = ", ".join(str(topic) for topic in topics if str(topic).strip())
        return named or "Tutoring session"

    @property
    def uid(self) -> str:
        return f"session-{self.id}@astegni"


def sessions(conn: Conn, *, tutor_id: int | None = None,
             student_id: int | None = None, course_id: int | None = None,
             request_id: int | None = None, start: dt.datetime | None = None,
             end: dt.datetime | None = None) -> list[SessionRow]:
    """The sessions matching every filter given (start <= starts_at < end), in time order."""
    params = {"tutor_id": tutor_id, "student_id": student_id, "course_id": course_id,
              "request_id": request_id, "start": start, "end": end}
    return [SessionRow(**row) for row in fetch(conn, queries.SESSIONS, params)]


def calendar(rows: Sequence[SessionRow], *, name: str) -> Calendar:
    """One VEVENT per session, in its tutor's zone, with the VTIMEZONE of every zone used."""
    cal = Calendar()
    cal.add("prodid", "-//Astegni//Sessions//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    spans: dict[str, tuple[dt.date, dt.date]] = {}  # per TZID written: its first and last local date
    for row in rows:
        zone = ZoneInfo(row.timezone)
        event = Event()
        event.add("uid", row.uid)
        event.add("dtstamp", row.updated_at.astimezone(dt.UTC))
        event.add("dtstart", _named(row.starts_at, zone))
        event.add("dtend", _named(row.ends_at, zone))
        event.add("summary", row.summary)
        event.add("status", "CANCELLED" if row.status == "cancelled" else "CONFIRMED")
        cal.add_component(event)
        for prop, instant in ((event["DTSTART"], row.starts_at), (event["DTEND"], row.ends_at)):
            if tzid := prop.params.get("TZID"):
                day = instant.astimezone(zone).date()
                first, last = spans.get(tzid, (day, day))
                spans[tzid] = (min(first, day), max(last, day))
    # VTIMEZONEs first (a reader may need a zone before the events naming it), in a stable order, each
    # with its transitions for the zone's own span only (one since 1970 would dwarf the calendar): from
    # midnight a day before its first local date to midnight two days after its last, local dates, as
    # icalendar reads them (a UTC date misses a change early on the wall clock of a zone east of UTC).
    for position, tzid in enumerate(sorted(cal.get_missing_tzids())):
        first, last = spans[tzid]
        cal.subcomponents.insert(position, Timezone.from_tzid(
            tzid, first_date=first - dt.timedelta(days=1), last_date=last + dt.timedelta(days=2)))
    return cal


def _named(instant: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The instant as it is written: on the zone's wall clock (DTSTART;TZID=...) when that local time
    means this instant under RFC 5545, else in UTC (...Z).

    RFC 5545 reads a local time that occurs twice (the hour a DST change repeats) as its first
    occurrence, so the second occurrence has no TZID form; a stored instant never falls in a skipped
    hour, but the round trip below would catch that too."""
    local = instant.astimezone(zone)
    if local.replace(fold=0).astimezone(dt.UTC) == instant:
        return local.replace(fold=0)
    return instant.astimezone(dt.UTC)

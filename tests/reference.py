"""An independent model of the acceptance contract (issues 2 and 3), in plain Python.

Written from the issue texts, not from the SQL: given a request's schedule fields, the tutor's zone
and the moment of acceptance, it says which sessions acceptance must make, which occurrences it
must record as skipped ('past', 'dst_gap') and the note it must record in `acceptances`, or which
refusal it must raise. The property tests compare the database with it; a disagreement is a bug in
one of the two.

What is missing is not wrong: a request without a schedule type (NULL or blank), without dates
(specific, NULL or []), without weekdays (recurring, NULL or []) or without a start or end time is
accepted with no session and a note saying which ('no_schedule', 'no_dates', 'no_days', 'no_times');
only a value that is there and malformed is refused. A recurring window whose years have all passed
(the app's form ticks last year by default) is ignored, months included: the weeks horizon applies
(note 'window_passed'). A schedule that is there in full but leaves nothing to make gets 'none_ahead'.

Wall-clock times are read as PostgreSQL's `(date + time) AT TIME ZONE zone` reads them: a time
that a DST change skips or repeats is the later of its two possible instants.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
SCHEDULE_TYPES = ("specific_dates", "specific", "recurring")
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
YEAR_TEXT = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Request:
    """The schedule fields of requested_sessions; JSON fields as decoded JSON (None is SQL NULL)."""

    schedule_type: str | None = None
    days: Any = None
    specific_dates: Any = None
    months: Any = None
    year_range: Any = None
    start_time: dt.time | None = dt.time(10)
    end_time: dt.time | None = dt.time(11)


@dataclass(frozen=True)
class Occurrence:
    session_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime

    @property
    def has_time(self) -> bool:
        return self.ends_at > self.starts_at


@dataclass(frozen=True)
class Skip:
    occurrence: Occurrence
    reason: str  # 'past' | 'dst_gap'


NOTES = ("no_schedule", "no_dates", "no_days", "no_times", "window_passed", "none_ahead")


@dataclass(frozen=True)
class Plan:
    """What acceptance makes: sessions and skipped occurrences, both in date order, and the note it
    records (one of NOTES, or None when the schedule was made in full)."""

    sessions: tuple[Occurrence, ...]
    skipped: tuple[Skip, ...]
    note: str | None = None


@dataclass(frozen=True)
class Refusal:
    error: str  # 'InvalidSchedule' | 'TooManySessions' (the class names in astegni.errors)
    field: str


class _Refused(Exception):
    def __init__(self, error: str, field: str):
        super().__init__(field)
        self.refusal = Refusal(error, field)


def instant(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of a wall-clock time; a skipped or repeated time reads as the later of its
    two possible instants (zoneinfo's fold=0 and fold=1 give those two), as PostgreSQL reads it."""
    local = dt.datetime.combine(day, time)
    return max(local.replace(tzinfo=zone, fold=fold).astimezone(dt.UTC) for fold in (0, 1))


def occurrence(day: dt.date, start: dt.time, end: dt.time, zone: ZoneInfo) -> Occurrence:
    """The occurrence on `day`; an end time before the start time ends the next day."""
    end_day = day + dt.timedelta(days=1) if end < start else day
    return Occurrence(day, instant(day, start, zone), instant(end_day, end, zone))


def expected(request: Request, zone_name: str, now: dt.datetime, *, weeks: int = 8,
             limit: int = 200) -> Plan | Refusal:
    """What accepting `request` for a tutor in `zone_name` at the instant `now` must do."""
    try:
        return _plan(request, ZoneInfo(zone_name), now, weeks, limit)
    except _Refused as refused:
        return refused.refusal


def _plan(request: Request, zone: ZoneInfo, now: dt.datetime, weeks: int, limit: int) -> Plan:
    plan = _schedule(request, zone, now, weeks, limit)
    if plan.note is None and not plan.sessions:
        return Plan(plan.sessions, plan.skipped, "none_ahead")
    return plan


def _schedule(request: Request, zone: ZoneInfo, now: dt.datetime, weeks: int, limit: int) -> Plan:
    """The plan, its note left unset when nothing is missing. Every value that is there is judged
    first (type, times, then the lists in field order); only then does a missing one stop the plan."""
    if request.schedule_type is None or not request.schedule_type.strip(" "):
        return Plan((), (), "no_schedule")  # requests made before schedules existed, or left blank
    kind = request.schedule_type.strip(" ").lower()
    if kind not in SCHEDULE_TYPES:
        raise _Refused("InvalidSchedule", "schedule_type")
    start, end = request.start_time, request.end_time
    if start is not None and end == start:
        raise _Refused("InvalidSchedule", "end_time")
    today = now.astimezone(zone).date()
    timeless = Plan((), (), "no_times")
    if kind != "recurring":
        dates = _dates(request.specific_dates)
        if dates is None:
            return Plan((), (), "no_dates")
        if start is None or end is None:
            return timeless
        return _specific(dates, start, end, zone, now, limit)
    weekdays = _names(request.days, WEEKDAYS, "days")
    months = _names(request.months, MONTHS, "months")
    years = _years(request.year_range)
    if weekdays is None:
        return Plan((), (), "no_days")
    if start is None or end is None:
        return timeless
    if years is not None and years[-1] < today.year:
        # a stale window: ignored with its months, the weeks horizon instead
        plan = _horizon(weekdays, start, end, zone, now, today, weeks, limit)
        return Plan(plan.sessions, plan.skipped, "window_passed")
    if months is None and years is None:
        return _horizon(weekdays, start, end, zone, now, today, weeks, limit)
    if years is None:
        assert months is not None
        # months alone: the 12 months starting with the current one in the tutor's zone
        window = [(today.year + (today.month - 1 + i) // 12, (today.month - 1 + i) % 12 + 1)
                  for i in range(12)]
        window = [(y, m) for y, m in window if m in months]
    else:
        window = [(y, m) for y in years for m in (months or range(1, 13))]
    field = "year_range" if years is not None else "months"
    return _window(sorted(window), weekdays, start, end, zone, now, today, limit, field)


def _names(value: Any, names: tuple[str, ...], field: str) -> set[int] | None:
    """Indexes of names (any case, trimmed, full or three-letter; weekday 0 = Monday, month 1 =
    January); None when unset (NULL or [])."""
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise _Refused("InvalidSchedule", field)
    found = set()
    for item in value:
        if not isinstance(item, str):
            raise _Refused("InvalidSchedule", field)
        word = item.strip(" ").lower()
        matches = [i for i, name in enumerate(names) if word in (name, name[:3])]
        if not matches:
            raise _Refused("InvalidSchedule", field)
        found.add(matches[0] + (1 if names is MONTHS else 0))
    return found


def _years(value: Any) -> list[int] | None:
    """The years of year_range: a year, [from] or [from, to]; None when unset."""
    if value is None or value == []:
        return None
    bounds = value if isinstance(value, list) else [value]
    if len(bounds) > 2:
        raise _Refused("InvalidSchedule", "year_range")
    years = []
    for bound in bounds:
        if isinstance(bound, int) and not isinstance(bound, bool):
            years.append(bound)
        elif isinstance(bound, str) and YEAR_TEXT.fullmatch(bound.strip(" ")):
            years.append(int(bound.strip(" ")))
        else:
            raise _Refused("InvalidSchedule", "year_range")
    first, last = years[0], years[-1]
    if not 1 <= first <= last <= 9999:
        raise _Refused("InvalidSchedule", "year_range")
    return list(range(first, last + 1))


def _dates(value: Any) -> list[dt.date] | None:
    """The distinct dates of specific_dates ('YYYY-MM-DD', surrounding blanks allowed); None when
    unset (NULL or [])."""
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise _Refused("InvalidSchedule", "specific_dates")
    dates = set()
    for item in value:
        text = item.strip(" ") if isinstance(item, str) else ""
        if not DATE_TEXT.fullmatch(text):
            raise _Refused("InvalidSchedule", "specific_dates")
        try:
            dates.add(dt.date.fromisoformat(text))
        except ValueError:
            raise _Refused("InvalidSchedule", "specific_dates") from None
    return sorted(dates)


def _specific(dates: list[dt.date], start: dt.time, end: dt.time, zone: ZoneInfo,
              now: dt.datetime, limit: int) -> Plan:
    sessions: list[Occurrence] = []
    skipped: list[Skip] = []
    for day in dates:
        occ = occurrence(day, start, end, zone)
        if occ.starts_at <= now:
            skipped.append(Skip(occ, "past"))
        elif not occ.has_time:
            skipped.append(Skip(occ, "dst_gap"))
        else:
            sessions.append(occ)
    if len(sessions) > limit:
        raise _Refused("TooManySessions", "specific_dates")
    return Plan(tuple(sessions), tuple(skipped))


def _recur(occ: Occurrence, now: dt.datetime, sessions: list[Occurrence], skipped: list[Skip]) -> None:
    """A recurring occurrence: made if it starts after now and has a time, recorded as a DST gap if
    it starts after now without one; before now it is outside the range and not recorded."""
    if occ.starts_at > now:
        if occ.has_time:
            sessions.append(occ)
        else:
            skipped.append(Skip(occ, "dst_gap"))


def _horizon(weekdays: set[int], start: dt.time, end: dt.time, zone: ZoneInfo, now: dt.datetime,
             today: dt.date, weeks: int, limit: int) -> Plan:
    """The next weeks * weekdays occurrences that have a time, after now; the gaps passed over on
    the way are recorded."""
    wanted = weeks * len(weekdays)
    if wanted > limit:
        raise _Refused("TooManySessions", "days")
    sessions: list[Occurrence] = []
    skipped: list[Skip] = []
    day = today - dt.timedelta(days=2)  # a DST change can move a late time of a recent day past now
    while len(sessions) < wanted:
        if day.weekday() in weekdays:
            _recur(occurrence(day, start, end, zone), now, sessions, skipped)
        day += dt.timedelta(days=1)
    return Plan(tuple(sessions), tuple(skipped))


def _window(months: list[tuple[int, int]], weekdays: set[int], start: dt.time, end: dt.time,
            zone: ZoneInfo, now: dt.datetime, today: dt.date, limit: int, field: str) -> Plan:
    """Every chosen weekday in the window's months, from now on; what lies before now is outside
    the window's future and not recorded."""
    sessions: list[Occurrence] = []
    skipped: list[Skip] = []
    earliest = today - dt.timedelta(days=2)
    for year, month in months:
        if (year, month) < (earliest.year, earliest.month):
            continue
        day = dt.date(year, month, 1)
        while day.month == month:
            if day.weekday() in weekdays and day >= earliest:
                _recur(occurrence(day, start, end, zone), now, sessions, skipped)
            if day == dt.date.max:
                break
            day += dt.timedelta(days=1)
        if len(sessions) > limit:
            raise _Refused("TooManySessions", field)
    return Plan(tuple(sessions), tuple(skipped))

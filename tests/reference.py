"""An independent model of the acceptance contract (issues 2 and 3) and of series (revision 0003,
docs/series.md), in plain Python.

Written from the issue texts and docs/series.md, not from the SQL: given a request's schedule fields,
the tutor's zone and the moment of acceptance, it says which sessions acceptance must make, which
occurrences it must record as skipped ('past', 'dst_gap', 'time_off') and the note it must record in
`acceptances`, or which refusal it must raise; `Series` then follows an accepted recurring request
through extensions, time off, a reschedule and its end. The property tests compare the database with
it; a disagreement is a bug in one of the two.

What is missing is not wrong: a request without a schedule type (NULL or blank), without dates
(specific, NULL or []), without weekdays (recurring, NULL or []) or without a start or end time is
accepted with no session and a note saying which ('no_schedule', 'no_dates', 'no_days', 'no_times');
only a value that is there and malformed is refused. A schedule that is there in full but leaves
nothing to make gets 'none_ahead'.

Specific dates: every date, its start passed recorded as 'past'. Recurring: a series, made up to its
horizon, a wall-clock time in the tutor's zone:

    horizon = max(now on the tutor's wall clock, the window's first day at 00:00) + weeks

Acceptance makes the occurrences (a chosen weekday at the start time) whose wall-clock start
`date + start_time` is after the wall-clock now and at or before the horizon, within the window; each
is then judged on instants: started ('past'), no time left by a DST change ('dst_gap'), inside the
tutor's time off ('time_off'), else a session. The window: years, 1 January of the first to 31
December of the last; months without years, those of the 12 months from the month of acceptance;
both, those months of those years. It opens on the first day of its first chosen month (a window
that opens next March makes its first weeks from 1 March) and ends with its years or 12 months. A
window whose years have all passed (the app's form ticks last year by default) is ignored, months
included (note 'window_passed'): the series runs indefinitely, as without a window. More sessions
than the limit refuse the request (TooManySessions). A session longer than the longest allowed
(schedule_settings.max_session_minutes, 480 by default: its end minus its start on the wall clock,
plus 24 hours when the end is before the start) refuses it too, naming end_time.

Wall-clock times are read as PostgreSQL's `(date + time) AT TIME ZONE zone` reads them: a time
that a DST change skips or repeats is the later of its two possible instants. Time off is a half-open
range of instants, `[start, end)` as PostgreSQL's tstzrange; an occurrence is inside it when its
`[starts_at, ends_at)` overlaps it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
SCHEDULE_TYPES = ("specific_dates", "specific", "recurring")
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
YEAR_TEXT = re.compile(r"[0-9]+")
MIDNIGHT = dt.time(0)

TimeOff = tuple[dt.datetime, dt.datetime]  # [start, end): aware instants


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
    reason: str  # 'past' | 'dst_gap' | 'time_off'


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
    error: str  # 'InvalidSchedule' | 'TooManySessions' | 'SeriesEnded' (classes in astegni.errors)
    field: str


@dataclass(frozen=True)
class Pattern:
    """A series' weekly pattern: weekdays (0 = Monday) at a start and end time."""

    weekdays: frozenset[int]
    start: dt.time
    end: dt.time


@dataclass(frozen=True)
class Window:
    """When a series runs: from its first to its last day, in the chosen months only (None: all)."""

    first: dt.date
    last: dt.date
    months: frozenset[int] | None

    def holds(self, day: dt.date) -> bool:
        return self.first <= day <= self.last and (self.months is None or day.month in self.months)


class _Refused(Exception):
    def __init__(self, error: str, field: str):
        super().__init__(field)
        self.refusal = Refusal(error, field)


def instant(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of a wall-clock time; a skipped or repeated time reads as the later of its
    two possible instants (zoneinfo's fold=0 and fold=1 give those two), as PostgreSQL reads it."""
    local = dt.datetime.combine(day, time)
    return max(local.replace(tzinfo=zone, fold=fold).astimezone(dt.UTC) for fold in (0, 1))


def wall_clock(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The naive wall-clock time of an instant in the zone, as PostgreSQL's `t AT TIME ZONE zone`."""
    return moment.astimezone(zone).replace(tzinfo=None)


def occurrence(day: dt.date, start: dt.time, end: dt.time, zone: ZoneInfo) -> Occurrence:
    """The occurrence on `day`; an end time before the start time ends the next day."""
    end_day = day + dt.timedelta(days=1) if end < start else day
    return Occurrence(day, instant(day, start, zone), instant(end_day, end, zone))


def overlaps(occ: Occurrence, time_off: Iterable[TimeOff]) -> bool:
    """Whether the occurrence's [starts_at, ends_at) overlaps one of the [start, end) ranges (an
    empty occurrence, a DST gap's, overlaps nothing)."""
    return occ.has_time and any(occ.starts_at < end and start < occ.ends_at and start < end
                                for start, end in time_off)


def judge(occ: Occurrence, at: dt.datetime, time_off: Iterable[TimeOff] = ()) -> str | None:
    """Why an occurrence cannot be made at the instant `at` ('past', 'dst_gap', 'time_off'), or None."""
    if occ.starts_at <= at:
        return "past"
    if not occ.has_time:
        return "dst_gap"
    if overlaps(occ, time_off):
        return "time_off"
    return None


def expected(request: Request, zone_name: str, now: dt.datetime, *, weeks: int = 8,
             limit: int = 200, max_minutes: int = 480) -> Plan | Refusal:
    """What accepting `request` for a tutor in `zone_name` at the instant `now` must do."""
    try:
        return _plan(request, ZoneInfo(zone_name), now, weeks, limit, max_minutes, ())
    except _Refused as refused:
        return refused.refusal


def _plan(request: Request, zone: ZoneInfo, now: dt.datetime, weeks: int, limit: int, max_minutes: int,
          time_off: Sequence[TimeOff]) -> Plan:
    plan = _schedule(request, zone, now, weeks, limit, max_minutes, time_off)
    if plan.note is None and not plan.sessions:
        return Plan(plan.sessions, plan.skipped, "none_ahead")
    return plan


def _schedule(request: Request, zone: ZoneInfo, now: dt.datetime, weeks: int, limit: int,
              max_minutes: int, time_off: Sequence[TimeOff]) -> Plan:
    """The plan, its note left unset when nothing is missing. Every value that is there is judged
    first (type, times, then the lists in field order); only then does a missing one stop the plan."""
    kind = _kind(request)
    if kind is None:
        return Plan((), (), "no_schedule")  # requests made before schedules existed, or left blank
    if _bad_times(request.start_time, request.end_time, max_minutes):
        raise _Refused("InvalidSchedule", "end_time")
    start, end = request.start_time, request.end_time
    if kind != "recurring":
        dates = _dates(request.specific_dates)
        if dates is None:
            return Plan((), (), "no_dates")
        if start is None or end is None:
            return Plan((), (), "no_times")
        return _specific(dates, start, end, zone, now, limit, time_off)
    wall = wall_clock(now, zone)
    pattern, window, note, field = _terms(request, wall.date())
    if pattern is None:
        return Plan((), (), note)
    plan = _made(pattern, window, zone, now, time_off, first=wall.date(), after=wall,
                 until=horizon(wall, window, weeks))
    if len(plan.sessions) > limit:
        raise _Refused("TooManySessions", field)
    return Plan(plan.sessions, plan.skipped, note)


def _kind(request: Request) -> str | None:
    """The schedule type, lower case and trimmed; None when missing; refused when unknown."""
    if request.schedule_type is None or not request.schedule_type.strip(" "):
        return None
    kind = request.schedule_type.strip(" ").lower()
    if kind not in SCHEDULE_TYPES:
        raise _Refused("InvalidSchedule", "schedule_type")
    return kind


def _bad_times(start: dt.time | None, end: dt.time | None, max_minutes: int) -> bool:
    """Whether two times that are there make no session (equal) or one longer than `max_minutes`
    on the wall clock (an end before the start ends the next day). Python has no 24:00."""
    if start is None or end is None:
        return False
    length = _since_midnight(end) - _since_midnight(start)
    if end < start:
        length += dt.timedelta(days=1)
    return end == start or length > dt.timedelta(minutes=max_minutes)


def _since_midnight(time: dt.time) -> dt.timedelta:
    return dt.timedelta(hours=time.hour, minutes=time.minute, seconds=time.second,
                        microseconds=time.microsecond)


def _terms(request: Request, today: dt.date) -> tuple[Pattern | None, Window | None, str | None, str]:
    """A recurring request's pattern (None when its weekdays or times are missing, with the note
    saying which), its window (None: it runs indefinitely), its note and the field a refusal for too
    many sessions names."""
    weekdays = _names(request.days, WEEKDAYS, "days")
    months = _names(request.months, MONTHS, "months")
    years = _years(request.year_range)
    if weekdays is None:
        return None, None, "no_days", "days"
    if request.start_time is None or request.end_time is None:
        return None, None, "no_times", "days"
    pattern = Pattern(frozenset(weekdays), request.start_time, request.end_time)
    if years is not None and years[-1] < today.year:
        # a stale window: ignored with its months, the series runs indefinitely
        return pattern, None, "window_passed", "days"
    if months is None and years is None:
        return pattern, None, None, "days"
    if years is None:
        assert months is not None
        # months alone: the 12 months starting with the current one in the tutor's zone
        period = [(today.year + (today.month - 1 + i) // 12, (today.month - 1 + i) % 12 + 1)
                  for i in range(12)]
    else:
        period = [(y, m) for y in years for m in range(1, 13)]
    # It opens on the first day of its first chosen month and ends with its years (or its 12 months).
    first_year, first_month = min((y, m) for y, m in period if months is None or m in months)
    window = Window(dt.date(first_year, first_month, 1), _month_end(*period[-1]),
                    frozenset(months) if months is not None else None)
    return pattern, window, None, "year_range" if years is not None else "months"


def _month_end(year: int, month: int) -> dt.date:
    if month == 12:
        return dt.date(year, 12, 31)
    return dt.date(year, month + 1, 1) - dt.timedelta(days=1)


def horizon(wall: dt.datetime, window: Window | None, weeks: int) -> dt.datetime:
    """The horizon at the wall-clock time `wall`: from it, or from the window's first day at 00:00
    when that is later, `weeks` weeks on."""
    base = wall if window is None else max(wall, dt.datetime.combine(window.first, MIDNIGHT))
    return base + dt.timedelta(weeks=weeks)


def stretch(pattern: Pattern, window: Window | None, zone: ZoneInfo, *, first: dt.date,
            after: dt.datetime | None, until: dt.datetime,
            last: dt.date | None = None) -> list[Occurrence]:
    """The pattern's occurrences from the day `first`, whose wall-clock start is after `after` (None:
    any) and at or before `until`, within the window and on or before the day `last`, in date order."""
    found = []
    day = first
    while dt.datetime.combine(day, pattern.start) <= until:
        start = dt.datetime.combine(day, pattern.start)
        if (day.weekday() in pattern.weekdays and (after is None or start > after)
                and (window is None or window.holds(day)) and (last is None or day <= last)):
            found.append(occurrence(day, pattern.start, pattern.end, zone))
        if day == dt.date.max:
            break
        day += dt.timedelta(days=1)
    return found


def _made(pattern: Pattern, window: Window | None, zone: ZoneInfo, now: dt.datetime,
          time_off: Sequence[TimeOff], *, first: dt.date, after: dt.datetime,
          until: dt.datetime) -> Plan:
    """A stretch of a series, each occurrence judged at `now`: sessions and skipped occurrences."""
    sessions: list[Occurrence] = []
    skipped: list[Skip] = []
    for occ in stretch(pattern, window, zone, first=first, after=after, until=until):
        reason = judge(occ, now, time_off)
        if reason is None:
            sessions.append(occ)
        else:
            skipped.append(Skip(occ, reason))
    return Plan(tuple(sessions), tuple(skipped))


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
              now: dt.datetime, limit: int, time_off: Sequence[TimeOff]) -> Plan:
    sessions: list[Occurrence] = []
    skipped: list[Skip] = []
    for day in dates:
        occ = occurrence(day, start, end, zone)
        reason = judge(occ, now, time_off)
        if reason is None:
            sessions.append(occ)
        else:
            skipped.append(Skip(occ, reason))
    if len(sessions) > limit:
        raise _Refused("TooManySessions", "specific_dates")
    return Plan(tuple(sessions), tuple(skipped))


# --- series --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeriesSession:
    """A session of a series: its occurrence, the times it was made with, its status and why it was
    cancelled ('time_off', 'rescheduled', 'series_ended', or the reason its date's new occurrence
    could not be made)."""

    occurrence: Occurrence
    start_time: dt.time
    end_time: dt.time
    status: str = "scheduled"  # 'scheduled' | 'cancelled'
    cancelled_reason: str | None = None


@dataclass(frozen=True)
class Change:
    """A row of a reschedule's plan: outcome 'keep' | 'move' | 'create' | 'cancel' | 'skip'."""

    session_date: dt.date
    outcome: str
    reason: str | None


class Series:
    """An accepted recurring request as it lives (docs/series.md), one per tutor: clashes with other
    requests are not modelled. Sessions and skipped occurrences are kept by date, one of each at most.

    Every operation takes its moment: `accept(now)`, `extend(at)`, `add_time_off(start, end, now)`,
    `remove_time_off(start, end)`, `reschedule(...)`, `end(last_date, now)`. `made_until` is the
    horizon the series was last brought to, a naive wall-clock time in the tutor's zone."""

    def __init__(self, request: Request, zone_name: str, *, weeks: int = 8, limit: int = 200,
                 max_minutes: int = 480):
        self.request = request
        self.zone = ZoneInfo(zone_name)
        self.weeks = weeks
        self.limit = limit
        self.max_minutes = max_minutes
        self.time_off: list[TimeOff] = []
        self.sessions: dict[dt.date, SeriesSession] = {}
        self.skipped: dict[dt.date, Skip] = {}
        self.pattern: Pattern | None = None  # the newest
        # Every pattern the series has had, in the order they were set, with the day each applies
        # from: a day follows the newest pattern that applies on it ("this and all following").
        self.patterns: list[tuple[dt.date, Pattern]] = []
        self.window: Window | None = None
        self.made_until: dt.datetime | None = None
        self.last_date: dt.date | None = None
        self.restored = 0  # occurrences made again after their time off went, for the statistics

    # --- what the database must hold ---

    def session_rows(self) -> list[tuple[dt.date, dt.datetime, dt.datetime, str, str | None, dt.time,
                                         dt.time]]:
        """(session_date, starts_at, ends_at, status, cancelled_reason, start_time, end_time) in date
        order."""
        return [(d, s.occurrence.starts_at, s.occurrence.ends_at, s.status, s.cancelled_reason,
                 s.start_time, s.end_time) for d, s in sorted(self.sessions.items())]

    def skipped_rows(self) -> list[tuple[dt.date, dt.datetime, str]]:
        """(session_date, starts_at, reason) in date order."""
        return [(d, s.occurrence.starts_at, s.reason) for d, s in sorted(self.skipped.items())]

    @property
    def last_day(self) -> dt.date | None:
        """The last day the series runs: the end of its window or its last date, the earlier."""
        days = [d for d in (self.window.last if self.window else None, self.last_date) if d is not None]
        return min(days) if days else None

    @property
    def live(self) -> bool:
        """Accepted, and its horizon has not passed its last day."""
        if self.made_until is None:
            return False
        last = self.last_day
        return last is None or self.made_until.date() <= last

    # --- operations ---

    def accept(self, now: dt.datetime) -> Plan | Refusal:
        """Accepting the request at the instant `now`: its first stretch, up to the horizon."""
        try:
            plan = _plan(self.request, self.zone, now, self.weeks, self.limit, self.max_minutes,
                         self.time_off)
        except _Refused as refused:
            return refused.refusal
        if _kind(self.request) == "recurring":  # a series, even one that has nothing to make yet
            wall = wall_clock(now, self.zone)
            self.pattern, self.window, _, _ = _terms(self.request, wall.date())
            if self.pattern is not None:
                self.patterns.append((dt.date.min, self.pattern))
            self.made_until = horizon(wall, self.window, self.weeks)
        for occ in plan.sessions:
            assert self.request.start_time is not None and self.request.end_time is not None
            self.sessions[occ.session_date] = SeriesSession(
                occ, self.request.start_time, self.request.end_time)
        for skip in plan.skipped:
            self.skipped[skip.occurrence.session_date] = skip
        return plan

    def extend(self, at: dt.datetime) -> int:
        """The extension at the instant `at`: time off's occurrences no time off covers any more are
        made again, then a live series is brought to the horizon of `at`. Returns the sessions made
        (restored included)."""
        if self.made_until is None or self.pattern is None:
            return 0
        made = 0
        for day, skip in sorted(self.skipped.items()):
            occ = skip.occurrence
            if (skip.reason != "time_off" or occ.starts_at <= at or overlaps(occ, self.time_off)
                    or (self.last_date is not None and day > self.last_date)):
                continue
            session = self.sessions.get(day)
            if session is None:
                pattern = self.pattern_on(day)
                self.sessions[day] = SeriesSession(occ, pattern.start, pattern.end)
            elif session.status == "cancelled" and session.cancelled_reason == "time_off":
                self.sessions[day] = replace(session, status="scheduled", cancelled_reason=None)
            else:
                continue
            del self.skipped[day]
            made += 1
            self.restored += 1
        if not self.live:
            return made
        until = horizon(wall_clock(at, self.zone), self.window, self.weeks)
        if until <= self.made_until:
            return made
        for occ, pattern in self._stretch(self.made_until, until):
            if occ.session_date in self.sessions or occ.session_date in self.skipped:
                # left to the session already on that date, or to what a reschedule made of the
                # marker's day (up to its end): the only day an occurrence may already be skipped
                continue
            reason = judge(occ, at, self.time_off)
            if reason is None:
                self.sessions[occ.session_date] = SeriesSession(occ, pattern.start, pattern.end)
                made += 1
            else:
                self.skipped[occ.session_date] = Skip(occ, reason)
        self.made_until = until
        return made

    def add_time_off(self, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> int:
        """Time off [start, end) added at the instant `now`: the scheduled sessions inside it that have
        not started are cancelled, each recorded as a 'time_off' skipped occurrence. Returns them."""
        self.time_off.append((start, end))
        cancelled = 0
        for day, session in sorted(self.sessions.items()):
            occ = session.occurrence
            if session.status == "scheduled" and occ.starts_at > now and overlaps(occ, [(start, end)]):
                self.sessions[day] = replace(session, status="cancelled", cancelled_reason="time_off")
                self.skipped[day] = Skip(occ, "time_off")
                cancelled += 1
        return cancelled

    def remove_time_off(self, start: dt.datetime, end: dt.datetime) -> None:
        """Time off removed: nothing changes until the next extension (restoring)."""
        self.time_off.remove((start, end))

    def move_time_off(self, old: TimeOff, new: TimeOff, now: dt.datetime) -> int:
        """Time off moved: as removed and added again."""
        self.remove_time_off(*old)
        return self.add_time_off(*new, now)

    def reschedule(self, from_date: dt.date, days: Any, start_time: dt.time | None,
                   end_time: dt.time | None, now: dt.datetime) -> list[Change] | Refusal:
        """This and all following, at the instant `now`: from `from_date` (or the tutor's today, if
        later) up to the end of made_until's day, the sessions that have not started become what the
        new pattern makes, matched by date. None keeps the current days or time. Returns the plan's rows."""
        assert self.pattern is not None and self.made_until is not None
        wall = wall_clock(now, self.zone)
        first = max(from_date, wall.date())
        if self.last_date is not None and first > self.last_date:
            return Refusal("SeriesEnded", "p_from")
        start = start_time if start_time is not None else self.pattern.start
        end = end_time if end_time is not None else self.pattern.end
        if _bad_times(start, end, self.max_minutes):  # the times are judged before the days
            return Refusal("InvalidSchedule", "end_time")
        try:
            weekdays = _names(days, WEEKDAYS, "days") if days is not None else set(self.pattern.weekdays)
        except _Refused as refused:
            return refused.refusal
        if weekdays is None:
            return Refusal("InvalidSchedule", "days")
        pattern = Pattern(frozenset(weekdays), start, end)
        # as at acceptance: the occurrences whose wall-clock start is after now
        new = {occ.session_date: occ for occ in stretch(
            pattern, self.window, self.zone, first=first, after=wall,
            until=dt.datetime.combine(self.made_until.date(), dt.time.max),  # the marker's whole day
            last=self.last_date)}
        old = {d: s for d, s in self.sessions.items() if d >= first and s.occurrence.starts_at > now}
        for day, skip in list(self.skipped.items()):
            if day >= first and skip.occurrence.starts_at > now:
                del self.skipped[day]  # the old pattern's: the new plan says what is skipped
        changes = []
        for day in sorted(new.keys() | old.keys()):
            session = old.get(day)
            if day not in new:
                assert session is not None
                self.sessions[day] = replace(session, status="cancelled", cancelled_reason="rescheduled")
                changes.append(Change(day, "cancel", "rescheduled"))
                continue
            occ = new[day]
            reason = judge(occ, now, self.time_off)
            if reason is not None:
                self.skipped[day] = Skip(occ, reason)
                if session is None:
                    changes.append(Change(day, "skip", reason))
                else:
                    self.sessions[day] = replace(session, status="cancelled", cancelled_reason=reason)
                    changes.append(Change(day, "cancel", reason))
            elif session is None:
                self.sessions[day] = SeriesSession(occ, start, end)
                changes.append(Change(day, "create", None))
            else:
                moved = SeriesSession(occ, start, end)
                changes.append(Change(day, "keep" if moved == session else "move", None))
                self.sessions[day] = moved
        self.pattern = pattern
        self.patterns.append((first, pattern))
        return changes

    def pattern_on(self, day: dt.date) -> Pattern:
        """The pattern that applies on `day`: the newest of those applying from that day or earlier."""
        return next(p for valid_from, p in reversed(self.patterns) if valid_from <= day)

    def _stretch(self, after: dt.datetime, until: dt.datetime) -> list[tuple[Occurrence, Pattern]]:
        """The series' occurrences whose wall-clock start is after `after` and at or before `until`,
        each day by the pattern that applies on it, within the window and up to the last date."""
        found = []
        for valid_from, pattern in self.patterns:
            for occ in stretch(pattern, self.window, self.zone, first=max(after.date(), valid_from),
                               after=after, until=until, last=self.last_date):
                if self.pattern_on(occ.session_date) is pattern:
                    found.append((occ, pattern))
        return sorted(found, key=lambda pair: pair[0].session_date)

    def end(self, last_date: dt.date, now: dt.datetime) -> int | Refusal:
        """Ending the series after `last_date` at the instant `now`: its scheduled sessions after that
        date that have not started are cancelled, and the time off it was waiting out after that date
        ('time_off' skipped occurrences) is forgotten. Returns how many sessions it cancelled."""
        if self.made_until is None:
            return Refusal("NotASeries", "p_request_id")
        if self.last_date is not None and last_date > self.last_date:
            return Refusal("SeriesEnded", "p_last_date")
        if last_date == self.last_date:
            return 0
        self.last_date = last_date
        for day in [d for d, skip in self.skipped.items() if d > last_date and skip.reason == "time_off"]:
            del self.skipped[day]
        cancelled = 0
        for day, session in sorted(self.sessions.items()):
            if day > last_date and session.status == "scheduled" and session.occurrence.starts_at > now:
                self.sessions[day] = replace(session, status="cancelled", cancelled_reason="series_ended")
                cancelled += 1
        return cancelled

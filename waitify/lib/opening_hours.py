"""Opening hours as a shop keeps them, read in the business's own time zone.

Stored shape (Business.opening_hours):

    {"weekly": {"monday": [["08:00", "12:30"], ["14:00", "19:30"]], "sunday": []},
     "exceptions": {"2026-12-25": [], "2026-12-06": [["09:00", "12:00"]]}}

A weekday or date listed with no range is closed all day; a weekday not listed has
no restriction (joins follow the queue's open/closed switch alone), and so has a
business with no hours at all (`{}`). A dated exception replaces its weekday's
ranges. Ranges are "HH:MM" strings, start before end, "24:00" for midnight; a range
cannot run past midnight (a late bar writes 18:00–24:00 and 00:00–02:00).
Every function takes aware datetimes and the zone to read them in, so a change of
daylight saving time moves nothing: 09:00 stays 09:00 on the shop's clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MIDNIGHT = "24:00"
MAX_RANGES = 3
# How far ahead `next_opening` looks: long enough for a summer closure.
SEARCH_DAYS = 62

_CLOCK = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")

Range = tuple[str, str]


class HoursError(ValueError):
    """A problem in an opening-hours value; `problem` names it, `subject` and `detail`
    say where (a weekday, a date, a range) for a translated message."""

    def __init__(self, problem: str, subject: str = "", detail: str = "") -> None:
        super().__init__(problem, subject, detail)
        self.problem, self.subject, self.detail = problem, subject, detail


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def check_ranges(ranges: object, subject: str) -> list[Range]:
    """The ranges of one day, sorted, or HoursError: malformed, end not after start,
    overlapping, too many."""
    if not isinstance(ranges, list):
        raise HoursError("not_a_list", subject)
    if len(ranges) > MAX_RANGES:
        raise HoursError("too_many_ranges", subject)
    checked: list[Range] = []
    for pair in ranges:
        if (not isinstance(pair, list | tuple) or len(pair) != 2
                or not all(isinstance(clock, str) and _CLOCK.match(clock) for clock in pair)):
            raise HoursError("bad_time", subject)
        start, end = pair
        if start == MIDNIGHT or _minutes(end) <= _minutes(start):
            raise HoursError("end_before_start", subject, f"{start}–{end}")
        checked.append((start, end))
    checked.sort(key=lambda pair: _minutes(pair[0]))
    for (_start, end), (next_start, next_end) in zip(checked, checked[1:], strict=False):
        if _minutes(next_start) < _minutes(end):
            raise HoursError("overlap", subject, f"{next_start}–{next_end}")
    return checked


def check_hours(hours: object) -> dict:
    """The value in its stored shape (ranges sorted), or HoursError."""
    if not isinstance(hours, dict):
        raise HoursError("not_a_dict")
    unknown = set(hours) - {"weekly", "exceptions"}
    if unknown:
        raise HoursError("unknown_key", str(sorted(unknown)[0])[:20])
    weekly, exceptions = hours.get("weekly", {}), hours.get("exceptions", {})
    if not isinstance(weekly, dict) or not isinstance(exceptions, dict):
        raise HoursError("not_a_dict")
    clean: dict = {"weekly": {}, "exceptions": {}}
    for day, ranges in weekly.items():
        if day not in WEEKDAYS:
            raise HoursError("unknown_day", str(day)[:20])
        clean["weekly"][day] = [list(pair) for pair in check_ranges(ranges, day)]
    for key, ranges in exceptions.items():
        try:
            day = date.fromisoformat(key) if isinstance(key, str) and len(key) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise HoursError("bad_date", str(key)[:20])
        clean["exceptions"][day.isoformat()] = [list(pair) for pair in
                                                check_ranges(ranges, day.isoformat())]
    return clean if clean["weekly"] or clean["exceptions"] else {}


def ranges_on(hours: dict, day: date) -> list[tuple[time, time | None]] | None:
    """The day's (start, end) ranges on the shop's clock, end None for midnight;
    [] when closed all day, None when the day has no restriction."""
    hours = hours or {}
    exceptions = hours.get("exceptions") or {}
    spec = exceptions.get(day.isoformat())
    if spec is None:
        spec = (hours.get("weekly") or {}).get(WEEKDAYS[day.weekday()])
    if spec is None:
        return None
    return [(_as_time(start), None if end == MIDNIGHT else _as_time(end)) for start, end in spec]


def _as_time(clock: str) -> time:
    hours, minutes = clock.split(":")
    return time(int(hours), int(minutes))


def _at(day: date, clock: time | None, zone: ZoneInfo) -> datetime:
    """The aware moment of a wall-clock time on the shop's clock (None: the next midnight).
    A time skipped by a DST change (02:30 on the last Sunday of March) is read with
    the offset before the change, which lands it just after: the shop opens at 03:30."""
    if clock is None:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return datetime.combine(day, clock, tzinfo=zone)


def current_range(hours: dict, moment: datetime,
                  zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """(opened at, closes at) of the range `moment` falls in; None outside every range
    or on a day with no restriction."""
    local = moment.astimezone(zone)
    for start, end in ranges_on(hours, local.date()) or []:
        opens, closes = _at(local.date(), start, zone), _at(local.date(), end, zone)
        if opens <= local < closes:
            return opens, closes
    return None


def is_open_at(hours: dict, moment: datetime, zone: ZoneInfo) -> bool:
    """Whether the shop's hours allow joins at `moment` (any aware datetime)."""
    if not hours:
        return True
    if ranges_on(hours, moment.astimezone(zone).date()) is None:
        return True
    return current_range(hours, moment, zone) is not None


def closing_at(hours: dict, moment: datetime, zone: ZoneInfo) -> datetime | None:
    """When the range `moment` falls in ends (None: outside hours or no restriction).
    Two ranges that touch (12:00–14:00 and 14:00–18:00) close at the second's end."""
    found = current_range(hours, moment, zone)
    if found is None:
        return None
    closes = found[1]
    while True:
        following = current_range(hours, closes, zone)
        if following is None or following[1] <= closes:
            return closes
        closes = following[1]


def next_opening(hours: dict, moment: datetime, zone: ZoneInfo) -> datetime | None:
    """The first moment at or after `moment` when the hours allow joins, or None when
    none comes within SEARCH_DAYS days (the business set every day closed)."""
    if is_open_at(hours, moment, zone):
        return moment
    local = moment.astimezone(zone)
    for offset in range(SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        ranges = ranges_on(hours, day)
        if ranges is None:
            return _at(day, time(0), zone)
        for start, _end in ranges:
            opens = _at(day, start, zone)
            if opens > local:
                return opens
    return None


@dataclass(frozen=True)
class DayHours:
    day: date
    ranges: list[tuple[time, time | None]] | None  # None: no restriction; []: closed
    is_exception: bool


def week(hours: dict, first_day: date, days: int = 7) -> list[DayHours]:
    """The hours of `days` days from `first_day`, exceptions applied, for display."""
    exceptions = (hours or {}).get("exceptions") or {}
    shown = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        shown.append(DayHours(day=day, ranges=ranges_on(hours, day),
                              is_exception=day.isoformat() in exceptions))
    return shown


def from_legacy(hours: dict) -> dict:
    """The former one-window-per-weekday shape ({"monday": {"open": "08:00",
    "close": "18:00", "closed": false}}) in the current shape; what it cannot read
    (an unknown key, a half-filled day) becomes no restriction, as it behaved before."""
    if not isinstance(hours, dict) or "weekly" in hours or "exceptions" in hours:
        return hours if isinstance(hours, dict) else {}
    weekly: dict[str, list] = {}
    for day in WEEKDAYS:
        spec = hours.get(day)
        if not isinstance(spec, dict) or not spec:
            continue
        if spec.get("closed"):
            weekly[day] = []
            continue
        opens, closes = spec.get("open"), spec.get("close")
        try:
            weekly[day] = [list(pair) for pair in check_ranges([[opens, closes]], day)]
        except HoursError:
            continue
    return {"weekly": weekly, "exceptions": {}} if weekly else {}

"""Opening hours per weekday, as stored on a business.

Format: {"monday": {"open": "08:00", "close": "18:00", "closed": false}, …}.
A missing day or an empty dict means "no restriction" for that day.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _parse(value: str | None) -> time | None:
    if not value:
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def day_window(hours: dict, day: str) -> tuple[time, time] | None | bool:
    """(open, close) for the day, None when closed all day, True when unrestricted."""
    spec = (hours or {}).get(day)
    if not spec:
        return True
    if spec.get("closed"):
        return None
    opens, closes = _parse(spec.get("open")), _parse(spec.get("close"))
    if opens is None or closes is None:
        return True
    return opens, closes


def is_open_at(hours: dict, moment: datetime) -> bool:
    """Whether `moment` (in the business's local time) falls inside opening hours."""
    if not hours:
        return True
    window = day_window(hours, WEEKDAYS[moment.weekday()])
    if window is True:
        return True
    if window is None:
        return False
    opens, closes = window
    return opens <= moment.time().replace(second=0, microsecond=0) < closes


def next_opening(hours: dict, moment: datetime) -> datetime | None:
    """The next moment at or after `moment` when the business opens, within a week."""
    if is_open_at(hours, moment):
        return moment
    for offset in range(0, 8):
        day = moment + timedelta(days=offset)
        window = day_window(hours, WEEKDAYS[day.weekday()])
        if window is None:
            continue
        if window is True:
            return day.replace(hour=0, minute=0, second=0, microsecond=0) if offset else moment
        opens = day.replace(hour=window[0].hour, minute=window[0].minute, second=0,
                            microsecond=0)
        if opens > moment:
            return opens
    return None

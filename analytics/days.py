"""Business days: Europe/Paris days (settings.TIME_ZONE), 23, 24 or 25 hours long."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone


def business_timezone():
    return timezone.get_default_timezone()


def local_today() -> date:
    return timezone.localdate(timezone.now(), business_timezone())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) as aware datetimes."""
    tz = business_timezone()
    return (datetime.combine(day, time.min, tzinfo=tz),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz))


def local_time_after(start: datetime, seconds: float) -> time:
    """The wall-clock time `seconds` of real time after `start` (right across DST)."""
    # Python adds a timedelta to an aware datetime in wall-clock time; real elapsed
    # time needs UTC.
    instant = start.astimezone(UTC) + timedelta(seconds=seconds)
    return timezone.localtime(instant, business_timezone()).time()

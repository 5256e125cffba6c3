"""Entries and daily rows at exact local times, for hand-computed fixtures."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from analytics.models import DailyStat
from businesses import services as business_services
from businesses.models import Business, User
from queues.models import EntryStatus, QueueEntry

PARIS = timezone.get_default_timezone()
_tickets = itertools.count(1)


def at(day: date, clock: str) -> datetime:
    """Local Europe/Paris wall-clock time on `day` ("HH:MM" or "HH:MM:SS")."""
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=PARIS)


def make_business(owner: User, name: str, *, basket_cents: int = 0, **fields) -> Business:
    business = business_services.business_create(owner=owner, name=name, business_type="bakery",
                                                  **fields)
    if basket_cents:
        Business.objects.filter(pk=business.pk).update(average_basket_cents=basket_cents)
        business.average_basket_cents = basket_cents
    # Created "long ago", so that back-filled days include it.
    Business.objects.filter(pk=business.pk).update(created_at=timezone.now() - timedelta(days=400))
    return business


def entry(business: Business, joined: datetime, *, status: str = EntryStatus.SERVED,
          called: datetime | None = None, finished: datetime | None = None,
          estimated_minutes: float = 0, service_seconds: int | None = None,
          phone: str = "") -> QueueEntry:
    """One entry as the engine would have left it: waits and times derived from the clock."""
    number = next(_tickets)
    wait = int((called - joined).total_seconds()) if called else None
    served = status == EntryStatus.SERVED
    created = QueueEntry.objects.create(
        business=business, phone=phone, service_day=timezone.localdate(joined, PARIS),
        service=business.services.first(),
        ticket_number=number, sort_key=number, status=status,
        estimated_wait_seconds=int(estimated_minutes * 60), called_at=called,
        actual_wait_seconds=wait, served_at=finished if served else None,
        finished_at=finished, actual_service_seconds=service_seconds if served else None,
    )
    # created_at is auto_now_add: the join time is written afterwards.
    QueueEntry.objects.filter(pk=created.pk).update(created_at=joined)
    created.created_at = joined
    return created


def served(business: Business, day: date, joined: str, called: str, done: str, *,
           estimated: float = 0) -> QueueEntry:
    seconds = int((at(day, done) - at(day, called)).total_seconds())
    return entry(business, at(day, joined), called=at(day, called), finished=at(day, done),
                 estimated_minutes=estimated, service_seconds=seconds)


def stat(business: Business, day: date, **fields) -> DailyStat:
    """A DailyStat row as the nightly job would write it (only the given fields set)."""
    return DailyStat.objects.create(business=business, date=day, **fields)


def hours(**by_hour: int) -> list[int]:
    """hours(h9=3, h17=2) -> a 24-value list."""
    values = [0] * 24
    for key, value in by_hour.items():
        values[int(key[1:])] = value
    return values


def seed_history(business: Business, *, last: date, days: int = 30, scale: float = 1.0,
                 seed: int = 0) -> list[DailyStat]:
    """Plausible daily rows for the last `days` days of a bakery: mornings and late
    afternoons busy, Saturdays busiest, closed on Mondays. Deterministic."""
    import random

    rng = random.Random(seed)
    shape = {7: 6, 8: 9, 9: 5, 10: 3, 11: 4, 12: 6, 13: 3, 14: 1, 15: 2, 16: 4, 17: 8, 18: 7,
             19: 2}
    rows = []
    for offset in range(days):
        day = last - timedelta(days=offset)
        if day.isoweekday() == 1:
            continue
        boost = 1.6 if day.isoweekday() == 6 else 1.0
        joins = [0] * 24
        waits = [0] * 24
        seconds = [0] * 24
        for hour, base in shape.items():
            count = max(0, round(base * scale * boost * rng.uniform(.7, 1.3)))
            joins[hour] = count
            waits[hour] = max(0, count - rng.randint(0, 1))
            minutes = (4 + base * boost * rng.uniform(.8, 1.6)) if count else 0
            seconds[hour] = int(waits[hour] * minutes * 60)
        registered = sum(joins)
        missed = round(registered * rng.uniform(.02, .08))
        cancelled = round(registered * rng.uniform(.02, .06))
        measured = sum(waits)
        average = sum(seconds) / measured / 60 if measured else None
        lost = missed + cancelled
        rows.append(DailyStat(
            business=business, date=day, registered=registered,
            served=registered - missed - cancelled, missed=missed, cancelled=cancelled,
            average_wait_minutes=round(average, 1) if average is not None else None,
            waits_measured=measured, average_service_seconds=rng.randint(90, 160),
            peak_hour=8, peak_queue_size=rng.randint(5, 14),
            abandonment_rate=round(lost * 100 / registered, 2) if registered else None,
            sms_sent=registered * 2 + missed, revenue_lost_cents=lost *
            business.average_basket_cents,
            busiest_window_start=time(17, 0) if boost > 1 else time(7, 45),
            busiest_window_end=time(18, 0) if boost > 1 else time(8, 45),
            estimate_error_minutes=round(rng.uniform(1.0, 3.5), 1),
            joins_by_hour=joins, waits_by_hour=waits, wait_seconds_by_hour=seconds,
        ))
    return DailyStat.objects.bulk_create(rows)

"""`manage.py compute_daily_stats --from 2026-01-01 --to 2026-01-31`: back-fill."""

from __future__ import annotations

import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

from analytics import services
from analytics.days import local_today


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from exc


class Command(BaseCommand):
    help = ("Compute the DailyStat rows of every business for a range of Europe/Paris days "
            "(default: yesterday). Rows already there are recomputed in place.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--from", dest="first", type=_day, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="last", type=_day,
                            help="Last day included, YYYY-MM-DD (default: --from).")

    def handle(self, *args, first: date | None, last: date | None, **options) -> None:
        yesterday = local_today() - timedelta(days=1)
        first = first or last or yesterday
        last = last or first
        if last < first:
            raise CommandError("--to is before --from.")
        if last >= local_today():
            raise CommandError("Only finished days can be computed (today is still running).")
        started = time.perf_counter()
        written = services.daily_stats_compute_range(first=first, last=last)
        self.stdout.write(f"{written} rows for {(last - first).days + 1} day(s), "
                          f"{first} to {last}, in {time.perf_counter() - started:.2f} s")

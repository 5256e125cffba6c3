"""Reads behind the analytics pages, API and e-mails.

Each selector runs a fixed number of queries, whatever the number of
businesses or days: history comes from DailyStat (one row per business and
day, already aggregated by the nightly job), today's figures from one GROUP BY
over today's entries. Period figures are summed from the daily rows by
`summarize`, the one definition every page, the API and the e-mail share.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Q, Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from analytics.days import day_bounds, local_today
from analytics.models import DailyStat
from analytics.suggestions import improvement_suggestions
from businesses.models import Business, User
from queues.models import Counter, EntryStatus, QueueEntry, Service

PERIODS: dict[str, tuple[int, str]] = {
    "yesterday": (1, _("Yesterday")),
    "last_7_days": (7, _("Last 7 days")),
    "last_30_days": (30, _("Last 30 days")),
    "last_90_days": (90, _("Last 90 days")),
}
DEFAULT_PERIOD = "last_7_days"
# /analytics/consolidated/{period}: rolling windows of complete days.
CONSOLIDATED_PERIODS = {"day": "yesterday", "week": "last_7_days", "month": "last_30_days"}
BASIC_PERIODS = ("yesterday", "last_7_days")
PEAK_HOURS_SHOWN = 2
HISTORY_WEEKS_FOR_FORECAST = 8


@dataclass(frozen=True)
class Period:
    key: str
    first: date
    last: date

    @property
    def label(self) -> str:
        return str(PERIODS[self.key][1])

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def period_named(key: str, *, today: date | None = None) -> Period:
    """A rolling period of complete days, ending yesterday (today is still running)."""
    length = PERIODS[key][0]
    last = (today or local_today()) - timedelta(days=1)
    return Period(key=key, first=last - timedelta(days=length - 1), last=last)


def periods_allowed(user: User) -> tuple[str, ...]:
    """Basic analytics: up to the last 7 days; advanced: every period."""
    if has_advanced_analytics(user):
        return tuple(PERIODS)
    return BASIC_PERIODS


def has_advanced_analytics(user: User) -> bool:
    plan = user.plan
    return plan is not None and plan.analytics_level == plan.AnalyticsLevel.ADVANCED


# --- Period figures -----------------------------------------------------------------------

def hour_label(hour: int) -> str:
    return f"{hour:02d}:00"


@dataclass
class PeriodFigures:
    """Totals of a set of daily rows; averages weighted by what they average over."""

    registered: int = 0
    served: int = 0
    missed: int = 0
    cancelled: int = 0
    sms_sent: int = 0
    revenue_lost_cents: int = 0
    peak_queue_size: int = 0
    days_with_customers: int = 0
    waits_measured: int = 0
    wait_minutes_sum: Decimal = Decimal(0)
    service_seconds_sum: int = 0
    services_measured: int = 0
    estimate_error_sum: Decimal = Decimal(0)
    errors_measured: int = 0
    waits_with_range: int = 0
    waits_in_range: int = 0
    joins_by_hour: list[int] = field(default_factory=lambda: [0] * 24)

    @property
    def abandoned(self) -> int:
        return self.missed + self.cancelled

    @property
    def abandonment_rate(self) -> float | None:
        if not self.registered:
            return None
        return round(self.abandoned * 100 / self.registered, 1)

    @property
    def average_wait_minutes(self) -> float | None:
        if not self.waits_measured:
            return None
        return round(float(self.wait_minutes_sum) / self.waits_measured, 1)

    @property
    def average_service_seconds(self) -> int | None:
        if not self.services_measured:
            return None
        return round(self.service_seconds_sum / self.services_measured)

    @property
    def estimate_error_minutes(self) -> float | None:
        if not self.errors_measured:
            return None
        return round(float(self.estimate_error_sum) / self.errors_measured, 1)

    @property
    def estimate_in_range_percent(self) -> int | None:
        """Share of real waits inside the range shown at join, in whole percent."""
        if not self.waits_with_range:
            return None
        return round(self.waits_in_range * 100 / self.waits_with_range)

    @property
    def estimate_within_minutes(self) -> int | None:
        """"Our estimates were within N minutes": the mean error, rounded."""
        error = self.estimate_error_minutes
        return None if error is None else int(Decimal(str(error)).to_integral_value(
            rounding=ROUND_HALF_UP))

    @property
    def peak_hours(self) -> list[int]:
        """The hours with the most customers (at most two), in the order of the day."""
        busiest = sorted((hour for hour in range(24) if self.joins_by_hour[hour]),
                         key=lambda hour: (-self.joins_by_hour[hour], hour))
        return sorted(busiest[:PEAK_HOURS_SHOWN])

    @property
    def peak_hour_labels(self) -> list[str]:
        return [hour_label(hour) for hour in self.peak_hours]

    @property
    def customers_per_hour(self) -> list[float]:
        """Average customers per hour of the day, over the days that had customers."""
        days = self.days_with_customers or 1
        return [round(joins / days, 1) for joins in self.joins_by_hour]


def summarize(rows: Iterable[DailyStat]) -> PeriodFigures:
    figures = PeriodFigures()
    for row in rows:
        figures.registered += row.registered
        figures.served += row.served
        figures.missed += row.missed
        figures.cancelled += row.cancelled
        figures.sms_sent += row.sms_sent
        figures.revenue_lost_cents += row.revenue_lost_cents
        figures.peak_queue_size = max(figures.peak_queue_size, row.peak_queue_size)
        figures.days_with_customers += 1 if row.registered else 0
        if row.average_wait_minutes is not None and row.waits_measured:
            figures.waits_measured += row.waits_measured
            figures.wait_minutes_sum += row.average_wait_minutes * row.waits_measured
            if row.estimate_error_minutes is not None:
                figures.estimate_error_sum += row.estimate_error_minutes * row.waits_measured
                figures.errors_measured += row.waits_measured
        figures.waits_with_range += row.waits_with_range
        figures.waits_in_range += row.waits_in_range
        if row.average_service_seconds is not None and row.served:
            figures.services_measured += row.served
            figures.service_seconds_sum += row.average_service_seconds * row.served
        for hour, joins in enumerate(row.joins_by_hour or ()):
            figures.joins_by_hour[hour] += joins
    return figures


# --- Today, live ----------------------------------------------------------------------------

@dataclass
class TodayFigures:
    queue_size: int = 0
    registered: int = 0
    served: int = 0
    missed: int = 0
    cancelled: int = 0
    average_wait_minutes: float | None = None


def today_figures(business_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, TodayFigures]:
    """Waiting now, and today's outcomes so far, for many businesses in one GROUP BY."""
    start, _end = day_bounds(local_today())
    today = Q(created_at__gte=start)
    rows = (
        QueueEntry.objects.filter(business_id__in=list(business_ids))
        .filter(Q(status=EntryStatus.WAITING) | today)
        .values("business_id")
        .annotate(
            queue_size=Count("pk", filter=Q(status=EntryStatus.WAITING)),
            registered=Count("pk", filter=today),
            served=Count("pk", filter=today & Q(status=EntryStatus.SERVED)),
            missed=Count("pk", filter=today & Q(status=EntryStatus.MISSED)),
            cancelled=Count("pk", filter=today & Q(status=EntryStatus.CANCELLED)),
            wait_seconds=Avg("actual_wait_seconds", filter=today),
        )
        .order_by()
    )
    figures: dict[uuid.UUID, TodayFigures] = defaultdict(TodayFigures)
    for row in rows:
        wait = row.pop("wait_seconds")
        business_id = row.pop("business_id")
        figures[business_id] = TodayFigures(
            **row, average_wait_minutes=round(wait / 60, 1) if wait is not None else None)
    return figures


def sum_today(figures: Iterable[TodayFigures]) -> TodayFigures:
    total = TodayFigures()
    wait_sum, wait_count = 0.0, 0
    for item in figures:
        total.queue_size += item.queue_size
        total.registered += item.registered
        total.served += item.served
        total.missed += item.missed
        total.cancelled += item.cancelled
        if item.average_wait_minutes is not None:
            # Weighted by the day's registrations: close enough for a live headline.
            wait_sum += item.average_wait_minutes * item.registered
            wait_count += item.registered
    total.average_wait_minutes = round(wait_sum / wait_count, 1) if wait_count else None
    return total


# --- One business ------------------------------------------------------------------------------

@dataclass
class DayPoint:
    day: date
    stat: DailyStat | None

    @property
    def registered(self) -> int:
        return self.stat.registered if self.stat else 0

    @property
    def served(self) -> int:
        return self.stat.served if self.stat else 0

    @property
    def abandoned(self) -> int:
        return self.stat.missed + self.stat.cancelled if self.stat else 0

    @property
    def average_wait_minutes(self) -> float | None:
        if self.stat is None or self.stat.average_wait_minutes is None:
            return None
        return float(self.stat.average_wait_minutes)


@dataclass
class BusinessDashboard:
    business: Business
    period: Period
    today: TodayFigures
    figures: PeriodFigures
    last_7_days: PeriodFigures
    last_30_days: PeriodFigures
    days: list[DayPoint]
    busiest_window: tuple[time, time] | None

    @property
    def has_history(self) -> bool:
        return any(point.stat is not None for point in self.days)


def _most_frequent_window(rows: list[DailyStat]) -> tuple[time, time] | None:
    counts: dict[tuple[time, time], int] = defaultdict(int)
    for row in rows:
        if row.busiest_window_start is not None:
            counts[(row.busiest_window_start, row.busiest_window_end)] += row.registered
    if not counts:
        return None
    return max(sorted(counts), key=lambda window: counts[window])


def business_dashboard(business: Business, *, period_key: str = "last_30_days",
                       today: date | None = None) -> BusinessDashboard:
    """Today's live figures, the period's history, 7- and 30-day summaries: 2 queries."""
    period = period_named(period_key, today=today)
    last_7 = period_named("last_7_days", today=today)
    last_30 = period_named("last_30_days", today=today)
    rows = list(DailyStat.objects.filter(business=business,
                                         date__gte=min(period.first, last_30.first),
                                         date__lte=period.last).order_by("date"))
    by_day = {row.date: row for row in rows}
    in_period = [row for row in rows if row.date >= period.first]
    return BusinessDashboard(
        business=business, period=period,
        today=today_figures([business.pk])[business.pk],
        figures=summarize(in_period),
        last_7_days=summarize(row for row in rows if row.date >= last_7.first),
        last_30_days=summarize(row for row in rows if row.date >= last_30.first),
        days=[DayPoint(day, by_day.get(day)) for day in period.days],
        busiest_window=_most_frequent_window(in_period),
    )


def daily_history(business: Business, *, first: date, last: date) -> list[DailyStat]:
    return list(DailyStat.objects.filter(business=business, date__gte=first, date__lte=last)
                .order_by("date"))


# --- Per counter, employee and service --------------------------------------------------------

@dataclass
class BreakdownRow:
    """Served customers and average service time of one counter, employee or service, today
    so far and over the period. `id` None gathers the customers served with nobody (or no
    counter) recorded: before counters existed, or by a member since removed."""

    id: uuid.UUID | None
    name: str
    served_today: int = 0
    service_seconds_today: int = 0
    measured_today: int = 0
    served: int = 0
    service_seconds: int = 0
    measured: int = 0

    @property
    def average_service_seconds_today(self) -> int | None:
        return round(self.service_seconds_today / self.measured_today) if self.measured_today \
            else None

    @property
    def average_service_seconds(self) -> int | None:
        return round(self.service_seconds / self.measured) if self.measured else None

    def add(self, row: dict) -> None:
        self.served_today += row["served_today"]
        self.service_seconds_today += row["seconds_today"] or 0
        self.measured_today += row["measured_today"]
        self.served += row["served"]
        self.service_seconds += row["seconds"] or 0
        self.measured += row["measured"]


@dataclass
class Breakdowns:
    business: Business
    period: Period
    today: date
    counters: list[BreakdownRow]
    employees: list[BreakdownRow]
    services: list[BreakdownRow]

    # A bakery with one counter, one service and the owner alone sees none of the tables.
    @property
    def show_counters(self) -> bool:
        return sum(1 for row in self.counters if row.id is not None) > 1

    @property
    def show_services(self) -> bool:
        return len(self.services) > 1

    @property
    def show_employees(self) -> bool:
        return any(row.id != self.business.owner_id for row in self.employees if row.served
                   or row.served_today)

    @property
    def shown(self) -> bool:
        return self.show_counters or self.show_services or self.show_employees


def _rows_by_id(named: Iterable[tuple[uuid.UUID, str]]) -> dict[uuid.UUID | None, BreakdownRow]:
    return {pk: BreakdownRow(id=pk, name=name) for pk, name in named}


def business_breakdowns(business: Business, *, period: Period,
                        today: date | None = None) -> Breakdowns:
    """Served customers and average service time per counter, per employee (who marked them
    served) and per service, today and over the period, in one GROUP BY: 4 queries."""
    today = today or local_today()
    in_period = Q(service_day__gte=period.first, service_day__lte=period.last)
    is_today = Q(service_day=today)
    measured = Q(actual_service_seconds__isnull=False)
    rows = (
        QueueEntry.objects.filter(business=business, status=EntryStatus.SERVED)
        .filter(in_period | is_today)
        .values("counter_id", "service_id", "finished_by_id")
        .annotate(
            served_today=Count("pk", filter=is_today),
            seconds_today=Sum("actual_service_seconds", filter=is_today),
            measured_today=Count("pk", filter=is_today & measured),
            served=Count("pk", filter=in_period),
            seconds=Sum("actual_service_seconds", filter=in_period),
            measured=Count("pk", filter=in_period & measured),
        )
        .order_by()
    )
    counters = _rows_by_id(Counter.objects.filter(business=business)
                           .order_by("position", "name").values_list("pk", "name"))
    services = _rows_by_id(Service.objects.filter(business=business)
                           .order_by("position", "name").values_list("pk", "name"))
    employees: dict[uuid.UUID | None, BreakdownRow] = {}
    unrecorded = pgettext("statistics", "Not recorded")
    for row in rows:
        for rows_by_id, key in ((counters, "counter_id"), (services, "service_id"),
                                (employees, "finished_by_id")):
            pk = row[key]
            if pk not in rows_by_id:
                rows_by_id[pk] = BreakdownRow(id=pk, name=unrecorded)
            rows_by_id[pk].add(row)
    for pk, user in User.objects.in_bulk([pk for pk in employees if pk]).items():
        employees[pk].name = user.get_full_name()
    ordered_employees = sorted(employees.values(),
                               key=lambda row: (row.id is None, -row.served, row.name))
    return Breakdowns(business=business, period=period, today=today,
                      counters=sorted(counters.values(), key=lambda row: row.id is None),
                      employees=ordered_employees,
                      services=sorted(services.values(), key=lambda row: row.id is None))


# --- Across a merchant's businesses ---------------------------------------------------------------

@dataclass
class BusinessPeriod:
    business: Business
    figures: PeriodFigures
    rows: list[DailyStat]


@dataclass
class Comparison:
    period: Period
    items: list[BusinessPeriod]
    totals: PeriodFigures
    best: BusinessPeriod | None
    worst: BusinessPeriod | None
    suggestions: list[str]


def _performance_key(item: BusinessPeriod) -> tuple:
    """Lower abandonment first, then shorter waits, then more customers served."""
    figures = item.figures
    wait = figures.average_wait_minutes
    return (figures.abandonment_rate, wait if wait is not None else float("inf"),
            -figures.served, item.business.name)


def merchant_comparison(user: User, *, period: Period) -> Comparison:
    """Each business of the merchant over the period, totals, best and worst performers
    and suggestions: 2 queries for any number of businesses and days."""
    businesses = list(Business.objects.filter(owner=user).order_by("-is_active", "name"))
    rows_by_business: dict[uuid.UUID, list[DailyStat]] = defaultdict(list)
    rows = (DailyStat.objects.filter(business__owner=user, date__gte=period.first,
                                     date__lte=period.last).order_by("date"))
    for row in rows:
        rows_by_business[row.business_id].append(row)
    items = [BusinessPeriod(business=business, figures=summarize(rows_by_business[business.pk]),
                            rows=rows_by_business[business.pk])
             for business in businesses
             if business.is_active or rows_by_business[business.pk]]
    ranked = sorted((item for item in items if item.figures.registered),
                    key=_performance_key)
    contested = len(ranked) >= 2
    return Comparison(
        period=period, items=items,
        totals=summarize(row for item in items for row in item.rows),
        best=ranked[0] if contested else None,
        worst=ranked[-1] if contested else None,
        suggestions=improvement_suggestions(items),
    )


@dataclass
class MerchantToday:
    items: list[tuple[Business, TodayFigures, PeriodFigures]]
    totals: TodayFigures
    last_7_days: PeriodFigures


def merchant_today(user: User) -> MerchantToday:
    """Every business's live figures and its last 7 days: 3 queries."""
    businesses = list(Business.objects.filter(owner=user).order_by("-is_active", "name"))
    live = today_figures(business.pk for business in businesses)
    week = period_named("last_7_days")
    rows_by_business: dict[uuid.UUID, list[DailyStat]] = defaultdict(list)
    for row in DailyStat.objects.filter(business__owner=user, date__gte=week.first,
                                        date__lte=week.last):
        rows_by_business[row.business_id].append(row)
    items = [(business, live[business.pk], summarize(rows_by_business[business.pk]))
             for business in businesses]
    return MerchantToday(
        items=items, totals=sum_today(item[1] for item in items),
        last_7_days=summarize(row for rows in rows_by_business.values() for row in rows),
    )


# --- Forecast for the digest ---------------------------------------------------------------------

def expected_peaks(business_ids: Iterable[uuid.UUID], *, day: date) -> dict[uuid.UUID, int]:
    """For each business, the hour with the most customers on the same weekday over the
    last 8 weeks before `day`: one query."""
    ids = list(business_ids)
    rows = DailyStat.objects.filter(
        business_id__in=ids, date__lt=day,
        date__gte=day - timedelta(weeks=HISTORY_WEEKS_FOR_FORECAST),
        date__iso_week_day=day.isoweekday(),
    ).values_list("business_id", "joins_by_hour")
    joins: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0] * 24)
    for business_id, hours in rows:
        for hour, count in enumerate(hours or ()):
            joins[business_id][hour] += count
    return {business_id: max(range(24), key=lambda hour: (hours[hour], -hour))
            for business_id, hours in joins.items() if any(hours)}

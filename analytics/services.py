"""Nightly figures, retention, and the merchant's right to leave (GDPR).

`daily_stats_compute` turns one day of queue entries into one DailyStat row per
business with a fixed handful of set-based queries, whatever the number of
businesses or entries: the database aggregates, Python only assembles one row
per business. Rows are upserted on (business, date), so running a day twice,
or back-filling over days already computed, rewrites the same rows.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Abs, ExtractHour, TruncDate
from django.utils.translation import gettext_lazy as _

from analytics.days import business_timezone, day_bounds, local_time_after, local_today
from analytics.models import DailyStat
from businesses.models import Business, User
from queues.models import EntryStatus, QueueEntry, SmsLog
from queues.sms.usage import sms_used_by_business
from waitify.lib.errors import WaitifyError

logger = logging.getLogger("waitify.analytics")

RETENTION_DAYS = 90
RETENTION_BATCH = 1000
FINISHED_STATUSES = (EntryStatus.SERVED, EntryStatus.MISSED, EntryStatus.CANCELLED)
# The busiest window: 60 minutes on a quarter-hour grid (17:15–18:15), which
# reads better in a sentence than "17:13:42".
SLOT_SECONDS = 15 * 60
WINDOW_SLOTS = 4

UPDATE_FIELDS = [
    "registered", "served", "missed", "cancelled", "average_wait_minutes", "waits_measured",
    "average_service_seconds", "peak_hour", "peak_queue_size", "abandonment_rate", "sms_sent",
    "revenue_lost_cents", "busiest_window_start", "busiest_window_end",
    "estimate_error_minutes", "joins_by_hour", "waits_by_hour", "wait_seconds_by_hour",
    "computed_at",
]


def _average_minutes(total_seconds: int, count: int) -> Decimal | None:
    """Exact decimal arithmetic, rounded half up to a tenth of a minute."""
    if not count:
        return None
    return (Decimal(total_seconds) / (count * 60)).quantize(Decimal("0.1"),
                                                            rounding=ROUND_HALF_UP)


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part * 100) / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- The nightly computation ----------------------------------------------------------------

@dataclass
class _DayFigures:
    """One business's day, summed from its per-hour rows and the window queries."""

    basket_cents: int
    registered: int = 0
    served: int = 0
    missed: int = 0
    cancelled: int = 0
    waits: int = 0
    wait_seconds: int = 0
    services: int = 0
    service_seconds: int = 0
    error_seconds: int = 0
    sms_sent: int = 0
    peak_queue_size: int = 0
    peak_hour: int | None = None
    busiest_window: tuple[time, time] | None = None
    joins_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    waits_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    wait_seconds_by_hour: list[int] = field(default_factory=lambda: [0] * 24)


def daily_stats_compute(*, day: date, businesses: QuerySet[Business] | None = None) -> int:
    """Compute (or recompute) the DailyStat rows of `day` for the given businesses (all by
    default). Returns the number of rows written. Safe to run twice.

    Whatever the number of businesses, five queries: the businesses, one GROUP BY
    (business, hour) over the day's entries, one window-function query (longest
    queue and busiest hour), one GROUP BY over the day's SMS, one upsert.
    """
    start, end = day_bounds(day)
    scope = (businesses if businesses is not None else Business.objects.all())
    scope = scope.filter(created_at__lt=end).order_by()
    figures = {business_id: _DayFigures(basket_cents=basket)
               for business_id, basket in scope.values_list("id", "average_basket_cents")}
    if not figures:
        return 0
    restrict = scope if businesses is not None else None
    _add_hourly_figures(figures, restrict, start, end)
    _add_peak_queue_and_busiest_window(figures, restrict, start, end)
    for business_id, sent in sms_sent_by_business(scope, start, end).items():
        figures[business_id].sms_sent = sent
    rows = [_daily_stat(business_id, day_figures, day)
            for business_id, day_figures in figures.items()]
    with transaction.atomic():
        DailyStat.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["business", "date"],
            update_fields=UPDATE_FIELDS, batch_size=1000,
        )
    logger.info("daily stats %s: %d businesses", day.isoformat(), len(rows))
    return len(rows)


def daily_stats_compute_range(*, first: date, last: date,
                              businesses: QuerySet[Business] | None = None) -> int:
    """Back-fill: every day from `first` to `last` included, one day at a time."""
    written, day = 0, first
    while day <= last:
        written += daily_stats_compute(day=day, businesses=businesses)
        day += timedelta(days=1)
    return written


def _entries_of_day(restrict: QuerySet[Business] | None, start: datetime,
                    end: datetime) -> QuerySet[QueueEntry]:
    entries = QueueEntry.objects.filter(created_at__gte=start, created_at__lt=end)
    if restrict is not None:
        entries = entries.filter(business__in=restrict.values("id"))
    return entries.order_by()


def _add_hourly_figures(figures: dict[uuid.UUID, _DayFigures], restrict, start, end) -> None:
    """Counts and sums of the day's entries in one GROUP BY (business, local hour of
    joining). A day's counts and averages are these hours added up (averages from
    sums and counts), so the day's entries are read once for both."""
    served = Q(status=EntryStatus.SERVED)
    rows = (
        _entries_of_day(restrict, start, end)
        .values("business_id", hour=ExtractHour("created_at", tzinfo=business_timezone()))
        .annotate(
            joins=Count("id"),
            served=Count("id", filter=served),
            missed=Count("id", filter=Q(status=EntryStatus.MISSED)),
            cancelled=Count("id", filter=Q(status=EntryStatus.CANCELLED)),
            # Real wait, join to call; compared with the wait announced at join.
            waits=Count("actual_wait_seconds"),
            wait_seconds=Sum("actual_wait_seconds"),
            error_seconds=Sum(Abs(F("actual_wait_seconds") - F("estimated_wait_seconds"))),
            services=Count("actual_service_seconds", filter=served),
            service_seconds=Sum("actual_service_seconds", filter=served),
        )
    )
    for row in rows:
        day = figures.get(row["business_id"])
        if day is None:
            continue
        hour = row["hour"]
        day.registered += row["joins"]
        day.served += row["served"]
        day.missed += row["missed"]
        day.cancelled += row["cancelled"]
        day.waits += row["waits"]
        day.wait_seconds += row["wait_seconds"] or 0
        day.error_seconds += row["error_seconds"] or 0
        day.services += row["services"]
        day.service_seconds += row["service_seconds"] or 0
        day.joins_by_hour[hour] += row["joins"]
        day.waits_by_hour[hour] += row["waits"]
        day.wait_seconds_by_hour[hour] += row["wait_seconds"] or 0


# The longest queue and the busiest hour need window functions over derived rows,
# which the ORM cannot express: one plain SQL statement, which PostgreSQL and SQLite
# (the embedded demo) both run, reads the day's entries once for both; only "seconds
# since the epoch" is spelled per database.

MOMENTS_SQL = """
WITH day_entries AS (
    SELECT business_id, created_at, COALESCE(called_at, finished_at) AS left_at,
           {slot} AS slot
    FROM {entries}
    WHERE created_at >= %s AND created_at < %s {restrict}
),
events AS (
    SELECT business_id, created_at AS at, 1 AS delta FROM day_entries
    UNION ALL
    SELECT business_id, left_at AS at, -1 AS delta FROM day_entries WHERE left_at IS NOT NULL
),
sizes AS (
    -- Customers waiting after each event. At the same instant a departure counts
    -- before an arrival: someone called the moment they joined never waited.
    SELECT business_id, at, SUM(delta) OVER (
        PARTITION BY business_id ORDER BY at, delta ROWS UNBOUNDED PRECEDING) AS size
    FROM events
),
peaks AS (
    SELECT business_id, at, size,
           ROW_NUMBER() OVER (PARTITION BY business_id ORDER BY size DESC, at) AS rank
    FROM sizes
),
slots AS (
    SELECT business_id, slot, COUNT(*) AS joins FROM day_entries GROUP BY business_id, slot
),
windows AS (
    -- Joins in each quarter hour and the three after it: the hour starting there.
    SELECT business_id, slot, SUM(joins) OVER (
        PARTITION BY business_id ORDER BY slot
        RANGE BETWEEN CURRENT ROW AND {following} FOLLOWING) AS joins
    FROM slots
),
busiest AS (
    SELECT business_id, slot,
           ROW_NUMBER() OVER (PARTITION BY business_id ORDER BY joins DESC, slot) AS rank
    FROM windows
)
SELECT busiest.business_id, peaks.size, {at_epoch} - %s, busiest.slot
FROM busiest JOIN peaks ON peaks.business_id = busiest.business_id AND peaks.rank = 1
WHERE busiest.rank = 1
"""


def _epoch_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def _slot_sql(column: str, day_start_epoch: int) -> str:
    """Quarter hours of real time since local midnight (0, 1, …; up to 99 on a 25-hour
    day), turned back into wall-clock times in Python."""
    offset = f"({_epoch_sql(column)} - {int(day_start_epoch)})"
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR({offset} / {SLOT_SECONDS}) AS INTEGER)"
    return f"CAST({offset} / {SLOT_SECONDS} AS INTEGER)"  # offsets are >= 0: truncation


def _business_id(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _add_peak_queue_and_busiest_window(figures: dict[uuid.UUID, _DayFigures], restrict,
                                       start: datetime, end: datetime) -> None:
    """Longest queue: a running sum of +1 at join and -1 on leaving the line (called or
    cancelled), its maximum and when it was first reached. Busiest hour: the 60
    minutes, on a quarter-hour grid, with the most joins."""
    start_epoch = int(start.timestamp())
    restrict_sql, restrict_params = "", []
    if restrict is not None:
        subquery, restrict_params = restrict.values("id").query.sql_with_params()
        restrict_sql = f"AND business_id IN ({subquery})"
    sql = MOMENTS_SQL.format(
        entries=QueueEntry._meta.db_table, restrict=restrict_sql,
        slot=_slot_sql("created_at", start_epoch), following=WINDOW_SLOTS - 1,
        at_epoch=_epoch_sql("peaks.at"))
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [adapt(start), adapt(end), *restrict_params, start_epoch])
        rows = cursor.fetchall()
    for business_id, size, peak_offset, slot in rows:
        day = figures.get(_business_id(business_id))
        if day is None:
            continue
        if size and size > 0:
            day.peak_queue_size = int(size)
            day.peak_hour = local_time_after(start, float(peak_offset)).hour
        opens = int(slot) * SLOT_SECONDS
        day.busiest_window = (local_time_after(start, opens),
                              local_time_after(start, opens + WINDOW_SLOTS * SLOT_SECONDS))


def sms_sent_by_business(scope: QuerySet[Business], start: datetime,
                         end: datetime) -> dict[uuid.UUID, int]:
    """SMS used during the day, per business, counted as the SMS meter, the quota e-mails
    and the invoice count them (queues.sms.usage): the days of a month add up to its
    usage. One GROUP BY over the day's rows."""
    return {uuid.UUID(row["business_id"]): row["sms"]
            for row in sms_used_by_business(businesses=scope, start=start, end=end)}


def _daily_stat(business_id: uuid.UUID, day: _DayFigures, date_: date) -> DailyStat:
    window = day.busiest_window
    return DailyStat(
        business_id=business_id, date=date_,
        registered=day.registered, served=day.served, missed=day.missed,
        cancelled=day.cancelled,
        average_wait_minutes=_average_minutes(day.wait_seconds, day.waits),
        waits_measured=day.waits,
        average_service_seconds=round(day.service_seconds / day.services)
        if day.services else None,
        peak_hour=day.peak_hour,
        peak_queue_size=day.peak_queue_size,
        abandonment_rate=_percent(day.missed + day.cancelled, day.registered),
        sms_sent=day.sms_sent,
        revenue_lost_cents=(day.missed + day.cancelled) * day.basket_cents,
        busiest_window_start=window[0] if window else None,
        busiest_window_end=window[1] if window else None,
        estimate_error_minutes=_average_minutes(day.error_seconds, day.waits),
        joins_by_hour=day.joins_by_hour,
        waits_by_hour=day.waits_by_hour,
        wait_seconds_by_hour=day.wait_seconds_by_hour,
    )


# --- Retention (GDPR) -------------------------------------------------------------------------

def retention_cutoff(today: date | None = None) -> datetime:
    """Entries of days more than 90 days ago are past retention."""
    today = today or local_today()
    return day_bounds(today - timedelta(days=RETENTION_DAYS))[0]


def _in_batches(selected, batch_size: int, change) -> int:
    """Apply `change` to the rows `selected` picks, `batch_size` at a time, each batch in
    its own short transaction, until none is left; the number of rows changed. `change`
    must take the rows out of `selected` (deleted, or no longer matching)."""
    done = 0
    while True:
        with transaction.atomic():
            batch = list(selected.values_list("pk", flat=True)[:batch_size])
            if not batch:
                return done
            change(selected.model.objects.filter(pk__in=batch))
        done += len(batch)


def entries_purge_expired(*, today: date | None = None,
                          batch_size: int = RETENTION_BATCH) -> int:
    """Delete finished entries past retention whose day is already in DailyStat.

    A day not computed yet keeps its entries until it is (back-fill, then this).
    Each batch is its own short transaction, so the queue tables are never held
    for long; running it twice deletes nothing more.
    """
    cutoff = retention_cutoff(today)
    day_is_counted = DailyStat.objects.filter(business_id=OuterRef("business_id"),
                                              date=OuterRef("day"))
    expired = (QueueEntry.objects.filter(status__in=FINISHED_STATUSES, created_at__lt=cutoff)
               .annotate(day=TruncDate("created_at", tzinfo=business_timezone()))
               .filter(Exists(day_is_counted)).order_by())
    deleted = _in_batches(expired, batch_size, lambda rows: rows.delete())
    logger.info("retention: %d entries deleted", deleted)
    return deleted


def sms_logs_forget_phones(*, today: date | None = None,
                           batch_size: int = RETENTION_BATCH) -> int:
    """Blank the phone number of SMS log rows past retention; the rows stay (billing
    counts them). Batched like the entries; a blanked row is not selected again."""
    cutoff = retention_cutoff(today)
    old = SmsLog.objects.filter(created_at__lt=cutoff).exclude(phone="").order_by()
    blanked = _in_batches(old, batch_size, lambda rows: rows.update(phone=""))
    logger.info("retention: %d SMS phone numbers blanked", blanked)
    return blanked


# --- The merchant's account ---------------------------------------------------------------

class AccountDeletionRefused(WaitifyError):
    pass


# A paid subscription still runs at Stripe in these states: deleting the account
# would leave it charging a customer Waitify no longer knows.
SUBSCRIPTION_STILL_RUNNING = (User.Status.ACTIVE, User.Status.PAST_DUE, User.Status.READ_ONLY)


def account_delete(*, user: User) -> None:
    """Delete the account and everything of it: businesses, entries, SMS log, figures.

    Entries go first in short batches (an account can hold 90 days of them), then
    the account row, which cascades to the rest.
    """
    if user.subscription_status in SUBSCRIPTION_STILL_RUNNING:
        raise AccountDeletionRefused(
            _("Your subscription is still running: cancel it on the billing page first, "
              "then delete the account."),
            code=409, error="subscription_running", status=409)
    entries = QueueEntry.objects.filter(business__owner=user).order_by()
    while True:
        with transaction.atomic():
            batch = list(entries.values_list("pk", flat=True)[:RETENTION_BATCH])
            if not batch:
                break
            QueueEntry.objects.filter(pk__in=batch).delete()
    with transaction.atomic():
        User.objects.filter(pk=user.pk).delete()
    logger.info("account %s deleted at its owner's request", user.pk)


"""Reads of the queue that pages and API share. Each runs a fixed number of
queries, whatever the length of the queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
)
from django.utils import timezone

from businesses.models import Business
from queues.models import EntryStatus, QueueEntry, QueueState, SmsLog
from queues.notifications import sms_capped_recently
from queues.services import (
    REJOIN_WINDOW,
    QueueError,
    WaitEstimate,
    joins_refused_because,
    wait_estimate,
)
from waitify.lib import sql
from waitify.lib.tokens import looks_like_token


def _state(business: Business) -> QueueState | None:
    try:
        return business.queue_state_row
    except QueueState.DoesNotExist:
        return None


@dataclass
class CustomerStatus:
    entry: QueueEntry
    business: Business
    position: int | None
    estimate: WaitEstimate | None
    deadline: datetime | None
    state: QueueState | None = None

    @property
    def is_your_turn(self) -> bool:
        return self.entry.status == EntryStatus.CALLED

    @property
    def can_rejoin(self) -> bool:
        entry = self.entry
        return (entry.status == EntryStatus.MISSED and entry.finished_at is not None
                and timezone.now() - entry.finished_at <= REJOIN_WINDOW)

    def as_dict(self) -> dict:
        entry, estimate = self.entry, self.estimate
        return {
            "ticket": entry.ticket_label,
            "status": entry.status,
            "position": self.position,
            "people_ahead": self.position - 1 if self.position else None,
            "estimated_wait": estimate.minutes if estimate else None,
            "estimated_wait_range": [estimate.low, estimate.high] if estimate else None,
            "called_at": entry.called_at,
            "come_before": self.deadline,
            "snoozes_left": max(0, 2 - entry.snooze_count),
            "can_rejoin": self.can_rejoin,
            "business": {"name": self.business.name,
                         "queue_state": self.business.queue_state},
        }


def customer_status(secret: str) -> CustomerStatus | None:
    """The customer's view of their entry: 1 query (the entry with its business, queue
    state and the number of people waiting ahead of it)."""
    if not looks_like_token(secret):  # a NUL byte, 300 characters…: no such ticket
        return None
    with connection.cursor() as cursor:
        cursor.execute(_status_sql(connection.vendor), [EntryStatus.WAITING, secret])
        row = cursor.fetchone()
    if row is None:
        return None
    entry, business, state = sql.load_row(row, *_STATUS_READ)
    entry.business = business
    if state.business_id is None:  # no queue operation yet: no state row
        Business.queue_state_row.related.set_cached_value(business, None)
    else:
        business.queue_state_row = state
    ahead = row[-1]
    return _status(entry, ahead + 1 if entry.status == EntryStatus.WAITING else None)


# The status poll is the busiest read (every waiting customer, every 3 seconds).
# Django's query compiler spends three times as long on this three-table query
# (≈1.3 ms) as PostgreSQL spends answering it, so it is written once in SQL
# (see waitify/lib/sql.py): the entry, the business and queue state fields the
# status shows (the rest deferred), and the count of people ahead.
_STATUS_READ = (
    sql.Columns(QueueEntry, "e"),
    sql.Columns(Business, "b", ("id", "name", "qr_token", "client_timeout_minutes",
                                "average_service_time", "is_active", "is_queue_open",
                                "is_queue_paused")),
    sql.Columns(QueueState, "s", ("business", "version", "service_estimate_seconds",
                                  "served_samples")),
)


@lru_cache(maxsize=4)
def _status_sql(vendor: str) -> str:
    def column(name: str) -> str:
        return sql.column(QueueEntry, name)

    business_id, state_key = column("business"), sql.column(QueueState, "business")
    entries = sql.table(QueueEntry)
    return (
        f"SELECT {', '.join(part.select() for part in _STATUS_READ)}, "  # noqa: S608
        f"(SELECT COUNT(*) FROM {entries} w WHERE w.{business_id} = e.{business_id}"
        f" AND w.{column('status')} = %s AND w.{column('sort_key')} < e.{column('sort_key')}) "
        f"FROM {entries} e "
        f"INNER JOIN {sql.table(Business)} b "
        f"ON b.{sql.quote(Business._meta.pk.column)} = e.{business_id} "
        f"LEFT JOIN {sql.table(QueueState)} s ON s.{state_key} = e.{business_id} "
        f"WHERE e.{column('secret')} = %s"
    )


def joined_status(entry: QueueEntry) -> CustomerStatus:
    """The status of an entry `entry_join` has just returned: no query (the engine
    knows the position it gave and holds the business with its queue state)."""
    return _status(entry, entry.position)


def _status(entry: QueueEntry, position: int | None) -> CustomerStatus:
    business = entry.business
    state = _state(business)
    estimate = wait_estimate(business, state, position) if position else None
    deadline = None
    if entry.status == EntryStatus.CALLED and entry.arrived_at is None and entry.called_at:
        deadline = entry.called_at + timedelta(minutes=business.client_timeout_minutes)
    return CustomerStatus(entry=entry, business=business, position=position,
                          estimate=estimate, deadline=deadline, state=state)


@dataclass
class LiveQueue:
    business: Business
    waiting: list[QueueEntry]
    called: list[QueueEntry]
    served_today: int
    missed_today: int
    average_wait_minutes: int | None
    state: QueueState | None = None
    estimates: list[WaitEstimate] = field(default_factory=list)
    # The hourly SMS cap held back a message in the last hour (joins still work).
    sms_capped: bool = False

    @property
    def people_in_queue(self) -> int:
        return len(self.waiting) + len(self.called)

    def rows(self) -> list[tuple[int, QueueEntry, WaitEstimate]]:
        return [(index + 1, entry, self.estimates[index])
                for index, entry in enumerate(self.waiting)]


def live_queue(business: Business) -> LiveQueue:
    """Everything the merchant's live screen shows: 3 queries."""
    state = (QueueState.objects.filter(pk=business.pk)
             .annotate(sms_capped=sms_capped_recently(business_ref=OuterRef("business_id")))
             .first())
    # Each entry carries the status of its latest SMS: a failed one is shown
    # as a warning (5001), and this stays one query whatever the queue length.
    latest_sms = SmsLog.objects.filter(entry_id=OuterRef("pk")).order_by("-created_at")
    live = list(QueueEntry.objects.filter(business=business,
                                          status__in=[EntryStatus.WAITING, EntryStatus.CALLED])
                .annotate(last_sms_status=Subquery(latest_sms.values("status")[:1]))
                .order_by("sort_key"))
    today = timezone.localdate()
    wait = ExpressionWrapper(F("called_at") - F("created_at"), output_field=DurationField())
    figures = QueueEntry.objects.filter(business=business, service_day=today).aggregate(
        served=Count("pk", filter=Q(status=EntryStatus.SERVED)),
        missed=Count("pk", filter=Q(status=EntryStatus.MISSED)),
        average_wait=Avg(wait, filter=Q(called_at__isnull=False)),
    )
    waiting = [entry for entry in live if entry.status == EntryStatus.WAITING]
    called = sorted((entry for entry in live if entry.status == EntryStatus.CALLED),
                    key=lambda entry: entry.called_at)
    average = figures["average_wait"]
    return LiveQueue(
        business=business, waiting=waiting, called=called, served_today=figures["served"],
        missed_today=figures["missed"],
        average_wait_minutes=round(average.total_seconds() / 60) if average else None,
        state=state,
        estimates=[wait_estimate(business, state, index + 1) for index in range(len(waiting))],
        sms_capped=bool(state and state.sms_capped),
    )


@dataclass
class JoinSummary:
    waiting: int
    estimate: WaitEstimate
    accepting: bool
    reason: str
    next_opening: datetime | None


def join_summary(business: Business) -> JoinSummary:
    """What the join page shows before the form: 1 query (the waiting count)."""
    waiting = QueueEntry.objects.waiting().filter(business=business).count()
    estimate = wait_estimate(business, _state(business), waiting + 1)
    refusal: QueueError | None = joins_refused_because(business)
    if refusal is None and waiting >= business.max_queue_size:
        reason = "queue_full"
    else:
        reason = refusal.error if refusal else ""
    opening = refusal.extra.get("next_opening") if refusal else None
    opening = datetime.fromisoformat(opening) if opening else None
    return JoinSummary(waiting=waiting, estimate=estimate, accepting=not reason,
                       reason=reason, next_opening=opening)


@dataclass
class DisplayBoard:
    now_serving: list[QueueEntry]
    next_up: list[QueueEntry]
    waiting: int


def display_board(business: Business) -> DisplayBoard:
    """The shop screen: who is called, who is next. 2 queries."""
    called = list(QueueEntry.objects.filter(business=business, status=EntryStatus.CALLED)
                  .order_by("-called_at")[:3])
    waiting = QueueEntry.objects.waiting().filter(business=business)
    return DisplayBoard(now_serving=called, next_up=list(waiting.order_by("sort_key")[:5]),
                        waiting=waiting.count())

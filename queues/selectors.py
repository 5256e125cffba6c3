"""Reads of the queue that pages and API share. Each runs a fixed number of
queries, whatever the length of the queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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
from django.db.models.functions import Coalesce
from django.utils import timezone

from businesses.models import Business
from queues.models import EntryStatus, QueueEntry, QueueState, SmsLog
from queues.services import (
    MAX_SNOOZES,
    REJOIN_WINDOW,
    JoinAvailability,
    WaitEstimate,
    join_availability,
    wait_estimate,
    waiting_ahead,
)
from queues.sms.outbox import sms_capped_recently
from waitify.lib import opening_hours
from waitify.lib.opening_hours import DayHours


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

    @property
    def snoozes_left(self) -> int:
        return max(0, MAX_SNOOZES - self.entry.snooze_count)

    @property
    def rejoin_minutes(self) -> int:
        return int(REJOIN_WINDOW.total_seconds() // 60)

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
            "snoozes_left": self.snoozes_left,
            "sms": entry.notify_by_sms,
            "can_rejoin": self.can_rejoin,
            "business": {"name": self.business.name,
                         "queue_state": self.business.queue_state},
        }


def customer_status(secret: str) -> CustomerStatus | None:
    """The customer's view of their entry: 1 query (the entry with its business, queue
    state and the number of people waiting ahead of it)."""
    ahead = (waiting_ahead(OuterRef("business_id"), OuterRef("sort_key"))
             .order_by().values("business_id").annotate(count=Count("pk")).values("count"))
    entry = (QueueEntry.objects.with_secret(secret)
             .select_related("business__queue_state_row")
             .annotate(ahead=Coalesce(Subquery(ahead), 0))
             .first())
    if entry is None:
        return None
    return _status(entry, entry.ahead + 1 if entry.status == EntryStatus.WAITING else None)


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
    availability: JoinAvailability
    # When the estimated call falls after the current opening range ends, that time
    # (the customer is told before joining); None otherwise.
    call_after_closing: datetime | None
    week: list[DayHours]
    today: date

    @property
    def accepting(self) -> bool:
        return self.availability.accepting

    @property
    def reason(self) -> str:
        return self.availability.reason

    @property
    def next_opening(self) -> datetime | None:
        return self.availability.reopens_at


def join_summary(business: Business, now: datetime | None = None) -> JoinSummary:
    """What the join page shows before the form: 1 query (the waiting count)."""
    now = now or timezone.now()
    waiting = QueueEntry.objects.waiting().filter(business=business).count()
    estimate = wait_estimate(business, _state(business), waiting + 1)
    availability = join_availability(business, waiting, now)
    expected_call = now + timedelta(minutes=estimate.minutes)
    closes = availability.closes_at
    late = availability.accepting and closes is not None and expected_call > closes
    today = now.astimezone(availability.zone).date()
    return JoinSummary(
        waiting=waiting, estimate=estimate, availability=availability,
        call_after_closing=expected_call.astimezone(availability.zone) if late else None,
        week=opening_hours.week(business.opening_hours, today) if business.opening_hours else [],
        today=today)


def device_ticket(business: Business, secrets: list[str]) -> QueueEntry | None:
    """This device's live ticket in this queue (from its signed cookie), if any."""
    if not secrets:
        return None
    return (QueueEntry.objects.live().filter(business=business, secret__in=secrets)
            .order_by("-created_at").first())


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

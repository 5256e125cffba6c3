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
from queues import estimates
from queues.models import Counter, EntryStatus, QueueEntry, QueueState, Service, SmsLog
from queues.services import (
    LINE_ORDER,
    MAX_SNOOZES,
    REJOIN_WINDOW,
    JoinAvailability,
    WaitEstimate,
    join_availability,
    queue_state_of,
    wait_estimate,
    waiting_ahead,
)
from queues.sms.outbox import sms_capped_recently
from waitify.lib import opening_hours
from waitify.lib.opening_hours import DayHours
from waitify.lib.queries import one_or_none


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
    def open_counters(self) -> int:
        """The counters open now, as the last queue change left them (no query)."""
        model = self.state.estimate_model if self.state else None
        return len(estimates.inputs_from_model(model, self.business).counters)

    @property
    def service_name(self) -> str:
        """The service, when the business has several ("" else)."""
        several = self.state is not None and self.state.services_count > 1
        return self.entry.service.name if several else ""

    @property
    def counter_name(self) -> str:
        """Where to go once called, when the business has several counters ("" else)."""
        entry = self.entry
        several = self.state is not None and self.state.counters_count > 1
        if several and entry.status == EntryStatus.CALLED and entry.counter_id:
            return entry.counter.name
        return ""

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
            "service": {"id": str(entry.service_id), "name": entry.service.name},
            "priority": entry.priority,
            "counter": ({"id": str(entry.counter_id), "name": entry.counter.name}
                        if entry.counter_id and entry.status == EntryStatus.CALLED else None),
        }


def customer_status(secret: str) -> CustomerStatus | None:
    """The customer's view of their entry: 1 query (the entry with its business, queue
    state, service, counter and the number of people waiting ahead of it in its service)."""
    ahead = (waiting_ahead(OuterRef("service_id"), OuterRef("priority"), OuterRef("sort_key"))
             .order_by().values("service_id").annotate(count=Count("pk")).values("count"))
    entry = one_or_none(QueueEntry.objects.with_secret(secret)
                        .select_related("business__queue_state_row", "service", "counter")
                        .annotate(ahead=Coalesce(Subquery(ahead), 0)))
    if entry is None:
        return None
    return _status(entry, entry.ahead + 1 if entry.status == EntryStatus.WAITING else None)


def joined_status(entry: QueueEntry) -> CustomerStatus:
    """The status of an entry `entry_join` has just returned: no query (the engine
    knows the position it gave and holds the business with its queue state)."""
    return _status(entry, entry.position)


def _status(entry: QueueEntry, position: int | None) -> CustomerStatus:
    business = entry.business
    state = queue_state_of(business)
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
    services: list[Service] = field(default_factory=list)  # active ones, in order
    counters: list[Counter] = field(default_factory=list)  # each with `.serves`: ids
    # Each waiting entry's position in its service's line (same order as `waiting`).
    positions: list[int] = field(default_factory=list)

    @property
    def people_in_queue(self) -> int:
        return len(self.waiting) + len(self.called)

    @property
    def has_services(self) -> bool:
        return len(self.services) > 1

    @property
    def has_counters(self) -> bool:
        return len(self.counters) > 1

    def rows(self) -> list[tuple[int, QueueEntry, WaitEstimate]]:
        return [(self.positions[index], entry, self.estimates[index])
                for index, entry in enumerate(self.waiting)]

    def called_at(self, counter: Counter) -> QueueEntry | None:
        """The customer a counter is dealing with: its latest call still open."""
        at_counter = [entry for entry in self.called if entry.counter_id == counter.pk]
        return at_counter[-1] if at_counter else None


def live_queue(business: Business) -> LiveQueue:
    """Everything the merchant's live screen shows: 6 queries (the state, the live
    entries, today's figures, the counters, what each serves, the services)."""
    state = (QueueState.objects.filter(pk=business.pk)
             .annotate(sms_capped=sms_capped_recently(business_ref=OuterRef("business_id")))
             .first())
    # Each entry carries the status of its latest SMS: a failed one is shown
    # as a warning (5001), and this stays one query whatever the queue length.
    latest_sms = SmsLog.objects.filter(entry_id=OuterRef("pk")).order_by("-created_at")
    live = list(QueueEntry.objects.filter(business=business,
                                          status__in=[EntryStatus.WAITING, EntryStatus.CALLED])
                .select_related("service", "counter")
                .annotate(last_sms_status=Subquery(latest_sms.values("status")[:1]))
                .order_by(*LINE_ORDER))
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
    positions, seen = [], {}
    for entry in waiting:  # priority first, then by key: each service's line in order
        seen[entry.service_id] = seen.get(entry.service_id, 0) + 1
        positions.append(seen[entry.service_id])
    counters = list(Counter.objects.filter(business=business).order_by("position", "created_at"))
    serves: dict = {}
    for counter_id, service_id in Counter.services.through.objects.filter(
            counter__business=business).values_list("counter_id", "service_id"):
        serves.setdefault(counter_id, set()).add(service_id)
    for counter in counters:
        counter.serves = serves.get(counter.pk, set())
    return LiveQueue(
        business=business, waiting=waiting, called=called, served_today=figures["served"],
        missed_today=figures["missed"],
        average_wait_minutes=round(average.total_seconds() / 60) if average else None,
        state=state,
        estimates=[wait_estimate(business, state, position) for position in positions],
        sms_capped=bool(state and state.sms_capped),
        services=list(Service.objects.filter(business=business, is_active=True)
                      .order_by("position", "created_at")),
        counters=counters, positions=positions,
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
    estimate = wait_estimate(business, queue_state_of(business), waiting + 1)
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


DISPLAY_CALLS = 4


@dataclass(frozen=True)
class DisplayCall:
    """One call on the shop screen. `key` changes with every call, so a ticket called
    again is announced again."""

    key: str
    ticket: str
    spoken_ticket: str
    counter: str


@dataclass
class DisplayBoard:
    calls: list[DisplayCall]
    next_up: list[QueueEntry]
    waiting: int
    show_counters: bool


def spoken_ticket(label: str) -> str:
    """"A-042" as a voice reads it well: "A 42"."""
    prefix, _dash, number = label.rpartition("-")
    number = number.lstrip("0") or "0"
    return f"{prefix} {number}" if prefix else number


def display_board(business: Business) -> DisplayBoard:
    """The shop screen: today's last four calls and their counters, who is next.
    4 queries."""
    called = (QueueEntry.objects.filter(business=business, service_day=timezone.localdate(),
                                        called_at__isnull=False)
              .select_related("counter").order_by("-called_at")[:DISPLAY_CALLS])
    calls = [DisplayCall(key=f"{entry.pk}:{entry.called_at.timestamp()}",
                         ticket=entry.ticket_label, spoken_ticket=spoken_ticket(entry.ticket_label),
                         counter=entry.counter.name if entry.counter else "")
             for entry in called]
    waiting = QueueEntry.objects.waiting().filter(business=business)
    next_up = list(waiting.order_by(*LINE_ORDER)[:5])  # as call-next takes them
    return DisplayBoard(calls=calls, next_up=next_up,
                        waiting=waiting.count(), show_counters=business.counters.count() > 1)

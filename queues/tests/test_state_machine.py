"""Random sequences of queue operations keep the engine's rules.

A hypothesis state machine drives the services on a small queue with two services
(A, and B) and two counters (one serving both, one serving B only): join (with a
service and a priority declaration), walk-in, cancel, call next at a counter, call
out of order, set or take back priority, transfer to the other service, arrive,
serve, miss, timeout (advancing the same counter), snooze, rejoin, open, close,
pause, resume, time passing; and keeps a model of what each operation must do.
After every step it checks that the database agrees with the model: refusals
are the right ones with the right code, waiting positions are unique,
contiguous and in the model's order, the size cap holds, statuses only move
along the lifecycle, served comes after called, one live entry per phone,
unique tickets, and the version the status pages poll moved once per change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from businesses import services as business_services
from businesses.models import Business, User
from businesses.tests.factories import make_merchant
from queues import services
from queues.models import EntryStatus, QueueEntry, QueueState
from queues.services import QueueError, entry_position
from waitify.lib.errors import ErrorCode

WAITING, CALLED, SERVED, MISSED, CANCELLED = (
    EntryStatus.WAITING, EntryStatus.CALLED, EntryStatus.SERVED, EntryStatus.MISSED,
    EntryStatus.CANCELLED,
)
# Every status an entry may be seen in next, given the one it was last seen in.
ALLOWED_NEXT = {
    WAITING: {WAITING, CALLED, CANCELLED},
    CALLED: {CALLED, SERVED, MISSED},
    SERVED: {SERVED},
    MISSED: {MISSED},
    CANCELLED: {CANCELLED},
}

MAX_SIZE = 5
# Few numbers, so a phone often comes back while its entry is still live.
MOBILES = ("0612345601", "0698765432", "0745678912", "0755443322")

CLOSED = (services.QUEUE_CLOSED, "queue_closed")
PAUSED = (ErrorCode.QUEUE_PAUSED, "queue_paused")
FULL = (services.QUEUE_FULL, "queue_full")
ALREADY_IN_QUEUE = (services.ALREADY_IN_QUEUE, "already_in_queue")
EMPTY = (ErrorCode.QUEUE_EMPTY, "queue_empty")
INVALID = (ErrorCode.INVALID_TRANSITION, "invalid_transition")
SNOOZE_LIMIT = (ErrorCode.SNOOZE_LIMIT, "snooze_limit")
NOBODY_BEHIND = (ErrorCode.NOBODY_BEHIND, "nobody_behind")
TOO_LATE = (ErrorCode.REJOIN_EXPIRED, "rejoin_expired")

Refusal = tuple[int, str]


def as_typed(mobile: str, style: int) -> str:
    """The same number as people type it: `06 12 34 56 01`, `0612345601`, `+33 6 12…`."""
    pairs = " ".join(mobile[i:i + 2] for i in range(0, 10, 2))
    return (pairs, mobile, f"+33 {pairs[1:]}", f"+33{mobile[1:]}")[style]


def e164(mobile: str) -> str:
    return f"+33{mobile[1:]}"


SERVICES = (0, 1)  # A, B
COUNTERS = (0, 1)  # the first serves A and B, the second B only
COUNTER_SERVES = {0: {0, 1}, 1: {1}}


@dataclass
class Ticket:
    """What the model expects of one entry."""

    phone: str
    status: str = WAITING
    arrived: bool = False
    snoozes: int = 0
    missed_recently: bool = False
    rejoined: bool = False
    service: int = 0
    priority: bool = False
    # The engine's ordering key, mirrored as a number: appended after every key ever
    # given, or halfway between two neighbours (snooze, rejoin).
    key: float = 0.0
    counter: int | None = None


class QueueMachine(RuleBasedStateMachine):
    # Set by the test: one merchant (a fresh business per example), its monkeypatch.
    owner: User
    monkeypatch: pytest.MonkeyPatch

    @initialize(auto_advance=st.booleans(), key_step=st.sampled_from([services.KEY_STEP, 2]),
                waiting=st.integers(0, MAX_SIZE), called=st.integers(0, 2))
    def open_a_business(self, auto_advance: bool, key_step: int, waiting: int,
                        called: int) -> None:
        # With a step of 2 the ordering keys run out after one split between two
        # neighbours, so snoozes and rejoins go through the rare re-spacing path too.
        self.monkeypatch.setattr(services, "KEY_STEP", key_step)
        business = business_services.business_create(
            owner=self.owner, name="Boulangerie Martin", business_type="bakery",
            max_queue_size=MAX_SIZE, auto_advance_enabled=auto_advance, sms_enabled=False,
            priority_join_enabled=True,
        )
        self.business: Business = services.queue_open(business=business)
        service_b = services.service_create(business=business, name="B", ticket_prefix="B")
        self.services = [business.services.get(ticket_prefix="A"), service_b]
        self.counters = [business.counters.get(),
                         services.counter_create(business=business, name="B only",
                                                 services=[service_b])]
        self.auto_advance = auto_advance
        self.is_open, self.is_paused = True, False
        self.tickets: dict[UUID, Ticket] = {}
        self.top = 0.0  # the last ordering key given by appending
        self.last_seen: dict[UUID, str] = {}
        self.version = 3  # opening, the second service and the second counter
        # Start from a busy queue now and then: the interesting steps come sooner.
        for index in range(waiting):
            if index < len(MOBILES):
                self.join(MOBILES[index], style=index, service=index % 2, priority=False)
            else:
                self.add_a_walk_in(service=0, priority=index % 2 == 0)
        for _ in range(min(called, waiting)):
            self.call_next(counter=0)

    def teardown(self) -> None:
        # Leave no call behind for the next example's timeout sweep.
        if hasattr(self, "business"):
            for entry in QueueEntry.objects.filter(business=self.business, status=CALLED):
                services.entry_miss(entry=entry)

    # --- Helpers -----------------------------------------------------------------------

    def attempt(self, operation: Callable[[], Any], refusal: Refusal | None) -> Any:
        """Run `operation`; it must succeed when `refusal` is None, else be refused so."""
        try:
            result = operation()
        except QueueError as error:
            assert refusal is not None, f"refused with {error.code} {error.error}"
            assert (error.code, error.error) == refusal
            return None
        assert refusal is None, f"accepted, but {refusal} was expected"
        return result

    def entry(self, pk: UUID) -> QueueEntry:
        return QueueEntry.objects.get(pk=pk)

    def pick(self, choice: int, any_entry: int, *statuses: str) -> UUID:
        """An entry in one of `statuses` when there is one (the useful case), else any entry.

        One pick in four is any entry at all, so refusals get their share too.
        """
        fitting = [pk for pk, ticket in self.tickets.items() if ticket.status in statuses]
        candidates = list(self.tickets) if any_entry == 0 or not fitting else fitting
        return candidates[choice % len(candidates)]

    @property
    def line(self) -> list[UUID]:
        """Every waiting entry (any service)."""
        return [pk for pk, t in self.tickets.items() if t.status == WAITING]

    def line_of(self, services_served: set[int]) -> list[UUID]:
        """Waiting entries of these services, in the order call-next takes them."""
        waiting = [pk for pk, t in self.tickets.items()
                   if t.status == WAITING and t.service in services_served]
        return sorted(waiting, key=lambda pk: (not self.tickets[pk].priority,
                                               self.tickets[pk].key))

    def group(self, service: int, priority: bool) -> list[UUID]:
        """One service's waiting entries of one priority class, by ordering key."""
        return [pk for pk in self.line_of({service}) if self.tickets[pk].priority == priority]

    def append_key(self) -> float:
        self.top += 1
        return self.top

    def key_after(self, group: list[UUID], index: int) -> float:
        """The engine's `_key_after`: halfway between group[index] and group[index + 1]."""
        keys = [self.tickets[pk].key for pk in group[index:index + 2]]
        return (keys[0] + keys[1]) / 2 if len(keys) == 2 else self.append_key()

    def live_phones(self) -> set[str]:
        return {t.phone for t in self.tickets.values() if t.phone and t.status in (WAITING, CALLED)}

    def refusal_for_a_join(self, phone: str, walk_in: bool) -> Refusal | None:
        if not walk_in and not self.is_open:
            return CLOSED
        if not walk_in and self.is_paused:
            return PAUSED
        if phone and phone in self.live_phones():
            return ALREADY_IN_QUEUE
        if len(self.line) >= MAX_SIZE:
            return FULL
        return None

    def call(self, pk: UUID, counter: int) -> None:
        self.tickets[pk].status = CALLED
        self.tickets[pk].counter = counter
        self.version += 1

    def called_and_not_arrived(self) -> list[UUID]:
        return [pk for pk, t in self.tickets.items() if t.status == CALLED and not t.arrived]

    # --- Customers ---------------------------------------------------------------------

    @rule(mobile=st.sampled_from(MOBILES), style=st.integers(0, 3),
          service=st.sampled_from(SERVICES), priority=st.booleans())
    def join(self, mobile: str, style: int, service: int, priority: bool) -> None:
        phone = e164(mobile)
        entry = self.attempt(
            lambda: services.entry_join(business=self.business, phone=as_typed(mobile, style),
                                        service=self.services[service], priority=priority),
            self.refusal_for_a_join(phone, walk_in=False),
        )
        self.joined(entry, phone, service, priority)

    @rule(service=st.sampled_from(SERVICES), priority=st.booleans())
    def add_a_walk_in(self, service: int, priority: bool) -> None:
        entry = self.attempt(
            lambda: services.entry_join(business=self.business, phone="", walk_in=True,
                                        service=self.services[service], priority=priority),
            self.refusal_for_a_join("", walk_in=True),
        )
        self.joined(entry, "", service, priority)

    def joined(self, entry: QueueEntry | None, phone: str, service: int,
               priority: bool) -> None:
        if entry is None:
            return
        assert entry.phone == phone
        ahead = len(self.group(service, True)) + (0 if priority else
                                                 len(self.group(service, False)))
        assert entry.position == ahead + 1
        self.tickets[entry.pk] = Ticket(phone=phone, service=service, priority=priority,
                                        key=self.append_key())
        self.version += 1

    @precondition(lambda self: self.tickets)
    @rule(choice=st.integers(0, 50), any_entry=st.integers(0, 3))
    def cancel(self, choice: int, any_entry: int) -> None:
        pk = self.pick(choice, any_entry, WAITING)
        ticket = self.tickets[pk]
        refusal = None if ticket.status in (WAITING, CANCELLED) else INVALID
        self.attempt(lambda: services.entry_cancel(entry=self.entry(pk)), refusal)
        if ticket.status == WAITING:
            ticket.status = CANCELLED
            self.version += 1

    @precondition(lambda self: self.tickets)
    @rule(choice=st.integers(0, 50), any_entry=st.integers(0, 3))
    def let_one_person_pass(self, choice: int, any_entry: int) -> None:
        pk = self.pick(choice, any_entry, WAITING)
        ticket = self.tickets[pk]
        group = self.group(ticket.service, ticket.priority)
        if ticket.status != WAITING:
            refusal = INVALID
        elif ticket.snoozes >= services.MAX_SNOOZES:
            refusal = SNOOZE_LIMIT
        elif group[-1] == pk:
            refusal = NOBODY_BEHIND
        else:
            refusal = None
        self.attempt(lambda: services.entry_snooze(entry=self.entry(pk)), refusal)
        if refusal is None:
            # Right after the next one of the same service and priority class.
            index = group.index(pk)
            group.remove(pk)
            ticket.key = self.key_after(group, index)
            ticket.snoozes += 1
            self.version += 1

    @precondition(lambda self: any(t.status == MISSED for t in self.tickets.values()))
    @rule(choice=st.integers(0, 50), any_entry=st.integers(0, 3))
    def rejoin(self, choice: int, any_entry: int) -> None:
        pk = self.pick(choice, any_entry, MISSED)
        ticket = self.tickets[pk]
        if ticket.status != MISSED or not ticket.missed_recently or ticket.rejoined:
            refusal = TOO_LATE
        else:
            refusal = self.refusal_for_a_join(ticket.phone, walk_in=False)
        entry = self.attempt(lambda: services.entry_rejoin(entry=self.entry(pk)), refusal)
        if entry is None:
            return
        ticket.rejoined = True
        # Second in their service's line (of their priority class), or first when alone.
        key = self.key_after(self.group(ticket.service, ticket.priority), 0)
        self.tickets[entry.pk] = Ticket(phone=ticket.phone, service=ticket.service,
                                        priority=ticket.priority, key=key)
        self.version += 1

    # --- Merchant ----------------------------------------------------------------------

    @rule(counter=st.sampled_from(COUNTERS))
    def call_next(self, counter: int) -> None:
        line = self.line_of(COUNTER_SERVES[counter])
        entry = self.attempt(lambda: services.queue_call_next(
            business=self.business, counter=self.counters[counter]), None if line else EMPTY)
        if entry is not None:
            assert entry.pk == line[0]
            assert entry.counter_id == self.counters[counter].pk
            assert not entry.called_out_of_order
            self.call(entry.pk, counter)

    @precondition(lambda self: self.tickets)
    @rule(choice=st.integers(0, 50), any_entry=st.integers(0, 3),
          counter=st.sampled_from(COUNTERS))
    def call_out_of_order(self, choice: int, any_entry: int, counter: int) -> None:
        pk = self.pick(choice, any_entry, WAITING)
        ticket = self.tickets[pk]
        refusal = None if ticket.status in (WAITING, CALLED) else INVALID
        head = self.line_of(COUNTER_SERVES[counter])[:1]
        entry = self.attempt(lambda: services.entry_call(
            entry=self.entry(pk), counter=self.counters[counter]), refusal)
        if entry is not None and ticket.status == WAITING:
            assert entry.called_out_of_order == (head != [pk])
            self.call(pk, counter)

    @precondition(lambda self: self.tickets)
    @rule(choice=st.integers(0, 50), any_entry=st.integers(0, 3), priority=st.booleans())
    def set_priority(self, choice: int, any_entry: int, priority: bool) -> None:
        pk = self.pick(choice, any_entry, WAITING)
        ticket = self.tickets[pk]
        unchanged = ticket.priority == priority and ticket.status in (WAITING, CALLED)
        refusal = None if unchanged or ticket.status == WAITING else INVALID
        self.attempt(lambda: services.entry_set_priority(entry=self.entry(pk),
                                                         priority=priority), refusal)
        if refusal is None and not unchanged:
            ticket.priority = priority
            self.version += 1

    @precondition(lambda self: self.tickets)
    @rule(choice=st.integers(0, 50), any_entry=st.integers(0, 3),
          service=st.sampled_from(SERVICES))
    def transfer(self, choice: int, any_entry: int, service: int) -> None:
        pk = self.pick(choice, any_entry, WAITING)
        ticket = self.tickets[pk]
        unchanged = ticket.service == service and ticket.status in (WAITING, CALLED)
        refusal = None if unchanged or ticket.status == WAITING else INVALID
        entry = self.attempt(lambda: services.entry_transfer(
            entry=self.entry(pk), service=self.services[service]), refusal)
        if refusal is None and not unchanged:
            # Same ticket, same ordering key: the place by arrival in the other line.
            assert entry.ticket_prefix == self.entry(pk).ticket_prefix
            ticket.service = service
            self.version += 1

    @precondition(lambda self: self.tickets)
    @rule(choice=st.integers(0, 50), any_entry=st.integers(0, 3))
    def mark_arrived(self, choice: int, any_entry: int) -> None:
        pk = self.pick(choice, any_entry, CALLED)
        ticket = self.tickets[pk]
        refusal = None if ticket.status == CALLED else INVALID
        self.attempt(lambda: services.entry_mark_arrived(entry=self.entry(pk)), refusal)
        if ticket.status == CALLED and not ticket.arrived:
            ticket.arrived = True
            self.version += 1

    @precondition(lambda self: self.tickets)
    @rule(choice=st.integers(0, 50), any_entry=st.integers(0, 3))
    def serve(self, choice: int, any_entry: int) -> None:
        pk = self.pick(choice, any_entry, CALLED)
        ticket = self.tickets[pk]
        refusal = None if ticket.status in (CALLED, SERVED) else INVALID
        self.attempt(lambda: services.entry_serve(entry=self.entry(pk)), refusal)
        if ticket.status == CALLED:
            ticket.status = SERVED
            self.version += 1

    @precondition(lambda self: self.tickets)
    @rule(choice=st.integers(0, 50), any_entry=st.integers(0, 3))
    def miss(self, choice: int, any_entry: int) -> None:
        pk = self.pick(choice, any_entry, CALLED)
        ticket = self.tickets[pk]
        refusal = None if ticket.status in (CALLED, MISSED) else INVALID
        self.attempt(lambda: services.entry_miss(entry=self.entry(pk)), refusal)
        if ticket.status == CALLED:
            ticket.status, ticket.missed_recently = MISSED, True
            self.version += 1

    @precondition(lambda self: self.called_and_not_arrived())
    @rule(choice=st.integers(0, 10))
    def time_out(self, choice: int) -> None:
        """The called customer's time runs out; the sweep misses them (and may call the next)."""
        candidates = self.called_and_not_arrived()
        pk = candidates[choice % len(candidates)]
        QueueEntry.objects.filter(pk=pk).update(called_at=timezone.now() - timedelta(
            minutes=self.business.client_timeout_minutes, seconds=1))
        assert services.queue_expire_overdue() == 1
        ticket = self.tickets[pk]
        ticket.status, ticket.missed_recently = MISSED, True
        self.version += 1
        # The same counter calls its next customer (among the services it serves).
        line = self.line_of(COUNTER_SERVES[ticket.counter])
        if self.auto_advance and self.is_open and not self.is_paused and line:
            self.call(line[0], ticket.counter)

    @precondition(lambda self: any(t.missed_recently for t in self.tickets.values()))
    @rule()
    def a_quarter_of_an_hour_passes(self) -> None:
        for pk, ticket in self.tickets.items():
            if ticket.missed_recently:
                QueueEntry.objects.filter(pk=pk).update(
                    finished_at=timezone.now() - services.REJOIN_WINDOW - timedelta(seconds=1))
                ticket.missed_recently = False

    @rule(action=st.sampled_from(["open", "close", "pause", "resume"]))
    def open_close_pause_or_resume(self, action: str) -> None:
        getattr(services, f"queue_{action}")(business=self.business)
        if action in ("open", "close"):
            self.is_open, self.is_paused = action == "open", False
        else:
            self.is_paused = action == "pause"
        self.version += 1

    # --- Invariants --------------------------------------------------------------------

    @invariant()
    def the_database_agrees_with_the_model(self) -> None:
        if not hasattr(self, "business"):
            return
        rows = {entry.pk: entry for entry in QueueEntry.objects.filter(business=self.business)}
        assert rows.keys() == self.tickets.keys()
        for pk, row in rows.items():
            before = self.last_seen.get(pk, WAITING)
            assert row.status in ALLOWED_NEXT[before], f"{before} → {row.status}"
            self.last_seen[pk] = row.status
            assert row.status == self.tickets[pk].status
            assert (row.called_at is not None) == (row.status in (CALLED, SERVED, MISSED))
            if row.status == SERVED:
                # Service time runs from arrival when known, else from the call.
                assert row.served_at >= row.called_at
                started = row.arrived_at or row.called_at
                assert row.actual_service_seconds == int((row.served_at - started)
                                                         .total_seconds())

        for service in SERVICES:
            waiting = sorted((row for row in rows.values()
                              if row.status == WAITING
                              and row.service_id == self.services[service].pk),
                             key=lambda row: (not row.priority, row.sort_key))
            assert [row.pk for row in waiting] == self.line_of({service})
            assert [entry_position(row) for row in waiting] == list(range(1, len(waiting) + 1))
        for pk, row in rows.items():
            ticket = self.tickets[pk]
            assert (row.service_id, row.priority) == (self.services[ticket.service].pk,
                                                      ticket.priority)
            if row.status != WAITING and row.called_at is not None:
                assert row.counter_id == self.counters[ticket.counter].pk
        assert len(self.line) <= MAX_SIZE

        live_phones = [row.phone for row in rows.values()
                       if row.phone and row.status in (WAITING, CALLED)]
        assert len(live_phones) == len(set(live_phones))
        for day, prefix in {(row.service_day, row.ticket_prefix) for row in rows.values()}:
            numbers = sorted(row.ticket_number for row in rows.values()
                             if (row.service_day, row.ticket_prefix) == (day, prefix))
            assert numbers == list(range(1, len(numbers) + 1))

        assert QueueState.objects.get(pk=self.business.pk).version == self.version


@pytest.mark.django_db
def test_random_operations_keep_the_queue_consistent(monkeypatch):
    machine = type("Machine", (QueueMachine,), {
        "owner": make_merchant("machine@example.fr", plan="enterprise"),
        "monkeypatch": monkeypatch,
    })
    run_state_machine_as_test(machine, settings=settings(
        max_examples=30, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    ))

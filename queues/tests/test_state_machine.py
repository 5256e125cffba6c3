"""Random sequences of queue operations keep the engine's rules.

A hypothesis state machine drives the services on a small queue (join, walk-in,
cancel, call next, arrive, serve, miss, timeout, snooze, rejoin, open, close,
pause, resume, time passing) and keeps a model of what each operation must do.
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
PAUSED = (services.QUEUE_CLOSED, "queue_paused")
FULL = (services.QUEUE_FULL, "queue_full")
ALREADY_IN_QUEUE = (services.ALREADY_IN_QUEUE, "already_in_queue")
EMPTY = (409, "queue_empty")
INVALID = (409, "invalid_transition")
SNOOZE_LIMIT = (409, "snooze_limit")
NOBODY_BEHIND = (409, "nobody_behind")
TOO_LATE = (409, "rejoin_expired")

Refusal = tuple[int, str]


def as_typed(mobile: str, style: int) -> str:
    """The same number as people type it: `06 12 34 56 01`, `0612345601`, `+33 6 12…`."""
    pairs = " ".join(mobile[i:i + 2] for i in range(0, 10, 2))
    return (pairs, mobile, f"+33 {pairs[1:]}", f"+33{mobile[1:]}")[style]


def e164(mobile: str) -> str:
    return f"+33{mobile[1:]}"


@dataclass
class Ticket:
    """What the model expects of one entry."""

    phone: str
    status: str = WAITING
    arrived: bool = False
    snoozes: int = 0
    missed_recently: bool = False
    rejoined: bool = False


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
        )
        self.business: Business = services.queue_open(business=business)
        self.auto_advance = auto_advance
        self.is_open, self.is_paused = True, False
        self.tickets: dict[UUID, Ticket] = {}
        self.line: list[UUID] = []  # the waiting entries, in the order they will be called
        self.last_seen: dict[UUID, str] = {}
        self.version = 1  # opening bumped it once
        # Start from a busy queue now and then: the interesting steps come sooner.
        for index in range(waiting):
            if index < len(MOBILES):
                self.join(MOBILES[index], style=index)
            else:
                self.add_a_walk_in()
        for _ in range(min(called, waiting)):
            self.call_next()

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

    def call(self, pk: UUID) -> None:
        self.line.remove(pk)
        self.tickets[pk].status = CALLED
        self.version += 1

    def called_and_not_arrived(self) -> list[UUID]:
        return [pk for pk, t in self.tickets.items() if t.status == CALLED and not t.arrived]

    # --- Customers ---------------------------------------------------------------------

    @rule(mobile=st.sampled_from(MOBILES), style=st.integers(0, 3))
    def join(self, mobile: str, style: int) -> None:
        phone = e164(mobile)
        entry = self.attempt(
            lambda: services.entry_join(business=self.business, phone=as_typed(mobile, style)),
            self.refusal_for_a_join(phone, walk_in=False),
        )
        self.joined(entry, phone)

    @rule()
    def add_a_walk_in(self) -> None:
        entry = self.attempt(
            lambda: services.entry_join(business=self.business, phone="", walk_in=True),
            self.refusal_for_a_join("", walk_in=True),
        )
        self.joined(entry, "")

    def joined(self, entry: QueueEntry | None, phone: str) -> None:
        if entry is None:
            return
        assert entry.phone == phone
        assert entry.position == len(self.line) + 1
        self.tickets[entry.pk] = Ticket(phone=phone)
        self.line.append(entry.pk)
        self.version += 1

    @precondition(lambda self: self.tickets)
    @rule(choice=st.integers(0, 50), any_entry=st.integers(0, 3))
    def cancel(self, choice: int, any_entry: int) -> None:
        pk = self.pick(choice, any_entry, WAITING)
        ticket = self.tickets[pk]
        refusal = None if ticket.status in (WAITING, CANCELLED) else INVALID
        self.attempt(lambda: services.entry_cancel(entry=self.entry(pk)), refusal)
        if ticket.status == WAITING:
            self.line.remove(pk)
            ticket.status = CANCELLED
            self.version += 1

    @precondition(lambda self: self.tickets)
    @rule(choice=st.integers(0, 50), any_entry=st.integers(0, 3))
    def let_one_person_pass(self, choice: int, any_entry: int) -> None:
        pk = self.pick(choice, any_entry, WAITING)
        ticket = self.tickets[pk]
        if ticket.status != WAITING:
            refusal = INVALID
        elif ticket.snoozes >= services.MAX_SNOOZES:
            refusal = SNOOZE_LIMIT
        elif self.line[-1] == pk:
            refusal = NOBODY_BEHIND
        else:
            refusal = None
        self.attempt(lambda: services.entry_snooze(entry=self.entry(pk)), refusal)
        if refusal is None:
            index = self.line.index(pk)
            self.line[index], self.line[index + 1] = self.line[index + 1], pk
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
        # Second in line, or first when nobody waits.
        self.line.insert(min(1, len(self.line)), entry.pk)
        self.tickets[entry.pk] = Ticket(phone=ticket.phone)
        self.version += 1

    # --- Merchant ----------------------------------------------------------------------

    @rule()
    def call_next(self) -> None:
        entry = self.attempt(lambda: services.queue_call_next(business=self.business),
                             None if self.line else EMPTY)
        if entry is not None:
            assert entry.pk == self.line[0]
            self.call(entry.pk)

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
        if self.auto_advance and self.is_open and not self.is_paused and self.line:
            self.call(self.line[0])

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

        waiting = sorted((row for row in rows.values() if row.status == WAITING),
                         key=lambda row: row.sort_key)
        assert [row.pk for row in waiting] == self.line
        assert [entry_position(row) for row in waiting] == list(range(1, len(waiting) + 1))
        assert len(waiting) <= MAX_SIZE

        live_phones = [row.phone for row in rows.values()
                       if row.phone and row.status in (WAITING, CALLED)]
        assert len(live_phones) == len(set(live_phones))
        for day in {row.service_day for row in rows.values()}:
            numbers = sorted(row.ticket_number for row in rows.values() if row.service_day == day)
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

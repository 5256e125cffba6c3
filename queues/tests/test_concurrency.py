"""The queue engine under real concurrency: joins, call-next and timeouts.

Real threads, each with its own PostgreSQL connection, released together by a
barrier: each thread connects before the barrier so the operations really
start at the same moment, and closes its connection at the end (a test
database cannot be flushed or dropped while they linger). PostgreSQL here
allows 100 connections and other test runs share the server, so at most
WORKERS threads run at once and each one performs several operations.
"""

from __future__ import annotations

import threading
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from businesses import services as business_services
from businesses.models import Business, User
from businesses.tests.factories import make_merchant
from queues import services
from queues.events import queue_event
from queues.models import EntryStatus, QueueEntry, QueueState
from queues.services import QueueError, entry_position

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 32
# Each race is repeated so that different interleavings get their chance.
ROUNDS = 8

Operation = Callable[[], Any]


@dataclass
class Outcome:
    """What the threads got back: results, the engine's refusals, anything else."""

    results: list[Any] = field(default_factory=list)
    refusals: list[QueueError] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def race(lanes: Sequence[Sequence[Operation]]) -> Outcome:
    """Run each lane in its own thread, all released at once; a lane runs its operations in turn."""
    barrier = threading.Barrier(len(lanes))
    outcome = Outcome()

    def run(lane: Sequence[Operation]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            for operation in lane:
                try:
                    outcome.results.append(operation())
                except QueueError as refusal:
                    outcome.refusals.append(refusal)
                except Exception:  # noqa: BLE001 - reported by the test, not swallowed
                    outcome.unexpected.append(traceback.format_exc())
        except Exception:  # noqa: BLE001 - a broken barrier or connection fails the test too
            outcome.unexpected.append(traceback.format_exc())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(lane,), daemon=True) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return outcome


def spread(operations: Sequence[Operation], lanes: int) -> list[list[Operation]]:
    return [list(operations[index::lanes]) for index in range(lanes)]


@pytest.fixture
def owner() -> User:
    return make_merchant("concurrency@example.fr", plan="pro")


def open_business(owner: User, name: str, **fields: Any) -> Business:
    # SMS off: the engine is on trial here (the SMS outbox has its own tests), and
    # writing outbox rows under the lock would only make every race slower.
    business = business_services.business_create(owner=owner, name=name, business_type="bakery",
                                                 sms_enabled=False, **fields)
    return services.queue_open(business=business)


@pytest.fixture
def events():
    """Every event the engine announced, from any thread: (event, entry id)."""
    seen: list[tuple[str, Any]] = []

    def receiver(sender, event, entry, business, **kwargs) -> None:
        seen.append((event, entry.pk if entry is not None else None))

    queue_event.connect(receiver, weak=False, dispatch_uid="test_concurrency")
    yield seen
    queue_event.disconnect(dispatch_uid="test_concurrency")


def phones(count: int, first: int = 12_000_000) -> list[str]:
    return [f"06{number:08d}" for number in range(first, first + count)]


def version_of(business: Business) -> int:
    return QueueState.objects.get(pk=business.pk).version


def assert_positions_are_contiguous(business: Business) -> None:
    waiting = list(QueueEntry.objects.waiting().filter(business=business).order_by("sort_key"))
    assert [entry_position(entry) for entry in waiting] == list(range(1, len(waiting) + 1))


def make_overdue(entry: QueueEntry, business: Business) -> None:
    QueueEntry.objects.filter(pk=entry.pk).update(
        called_at=timezone.now() - timedelta(minutes=business.client_timeout_minutes, seconds=5)
    )


def clear(business: Business) -> None:
    """End the round: serve whoever was called, cancel whoever waits."""
    for entry in QueueEntry.objects.live().filter(business=business):
        if entry.status == EntryStatus.WAITING:
            services.entry_cancel(entry=entry)
        else:
            services.entry_serve(entry=entry)


# --- Joins -------------------------------------------------------------------------------


def test_500_joins_at_once_fill_a_queue_of_200_and_refuse_the_other_300(owner):
    business = open_business(owner, "Boulangerie Martin", max_queue_size=200)
    joins = [partial(services.entry_join, business=business, phone=phone)
             for phone in phones(500)]

    outcome = race(spread(joins, WORKERS))

    assert outcome.unexpected == []
    assert [refusal.code for refusal in outcome.refusals] == [services.QUEUE_FULL] * 300
    assert len(outcome.results) == 200
    entries = list(QueueEntry.objects.filter(business=business).order_by("sort_key"))
    assert len(entries) == 200
    assert {entry.pk for entry in entries} == {entry.pk for entry in outcome.results}
    assert len({entry.phone for entry in entries}) == 200
    # Tickets, positions and the queue order agree: joins append in ticket order.
    assert [entry.ticket_number for entry in entries] == list(range(1, 201))
    assert [entry_position(entry) for entry in entries] == list(range(1, 201))
    # The position each customer was told at join time is theirs alone.
    assert sorted(entry.position for entry in outcome.results) == list(range(1, 201))
    assert QueueState.objects.get(pk=business.pk).last_ticket == 200


def test_the_same_phone_joining_20_times_at_once_gets_one_place(owner):
    business = open_business(owner, "Boulangerie Martin")
    typed = ["06 12 34 56 78", "+33612345678", "0612345678", "+33 6 12 34 56 78"]
    joins = [[partial(services.entry_join, business=business, phone=typed[index % 4])]
             for index in range(20)]

    outcome = race(joins)

    assert outcome.unexpected == []
    entry, = QueueEntry.objects.filter(business=business)
    assert entry.phone == "+33612345678" and entry.status == EntryStatus.WAITING
    assert [result.pk for result in outcome.results] == [entry.pk]
    assert [refusal.code for refusal in outcome.refusals] == [services.ALREADY_IN_QUEUE] * 19
    # Refused under the lock with the domain error, and nothing about the existing place.
    assert [refusal.extra for refusal in outcome.refusals] == [{}] * 19


def test_rejoins_and_joins_at_once_never_exceed_the_cap(owner):
    business = open_business(owner, "Boulangerie Martin", max_queue_size=10)
    numbers = iter(phones(100))
    missed = [services.entry_join(business=business, phone=next(numbers)) for _ in range(4)]
    for entry in missed:
        services.queue_call_next(business=business)
        services.entry_miss(entry=entry)
    for _ in range(8):
        services.entry_join(business=business, phone=next(numbers))
    rejoins = [[partial(services.entry_rejoin, entry=entry)] for entry in missed]
    joins = [[partial(services.entry_join, business=business, phone=next(numbers))]
             for _ in range(8)]

    outcome = race(rejoins + joins)

    assert outcome.unexpected == []
    assert len(outcome.results) == 2
    assert [refusal.code for refusal in outcome.refusals] == [services.QUEUE_FULL] * 10
    assert QueueEntry.objects.waiting().filter(business=business).count() == 10
    assert_positions_are_contiguous(business)
    rejoined = [entry for entry in outcome.results if entry.rejoined_from_id]
    # Whoever rejoined first is second in line (a later rejoin goes in front of them).
    if rejoined:
        assert 2 in {entry_position(entry) for entry in rejoined}


def test_no_join_is_accepted_once_the_queue_is_closed(owner, events):
    business = open_business(owner, "Boulangerie Martin")
    joins = [partial(services.entry_join, business=business, phone=phone)
             for phone in phones(40)]
    close = partial(services.queue_close, business=business)
    lanes = spread(joins, 8)
    lanes[0].insert(2, close)  # the merchant closes while customers keep joining

    outcome = race(lanes)

    assert outcome.unexpected == []
    # Events are announced under the queue lock, so their order is the commit order.
    order = [event for event, _ in events if event in ("joined", "queue_closed")]
    closed_at = order.index("queue_closed")
    assert order[closed_at + 1:] == []
    assert QueueEntry.objects.filter(business=business).count() == closed_at
    assert [refusal.code for refusal in outcome.refusals] == \
        [services.QUEUE_CLOSED] * (len(joins) - closed_at)


def test_snoozes_and_call_next_at_once_keep_one_place_per_customer(owner):
    business = open_business(owner, "Boulangerie Martin")
    customers = [services.entry_join(business=business, phone=phone) for phone in phones(10)]
    snoozes = [[partial(services.entry_snooze, entry=customer)] for customer in customers[:8]]
    press = partial(services.queue_call_next, business=business)

    outcome = race(snoozes + [[press] * 3, [press] * 3])

    assert outcome.unexpected == []
    called = [entry for entry in outcome.results if entry.status == EntryStatus.CALLED]
    assert len(called) == len({entry.pk for entry in called}) == 6
    # A snooze that came after its own call, or with nobody left behind, is refused.
    assert {refusal.error for refusal in outcome.refusals} <= {"invalid_transition",
                                                                 "nobody_behind"}
    waiting = QueueEntry.objects.waiting().filter(business=business)
    keys = list(waiting.values_list("sort_key", flat=True))
    assert len(keys) == len(set(keys)) == 4
    assert_positions_are_contiguous(business)


# --- Call next ---------------------------------------------------------------------------


def test_two_merchants_pressing_call_next_call_each_customer_once_in_order(owner, events):
    business = open_business(owner, "Boulangerie Martin")
    customers = [services.entry_join(business=business, phone=phone) for phone in phones(10)]
    press = partial(services.queue_call_next, business=business)
    # Two merchants, each with a few devices (tablet, phone, keyboard shortcut…).
    merchant_a = [[press] * 10 for _ in range(5)]
    merchant_b = [[press] * 10 for _ in range(5)]

    outcome = race(merchant_a + merchant_b)

    assert outcome.unexpected == []
    assert [refusal.error for refusal in outcome.refusals] == ["queue_empty"] * 90
    assert sorted(entry.pk for entry in outcome.results) == sorted(c.pk for c in customers)
    called = list(QueueEntry.objects.filter(business=business).order_by("called_at"))
    assert all(entry.status == EntryStatus.CALLED for entry in called)
    assert [entry.ticket_number for entry in called] == list(range(1, 11))
    assert Counter(event for event, _ in events if event == "called") == {"called": 10}
    assert version_of(business) == 1 + 10 + 10  # opened, 10 joins, 10 calls


# --- Call next, timeout and cancel on the same customer ------------------------------


def test_call_next_a_timeout_sweep_and_a_cancel_racing_leave_one_valid_state(owner, events):
    business = open_business(owner, "Boulangerie Martin")
    numbers = iter(phones(200))
    for _round in range(ROUNDS):
        overdue, first, second, third = [
            services.entry_join(business=business, phone=next(numbers)) for _ in range(4)
        ]
        assert services.queue_call_next(business=business).pk == overdue.pk
        make_overdue(overdue, business)
        version, events[:] = version_of(business), []
        # `first` is the target of all three: call-next, the sweep's auto-advance, its cancel.
        cancel = partial(services.entry_cancel, entry=QueueEntry.objects.get(pk=first.pk))

        outcome = race([[partial(services.queue_call_next, business=business)],
                        [services.queue_expire_overdue], [cancel]])

        assert outcome.unexpected == []
        statuses = {entry.pk: entry.status for entry in QueueEntry.objects.filter(
            pk__in=[overdue.pk, first.pk, second.pk, third.pk])}
        assert statuses[overdue.pk] == EntryStatus.MISSED
        cancelled = statuses[first.pk] == EntryStatus.CANCELLED
        if cancelled:
            assert (statuses[second.pk], statuses[third.pk]) == (EntryStatus.CALLED,) * 2
            assert [refusal.error for refusal in outcome.refusals] == []
        else:
            assert (statuses[first.pk], statuses[second.pk], statuses[third.pk]) == (
                EntryStatus.CALLED, EntryStatus.CALLED, EntryStatus.WAITING)
            assert [refusal.error for refusal in outcome.refusals] == ["invalid_transition"]
        # The sweep missed one customer and called exactly one other; call-next one more.
        assert 1 in outcome.results
        called = [entry_id for event, entry_id in events if event == "called"]
        assert len(called) == len(set(called)) == 2
        assert overdue.pk not in called
        assert Counter(event for event, _ in events if event != "two_ahead") == {
            "missed": 1, "called": 2, **({"cancelled": 1} if cancelled else {})}
        assert version_of(business) == version + 3 + cancelled
        assert_positions_are_contiguous(business)
        clear(business)


def test_serve_arrive_and_the_timeout_sweep_racing_on_the_called_customer(owner, events):
    business = open_business(owner, "Boulangerie Martin")
    numbers = iter(phones(200))
    for _round in range(ROUNDS):
        overdue, following = [
            services.entry_join(business=business, phone=next(numbers)) for _ in range(2)
        ]
        services.queue_call_next(business=business)
        make_overdue(overdue, business)
        events[:] = []
        copy = partial(QueueEntry.objects.get, pk=overdue.pk)

        outcome = race([[partial(services.entry_serve, entry=copy())],
                        [partial(services.entry_mark_arrived, entry=copy())],
                        [services.queue_expire_overdue]])

        assert outcome.unexpected == []
        overdue.refresh_from_db()
        following.refresh_from_db()
        assert overdue.status in (EntryStatus.SERVED, EntryStatus.MISSED)
        if overdue.status == EntryStatus.MISSED:
            # The sweep won: the merchant's clicks are refused, the next one is called.
            assert overdue.arrived_at is None and overdue.served_at is None
            assert following.status == EntryStatus.CALLED
            assert sorted(refusal.error for refusal in outcome.refusals) == [
                "invalid_transition"] * 2
        else:
            assert overdue.served_at >= overdue.called_at
            assert following.status == EntryStatus.WAITING
            # "arrived" before "served" is recorded; after it, refused.
            refused = [] if overdue.arrived_at else ["invalid_transition"]
            assert [refusal.error for refusal in outcome.refusals] == refused
        assert Counter(event for event, _ in events)["called"] <= 1
        clear(business)


# --- Overlapping sweeps ----------------------------------------------------------------


def test_overlapping_timeout_sweeps_never_advance_twice(owner, events):
    shops = [open_business(owner, f"Boutique {index}") for index in range(3)]
    numbers = iter(phones(300))
    for business in shops:
        for _ in range(3):
            services.entry_join(business=business, phone=next(numbers))
        services.queue_call_next(business=business)
    for _round in range(ROUNDS // 2):
        overdue = {}
        for business in shops:
            services.entry_join(business=business, phone=next(numbers))
            overdue[business.pk] = QueueEntry.objects.get(business=business,
                                                          status=EntryStatus.CALLED)
            make_overdue(overdue[business.pk], business)
        events[:] = []

        outcome = race([[services.queue_expire_overdue]] * 4)

        assert outcome.unexpected == [] and outcome.refusals == []
        assert sum(outcome.results) == len(shops)
        for business in shops:
            assert QueueEntry.objects.get(pk=overdue[business.pk].pk).status == \
                EntryStatus.MISSED
            assert QueueEntry.objects.filter(business=business,
                                             status=EntryStatus.CALLED).count() == 1
            assert_positions_are_contiguous(business)
        assert Counter(event for event, _ in events if event != "two_ahead") == {
            "missed": len(shops), "called": len(shops)}

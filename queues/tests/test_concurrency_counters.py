"""Counters, services and priority under real concurrency (PostgreSQL, real threads).

The helpers (`race`, `open_business`…) are those of test_concurrency.py.
"""

from __future__ import annotations

from collections import Counter as Tally
from functools import partial

import pytest

from businesses.models import Business
from queues import services
from queues.models import EntryStatus, QueueEntry
from queues.services import entry_position
from queues.tests.test_concurrency import open_business, owner, phones, race, spread  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def counters(business: Business, count: int, **serving) -> list:
    existing = list(business.counters.all())
    made = [services.counter_create(business=business, name=f"Guichet {n}", **serving)
            for n in range(len(existing) + 1, count + 1)]
    return existing + made


def test_five_counters_pressing_next_20_times_call_50_customers_once_each(owner):  # noqa: F811
    business = open_business(owner, "Mairie", max_queue_size=60)
    desks = counters(business, 5)
    customers = [services.entry_join(business=business, phone=phone) for phone in phones(50)]
    lanes = [[partial(services.queue_call_next, business=business, counter=desk)] * 20
             for desk in desks]

    outcome = race(lanes)

    assert outcome.unexpected == []
    assert [refusal.error for refusal in outcome.refusals] == ["queue_empty"] * 50
    assert sorted(entry.pk for entry in outcome.results) == sorted(c.pk for c in customers)
    called = QueueEntry.objects.filter(business=business)
    assert all(entry.status == EntryStatus.CALLED and entry.counter_id for entry in called)
    per_counter = Tally(entry.counter_id for entry in called)
    assert sum(per_counter.values()) == 50 and set(per_counter) <= {d.pk for d in desks}
    # Called in line order: the call times follow the tickets.
    in_call_order = called.order_by("called_at", "ticket_number")
    assert [entry.ticket_number for entry in in_call_order] == list(range(1, 51))


def test_a_counter_serving_only_B_never_calls_an_A_ticket_in_a_race(owner):  # noqa: F811
    business = open_business(owner, "Pharmacie", max_queue_size=80)
    service_a = business.services.get()
    service_b = services.service_create(business=business, name="Retrait", ticket_prefix="B")
    everywhere = counters(business, 3)
    b_only = [services.counter_create(business=business, name=f"Retrait {n}",
                                      services=[service_b]) for n in (1, 2)]
    numbers = iter(phones(60))
    for _ in range(30):
        services.entry_join(business=business, phone=next(numbers), service=service_a)
        services.entry_join(business=business, phone=next(numbers), service=service_b)
    lanes = [[partial(services.queue_call_next, business=business, counter=desk)] * 15
             for desk in everywhere + b_only]

    outcome = race(lanes)

    assert outcome.unexpected == []
    assert len(outcome.results) == 60
    assert len({entry.pk for entry in outcome.results}) == 60
    for entry in QueueEntry.objects.filter(counter__in=b_only):
        assert entry.service_id == service_b.pk, entry.ticket_label
    assert QueueEntry.objects.filter(business=business, status=EntryStatus.WAITING).count() == 0


def test_joins_racing_with_priority_keep_positions_unique_and_contiguous_per_service(
        owner):  # noqa: F811
    business = open_business(owner, "Préfecture", max_queue_size=120,
                             priority_join_enabled=True)
    service_a = business.services.get()
    service_b = services.service_create(business=business, name="Titres", ticket_prefix="T")
    joins = [partial(services.entry_join, business=business, phone=phone,
                     service=(service_a, service_b)[index % 2], priority=index % 3 == 0)
             for index, phone in enumerate(phones(90))]
    # Priority given by the merchant while customers join.
    outcome = race(spread(joins, 15))

    assert outcome.unexpected == [] and outcome.refusals == []
    for service in (service_a, service_b):
        waiting = list(QueueEntry.objects.waiting().filter(service=service)
                       .order_by("-priority", "sort_key"))
        positions = [entry_position(entry) for entry in waiting]
        assert positions == list(range(1, len(waiting) + 1))
        # Every priority entry is ahead of every other one.
        flags = [entry.priority for entry in waiting]
        assert flags == sorted(flags, reverse=True)
        numbers = [entry.ticket_number for entry in waiting]
        assert sorted(numbers) == list(range(1, len(waiting) + 1))


def test_priority_toggles_racing_with_call_next_call_each_once(owner):  # noqa: F811
    business = open_business(owner, "Banque", max_queue_size=60)
    desks = counters(business, 2)
    customers = [services.entry_join(business=business, phone=phone) for phone in phones(40)]
    toggles = [partial(services.entry_set_priority, entry=entry, priority=True)
               for entry in customers[20:]]
    calls = [partial(services.queue_call_next, business=business, counter=desk)
             for desk in desks for _ in range(10)]
    outcome = race(spread(toggles, 4) + spread(calls, 4))

    assert outcome.unexpected == []
    called = [entry for entry in outcome.results if entry.status == EntryStatus.CALLED]
    assert len(called) == 20 and len({entry.pk for entry in called}) == 20
    waiting = list(QueueEntry.objects.waiting().filter(business=business)
                   .order_by("-priority", "sort_key"))
    assert [entry_position(entry) for entry in waiting] == list(range(1, len(waiting) + 1))

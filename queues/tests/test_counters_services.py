"""Counters, services, priority, out-of-order calls and transfers, through the engine."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from queues import services
from queues.models import Counter, EntryStatus, QueueEntry, Service
from queues.services import QueueError, entry_position
from queues.tests.factories import french_mobile


@pytest.fixture
def pharmacy(queue):
    """Services O (prescriptions) and P (parapharmacy); counter 1 serves all, counter 2
    serves P only."""
    prescriptions = Service.objects.get(business=queue)
    prescriptions = services.service_update(service=prescriptions, name="Ordonnance",
                                            ticket_prefix="O")
    para = services.service_create(business=queue, name="Parapharmacie", ticket_prefix="P")
    first = Counter.objects.get(business=queue)
    second = services.counter_create(business=queue, name="Comptoir 2", services=[para])
    return queue, prescriptions, para, first, second


def join(business, service=None, priority=False, **extra):
    return services.entry_join(business=business, phone=french_mobile(), service=service,
                               priority=priority, **extra)


def test_every_new_business_has_one_service_A_and_one_counter(business):
    assert [s.ticket_prefix for s in business.services.all()] == ["A"]
    assert business.counters.count() == 1


def test_tickets_count_per_service_with_its_prefix(pharmacy):
    queue, o, p, *_ = pharmacy
    tickets = [join(queue, o), join(queue, p), join(queue, o), join(queue, p)]
    assert [t.ticket_label for t in tickets] == ["O-001", "P-001", "O-002", "P-002"]


def test_positions_are_per_service(pharmacy):
    queue, o, p, *_ = pharmacy
    o1, p1, o2, p2 = join(queue, o), join(queue, p), join(queue, o), join(queue, p)
    assert [entry_position(e) for e in (o1, o2, p1, p2)] == [1, 2, 1, 2]
    assert p2.position == 2


def test_a_priority_entry_goes_ahead_of_non_priority_behind_earlier_priority(pharmacy):
    queue, o, *_ = pharmacy
    plain = join(queue, o)
    first_priority = join(queue, o, priority=True, walk_in=True)
    second_priority = join(queue, o, priority=True, walk_in=True)
    assert [entry_position(e) for e in (first_priority, second_priority, plain)] == [1, 2, 3]
    assert second_priority.position == 2


def test_customers_cannot_declare_priority_unless_the_business_allows_it(pharmacy):
    queue, o, *_ = pharmacy
    with pytest.raises(QueueError) as refused:
        join(queue, o, priority=True)
    assert refused.value.error == "priority_not_allowed"
    type(queue).objects.filter(pk=queue.pk).update(priority_join_enabled=True)
    assert join(queue, o, priority=True).priority is True


def test_a_counter_serving_only_P_never_calls_an_O_ticket(pharmacy):
    queue, o, p, first, second = pharmacy
    join(queue, o)
    para = join(queue, p)
    called = services.queue_call_next(business=queue, counter=second)
    assert called.pk == para.pk and called.counter_id == second.pk
    with pytest.raises(QueueError) as empty:
        services.queue_call_next(business=queue, counter=second)
    assert empty.value.error == "queue_empty"
    assert QueueEntry.objects.filter(service=o, status=EntryStatus.WAITING).count() == 1


def test_call_next_takes_the_longest_waiting_among_the_counter_services_priority_first(
        pharmacy, merchant):
    queue, o, p, first, _ = pharmacy
    with time_machine.travel(timezone.now(), tick=False) as clock:
        old_para = join(queue, p)
        clock.shift(timedelta(minutes=1))
        join(queue, o)
        clock.shift(timedelta(minutes=1))
        urgent = join(queue, o, priority=True, walk_in=True)
        calls = [services.queue_call_next(business=queue, counter=first, by=merchant)
                 for _ in range(2)]
    assert [c.pk for c in calls] == [urgent.pk, old_para.pk]
    assert all(c.called_by_id == merchant.pk and c.counter_id == first.pk for c in calls)
    assert not any(c.called_out_of_order for c in calls)


def test_a_rejoin_landing_on_another_services_key_goes_after_the_earlier_join(pharmacy):
    # P1, P2, O1, P3 take keys 1, 2, 3, 4; P1 comes back second in P's line, halfway
    # between P2 and P3: key 3, O1's. The counter serving both calls O1 first, always.
    queue, o, p, first, second = pharmacy
    with time_machine.travel(timezone.now(), tick=False) as clock:
        p1 = join(queue, p)
        for service in (p, o, p):
            clock.shift(timedelta(seconds=10))
            join(queue, service)
        o1 = QueueEntry.objects.get(business=queue, service=o)
        services.counter_update(counter=second, is_open=False)
        assert services.queue_call_next(business=queue, counter=first).pk == p1.pk
        services.entry_miss(entry=QueueEntry.objects.get(pk=p1.pk))
        clock.shift(timedelta(seconds=10))
        back = services.entry_rejoin(entry=QueueEntry.objects.get(pk=p1.pk))
        assert back.sort_key == o1.sort_key
        # O1's row rewritten after P1's return: in the table, it now comes after it.
        QueueEntry.objects.filter(pk=o1.pk).update(priority=True)
        QueueEntry.objects.filter(pk=o1.pk).update(priority=False)
        calls = [services.queue_call_next(business=queue, counter=first) for _ in range(2)]
    assert [c.ticket_label for c in calls] == ["P-002", "O-001"]


def test_call_next_needs_a_counter_when_several_are_open(pharmacy):
    queue, o, *_ = pharmacy
    join(queue, o)
    with pytest.raises(QueueError) as refused:
        services.queue_call_next(business=queue)
    assert (refused.value.error, refused.value.status) == ("counter_required", 400)
    assert QueueEntry.objects.filter(status=EntryStatus.CALLED).count() == 0


def test_call_next_with_one_open_counter_needs_none(pharmacy):
    queue, o, p, first, second = pharmacy
    services.counter_update(counter=second, is_open=False)
    entry = join(queue, o)
    assert services.queue_call_next(business=queue).counter_id == first.pk
    entry.refresh_from_db()
    assert entry.status == EntryStatus.CALLED


def test_anoutsider_business_counter_is_refused(pharmacy, outsider_business):
    queue, o, *_ = pharmacy
    join(queue, o)
    foreign = outsider_business.counters.get()
    with pytest.raises(QueueError) as refused:
        services.queue_call_next(business=queue, counter=foreign)
    assert refused.value.error == "invalid_counter"
    with pytest.raises(QueueError):
        services.queue_call_next(business=queue, counter="not-a-uuid")


def test_an_out_of_order_call_is_recorded_as_such(pharmacy, merchant, events):
    queue, o, p, first, _ = pharmacy
    head, later = join(queue, o), join(queue, o)
    called = services.entry_call(entry=later, counter=first, by=merchant)
    assert (called.status, called.called_out_of_order, called.counter_id) == (
        EntryStatus.CALLED, True, first.pk)
    assert entry_position(QueueEntry.objects.get(pk=head.pk)) == 1
    again = services.entry_call(entry=later, counter=first)  # a double click
    assert again.status == EntryStatus.CALLED
    assert [e for e, _ in events].count("called") == 1
    head_call = services.entry_call(entry=head, counter=first)
    assert head_call.called_out_of_order is False


def test_setting_priority_moves_a_customer_ahead_and_back(pharmacy, events):
    queue, o, *_ = pharmacy
    a, b, c = join(queue, o), join(queue, o), join(queue, o)
    services.entry_set_priority(entry=c, priority=True)
    assert [entry_position(QueueEntry.objects.get(pk=e.pk)) for e in (c, a, b)] == [1, 2, 3]
    services.entry_set_priority(entry=c, priority=True)  # idempotent
    assert [e for e, _ in events].count("priority_changed") == 1
    services.entry_set_priority(entry=c, priority=False)
    assert [entry_position(QueueEntry.objects.get(pk=e.pk)) for e in (a, b, c)] == [1, 2, 3]


def test_a_transfer_keeps_the_place_by_arrival_and_the_ticket(pharmacy):
    queue, o, p, *_ = pharmacy
    with time_machine.travel(timezone.now(), tick=False) as clock:
        para_first = join(queue, p)
        clock.shift(timedelta(minutes=1))
        moved = join(queue, o)
        clock.shift(timedelta(minutes=1))
        para_later = join(queue, p)
    moved = services.entry_transfer(entry=moved, service=p)
    assert (moved.service_id, moved.ticket_label) == (p.pk, "O-001")
    assert [entry_position(QueueEntry.objects.get(pk=e.pk))
            for e in (para_first, moved, para_later)] == [1, 2, 3]


def test_a_transfer_to_anoutsider_business_service_is_refused(pharmacy, outsider_business):
    queue, o, *_ = pharmacy
    entry = join(queue, o)
    with pytest.raises(QueueError) as refused:
        services.entry_transfer(entry=entry, service=outsider_business.services.get())
    assert refused.value.error == "invalid_service"
    entry.refresh_from_db()
    assert entry.service_id == o.pk


def test_serve_and_miss_record_who_finished(pharmacy, merchant):
    queue, o, p, first, _ = pharmacy
    served, missed = join(queue, o), join(queue, o)
    services.queue_call_next(business=queue, counter=first)
    services.queue_call_next(business=queue, counter=first)
    assert services.entry_serve(entry=served, by=merchant).finished_by_id == merchant.pk
    assert services.entry_miss(entry=missed, by=merchant).finished_by_id == merchant.pk


def test_a_timeout_advances_the_same_counter_with_its_own_services(pharmacy):
    queue, o, p, first, second = pharmacy
    with time_machine.travel(timezone.now(), tick=False) as clock:
        join(queue, o)
        para = [join(queue, p), join(queue, p)]
        called = services.queue_call_next(business=queue, counter=second)
        clock.shift(timedelta(minutes=queue.client_timeout_minutes + 1))
        assert services.queue_expire_overdue() == 1
    following = QueueEntry.objects.get(status=EntryStatus.CALLED)
    assert called.pk == para[0].pk
    assert (following.pk, following.counter_id) == (para[1].pk, second.pk)


def test_snooze_lets_the_next_of_the_same_service_pass(pharmacy):
    queue, o, p, *_ = pharmacy
    first, _other, second = join(queue, o), join(queue, p), join(queue, o)
    services.entry_snooze(entry=first)
    assert entry_position(QueueEntry.objects.get(pk=second.pk)) == 1
    assert entry_position(QueueEntry.objects.get(pk=first.pk)) == 2


def test_the_plan_caps_counters_with_the_upgrade_path(business, plans):
    owner = business.owner
    owner.plan = plans["basic"]
    owner.save(update_fields=["plan"])
    with pytest.raises(QueueError) as refused:
        services.counter_create(business=business, name="Comptoir 2")
    assert refused.value.error == "counter_limit_reached"
    assert refused.value.extra["upgrade_url"] == "/billing/"
    assert business.counters.count() == 1


def test_prefixes_are_validated_and_unique_per_business(queue):
    with pytest.raises(QueueError) as bad:
        services.service_create(business=queue, name="Retrait", ticket_prefix="r2")
    assert bad.value.error == "invalid_service"
    with pytest.raises(QueueError) as taken:
        services.service_create(business=queue, name="Autre", ticket_prefix="a")
    assert taken.value.error == "invalid_service"
    assert queue.services.count() == 1


def test_the_last_service_and_counter_cannot_go(queue):
    with pytest.raises(QueueError) as last_service:
        services.service_delete(service=queue.services.get())
    with pytest.raises(QueueError) as last_counter:
        services.counter_delete(counter=queue.counters.get())
    assert (last_service.value.error, last_counter.value.error) == ("last_service",
                                                                    "last_counter")


def test_a_service_with_waiting_customers_cannot_be_retired(pharmacy):
    queue, o, p, *_ = pharmacy
    entry = join(queue, p)
    with pytest.raises(QueueError) as refused:
        services.service_delete(service=p)
    assert refused.value.error == "service_in_use"
    services.entry_transfer(entry=entry, service=o)
    services.service_delete(service=p)
    assert not Service.objects.filter(pk=p.pk).exists()


def test_a_service_with_a_history_is_retired_not_deleted(pharmacy):
    queue, o, p, first, _ = pharmacy
    entry = join(queue, p)
    services.entry_call(entry=entry, counter=first)
    services.entry_serve(entry=entry)
    services.service_delete(service=p)
    assert Service.objects.get(pk=p.pk).is_active is False
    assert [s.pk for s in services.active_services(queue)] == [o.pk]


@pytest.mark.parametrize("waiting", [5, 60])
def test_call_next_at_a_counter_runs_the_same_queries_whatever_the_length(
        pharmacy, waiting, django_assert_num_queries):
    queue, o, p, first, second = pharmacy
    type(queue).objects.filter(pk=queue.pk).update(max_queue_size=100, sms_enabled=False)
    for index in range(waiting):
        services.entry_join(business=queue, phone="", walk_in=True, service=(o, p)[index % 2],
                            priority=index % 7 == 0)
    # savepoint, lock (state + business), counter, its services, the next entry, the
    # call, the estimate's refresh (recent calls, open counters), the state's version,
    # the third in that service's line, savepoint release
    with django_assert_num_queries(11):
        services.queue_call_next(business=queue, counter=second)

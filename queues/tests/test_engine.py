from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from queues import services
from queues.models import EntryStatus, QueueEntry
from queues.services import QueueError, entry_position
from queues.tests.factories import fill, join


def test_joining_gives_a_ticket_a_position_and_an_estimate(queue):
    first = join(queue, "06 12 34 56 78", name="Léa")
    second = join(queue)
    assert first.phone == "+33612345678"
    assert (first.ticket_label, second.ticket_label) == ("A-001", "A-002")
    assert (entry_position(first), entry_position(second)) == (1, 2)
    # Join to call: the first goes to a free counter at once, the second waits for the
    # first one's service (the median, rounded down unless close to the next minute).
    assert (first.estimated_wait_seconds, first.estimated_wait_high_seconds) == (0, 120)
    assert 60 <= second.estimated_wait_seconds <= queue.average_service_time
    assert second.estimated_wait_high_seconds > queue.average_service_time


@pytest.mark.parametrize(("change", "code"), [
    ({"is_queue_open": False}, 4001),
    ({"is_queue_paused": True}, 4006),
    ({"is_active": False}, 4004),
])
def test_it_refuses_joins_when_the_queue_cannot_take_them(queue, change, code):
    type(queue).objects.filter(pk=queue.pk).update(**change)
    with pytest.raises(QueueError) as error:
        join(queue)
    assert error.value.code == code
    assert not QueueEntry.objects.exists()


def test_it_refuses_a_full_queue(queue):
    type(queue).objects.filter(pk=queue.pk).update(max_queue_size=2)
    fill(queue, 2)
    with pytest.raises(QueueError) as error:
        join(queue)
    assert error.value.code == 4002
    assert QueueEntry.objects.count() == 2


def test_the_same_phone_cannot_hold_two_live_places(queue):
    join(queue, "0612345678")
    with pytest.raises(QueueError) as error:
        join(queue, "+33 6 12 34 56 78")
    assert error.value.code == 4003
    assert error.value.extra == {}


def test_it_refuses_joins_outside_opening_hours_with_the_next_opening(queue):
    hours = {"weekly": {day: [] for day in
                        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                         "sunday")}}
    hours["weekly"]["monday"] = [["09:00", "12:00"]]
    type(queue).objects.filter(pk=queue.pk).update(opening_hours=hours)
    with time_machine.travel("2026-11-24 10:00 +01:00"), pytest.raises(QueueError) as error:
        join(queue)
    assert error.value.code == 4005
    assert error.value.extra["next_opening"].startswith("2026-11-30T09:00")


def test_call_next_calls_the_oldest_waiting_customer_and_positions_move_up(queue, events):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first, second, third = fill(queue, 3)
        clock.shift(timedelta(seconds=90))
        called = services.queue_call_next(business=queue)
    assert called.pk == first.pk and called.status == EntryStatus.CALLED
    assert called.called_at is not None
    assert QueueEntry.objects.get(pk=first.pk).actual_wait_seconds == 90
    second.refresh_from_db()
    third.refresh_from_db()
    assert (entry_position(second), entry_position(third)) == (1, 2)
    assert ("called", "A-001") in events


def test_calling_an_empty_queue_is_a_clear_error(queue):
    with pytest.raises(QueueError) as error:
        services.queue_call_next(business=queue)
    assert error.value.error == "queue_empty"


def test_serving_records_the_service_time_and_teaches_the_estimate(queue):
    entry = join(queue)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        services.queue_call_next(business=queue)
        clock.shift(timedelta(seconds=200))
        served = services.entry_serve(entry=entry)
    assert served.status == EntryStatus.SERVED
    assert served.actual_service_seconds == 200
    assert served.served_at >= served.called_at
    state = queue.queue_state_row
    state.refresh_from_db()
    assert queue.average_service_time < state.service_estimate_seconds <= 200


def test_serving_twice_is_harmless(queue):
    entry = join(queue)
    services.queue_call_next(business=queue)
    services.entry_serve(entry=entry)
    assert services.entry_serve(entry=entry).status == EntryStatus.SERVED


def test_a_waiting_customer_cannot_be_served(queue):
    entry = join(queue)
    with pytest.raises(QueueError):
        services.entry_serve(entry=entry)


def test_cancel_frees_the_place_and_the_third_in_line_hears_two_ahead(queue, events):
    entries = fill(queue, 4)
    services.entry_cancel(entry=entries[0])
    assert QueueEntry.objects.get(pk=entries[0].pk).status == EntryStatus.CANCELLED
    assert ("two_ahead", "A-004") in events
    services.entry_cancel(entry=entries[0])  # twice: nothing more happens


def test_timeout_misses_the_called_customer_and_calls_the_next(queue):
    first, second = fill(queue, 2)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        services.queue_call_next(business=queue)
        clock.shift(timedelta(minutes=queue.client_timeout_minutes, seconds=1))
        assert services.queue_expire_overdue() == 1
        assert services.queue_expire_overdue() == 0
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == EntryStatus.MISSED
    assert second.status == EntryStatus.CALLED


def test_an_arrived_customer_does_not_time_out(queue):
    entry = join(queue)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        services.queue_call_next(business=queue)
        services.entry_mark_arrived(entry=entry)
        clock.shift(timedelta(minutes=30))
        assert services.queue_expire_overdue() == 0


def test_without_auto_advance_the_timeout_calls_nobody(queue):
    type(queue).objects.filter(pk=queue.pk).update(auto_advance_enabled=False)
    first, second = fill(queue, 2)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        services.queue_call_next(business=queue)
        clock.shift(timedelta(minutes=queue.client_timeout_minutes + 1))
        services.queue_expire_overdue()
    second.refresh_from_db()
    assert second.status == EntryStatus.WAITING


def test_letting_one_person_pass_swaps_places_at_most_twice(queue):
    first, second, third = fill(queue, 3)
    services.entry_snooze(entry=first)
    assert [entry_position(QueueEntry.objects.get(pk=e.pk)) for e in (first, second, third)] \
        == [2, 1, 3]
    services.entry_snooze(entry=QueueEntry.objects.get(pk=first.pk))
    assert entry_position(QueueEntry.objects.get(pk=first.pk)) == 3
    with pytest.raises(QueueError) as error:
        services.entry_snooze(entry=QueueEntry.objects.get(pk=first.pk))
    assert error.value.error in ("snooze_limit", "nobody_behind")


def test_a_missed_customer_can_rejoin_second_in_line_within_15_minutes(queue):
    missed, *others = fill(queue, 4)
    services.queue_call_next(business=queue)
    services.entry_miss(entry=missed)
    back = services.entry_rejoin(entry=QueueEntry.objects.get(pk=missed.pk))
    assert entry_position(back) == 2
    with pytest.raises(QueueError):
        services.entry_rejoin(entry=QueueEntry.objects.get(pk=missed.pk))


def test_a_missed_customer_cannot_rejoin_after_15_minutes(queue):
    missed = join(queue)
    services.queue_call_next(business=queue)
    services.entry_miss(entry=missed)
    with time_machine.travel(timezone.now() + timedelta(minutes=16)), \
            pytest.raises(QueueError):
        services.entry_rejoin(entry=QueueEntry.objects.get(pk=missed.pk))


def test_closing_keeps_live_entries(queue):
    entries = fill(queue, 2)
    services.queue_close(business=queue)
    assert QueueEntry.objects.waiting().count() == len(entries)
    with pytest.raises(QueueError):
        join(queue)


def test_tickets_start_again_each_day(queue):
    with time_machine.travel("2026-11-23 10:00 +01:00"):
        assert join(queue).ticket_label == "A-001"
    with time_machine.travel("2026-11-24 10:00 +01:00"):
        assert join(queue).ticket_label == "A-001"


def test_walk_ins_get_a_ticket_without_a_phone(queue):
    entry = services.entry_join(business=queue, phone="", walk_in=True)
    again = services.entry_join(business=queue, phone="", walk_in=True)
    assert entry.phone == "" and again.ticket_number == entry.ticket_number + 1


def test_a_paused_queue_calls_nobody_after_a_timeout(queue):
    first, second = fill(queue, 2)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        services.queue_call_next(business=queue)
        services.queue_pause(business=queue)
        clock.shift(timedelta(minutes=queue.client_timeout_minutes + 1))
        services.queue_expire_overdue()
    assert QueueEntry.objects.get(pk=first.pk).status == EntryStatus.MISSED
    assert QueueEntry.objects.get(pk=second.pk).status == EntryStatus.WAITING

"""The engine's hand-written reads (waitify/lib/sql.py) load what the ORM loads."""

from django.db import transaction

from businesses.models import Business, User
from queues import selectors, services
from queues.models import QueueEntry, QueueState
from queues.tests.factories import join, open_queue


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname)
            for field in instance._meta.concrete_fields
            if field.attname not in instance.get_deferred_fields()}


def test_the_locked_state_business_and_owner_read_like_the_orm(business):
    queue = open_queue(business)
    join(queue, "06 12 34 56 78")
    Business.objects.filter(pk=business.pk).update(
        opening_hours={"mon": [["09:00", "12:30"], ["14:00", "19:00"]]})
    with transaction.atomic():
        state, locked = services._lock(business.pk)
    assert _fields(state) == _fields(QueueState.objects.get(pk=business.pk))
    assert _fields(locked) == _fields(Business.objects.get(pk=business.pk))
    assert _fields(locked.owner) == _fields(User.objects.get(pk=business.owner_id))
    assert locked.is_queue_open is True and isinstance(locked.opening_hours, dict)
    assert locked.queue_state_row is state and state.business is locked


def test_the_status_read_loads_the_entry_like_the_orm(business):
    queue = open_queue(business)
    join(queue)
    entry = join(queue, "06 98 76 54 32", name="Léa")
    found = selectors.customer_status(entry.secret)
    assert _fields(found.entry) == _fields(QueueEntry.objects.get(pk=entry.pk))
    assert found.position == 2
    assert found.business.name == business.name and found.business.is_queue_open is True
    # Fields the status does not show are deferred, not wrong.
    assert "max_queue_size" in found.business.get_deferred_fields()


def test_a_business_without_queue_state_yet_still_has_a_status(business):
    queue = open_queue(business)
    entry = join(queue)
    QueueState.objects.filter(pk=business.pk).delete()
    found = selectors.customer_status(entry.secret)
    assert found.state is None and found.position == 1

"""The queue's switches (open, paused) change only through the queue engine: under the
queue lock, with the version bump the status pages poll and an event. Deactivating a
business, the admin and the API go through it or leave the switches alone."""

from __future__ import annotations

import pytest
from django.urls import reverse

from businesses import services as business_services
from businesses.models import Business, User
from businesses.tests.factories import PASSWORD
from businesses.tests.test_admin import as_submitted
from queues import services
from queues.models import CancelledBy, EntryStatus, QueueEntry, QueueState
from queues.services import QueueError
from queues.tests.factories import fill, open_queue


@pytest.fixture
def busy_queue(business):
    """An open queue: A-001 called at the counter, A-002 and A-003 waiting."""
    open_queue(business)
    fill(business, 3)
    services.queue_call_next(business=business)
    return business


@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_superuser("staff@waitify.fr", PASSWORD))
    return client


def version_of(business: Business) -> int:
    return QueueState.objects.get(business=business).version


def assert_shut_down_for_everyone(business: Business) -> None:
    business.refresh_from_db()
    assert (business.is_active, business.is_queue_open, business.is_queue_paused) == (
        False, False, False)
    entries = QueueEntry.objects.filter(business=business).order_by("ticket_number")
    assert [(e.ticket_label, e.status, e.cancelled_by) for e in entries] == [
        ("A-001", EntryStatus.CANCELLED, CancelledBy.SHOP_CLOSED),
        ("A-002", EntryStatus.CANCELLED, CancelledBy.SHOP_CLOSED),
        ("A-003", EntryStatus.CANCELLED, CancelledBy.SHOP_CLOSED),
    ]


def test_deactivating_a_business_with_people_waiting_tells_each_of_them(busy_queue, events):
    before = version_of(busy_queue)

    business_services.business_deactivate(business=busy_queue)

    assert_shut_down_for_everyone(busy_queue)
    assert events == [("cancelled", "A-001"), ("cancelled", "A-002"), ("cancelled", "A-003"),
                      ("queue_closed", None)]
    assert version_of(busy_queue) == before + 4
    with pytest.raises(QueueError):
        services.entry_join(business=busy_queue, phone="06 11 22 33 44")


def test_staff_deactivating_from_the_admin_go_through_the_queue_engine(staff_client,
                                                                      busy_queue, events):
    response = staff_client.post(reverse("admin:businesses_business_changelist"), {
        "action": "deactivate", "_selected_action": [str(busy_queue.pk)]})

    assert response.status_code == 302
    assert_shut_down_for_everyone(busy_queue)
    assert ("queue_closed", None) in events


def test_staff_reactivate_a_business_from_the_admin_with_its_queue_still_closed(
        staff_client, busy_queue):
    business_services.business_deactivate(business=busy_queue)

    staff_client.post(reverse("admin:businesses_business_changelist"), {
        "action": "activate", "_selected_action": [str(busy_queue.pk)]})

    busy_queue.refresh_from_db()
    assert (busy_queue.is_active, busy_queue.is_queue_open) == (True, False)


def test_an_admin_edit_leaves_the_queue_switches_as_the_merchant_set_them(staff_client,
                                                                         business):
    url = reverse("admin:businesses_business_change", args=[business.pk])
    page = staff_client.get(url)
    services.queue_open(business=business)  # the merchant opens while staff edit
    services.queue_pause(business=business)
    data = as_submitted(page)
    data.update(name="Boulangerie renommée", is_queue_open="", is_active="")

    response = staff_client.post(url, data)

    assert response.status_code == 302
    business.refresh_from_db()
    assert business.name == "Boulangerie renommée"
    assert (business.is_active, business.is_queue_open, business.is_queue_paused) == (
        True, True, True)


def test_staff_cannot_switch_a_queue_from_the_change_page(staff_client, business):
    url = reverse("admin:businesses_business_change", args=[business.pk])
    data = as_submitted(staff_client.get(url))
    data.update(is_queue_open="on", is_queue_paused="on")

    staff_client.post(url, data)

    business.refresh_from_db()
    assert (business.is_queue_open, business.is_queue_paused) == (False, False)


def test_the_business_api_does_not_switch_the_queue(api_client, business):
    version = version_of(business)

    response = api_client.put(f"/api/v1/businesses/{business.pk}",
                                {"name": "Chez Paul", "is_queue_open": True,
                                 "is_queue_paused": True, "is_queue_active": True},
                                format="json")

    assert response.status_code == 200
    business.refresh_from_db()
    assert (business.name, business.is_queue_open, business.is_queue_paused) == (
        "Chez Paul", False, False)
    assert version_of(business) == version

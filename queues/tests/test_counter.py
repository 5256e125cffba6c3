"""At the counter: undoing a removal or a miss, and a business deactivated while people
are still in its queue."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from businesses import services as business_services
from queues import services
from queues.models import CancelledBy, EntryStatus, QueueEntry, SmsLog, SmsType
from queues.services import QueueError
from queues.tests.factories import fill, join


def waiting_order(business) -> list[str]:
    return list(QueueEntry.objects.waiting().filter(business=business).order_by("sort_key")
                .values_list("customer_name", flat=True))


# --- Undo -------------------------------------------------------------------------------------

def test_undoing_a_removal_puts_the_customer_back_at_their_place(queue):
    for name in ("Ana", "Bea", "Cleo"):
        join(queue, name=name)
    bea = QueueEntry.objects.get(customer_name="Bea")
    services.entry_remove(entry=bea)
    assert waiting_order(queue) == ["Ana", "Cleo"]

    restored = services.entry_undo(entry=bea)

    assert restored.status == EntryStatus.WAITING and restored.cancelled_by == ""
    assert restored.finished_at is None
    assert waiting_order(queue) == ["Ana", "Bea", "Cleo"]


def test_undoing_a_miss_calls_the_customer_again(queue):
    join(queue, name="Ana")
    ana = services.queue_call_next(business=queue)
    called_at = ana.called_at
    services.entry_miss(entry=ana)

    services.entry_undo(entry=ana)

    ana.refresh_from_db()
    assert ana.status == EntryStatus.CALLED and ana.called_at == called_at
    assert ana.finished_at is None


def test_undoing_twice_is_harmless(queue):
    ana = join(queue, name="Ana")
    services.entry_remove(entry=ana)
    services.entry_undo(entry=ana)
    version = queue.queue_state_row.__class__.objects.get(pk=queue.pk).version

    assert services.entry_undo(entry=ana).status == EntryStatus.WAITING
    assert queue.queue_state_row.__class__.objects.get(pk=queue.pk).version == version


def test_it_is_too_late_to_undo_after_the_window(queue):
    ana = join(queue, name="Ana")
    services.entry_remove(entry=ana)
    later = timezone.now() + services.UNDO_WINDOW + timedelta(seconds=1)
    with time_machine.travel(later), pytest.raises(QueueError) as refused:
        services.entry_undo(entry=ana)
    assert refused.value.error == "undo_expired"
    assert QueueEntry.objects.get(pk=ana.pk).status == EntryStatus.CANCELLED


def test_a_customer_who_left_by_themselves_is_not_put_back(queue):
    ana = join(queue, name="Ana")
    services.entry_cancel(entry=ana)
    with pytest.raises(QueueError):
        services.entry_undo(entry=ana)
    assert QueueEntry.objects.get(pk=ana.pk).cancelled_by == CancelledBy.CUSTOMER


def test_undo_is_refused_once_the_same_phone_joined_again(queue):
    ana = join(queue, phone="0612345678", name="Ana")
    services.entry_remove(entry=ana)
    join(queue, phone="0612345678", name="Ana again")
    with pytest.raises(QueueError) as refused:
        services.entry_undo(entry=ana)
    assert refused.value.error == "undo_expired"
    assert QueueEntry.objects.get(pk=ana.pk).status == EntryStatus.CANCELLED


def test_the_live_page_offers_undo_after_a_removal_and_undoes_it(merchant_client, queue):
    ana = join(queue, name="Ana")
    url = reverse("queues:entry_action", args=[queue.pk, ana.pk, "cancel"])
    html = merchant_client.post(url, HTTP_HX_REQUEST="true").content.decode()
    undo_url = reverse("queues:entry_action", args=[queue.pk, ana.pk, "undo"])
    assert f'hx-post="{undo_url}"' in html and "A-001" in html

    merchant_client.post(undo_url, HTTP_HX_REQUEST="true")
    assert QueueEntry.objects.get(pk=ana.pk).status == EntryStatus.WAITING


def test_a_late_undo_says_so_on_the_page(merchant_client, queue):
    ana = join(queue, name="Ana")
    services.entry_remove(entry=ana)
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        response = merchant_client.post(
            reverse("queues:entry_action", args=[queue.pk, ana.pk, "undo"]), follow=True)
    assert "Il est trop tard pour annuler." in response.content.decode()


# --- Deactivation -----------------------------------------------------------------------------

def test_deactivating_a_business_closes_its_queue_and_tells_everyone_in_it(queue, client):
    called, first, second = fill(queue, 3)
    services.queue_call_next(business=queue)

    business_services.business_deactivate(business=queue)

    queue.refresh_from_db()
    assert not queue.is_active and not queue.is_queue_open and not queue.is_queue_paused
    for entry in (called, first, second):
        entry.refresh_from_db()
        assert entry.status == EntryStatus.CANCELLED
        assert entry.cancelled_by == CancelledBy.SHOP_CLOSED
        sms = SmsLog.objects.get(entry=entry, type=SmsType.CANCELLED)
        assert "a fermé sa file" in sms.text and entry.ticket_label in sms.text
    page = client.get(reverse("queues:status", args=[first.secret])).content.decode()
    assert "a fermé sa file" in page
    assert "prochain" not in page


def test_deactivating_twice_tells_each_customer_once(queue):
    entry = join(queue)
    business_services.business_deactivate(business=queue)
    business_services.business_deactivate(business=queue)
    assert SmsLog.objects.filter(entry=entry, type=SmsType.CANCELLED).count() == 1


def test_the_deactivate_button_goes_through_the_queue_engine(merchant_client, queue):
    entry = join(queue)
    merchant_client.post(reverse("businesses:deactivate", args=[queue.pk]))
    entry.refresh_from_db()
    assert entry.status == EntryStatus.CANCELLED
    assert entry.cancelled_by == CancelledBy.SHOP_CLOSED


# --- The live screen's forms ------------------------------------------------------------------

def test_removing_and_missing_ask_for_confirmation(merchant_client, queue):
    fill(queue, 2)
    services.queue_call_next(business=queue)
    html = merchant_client.get(reverse("queues:live", args=[queue.pk])).content.decode()
    assert 'hx-confirm="Retirer le ticket A-002 de la liste ?"' in html
    assert 'hx-confirm="Marquer ce client comme manqué ?"' in html
    assert 'hx-confirm="Fermer la file ? Les 2 clients qui y sont encore' in html


def test_closing_an_empty_queue_asks_nothing(merchant_client, queue):
    html = merchant_client.get(reverse("queues:live", args=[queue.pk])).content.decode()
    assert "Fermer la file ?" not in html


def test_the_polled_panel_does_not_hold_the_walk_in_field(merchant_client, queue):
    url = reverse("queues:live", args=[queue.pk])
    page = merchant_client.get(url).content.decode()
    fragment = merchant_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="walk-in-name"' in page
    assert 'id="live-panel"' in fragment and 'id="walk-in-name"' not in fragment


def test_a_walk_in_gets_its_ticket_position_and_wait_with_a_printable_ticket(merchant_client,
                                                                            queue):
    fill(queue, 2)
    response = merchant_client.post(reverse("queues:walk_in", args=[queue.pk]),
                                    {"name": "Paul"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    entry = QueueEntry.objects.get(customer_name="Paul")
    assert 'id="walk-in" hx-swap-oob="true"' in html
    assert "Ticket A-003 remis." in html and "Position 3 dans la file" in html
    assert "attente estimée d'environ" in html
    ticket_url = reverse("queues:ticket", args=[queue.pk, entry.pk])
    assert ticket_url in html
    ticket = merchant_client.get(ticket_url + "?paper=58").content.decode()
    assert "A-003" in ticket and 'class="paper-58"' in ticket and "<svg" in ticket
    assert "2 personnes devant vous" in ticket and "data-print" in ticket
    assert "<script>" not in ticket


def test_a_walk_in_without_javascript_is_told_its_ticket(merchant_client, queue):
    response = merchant_client.post(reverse("queues:walk_in", args=[queue.pk]), {"name": ""},
                                    follow=True)
    assert "Ticket A-001 remis : position 1" in response.content.decode()


def test_another_merchant_cannot_print_a_ticket(outsider_client, queue):
    entry = join(queue)
    response = outsider_client.get(reverse("queues:ticket", args=[queue.pk, entry.pk]))
    assert response.status_code == 404


def test_the_live_page_offers_a_new_display_link_with_confirmation(merchant_client, client,
                                                                   queue):
    old = queue.queue_state_row.display_token
    html = merchant_client.get(reverse("queues:live", args=[queue.pk])).content.decode()
    regenerate = reverse("queues:display_regenerate", args=[queue.pk])
    assert f'hx-post="{regenerate}"' in html and "Créer un nouveau lien" in html
    merchant_client.post(regenerate, HTTP_HX_REQUEST="true")
    assert client.get(reverse("queues:display", args=[old])).status_code == 404


def test_deactivating_asks_for_confirmation(merchant_client, queue):
    html = merchant_client.get(reverse("businesses:detail", args=[queue.pk])).content.decode()
    assert 'hx-confirm="Désactiver ce commerce ?' in html

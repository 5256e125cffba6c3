"""The merchant's counters-and-services page, the live screen's counters, priority and
transfer, the walk-in's service, and the customer's join and status pages."""

import pytest
from django.urls import reverse

from businesses.models import Business
from queues import services
from queues.models import Counter, EntryStatus, QueueEntry, Service
from queues.tests.factories import french_mobile, join


@pytest.fixture
def pharmacy(queue):
    para = services.service_create(business=queue, name="Parapharmacie", ticket_prefix="P")
    first = queue.counters.get()
    second = services.counter_create(business=queue, name="Guichet 2", services=[para])
    return queue, queue.services.get(ticket_prefix="A"), para, first, second


def setup_url(business):
    return reverse("queues:setup", args=[business.pk])


def live_url(business):
    return reverse("queues:live", args=[business.pk])


def entry_url(entry, action):
    return reverse("queues:entry_action", args=[entry.business_id, entry.pk, action])


def test_the_setup_page_lists_services_and_counters_in_french(merchant_client, queue):
    html = merchant_client.get(setup_url(queue)).content.decode()
    assert "Guichets et services" in html
    assert "Ajouter un service" in html and "Ajouter un guichet" in html


def test_a_merchant_adds_a_service_and_a_counter_serving_it(merchant_client, queue):
    response = merchant_client.post(reverse("queues:service_add", args=[queue.pk]),
                                    {"name": "Ordonnance", "ticket_prefix": "o",
                                     "average_service_minutes": "4"})
    assert response.status_code == 302
    service = Service.objects.get(business=queue, ticket_prefix="O")
    assert service.average_service_time == 240
    merchant_client.post(reverse("queues:counter_add", args=[queue.pk]),
                         {"name": "Guichet 2", "is_open": "on", "services": [str(service.pk)]})
    counter = Counter.objects.get(business=queue, name="Guichet 2")
    assert list(counter.services.all()) == [service]


def test_an_invalid_prefix_is_a_translated_message_not_a_500(merchant_client, queue):
    response = merchant_client.post(reverse("queues:service_add", args=[queue.pk]),
                                    {"name": "Ordonnance", "ticket_prefix": "1"}, follow=True)
    assert response.status_code == 200
    assert "Une à trois lettres majuscules" in response.content.decode()
    assert queue.services.count() == 1


def test_the_counter_limit_shows_the_upgrade_path(merchant_client, queue, plans):
    queue.owner.plan = plans["basic"]
    queue.owner.save(update_fields=["plan"])
    html = merchant_client.get(setup_url(queue)).content.decode()
    assert "Passer à une formule supérieure" in html or "/billing/" in html
    assert 'class="form add-counter"' not in html


def test_another_merchant_gets_404_on_every_new_page_and_nothing_changes(
        outsider_client, pharmacy):
    queue, service_a, para, first, second = pharmacy
    entry = join(queue)
    urls_get = [setup_url(queue)]
    urls_post = [
        (reverse("queues:service_add", args=[queue.pk]), {"name": "X", "ticket_prefix": "X"}),
        (reverse("queues:service_save", args=[queue.pk, para.pk]),
         {"name": "X", "ticket_prefix": "X"}),
        (reverse("queues:service_delete", args=[queue.pk, para.pk]), {}),
        (reverse("queues:counter_add", args=[queue.pk]), {"name": "X"}),
        (reverse("queues:counter_save", args=[queue.pk, second.pk]), {"name": "X"}),
        (reverse("queues:counter_delete", args=[queue.pk, second.pk]), {}),
        (reverse("queues:counter_switch", args=[queue.pk, second.pk]), {"is_open": "0"}),
        (entry_url(entry, "call"), {"counter": str(first.pk)}),
        (entry_url(entry, "priority"), {"priority": "1"}),
        (entry_url(entry, "transfer"), {"service": str(para.pk)}),
    ]
    statuses = [outsider_client.get(url).status_code for url in urls_get]
    statuses += [outsider_client.post(url, data).status_code for url, data in urls_post]
    assert statuses == [404] * len(statuses)
    entry.refresh_from_db()
    assert (entry.status, entry.priority, entry.service_id) == ("waiting", False, service_a.pk)
    assert sorted(Counter.objects.filter(business=queue).values_list("name", "is_open")) == [
        (first.name, True), ("Guichet 2", True)]
    assert Service.objects.filter(business=queue, is_active=True).count() == 2


def test_a_single_counter_business_sees_no_counter_nor_service(merchant_client, queue):
    join(queue)
    html = merchant_client.get(live_url(queue)).content.decode()
    assert "counter-picker" not in html and "queue-service" not in html
    assert "Appeler le suivant" in html


def test_the_live_screen_remembers_its_counter_and_calls_there(merchant_client, pharmacy,
                                                               merchant):
    queue, service_a, para, first, second = pharmacy
    join(queue)
    para_entry = services.entry_join(business=queue, phone=french_mobile(), service=para)
    picked = merchant_client.get(f"{live_url(queue)}?counter={second.pk}")
    assert picked.cookies[f"waitify_counter_{queue.pk}"].value == str(second.pk)
    html = merchant_client.get(live_url(queue)).content.decode()  # the cookie is sent back
    assert 'aria-current="true"' in html and "Appeler le suivant — Guichet 2" in html
    merchant_client.post(reverse("queues:queue_action", args=[queue.pk, "next"]),
                         {"counter": str(second.pk)})
    para_entry.refresh_from_db()
    assert (para_entry.status, para_entry.counter_id, para_entry.called_by_id) == (
        EntryStatus.CALLED, second.pk, merchant.pk)


def test_the_live_screen_calls_out_of_order_sets_priority_and_transfers(merchant_client,
                                                                         pharmacy):
    queue, service_a, para, first, second = pharmacy
    head, later = join(queue), join(queue)
    merchant_client.post(entry_url(later, "priority"), {"priority": "1"})
    merchant_client.post(entry_url(head, "transfer"), {"service": str(para.pk)})
    merchant_client.post(entry_url(later, "call"), {"counter": str(first.pk)})
    head.refresh_from_db()
    later.refresh_from_db()
    assert (head.service_id, head.ticket_label) == (para.pk, "A-001")
    assert later.priority and later.status == EntryStatus.CALLED and later.counter_id == first.pk


def test_a_bad_transfer_is_a_message_not_a_500(merchant_client, pharmacy):
    queue, *_ = pharmacy
    entry = join(queue)
    response = merchant_client.post(entry_url(entry, "transfer"), {"service": "nope"},
                                    follow=True)
    assert response.status_code == 200
    assert "Choisissez un des services proposés" in response.content.decode()


def test_a_walk_in_gets_a_service_and_priority(merchant_client, pharmacy):
    queue, service_a, para, *_ = pharmacy
    join(queue, )
    merchant_client.post(reverse("queues:walk_in", args=[queue.pk]),
                         {"name": "Paul", "service": str(para.pk), "priority": "on"})
    walk_in = QueueEntry.objects.get(customer_name="Paul")
    assert (walk_in.service_id, walk_in.priority, walk_in.ticket_label) == (para.pk, True,
                                                                            "P-001")


def test_the_join_page_asks_the_service_and_states_the_priority_rule(client, pharmacy):
    queue, service_a, para, *_ = pharmacy
    type(queue).objects.filter(pk=queue.pk).update(
        priority_join_enabled=True, priority_join_text="Carte mobilité inclusion, grossesse")
    html = client.get(reverse("queues:join", args=[queue.qr_token])).content.decode()
    assert "Parapharmacie" in html and 'name="service"' in html
    assert "Carte mobilité inclusion, grossesse" in html
    assert "passent devant" in html
    response = client.post(reverse("queues:join", args=[queue.qr_token]),
                           {"phone": "0612345678", "service": str(para.pk), "priority": "on"})
    assert response.status_code == 302
    entry = QueueEntry.objects.get(phone="+33612345678")
    assert (entry.service_id, entry.priority) == (para.pk, True)


def test_the_join_page_of_a_one_service_business_asks_nothing_more(client, queue):
    html = client.get(reverse("queues:join", args=[queue.qr_token])).content.decode()
    assert 'name="service"' not in html and 'name="priority"' not in html


def test_the_status_page_names_the_service_and_the_counter_to_go_to(client, pharmacy):
    queue, service_a, para, first, second = pharmacy
    entry = services.entry_join(business=queue, phone=french_mobile(), service=para)
    page = client.get(reverse("queues:status", args=[entry.secret])).content.decode()
    assert 'data-service="Parapharmacie"' in page
    services.queue_call_next(business=queue, counter=second)
    page = client.get(reverse("queues:status", args=[entry.secret])).content.decode()
    assert 'data-counter="Guichet 2"' in page


def test_the_status_page_stops_naming_them_once_the_second_ones_are_gone(client, pharmacy):
    queue, service_a, para, first, second = pharmacy
    entry = services.entry_join(business=queue, phone=french_mobile(), service=service_a)
    services.service_update(service=para, is_active=False)
    services.counter_delete(counter=second)
    services.queue_call_next(business=queue, counter=first)
    page = client.get(reverse("queues:status", args=[entry.secret])).content.decode()
    assert "data-service=" not in page and "data-counter=" not in page
    assert "status-called" in page


def test_the_your_turn_sms_names_the_counter_when_there_are_several(pharmacy):
    from queues.sms.texts import compose_sms

    queue, service_a, para, first, second = pharmacy
    entry = services.entry_join(business=queue, phone=french_mobile(), service=para)
    called = services.queue_call_next(business=queue, counter=second)
    text = compose_sms("your_turn", entry=called, business=Business.objects.get(pk=queue.pk))
    assert "Guichet 2" in text
    assert entry.pk == called.pk

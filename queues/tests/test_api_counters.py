"""The API of counters, services, priority, out-of-order calls and transfers."""

import pytest

from queues import services
from queues.models import Counter, EntryStatus, QueueEntry, Service
from queues.tests.factories import french_mobile, join

API = "/api/v1"


@pytest.fixture
def two_counters(queue):
    para = services.service_create(business=queue, name="Parapharmacie", ticket_prefix="P")
    first = queue.counters.get()
    second = services.counter_create(business=queue, name="Guichet 2", services=[para])
    return first, second, para


def test_a_merchant_creates_lists_updates_and_deletes_services(api_client, queue):
    created = api_client.post(f"{API}/businesses/{queue.pk}/services",
                              {"name": "Ordonnance", "ticket_prefix": "O",
                               "average_service_time": 240}, format="json")
    assert created.status_code == 201
    service_id = created.json()["id"]
    listed = api_client.get(f"{API}/businesses/{queue.pk}/services").json()
    assert [s["ticket_prefix"] for s in listed] == ["A", "O"]
    updated = api_client.put(f"{API}/businesses/{queue.pk}/services/{service_id}",
                             {"name": "Ordonnances"}, format="json")
    assert updated.status_code == 200 and updated.json()["name"] == "Ordonnances"
    assert api_client.delete(
        f"{API}/businesses/{queue.pk}/services/{service_id}").status_code == 204
    assert not Service.objects.filter(pk=service_id).exists()


def test_a_bad_prefix_is_a_400_with_a_code(api_client, queue):
    response = api_client.post(f"{API}/businesses/{queue.pk}/services",
                               {"name": "Retrait", "ticket_prefix": "a"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_service"
    assert queue.services.count() == 1


def test_a_merchant_manages_counters_and_their_services(api_client, queue):
    para = services.service_create(business=queue, name="Parapharmacie", ticket_prefix="P")
    created = api_client.post(f"{API}/businesses/{queue.pk}/counters",
                              {"name": "Guichet 2", "services": [str(para.pk)]}, format="json")
    assert created.status_code == 201
    assert created.json()["services"] == [str(para.pk)] and created.json()["is_open"] is True
    counter_id = created.json()["id"]
    closed = api_client.put(f"{API}/businesses/{queue.pk}/counters/{counter_id}",
                            {"is_open": False, "services": []}, format="json")
    assert closed.json()["is_open"] is False and closed.json()["services"] == []
    assert len(api_client.get(f"{API}/businesses/{queue.pk}/counters").json()) == 2
    assert api_client.delete(
        f"{API}/businesses/{queue.pk}/counters/{counter_id}").status_code == 204
    assert queue.counters.count() == 1


def test_the_last_counter_cannot_be_deleted(api_client, queue):
    counter = queue.counters.get()
    response = api_client.delete(f"{API}/businesses/{queue.pk}/counters/{counter.pk}")
    assert response.status_code == 409 and response.json()["error"] == "last_counter"


def test_the_plan_limit_on_counters_says_how_to_upgrade(api_client, queue, plans):
    owner = queue.owner
    owner.plan = plans["basic"]
    owner.save(update_fields=["plan"])
    plans["basic"].api_access = True
    plans["basic"].save(update_fields=["api_access"])
    response = api_client.post(f"{API}/businesses/{queue.pk}/counters", {"name": "Guichet 2"},
                               format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "counter_limit_reached"
    assert response.json()["upgrade_url"] == "/billing/"


def test_next_with_several_counters_needs_one(api_client, queue, two_counters):
    join(queue)
    response = api_client.post(f"{API}/businesses/{queue.pk}/queue/next")
    assert response.status_code == 400 and response.json()["error"] == "counter_required"
    assert not QueueEntry.objects.filter(status=EntryStatus.CALLED).exists()


def test_next_at_a_counter_answers_the_counter_and_the_service(api_client, queue, merchant,
                                                              two_counters):
    first, second, para = two_counters
    join(queue)
    para_entry = services.entry_join(business=queue, phone=french_mobile(), service=para)
    response = api_client.post(f"{API}/businesses/{queue.pk}/queue/next",
                               {"counter": str(second.pk)}, format="json")
    body = response.json()
    assert response.status_code == 200 and body["id"] == str(para_entry.pk)
    assert body["counter"] == {"id": str(second.pk), "name": "Guichet 2"}
    assert body["service"]["name"] == "Parapharmacie" and body["ticket"] == "P-001"
    assert QueueEntry.objects.get(pk=para_entry.pk).called_by_id == merchant.pk


def test_call_out_of_order_priority_and_transfer(api_client, queue, two_counters):
    first, second, para = two_counters
    head, later = join(queue), join(queue)
    base = f"{API}/businesses/{queue.pk}/queue/clients"
    promoted = api_client.post(f"{base}/{later.pk}/priority", {"priority": True},
                               format="json")
    assert promoted.status_code == 200 and promoted.json()["priority"] is True
    moved = api_client.post(f"{base}/{head.pk}/transfer", {"service": str(para.pk)},
                            format="json")
    assert moved.status_code == 200 and moved.json()["service"]["id"] == str(para.pk)
    assert moved.json()["ticket"] == "A-001"
    called = api_client.post(f"{base}/{head.pk}/call", {"counter": str(first.pk)},
                             format="json")
    assert called.status_code == 200
    # The priority customer was next at that counter: this call jumped them.
    assert called.json()["called_out_of_order"] is True
    assert called.json()["counter"]["name"] == first.name


def test_a_transfer_to_an_unknown_service_is_a_400(api_client, queue):
    entry = join(queue)
    response = api_client.post(
        f"{API}/businesses/{queue.pk}/queue/clients/{entry.pk}/transfer",
        {"service": "7d8f6a51-1111-4222-8333-944444444444"}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_service"


def test_another_merchants_ids_are_404_and_change_nothing(outsider_api_client, queue,
                                                          two_counters):
    first, second, para = two_counters
    entry = join(queue)
    names = sorted(Service.objects.filter(business=queue).values_list("name", flat=True))
    base = f"{API}/businesses/{queue.pk}"
    answers = [
        outsider_api_client.get(f"{base}/counters"),
        outsider_api_client.post(f"{base}/counters", {"name": "X"}, format="json"),
        outsider_api_client.put(f"{base}/counters/{second.pk}", {"name": "X"}, format="json"),
        outsider_api_client.delete(f"{base}/counters/{second.pk}"),
        outsider_api_client.get(f"{base}/services"),
        outsider_api_client.post(f"{base}/services", {"name": "X", "ticket_prefix": "X"},
                                 format="json"),
        outsider_api_client.put(f"{base}/services/{para.pk}", {"name": "X"}, format="json"),
        outsider_api_client.delete(f"{base}/services/{para.pk}"),
        outsider_api_client.post(f"{base}/queue/next", {"counter": str(first.pk)},
                                 format="json"),
        outsider_api_client.post(f"{base}/queue/clients/{entry.pk}/call", {}, format="json"),
        outsider_api_client.post(f"{base}/queue/clients/{entry.pk}/priority",
                                 {"priority": True}, format="json"),
        outsider_api_client.post(f"{base}/queue/clients/{entry.pk}/transfer",
                                 {"service": str(para.pk)}, format="json"),
    ]
    assert [answer.status_code for answer in answers] == [404] * len(answers)
    entry.refresh_from_db()
    assert (entry.status, entry.priority, entry.service.ticket_prefix) == ("waiting", False, "A")
    assert Counter.objects.filter(business=queue).count() == 2
    assert sorted(Service.objects.filter(business=queue).values_list("name", flat=True)) == names


def test_public_join_takes_a_service_and_priority_where_allowed(client, queue, two_counters):
    first, second, para = two_counters
    url = f"{API}/public/{queue.qr_token}/join"
    refused = client.post(url, {"phone": "0612345678", "priority": True},
                          content_type="application/json")
    assert refused.status_code == 400 and refused.json()["error"] == "priority_not_allowed"
    type(queue).objects.filter(pk=queue.pk).update(priority_join_enabled=True)
    joined = client.post(url, {"phone": "0612345678", "service": str(para.pk),
                               "priority": True}, content_type="application/json")
    body = joined.json()
    assert joined.status_code == 201
    assert body["service"]["name"] == "Parapharmacie" and body["priority"] is True
    assert body["ticket"] == "P-001" and body["position"] == 1 and body["counter"] is None


def test_public_status_gives_the_position_in_the_service_and_the_counter(client, queue,
                                                                        two_counters):
    first, second, para = two_counters
    join(queue)
    join(queue)
    entry = services.entry_join(business=queue, phone=french_mobile(), service=para)
    status = client.get(f"{API}/public/entries/{entry.secret}").json()
    assert status["position"] == 1 and status["service"]["name"] == "Parapharmacie"
    services.queue_call_next(business=queue, counter=second)
    status = client.get(f"{API}/public/entries/{entry.secret}").json()
    assert status["status"] == "called" and status["counter"]["name"] == "Guichet 2"

"""The merchant's queue API and the customer's public API."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from businesses.tests.factories import make_merchant
from queues import services
from queues.models import EntryStatus, QueueEntry
from queues.tests.factories import fill, join

API = "/api/v1"


def test_the_queue_state_has_the_documented_shape(api_client, queue):
    join(queue, "0612345678", name="Léa")
    body = api_client.get(f"{API}/businesses/{queue.pk}/queue").json()
    assert body["is_queue_active"] is True and body["is_queue_paused"] is False
    assert body["current_queue_size"] == 1 and body["today_served"] == 0
    entry = body["entries"][0]
    assert entry["ticket"] == "A-001" and entry["position"] == 1
    assert entry["phone"] == "06 •• •• •• 78"


@pytest.mark.parametrize("waiting", [3, 30])
def test_the_queue_state_runs_a_fixed_number_of_queries(api_client, queue, waiting,
                                                        django_assert_num_queries):
    fill(queue, waiting)
    # token+user, plan, business, state, live entries, today's figures, counters, what
    # each counter serves, services
    with django_assert_num_queries(9):
        assert api_client.get(f"{API}/businesses/{queue.pk}/queue").status_code == 200


def test_next_returns_the_called_entry(api_client, queue):
    first, _second = fill(queue, 2)
    response = api_client.post(f"{API}/businesses/{queue.pk}/queue/next")
    assert response.status_code == 200
    assert response.json()["id"] == str(first.pk) and response.json()["ticket"] == "A-001"


def test_next_on_an_empty_queue_is_a_clear_409(api_client, queue):
    response = api_client.post(f"{API}/businesses/{queue.pk}/queue/next")
    assert response.status_code == 409
    assert response.json()["error"] == "queue_empty" and response.json()["message"]


@pytest.mark.parametrize(("action", "status"), [("serve", "served"), ("miss", "missed")])
def test_serve_and_miss(api_client, queue, action, status):
    entry = join(queue)
    services.queue_call_next(business=queue)
    response = api_client.put(f"{API}/businesses/{queue.pk}/queue/clients/{entry.pk}/{action}")
    assert response.status_code == 200 and response.json()["status"] == status


def test_serving_a_waiting_customer_is_a_409(api_client, queue):
    entry = join(queue)
    response = api_client.put(f"{API}/businesses/{queue.pk}/queue/clients/{entry.pk}/serve")
    assert response.status_code == 409 and response.json()["error"] == "invalid_transition"


@pytest.mark.parametrize(("action", "flags"), [
    ("close", (False, False)), ("pause", (True, True)), ("resume", (True, False)),
    ("open", (True, False)),
])
def test_queue_flags(api_client, queue, action, flags):
    body = api_client.post(f"{API}/businesses/{queue.pk}/queue/{action}").json()
    assert (body["is_queue_active"], body["is_queue_paused"]) == flags


QUEUE_ROUTES = [("get", "queue"), ("post", "queue/open"), ("post", "queue/close"),
                ("post", "queue/pause"), ("post", "queue/resume"), ("post", "queue/next"),
                ("post", "queue/walk-in")]


@pytest.mark.parametrize(("method", "route"), QUEUE_ROUTES)
def test_another_merchants_queue_is_not_found(outsider_api_client, queue, method, route):
    entry = join(queue)
    response = getattr(outsider_api_client, method)(f"{API}/businesses/{queue.pk}/{route}")
    assert response.status_code == 404 and response.json()["code"] == 404
    entry.refresh_from_db()
    queue.refresh_from_db()
    assert entry.status == EntryStatus.WAITING and queue.is_queue_open
    assert QueueEntry.objects.count() == 1


@pytest.mark.parametrize("action", ["serve", "miss", "arrive", "cancel"])
def test_another_merchants_entry_is_not_found(outsider_api_client, queue, action):
    entry = join(queue)
    services.queue_call_next(business=queue)
    response = outsider_api_client.put(
        f"{API}/businesses/{queue.pk}/queue/clients/{entry.pk}/{action}")
    assert response.status_code == 404
    entry.refresh_from_db()
    assert entry.status == EntryStatus.CALLED


@pytest.mark.parametrize(("method", "route"), QUEUE_ROUTES)
def test_anonymous_requests_get_401(client, queue, method, route):
    response = getattr(client, method)(f"{API}/businesses/{queue.pk}/{route}")
    assert response.status_code == 401 and response.json()["code"] == 401


def test_a_plan_without_api_access_gets_403(client, queue):
    basic = make_merchant("basic@example.fr", plan="basic")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=basic).key}")
    assert api.get(f"{API}/businesses/{queue.pk}/queue").status_code == 403


# --- Public -----------------------------------------------------------------------------------


def test_a_customer_joins_through_the_public_api(client, queue):
    response = client.post(f"{API}/public/{queue.qr_token}/join",
                           {"phone": "06 12 34 56 78", "name": "Léa"},
                           content_type="application/json")
    body = response.json()
    assert response.status_code == 201
    assert body["ticket"] == "A-001" and body["position"] == 1
    assert body["estimated_wait"] >= 0 and body["secret"]
    assert body["status_url"].endswith(f"/q/s/{body['secret']}")
    assert "phone" not in body and "name" not in body


@pytest.mark.parametrize(("setup", "code"), [
    ({"is_queue_open": False}, 4001), ({"max_queue_size": 1}, 4002),
    ({"is_active": False}, 4004),
])
def test_public_join_refusals_carry_their_code(client, queue, setup, code):
    join(queue)
    type(queue).objects.filter(pk=queue.pk).update(**setup)
    response = client.post(f"{API}/public/{queue.qr_token}/join", {"phone": "0698765432"},
                           content_type="application/json")
    assert response.json()["code"] == code and response.json()["message"]
    assert QueueEntry.objects.count() == 1


def test_public_join_twice_is_4003_and_says_nothing_of_the_existing_ticket(client, queue):
    join(queue, "0612345678")
    response = client.post(f"{API}/public/{queue.qr_token}/join", {"phone": "+33612345678"},
                           content_type="application/json")
    assert response.status_code == 409
    assert set(response.json()) == {"code", "error", "message"}
    assert response.json()["code"] == 4003


@pytest.mark.parametrize(("payload", "code"), [
    ({"phone": "abc"}, 4008), ({"phone": "06\x0012"}, 400), ({}, 400),
    ({"phone": "0612345678", "name": "a\x00b"}, 400)])
def test_public_join_with_bad_input_is_a_400(client, queue, payload, code):
    response = client.post(f"{API}/public/{queue.qr_token}/join", payload,
                           content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == code
    assert not QueueEntry.objects.exists()


def test_an_unknown_qr_token_is_a_json_404(client, db):
    response = client.post(f"{API}/public/nope/join", {"phone": "0612345678"},
                           content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == 404


def test_the_public_status_never_shows_phone_or_name(client, queue):
    entry = join(queue, "0612345678", name="Léa")
    body = client.get(f"{API}/public/entries/{entry.secret}").json()
    assert body["ticket"] == "A-001" and body["status"] == "waiting"
    assert "0612345678" not in str(body) and "Léa" not in str(body)


def test_the_customer_cancels_through_the_public_api(client, queue):
    entry = join(queue)
    body = client.post(f"{API}/public/entries/{entry.secret}/cancel").json()
    assert body["status"] == "cancelled"


def test_an_unknown_secret_is_a_json_404(client, db):
    assert client.get(f"{API}/public/entries/nope").json()["code"] == 404

"""/api/v1/businesses…: list, create, summary, detail, update, soft delete,
activate, queue settings and QR regeneration, each scoped to the caller."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from businesses import services
from businesses.models import Business, PlatformSettings
from businesses.services import BusinessError
from businesses.tests.factories import make_merchant

LIST_URL = "/api/v1/businesses"
SUMMARY_URL = "/api/v1/businesses/summary"

_tickets = itertools.count(1)
# "Today" is the product's local date: tests that count today's entries freeze the
# clock at noon in Paris, so that a run at midnight counts what the API counts.
NOON = datetime(2026, 12, 4, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def noon(time_machine):
    time_machine.move_to(NOON, tick=False)


def add_entry(business: Business, status: str, *, day=None) -> None:
    """A queue entry, made through the relation so this app imports nothing from queues."""
    day = day or timezone.localdate()
    now = timezone.now()
    number = next(_tickets)
    done = {"called_at": now, "served_at": now} if status == "served" else {}
    business.queue_entries.create(service_day=day, ticket_number=number, sort_key=number,
                                  status=status, phone=f"+3361234{number:04d}",
                                  service=business.services.first(), **done)


def create(owner, name: str = "Salon Léa", business_type: str = "hairdresser") -> Business:
    return services.business_create(owner=owner, name=name, business_type=business_type)


def row(business: Business) -> dict:
    return Business.objects.values().get(pk=business.pk)


def client_for(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


VALID_HOURS = {
    "weekly": {"monday": [["08:00", "12:30"], ["14:00", "18:30"]], "sunday": []},
    "exceptions": {"2026-12-25": [], "2026-12-06": [["09:00", "12:00"]]},
}


# --- Ownership: every route, as another merchant, anonymous, or without API access --------

ROUTES_WITH_ID = [
    ("get", "/api/v1/businesses/{id}", None),
    ("put", "/api/v1/businesses/{id}", {"name": "Pirate", "max_queue_size": 3}),
    ("delete", "/api/v1/businesses/{id}", None),
    ("post", "/api/v1/businesses/{id}/activate", None),
    ("put", "/api/v1/businesses/{id}/queue/settings", {"max_queue_size": 3}),
    ("post", "/api/v1/businesses/{id}/qr-code/regenerate", None),
]
ROUTES = [
    ("get", LIST_URL, None),
    ("post", LIST_URL, {"name": "Intrus", "business_type": "bakery"}),
    ("get", SUMMARY_URL, None),
    *ROUTES_WITH_ID,
]
WRITE_ROUTES = [route for route in ROUTES if route[0] != "get"]


def call(api: APIClient, method: str, url: str, payload, business: Business):
    return getattr(api, method)(url.format(id=business.pk), payload, format="json")


@pytest.mark.parametrize(("method", "url", "payload"), ROUTES_WITH_ID)
def test_it_refuses_another_merchants_business(outsider_api_client, business, method, url,
                                               payload):
    if url.endswith("/activate"):
        services.business_deactivate(business=business)  # so that activating would change it
    before = row(business)
    response = call(outsider_api_client, method, url, payload, business)
    assert response.status_code == 404
    assert response.json()["code"] == 404
    assert response.json()["error"] == "not_found"
    assert row(business) == before


@pytest.mark.parametrize(("method", "url", "payload"), ROUTES)
def test_it_asks_an_anonymous_caller_to_authenticate(business, method, url, payload):
    before = row(business)
    response = call(APIClient(), method, url, payload, business)
    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert row(business) == before
    assert Business.objects.count() == 1


@pytest.mark.parametrize(("method", "url", "payload"), ROUTES)
def test_it_refuses_a_plan_without_api_access(db, method, url, payload):
    user = make_merchant("basic@example.fr", plan="basic")
    business = create(user)
    before = row(business)
    response = call(client_for(user), method, url, payload, business)
    assert response.status_code == 403
    assert response.json()["error"] == "no_api_access"
    assert row(business) == before
    assert Business.objects.count() == 1


@pytest.mark.parametrize(("method", "url", "payload"), WRITE_ROUTES)
def test_it_refuses_changes_from_a_read_only_account(merchant, api_client, business, method,
                                                     url, payload):
    if url.endswith("/activate"):
        services.business_deactivate(business=business)
    merchant.subscription_status = "read_only"
    merchant.save()
    before = row(business)
    response = call(api_client, method, url, payload, business)
    with pytest.raises(BusinessError) as refusal:
        services.account_ensure_can_change(user=merchant)
    assert response.status_code == 403
    assert response.json()["error"] == "account_read_only"
    assert response.json()["message"] == str(refusal.value.message)
    assert row(business) == before
    assert Business.objects.count() == 1


@pytest.mark.parametrize("url", [LIST_URL, SUMMARY_URL, "/api/v1/businesses/{id}"])
def test_a_read_only_account_can_still_read(merchant, api_client, business, url):
    merchant.subscription_status = "read_only"
    merchant.save()
    assert api_client.get(url.format(id=business.pk)).status_code == 200


# --- List and summary -----------------------------------------------------------------------

def test_it_lists_the_merchants_businesses_with_the_account_summary(merchant, api_client,
                                                                    business,
                                                                    outsider_business):
    closed = create(merchant, name="Atelier fermé")
    services.business_deactivate(business=closed)
    response = api_client.get(LIST_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {
        "id": str(merchant.id), "email": "owner@example.fr", "plan": "pro",
        "plan_title": body["user"]["plan_title"], "max_businesses": 5, "active_businesses": 1,
        "subscription_status": "trial",
        "trial_ends_at": body["user"]["trial_ends_at"],
    }
    assert body["user"]["trial_ends_at"]
    assert [(b["name"], b["is_active"]) for b in body["businesses"]] == [
        ("Atelier fermé", False), ("Boulangerie Martin", True)]
    listed = body["businesses"][1]
    assert listed["id"] == str(business.id)
    assert listed["business_type"] == "bakery"
    assert listed["is_queue_active"] is False
    assert listed["is_queue_paused"] is False
    assert listed["qr_code_url"] == f"https://waitify.test/q/{business.qr_token}"
    assert listed["current_queue_size"] == 0
    assert listed["today_served"] == 0


def test_it_counts_who_waits_now_and_who_was_served_today(noon, api_client, business,
                                                          outsider_business):
    for status in ["waiting", "waiting", "called", "served", "served", "missed", "cancelled"]:
        add_entry(business, status)
    add_entry(business, "served", day=timezone.localdate() - timedelta(days=1))
    add_entry(outsider_business, "waiting")
    add_entry(outsider_business, "served")
    [listed] = api_client.get(LIST_URL).json()["businesses"]
    assert listed["current_queue_size"] == 2
    assert listed["today_served"] == 2
    detail = api_client.get(f"{LIST_URL}/{business.pk}").json()
    assert (detail["current_queue_size"], detail["today_served"]) == (2, 2)


@pytest.mark.parametrize("how_many", [1, 5])
def test_listing_costs_the_same_queries_for_one_or_five_businesses(
        noon, merchant, api_client, django_assert_num_queries, how_many):
    for number in range(how_many):
        business = create(merchant, name=f"Commerce {number}")
        add_entry(business, "waiting")
        add_entry(business, "served")
    # Token + user, plan (API access), active count (summary), businesses with figures.
    with django_assert_num_queries(4):
        response = api_client.get(LIST_URL)
    assert len(response.json()["businesses"]) == how_many
    assert all(b["current_queue_size"] == 1 for b in response.json()["businesses"])


def test_the_summary_gives_the_plan_and_totals_of_the_merchants_businesses(
        noon, merchant, api_client, business, outsider_business):
    second = create(merchant, name="Salon Léa")
    services.business_deactivate(business=create(merchant, name="Ancien local"))
    Business.objects.filter(pk=business.pk).update(is_queue_open=True)
    add_entry(business, "waiting")
    add_entry(second, "waiting")
    add_entry(second, "served")
    add_entry(outsider_business, "waiting")
    response = api_client.get(SUMMARY_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["plan"] == "pro"
    assert body["user"]["max_businesses"] == 5
    assert body["user"]["active_businesses"] == 2
    assert body["totals"] == {"businesses": 3, "active_businesses": 2, "open_queues": 1,
                              "current_queue_size": 2, "today_served": 1}


# --- Create ---------------------------------------------------------------------------------

def test_it_creates_a_business_with_every_field(merchant, api_client):
    response = api_client.post(LIST_URL, {
        "name": "Pharmacie du Port", "business_type": "pharmacy", "phone": "04 91 12 34 56",
        "address": "3 quai du Port", "city": "Marseille", "zip_code": "13002",
        "average_service_time": 240, "max_queue_size": 80, "opening_hours": VALID_HOURS,
        "custom_message": "Merci !", "sms_enabled": False, "auto_advance_enabled": False,
        "client_timeout_minutes": 12, "timezone": "Indian/Reunion", "last_call_minutes": 15,
    }, format="json")
    assert response.status_code == 201
    saved = Business.objects.get(owner=merchant)
    assert response.json()["id"] == str(saved.pk)
    assert response.json()["current_queue_size"] == 0
    assert (saved.name, saved.business_type, saved.phone) == (
        "Pharmacie du Port", "pharmacy", "+33491123456")
    assert (saved.address, saved.city, saved.zip_code, saved.country) == (
        "3 quai du Port", "Marseille", "13002", "FR")
    assert (saved.average_service_time, saved.max_queue_size, saved.client_timeout_minutes) \
        == (240, 80, 12)
    assert saved.opening_hours == VALID_HOURS
    assert response.json()["opening_hours"] == VALID_HOURS
    assert (saved.timezone, saved.last_call_minutes) == ("Indian/Reunion", 15)
    assert (response.json()["timezone"], response.json()["last_call_minutes"]) == (
        "Indian/Reunion", 15)
    assert (saved.custom_message, saved.sms_enabled, saved.auto_advance_enabled) == (
        "Merci !", False, False)
    assert saved.is_active and not saved.is_queue_open


def test_it_takes_the_service_time_and_defaults_from_the_platform(merchant, api_client):
    platform = PlatformSettings.load()
    platform.default_service_times = {**platform.default_service_times, "garage": 2100}
    platform.save()
    response = api_client.post(LIST_URL, {"name": "Garage", "business_type": "garage"},
                               format="json")
    assert response.status_code == 201
    saved = Business.objects.get(owner=merchant)
    assert saved.average_service_time == 2100
    assert saved.max_queue_size == platform.default_max_queue_size
    assert saved.client_timeout_minutes == platform.default_client_timeout_minutes


def test_it_refuses_a_business_beyond_the_plan_limit(merchant, api_client):
    for number in range(5):
        create(merchant, name=f"Commerce {number}")
    response = api_client.post(LIST_URL, {"name": "Sixième", "business_type": "bakery"},
                               format="json")
    assert response.status_code == 403
    body = response.json()
    assert (body["code"], body["error"]) == (4103, "plan_limit_reached")
    assert body["message"]
    assert body["upgrade_url"]
    assert Business.objects.filter(owner=merchant).count() == 5


def test_deleting_a_business_frees_its_place_in_the_plan(merchant, api_client):
    first, *_others = [create(merchant, name=f"Commerce {number}") for number in range(5)]
    assert api_client.delete(f"{LIST_URL}/{first.pk}").status_code == 200
    response = api_client.post(LIST_URL, {"name": "Sixième", "business_type": "bakery"},
                               format="json")
    assert response.status_code == 201
    assert Business.objects.filter(owner=merchant, is_active=True).count() == 5


INVALID_FIELDS = [
    ("name", "Boul\x00angerie"), ("name", ""), ("name", "   "), ("name", "x" * 121),
    ("name", None), ("name", {"fr": "x"}),
    ("business_type", "spaceship"), ("business_type", ["bakery"]),
    ("phone", "12"), ("phone", "06 12 34\x00 56 78"), ("phone", "0" * 5000),
    ("zip_code", "7501"), ("zip_code", "ABCDE"), ("zip_code", "７５０１１"),
    ("address", "x" * 256), ("city", "Paris\x00"),
    ("custom_message", "x" * 101), ("custom_message", "\x00"),
    ("average_service_time", 5), ("average_service_time", 10**30),
    ("average_service_time", "lots"), ("average_service_time", 12.5),
    ("average_service_time", 1e308), ("average_service_time", True),
    ("max_queue_size", 0), ("max_queue_size", 201), ("max_queue_size", -1),
    ("max_queue_size", 10**20),
    ("client_timeout_minutes", 0), ("client_timeout_minutes", 31),
    ("sms_enabled", "maybe"), ("auto_advance_enabled", [True]),
    ("opening_hours", "always"), ("opening_hours", ["monday"]), ("opening_hours", None),
    ("opening_hours", {"funday": {"open": "08:00", "close": "18:00"}}),
    ("opening_hours", {"mon\x00day": {"closed": True}}),
    ("opening_hours", {"monday": "open"}),
    ("opening_hours", {"monday": {"open": "18:00", "close": "08:00"}}),
    ("opening_hours", {"monday": {"open": "08:00", "close": "08:00"}}),
    ("opening_hours", {"monday": {"open": "25:00", "close": "26:00"}}),
    ("opening_hours", {"monday": {"open": "8h", "close": "18h"}}),
    ("opening_hours", {"monday": {"open": "08:00"}}),
    ("opening_hours", {"monday": {"open": "08:00\x00", "close": "18:00"}}),
    ("opening_hours", {"monday": {"open": "08:00", "close": "18:00", "closed": "perhaps"}}),
    ("opening_hours", {"weekly": {"monday": [["08:00", "12:30"], ["12:00", "18:00"]]}}),
    ("opening_hours", {"weekly": {"monday": [["18:00", "08:00"]]}}),
    ("opening_hours", {"weekly": {"monday": [["08:00", "09:00"]] * 4}}),
    ("opening_hours", {"exceptions": {"2026-02-30": []}}),
    ("opening_hours", {"exceptions": {"2026-12-25": [["8h", "12h"]]}}),
    ("timezone", "Mars/Olympus_Mons"), ("timezone", ""), ("last_call_minutes", 241),
    ("last_call_minutes", -1),
]


@pytest.mark.parametrize(("field", "value"), INVALID_FIELDS)
def test_it_refuses_an_invalid_business_with_a_json_400(merchant, api_client, field, value):
    payload = {"name": "Boulangerie", "business_type": "bakery", field: value}
    response = api_client.post(LIST_URL, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["error"]) == (400, "invalid")
    assert body["message"]
    assert list(body["errors"]) == [field]
    assert not Business.objects.filter(owner=merchant).exists()


@pytest.mark.parametrize("missing", ["name", "business_type"])
def test_it_requires_a_name_and_a_type(merchant, api_client, missing):
    payload = {"name": "Boulangerie", "business_type": "bakery"}
    del payload[missing]
    response = api_client.post(LIST_URL, payload, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [missing]


@pytest.mark.parametrize("body", ["[1, 2]", '"name"', "{not json", '{"name": NaN}', "[" * 50_000])
def test_it_refuses_a_body_that_is_not_a_json_object(merchant, api_client, body):
    response = api_client.post(LIST_URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert not Business.objects.exists()


def test_it_speaks_json_only(merchant, api_client):
    # Form-encoded input would read every boolean left out as false.
    response = api_client.post(LIST_URL, "name=Boulangerie&business_type=bakery",
                               content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["code"] == 415
    assert not Business.objects.exists()


# --- Detail, update, delete, activate -------------------------------------------------------

def test_it_shows_one_business(api_client, business):
    response = api_client.get(f"{LIST_URL}/{business.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(business.pk)
    assert body["name"] == "Boulangerie Martin"
    assert body["average_service_time"] == business.average_service_time
    assert body["queue_state"] == "closed"


def test_it_updates_only_the_fields_sent(api_client, business):
    before = row(business)
    response = api_client.put(f"{LIST_URL}/{business.pk}",
                              {"name": "Boulangerie Martin & Fils", "phone": "0612345678"},
                              format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Boulangerie Martin & Fils"
    after = row(business)
    assert (after["name"], after["phone"]) == ("Boulangerie Martin & Fils", "+33612345678")
    untouched = set(before) - {"name", "phone", "updated_at"}
    assert {key: after[key] for key in untouched} == {key: before[key] for key in untouched}


def test_it_updates_every_field_at_once(api_client, business):
    response = api_client.put(f"{LIST_URL}/{business.pk}", {
        "name": "Coiffure Lou", "business_type": "hairdresser", "phone": "",
        "address": "1 rue Neuve", "city": "Lyon", "zip_code": "69001",
        "average_service_time": 1800, "max_queue_size": 12, "opening_hours": VALID_HOURS,
        "custom_message": "À tout de suite", "sms_enabled": False,
        "auto_advance_enabled": False, "client_timeout_minutes": 30,
        "average_basket_cents": 1250,
    }, format="json")
    assert response.status_code == 200
    assert response.json()["average_basket_cents"] == 1250
    business.refresh_from_db()
    assert (business.name, business.business_type, business.city, business.zip_code) == (
        "Coiffure Lou", "hairdresser", "Lyon", "69001")
    assert (business.average_service_time, business.max_queue_size,
            business.client_timeout_minutes) == (1800, 12, 30)
    assert business.opening_hours == VALID_HOURS
    assert not business.sms_enabled and not business.auto_advance_enabled
    assert business.average_basket_cents == 1250


@pytest.mark.parametrize(("field", "value"), [
    ("name", ""), ("name", "\x00"), ("max_queue_size", 500), ("average_service_time", None),
    ("average_basket_cents", -1), ("average_basket_cents", "douze"),
    ("opening_hours", {"weekly": {"monday": [["19:00", "09:00"]]}}),
])
def test_it_refuses_an_invalid_update_and_changes_nothing(api_client, business, field, value):
    before = row(business)
    response = api_client.put(f"{LIST_URL}/{business.pk}", {field: value}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert row(business) == before


def test_deleting_a_business_only_deactivates_it(api_client, business):
    Business.objects.filter(pk=business.pk).update(is_queue_open=True)
    response = api_client.delete(f"{LIST_URL}/{business.pk}")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    business.refresh_from_db()
    assert not business.is_active
    assert not business.is_queue_open


def test_it_reactivates_a_business(api_client, business):
    services.business_deactivate(business=business)
    response = api_client.post(f"{LIST_URL}/{business.pk}/activate")
    assert response.status_code == 200
    assert response.json()["is_active"] is True
    business.refresh_from_db()
    assert business.is_active


def test_activating_an_active_business_changes_nothing(api_client, business):
    before = row(business)
    assert api_client.post(f"{LIST_URL}/{business.pk}/activate").status_code == 200
    assert row(business) == before


def test_it_refuses_to_reactivate_beyond_the_plan_limit(merchant, api_client, business):
    services.business_deactivate(business=business)
    for number in range(5):
        create(merchant, name=f"Commerce {number}")
    response = api_client.post(f"{LIST_URL}/{business.pk}/activate")
    assert response.status_code == 403
    assert response.json()["error"] == "plan_limit_reached"
    assert response.json()["upgrade_url"]
    business.refresh_from_db()
    assert not business.is_active


# --- Queue settings and QR code -------------------------------------------------------------

def test_it_changes_the_queue_settings_and_nothing_else(api_client, business):
    response = api_client.put(f"{LIST_URL}/{business.pk}/queue/settings", {
        "average_service_time": 300, "max_queue_size": 20, "opening_hours": VALID_HOURS,
        "custom_message": "Prenez un café", "sms_enabled": False,
        "auto_advance_enabled": False, "client_timeout_minutes": 2,
        "name": "Pas ici", "business_type": "garage",
    }, format="json")
    assert response.status_code == 200
    business.refresh_from_db()
    assert (business.average_service_time, business.max_queue_size,
            business.client_timeout_minutes) == (300, 20, 2)
    assert business.opening_hours == VALID_HOURS
    assert business.custom_message == "Prenez un café"
    assert not business.sms_enabled and not business.auto_advance_enabled
    assert (business.name, business.business_type) == ("Boulangerie Martin", "bakery")


@pytest.mark.parametrize(("field", "value"), [
    ("max_queue_size", 0), ("client_timeout_minutes", 31), ("average_service_time", -60),
    ("custom_message", "\x00"), ("opening_hours", {"weekly": {"sunday": None}}),
])
def test_it_refuses_invalid_queue_settings(api_client, business, field, value):
    before = row(business)
    response = api_client.put(f"{LIST_URL}/{business.pk}/queue/settings", {field: value},
                              format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert row(business) == before


def test_it_regenerates_the_qr_code(api_client, business):
    old_token = business.qr_token
    response = api_client.post(f"{LIST_URL}/{business.pk}/qr-code/regenerate")
    assert response.status_code == 200
    business.refresh_from_db()
    assert business.qr_token != old_token
    assert response.json()["qr_code_url"] == f"https://waitify.test/q/{business.qr_token}"
    assert not Business.objects.filter(qr_token=old_token).exists()

"""The merchant's business pages: create, edit, deactivate, overview, account."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from businesses import services
from businesses.models import Business, PlatformSettings, User
from businesses.tests.factories import PASSWORD, make_merchant
from queues import services as queue_services
from queues.tests.factories import fill, open_queue
from waitify.lib.opening_hours import MAX_RANGES, WEEKDAYS

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr"}


def hours_data(hours: dict, exception_rows: int = 2) -> dict:
    """The opening-hours inputs as a browser posts them for a stored value: for each day
    a "closed" box and three ranges; `exception_rows` rows of dated exceptions."""
    weekly, exceptions = hours.get("weekly", {}), sorted(hours.get("exceptions", {}).items())
    data = {"opening_hours-exception-rows": str(max(exception_rows, len(exceptions)))}
    for day in WEEKDAYS:
        ranges = weekly.get(day) or []
        if weekly.get(day) == []:
            data[f"opening_hours-{day}-closed"] = "on"
        for index in range(MAX_RANGES):
            start, end = ranges[index] if index < len(ranges) else ("", "")
            data[f"opening_hours-{day}-{index}-start"] = start
            data[f"opening_hours-{day}-{index}-end"] = "00:00" if end == "24:00" else end
    for row in range(max(exception_rows, len(exceptions))):
        day, ranges = exceptions[row] if row < len(exceptions) else ("", [])
        data[f"opening_hours-x{row}-date"] = day
        if day and ranges == []:
            data[f"opening_hours-x{row}-closed"] = "on"
        for index in range(2):
            start, end = ranges[index] if index < len(ranges) else ("", "")
            data[f"opening_hours-x{row}-{index}-start"] = start
            data[f"opening_hours-x{row}-{index}-end"] = end
    return data


def business_form_data(**overrides) -> dict:
    """Everything the business form takes, as a browser would post it."""
    data = {
        "name": "Salon Élodie", "business_type": "hairdresser", "phone": "01 45 67 89 01",
        "address": "3 rue Oberkampf", "city": "Paris", "zip_code": "75011",
        "average_service_minutes": "40", "max_queue_size": "30",
        "client_timeout_minutes": "8", "custom_message": "Merci !",
        # Unchecked boxes are simply absent: SMS and auto-advance are off here.
    }
    data.update(hours_data({}), timezone="Europe/Paris", last_call_minutes="0")
    data.update(overrides)
    return data


def edit_form_data(business: Business, **overrides) -> dict:
    """The edit form as the page shows it for `business`, with `overrides` typed in."""
    data = {
        "name": business.name, "business_type": business.business_type,
        "phone": business.phone, "address": business.address, "city": business.city,
        "zip_code": business.zip_code,
        "average_service_minutes": str(business.average_service_time // 60),
        "max_queue_size": str(business.max_queue_size),
        "client_timeout_minutes": str(business.client_timeout_minutes),
        "custom_message": business.custom_message,
    }
    if business.sms_enabled:
        data["sms_enabled"] = "on"
    if business.auto_advance_enabled:
        data["auto_advance_enabled"] = "on"
    data.update(hours_data(business.opening_hours), timezone=business.timezone,
                last_call_minutes=str(business.last_call_minutes))
    data.update(overrides)
    return data


def snapshot(business: Business) -> dict:
    business = Business.objects.get(pk=business.pk)
    return {field.attname: getattr(business, field.attname) for field in Business._meta.fields}


# --- create ------------------------------------------------------------------------------


def test_it_shows_the_create_form_with_a_row_per_weekday(merchant_client):
    response = merchant_client.get(reverse("businesses:create"), **ENGLISH)
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("name", "business_type", "phone", "address", "city", "zip_code",
                  "average_service_minutes", "max_queue_size", "client_timeout_minutes",
                  "custom_message", "sms_enabled", "auto_advance_enabled"):
        assert f'name="{field}"' in html
    for day in WEEKDAYS:
        assert f'name="opening_hours-{day}-closed"' in html
        for index in range(MAX_RANGES):
            assert f'type="time" name="opening_hours-{day}-{index}-start"' in html
            assert f'type="time" name="opening_hours-{day}-{index}-end"' in html
    assert 'type="date" class="oh-date" name="opening_hours-x0-date"' in html
    assert "Monday" in html and "Sunday" in html


def test_it_creates_a_business_with_every_field(merchant_client, merchant):
    data = business_form_data(**hours_data({"weekly": {
        "monday": [["09:00", "18:30"]], "saturday": [["08:00", "12:00"]], "sunday": []}}))
    response = merchant_client.post(reverse("businesses:create"), data, **ENGLISH)

    business = Business.objects.get(owner=merchant)
    assert response.status_code == 302
    assert response["Location"] == reverse("businesses:detail", args=[business.pk])
    assert business.name == "Salon Élodie"
    assert business.business_type == "hairdresser"
    assert business.phone == "+33145678901"
    assert (business.address, business.city, business.zip_code) == (
        "3 rue Oberkampf", "Paris", "75011")
    assert business.country == "FR"
    assert business.average_service_time == 40 * 60
    assert business.max_queue_size == 30
    assert business.client_timeout_minutes == 8
    assert business.custom_message == "Merci !"
    assert business.sms_enabled is False
    assert business.auto_advance_enabled is False
    assert business.is_active is True
    assert business.is_queue_open is False
    assert business.opening_hours == {"weekly": {
        "monday": [["09:00", "18:30"]], "saturday": [["08:00", "12:00"]], "sunday": []},
        "exceptions": {}}
    assert len(business.qr_token) >= 24

    page = merchant_client.get(response["Location"], **ENGLISH)
    assert "Salon Élodie" in page.content.decode()
    assert "is ready" in page.content.decode()


def test_it_takes_the_default_service_time_from_the_business_type(merchant_client, merchant):
    platform = PlatformSettings.load()
    platform.default_service_times = {**platform.default_service_times, "hairdresser": 1500}
    platform.default_max_queue_size = 80
    platform.default_client_timeout_minutes = 12
    platform.save()

    data = business_form_data(average_service_minutes="", max_queue_size="",
                              client_timeout_minutes="", sms_enabled="on")
    response = merchant_client.post(reverse("businesses:create"), data)

    assert response.status_code == 302
    business = Business.objects.get(owner=merchant)
    assert business.average_service_time == 1500
    assert business.max_queue_size == 80
    assert business.client_timeout_minutes == 12
    assert business.sms_enabled is True


def test_it_falls_back_to_the_usual_time_when_staff_removed_the_type(merchant_client, merchant):
    platform = PlatformSettings.load()
    platform.default_service_times = {"bakery": 60}
    platform.save()

    merchant_client.post(reverse("businesses:create"),
                         business_form_data(business_type="pharmacy", average_service_minutes=""))

    assert Business.objects.get(owner=merchant).average_service_time == 180


@pytest.mark.parametrize(("field", "value"), [
    ("max_queue_size", "0"), ("max_queue_size", "201"),
    ("client_timeout_minutes", "0"), ("client_timeout_minutes", "31"),
    ("average_service_minutes", "0"), ("name", ""), ("business_type", "spaceship"),
])
def test_it_refuses_values_out_of_range(merchant_client, merchant, field, value):
    response = merchant_client.post(reverse("businesses:create"),
                                    business_form_data(**{field: value}), **ENGLISH)

    assert response.status_code == 200
    assert 'class="field has-error' in response.content.decode()
    assert not Business.objects.filter(owner=merchant).exists()


@pytest.mark.parametrize(("language", "message"), [
    (ENGLISH, "Enter a valid phone number, for example 06 12 34 56 78."),
    (FRENCH, "Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78."),
])
def test_it_rejects_an_invalid_phone_with_a_translated_message(merchant_client, merchant,
                                                               language, message):
    response = merchant_client.post(reverse("businesses:create"),
                                    business_form_data(phone="12 34"), **language)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Business.objects.filter(owner=merchant).exists()


@pytest.mark.parametrize(("language", "message"), [
    (ENGLISH, "A French zip code has five digits, e.g. 75011."),
    (FRENCH, "Un code postal français a cinq chiffres, par exemple 75011."),
])
@pytest.mark.parametrize("zip_code", ["7501", "75O11", "750112", "７５０１１"])
def test_it_rejects_an_invalid_zip_code_with_a_translated_message(merchant_client, merchant,
                                                                  language, message, zip_code):
    response = merchant_client.post(reverse("businesses:create"),
                                    business_form_data(zip_code=zip_code), **language)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Business.objects.filter(owner=merchant).exists()


def test_it_requires_a_login_to_create(client, db):
    response = client.get(reverse("businesses:create"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- edit --------------------------------------------------------------------------------


def test_the_edit_page_shows_the_current_settings(merchant_client, business):
    services.business_update(business=business, opening_hours={
        "weekly": {"monday": [["08:30", "12:00"], ["14:00", "19:00"]], "sunday": []},
        "exceptions": {"2026-12-25": []}}, city="Lyon", average_service_time=240)

    response = merchant_client.get(reverse("businesses:detail", args=[business.pk]), **ENGLISH)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="opening_hours-monday-0-start" value="08:30"' in html
    assert 'name="opening_hours-monday-1-end" value="19:00"' in html
    assert 'name="opening_hours-sunday-closed" checked' in html
    assert 'name="opening_hours-x0-date" value="2026-12-25"' in html
    assert 'name="opening_hours-x0-closed" checked' in html
    assert 'name="average_service_minutes" value="4"' in html
    assert 'value="Lyon"' in html
    assert business.join_url in html


def test_it_saves_the_edited_settings(merchant_client, business):
    data = edit_form_data(
        business, name="Boulangerie Martin & Fils", max_queue_size="120",
        client_timeout_minutes="30", average_service_minutes="3", custom_message="À bientôt",
        **hours_data({"weekly": {"friday": [["07:00", "20:00"]], "sunday": []}}),
    )
    data.pop("sms_enabled")
    response = merchant_client.post(reverse("businesses:detail", args=[business.pk]), data,
                                    **ENGLISH)

    assert response.status_code == 302
    business.refresh_from_db()
    assert business.name == "Boulangerie Martin & Fils"
    assert business.max_queue_size == 120
    assert business.client_timeout_minutes == 30
    assert business.average_service_time == 180
    assert business.custom_message == "À bientôt"
    assert business.sms_enabled is False
    assert business.auto_advance_enabled is True
    assert business.opening_hours == {
        "weekly": {"friday": [["07:00", "20:00"]], "sunday": []}, "exceptions": {}}
    page = merchant_client.get(response["Location"], **ENGLISH)
    assert "Settings saved." in page.content.decode()
    assert "Boulangerie Martin &amp; Fils" in page.content.decode()


def test_an_empty_service_time_goes_back_to_the_usual_time_for_the_type(merchant_client,
                                                                         business):
    data = edit_form_data(business, business_type="pharmacy", average_service_minutes="")
    response = merchant_client.post(reverse("businesses:detail", args=[business.pk]), data)

    assert response.status_code == 302
    business.refresh_from_db()
    assert business.business_type == "pharmacy"
    assert business.average_service_time == PlatformSettings.load().service_time_for("pharmacy")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"opening_hours-monday-0-start": "12:00", "opening_hours-monday-0-end": "12:00"},
     "Monday: the range 12:00–12:00 ends before it starts."),
    ({"phone": "hello"}, "Enter a valid phone number"),
    ({"zip_code": "ABCDE"}, "A French zip code has five digits"),
    ({"max_queue_size": "500"}, "Ensure this value is less than or equal to 200."),
    ({"client_timeout_minutes": ""}, "This field is required."),
])
def test_the_edit_page_shows_errors_and_changes_nothing(merchant_client, business, overrides,
                                                        message):
    before = snapshot(business)
    data = edit_form_data(business, name="Renamed", **overrides)
    response = merchant_client.post(reverse("businesses:detail", args=[business.pk]), data,
                                    **ENGLISH)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "<title>Boulangerie Martin" in response.content.decode()
    assert snapshot(business) == before


# --- deactivate / reactivate ---------------------------------------------------------------


def test_it_deactivates_a_business_and_closes_its_queue(merchant_client, business):
    Business.objects.filter(pk=business.pk).update(is_queue_open=True, is_queue_paused=True)

    response = merchant_client.post(reverse("businesses:deactivate", args=[business.pk]),
                                    **ENGLISH)

    assert response.status_code == 302
    business.refresh_from_db()
    assert (business.is_active, business.is_queue_open, business.is_queue_paused) == (
        False, False, False)
    page = merchant_client.get(response["Location"], **ENGLISH)
    assert "is deactivated" in page.content.decode()
    assert "Reactivate" in page.content.decode()


def test_it_reactivates_a_business(merchant_client, business):
    services.business_deactivate(business=business)

    response = merchant_client.post(reverse("businesses:activate", args=[business.pk]),
                                    **ENGLISH)

    assert response.status_code == 302
    business.refresh_from_db()
    assert business.is_active is True
    assert business.is_queue_open is False
    page = merchant_client.get(response["Location"], **ENGLISH)
    assert "is active again" in page.content.decode()


@pytest.mark.parametrize("name", ["deactivate", "activate", "regenerate_qr"])
def test_state_changes_refuse_a_get(merchant_client, business, name):
    before = snapshot(business)
    response = merchant_client.get(reverse(f"businesses:{name}", args=[business.pk]))
    assert response.status_code == 405
    assert snapshot(business) == before


# --- overview ------------------------------------------------------------------------------


def test_the_overview_lists_every_business_with_its_state_and_the_plan_usage(merchant_client,
                                                                             merchant):
    open_one = services.business_create(owner=merchant, name="Pharmacie du Centre",
                                        business_type="pharmacy", city="Lille")
    Business.objects.filter(pk=open_one.pk).update(is_queue_open=True)
    closed_one = services.business_create(owner=merchant, name="Garage Lenoir",
                                          business_type="garage")
    gone = services.business_create(owner=merchant, name="Ancien Kiosque",
                                    business_type="other")
    services.business_deactivate(business=gone)

    response = merchant_client.get(reverse("queues:overview"), **ENGLISH)

    assert response.status_code == 200
    html = response.content.decode()
    for business in (open_one, closed_one, gone):
        assert reverse("businesses:detail", args=[business.pk]) in html
    assert "Pharmacy" in html and "Lille" in html
    assert "state-open" in html and "state-closed" in html and "state-inactive" in html
    assert "2 / 5" in html  # two active of the pro plan's five
    assert "Pro" in html


def test_the_overview_counts_who_waits_and_who_was_served_today(merchant_client, business):
    first, _second, _third = fill(open_queue(business), 3)
    queue_services.queue_call_next(business=business)
    queue_services.entry_serve(entry=first)

    html = merchant_client.get(reverse("queues:overview"), **ENGLISH).content.decode()

    assert "<dt>Waiting</dt><dd>2</dd>" in html
    assert "<dt>Served today</dt><dd>1</dd>" in html


def test_the_overview_shows_only_the_merchants_own_businesses(merchant_client, business,
                                                              outsider_business):
    html = merchant_client.get(reverse("queues:overview")).content.decode()
    assert business.name in html
    assert outsider_business.name not in html
    assert str(outsider_business.pk) not in html


def test_the_overview_welcomes_a_merchant_without_business(merchant_client):
    response = merchant_client.get(reverse("queues:overview"), **ENGLISH)
    assert response.status_code == 200
    assert "Add your first business" in response.content.decode()


@pytest.mark.parametrize("count", [1, 5])
def test_the_overview_runs_the_same_number_of_queries_for_1_and_5_businesses(
    client, db, django_assert_num_queries, count
):
    merchant = make_merchant("many@example.fr", plan="enterprise")
    for number in range(count):
        services.business_create(owner=merchant, name=f"Shop {number}", business_type="bakery")
    client.force_login(merchant)

    # session, user, staff membership (the menu), plan, active count, businesses with
    # their figures, SMS used
    with django_assert_num_queries(7):
        response = client.get(reverse("queues:overview"))
    assert response.status_code == 200
    assert response.content.decode().count("business-card") == count


def test_the_overview_requires_a_login(client, db):
    response = client.get(reverse("queues:overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- account -------------------------------------------------------------------------------


def test_the_account_page_shows_the_profile(merchant_client, merchant):
    response = merchant_client.get(reverse("businesses:account"), **ENGLISH)
    assert response.status_code == 200
    html = response.content.decode()
    assert merchant.email in html
    assert 'value="Marie"' in html
    assert reverse("account_change_password") in html


def test_it_saves_the_profile_with_a_normalised_phone(merchant_client, merchant):
    response = merchant_client.post(reverse("businesses:account"), {
        "first_name": "Marie", "last_name": "Curie", "phone": "06 12 34 56 78",
    }, **ENGLISH)

    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.first_name, merchant.last_name, merchant.phone) == (
        "Marie", "Curie", "+33612345678")
    assert "Profile saved." in merchant_client.get(response["Location"], **ENGLISH).content.decode()


@pytest.mark.parametrize(("language", "message"), [
    (ENGLISH, "Enter a valid phone number, for example 06 12 34 56 78."),
    (FRENCH, "Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78."),
])
def test_the_profile_rejects_an_invalid_phone_with_a_translated_message(merchant_client,
                                                                        merchant, language,
                                                                        message):
    response = merchant_client.post(reverse("businesses:account"), {
        "first_name": "Hacker", "last_name": "", "phone": "+33 1",
    }, **language)

    assert response.status_code == 200
    assert message in response.content.decode()
    merchant.refresh_from_db()
    assert (merchant.first_name, merchant.phone) == ("Marie", "")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_signing_in_remembers_the_language_for_waitify_s_e_mails(client, merchant, language):
    User.objects.filter(pk=merchant.pk).update(language="fr" if language == "en" else "en")
    EmailAddress.objects.create(user=merchant, email=merchant.email, verified=True,
                                primary=True)
    response = client.post(reverse("account_login"),
                           {"login": merchant.email, "password": PASSWORD},
                           HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302 and response["Location"] == reverse("queues:overview")
    merchant.refresh_from_db()
    assert merchant.language == language


def test_the_account_page_requires_a_login(client, db):
    response = client.get(reverse("businesses:account"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- an account that may not change anything --------------------------------------------


READ_ONLY_MESSAGE = "Your account is read-only until your subscription is settled"


@pytest.fixture
def read_only_merchant(merchant):
    merchant.subscription_status = "read_only"
    merchant.save()
    return merchant


def test_a_read_only_account_is_told_before_filling_the_create_form(merchant_client,
                                                                    read_only_merchant):
    response = merchant_client.get(reverse("businesses:create"), **ENGLISH)
    assert response.status_code == 200
    assert READ_ONLY_MESSAGE in response.content.decode()


def test_a_read_only_account_cannot_create_a_business(merchant_client, read_only_merchant):
    response = merchant_client.post(reverse("businesses:create"), business_form_data(),
                                    **ENGLISH)

    assert response.status_code == 200
    assert READ_ONLY_MESSAGE in response.content.decode()
    assert not Business.objects.filter(owner=read_only_merchant).exists()


def test_a_read_only_account_cannot_edit_a_business(merchant_client, business,
                                                    read_only_merchant):
    before = snapshot(business)
    response = merchant_client.post(reverse("businesses:detail", args=[business.pk]),
                                    edit_form_data(business, name="Changed"), **ENGLISH)

    assert response.status_code == 200
    assert READ_ONLY_MESSAGE in response.content.decode()
    assert "<title>Boulangerie Martin" in response.content.decode()
    assert snapshot(business) == before


def test_a_read_only_account_still_sees_its_business_page_with_a_warning(merchant_client,
                                                                        business,
                                                                        read_only_merchant):
    response = merchant_client.get(reverse("businesses:detail", args=[business.pk]), **ENGLISH)
    assert response.status_code == 200
    assert business.name in response.content.decode()
    assert READ_ONLY_MESSAGE in response.content.decode()


@pytest.mark.parametrize(("name", "active_before"), [
    ("deactivate", True), ("activate", False), ("regenerate_qr", True),
])
def test_a_read_only_account_cannot_change_a_business_state(merchant_client, business,
                                                            read_only_merchant, name,
                                                            active_before):
    Business.objects.filter(pk=business.pk).update(is_active=active_before)
    before = snapshot(business)

    response = merchant_client.post(reverse(f"businesses:{name}", args=[business.pk]),
                                    follow=True, **ENGLISH)

    assert response.status_code == 200
    assert READ_ONLY_MESSAGE in response.content.decode()
    assert snapshot(business) == before


def test_a_suspended_account_cannot_create_a_business(merchant_client, merchant):
    merchant.subscription_status = "suspended"
    merchant.save()

    response = merchant_client.post(reverse("businesses:create"), business_form_data(),
                                    **ENGLISH)

    assert response.status_code == 200
    assert "This account is suspended." in response.content.decode()
    assert not Business.objects.filter(owner=merchant).exists()


# --- ownership -----------------------------------------------------------------------------


def test_it_checks_ownership(outsider_client, business):
    before = snapshot(business)
    url = reverse("businesses:detail", args=[business.pk])

    assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(url, edit_form_data(business, name="Pwned")).status_code == 404
    assert snapshot(business) == before

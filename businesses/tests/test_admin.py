"""Staff run the platform from the Django admin: lists, search, filters, change pages."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from django import forms
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from businesses import services
from businesses.models import Business, PlatformSettings, User
from businesses.tests.factories import PASSWORD, make_merchant
from queues.models import QueueEntry, SmsLog, SmsType

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
SERVICE_DAY = date(2026, 12, 4)  # any day: the admin lists the entries of every day


@pytest.fixture
def staff_client(client, db):
    staff = User.objects.create_superuser("staff@waitify.fr", PASSWORD)
    client.force_login(staff)
    return client


def add_entry(business: Business, number: int, **fields) -> QueueEntry:
    return QueueEntry.objects.create(
        business=business, phone=f"+3361234{number:04d}", customer_name=f"Client {number}",
        service_day=SERVICE_DAY, ticket_number=number, sort_key=number,
        service=business.services.first(), **fields)


def add_merchants_with_businesses(numbers: range) -> list[Business]:
    businesses = []
    for number in numbers:
        owner = make_merchant(f"m{number}@example.fr", plan="pro", first_name=f"M{number}")
        businesses.append(services.business_create(owner=owner, name=f"Commerce {number}",
                                                   business_type="bakery", city="Nantes"))
    return businesses


def _field_data(form, data: dict) -> None:
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        key = form.add_prefix(name)
        if isinstance(field, forms.SplitDateTimeField):
            moment = value if isinstance(value, datetime) else None
            data[f"{key}_0"] = moment.strftime("%Y-%m-%d") if moment else ""
            data[f"{key}_1"] = moment.strftime("%H:%M:%S") if moment else ""
        elif isinstance(field, forms.BooleanField):
            if value:
                data[key] = "on"
        elif isinstance(value, (list, tuple)):
            data[key] = [str(item) for item in value]
        elif value is not None:
            data[key] = str(value)


def as_submitted(page) -> dict:
    """What the browser would post back from an admin add/change page left as it is,
    inline formsets included (other apps add inlines to these pages)."""
    assert page.status_code == 200
    data: dict = {}
    _field_data(page.context["adminform"].form, data)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        _field_data(formset.management_form, data)
        for form in formset.forms:
            _field_data(form, data)
    return data


def admin_errors(response) -> object:
    if response.context is None:
        return response
    return ([response.context["adminform"].form.errors]
            + [inline.formset.errors for inline in response.context["inline_admin_formsets"]])


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


# --- change lists -----------------------------------------------------------------------------


def test_staff_see_the_merchant_accounts_with_search_and_filters(staff_client, merchant,
                                                                outsider, business):
    url = reverse("admin:businesses_user_changelist")

    listing = staff_client.get(url, **ENGLISH)
    assert listing.status_code == 200
    assert merchant.email in listing.content.decode()
    assert outsider.email in listing.content.decode()

    found = staff_client.get(url, {"q": "owner@", "subscription_status__exact": "trial"},
                             **ENGLISH)
    assert found.status_code == 200
    html = found.content.decode()
    assert merchant.email in html
    assert outsider.email not in html
    assert "1 merchant account" in html


def test_staff_see_the_businesses_with_search_and_filters(staff_client, business,
                                                          outsider_business):
    services.business_deactivate(business=outsider_business)
    url = reverse("admin:businesses_business_changelist")

    listing = staff_client.get(url, **ENGLISH)
    assert listing.status_code == 200
    assert "Boulangerie Martin" in listing.content.decode()
    assert "Garage Dupont" in listing.content.decode()

    by_owner = staff_client.get(url, {"q": "owner@example.fr"}, **ENGLISH).content.decode()
    assert "Boulangerie Martin" in by_owner and "Garage Dupont" not in by_owner

    inactive = staff_client.get(url, {"is_active__exact": "0"}, **ENGLISH).content.decode()
    assert "Garage Dupont" in inactive and "Boulangerie Martin" not in inactive

    by_type = staff_client.get(url, {"business_type__exact": "garage", "q": "Garage"},
                               **ENGLISH).content.decode()
    assert "Garage Dupont" in by_type and "Boulangerie Martin" not in by_type


def test_staff_see_the_plans(staff_client, plans):
    url = reverse("admin:businesses_plan_changelist")
    response = staff_client.get(url, {"q": "pro", "api_access__exact": "1"}, **ENGLISH)

    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("admin:businesses_plan_change", args=[plans["pro"].pk]) in html
    assert reverse("admin:businesses_plan_change", args=[plans["basic"].pk]) not in html
    assert reverse("admin:businesses_plan_change", args=[plans["enterprise"].pk]) not in html


def test_staff_see_the_platform_settings(staff_client, db):
    PlatformSettings.load()
    response = staff_client.get(reverse("admin:businesses_platformsettings_changelist"),
                                **ENGLISH)
    assert response.status_code == 200
    assert "Platform settings" in response.content.decode()


def test_staff_see_the_queue_entries_with_masked_phones(staff_client, business,
                                                        outsider_business):
    add_entry(business, 1)
    add_entry(business, 2, status="cancelled")
    add_entry(outsider_business, 3)
    url = reverse("admin:queues_queueentry_changelist")

    listing = staff_client.get(url, **ENGLISH)
    assert listing.status_code == 200
    assert "06 •• •• •• 01" in listing.content.decode()
    assert "+33612340001" not in listing.content.decode()

    waiting = staff_client.get(url, {"q": "Boulangerie", "status__exact": "waiting"},
                               **ENGLISH).content.decode()
    assert "A-001" in waiting
    assert "A-002" not in waiting and "A-003" not in waiting


def test_staff_find_a_queue_entry_by_the_phone_number_as_customers_say_it(staff_client,
                                                                          business):
    add_entry(business, 7)
    add_entry(business, 8)
    url = reverse("admin:queues_queueentry_changelist")

    html = staff_client.get(url, {"q": "06 12 34 00 07"}, **ENGLISH).content.decode()

    assert "A-007" in html
    assert "A-008" not in html


# --- change pages ----------------------------------------------------------------------------


def test_staff_open_every_change_page(staff_client, merchant, business, plans):
    entry = add_entry(business, 1)
    pages = [
        reverse("admin:businesses_user_change", args=[merchant.pk]),
        reverse("admin:businesses_user_add"),
        reverse("admin:businesses_business_change", args=[business.pk]),
        reverse("admin:businesses_plan_change", args=[plans["pro"].pk]),
        reverse("admin:businesses_platformsettings_change", args=[PlatformSettings.load().pk]),
        reverse("admin:queues_queueentry_change", args=[entry.pk]),
    ]
    for url in pages:
        response = staff_client.get(url, **ENGLISH)
        assert response.status_code == 200, url


def test_staff_change_the_default_service_time_of_a_type_without_a_deploy(staff_client,
                                                                          merchant):
    platform = PlatformSettings.load()
    url = reverse("admin:businesses_platformsettings_change", args=[platform.pk])
    data = as_submitted(staff_client.get(url))
    data.update({
        "sms_unit_cost_cents": "4", "trial_days": "30", "default_max_queue_size": "60",
        "default_client_timeout_minutes": "7",
        "default_service_times": json.dumps({**platform.default_service_times, "bakery": 240}),
    })

    response = staff_client.post(url, data)

    assert response.status_code == 302, admin_errors(response)
    created = services.business_create(owner=merchant, name="Pain Chaud",
                                       business_type="bakery")
    assert (created.average_service_time, created.max_queue_size,
            created.client_timeout_minutes) == (240, 60, 7)
    assert PlatformSettings.load().sms_unit_cost_cents == 4


def test_staff_cannot_add_a_second_platform_settings_row(staff_client, db):
    PlatformSettings.load()
    response = staff_client.get(reverse("admin:businesses_platformsettings_add"))
    assert response.status_code == 403


def test_staff_create_a_merchant_account(staff_client, plans):
    url = reverse("admin:businesses_user_add")
    data = as_submitted(staff_client.get(url))
    data.update({"email": "New.Merchant@Example.fr", "password1": "une-phrase-longue-2026",
                 "password2": "une-phrase-longue-2026", "plan": plans["pro"].pk})

    response = staff_client.post(url, data)

    assert response.status_code == 302, admin_errors(response)
    user = User.objects.get(email="new.merchant@example.fr")
    assert user.plan == plans["pro"]
    assert user.check_password("une-phrase-longue-2026")


def test_staff_change_an_accounts_plan_and_status(staff_client, merchant, plans):
    url = reverse("admin:businesses_user_change", args=[merchant.pk])
    data = as_submitted(staff_client.get(url))
    data.update({"plan": plans["enterprise"].pk, "subscription_status": "active"})

    response = staff_client.post(url, data)

    assert response.status_code == 302, admin_errors(response)
    merchant.refresh_from_db()
    assert merchant.plan == plans["enterprise"]
    assert merchant.subscription_status == "active"
    assert merchant.email == "owner@example.fr"


# --- queries that do not grow with the rows --------------------------------------------------


@pytest.mark.parametrize("name", [
    "admin:businesses_business_changelist",
    "admin:businesses_user_changelist",
    "admin:queues_queueentry_changelist",
])
def test_a_change_list_runs_the_same_number_of_queries_for_2_and_8_rows(staff_client, name):
    for business in add_merchants_with_businesses(range(2)):
        add_entry(business, 1)
    url = reverse(name)
    with_two = queries_for(staff_client, url)

    for business in add_merchants_with_businesses(range(2, 8)):
        add_entry(business, 1)
    with_eight = queries_for(staff_client, url)

    assert with_eight == with_two


# --- who may enter ---------------------------------------------------------------------------


def test_a_merchant_cannot_open_the_admin(merchant_client):
    response = merchant_client.get(reverse("admin:businesses_business_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_it_checks_ownership(client, merchant, outsider_business):
    # A staff flag alone opens no model: each one needs its permission.
    merchant.is_staff = True
    merchant.save()
    client.force_login(merchant)
    url = reverse("admin:businesses_business_change", args=[outsider_business.pk])

    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "Pwned"}).status_code == 403
    assert Business.objects.get(pk=outsider_business.pk).name == "Garage Dupont"


# --- in French, branded, with the platform's own words ------------------------------------


def run_action(client, action: str, accounts: list[User], **extra):
    return client.post(reverse("admin:businesses_user_changelist"), {
        "action": action, "_selected_action": [account.pk for account in accounts], **extra,
    }, follow=True)


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_admin_is_branded_waitify_in_french(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()

    assert "<title>Gestion de la plateforme | Administration Waitify</title>" in html
    assert '<a href="/admin/">Administration Waitify</a>' in html
    assert "Administration de Django" not in html


def test_without_stripe_keys_the_stripe_models_stay_out_of_the_admin(staff_client, settings):
    assert settings.STRIPE_SECRET_KEY == ""

    html = staff_client.get(reverse("admin:index")).content.decode()

    assert "/admin/djstripe/" not in html
    assert "/admin/billing/usagerecord/" in html


def test_the_delete_action_reads_well_for_every_list(staff_client, plans):
    html = staff_client.get(reverse("admin:businesses_plan_changelist")).content.decode()

    assert '<option value="delete_selected">Supprimer la sélection</option>' in html
    assert "formules sélectionnés" not in html


def test_the_merchant_list_leaves_the_staff_out_and_the_staff_have_their_own(staff_client,
                                                                             merchant):
    merchants = staff_client.get(reverse("admin:businesses_user_changelist"))
    staff = staff_client.get(reverse("admin:businesses_staffmember_changelist"))

    assert [account.email for account in merchants.context["cl"].result_list] \
        == ["owner@example.fr"]
    assert [account.email for account in staff.context["cl"].result_list] \
        == ["staff@waitify.fr"]
    assert "Équipe Waitify" in staff.content.decode()


def test_the_merchant_list_shows_french_column_headers(staff_client, merchant):
    html = staff_client.get(reverse("admin:businesses_user_changelist")).content.decode()

    for header in ("Adresse e-mail", "Nom", "Formule", "Statut de l&#x27;abonnement",
                   "Fin de l&#x27;essai", "Établissements actifs", "Mode d&#x27;inscription"):
        assert f">{header}</a>" in html, header
    assert "Get full name" not in html


def test_prices_show_in_euros(staff_client, plans):
    html = staff_client.get(reverse("admin:businesses_plan_changelist")).content.decode()

    assert "19,00\u00a0€" in html
    assert "49,00\u00a0€" in html
    assert "<td class=\"field-price\">1900</td>" not in html
    assert ">Basique</a>" in html and ">Entreprise</a>" in html


def test_staff_suspend_a_merchant_who_then_cannot_sign_in(staff_client, merchant, outsider):
    assert Client().login(username="owner@example.fr", password=PASSWORD)

    response = run_action(staff_client, "suspend", [merchant])

    assert shown_messages(response) == [
        "1 compte suspendu : il ne peut plus se connecter et ses files n'acceptent plus "
        "personne."]
    merchant.refresh_from_db()
    outsider.refresh_from_db()
    assert merchant.is_active is False
    assert merchant.is_suspended
    assert outsider.is_active is True
    assert not Client().login(username="owner@example.fr", password=PASSWORD)


def test_staff_reactivate_a_suspended_merchant(staff_client, merchant):
    run_action(staff_client, "suspend", [merchant])

    response = run_action(staff_client, "reactivate", [merchant])

    assert shown_messages(response) == ["1 compte réactivé."]
    merchant.refresh_from_db()
    assert merchant.is_active is True
    assert not merchant.is_suspended


def test_staff_move_merchants_to_another_plan(staff_client, merchant, outsider, plans):
    response = run_action(staff_client, "change_plan", [merchant, outsider],
                          plan=plans["enterprise"].pk)

    assert shown_messages(response) == ["2 comptes passés à la formule Entreprise."]
    merchant.refresh_from_db()
    outsider.refresh_from_db()
    assert (merchant.plan, outsider.plan) == (plans["enterprise"], plans["enterprise"])


def test_a_plan_too_small_for_the_businesses_is_refused(staff_client, merchant, plans):
    for name in ("Un", "Deux"):
        services.business_create(owner=merchant, name=name, business_type="bakery")

    response = run_action(staff_client, "change_plan", [merchant], plan=plans["basic"].pk)

    assert shown_messages(response) == [
        "owner@example.fr : Vous avez 2 commerces actifs et cette formule en permet 1 : "
        "désactivez 1 commerce avant de changer."]
    merchant.refresh_from_db()
    assert merchant.plan == plans["pro"]


def test_the_plan_of_an_account_paying_through_stripe_is_left_to_stripe(staff_client, merchant,
                                                                         plans):
    from billing.models import BillingAccount
    BillingAccount.objects.create(account=merchant, stripe_subscription_status="active")

    response = run_action(staff_client, "change_plan", [merchant], plan=plans["basic"].pk)

    assert shown_messages(response) == [
        "owner@example.fr : Ce compte paie par Stripe : sa formule se change là-bas, ou "
        "depuis sa page de facturation."]
    merchant.refresh_from_db()
    assert merchant.plan == plans["pro"]


def test_changing_the_plan_without_choosing_one_changes_nothing(staff_client, merchant, plans):
    response = run_action(staff_client, "change_plan", [merchant])

    assert shown_messages(response) == ["Choisissez d'abord la formule à côté de l'action."]
    merchant.refresh_from_db()
    assert merchant.plan == plans["pro"]


def test_staff_extend_a_trial_by_14_days(staff_client, merchant):
    ends = merchant.trial_ends_at

    response = run_action(staff_client, "extend_trial", [merchant])

    assert shown_messages(response) == ["Essai prolongé de 14 jours pour 1 compte."]
    merchant.refresh_from_db()
    assert merchant.trial_ends_at == ends + timedelta(days=14)


# --- phones and secrets --------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["06 12 34 56 78", "+33612345678", "0612345678",
                                   "+33 6 12 34 56 78"])
def test_the_sms_log_finds_a_number_as_people_type_it(staff_client, business, typed):
    wanted = SmsLog.objects.create(business=business, phone="+33612345678",
                                   type=SmsType.YOUR_TURN, text="À vous !")
    SmsLog.objects.create(business=business, phone="+33698765432", type=SmsType.YOUR_TURN,
                          text="À vous !")

    response = staff_client.get(reverse("admin:queues_smslog_changelist"), {"q": typed})

    assert [log.pk for log in response.context["cl"].result_list] == [wanted.pk]


def test_the_queue_entry_page_masks_the_phone_and_hides_the_secret(staff_client, business):
    entry = add_entry(business, 42)

    html = staff_client.get(reverse("admin:queues_queueentry_change", args=[entry.pk])
                            ).content.decode()

    assert "06 •• •• •• 42" in html
    assert entry.phone not in html
    assert "06 12 34 00 42" not in html
    assert entry.secret not in html

"""The billing page: meter, plan table, Checkout, plan changes, portal, errors, API."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billing import selectors
from billing.models import BillingAccount
from billing.tests import stripe_objects as so
from billing.tests.conftest import Scenario
from billing.tests.test_usage import send_sms
from businesses import services as business_services
from businesses.models import Business
from businesses.tests.factories import make_merchant

PAGE = "/billing/"


def choose(client, plan: str, request_id: str = "3f8e2a44-0a7e-4c1e-9d1f-6a1d2b3c4d5e"):
    return client.post(reverse("billing:choose", args=[plan]), {"request_id": request_id})


def test_the_billing_page_needs_a_login(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_without_stripe_the_page_says_billing_is_off_and_still_shows_usage(client, merchant,
                                                                          business):
    client.force_login(merchant)
    send_sms(business, 12, month=selectors.month_of())
    html = client.get(PAGE).content.decode()
    assert "La facturation en ligne est désactivée" in html
    assert 'class="meter-figure sms-used">12 / 2500' in html
    assert 'data-plan="enterprise"' in html and "billing:choose" not in html
    assert 'action="/billing/plans/' not in html  # no button to press


def test_choosing_a_plan_without_stripe_says_so(client, merchant):
    client.force_login(merchant)
    response = choose(client, "enterprise")
    assert response.status_code == 302
    page = client.get(PAGE).content.decode()
    assert "pas configurée sur cette installation" in page


def test_the_meter_shows_businesses_sms_and_the_overage_accrued(client, stripe_plans):
    account = make_merchant("meter@example.fr", plan="basic")
    shop = business_services.business_create(owner=account, name="Boulangerie",
                                             business_type="bakery")
    send_sms(shop, 1234, month=selectors.month_of())
    client.force_login(account)
    html = client.get(PAGE).content.decode()
    assert 'class="meter-figure">1 / 1</strong>' in html
    assert 'class="meter-figure sms-used">1234 / 1000' in html
    assert 'class="meter-figure overage-cost">7,02\xa0€' in html
    assert "234 SMS au-delà du quota" in html


def test_the_plan_table_offers_checkout_to_a_trial_account(client, subscriber):
    client.force_login(subscriber)
    html = client.get(PAGE).content.decode()
    for plan in ("basic", "pro", "enterprise"):
        assert f'action="/billing/plans/{plan}/choose"' in html
    assert "Essai gratuit jusqu'au" in html


def test_subscribing_redirects_to_stripe_checkout(client, subscriber, fake_stripe):
    client.force_login(subscriber)
    response = choose(client, "pro")
    [session] = fake_stripe.of_type("checkout.session")
    assert response.status_code == 302 and response["Location"] == session["url"]
    assert session["customer"] == BillingAccount.objects.get(account=subscriber).stripe_customer_id
    assert session["client_reference_id"] == str(subscriber.pk)
    assert session["line_items"] == [{"price": "price_pro", "quantity": "1"}]
    assert session["success_url"] == "https://waitify.test/billing/?checkout=success"
    subscriber.refresh_from_db()
    assert subscriber.subscription_status == "trial"  # until Stripe's webhook says paid


def test_a_double_click_opens_one_checkout_session(client, subscriber, fake_stripe):
    client.force_login(subscriber)
    first, second = choose(client, "pro"), choose(client, "pro")
    assert first["Location"] == second["Location"]
    assert len(fake_stripe.of_type("checkout.session")) == 1


def test_a_new_merchant_gets_a_stripe_customer_on_first_checkout(client, stripe_plans,
                                                                 fake_stripe):
    account = make_merchant("first@example.fr", plan="basic")
    client.force_login(account)
    response = choose(client, "basic")
    [customer] = fake_stripe.of_type("customer")
    assert customer["email"] == "first@example.fr"
    assert customer["metadata"]["djstripe_subscriber"] == str(account.pk)
    assert BillingAccount.objects.get(account=account).stripe_customer_id == customer["id"]
    assert response["Location"].startswith("https://checkout.stripe.com/")


def test_an_upgrade_changes_the_live_subscription_at_once(client, post_event, scenario):
    post_event(scenario.subscribe())
    client.force_login(scenario.account)
    response = choose(client, "enterprise")
    assert response.status_code == 302 and response["Location"] == PAGE
    scenario.account.refresh_from_db()
    assert scenario.account.plan.name == "enterprise"
    assert scenario.fake.objects[scenario.subscription["id"]]["items"]["data"][0]["price"]["id"] \
        == "price_enterprise"
    assert "Votre formule est maintenant" in client.get(PAGE).content.decode()


def test_a_downgrade_is_refused_while_too_many_businesses_are_active(client, post_event,
                                                                      scenario):
    post_event(scenario.subscribe())  # pro: up to 5 businesses
    for name in ("Un", "Deux", "Trois"):
        business_services.business_create(owner=scenario.account, name=name,
                                          business_type="other")
    client.force_login(scenario.account)
    html = client.get(PAGE).content.decode()
    assert "Vous avez 3 commerces actifs et cette formule en permet 1" in html
    assert 'action="/billing/plans/basic/choose"' not in html
    response = choose(client, "basic")  # forced anyway
    assert response["Location"] == PAGE
    scenario.account.refresh_from_db()
    assert scenario.account.plan.name == "pro"
    assert not scenario.fake.posts(f"/v1/subscriptions/{scenario.subscription['id']}")
    assert "désactivez 2 commerces" in client.get(PAGE).content.decode()

    Business.objects.filter(owner=scenario.account, name__in=["Deux", "Trois"]).update(
        is_active=False)
    choose(client, "basic", request_id="another-request-0001")
    scenario.account.refresh_from_db()
    assert scenario.account.plan.name == "basic"


def test_a_stripe_error_is_shown_as_5002_and_nothing_changes(client, subscriber, fake_stripe):
    fake_stripe.fail("post", "/v1/checkout/sessions")
    client.force_login(subscriber)
    response = choose(client, "pro")
    assert response["Location"] == PAGE
    html = client.get(PAGE).content.decode()
    assert "(erreur 5002)" in html
    assert "a été débité ni modifié" in html
    subscriber.refresh_from_db()
    assert (subscriber.subscription_status, subscriber.plan.name) == ("trial", "basic")


def test_the_portal_button_opens_stripe_s_portal(client, post_event, scenario):
    post_event(scenario.subscribe())
    client.force_login(scenario.account)
    response = client.post(reverse("billing:portal"))
    [session] = scenario.fake.of_type("billing_portal.session")
    assert response["Location"] == session["url"]
    assert session["customer"] == scenario.customer_id
    assert session["return_url"] == "https://waitify.test/billing/"


def test_invoices_are_listed_with_status_and_pdf_and_only_the_merchant_s_own(
        client, post_event, scenario, fake_stripe):
    post_event(scenario.subscribe())
    post_event(scenario.renewal_fails(attempt=1))
    other = make_merchant("other@example.fr", plan="pro")
    BillingAccount.objects.create(account=other, stripe_customer_id="cus_other")
    fake_stripe.add(so.customer(other, "cus_other"))
    other_scenario = Scenario(fake_stripe, other)
    post_event(other_scenario.subscribe())
    post_event(other_scenario.renewal_fails(attempt=1))
    client.force_login(scenario.account)
    html = client.get(PAGE).content.decode()
    assert scenario.invoice["invoice_pdf"] in html
    assert "En attente de paiement" in html
    assert other_scenario.invoice["invoice_pdf"] not in html


def test_the_page_queries_do_not_grow_with_invoices(client, post_event, scenario,
                                                    django_assert_max_num_queries):
    post_event(scenario.subscribe())
    for attempt in (1, 2):
        post_event(scenario.renewal_fails(attempt=attempt))
        post_event(scenario.payment_succeeds())
        scenario.invoice = None
    client.force_login(scenario.account)
    with django_assert_max_num_queries(16):
        assert client.get(PAGE).status_code == 200


def test_the_checkout_return_says_thank_you(client, merchant):
    client.force_login(merchant)
    assert "Merci" in client.get(PAGE + "?checkout=success").content.decode()
    assert "Paiement annulé" in client.get(PAGE + "?checkout=cancelled").content.decode()


# --- API --------------------------------------------------------------------------------------

@pytest.fixture
def api(subscriber) -> APIClient:
    from businesses.models import Plan

    subscriber.plan = Plan.objects.get(name="pro")  # API access comes with pro
    subscriber.save(update_fields=["plan"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=subscriber).key}")
    return client


def test_the_api_reports_this_month_s_usage(api, subscriber):
    shop = business_services.business_create(owner=subscriber, name="A", business_type="other")
    send_sms(shop, 2600, month=selectors.month_of())
    body = api.get("/api/v1/billing/usage").json()
    assert body["plan"] == "pro" and body["active_businesses"] == 1
    assert body["sms"] == {"used": 2600, "included": 2500, "overage": 100,
                           "unit_cost_cents": 3, "overage_cost_cents": 300}


def test_the_api_returns_a_checkout_url(api, fake_stripe):
    response = api.post("/api/v1/billing/plans/enterprise/choose",
                        HTTP_IDEMPOTENCY_KEY="key-0000-0001")
    assert response.status_code == 200
    assert response.json()["checkout_url"].startswith("https://checkout.stripe.com/")


def test_the_api_answers_5002_when_stripe_fails(api, fake_stripe):
    fake_stripe.fail("post", "/v1/checkout/sessions")
    response = api.post("/api/v1/billing/plans/enterprise/choose")
    assert response.status_code == 502
    assert response.json()["code"] == 5002 and response.json()["message"]


def test_the_api_refuses_a_downgrade_with_the_reason(api, subscriber, fake_stripe):
    for name in ("A", "B"):
        business_services.business_create(owner=subscriber, name=name, business_type="other")
    response = api.post("/api/v1/billing/plans/basic/choose")
    assert response.status_code == 409
    assert response.json()["error"] == "plan_refused"
    assert response.json()["max_businesses"] == 1 and response.json()["active_businesses"] == 2

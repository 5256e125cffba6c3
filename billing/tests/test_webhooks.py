"""POST /billing/webhooks: signature, once-only processing, order, failures rolled back."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from djstripe.models import Event as StripeEvent
from djstripe.models import Subscription as StripeSubscription
from djstripe.models import WebhookEventTrigger

from billing import services
from billing.models import BillingAccount, StripeWebhookEvent
from billing.tests import stripe_objects as so
from billing.tests.conftest import Scenario


def _state(account) -> tuple[str, str]:
    account.refresh_from_db()
    return account.subscription_status, account.plan.name


def test_subscription_created_activates_the_account_on_its_plan(post_event, scenario):
    payload = scenario.subscribe()
    response = post_event(payload)
    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "duplicate": False}
    assert _state(scenario.account) == ("active", "pro")
    assert StripeWebhookEvent.objects.get(stripe_id=payload["id"]).account == scenario.account
    assert StripeEvent.objects.filter(id=payload["id"]).exists()  # dj-stripe's copy
    billing = BillingAccount.objects.get(account=scenario.account)
    assert billing.stripe_subscription_id == scenario.subscription["id"]
    assert billing.stripe_subscription_status == "active"


def test_checkout_completed_links_the_customer_and_activates(post_event, stripe_plans,
                                                             fake_stripe):
    from businesses.tests.factories import make_merchant

    account = make_merchant("new@example.fr", plan="basic")
    customer = fake_stripe.add(so.customer(account))
    sub = fake_stripe.add(so.subscription(customer_id=customer["id"],
                                          price_obj=fake_stripe.objects["price_enterprise"]))
    session = fake_stripe.add(so.checkout_session(account=account, customer_id=customer["id"],
                                                  subscription_id=sub["id"]))
    response = post_event(so.event("checkout.session.completed", session))
    assert response.status_code == 200, response.content
    assert _state(account) == ("active", "enterprise")
    assert BillingAccount.objects.get(account=account).stripe_customer_id == customer["id"]


# --- Signature -----------------------------------------------------------------------------------

@pytest.mark.parametrize("tamper", ["bad_signature", "missing_header", "stale_timestamp",
                                    "other_secret", "garbage_header"])
def test_an_unverifiable_delivery_is_a_400_and_changes_nothing(post_event, scenario, tamper):
    payload = scenario.subscribe()
    kwargs = {
        "bad_signature": {"header": f"t={int(time.time())},v1={'0' * 64}"},
        "missing_header": {"header": ""},
        "stale_timestamp": {"timestamp": int(time.time()) - 3600},
        "other_secret": {"secret": "whsec_someone_else"},
        "garbage_header": {"header": "nonsense"},
    }[tamper]
    response = post_event(payload, **kwargs)
    assert response.status_code == 400
    assert _state(scenario.account) == ("trial", "basic")
    assert not StripeWebhookEvent.objects.exists()
    assert not StripeEvent.objects.exists()
    assert scenario.fake.requests == []  # nothing was even fetched


def test_a_body_changed_after_signing_is_refused(client, scenario):
    payload = scenario.subscribe()
    header = so.signature(b'{"id": "evt_other"}', "whsec_test_waitify_billing")
    response = so.deliver(client, payload, header=header)
    assert response.status_code == 400
    assert not StripeWebhookEvent.objects.exists()


def test_webhooks_answer_503_while_stripe_is_not_configured(client, scenario, settings):
    settings.STRIPE_ENABLED = False
    response = so.deliver(client, scenario.subscribe())
    assert response.status_code == 503
    assert not StripeWebhookEvent.objects.exists()


# --- Once only -----------------------------------------------------------------------------------

def test_the_same_event_delivered_three_times_is_applied_once(post_event, scenario):
    post_event(scenario.subscribe())
    payload = scenario.renewal_fails(attempt=1)
    answers = [post_event(payload) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    assert StripeWebhookEvent.objects.filter(stripe_id=payload["id"]).count() == 1
    assert len(mail.outbox) == 1  # one "payment failed" e-mail, not three
    assert _state(scenario.account) == ("past_due", "pro")
    invoice_fetches = [r for r in scenario.fake.requests
                       if r[0] == "get" and r[1] == f"/v1/invoices/{scenario.invoice['id']}"]
    assert len(invoice_fetches) == 1  # the duplicates touched nothing


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_three_times_at_once_is_applied_once(scenario, fake_stripe):
    so.deliver(Client(), scenario.subscribe())
    payload = scenario.renewal_fails(attempt=1)
    fake_stripe.delay = 0.05  # Stripe answers slowly: the three deliveries overlap
    barrier = threading.Barrier(3)
    answers: list = []

    def deliver() -> None:
        try:
            barrier.wait()
            answers.append(so.deliver(Client(), payload))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [200, 200, 200]
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True, True]
    assert StripeWebhookEvent.objects.filter(stripe_id=payload["id"]).count() == 1
    assert StripeEvent.objects.filter(id=payload["id"]).count() == 1
    assert len(mail.outbox) == 1
    assert _state(scenario.account) == ("past_due", "pro")


# --- Order ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", list(itertools.permutations(["created", "failed", "deleted"])))
def test_any_order_of_created_failed_deleted_ends_cancelled(post_event, scenario, order):
    # Stripe's objects are already in their final state when the events arrive,
    # as with delayed or retried deliveries: every fetch returns the latest object.
    events = {"created": scenario.subscribe(), "failed": scenario.renewal_fails(attempt=1),
              "deleted": scenario.cancel()}
    for name in order:
        assert post_event(events[name]).status_code == 200
    assert _state(scenario.account) == ("cancelled", "pro")
    assert BillingAccount.objects.get(account=scenario.account).stripe_subscription_status \
        == "canceled"
    assert mail.outbox == []  # the failure was settled by the cancellation: no dunning


@pytest.mark.parametrize("order", list(itertools.permutations(["created", "failed", "paid"])))
def test_any_order_of_created_failed_paid_ends_active(post_event, scenario, order):
    events = {"created": scenario.subscribe(), "failed": scenario.renewal_fails(attempt=1),
              "paid": scenario.payment_succeeds()}
    for name in order:
        assert post_event(events[name]).status_code == 200
    assert _state(scenario.account) == ("active", "pro")
    assert BillingAccount.objects.get(account=scenario.account).failed_payment_count == 0


def test_a_late_first_failure_after_the_second_keeps_the_account_read_only(post_event,
                                                                          scenario):
    post_event(scenario.subscribe())
    first = scenario.renewal_fails(attempt=1)
    second = scenario.renewal_fails(attempt=2)
    post_event(second)
    post_event(first)  # arrives late: the invoice fetched says 2 attempts
    assert _state(scenario.account) == ("read_only", "pro")
    assert [m.subject for m in mail.outbox] == ["Waitify : votre compte est en lecture seule"]


def test_an_event_about_an_old_subscription_does_not_undo_the_new_one(post_event, scenario,
                                                                      fake_stripe):
    post_event(scenario.subscribe())
    old_deleted = scenario.cancel()
    new = Scenario(fake_stripe, scenario.account, plan="enterprise")
    post_event(new.subscribe())
    post_event(old_deleted)  # late news about the first subscription
    assert _state(scenario.account) == ("active", "enterprise")


def test_an_event_about_a_stranger_is_acknowledged_and_ignored(post_event, stripe_plans,
                                                               fake_stripe, merchant):
    customer = fake_stripe.add({"id": "cus_stranger", "object": "customer", "email": "x@y.z",
                                "metadata": {}, "created": so.NOW, "livemode": False})
    sub = fake_stripe.add(so.subscription(customer_id=customer["id"],
                                          price_obj=fake_stripe.objects["price_pro"]))
    response = post_event(so.event("customer.subscription.created", sub))
    assert response.status_code == 200
    assert StripeSubscription.objects.filter(id=sub["id"]).exists()
    merchant.refresh_from_db()
    assert merchant.subscription_status == "trial"


# --- Failures -------------------------------------------------------------------------------------

def test_a_failure_in_a_handler_answers_500_applies_nothing_and_the_retry_applies_once(
        post_event, scenario, monkeypatch):
    post_event(scenario.subscribe())
    payload = scenario.renewal_fails(attempt=2)
    real_sync = services.account_sync_from_stripe

    def broken(**kwargs):
        real_sync(**kwargs)  # writes the new state… then fails before the commit
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "account_sync_from_stripe", broken)
    response = post_event(payload)
    assert response.status_code == 500
    assert _state(scenario.account) == ("active", "pro")
    assert not StripeWebhookEvent.objects.filter(stripe_id=payload["id"]).exists()
    assert not StripeEvent.objects.filter(id=payload["id"]).exists()
    assert BillingAccount.objects.get(account=scenario.account).failed_payment_count == 0
    assert mail.outbox == []

    monkeypatch.setattr(services, "account_sync_from_stripe", real_sync)
    assert post_event(payload).json()["duplicate"] is False  # Stripe's retry
    assert post_event(payload).json()["duplicate"] is True
    assert _state(scenario.account) == ("read_only", "pro")
    assert StripeWebhookEvent.objects.filter(stripe_id=payload["id"]).count() == 1
    assert len(mail.outbox) == 1


def test_stripe_unreachable_while_processing_answers_500_and_applies_nothing(post_event,
                                                                              scenario):
    post_event(scenario.subscribe())
    payload = scenario.renewal_fails(attempt=1)
    scenario.fake.fail("get", "/v1/subscriptions/")
    assert post_event(payload).status_code == 500
    assert _state(scenario.account) == ("active", "pro")
    assert not StripeWebhookEvent.objects.filter(stripe_id=payload["id"]).exists()
    scenario.fake.failures.clear()
    assert post_event(payload).status_code == 200
    assert _state(scenario.account) == ("past_due", "pro")


# --- Forged or malformed deliveries: a 400, never a 500 -------------------------------------

def _deliver_raw(client, body: bytes, header: str | None = None):
    header = header or so.signature(body, "whsec_test_waitify_billing")
    return client.post("/billing/webhooks", data=body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=header)


def test_a_signature_with_a_non_ascii_character_is_a_400(client, scenario):
    payload = scenario.subscribe()
    response = so.deliver(client, payload, header=f"t={int(time.time())},v1=é{'0' * 63}")
    assert response.status_code == 400
    assert not StripeWebhookEvent.objects.exists()
    assert _state(scenario.account) == ("trial", "basic")


def _signed_event_body(**changes) -> bytes:
    return json.dumps(so.event("customer.subscription.updated", {"id": "sub_1"}) | changes,
                      ).encode()


@pytest.mark.parametrize("body", [
    pytest.param(b'{"id": "evt_deep", "type": "invoice.paid", "data": {"object": '
                 + b"[" * 100_000 + b"]" * 100_000 + b"}}", id="nested-100000-deep"),
    pytest.param(_signed_event_body(id="evt_" + "x" * 300), id="id-of-304-characters"),
    pytest.param(_signed_event_body(id="evt_\x00nul"), id="id-with-nul"),
    pytest.param(_signed_event_body(type="invoice.\x00paid"), id="type-with-nul"),
    pytest.param(_signed_event_body(data={"object": {"id": "sub_1", "note": "a\x00b"}}),
                 id="nul-deep-in-the-object"),
    pytest.param(_signed_event_body(data={"object": {"id": "sub_" + "9" * 300}}),
                 id="object-id-of-304-characters"),
    pytest.param(b'["not", "an", "event"]', id="a-list"),
])
def test_a_signed_but_malformed_event_is_a_400_and_kept_as_refused(client, scenario, body):
    response = _deliver_raw(client, body)
    assert response.status_code == 400
    assert response.content.startswith(b"Malformed event")
    refused = WebhookEventTrigger.objects.get()
    assert (refused.valid, refused.processed) == (True, False)
    assert refused.exception.startswith("refused: ")
    assert refused.headers["Stripe-Signature"].startswith("t=")
    assert not StripeWebhookEvent.objects.exists()
    assert not StripeEvent.objects.exists()
    assert _state(scenario.account) == ("trial", "basic")


def test_an_unsigned_malformed_body_is_refused_without_a_record(client, scenario):
    body = b"[" * 100_000
    response = _deliver_raw(client, body, header=f"t={int(time.time())},v1={'0' * 64}")
    assert response.status_code == 400
    assert not WebhookEventTrigger.objects.exists()

"""Billing test set-up: Stripe switched on with test keys, its API answered by a fake."""

from __future__ import annotations

import pytest
import stripe

from billing.models import BillingAccount
from billing.tests import stripe_objects as so
from billing.tests.fake_stripe import FakeStripe
from businesses.models import Plan
from businesses.tests.factories import make_merchant

WEBHOOK_SECRET = "whsec_test_waitify_billing"
TEST_SECRET_KEY = "sk_test_" + "WaitifyFakeKey" + "0" * 16  # the shape dj-stripe checks


@pytest.fixture
def stripe_on(settings):
    settings.STRIPE_SECRET_KEY = TEST_SECRET_KEY
    settings.STRIPE_ENABLED = True
    settings.DJSTRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    return settings


@pytest.fixture
def fake_stripe(stripe_on, monkeypatch) -> FakeStripe:
    fake = FakeStripe()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    monkeypatch.setattr(stripe, "api_key", TEST_SECRET_KEY)
    return fake


@pytest.fixture
def stripe_plans(fake_stripe, plans) -> dict[str, Plan]:
    """The plans with their Stripe products and prices (as stripe_sync_plans leaves them)."""
    for plan in plans.values():
        fake_stripe.add(so.product(plan))
        price = fake_stripe.add(so.price(plan))
        Plan.objects.filter(pk=plan.pk).update(stripe_price_id=price["id"])
        plan.stripe_price_id = price["id"]
    return plans


@pytest.fixture
def subscriber(stripe_plans, fake_stripe):
    """A merchant on the basic plan's trial, already known to Stripe as a customer."""
    account = make_merchant("client@example.fr", plan="basic", first_name="Paul")
    customer = fake_stripe.add(so.customer(account))
    BillingAccount.objects.create(account=account, stripe_customer_id=customer["id"])
    return account


def customer_id_of(account) -> str:
    return BillingAccount.objects.get(account=account).stripe_customer_id


class Scenario:
    """One subscriber's life at Stripe: each step changes the fake's objects (what a
    fetch returns from then on) and returns the event Stripe would send about it."""

    def __init__(self, fake: FakeStripe, account, plan: str = "pro") -> None:
        self.fake, self.account = fake, account
        self.customer_id = customer_id_of(account)
        self.price = fake.objects[f"price_{plan}"]
        self.subscription: dict | None = None
        self.invoice: dict | None = None

    def subscribe(self) -> dict:
        self.subscription = self.fake.add(so.subscription(
            customer_id=self.customer_id, price_obj=self.price, account=self.account))
        self.invoice = self._new_invoice(status="paid")
        return so.event("customer.subscription.created", self.subscription)

    def _new_invoice(self, *, status: str, attempt_count: int = 0) -> dict:
        invoice = self.fake.add(so.invoice(
            customer_id=self.customer_id, subscription_id=self.subscription["id"],
            status=status, attempt_count=attempt_count, amount=self.price["unit_amount"]))
        self.subscription["latest_invoice"] = invoice["id"]
        return invoice

    def renewal_fails(self, attempt: int) -> dict:
        """The month's invoice fails for the `attempt`-th time."""
        if self.invoice is None or self.invoice["status"] == "paid":
            self.invoice = self._new_invoice(status="open")
        self.invoice.update(status="open", attempt_count=attempt, attempted=True)
        self.subscription["status"] = "past_due"
        return so.event("invoice.payment_failed", self.invoice)

    def payment_succeeds(self) -> dict:
        self.invoice.update(status="paid", amount_paid=self.invoice["total"],
                            amount_remaining=0)
        self.invoice["status_transitions"]["paid_at"] = so.NOW
        self.subscription["status"] = "active"
        return so.event("invoice.payment_succeeded", self.invoice)

    def cancel(self) -> dict:
        self.subscription.update(status="canceled", canceled_at=so.NOW, ended_at=so.NOW)
        return so.event("customer.subscription.deleted", self.subscription)


@pytest.fixture
def scenario(subscriber, fake_stripe) -> Scenario:
    return Scenario(fake_stripe, subscriber)


@pytest.fixture
def post_event(client, django_capture_on_commit_callbacks):
    """Deliver a signed event; e-mails queued on commit are sent (test transaction)."""
    def _post(payload: dict, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return so.deliver(client, payload, **kwargs)
    return _post

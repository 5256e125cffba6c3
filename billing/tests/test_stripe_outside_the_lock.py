"""Stripe is called before the account is locked (fetch, then lock, derive and write), and
its client has an explicit timeout and retries: a slow Stripe never holds the lock every
change of the account waits on."""

from __future__ import annotations

import threading

import pytest
import stripe
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import Client

from billing import gateway
from billing.models import BillingAccount
from billing.tests import stripe_objects as so
from billing.tests.conftest import Scenario
from businesses.models import User


def account_is_locked(account_id) -> bool:
    """Whether another transaction holds the account's lock (`_lock_account`), asked from
    a second connection that does not wait."""
    answer: list[bool] = []

    def probe() -> None:
        try:
            with transaction.atomic():
                # NO KEY UPDATE: an insert that merely points at the account (the event's
                # row) does not count, the lock taken before deriving the state does.
                for model, lookup in ((User, "pk"), (BillingAccount, "account_id")):
                    list(model.objects.select_for_update(nowait=True, no_key=True)
                         .filter(**{lookup: account_id}).values_list("pk", flat=True))
            answer.append(False)
        except DatabaseError:
            answer.append(True)
        finally:
            connection.close()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(timeout=10)
    return answer == [True]


@pytest.fixture
def calls_under_lock(scenario: Scenario) -> list[str]:
    seen: list[str] = []

    def check(method: str, path: str) -> None:
        if account_is_locked(scenario.account.pk):
            seen.append(f"{method.upper()} {path}")

    scenario.fake.on_request = check
    yield seen
    scenario.fake.on_request = None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_stripe_call_is_made_while_the_account_is_locked(scenario, calls_under_lock):
    client = Client()
    for payload in (scenario.subscribe(), scenario.renewal_fails(attempt=1),
                    scenario.renewal_fails(attempt=2), scenario.payment_succeeds(),
                    scenario.cancel()):
        assert so.deliver(client, payload).status_code == 200
    made = len(scenario.fake.requests)

    assert made > 5  # the events' objects and the invoices were fetched…
    assert calls_under_lock == []  # …none of them under the account's lock
    scenario.account.refresh_from_db()
    assert scenario.account.subscription_status == "cancelled"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_failed_payment_stage_is_derived_from_the_invoice_fetched_before_the_lock(
        scenario, calls_under_lock):
    client = Client()
    so.deliver(client, scenario.subscribe())
    so.deliver(client, scenario.renewal_fails(attempt=1))
    scenario.renewal_fails(attempt=2)

    # A subscription event names no invoice: the sync fetches the latest one itself.
    so.deliver(client, so.event("customer.subscription.updated", scenario.subscription))

    scenario.account.refresh_from_db()
    assert scenario.account.subscription_status == "read_only"
    assert BillingAccount.objects.get(account=scenario.account).failed_payment_count == 2
    assert calls_under_lock == []


def test_the_stripe_client_has_an_explicit_timeout_and_retries(monkeypatch):
    monkeypatch.setattr(stripe, "default_http_client", None)
    monkeypatch.setattr(stripe, "max_network_retries", 0)

    gateway.configure_client()

    assert stripe.max_network_retries == settings.STRIPE_MAX_NETWORK_RETRIES == 2
    assert stripe.default_http_client._timeout == settings.STRIPE_TIMEOUT_SECONDS == 10

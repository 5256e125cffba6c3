"""Every call billing makes to Stripe's API, in one place (the network edge tests stub).

Each function takes ids and plain values and returns Stripe's answer (a StripeObject,
which reads like a dict and is what dj-stripe's sync expects).
A Stripe failure of any kind becomes `BillingError` 5002: the caller has changed
nothing yet, so the merchant can simply try again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import stripe
from django.conf import settings

from billing.errors import stripe_unavailable

logger = logging.getLogger("waitify.billing")

CURRENCY = "eur"


def configure_client() -> None:
    """Explicit timeout and retries for every Stripe call, dj-stripe's included (both use
    the library's module-wide client). Retried POSTs carry an idempotency key (ours, or
    the one the library adds), so a retry never charges or creates twice."""
    stripe.max_network_retries = settings.STRIPE_MAX_NETWORK_RETRIES
    stripe.default_http_client = stripe.new_default_http_client(
        timeout=settings.STRIPE_TIMEOUT_SECONDS)


def options() -> dict[str, str]:
    return {"api_key": settings.STRIPE_SECRET_KEY, "stripe_version": settings.STRIPE_API_VERSION}


@contextmanager
def stripe_errors(action: str) -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as exc:
        logger.warning("stripe call failed: %s (%s: %s)", action, exc.__class__.__name__,
                       getattr(exc, "user_message", None) or exc)
        raise stripe_unavailable() from exc


def subscription_retrieve(subscription_id: str) -> dict:
    with stripe_errors("retrieve subscription"):
        return stripe.Subscription.retrieve(subscription_id, **options())


def invoice_retrieve(invoice_id: str) -> dict:
    with stripe_errors("retrieve invoice"):
        return stripe.Invoice.retrieve(invoice_id, **options())


def checkout_session_create(*, customer_id: str, price_id: str, account_id: str,
                            plan_name: str, success_url: str, cancel_url: str,
                            idempotency_key: str) -> dict:
    metadata = {"waitify_account": account_id, "waitify_plan": plan_name}
    with stripe_errors("create checkout session"):
        return stripe.checkout.Session.create(
            mode="subscription",
            customer=customer_id,
            client_reference_id=account_id,
            line_items=[{"price": price_id, "quantity": 1}],
            success_url=success_url,
            cancel_url=cancel_url,
            metadata=metadata,
            subscription_data={"metadata": metadata},
            idempotency_key=idempotency_key,
            **options(),
        )


def portal_session_create(*, customer_id: str, return_url: str) -> dict:
    with stripe_errors("create portal session"):
        return stripe.billing_portal.Session.create(
            customer=customer_id, return_url=return_url, **options())


def subscription_change_price(*, subscription_id: str, item_id: str, price_id: str,
                              plan_name: str, idempotency_key: str) -> dict:
    with stripe_errors("change subscription price"):
        return stripe.Subscription.modify(
            subscription_id,
            items=[{"id": item_id, "price": price_id}],
            proration_behavior="create_prorations",
            metadata={"waitify_plan": plan_name},
            idempotency_key=idempotency_key,
            **options(),
        )


def invoice_item_find(*, customer_id: str, usage_record_id: str) -> dict | None:
    """The pending invoice item an interrupted run may already have created."""
    with stripe_errors("list invoice items"):
        items = stripe.InvoiceItem.list(customer=customer_id, pending=True, limit=100,
                                        **options())
        for item in items.auto_paging_iter():
            if (item.get("metadata") or {}).get("waitify_usage_record") == usage_record_id:
                return item
    return None


def invoice_item_create(*, customer_id: str, amount_cents: int, description: str,
                        period_start: int, period_end: int, usage_record_id: str,
                        idempotency_key: str) -> dict:
    with stripe_errors("create invoice item"):
        return stripe.InvoiceItem.create(
            customer=customer_id,
            amount=amount_cents,
            currency=CURRENCY,
            description=description,
            period={"start": period_start, "end": period_end},
            metadata={"waitify_usage_record": usage_record_id},
            idempotency_key=idempotency_key,
            **options(),
        )


# --- Products and prices (manage.py stripe_sync_plans) ------------------------------------

def product_ensure(*, product_id: str, name: str, description: str, active: bool) -> dict:
    """The plan's product under a fixed id, created or brought up to date."""
    with stripe_errors("ensure product"):
        try:
            product = stripe.Product.retrieve(product_id, **options())
        except stripe.InvalidRequestError as exc:
            if getattr(exc, "http_status", None) != 404:
                raise
            return stripe.Product.create(id=product_id, name=name, description=description,
                                         active=active, **options())
        if (product.get("name"), product.get("description"), product.get("active")) != (
                name, description, active):
            product = stripe.Product.modify(product_id, name=name, description=description,
                                            active=active, **options())
        return product


def monthly_price_ensure(*, product_id: str, lookup_key: str, amount_cents: int) -> dict:
    """The active monthly price under `lookup_key`; a new one if the amount changed.

    The lookup key makes a re-run (or a run interrupted after the create) find
    the price instead of creating a second one."""
    with stripe_errors("ensure price"):
        found = stripe.Price.list(lookup_keys=[lookup_key], active=True, limit=1, **options())
        current = found.data[0] if found.data else None
        if current is not None and (
            current.get("unit_amount") == amount_cents
            and current.get("currency") == CURRENCY
            and current.get("product") == product_id
            and (current.get("recurring") or {}).get("interval") == "month"
        ):
            return current
        price = stripe.Price.create(
            product=product_id, unit_amount=amount_cents, currency=CURRENCY,
            recurring={"interval": "month"}, lookup_key=lookup_key, transfer_lookup_key=True,
            **options())
        if current is not None:
            # Subscriptions on the old price keep it; new ones get the new price.
            stripe.Price.modify(current["id"], active=False, **options())
        return price

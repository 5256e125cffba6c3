"""Stripe objects as the pinned API version sends them, and signed webhook deliveries."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time

from django.conf import settings

_counter = itertools.count(1)
NOW = int(time.time())


def _next(prefix: str) -> str:
    return f"{prefix}_{next(_counter):06d}"


def customer(account, customer_id: str | None = None) -> dict:
    return {"id": customer_id or _next("cus"), "object": "customer", "created": NOW,
            "email": account.email, "name": account.get_full_name(), "livemode": False,
            "metadata": {"djstripe_subscriber": str(account.pk)}, "balance": 0,
            "currency": "eur", "delinquent": False, "description": None, "discount": None,
            "invoice_settings": {"default_payment_method": None}}


def product(plan) -> dict:
    return {"id": f"waitify_{plan.name}", "object": "product", "name": f"Waitify {plan.title}",
            "description": "", "active": True, "created": NOW, "livemode": False,
            "metadata": {}, "type": "service"}


def price(plan, price_id: str | None = None) -> dict:
    return {"id": price_id or f"price_{plan.name}", "object": "price", "active": True,
            "currency": "eur", "unit_amount": plan.price_cents, "product": f"waitify_{plan.name}",
            "type": "recurring", "billing_scheme": "per_unit", "created": NOW,
            "livemode": False, "lookup_key": f"waitify_{plan.name}_monthly", "metadata": {},
            "nickname": None, "recurring": {"interval": "month", "interval_count": 1,
                                            "usage_type": "licensed"},
            "tax_behavior": "unspecified", "tiers_mode": None, "transform_quantity": None}


def subscription(*, customer_id: str, price_obj: dict, status: str = "active",
                 latest_invoice: str | None = None, subscription_id: str | None = None,
                 created: int | None = None, account=None) -> dict:
    sub_id = subscription_id or _next("sub")
    return {
        "id": sub_id, "object": "subscription", "customer": customer_id, "status": status,
        "created": created or NOW, "livemode": False, "latest_invoice": latest_invoice,
        "metadata": {"waitify_account": str(account.pk)} if account else {},
        "cancel_at_period_end": False, "canceled_at": NOW if status == "canceled" else None,
        "ended_at": NOW if status == "canceled" else None, "collection_method":
        "charge_automatically", "billing_cycle_anchor": NOW, "start_date": NOW,
        "currency": "eur", "default_payment_method": None, "discounts": [],
        "items": {"object": "list", "has_more": False, "url": "/v1/subscription_items",
                  "data": [{"id": f"si_{sub_id}", "object": "subscription_item",
                            "created": NOW, "metadata": {}, "price": price_obj, "quantity": 1,
                            "subscription": sub_id, "current_period_start": NOW,
                            "current_period_end": NOW + 30 * 86400, "tax_rates": [],
                            "discounts": []}]},
    }


def invoice(*, customer_id: str, subscription_id: str | None, status: str = "open",
            attempt_count: int = 0, amount: int = 1900, invoice_id: str | None = None,
            invoice_item_ids: tuple[str, ...] = ()) -> dict:
    inv_id = invoice_id or _next("in")
    lines = [{"id": f"il_{inv_id}_{item}", "object": "line_item", "amount": 702,
              "currency": "eur", "description": "Extra SMS", "livemode": False,
              "metadata": {}, "period": {"start": NOW, "end": NOW}, "quantity": 1,
              "parent": {"type": "invoice_item_details",
                         "invoice_item_details": {"invoice_item": item}}}
             for item in invoice_item_ids]
    paid = status == "paid"
    return {
        "id": inv_id, "object": "invoice", "customer": customer_id, "status": status,
        "attempt_count": attempt_count, "attempted": attempt_count > 0, "created": NOW,
        "livemode": False, "metadata": {}, "currency": "eur", "number": f"W-{inv_id[-4:]}",
        "total": amount, "subtotal": amount, "amount_due": amount,
        "amount_paid": amount if paid else 0, "amount_remaining": 0 if paid else amount,
        "collection_method": "charge_automatically", "billing_reason": "subscription_cycle",
        "invoice_pdf": f"https://pay.stripe.com/invoice/{inv_id}/pdf",
        "hosted_invoice_url": f"https://invoice.stripe.com/i/{inv_id}",
        "period_start": NOW, "period_end": NOW, "discounts": [], "auto_advance": not paid,
        "next_payment_attempt": None if paid else NOW + 86400,
        "status_transitions": {"paid_at": NOW if paid else None, "finalized_at": NOW},
        "parent": {"type": "subscription_details", "quote_details": None,
                   "subscription_details": {"subscription": subscription_id,
                                            "metadata": {}}} if subscription_id else None,
        "lines": {"object": "list", "data": lines, "has_more": False,
                  "url": f"/v1/invoices/{inv_id}/lines"},
    }


def checkout_session(*, account, customer_id: str, subscription_id: str) -> dict:
    session_id = _next("cs_test")
    return {"id": session_id, "object": "checkout.session", "mode": "subscription",
            "status": "complete", "payment_status": "paid", "customer": customer_id,
            "subscription": subscription_id, "client_reference_id": str(account.pk),
            "created": NOW, "livemode": False, "metadata": {"waitify_account": str(account.pk)},
            "url": None, "success_url": "https://waitify.test/billing/?checkout=success",
            "cancel_url": "https://waitify.test/billing/?checkout=cancelled",
            "currency": "eur", "amount_total": 1900, "payment_intent": None}


def event(event_type: str, obj: dict, *, event_id: str | None = None,
          created: int | None = None) -> dict:
    return {"id": event_id or _next("evt"), "object": "event",
            "api_version": settings.STRIPE_API_VERSION, "created": created or int(time.time()),
            "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": event_type}


def signature(body: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def deliver(client, payload: dict, *, secret: str | None = None, timestamp: int | None = None,
            header: str | None = None):
    """POST an event to /billing/webhooks as Stripe does, signed with the endpoint secret."""
    body = json.dumps(payload).encode()
    headers = {}
    if header is None:
        header = signature(body, secret or settings.DJSTRIPE_WEBHOOK_SECRET, timestamp)
    if header:
        headers["HTTP_STRIPE_SIGNATURE"] = header
    return client.post("/billing/webhooks", data=body, content_type="application/json",
                       **headers)

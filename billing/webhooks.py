"""POST /billing/webhooks: Stripe's events, verified, applied once, in one transaction.

The view checks the signature (and its age), then hands the event to
`services.webhook_event_apply`, which records it and lets dj-stripe fetch the
event's object back from the API and send the event's signal; the receivers
below turn that into the account's new state. Any failure rolls everything back
and answers 500, so Stripe delivers the event again later.
"""

from __future__ import annotations

import json
import logging

import stripe
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from djstripe.models import Event as StripeEvent
from djstripe.models import Invoice as StripeInvoice
from djstripe.models import Session as StripeCheckoutSession
from djstripe.models import Subscription as StripeSubscription
from djstripe.signals import WEBHOOK_SIGNALS

from billing import services

logger = logging.getLogger("waitify.billing")

SUBSCRIPTION_EVENTS = ("customer.subscription.created", "customer.subscription.updated",
                       "customer.subscription.deleted")
INVOICE_EVENTS = ("invoice.payment_succeeded", "invoice.payment_failed", "invoice.paid")
CHECKOUT_EVENTS = ("checkout.session.completed",)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    secret = settings.DJSTRIPE_WEBHOOK_SECRET
    if not (settings.STRIPE_ENABLED and secret):
        return HttpResponse("Stripe is not configured.", status=503, content_type="text/plain")
    signature = request.headers.get("Stripe-Signature", "")
    try:
        # Checks the HMAC and refuses a timestamp older than the tolerance (replays).
        stripe.WebhookSignature.verify_header(
            request.body.decode("utf-8"), signature, secret,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE)
        payload = json.loads(request.body)
    except (stripe.SignatureVerificationError, ValueError):
        payload = None
    if not (isinstance(payload, dict) and payload.get("id") and payload.get("type")):
        return HttpResponse("Invalid signature or payload.", status=400,
                            content_type="text/plain")
    try:
        applied = services.webhook_event_apply(payload=payload)
    except Exception:
        logger.exception("stripe event %s (%s) failed: rolled back, Stripe will retry",
                         payload.get("id"), payload.get("type"))
        return HttpResponse("Processing failed; retry later.", status=500,
                            content_type="text/plain")
    return JsonResponse({"received": True, "duplicate": not applied})


# --- Receivers of dj-stripe's event signals (sent after it synced the event's object) ------------

def _object_id(event: StripeEvent) -> str:
    return ((event.data or {}).get("object") or {}).get("id") or ""


def on_subscription_event(sender, event: StripeEvent, **kwargs) -> None:
    subscription = StripeSubscription.objects.filter(id=_object_id(event)).first()
    if subscription is not None:  # None: gone at Stripe, dj-stripe skipped it
        services.subscription_event_apply(subscription=subscription)


def on_invoice_event(sender, event: StripeEvent, **kwargs) -> None:
    invoice = StripeInvoice.objects.filter(id=_object_id(event)).first()
    if invoice is not None:
        services.invoice_event_apply(invoice=invoice)


def on_checkout_completed(sender, event: StripeEvent, **kwargs) -> None:
    session = StripeCheckoutSession.objects.filter(id=_object_id(event)).first()
    data = session.stripe_data if session is not None else event.data["object"]
    if data.get("mode") == "subscription":
        services.checkout_completed_apply(session=data)


def connect_receivers() -> None:
    for name in SUBSCRIPTION_EVENTS:
        WEBHOOK_SIGNALS[name].connect(on_subscription_event, sender=StripeEvent,
                                      dispatch_uid=f"waitify-billing-{name}")
    for name in INVOICE_EVENTS:
        WEBHOOK_SIGNALS[name].connect(on_invoice_event, sender=StripeEvent,
                                      dispatch_uid=f"waitify-billing-{name}")
    for name in CHECKOUT_EVENTS:
        WEBHOOK_SIGNALS[name].connect(on_checkout_completed, sender=StripeEvent,
                                      dispatch_uid=f"waitify-billing-{name}")

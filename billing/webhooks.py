"""POST /billing/webhooks: Stripe's events, verified, applied once, in one transaction.

The view checks the signature (and its age), then hands the event to
`services.webhook_event_apply`, which records it and lets dj-stripe fetch the
event's object back from the API and send the event's signal; the receivers
below turn that into the account's new state. Any failure rolls everything back
and answers 500, so Stripe delivers the event again later; an event that can
never be stored (malformed, though correctly signed) answers 400 and is kept
as a refused delivery.
"""

from __future__ import annotations

import ipaddress
import json
import logging

import stripe
from django.conf import settings
from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from djstripe.models import Event as StripeEvent
from djstripe.models import Invoice as StripeInvoice
from djstripe.models import Session as StripeCheckoutSession
from djstripe.models import Subscription as StripeSubscription
from djstripe.models import WebhookEventTrigger
from djstripe.signals import WEBHOOK_SIGNALS

from billing import services
from waitify.lib.client_ip import client_ip

logger = logging.getLogger("waitify.billing")

SUBSCRIPTION_EVENTS = ("customer.subscription.created", "customer.subscription.updated",
                       "customer.subscription.deleted")
INVOICE_EVENTS = ("invoice.payment_succeeded", "invoice.payment_failed", "invoice.paid")
CHECKOUT_EVENTS = ("checkout.session.completed",)


# Stripe's ids are short ("evt_…", "sub_…") and its objects a few levels deep: a
# signed event past these bounds is malformed, not something to retry.
MAX_ID_LENGTH = 255
MAX_DEPTH = 64
MAX_KEPT_BODY = 65_536  # bytes of a refused body kept for staff to read


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    secret = settings.DJSTRIPE_WEBHOOK_SECRET
    if not (settings.STRIPE_ENABLED and secret):
        return HttpResponse("Stripe is not configured.", status=503, content_type="text/plain")
    signature = request.headers.get("Stripe-Signature", "")
    # A signature Stripe wrote is ASCII; anything else would make the HMAC
    # comparison raise instead of answering "no".
    if signature.isascii():
        try:
            # Checks the HMAC and refuses a timestamp older than the tolerance (replays).
            stripe.WebhookSignature.verify_header(
                request.body.decode("utf-8"), signature, secret,
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE)
        except (stripe.SignatureVerificationError, ValueError):
            pass
        else:
            return _signed_event(request)
    return HttpResponse("Invalid signature or payload.", status=400, content_type="text/plain")


def _signed_event(request: HttpRequest) -> HttpResponse:
    try:
        payload = json.loads(request.body)
    except (ValueError, RecursionError):
        return _refuse(request, "not a JSON object")
    problem = malformed_event_problem(payload)
    if problem:
        return _refuse(request, problem)
    try:
        applied = services.webhook_event_apply(payload=payload)
    except (DataError, RecursionError) as exc:
        # The database or the parser cannot take this event, now or ever: retrying
        # forever would not help.
        return _refuse(request, f"unstorable event: {type(exc).__name__}")
    except Exception:
        logger.exception("stripe event %s (%s) failed: rolled back, Stripe will retry",
                         payload.get("id"), payload.get("type"))
        return HttpResponse("Processing failed; retry later.", status=500,
                            content_type="text/plain")
    return JsonResponse({"received": True, "duplicate": not applied})


def malformed_event_problem(payload) -> str:
    """Why a correctly signed payload is no event we can store ("" when it is fine)."""
    if not isinstance(payload, dict):
        return "not a JSON object"
    for field in ("id", "type"):
        value = payload.get(field)
        if not (isinstance(value, str) and value):
            return f"no {field}"
        if len(value) > MAX_ID_LENGTH:
            return f"{field} longer than {MAX_ID_LENGTH} characters"
    obj = (payload.get("data") or {}).get("object") if isinstance(payload.get("data"),
                                                                   dict) else None
    if not isinstance(obj, dict):
        return "no data.object"
    object_id = obj.get("id", "")
    if not isinstance(object_id, str) or len(object_id) > MAX_ID_LENGTH:
        return "bad data.object.id"
    # Walked with a stack, not recursion: the depth is what is being checked.
    stack = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return "NUL character"
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and "\x00" in value:
            return "NUL character"  # PostgreSQL stores no NUL in text or jsonb
    return ""


def _refuse(request: HttpRequest, reason: str) -> HttpResponse:
    """400, so Stripe stops retrying, and a trace for staff in dj-stripe's admin.

    dj-stripe's WebhookEventTrigger is its record of deliveries: `valid` (the
    signature was ours) but not `processed`, with the reason as its exception.
    """
    logger.warning("signed stripe event refused: %s", reason)
    body = request.body[:MAX_KEPT_BODY].decode("utf-8", "replace").replace("\x00", "\\x00")
    WebhookEventTrigger.objects.create(
        remote_ip=_ip_or_unknown(client_ip(request)),
        headers={key: value.encode("ascii", "replace").decode() for key, value
                 in request.headers.items()},
        body=body, valid=True, processed=False, exception=f"refused: {reason}"[:128])
    return HttpResponse(f"Malformed event: {reason}.", status=400, content_type="text/plain")


def _ip_or_unknown(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return "0.0.0.0"  # noqa: S104 - a record's placeholder, nothing listens on it


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

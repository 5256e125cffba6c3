"""Billing's background jobs: each takes ids, re-checks state and is safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation

from billing import selectors, services
from businesses.models import User

logger = logging.getLogger("waitify.billing")

NOTICE_KINDS = ("past_due", "read_only", "suspended", "restored", "trial_ended")


@shared_task(name="billing.expire_trials")
def expire_trials() -> int:
    return services.trials_expire()


@shared_task(name="billing.invoice_last_period_usage")
def invoice_last_period_usage() -> dict[str, int]:
    """Close last month for every account and put its extra SMS on the next invoice."""
    if not settings.STRIPE_ENABLED:
        return {}
    return services.usage_invoice_month(month=selectors.previous_month(selectors.month_of()))


@shared_task(name="billing.send_billing_notice", autoretry_for=(OSError,), retry_backoff=True,
             max_retries=5)
def send_billing_notice(account_id: str, kind: str) -> bool:
    """The e-mail that goes with a billing state: failed payment, read-only, suspended…"""
    if kind not in NOTICE_KINDS:
        raise ValueError(f"unknown billing notice {kind!r}")
    account = User.objects.select_related("plan", "billing").filter(pk=account_id).first()
    if account is None or not account.email:
        return False
    context = {"account": account, "billing_url": f"{settings.SITE_URL}/billing/",
               "failed_payments": getattr(getattr(account, "billing", None),
                                          "failed_payment_count", 0),
               "today": timezone.localdate()}
    with translation.override(account.language):
        subject = render_to_string(f"billing/emails/{kind}_subject.txt", context).strip()
        body = render_to_string(f"billing/emails/{kind}.txt", context)
    send_mail(subject, body, None, [account.email])
    return True

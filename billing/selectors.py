"""Reads for billing: the usage meter, invoices, the plan table.

Months are calendar months in the platform's time zone (Europe/Paris), and
SMS are counted by `queues.sms.usage.sms_usage`: the quota, the meter on the
billing page and the overage invoiced at the end of the month all use the
same bounds and the same count as the dashboard and the quota e-mails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from djstripe.models import Invoice as StripeInvoice
from djstripe.models import Subscription as StripeSubscription

from businesses.models import Business, Plan, PlatformSettings, User

# Billing's months are those SMS usage is counted in (re-exported for billing's callers).
from queues.sms.usage import month_bounds as month_bounds
from queues.sms.usage import month_of as month_of
from queues.sms.usage import next_month as next_month
from queues.sms.usage import sms_usage

# Stripe subscription states in which the account is (still) subscribed.
LIVE_SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "unpaid", "paused", "incomplete")
BILLED_SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "unpaid")


# --- Months ------------------------------------------------------------------------------------

def previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


# --- The meter ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class UsageMeter:
    month: date
    plan: Plan | None
    sms_included: int
    sms_used: int
    unit_cost_cents: int
    active_businesses: int
    by_business: list[dict] = field(default_factory=list)

    @property
    def max_businesses(self) -> int:
        return self.plan.max_businesses if self.plan else 1

    @property
    def sms_overage(self) -> int:
        return max(0, self.sms_used - self.sms_included)

    @property
    def sms_left(self) -> int:
        return max(0, self.sms_included - self.sms_used)

    @property
    def overage_cost_cents(self) -> int:
        return self.sms_overage * self.unit_cost_cents

    @property
    def sms_percent(self) -> int:
        if not self.sms_included:
            return 100 if self.sms_used else 0
        return round(100 * self.sms_used / self.sms_included)

    @property
    def sms_bar_percent(self) -> int:
        return min(100, self.sms_percent)

    @property
    def businesses_bar_percent(self) -> int:
        if self.max_businesses < 0:
            return 0
        return min(100, round(100 * self.active_businesses / max(1, self.max_businesses)))


def usage_meter(*, account: User, month: date | None = None) -> UsageMeter:
    usage = sms_usage(account, month or month_of())
    return UsageMeter(
        month=usage.month,
        plan=account.plan,
        sms_included=usage.quota,
        sms_used=usage.used,
        unit_cost_cents=PlatformSettings.load().sms_unit_cost_cents,
        active_businesses=Business.objects.filter(owner=account, is_active=True).count(),
        by_business=usage.by_business,
    )


# --- Stripe objects (synced by dj-stripe) ------------------------------------------------------

def stripe_id(value: Any) -> str:
    """An id from a field Stripe sends either as an id or as an expanded object."""
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def _customer_filter(account: User, customer_id: str = "") -> Q:
    condition = Q(customer__subscriber=account)
    if customer_id:
        condition |= Q(customer__id=customer_id)
    return condition


def account_subscriptions(*, account: User, customer_id: str = "") -> list[StripeSubscription]:
    return list(StripeSubscription.objects.filter(_customer_filter(account, customer_id)))


def current_subscription(subscriptions: list[StripeSubscription]) -> StripeSubscription | None:
    """The subscription that decides the account's state: the newest live one, else the
    newest one. A late event about an old, cancelled subscription changes nothing then."""
    def newest(subs: list[StripeSubscription]) -> StripeSubscription | None:
        epoch = datetime.min.replace(tzinfo=timezone.get_default_timezone())
        return max(subs, key=lambda sub: (sub.created or epoch, sub.id), default=None)

    live = [sub for sub in subscriptions
            if sub.stripe_data.get("status") in LIVE_SUBSCRIPTION_STATUSES]
    return newest(live) or newest(subscriptions)


def subscription_price_id(subscription: dict) -> str:
    items = (subscription.get("items") or {}).get("data") or []
    return stripe_id(items[0].get("price")) if items else ""


def subscription_item_id(subscription: dict) -> str:
    items = (subscription.get("items") or {}).get("data") or []
    return items[0].get("id", "") if items else ""


def subscription_period_end(subscription: dict) -> int | None:
    # Since API version 2025-03-31 the period lives on the subscription's items.
    items = (subscription.get("items") or {}).get("data") or []
    return subscription.get("current_period_end") or (
        items[0].get("current_period_end") if items else None)


def invoice_subscription_id(invoice: dict) -> str:
    # Since API version 2025-03-31 an invoice names its subscription under `parent`.
    details = ((invoice.get("parent") or {}).get("subscription_details") or {})
    return stripe_id(details.get("subscription")) or stripe_id(invoice.get("subscription"))


def invoice_item_ids(invoice: dict) -> list[str]:
    ids = []
    for line in (invoice.get("lines") or {}).get("data") or []:
        details = ((line.get("parent") or {}).get("invoice_item_details") or {})
        item = stripe_id(details.get("invoice_item")) or stripe_id(line.get("invoice_item"))
        if item:
            ids.append(item)
    return ids


@dataclass(frozen=True)
class InvoiceRow:
    id: str
    number: str
    created: datetime | None
    total_cents: int
    status: str
    pdf_url: str
    hosted_url: str


def account_invoices(*, account: User, customer_id: str = "", limit: int = 24) -> list[InvoiceRow]:
    invoices = (StripeInvoice.objects.filter(_customer_filter(account, customer_id))
                .order_by("-created")[:limit])
    return [InvoiceRow(
        id=invoice.id,
        number=invoice.stripe_data.get("number") or invoice.id,
        created=invoice.created,
        total_cents=invoice.stripe_data.get("total") or 0,
        status=invoice.stripe_data.get("status") or "",
        pdf_url=invoice.stripe_data.get("invoice_pdf") or "",
        hosted_url=invoice.stripe_data.get("hosted_invoice_url") or "",
    ) for invoice in invoices]


# --- The plan table ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanChoice:
    plan: Plan
    action: str  # current, subscribe, upgrade, downgrade
    refusal: str = ""  # why it cannot be chosen now (shown instead of the button)

    @property
    def available(self) -> bool:
        return not self.refusal and self.action != "current"


def plan_refusal(*, plan: Plan, active_businesses: int) -> str:
    """Why the account cannot move to `plan` now ("" when it can)."""
    if not plan.stripe_price_id:
        return str(_("This plan cannot be subscribed to online yet."))
    return too_many_businesses_for(plan=plan, active_businesses=active_businesses)


def too_many_businesses_for(*, plan: Plan, active_businesses: int) -> str:
    """Why `plan` cannot hold the account's active businesses ("" when it can)."""
    if not plan.allows_businesses(active_businesses):
        return ngettext(
            "You have %(active)s active businesses and this plan allows %(limit)s: "
            "deactivate %(extra)s business before switching.",
            "You have %(active)s active businesses and this plan allows %(limit)s: "
            "deactivate %(extra)s businesses before switching.",
            active_businesses - plan.max_businesses,
        ) % {"active": active_businesses, "limit": plan.max_businesses,
             "extra": active_businesses - plan.max_businesses}
    return ""


def plan_choices(*, account: User, active_businesses: int, subscribed: bool) -> list[PlanChoice]:
    current = account.plan
    choices = []
    for plan in Plan.objects.filter(Q(is_active=True) | Q(pk=getattr(current, "pk", None))):
        if subscribed and current is not None and plan.pk == current.pk:
            action = "current"
        elif not subscribed:
            action = "subscribe"
        elif current is not None and plan.price_cents < current.price_cents:
            action = "downgrade"
        else:
            action = "upgrade"
        refusal = "" if action == "current" else plan_refusal(
            plan=plan, active_businesses=active_businesses)
        choices.append(PlanChoice(plan=plan, action=action, refusal=refusal))
    return choices

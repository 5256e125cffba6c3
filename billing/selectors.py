"""Reads for billing: the usage meter, SMS counts, invoices, the plan table.

Months are calendar months in the platform's time zone (Europe/Paris): the
quota, the meter on the billing page and the overage invoiced at the end of
the month all use the same bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from djstripe.models import Invoice as StripeInvoice
from djstripe.models import Subscription as StripeSubscription

from businesses.models import Business, Plan, PlatformSettings, User
from queues.models import SmsLog, SmsStatus

# A message whose fate is unknown may well have been delivered: it is billed.
BILLABLE_SMS_STATUSES = (SmsStatus.SENT, SmsStatus.DELIVERED, SmsStatus.UNKNOWN)
# Stripe subscription states in which the account is (still) subscribed.
LIVE_SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "unpaid", "paused", "incomplete")
BILLED_SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "unpaid")


# --- Months ------------------------------------------------------------------------------------

def month_of(moment: datetime | None = None) -> date:
    return timezone.localdate(moment or timezone.now()).replace(day=1)


def previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a month as aware datetimes in the platform's time zone."""
    tz = timezone.get_default_timezone()
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    end_month = next_month(month)
    return start, datetime(end_month.year, end_month.month, 1, tzinfo=tz)


# --- SMS ---------------------------------------------------------------------------------------

def billable_sms_by_business(*, account: User, start: datetime, end: datetime) -> list[dict]:
    """Billable SMS per business of the account in [start, end), from the SMS log.

    The one place billing counts SMS (one GROUP BY query). Inactive businesses
    count too: what they sent while active is billed.
    """
    rows = (SmsLog.objects
            .filter(business__owner=account, created_at__gte=start, created_at__lt=end,
                    status__in=BILLABLE_SMS_STATUSES)
            .values("business_id", "business__name")
            .annotate(sms=Count("id"))
            .order_by("business__name", "business_id"))
    return [{"business_id": str(row["business_id"]), "name": row["business__name"],
             "sms": row["sms"]} for row in rows]


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
    month = month or month_of()
    start, end = month_bounds(month)
    by_business = billable_sms_by_business(account=account, start=start, end=end)
    plan = account.plan
    return UsageMeter(
        month=month,
        plan=plan,
        sms_included=plan.sms_quota_monthly if plan else 0,
        sms_used=sum(row["sms"] for row in by_business),
        unit_cost_cents=PlatformSettings.load().sms_unit_cost_cents,
        active_businesses=Business.objects.filter(owner=account, is_active=True).count(),
        by_business=by_business,
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

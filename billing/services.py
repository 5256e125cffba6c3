"""Every billing state change goes through these functions.

Billing writes the account's plan and state onto the merchant's user record
(`User.plan`, `User.subscription_status`); `queues` and `businesses` read them
from there. The state is always derived from the latest Stripe objects (the
current subscription and its latest invoice), never from counting events, so
a late, repeated or reordered webhook ends in the same state.

Dunning follows the latest invoice's attempt count: 1 failed attempt → past_due
(e-mail), 2 → read_only, 3 or more → suspended; a paid invoice restores the
account at once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from djstripe.models import Customer as StripeCustomer
from djstripe.models import Event as StripeEvent
from djstripe.models import Invoice as StripeInvoice
from djstripe.models import Subscription as StripeSubscription

from billing import gateway, selectors
from billing.errors import BillingError, billing_disabled, stripe_unavailable
from billing.models import BillingAccount, StripeWebhookEvent, UsageRecord
from businesses.models import Business, Plan, PlatformSettings, SubscriptionStatus, User
from waitify.lib.errors import ErrorCode

logger = logging.getLogger("waitify.billing")

Status = SubscriptionStatus
DUNNING_STATES = (Status.PAST_DUE, Status.READ_ONLY, Status.SUSPENDED)
# A usage record claimed longer ago than this belongs to a job that died.
USAGE_CLAIM_LEASE = timedelta(minutes=10)
# Subscriptions whose first payment never went through (Checkout left unpaid).
UNSTARTED = ("incomplete", "incomplete_expired")
# Each plan's Stripe product is "waitify_<plan name>" (see plans_sync_to_stripe).
PRODUCT_PREFIX = "waitify_"


def ensure_enabled() -> None:
    if not settings.STRIPE_ENABLED:
        raise billing_disabled()


def billing_account_get(*, account: User) -> BillingAccount:
    billing, _created = BillingAccount.objects.get_or_create(account=account)
    return billing


def _lock_account(account_id) -> tuple[User, BillingAccount]:
    # Every change of an account's billing state happens under its row lock, so
    # two webhooks about the same account apply one after the other.
    account = User.objects.select_for_update(of=("self",)).get(pk=account_id)
    BillingAccount.objects.get_or_create(account=account)
    billing = BillingAccount.objects.select_for_update().get(account=account)
    return account, billing


# --- State from Stripe ---------------------------------------------------------------------------

def status_from_stripe(*, subscription: dict | None, invoice: dict | None,
                       had_subscription: bool, trial_over: bool) -> tuple[str, int]:
    """The account state and failed-payment count that Stripe's objects imply."""
    sub_status = (subscription or {}).get("status")
    unpaid = invoice is not None and invoice.get("status") in ("open", "uncollectible")
    attempts = int(invoice.get("attempt_count") or 0) if unpaid else 0

    if sub_status in ("active", "trialing"):
        return Status.ACTIVE, 0
    if sub_status in ("past_due", "unpaid"):
        if not unpaid:  # the invoice got paid: the subscription follows in a moment
            return Status.ACTIVE, 0
        if sub_status == "unpaid" or attempts >= 3:
            return Status.SUSPENDED, attempts
        return (Status.READ_ONLY if attempts == 2 else Status.PAST_DUE), attempts
    if sub_status == "paused":
        return Status.READ_ONLY, attempts
    if sub_status == "canceled":
        # Ended with a debt after every retry failed: stays suspended until settled.
        return (Status.SUSPENDED if attempts >= 3 else Status.CANCELLED), attempts
    # No subscription yet (or only an unfinished Checkout): the trial decides.
    if had_subscription:
        return Status.CANCELLED, 0
    return (Status.READ_ONLY if trial_over else Status.TRIAL), 0


def _needs_invoice(subscription: dict | None) -> bool:
    return (subscription or {}).get("status") in ("past_due", "unpaid", "canceled")


def subscription_sync(*, subscription_id: str) -> dict:
    """Fetch a subscription from Stripe and store it (dj-stripe's table)."""
    data = gateway.subscription_retrieve(subscription_id)
    with gateway.stripe_errors("sync subscription"):
        StripeSubscription.sync_from_stripe_data(data, api_key=settings.STRIPE_SECRET_KEY)
    return data


def invoice_sync(*, invoice_id: str) -> dict:
    data = gateway.invoice_retrieve(invoice_id)
    with gateway.stripe_errors("sync invoice"):
        StripeInvoice.sync_from_stripe_data(data, api_key=settings.STRIPE_SECRET_KEY)
    return data


def _current_subscription(account: User, customer_id: str
                          ) -> tuple[list[StripeSubscription], StripeSubscription | None]:
    subscriptions = selectors.account_subscriptions(account=account, customer_id=customer_id)
    return subscriptions, selectors.current_subscription(subscriptions)


def _invoice_the_state_needs(current: StripeSubscription | None) -> str:
    """The id of the invoice the account's state depends on ("" when none does)."""
    sub = current.stripe_data if current is not None else None
    if not _needs_invoice(sub):
        return ""
    return selectors.stripe_id(sub.get("latest_invoice")) or ""


# Fetches before giving up when the subscriptions keep changing between fetch and lock.
SYNC_ATTEMPTS = 3


def account_sync_from_stripe(*, account_id, invoice: dict | None = None,
                             customer_id: str = "") -> User:
    """Derive the account's plan and state from its Stripe objects and write them.

    Reads the subscriptions dj-stripe holds (synced from the API by the caller
    when an event named them) and queues the dunning e-mail a new stage calls for.
    Fetch first, then lock, derive and write: the latest invoice the state depends
    on is fetched from Stripe before the account's row lock is taken, so a slow
    Stripe never holds the lock every change of the account waits on. Should the
    subscriptions change between the fetch and the lock (another event applied
    meanwhile), the lock is let go and the right invoice fetched (inside a webhook's
    transaction the lock stays until its commit: that rare second fetch waits under it).
    `customer_id`: a Stripe customer to link to the account first (under the lock).
    """
    fetched = invoice
    for _attempt in range(SYNC_ATTEMPTS):
        account = User.objects.get(pk=account_id)
        known = (BillingAccount.objects.filter(account=account)
                 .values_list("stripe_customer_id", flat=True).first())
        wanted = _invoice_the_state_needs(
            _current_subscription(account, known or customer_id)[1])
        if wanted and (fetched or {}).get("id") != wanted:
            fetched = invoice_sync(invoice_id=wanted)
        with transaction.atomic():
            account, billing = _lock_account(account_id)
            if customer_id:
                _link_customer(account_id=account_id, customer_id=customer_id)
                billing.refresh_from_db()
            subscriptions, current = _current_subscription(
                account, billing.stripe_customer_id or customer_id)
            wanted = _invoice_the_state_needs(current)
            if wanted and (fetched or {}).get("id") != wanted:
                continue  # changed since the fetch: fetch again, without the lock
            previous, status, failed = _account_state_write(
                account, billing, subscriptions, current,
                latest_invoice=fetched if wanted else None)
        if previous != status:
            logger.info("billing state %s: %s -> %s (failed payments %s)", account.pk,
                        previous, status, failed)
        return account
    logger.warning("billing state %s: subscriptions kept changing during the sync", account_id)
    raise stripe_unavailable()


def _account_state_write(account: User, billing: BillingAccount,
                         subscriptions: list[StripeSubscription],
                         current: StripeSubscription | None, *,
                         latest_invoice: dict | None) -> tuple[str, str, int]:
    """Under the account's lock: the state the objects imply, written with its e-mail."""
    sub = current.stripe_data if current is not None else None
    trial_over = bool(account.trial_ends_at and account.trial_ends_at <= timezone.now())
    ran = [s for s in subscriptions if s.stripe_data.get("status") not in UNSTARTED]
    status, failed = status_from_stripe(
        subscription=sub, invoice=latest_invoice, had_subscription=bool(ran),
        trial_over=trial_over)

    previous = account.subscription_status
    fields = ["subscription_status", "updated_at"]
    account.subscription_status = status
    plan = _plan_of_subscription(sub)
    if plan is not None and plan.pk != account.plan_id:
        account.plan = plan
        fields.append("plan")
    account.save(update_fields=fields)

    billing.stripe_subscription_id = current.id if current is not None else ""
    billing.stripe_subscription_status = (sub or {}).get("status", "")
    if current is not None and not billing.stripe_customer_id:
        billing.stripe_customer_id = current.customer_id or ""
    billing.failed_payment_count = failed
    billing.unpaid_invoice_id = latest_invoice["id"] if failed and latest_invoice else ""
    period_end = selectors.subscription_period_end(sub or {})
    billing.current_period_end = _from_timestamp(period_end)
    billing.synced_at = timezone.now()
    notice = _notice_for(previous=previous, status=status, invoice=latest_invoice)
    if notice and billing.last_notice != notice[1]:
        billing.last_notice = notice[1]
        _queue_notice(account_id=account.pk, kind=notice[0])
    billing.save()
    return previous, status, failed


def _from_timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _plan_of_subscription(subscription: dict | None) -> Plan | None:
    if not subscription or subscription.get("status") in UNSTARTED:
        return None
    price_id = selectors.subscription_price_id(subscription)
    plan = Plan.objects.filter(stripe_price_id=price_id).first() if price_id else None
    if price_id and plan is None:
        # An older price of a plan (its amount changed): the product names the plan.
        items = (subscription.get("items") or {}).get("data") or []
        price = items[0].get("price") if items else None
        product = selectors.stripe_id(price.get("product")) if isinstance(price, dict) else ""
        if product.startswith(PRODUCT_PREFIX):
            plan = Plan.objects.filter(name=product.removeprefix(PRODUCT_PREFIX)).first()
    return plan


def _notice_for(*, previous: str, status: str, invoice: dict | None) -> tuple[str, str] | None:
    """(kind, key) of the e-mail this change calls for; the key makes it once only."""
    invoice_id = (invoice or {}).get("id", "")
    if status in DUNNING_STATES and invoice_id:
        return status, f"{invoice_id}:{status}"
    if status == Status.ACTIVE and previous in DUNNING_STATES:
        return "restored", f"restored:{timezone.now():%Y%m%d%H%M%S}"
    return None


def _queue_notice(*, account_id, kind: str) -> None:
    from billing import tasks  # tasks call services: imported late to avoid a cycle

    transaction.on_commit(partial(tasks.send_billing_notice.delay, str(account_id), kind))


# --- Webhooks ------------------------------------------------------------------------------------

def _account_id_for_customer(customer_id: str, metadata: dict | None = None):
    if customer_id:
        found = (BillingAccount.objects.filter(stripe_customer_id=customer_id)
                 .values_list("account_id", flat=True).first())
        if found:
            return found
        found = (StripeCustomer.objects.filter(id=customer_id, subscriber__isnull=False)
                 .values_list("subscriber_id", flat=True).first())
        if found:
            return found
    claimed = (metadata or {}).get("waitify_account")
    if claimed and User.objects.filter(pk=_uuid_or_none(claimed)).exists():
        return _uuid_or_none(claimed)
    return None


def _uuid_or_none(value: str):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def account_id_for_event(payload: dict):
    """The merchant account a Stripe event is about, or None when it is not ours."""
    obj = (payload.get("data") or {}).get("object") or {}
    metadata = dict(obj.get("metadata") or {})
    if obj.get("object") == "checkout.session" and obj.get("client_reference_id"):
        metadata.setdefault("waitify_account", obj["client_reference_id"])
    customer = obj.get("id") if obj.get("object") == "customer" else obj.get("customer")
    return _account_id_for_customer(selectors.stripe_id(customer), metadata)


def webhook_event_apply(*, payload: dict) -> bool:
    """Apply one verified Stripe event, once. Returns False when it was already applied.

    One transaction: the event's row, dj-stripe's synced objects and the
    account's new state commit together, or nothing does (Stripe then retries).
    A second delivery of the same event, even concurrent, waits on the unique
    event id and then finds it applied. The account's row lock is not taken here:
    dj-stripe and the receivers fetch from Stripe first, and only the last step
    (`account_sync_from_stripe`) locks the account, derives its state and writes it.
    """
    obj = (payload.get("data") or {}).get("object") or {}
    with transaction.atomic():
        try:
            with transaction.atomic():
                received = StripeWebhookEvent.objects.create(
                    stripe_id=payload["id"], type=payload.get("type", ""),
                    object_id=obj.get("id", "") or "", livemode=bool(payload.get("livemode")))
        except IntegrityError:
            return False
        account_id = account_id_for_event(payload)
        if account_id is not None:
            received.account_id = account_id
            received.save(update_fields=["account"])
        # dj-stripe fetches the event's object back from the API, stores it, and
        # sends the event's signal: the receivers in billing/webhooks.py apply it.
        with gateway.stripe_errors(f"process {payload.get('type')}"):
            StripeEvent.process(payload, api_key=settings.STRIPE_SECRET_KEY)
    return True


def subscription_event_apply(*, subscription: StripeSubscription) -> None:
    customer_id = subscription.customer_id or ""
    account_id = _account_id_for_customer(customer_id, subscription.stripe_data.get("metadata"))
    if account_id is None:
        logger.info("subscription %s is not a Waitify account's: ignored", subscription.id)
        return
    account_sync_from_stripe(account_id=account_id, customer_id=customer_id)


def invoice_event_apply(*, invoice: StripeInvoice) -> None:
    data = invoice.stripe_data
    usage_records_update_from_invoice(invoice=data)
    account_id = _account_id_for_customer(invoice.customer_id or "")
    if account_id is None:
        return
    subscription_id = selectors.invoice_subscription_id(data)
    if subscription_id:
        subscription_sync(subscription_id=subscription_id)
    account_sync_from_stripe(account_id=account_id, invoice=data)


def checkout_completed_apply(*, session: dict) -> None:
    customer_id = selectors.stripe_id(session.get("customer"))
    metadata = {"waitify_account": session.get("client_reference_id") or
                (session.get("metadata") or {}).get("waitify_account")}
    account_id = _account_id_for_customer("", metadata) or _account_id_for_customer(customer_id)
    if account_id is None:
        logger.warning("checkout session %s names no Waitify account", session.get("id"))
        return
    subscription_id = selectors.stripe_id(session.get("subscription"))
    if subscription_id:
        subscription_sync(subscription_id=subscription_id)
    account_sync_from_stripe(account_id=account_id, customer_id=customer_id)


def _link_customer(*, account_id, customer_id: str) -> None:
    if not customer_id:
        return
    BillingAccount.objects.get_or_create(account_id=account_id)
    BillingAccount.objects.filter(account_id=account_id, stripe_customer_id="").update(
        stripe_customer_id=customer_id)
    StripeCustomer.objects.filter(id=customer_id, subscriber__isnull=True).update(
        subscriber_id=account_id)


# --- Subscribe, change plan, portal ------------------------------------------------------------

def plan_ensure_fits(*, account: User, plan: Plan) -> None:
    active = Business.objects.filter(owner=account, is_active=True).count()
    refusal = selectors.plan_refusal(plan=plan, active_businesses=active)
    if refusal:
        raise BillingError(refusal, code=ErrorCode.PLAN_REFUSED,
                           extra={"plan": plan.name, "active_businesses": active,
                                  "max_businesses": plan.max_businesses})


def plan_assign(*, account: User, plan: Plan) -> User:
    """Staff put an account on `plan` by hand (a deal agreed outside Stripe, or no online
    billing). An account paying through Stripe changes plan there: its subscription
    decides the plan, and the next sync would undo a change made here."""
    with transaction.atomic():
        account, billing = _lock_account(account.pk)
        if billing.stripe_subscription_status in selectors.LIVE_SUBSCRIPTION_STATUSES:
            raise BillingError(
                _("This account pays through Stripe: its plan changes there, or from its "
                  "billing page."),
                code=ErrorCode.PLAN_MANAGED_BY_STRIPE)
        active = Business.objects.filter(owner=account, is_active=True).count()
        refusal = selectors.too_many_businesses_for(plan=plan, active_businesses=active)
        if refusal:
            raise BillingError(refusal, code=ErrorCode.PLAN_REFUSED)
        account.plan = plan
        account.save(update_fields=["plan", "updated_at"])
    return account


def customer_ensure(*, account: User) -> str:
    """The account's Stripe customer id, created at Stripe on first need."""
    billing = billing_account_get(account=account)
    if billing.stripe_customer_id:
        return billing.stripe_customer_id
    with gateway.stripe_errors("create customer"):
        customer, _created = StripeCustomer.get_or_create(
            subscriber=account, livemode=settings.STRIPE_LIVE_MODE,
            api_key=settings.STRIPE_SECRET_KEY)
    BillingAccount.objects.filter(pk=billing.pk, stripe_customer_id="").update(
        stripe_customer_id=customer.id)
    return customer.id


@dataclass(frozen=True)
class PlanChange:
    redirect_url: str = ""  # Stripe Checkout, when there was no subscription yet
    account: User | None = None  # the account, changed in place, otherwise


def plan_subscribe(*, account: User, plan: Plan, request_id: str, success_url: str,
                   cancel_url: str) -> PlanChange:
    """Subscribe through Checkout, or move a live subscription to another plan.

    `request_id` comes with the form: a double click sends the same one, and
    Stripe's idempotency then answers both with one session or one change.
    """
    ensure_enabled()
    plan_ensure_fits(account=account, plan=plan)
    billing = billing_account_get(account=account)
    current = selectors.current_subscription(
        selectors.account_subscriptions(account=account, customer_id=billing.stripe_customer_id))
    live = current is not None and current.stripe_data.get("status") in \
        selectors.BILLED_SUBSCRIPTION_STATUSES
    if live:
        if selectors.subscription_price_id(current.stripe_data) == plan.stripe_price_id:
            raise BillingError(_("You are already on this plan."), code=ErrorCode.SAME_PLAN)
        data = gateway.subscription_change_price(
            subscription_id=current.id, item_id=selectors.subscription_item_id(current.stripe_data),
            price_id=plan.stripe_price_id, plan_name=plan.name,
            idempotency_key=f"waitify-plan-{account.pk}-{request_id}")
        with gateway.stripe_errors("sync subscription"):
            StripeSubscription.sync_from_stripe_data(data, api_key=settings.STRIPE_SECRET_KEY)
        return PlanChange(account=account_sync_from_stripe(account_id=account.pk))
    customer_id = customer_ensure(account=account)
    session = gateway.checkout_session_create(
        customer_id=customer_id, price_id=plan.stripe_price_id, account_id=str(account.pk),
        plan_name=plan.name, success_url=success_url, cancel_url=cancel_url,
        idempotency_key=f"waitify-checkout-{account.pk}-{request_id}")
    return PlanChange(redirect_url=session["url"])


def portal_url(*, account: User, return_url: str) -> str:
    ensure_enabled()
    billing = billing_account_get(account=account)
    if not billing.stripe_customer_id:
        raise BillingError(_("Choose a plan first: the billing portal opens once you have "
                             "subscribed."), code=ErrorCode.NO_CUSTOMER)
    return gateway.portal_session_create(customer_id=billing.stripe_customer_id,
                                         return_url=return_url)["url"]


# --- Trials --------------------------------------------------------------------------------------

def trials_expire(*, now=None) -> int:
    """Trials that ended without a subscription become read-only. Safe to run twice.

    Without Stripe (the embedded demo) there is no way to subscribe, so trials
    are left alone and the product keeps working on the trial plan.
    """
    if not settings.STRIPE_ENABLED:
        return 0
    now = now or timezone.now()
    # Someone's staff has no subscription of their own: they work under the owner's.
    due = list(User.objects.filter(subscription_status=Status.TRIAL, trial_ends_at__lte=now,
                                   membership__isnull=True)
               .values_list("pk", flat=True))
    expired = 0
    for account_id in due:
        # Conditional: a webhook that activated the account meanwhile wins.
        with transaction.atomic():
            changed = User.objects.filter(
                pk=account_id, subscription_status=Status.TRIAL, trial_ends_at__lte=now,
            ).update(subscription_status=Status.READ_ONLY, updated_at=now)
            if changed:
                expired += 1
                _queue_notice(account_id=account_id, kind="trial_ended")
    return expired


def trial_extend(*, account: User, days: int) -> User:
    """Staff's goodwill: `days` more of trial from today (or from the current end)."""
    if days < 1:
        raise ValueError("A trial is extended by at least one day.")
    with transaction.atomic():
        account, billing = _lock_account(account.pk)
        start = max(timezone.now(), account.trial_ends_at or timezone.now())
        account.trial_ends_at = start + timedelta(days=days)
        fields = ["trial_ends_at", "updated_at"]
        subscribed = billing.stripe_subscription_status in selectors.LIVE_SUBSCRIPTION_STATUSES
        if account.subscription_status == Status.READ_ONLY and not subscribed:
            account.subscription_status = Status.TRIAL
            fields.append("subscription_status")
        account.save(update_fields=fields)
    return account


# --- Monthly usage and SMS overage --------------------------------------------------------------

def usage_record_close(*, account: User, month: date) -> UsageRecord:
    """The account's record for a finished month: figures computed once, then frozen."""
    existing = UsageRecord.objects.filter(account=account, period=month).first()
    if existing is not None:
        return existing
    start, end = selectors.month_bounds(month)
    meter = selectors.usage_meter(account=account, month=month)
    billing = BillingAccount.objects.filter(account=account).first()
    customer_id = billing.stripe_customer_id if billing else ""
    billed = bool(settings.STRIPE_ENABLED and customer_id and billing.stripe_subscription_status
                  in selectors.BILLED_SUBSCRIPTION_STATUSES)
    if meter.sms_overage == 0:
        invoicing = UsageRecord.Invoicing.NOTHING_DUE
    else:
        invoicing = UsageRecord.Invoicing.TO_SEND if billed else UsageRecord.Invoicing.NOT_BILLED
    # The figures are facts; `invoicing` and `status` say whether they were charged.
    base = meter.plan.price_cents if (billed and meter.plan) else 0
    overage_cost = meter.overage_cost_cents
    record, _created = UsageRecord.objects.get_or_create(account=account, period=month, defaults={
        "plan": meter.plan, "period_start": start, "period_end": end,
        "base_price_cents": base, "active_businesses": meter.active_businesses,
        "sms_included": meter.sms_included, "sms_used": meter.sms_used,
        "sms_overage": meter.sms_overage,
        "sms_unit_cost_cents": meter.unit_cost_cents, "overage_cost_cents": overage_cost,
        "usage_by_business": meter.by_business, "total_cents": base + overage_cost,
        "invoicing": invoicing, "stripe_customer_id": customer_id,
        "due_date": end.date() + timedelta(days=30),
        "status": (UsageRecord.Status.PENDING if billed else UsageRecord.Status.CANCELLED),
    })
    return record


def usage_record_invoice(*, record_id) -> UsageRecord:
    """Put a record's extra SMS on the customer's next Stripe invoice, exactly once.

    Claim first (a conditional UPDATE that one job wins), then call Stripe with
    an idempotency key derived from the record, then mark it sent. A job killed
    after Stripe's answer leaves the claim behind: once the lease is over the
    next run looks the item up at Stripe before creating anything.
    """
    now = timezone.now()
    claimable = Q(invoicing=UsageRecord.Invoicing.TO_SEND) | Q(
        invoicing=UsageRecord.Invoicing.SENDING, claimed_at__lt=now - USAGE_CLAIM_LEASE)
    claimed = UsageRecord.objects.filter(claimable, pk=record_id).update(
        invoicing=UsageRecord.Invoicing.SENDING, claimed_at=now, attempts=F("attempts") + 1,
        updated_at=now)
    record = UsageRecord.objects.select_related("account").get(pk=record_id)
    if not claimed:
        return record
    try:
        item = None
        if record.attempts > 1:
            item = gateway.invoice_item_find(customer_id=record.stripe_customer_id,
                                             usage_record_id=str(record.pk))
        if item is None:
            item = gateway.invoice_item_create(
                customer_id=record.stripe_customer_id, amount_cents=record.overage_cost_cents,
                description=_overage_description(record),
                period_start=int(record.period_start.timestamp()),
                period_end=int(record.period_end.timestamp()) - 1,
                usage_record_id=str(record.pk),
                idempotency_key=f"waitify-usage-{record.pk}")
    except BillingError as exc:
        UsageRecord.objects.filter(pk=record.pk, invoicing=UsageRecord.Invoicing.SENDING).update(
            invoicing=UsageRecord.Invoicing.TO_SEND, claimed_at=None,
            last_error=f"{exc.error} ({exc.code}): {exc.__cause__!r}"[:500],
            updated_at=timezone.now())
        raise
    UsageRecord.objects.filter(pk=record.pk, invoicing=UsageRecord.Invoicing.SENDING).update(
        invoicing=UsageRecord.Invoicing.SENT, stripe_invoice_item_id=item["id"],
        invoiced_at=timezone.now(), claimed_at=None, last_error="", updated_at=timezone.now())
    record.refresh_from_db()
    logger.info("usage %s %s: %s extra SMS, %s cents on invoice item %s", record.account_id,
                record.period, record.sms_overage, record.overage_cost_cents, item["id"])
    return record


def _overage_description(record: UsageRecord) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(_("%(count)s SMS above the %(included)s included in %(month)s "
                     "(%(unit)s € each)") % {
            "count": record.sms_overage, "included": record.sms_included,
            "month": formats.date_format(record.period, "F Y"),
            "unit": formats.number_format(record.sms_unit_cost_cents / 100, 2)})


def usage_invoice_month(*, month: date) -> dict[str, int]:
    """Close `month` for every account and invoice the extra SMS. Safe to run twice."""
    _start, end = selectors.month_bounds(month)
    done = UsageRecord.objects.filter(period=month).exclude(
        invoicing__in=(UsageRecord.Invoicing.TO_SEND, UsageRecord.Invoicing.SENDING))
    accounts = (User.objects.filter(is_staff=False, created_at__lt=end)
                .exclude(pk__in=done.values("account_id")).select_related("plan"))
    counts = {"closed": 0, "invoiced": 0, "errors": 0}
    for account in accounts.iterator():
        try:
            record = usage_record_close(account=account, month=month)
            counts["closed"] += 1
            if record.invoicing in (UsageRecord.Invoicing.TO_SEND, UsageRecord.Invoicing.SENDING):
                record = usage_record_invoice(record_id=record.pk)
                counts["invoiced"] += record.invoicing == UsageRecord.Invoicing.SENT
        except BillingError:
            counts["errors"] += 1  # logged by the gateway; the next run tries again
        except Exception:
            counts["errors"] += 1  # one account's trouble must not stop the others
            logger.exception("usage invoicing failed for account %s", account.pk)
    return counts


def usage_records_update_from_invoice(*, invoice: dict) -> int:
    """The records whose extra SMS this invoice carries follow its payment state."""
    item_ids = selectors.invoice_item_ids(invoice)
    if not item_ids:
        return 0
    status = {
        "paid": UsageRecord.Status.PAID, "void": UsageRecord.Status.CANCELLED,
        "uncollectible": UsageRecord.Status.FAILED,
    }.get(invoice.get("status"), UsageRecord.Status.PENDING)
    if status == UsageRecord.Status.PENDING and int(invoice.get("attempt_count") or 0) > 0:
        status = UsageRecord.Status.FAILED
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at")
    changes = {"stripe_invoice_id": invoice.get("id", ""), "status": status,
               "updated_at": timezone.now()}
    payment = selectors.stripe_id(invoice.get("payment_intent")) or selectors.stripe_id(
        invoice.get("charge"))
    if payment:
        changes["stripe_payment_id"] = payment
    if status == UsageRecord.Status.PAID:
        changes["paid_at"] = _from_timestamp(paid_at) or timezone.now()
    return UsageRecord.objects.filter(stripe_invoice_item_id__in=item_ids).update(**changes)


# --- Plans at Stripe ------------------------------------------------------------------------------

def plans_sync_to_stripe() -> list[tuple[Plan, str]]:
    """Products and monthly prices at Stripe from the Plan table; idempotent."""
    ensure_enabled()
    synced = []
    for plan in Plan.objects.all():
        product_id = f"{PRODUCT_PREFIX}{plan.name}"
        gateway.product_ensure(
            product_id=product_id, name=f"Waitify {plan.title or plan.name}",
            description=_plan_description(plan), active=plan.is_active)
        price = gateway.monthly_price_ensure(
            product_id=product_id, lookup_key=f"{PRODUCT_PREFIX}{plan.name}_monthly",
            amount_cents=plan.price_cents)
        Plan.objects.filter(pk=plan.pk).exclude(stripe_price_id=price["id"]).update(
            stripe_price_id=price["id"], updated_at=timezone.now())
        plan.stripe_price_id = price["id"]
        synced.append((plan, price["id"]))
    return synced


def _plan_description(plan: Plan) -> str:
    """What Stripe Checkout and invoices show under the plan's name (in French)."""
    unit = PlatformSettings.load().sms_unit_cost_cents
    with translation.override(settings.LANGUAGE_CODE):
        businesses = gettext("Unlimited businesses") if plan.is_unlimited else ngettext(
            "%(count)s business", "%(count)s businesses", plan.max_businesses,
        ) % {"count": plan.max_businesses}
        return gettext("%(businesses)s, %(sms)s SMS a month included, then %(unit)s € per "
                       "extra SMS") % {"businesses": businesses, "sms": plan.sms_quota_monthly,
                                       "unit": formats.number_format(unit / 100, 2)}

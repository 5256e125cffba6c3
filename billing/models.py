"""What billing stores itself. Stripe's own objects (customers, subscriptions,
invoices…) are kept in sync by dj-stripe in its tables; the account's plan and
state are written onto the merchant's user record (`businesses.User`) by
`billing/services.py`, so that `queues` and `businesses` read them without
importing billing."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from businesses.models import Plan, User


class BillingAccount(models.Model):
    """Billing's side of one merchant account: Stripe ids and the dunning position."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.OneToOneField(User, verbose_name=_("account"), on_delete=models.CASCADE,
                                   related_name="billing")
    stripe_customer_id = models.CharField(_("Stripe customer"), max_length=255, blank=True)
    stripe_subscription_id = models.CharField(_("Stripe subscription"), max_length=255,
                                              blank=True)
    stripe_subscription_status = models.CharField(_("subscription status at Stripe"),
                                                  max_length=32, blank=True)
    # The attempt count of the latest unpaid invoice, 0 once it is paid.
    failed_payment_count = models.PositiveSmallIntegerField(_("failed payments"), default=0)
    unpaid_invoice_id = models.CharField(_("unpaid invoice"), max_length=255, blank=True)
    # "<invoice id>:<stage>" of the last dunning e-mail queued: one per invoice and stage.
    last_notice = models.CharField(_("last notice"), max_length=300, blank=True)
    current_period_end = models.DateTimeField(_("current period ends"), null=True, blank=True)
    synced_at = models.DateTimeField(_("synced from Stripe at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("billing account")
        verbose_name_plural = _("billing accounts")
        constraints = [
            models.UniqueConstraint(fields=["stripe_customer_id"],
                                    condition=~Q(stripe_customer_id=""),
                                    name="billing_account_customer_unique"),
        ]

    def __str__(self) -> str:
        return str(self.account)


class UsageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Payment failed")
    REFUNDED = "refunded", _("Refunded")
    CANCELLED = "cancelled", _("Cancelled")


class UsageInvoicing(models.TextChoices):
    TO_SEND = "to_send", _("To add to the invoice")
    SENDING = "sending", _("Being added to the invoice")
    SENT = "sent", _("Added to the invoice")
    NOTHING_DUE = "nothing_due", _("No extra SMS")
    NOT_BILLED = "not_billed", _("Not billed (no subscription)")


class UsageRecord(models.Model):
    """One account's bill for one month: base price plus the SMS above the quota.

    Figures are frozen when the record is created at the end of the month, so
    that the Stripe invoice item (sent once, with an idempotency key derived
    from this row) always carries the same amount.
    """

    Status = UsageStatus
    Invoicing = UsageInvoicing

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(User, verbose_name=_("account"), on_delete=models.CASCADE,
                                related_name="usage_records")
    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.PROTECT,
                             null=True, blank=True, related_name="+")
    period = models.DateField(_("month"), help_text=_("First day of the billed month."))
    period_start = models.DateTimeField(_("period start"))
    period_end = models.DateTimeField(_("period end"))
    base_price_cents = models.PositiveIntegerField(_("base price (cents)"), default=0)
    active_businesses = models.PositiveIntegerField(_("active businesses"), default=0)
    sms_included = models.PositiveIntegerField(_("SMS included"), default=0)
    sms_used = models.PositiveIntegerField(_("SMS used"), default=0)
    sms_overage = models.PositiveIntegerField(_("extra SMS"), default=0)
    sms_unit_cost_cents = models.PositiveIntegerField(_("extra SMS unit cost (cents)"),
                                                      default=0)
    overage_cost_cents = models.PositiveIntegerField(_("extra SMS cost (cents)"), default=0)
    usage_by_business = models.JSONField(_("usage per business"), default=list, blank=True)
    total_cents = models.PositiveIntegerField(_("total (cents)"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=UsageStatus.choices,
                              default=UsageStatus.PENDING)
    invoicing = models.CharField(_("invoicing"), max_length=16, choices=UsageInvoicing.choices,
                                 default=UsageInvoicing.TO_SEND)
    # Set while a job talks to Stripe; a claim older than the lease means that job died.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    stripe_customer_id = models.CharField(_("Stripe customer"), max_length=255, blank=True)
    stripe_invoice_item_id = models.CharField(_("Stripe invoice item"), max_length=255,
                                              blank=True)
    stripe_invoice_id = models.CharField(_("Stripe invoice"), max_length=255, blank=True)
    stripe_payment_id = models.CharField(_("Stripe payment"), max_length=255, blank=True)
    invoiced_at = models.DateTimeField(_("added to the invoice at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    due_date = models.DateField(_("due date"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-period"]
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        constraints = [
            models.UniqueConstraint(fields=["account", "period"],
                                    name="usage_record_once_per_account_and_period"),
            models.UniqueConstraint(fields=["stripe_invoice_item_id"],
                                    condition=~Q(stripe_invoice_item_id=""),
                                    name="usage_record_invoice_item_unique"),
            models.CheckConstraint(condition=Q(status__in=UsageStatus.values),
                                   name="usage_record_status_valid"),
            models.CheckConstraint(condition=Q(invoicing__in=UsageInvoicing.values),
                                   name="usage_record_invoicing_valid"),
            models.CheckConstraint(
                condition=Q(overage_cost_cents=F("sms_overage") * F("sms_unit_cost_cents")),
                name="usage_record_overage_cost_consistent"),
            models.CheckConstraint(
                condition=Q(total_cents=F("base_price_cents") + F("overage_cost_cents")),
                name="usage_record_total_consistent"),
            models.CheckConstraint(condition=Q(period_end__gt=F("period_start")),
                                   name="usage_record_period_ordered"),
            models.CheckConstraint(
                condition=~Q(invoicing="sent") | ~Q(stripe_invoice_item_id=""),
                name="usage_record_sent_has_invoice_item"),
        ]
        indexes = [models.Index(fields=["invoicing", "period"])]

    def __str__(self) -> str:
        return f"{self.account} {self.period:%Y-%m}"


class StripeWebhookEvent(models.Model):
    """A Stripe event applied once: its row commits with the changes it caused."""

    id = models.BigAutoField(primary_key=True)
    stripe_id = models.CharField(_("Stripe event"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=250)
    object_id = models.CharField(_("Stripe object"), max_length=255, blank=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    account = models.ForeignKey(User, verbose_name=_("account"), on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="+")
    processed_at = models.DateTimeField(_("processed at"), auto_now_add=True)

    class Meta:
        ordering = ["-processed_at"]
        verbose_name = _("Stripe webhook event")
        verbose_name_plural = _("Stripe webhook events")

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"

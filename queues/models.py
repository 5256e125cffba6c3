from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from businesses.models import Business
from waitify.lib.tokens import looks_like_token


def new_entry_secret() -> str:
    return secrets.token_urlsafe(24)


def new_display_token() -> str:
    return secrets.token_urlsafe(24)


class EntryStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    CALLED = "called", _("Called")
    SERVED = "served", _("Served")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")


LIVE_STATUSES = (EntryStatus.WAITING, EntryStatus.CALLED)


class CancelledBy(models.TextChoices):
    CUSTOMER = "customer", _("The customer")
    MERCHANT = "merchant", _("The merchant")
    SHOP_CLOSED = "shop_closed", _("The shop closed the queue")


class QueueState(models.Model):
    """The engine's per-business counters, locked by every queue operation.

    Holding this row's lock serialises ticket numbers, ordering keys and the
    size check of one business without touching the business row itself.
    """

    business = models.OneToOneField(
        Business, primary_key=True, on_delete=models.CASCADE, related_name="queue_state_row"
    )
    service_day = models.DateField(null=True)
    last_ticket = models.PositiveIntegerField(default=0)
    next_sort_key = models.BigIntegerField(default=0)
    # Learnt from actual service times, the business's configured average as prior.
    service_estimate_seconds = models.PositiveIntegerField(null=True)
    served_samples = models.PositiveIntegerField(default=0)
    # The wait estimator's inputs, recomputed at every change of the queue under this
    # row's lock (queues/estimates.py): reading an estimate then costs no query.
    estimate_model = models.JSONField(default=dict, blank=True)
    version = models.BigIntegerField(default=0)
    # The version at which a customer already waiting last had something new to see (their
    # place or their estimate): a join behind them, a serve or an arrival at the counter
    # leaves it, so their polls keep answering "unchanged" (queues.services._changed).
    line_version = models.BigIntegerField(default=0)
    # How many active services and counters the business has, kept by every change of its
    # setup (queues.services._setup_changed): a customer's page names the service and the
    # counter only when there are several, without counting them at every poll.
    services_count = models.PositiveSmallIntegerField(default=1)
    counters_count = models.PositiveSmallIntegerField(default=1)
    # The shop screen's own read-only, revocable link (no merchant session on the TV).
    display_token = models.CharField(max_length=64, unique=True, default=new_display_token)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("queue state")
        verbose_name_plural = _("queue states")

    def __str__(self) -> str:
        return f"{self.business_id} v{self.version}"


TICKET_PREFIX_PATTERN = r"^[A-Z]{1,3}$"
validate_ticket_prefix = RegexValidator(
    TICKET_PREFIX_PATTERN, _("One to three capital letters, e.g. O or RC."),
    code="invalid_ticket_prefix",
)


class Service(models.Model):
    """What a customer comes for ("Ordonnance", "Parapharmacie"): its own line and prefix.

    Every business has at least one (prefix "A"); a business with one service shows
    no service anywhere.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    business = models.ForeignKey(Business, verbose_name=_("business"), on_delete=models.CASCADE,
                                 related_name="services")
    name = models.CharField(_("name"), max_length=60)
    ticket_prefix = models.CharField(_("ticket prefix"), max_length=3, default="A",
                                     validators=[validate_ticket_prefix],
                                     help_text=_("One to three capital letters, e.g. O or RC."))
    # Null: the business's average service time.
    average_service_time = models.PositiveIntegerField(
        _("average service time (seconds)"), null=True, blank=True,
        validators=[MinValueValidator(10)],
        help_text=_("Empty: the business's average service time."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["business_id", "position", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["business", "ticket_prefix"],
                                    name="service_prefix_unique_per_business"),
            models.CheckConstraint(condition=Q(ticket_prefix__regex=TICKET_PREFIX_PATTERN),
                                   name="service_prefix_valid"),
            models.CheckConstraint(condition=Q(average_service_time__isnull=True)
                                   | Q(average_service_time__gte=10),
                                   name="service_time_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_prefix} · {self.name}"


class Counter(models.Model):
    """Where a customer is served ("Comptoir 2", "Guichet B"): its own called customer.

    `services` empty: the counter serves every service. Every business has at least one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    business = models.ForeignKey(Business, verbose_name=_("business"), on_delete=models.CASCADE,
                                 related_name="counters")
    name = models.CharField(_("name"), max_length=40)
    is_open = models.BooleanField(_("open"), default=True)
    services = models.ManyToManyField(Service, verbose_name=_("services"), blank=True,
                                      related_name="counters",
                                      help_text=_("None selected: serves every service."))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("counter")
        verbose_name_plural = _("counters")
        ordering = ["business_id", "position", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["business", "name"],
                                    name="counter_name_unique_per_business"),
        ]

    def __str__(self) -> str:
        return self.name


class QueueEntryQuerySet(models.QuerySet):
    def live(self) -> QueueEntryQuerySet:
        return self.filter(status__in=LIVE_STATUSES)

    def waiting(self) -> QueueEntryQuerySet:
        return self.filter(status=EntryStatus.WAITING)

    def with_secret(self, secret: str) -> QueueEntryQuerySet:
        """The entry a status link points at; a malformed secret (a NUL byte…) matches
        nothing instead of reaching PostgreSQL, which would refuse it with an error."""
        if not looks_like_token(secret):
            return self.none()
        return self.filter(secret=secret)


class QueueEntry(models.Model):
    """One customer's place in one business's queue."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    business = models.ForeignKey(
        Business, verbose_name=_("business"), on_delete=models.CASCADE,
        related_name="queue_entries",
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True,
                             help_text=_("E.164; empty for a walk-in customer."))
    customer_name = models.CharField(_("first name"), max_length=60, blank=True)
    service_day = models.DateField(_("day"))
    ticket_number = models.PositiveIntegerField(_("ticket"))
    # Position is the rank of sort_key among waiting entries: nothing rewrites
    # the rows behind when someone leaves.
    sort_key = models.BigIntegerField(_("ordering key"))
    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.PROTECT,
                                related_name="entries")
    # The ticket's prefix when it was issued: a transferred ticket keeps its label, and
    # numbers count per (business, day, prefix), i.e. per service.
    ticket_prefix = models.CharField(_("ticket prefix"), max_length=3, default="A",
                                     db_default="A")
    # Ahead of every non-priority entry of the same service, behind earlier priority ones.
    priority = models.BooleanField(_("priority"), default=False, db_default=False)
    counter = models.ForeignKey(Counter, verbose_name=_("counter"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="entries")
    called_out_of_order = models.BooleanField(_("called out of order"), default=False,
                                              db_default=False)
    called_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("called by"),
                                  null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    finished_by = models.ForeignKey(settings.AUTH_USER_MODEL,
                                    verbose_name=_("served or missed by"), null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(
        _("status"), max_length=16, choices=EntryStatus.choices, default=EntryStatus.WAITING
    )
    estimated_wait_seconds = models.PositiveIntegerField(_("estimated wait at join (s)"),
                                                         default=0)
    # The ~80 % range shown at join: the share of real waits inside it is published.
    estimated_wait_low_seconds = models.PositiveIntegerField(
        _("shortest wait announced at join (s)"), null=True, blank=True)
    estimated_wait_high_seconds = models.PositiveIntegerField(
        _("longest wait announced at join (s)"), null=True, blank=True)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    # Join to call; compared with estimated_wait_seconds to measure the estimate.
    actual_wait_seconds = models.PositiveIntegerField(_("actual wait (s)"), null=True,
                                                      blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    served_at = models.DateTimeField(_("served at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    actual_service_seconds = models.PositiveIntegerField(_("actual service time (s)"),
                                                         null=True, blank=True)
    sms_count = models.PositiveSmallIntegerField(_("SMS sent"), default=0)
    last_sms_at = models.DateTimeField(_("last SMS at"), null=True, blank=True)
    # Who ended a cancelled entry: the customer's page and SMS say it, and only the
    # merchant's own removal can be undone.
    cancelled_by = models.CharField(_("cancelled by"), max_length=16, blank=True,
                                    choices=CancelledBy.choices)
    snooze_count = models.PositiveSmallIntegerField(_("times let someone pass"), default=0)
    rejoined_from = models.OneToOneField(
        "self", verbose_name=_("rejoined from"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="rejoined_as",
    )
    language = models.CharField(_("language"), max_length=8, default="fr")
    # False: the customer follows their turn on the status page only (a number we do not
    # text, or "no SMS" ticked); no SMS is ever written for the entry.
    notify_by_sms = models.BooleanField(_("SMS notifications"), default=True)
    secret = models.CharField(max_length=64, unique=True, default=new_entry_secret,
                              editable=False)
    created_at = models.DateTimeField(_("joined at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = QueueEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("queue entry")
        verbose_name_plural = _("queue entries")
        # The column, not `business`: that would join businesses to sort on their name.
        ordering = ["business_id", "sort_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "phone"],
                condition=Q(status__in=["waiting", "called"]) & ~Q(phone=""),
                name="queue_one_live_entry_per_phone",
            ),
            models.UniqueConstraint(
                fields=["business", "service_day", "ticket_prefix", "ticket_number"],
                name="queue_ticket_unique_per_day_prefix",
            ),

            models.CheckConstraint(
                condition=Q(status__in=EntryStatus.values),
                name="queue_entry_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(called_at__isnull=True) | Q(served_at__isnull=True)
                | Q(served_at__gte=models.F("called_at")),
                name="queue_served_after_called",
            ),
            models.CheckConstraint(
                condition=~Q(status="served") | Q(called_at__isnull=False, served_at__isnull=False),
                name="queue_served_has_times",
            ),
        ]
        indexes = [
            models.Index(fields=["business", "created_at"]),
            models.Index(fields=["business", "sort_key"], condition=Q(status="waiting"),
                         name="queue_waiting_order"),
            # Call-next: priority first, then arrival; positions: per service.
            models.Index(fields=["business", "-priority", "sort_key"],
                         condition=Q(status="waiting"), name="queue_waiting_priority_order"),
            models.Index(fields=["service", "-priority", "sort_key"],
                         condition=Q(status="waiting"), name="queue_waiting_service_order"),
            models.Index(fields=["status", "called_at"], condition=Q(status="called"),
                         name="queue_called_since"),
        ]

    def __str__(self) -> str:
        return f"{self.business_id} {self.ticket_label}"

    @property
    def ticket_label(self) -> str:
        return f"{self.ticket_prefix}-{self.ticket_number:03d}"


# --- SMS notifications -------------------------------------------------------------------


class SmsType(models.TextChoices):
    CONFIRMATION = "confirmation", _("Confirmation")
    REMINDER = "reminder", _("Reminder")
    YOUR_TURN = "your_turn", _("Your turn")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")
    LINK = "link", _("Status link sent again")


class SmsStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown (may have been sent)")
    SUPPRESSED = "suppressed", _("Not sent (blocked)")


class SmsLog(models.Model):
    """One text message: the outbox row written with the queue change, then its fate.

    Written `pending` in the transaction of the queue change that causes it;
    a task sends it after commit and records sent, failed or unknown. Unique
    per (entry, type), so no event, retry or double click can send it twice.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    business = models.ForeignKey(Business, verbose_name=_("business"),
                                 on_delete=models.CASCADE, related_name="sms_logs")
    entry = models.ForeignKey(QueueEntry, verbose_name=_("queue entry"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="sms_logs")
    # E.164; blanked by the retention job after 90 days (the row stays for billing).
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    type = models.CharField(_("type"), max_length=16, choices=SmsType.choices)
    text = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=16, choices=SmsStatus.choices,
                              default=SmsStatus.PENDING)
    segments = models.PositiveSmallIntegerField(_("segments"), default=1)
    provider_message_id = models.CharField(_("provider message id"), max_length=100,
                                           blank=True)
    provider_response = models.JSONField(_("provider response"), default=dict, blank=True)
    cost_cents = models.PositiveIntegerField(_("cost (cents)"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # Set by the task that holds the row while it talks to the provider; a
    # claim older than the lease means that worker died mid-send.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # Written (and committed) just before the provider is called: a claim that died
    # without it never reached the provider and is safe to send again.
    handed_at = models.DateTimeField(_("handed to the provider at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("SMS")
        verbose_name_plural = _("SMS log")
        ordering = ["-created_at"]
        constraints = [
            # The status link asked for again may go more than once (rate-limited per number).
            models.UniqueConstraint(fields=["entry", "type"],
                                    condition=Q(entry__isnull=False) & ~Q(type="link"),
                                    name="sms_once_per_entry_and_type"),
            models.CheckConstraint(condition=Q(type__in=SmsType.values),
                                   name="sms_type_valid"),
            models.CheckConstraint(condition=Q(status__in=SmsStatus.values),
                                   name="sms_status_valid"),
        ]
        indexes = [
            models.Index(fields=["business", "created_at"], name="sms_business_created"),
            models.Index(fields=["status", "next_attempt_at"], name="sms_status_due"),
            # Delivery reports name the provider's message id of rows in any status (a
            # report already used must be seen as such, not handed to an unknown row).
            models.Index(fields=["provider_message_id"], name="sms_by_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.status} {self.created_at:%Y-%m-%d %H:%M}"


class SmsOptOut(models.Model):
    """A number that asked not to be texted (STOP): never messaged again."""

    class Source(models.TextChoices):
        PROVIDER = "provider", _("Reported by the SMS provider")
        STAFF = "staff", _("Added by staff")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    phone = models.CharField(_("phone"), max_length=20, unique=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices,
                              default=Source.PROVIDER)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("SMS opt-out")
        verbose_name_plural = _("SMS opt-outs")

    def __str__(self) -> str:
        return self.phone


class SmsQuotaAlert(models.Model):
    """The e-mail telling a merchant they used 80 % / 100 % of the month's SMS: once each."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("merchant account"),
                             on_delete=models.CASCADE, related_name="sms_quota_alerts")
    month = models.DateField(_("month"), help_text=_("First day of the month."))
    threshold = models.PositiveSmallIntegerField(_("threshold (%)"))
    used = models.PositiveIntegerField(_("SMS used when sent"))
    quota = models.PositiveIntegerField(_("monthly quota"))
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("SMS quota alert")
        verbose_name_plural = _("SMS quota alerts")
        constraints = [
            models.UniqueConstraint(fields=["user", "month", "threshold"],
                                    name="sms_quota_alert_once_per_month"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.month:%Y-%m} {self.threshold}%"


class Heartbeat(models.Model):
    """The last sign of life of a background process, read by /health and the admin.

    "scheduler": the call timeout sweep that beat schedules every few seconds
    (written by the sweep itself, so it also stops when no worker runs it);
    "worker:<hostname>": each Celery worker, every WORKER_HEARTBEAT_SECONDS.
    """

    class Kind(models.TextChoices):
        SCHEDULER = "scheduler", _("scheduler")
        WORKER = "worker", _("worker")

    name = models.CharField(_("process"), max_length=200, primary_key=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

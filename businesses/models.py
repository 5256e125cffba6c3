from __future__ import annotations

import itertools
import math
import secrets
import uuid
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from businesses.validators import validate_opening_hours, validate_timezone
from waitify.lib.tokens import looks_like_token

UNLIMITED = -1


class TimestampedModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class BusinessType(models.TextChoices):
    BAKERY = "bakery", _("Bakery")
    HAIRDRESSER = "hairdresser", _("Hairdresser")
    PHARMACY = "pharmacy", _("Pharmacy")
    GARAGE = "garage", _("Garage")
    RESTAURANT = "restaurant", _("Restaurant")
    MEDICAL_OFFICE = "medical_office", _("Medical office")
    DENTIST = "dentist", _("Dentist")
    VETERINARY = "veterinary", _("Veterinary")
    OPTICIAN = "optician", _("Optician")
    BANK = "bank", _("Bank")
    INSURANCE = "insurance", _("Insurance")
    NOTARY = "notary", _("Notary")
    LAWYER = "lawyer", _("Lawyer")
    ACCOUNTANT = "accountant", _("Accountant")
    REAL_ESTATE = "real_estate", _("Real estate agency")
    PREFECTURE = "prefecture", _("Prefecture")
    CITY_HALL = "city_hall", _("City hall")
    FAMILY_ALLOWANCE = "family_allowance", _("Family allowance office")
    EMPLOYMENT_AGENCY = "employment_agency", _("Employment agency")
    PUBLIC_SERVICE = "public_service", _("Public service")
    POST_OFFICE = "post_office", _("Post office")
    DRY_CLEANING = "dry_cleaning", _("Dry cleaning")
    COBBLER = "cobbler", _("Cobbler")
    WATCHMAKER = "watchmaker", _("Watchmaker")
    PHONE_REPAIR = "phone_repair", _("Phone repair")
    BEAUTY_SALON = "beauty_salon", _("Beauty salon")
    MASSAGE = "massage", _("Massage")
    TATTOO = "tattoo", _("Tattoo parlour")
    NAIL_SALON = "nail_salon", _("Nail salon")
    BARBER = "barber", _("Barber")
    VEHICLE_INSPECTION = "vehicle_inspection", _("Vehicle inspection")
    GAS_STATION = "gas_station", _("Gas station")
    AUTO_BODY = "auto_body", _("Auto body shop")
    TIRE_SERVICE = "tire_service", _("Tyre service")
    OTHER = "other", _("Other")


# Seconds per customer, from the product documents; staff edit the live values
# in the admin (PlatformSettings.default_service_times).
DEFAULT_SERVICE_TIMES: dict[str, int] = {
    "bakery": 120, "hairdresser": 2700, "pharmacy": 180, "garage": 1800,
    "restaurant": 5400, "medical_office": 900, "dentist": 1800, "veterinary": 1200,
    "optician": 1500, "bank": 600, "insurance": 1200, "notary": 2400, "lawyer": 3600,
    "accountant": 1800, "real_estate": 1800, "prefecture": 900, "city_hall": 600,
    "family_allowance": 1200, "employment_agency": 1800, "public_service": 900,
    "post_office": 300, "dry_cleaning": 180, "cobbler": 600, "watchmaker": 900,
    "phone_repair": 1200, "beauty_salon": 3600, "massage": 3600, "tattoo": 7200,
    "nail_salon": 2400, "barber": 1800, "vehicle_inspection": 1800, "gas_station": 300,
    "auto_body": 3600, "tire_service": 1200, "other": 900,
}


def default_service_times() -> dict[str, int]:
    return dict(DEFAULT_SERVICE_TIMES)


class PlatformSettings(models.Model):
    """Platform-wide values staff change in the admin without a deploy (one row)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    singleton = models.BooleanField(default=True, editable=False, unique=True)
    sms_unit_cost_cents = models.PositiveIntegerField(_("extra SMS unit cost (cents)"), default=3)
    trial_days = models.PositiveSmallIntegerField(
        _("trial length (days)"), default=14, validators=[MinValueValidator(1)]
    )
    default_max_queue_size = models.PositiveSmallIntegerField(
        _("default max queue size"), default=50,
        validators=[MinValueValidator(1), MaxValueValidator(200)],
    )
    default_client_timeout_minutes = models.PositiveSmallIntegerField(
        _("default client timeout (minutes)"), default=5,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
    )
    default_service_times = models.JSONField(
        _("default service time per business type (seconds)"), default=default_service_times
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("platform settings")
        verbose_name_plural = _("platform settings")
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="platform_settings_singleton"),
            models.CheckConstraint(
                condition=Q(default_max_queue_size__gte=1, default_max_queue_size__lte=200),
                name="platform_default_max_queue_range",
            ),
            models.CheckConstraint(
                condition=Q(default_client_timeout_minutes__gte=1,
                            default_client_timeout_minutes__lte=30),
                name="platform_default_timeout_range",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Platform settings"))

    @classmethod
    def load(cls) -> PlatformSettings:
        settings, _created = cls.objects.get_or_create(singleton=True)
        return settings

    def service_time_for(self, business_type: str) -> int:
        value = (self.default_service_times or {}).get(business_type)
        if isinstance(value, int) and value > 0:
            return value
        return DEFAULT_SERVICE_TIMES.get(business_type, DEFAULT_SERVICE_TIMES["other"])


# The default plans' names in the reader's language, the same word on every page, in the
# e-mails and in the admin; a plan staff add later shows its title.
PLAN_LABELS = {
    "basic": pgettext_lazy("plan name", "Basic"),
    "pro": pgettext_lazy("plan name", "Pro"),
    "enterprise": pgettext_lazy("plan name", "Enterprise"),
}


class Plan(TimestampedModel):
    class AnalyticsLevel(models.TextChoices):
        BASIC = "basic", _("Basic")
        ADVANCED = "advanced", _("Advanced")

    name = models.SlugField(_("name"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=80)
    price_cents = models.PositiveIntegerField(_("monthly price (cents)"))
    max_businesses = models.IntegerField(
        _("max businesses"), help_text=_("-1 means unlimited.")
    )
    sms_quota_monthly = models.PositiveIntegerField(_("SMS included per month"))
    analytics_level = models.CharField(
        _("statistics"), max_length=16, choices=AnalyticsLevel.choices,
        default=AnalyticsLevel.BASIC,
    )
    api_access = models.BooleanField(_("API access"), default=False)
    custom_branding = models.BooleanField(_("custom branding"), default=False)
    is_active = models.BooleanField(_("offered to new customers"), default=True)
    stripe_price_id = models.CharField(_("Stripe price id"), max_length=120, blank=True)
    max_counters = models.PositiveSmallIntegerField(
        _("max counters per business"), null=True, blank=True, default=1,
        help_text=_("Empty means unlimited."),
    )

    class Meta:
        ordering = ["price_cents"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_businesses=UNLIMITED) | Q(max_businesses__gt=0),
                name="plan_max_businesses_valid",
            ),
            models.CheckConstraint(condition=Q(sms_quota_monthly__gt=0),
                                   name="plan_sms_quota_positive"),
            models.CheckConstraint(condition=Q(max_counters__isnull=True)
                                   | Q(max_counters__gt=0),
                                   name="plan_max_counters_valid"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return str(PLAN_LABELS.get(self.name) or self.title or self.name)

    @property
    def is_unlimited(self) -> bool:
        return self.max_businesses == UNLIMITED

    def allows_businesses(self, count: int) -> bool:
        return self.is_unlimited or count <= self.max_businesses

    def allows_counters(self, count: int) -> bool:
        return self.max_counters is None or count <= self.max_counters

    @property
    def price_euros(self) -> str:
        return f"{self.price_cents / 100:.2f}".replace(".00", "")


class AuthProvider(models.TextChoices):
    EMAIL = "email", _("E-mail")
    GOOGLE = "google", _("Google")
    FACEBOOK = "facebook", _("Facebook")


class SubscriptionStatus(models.TextChoices):
    TRIAL = "trial", _("Trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Payment overdue")
    READ_ONLY = "read_only", _("Read-only")
    SUSPENDED = "suspended", _("Suspended")
    CANCELLED = "cancelled", _("Cancelled")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A merchant account. Billing writes `plan` and `subscription_status` here."""

    AuthProvider = AuthProvider
    Status = SubscriptionStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("e-mail address"), unique=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    profile_picture = models.URLField(_("profile picture"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    auth_provider = models.CharField(
        _("sign-up method"), max_length=16, choices=AuthProvider.choices,
        default=AuthProvider.EMAIL,
    )
    subscription_status = models.CharField(
        _("subscription status"), max_length=16, choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.TRIAL
    )
    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="users",
    )
    trial_ends_at = models.DateTimeField(_("trial ends at"), null=True, blank=True)
    daily_digest_enabled = models.BooleanField(
        _("daily digest e-mail"), default=False,
        help_text=_("Each night, an e-mail with the day's figures of your businesses."),
    )
    # The language the merchant last signed in with: Waitify's e-mails to the account
    # (digest, SMS quota, billing) are written in it.
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE,
        help_text=_("The language of the e-mails Waitify sends to this account."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("merchant account")
        verbose_name_plural = _("merchant accounts")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=Q(subscription_status__in=SubscriptionStatus.values),
                name="user_subscription_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(auth_provider__in=AuthProvider.values),
                name="user_auth_provider_valid",
            ),
        ]
        indexes = [models.Index(fields=["subscription_status"])]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        # A new account starts its trial on the basic plan's limits.
        if self._state.adding:
            self.email = (self.email or "").lower()
            if self.plan_id is None:
                self.plan = Plan.objects.filter(name="basic").first()
            if self.trial_ends_at is None:
                days = PlatformSettings.load().trial_days
                self.trial_ends_at = timezone.now() + timedelta(days=days)
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def is_read_only(self) -> bool:
        return self.subscription_status in (self.Status.READ_ONLY, self.Status.CANCELLED)

    @property
    def is_suspended(self) -> bool:
        return not self.is_active or self.subscription_status == self.Status.SUSPENDED

    @property
    def can_change_things(self) -> bool:
        return not (self.is_read_only or self.is_suspended)

    @property
    def trial_days_left(self) -> int | None:
        if self.subscription_status != self.Status.TRIAL or not self.trial_ends_at:
            return None
        # Counted up: a trial of 14 days shows 14 on the day it starts and 1 on its last day.
        left = (self.trial_ends_at - timezone.now()).total_seconds()
        return max(0, math.ceil(left / 86400))


class StaffMember(User):
    """Waitify's own people (`is_staff`), listed apart from the merchants in the admin."""

    class Meta:
        proxy = True
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")


def new_qr_token() -> str:
    return secrets.token_urlsafe(18)




def queue_counts(today: date) -> dict[str, Count]:
    """`current_queue_size` (waiting now) and `today_served` (served on the service day
    `today`), counted over each business's entries in one LEFT JOIN, for annotate() or
    aggregate(). The entries belong to the queues app: the relation is followed by its
    name (`queue_entries`), so this app imports nothing from it."""
    return {
        "current_queue_size": Count("queue_entries", filter=Q(queue_entries__status="waiting")),
        "today_served": Count("queue_entries", filter=Q(queue_entries__status="served",
                                                        queue_entries__service_day=today)),
    }


class BusinessQuerySet(models.QuerySet):
    def with_queue_counts(self) -> BusinessQuerySet:
        """Each business with `current_queue_size` and `today_served` (see queue_counts)."""
        return self.annotate(**queue_counts(timezone.localdate()))

    def with_qr_token(self, token: str) -> BusinessQuerySet:
        """The business a printed code points at. Anything that is not a token (a NUL
        byte, 300 characters…) from a scanner or a typo matches nothing, without a query
        that PostgreSQL would refuse with an error."""
        if not looks_like_token(token):
            return self.none()
        return self.filter(qr_token=token)


class Business(TimestampedModel):
    owner = models.ForeignKey(
        User, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="businesses"
    )
    name = models.CharField(_("name"), max_length=120)
    business_type = models.CharField(
        _("type"), max_length=32, choices=BusinessType.choices, default=BusinessType.OTHER
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    zip_code = models.CharField(_("zip code"), max_length=10, blank=True)
    country = models.CharField(_("country"), max_length=2, default="FR", editable=False)
    qr_token = models.CharField(
        _("QR token"), max_length=64, unique=True, default=new_qr_token, editable=False
    )
    average_service_time = models.PositiveIntegerField(
        _("average service time (seconds)"), validators=[MinValueValidator(10)]
    )
    is_queue_open = models.BooleanField(_("queue open"), default=False)
    is_queue_paused = models.BooleanField(_("queue paused"), default=False)
    max_queue_size = models.PositiveSmallIntegerField(
        _("max queue size"), validators=[MinValueValidator(1), MaxValueValidator(200)]
    )
    opening_hours = models.JSONField(_("opening hours"), default=dict, blank=True,
                                     validators=[validate_opening_hours])
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Paris", validators=[validate_timezone],
        help_text=_("Opening hours are read on this clock."),
    )
    # 0 by default: an existing shop keeps taking customers until closing time, and a
    # customer whose turn would come after closing is warned before joining anyway.
    last_call_minutes = models.PositiveSmallIntegerField(
        _("last call (minutes before closing)"), default=0,
        validators=[MaxValueValidator(240)],
        help_text=_("New customers can no longer join this many minutes before closing "
                    "time. 0: until closing time."),
    )
    custom_message = models.CharField(
        _("custom SMS message"), max_length=100, blank=True,
        help_text=_("Added to the text messages sent to your customers."),
    )
    sms_enabled = models.BooleanField(_("SMS notifications"), default=True)
    auto_advance_enabled = models.BooleanField(
        _("call the next customer automatically after a timeout"), default=True
    )
    client_timeout_minutes = models.PositiveSmallIntegerField(
        _("customer timeout (minutes)"), validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    average_basket_cents = models.PositiveIntegerField(
        _("average basket (cents)"), default=0,
        help_text=_("What a customer spends on average: estimates the revenue lost when "
                    "customers leave the queue."),
    )
    priority_join_enabled = models.BooleanField(
        _("customers may declare priority when joining"), default=False,
        help_text=_("A priority customer goes ahead of every non-priority customer of the "
                    "same service."),
    )
    priority_join_text = models.CharField(
        _("who has priority"), max_length=200, blank=True,
        help_text=_("Shown on the join page, e.g. \"Mobility inclusion card (CMI "
                    "priorité), pregnant women\"."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("business")
        verbose_name_plural = _("businesses")
        constraints = [
            models.CheckConstraint(
                condition=Q(business_type__in=BusinessType.values),
                name="business_type_valid",
            ),
            models.CheckConstraint(condition=Q(average_service_time__gt=0),
                                   name="business_service_time_positive"),
            models.CheckConstraint(
                condition=Q(max_queue_size__gte=1, max_queue_size__lte=200),
                name="business_max_queue_range",
            ),
            models.CheckConstraint(
                condition=Q(client_timeout_minutes__gte=1, client_timeout_minutes__lte=30),
                name="business_timeout_range",
            ),
            models.CheckConstraint(condition=Q(last_call_minutes__lte=240),
                                   name="business_last_call_range"),
        ]
        indexes = [models.Index(fields=["owner", "is_active"])]

    def __str__(self) -> str:
        return self.name

    @property
    def join_path(self) -> str:
        return f"/q/{self.qr_token}"

    @property
    def join_url(self) -> str:
        return f"{settings.SITE_URL}{self.join_path}"

    @property
    def queue_state(self) -> str:
        if not self.is_active:
            return "inactive"
        if not self.is_queue_open:
            return "closed"
        if self.is_queue_paused:
            return "paused"
        return "open"


class LegalPage(models.Model):
    """A legal text of the platform (legal notice, terms, privacy policy), in French and
    English, that staff edit in the admin: a change shows on the site at once, no deploy.

    The body is plain text: a blank line starts a paragraph, a paragraph starting with
    "## " is a heading, lines starting with "- " make a list. Nothing is read as HTML.
    """

    class Kind(models.TextChoices):
        LEGAL_NOTICE = "legal-notice", _("Legal notice")
        TERMS = "terms", _("Terms of use and sale")
        PRIVACY = "privacy", _("Privacy policy")

    slug = models.SlugField(_("page"), max_length=20, choices=Kind.choices, unique=True)
    title_fr = models.CharField(_("title (French)"), max_length=120)
    title_en = models.CharField(_("title (English)"), max_length=120)
    body_fr = models.TextField(_("text (French)"), help_text=_(
        'Plain text. A blank line starts a paragraph, "## " at the start of a paragraph '
        'makes a heading, lines starting with "- " make a list.'))
    body_en = models.TextField(_("text (English)"), help_text=_(
        'Plain text. A blank line starts a paragraph, "## " at the start of a paragraph '
        'makes a heading, lines starting with "- " make a list.'))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("legal page")
        verbose_name_plural = _("legal pages")

    def __str__(self) -> str:
        return self.get_slug_display()

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_fr

    def blocks(self, language: str) -> list[tuple[str, str | list[str]]]:
        """The body in `language` as ("heading", text), ("list", items) and
        ("paragraph", text) blocks, for the template to lay out (and escape)."""
        body = self.body_en if language == "en" else self.body_fr
        blocks: list[tuple[str, str | list[str]]] = []
        for chunk in body.replace("\r\n", "\n").split("\n\n"):
            lines = [line.strip() for line in chunk.strip().split("\n") if line.strip()]
            if lines and lines[0].startswith("## "):
                blocks.append(("heading", lines.pop(0)[3:].strip()))
            # The rest of the chunk: runs of "- " lines are lists, other runs paragraphs.
            for is_item, run in itertools.groupby(lines, key=lambda line: line.startswith("- ")):
                run = list(run)
                if is_item:
                    blocks.append(("list", [line[2:].strip() for line in run]))
                else:
                    blocks.append(("paragraph", "\n".join(run)))
        return blocks

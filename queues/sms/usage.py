"""SMS used in a month: the one definition behind the dashboard meter, the 80/100 % e-mails,
the billing page and the invoice, and the statistics.

An SMS counts when it left or may have left: `sent`, `delivered`, or `unknown`
(its worker died after handing it to the provider: it may well have reached
the phone, and the provider bills it). `pending`, `failed` and `suppressed`
ones do not. It counts in the month (or the day) it was created, in the
platform's time zone (settings.TIME_ZONE, Europe/Paris), whoever looks: every
row has a `created_at` (an unknown one has no `sent_at`), and an SMS leaves
within minutes of it or never (`outbox.STALE_AFTER`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, IntegerField, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from businesses.models import Business, PlatformSettings, User
from queues.models import SmsLog, SmsQuotaAlert, SmsStatus

COUNTED_SMS_STATUSES = (SmsStatus.SENT, SmsStatus.DELIVERED, SmsStatus.UNKNOWN)
QUOTA_THRESHOLDS = (80, 100)


# --- Months (calendar months in the platform's time zone) --------------------------------------

def month_of(moment: datetime | None = None) -> date:
    """The first day of the month `moment` (now by default) falls in, in Europe/Paris."""
    return timezone.localdate(moment or timezone.now(),
                              timezone.get_default_timezone()).replace(day=1)


def next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a month as aware datetimes in the platform's time zone."""
    tz = timezone.get_default_timezone()
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    end_month = next_month(month)
    return start, datetime(end_month.year, end_month.month, 1, tzinfo=tz)


# --- Counting ----------------------------------------------------------------------------------

def counted_sms(*, start: datetime, end: datetime) -> QuerySet[SmsLog]:
    """The SMS that count, created in [start, end)."""
    return SmsLog.objects.filter(created_at__gte=start, created_at__lt=end,
                                 status__in=COUNTED_SMS_STATUSES)


def sms_used_by_business(*, businesses: QuerySet[Business], start: datetime,
                         end: datetime) -> list[dict]:
    """Counted SMS per business in [start, end), by name, in one GROUP BY; businesses
    without any are left out. Inactive businesses count too: what they sent is billed."""
    rows = (counted_sms(start=start, end=end).filter(business__in=businesses)
            .values("business_id", "business__name")
            .annotate(sms=Count("pk"))
            .order_by("business__name", "business_id"))
    return [{"business_id": str(row["business_id"]), "name": row["business__name"],
             "sms": row["sms"]} for row in rows]


@dataclass(frozen=True)
class SmsUsage:
    month: date
    used: int
    quota: int
    by_business: list[dict] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.used / self.quota) if self.quota else 0

    @property
    def extra(self) -> int:
        return max(0, self.used - self.quota)

    def used_by(self, business_id) -> int:
        return next((row["sms"] for row in self.by_business
                     if row["business_id"] == str(business_id)), 0)


def sms_usage(account: User, month: date | None = None) -> SmsUsage:
    """The SMS the account's businesses used in `month` (this month by default), against
    its plan's quota. One query (plus the plan, unless already loaded)."""
    month = month or month_of()
    start, end = month_bounds(month)
    by_business = sms_used_by_business(businesses=Business.objects.filter(owner=account),
                                       start=start, end=end)
    plan = account.plan
    return SmsUsage(month=month, used=sum(row["sms"] for row in by_business),
                    quota=plan.sms_quota_monthly if plan else 0, by_business=by_business)


# --- Quota e-mails -----------------------------------------------------------------------------

def sms_quota_check(*, user_id) -> list[int]:
    """E-mail the merchant at 80 % and at 100 % of the month's SMS, once per threshold.

    SMS keep going past the quota (extra ones are billed); this only warns.
    Two queries in the usual case (the worker runs it after each batch). The
    alert row and the e-mail commit together, so a failed e-mail is tried
    again on the next SMS and a sent one is never repeated.
    """
    month = month_of()
    alerted = (SmsQuotaAlert.objects.filter(user_id=OuterRef("pk"), month=month).order_by()
               .values("user_id").annotate(top=Max("threshold")).values("top"))
    account = (User.objects.select_related("plan")
               .annotate(highest_alerted=Coalesce(Subquery(alerted, output_field=IntegerField()),
                                                  0))
               .filter(pk=user_id).first())
    if account is None or account.plan is None or not account.plan.sms_quota_monthly:
        return []
    usage = sms_usage(account, month)
    due = [threshold for threshold in QUOTA_THRESHOLDS
           if threshold > account.highest_alerted and usage.used * 100 >= usage.quota * threshold]
    sent_now = []
    for threshold in due:
        with transaction.atomic():
            _alert, created = SmsQuotaAlert.objects.get_or_create(
                user=account, month=month, threshold=threshold,
                defaults={"used": usage.used, "quota": usage.quota})
            if created:
                _send_quota_email(account, threshold, usage)
                sent_now.append(threshold)
    return sent_now


def _send_quota_email(user: User, threshold: int, usage: SmsUsage) -> None:
    cents = PlatformSettings.load().sms_unit_cost_cents
    with translation.override(user.language):
        price = formats.number_format(cents / 100, decimal_pos=2) + " €"
        values = {"threshold": threshold, "used": usage.used, "quota": usage.quota}
        if threshold >= 100:
            subject = _("Waitify: you have used all the SMS of your plan this month")
            intro = _("Your businesses have sent %(used)s SMS this month, the %(quota)s "
                      "included in your plan.") % values
        else:
            subject = _("Waitify: %(threshold)s%% of this month's SMS used") % values
            intro = _("Your businesses have sent %(used)s of the %(quota)s SMS included in "
                      "your plan this month.") % values
        body = "\n\n".join([
            intro,
            _("Your customers keep receiving their SMS: each one above the quota is billed "
              "%(price)s at the end of the month.") % {"price": price},
            _("You can switch to a plan with more SMS, or turn SMS off for a business, from "
              "your dashboard: %(link)s") % {"link": f"{settings.SITE_URL}/dashboard/"},
        ])
    send_mail(subject, body, None, [user.email])

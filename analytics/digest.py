"""The end-of-day e-mail a merchant can opt into (account page)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation

from analytics.models import DailyStat, DigestDelivery
from analytics.selectors import expected_peaks, hour_label
from businesses.models import Business, User

logger = logging.getLogger("waitify.analytics")


@dataclass
class DigestLine:
    business: Business
    stat: DailyStat | None
    expected_peak: str | None

    @property
    def served(self) -> int:
        return self.stat.served if self.stat else 0

    @property
    def missed(self) -> int:
        return self.stat.missed if self.stat else 0

    @property
    def cancelled(self) -> int:
        return self.stat.cancelled if self.stat else 0

    @property
    def revenue_lost_cents(self) -> int:
        return self.stat.revenue_lost_cents if self.stat else 0


def merchants_for_digest() -> list:
    """Ids of the accounts that asked for the digest and have an active business."""
    return list(User.objects.filter(daily_digest_enabled=True, is_active=True,
                                    businesses__is_active=True)
                .values_list("pk", flat=True).distinct())


def digest_lines(user: User, *, day: date) -> list[DigestLine]:
    """Each active business's figures of `day` and its expected peak the day after
    (from the same weekday's history): 3 queries."""
    businesses = list(Business.objects.filter(owner=user, is_active=True).order_by("name"))
    stats = {stat.business_id: stat for stat in
             DailyStat.objects.filter(business__in=businesses, date=day)}
    peaks = expected_peaks([business.pk for business in businesses],
                           day=day + timedelta(days=1))
    return [DigestLine(business=business, stat=stats.get(business.pk),
                       expected_peak=(f"{hour_label(peaks[business.pk])}–"
                                      f"{hour_label((peaks[business.pk] + 1) % 24)}"
                                      if business.pk in peaks else None))
            for business in businesses]


def daily_digest_send(*, user: User, day: date) -> bool:
    """Send `day`'s digest once: False when it was already sent (or not wanted)."""
    if not user.daily_digest_enabled or not user.is_active:
        return False
    try:
        with transaction.atomic():
            claim = DigestDelivery.objects.create(user=user, date=day)
    except IntegrityError:
        return False  # already sent: a retry or a second run of the nightly job
    try:
        with translation.override(user.language):
            lines = digest_lines(user, day=day)
            context = {"user": user, "day": day, "tomorrow": day + timedelta(days=1),
                       "lines": lines, "site_url": settings.SITE_URL}
            subject = render_to_string("analytics/emails/daily_digest_subject.txt",
                                       context).strip()
            body = render_to_string("analytics/emails/daily_digest.txt", context)
        send_mail(subject, body, None, [user.email])
    except Exception:
        # Not sent: free the claim so that the task's retry can send it.
        claim.delete()
        raise
    logger.info("daily digest %s sent to account %s", day.isoformat(), user.pk)
    return True

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from businesses.models import Business


def empty_hours() -> list[int]:
    return [0] * 24


class DailyStat(models.Model):
    """One business's figures for one Europe/Paris day, written by the nightly job.

    Every entry counts on the day it joined the queue. Rows are recomputed in
    place (upsert on business + date), so running the job twice changes nothing,
    and they outlive the entries themselves (deleted after 90 days).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    business = models.ForeignKey(
        Business, verbose_name=_("business"), on_delete=models.CASCADE,
        related_name="daily_stats",
    )
    date = models.DateField(_("day"))
    registered = models.PositiveIntegerField(_("customers registered"), default=0)
    served = models.PositiveIntegerField(_("served"), default=0)
    missed = models.PositiveIntegerField(_("missed"), default=0)
    cancelled = models.PositiveIntegerField(_("cancelled"), default=0)
    # Real wait, join to call, over the customers who were called ("waits_measured").
    average_wait_minutes = models.DecimalField(
        _("average wait (minutes)"), max_digits=7, decimal_places=1, null=True, blank=True
    )
    waits_measured = models.PositiveIntegerField(_("waits measured"), default=0)
    average_service_seconds = models.PositiveIntegerField(
        _("average service time (seconds)"), null=True, blank=True
    )
    # Local hour (0-23) in which the queue first reached `peak_queue_size`.
    peak_hour = models.PositiveSmallIntegerField(_("peak hour"), null=True, blank=True)
    peak_queue_size = models.PositiveIntegerField(
        _("peak queue size"), default=0,
        help_text=_("The largest number of customers waiting at the same time."),
    )
    abandonment_rate = models.DecimalField(
        _("abandonment rate (%)"), max_digits=5, decimal_places=2, null=True, blank=True,
        help_text=_("Missed and cancelled over registered."),
    )
    sms_sent = models.PositiveIntegerField(_("SMS sent"), default=0)
    revenue_lost_cents = models.PositiveBigIntegerField(
        _("potential revenue lost (cents)"), default=0,
        help_text=_("Missed and cancelled customers times the business's average basket."),
    )
    # The 60 minutes, on a quarter-hour grid, in which the most customers joined.
    busiest_window_start = models.TimeField(_("busiest hour starts"), null=True, blank=True)
    busiest_window_end = models.TimeField(_("busiest hour ends"), null=True, blank=True)
    estimate_error_minutes = models.DecimalField(
        _("estimate error (minutes)"), max_digits=7, decimal_places=1, null=True, blank=True,
        help_text=_("Mean absolute difference between the wait announced at join and the "
                    "real wait."),
    )
    # Real waits measured against the ~80 % range shown at join (entries from before
    # ranges were stored have none): how often the range held.
    waits_with_range = models.PositiveIntegerField(_("waits with an announced range"),
                                                   default=0)
    waits_in_range = models.PositiveIntegerField(_("waits inside the announced range"),
                                                 default=0)
    # Per local hour 0-23, by hour of joining: what the charts and suggestions of any
    # period are made from once the entries themselves are gone.
    joins_by_hour = models.JSONField(_("customers per hour"), default=empty_hours)
    waits_by_hour = models.JSONField(_("waits measured per hour"), default=empty_hours)
    wait_seconds_by_hour = models.JSONField(_("total wait per hour (s)"), default=empty_hours)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        ordering = ["business", "-date"]
        verbose_name = _("daily statistic")
        verbose_name_plural = _("daily statistics")
        constraints = [
            # Also the (business, date) index every read of the history uses.
            models.UniqueConstraint(fields=["business", "date"],
                                    name="dailystat_one_per_business_day"),
            models.CheckConstraint(
                condition=Q(abandonment_rate__isnull=True)
                | Q(abandonment_rate__gte=0, abandonment_rate__lte=100),
                name="dailystat_abandonment_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(peak_hour__isnull=True) | Q(peak_hour__gte=0, peak_hour__lte=23),
                name="dailystat_peak_hour_range",
            ),
            models.CheckConstraint(
                condition=Q(registered__gte=0, served__gte=0, missed__gte=0, cancelled__gte=0,
                            waits_measured__gte=0, peak_queue_size__gte=0, sms_sent__gte=0,
                            revenue_lost_cents__gte=0),
                name="dailystat_counts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(registered__gte=F("served") + F("missed") + F("cancelled")),
                name="dailystat_outcomes_within_registered",
            ),
            models.CheckConstraint(
                condition=Q(busiest_window_start__isnull=True, busiest_window_end__isnull=True)
                | Q(busiest_window_start__isnull=False, busiest_window_end__isnull=False),
                name="dailystat_busiest_window_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.business_id} {self.date}"

    @property
    def estimate_in_range_percent(self) -> int | None:
        """Share of real waits inside the range shown at join, in whole percent."""
        if not self.waits_with_range:
            return None
        return round(self.waits_in_range * 100 / self.waits_with_range)


class DigestDelivery(models.Model):
    """The end-of-day e-mail of one merchant for one day: claimed once, sent once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("merchant account"),
        on_delete=models.CASCADE, related_name="digest_deliveries",
    )
    date = models.DateField(_("day"))
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("daily digest sent")
        verbose_name_plural = _("daily digests sent")
        constraints = [
            models.UniqueConstraint(fields=["user", "date"], name="digest_once_per_user_day"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.date}"

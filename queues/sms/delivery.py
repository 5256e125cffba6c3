"""What the provider tells us back: carriers' delivery reports, and numbers that answered STOP.

Both run on beat (see CELERY_BEAT_SCHEDULE) and are safe to run twice: they
only move rows forward (sent or unknown → delivered or failed) or add opt-outs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from queues.models import SmsLog, SmsOptOut, SmsStatus
from queues.sms.backends import BaseSmsBackend, DeliveryReport, get_backend
from queues.sms.outbox import sms_cost_cents

logger = logging.getLogger("waitify.sms")


def sms_sync_opt_outs(*, backend: BaseSmsBackend | None = None) -> int:
    """Record the numbers the provider says answered STOP; returns how many are new."""
    numbers = [n for n in (backend or get_backend()).opted_out_numbers() if n.startswith("+")]
    before = SmsOptOut.objects.count()
    SmsOptOut.objects.bulk_create(
        [SmsOptOut(phone=number[:20], source=SmsOptOut.Source.PROVIDER) for number in numbers],
        ignore_conflicts=True, batch_size=500,
    )
    return SmsOptOut.objects.count() - before


DELIVERY_CURSOR_KEY = "sms-delivery-reports-since"
# Carriers may report up to 72 hours late; the first read (or one after the
# cache was lost) looks this far back. Reading a report twice changes nothing.
DELIVERY_LOOKBACK = timedelta(hours=72)
DELIVERY_OVERLAP = timedelta(minutes=5)
# An SMS reaches the provider within seconds of its hand-off (the send times out
# well before this); our clock and the provider's may differ by a little.
UNKNOWN_MATCH_WINDOW = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=5)


def sms_record_delivery_reports(*, backend: BaseSmsBackend | None = None,
                                now: datetime | None = None) -> dict[str, int]:
    """Sent SMS the carrier reports delivered become `delivered`; reported undelivered,
    `failed` with the carrier's answer (shown to the merchant as a 5001 warning).

    An `unknown` SMS (its worker died after handing it to the provider, so we
    never learnt its message id) takes the report no row claims that is for its
    phone and was published just after its hand-off: the oldest such SMS first,
    one report for one SMS.

    Only rows still `sent` or `unknown` change, and only to these values; a
    report already used names its row from then on. So a report read twice, or
    by two runs at once, ends the same. One read and one batched write, however
    many reports.
    """
    now = now or timezone.now()
    since = cache.get(DELIVERY_CURSOR_KEY) or now - DELIVERY_LOOKBACK
    reports = {report.message_id: report for report in
               (backend or get_backend()).delivery_reports(since=since)}
    unknown = Q(pk__in=[])
    if reports:
        published = [report.published_at for report in reports.values()]
        unknown = Q(status=SmsStatus.UNKNOWN, provider_message_id="",
                    phone__in={report.destination for report in reports.values()},
                    handed_at__gte=min(published) - UNKNOWN_MATCH_WINDOW,
                    handed_at__lte=max(published) + CLOCK_SKEW)
    # Every row a report names, whatever its status: a report already used is
    # no longer free for an unknown row.
    rows = list(SmsLog.objects.filter(Q(provider_message_id__in=list(reports)) | unknown)
                .only("pk", "phone", "provider_message_id", "provider_response", "status",
                      "handed_at", "sent_at", "delivered_at", "cost_cents", "last_error",
                      "updated_at"))
    named = {log.provider_message_id for log in rows}
    settled = [(log, reports[log.provider_message_id]) for log in rows
               if log.status == SmsStatus.SENT]
    settled += _match_unknown(
        [log for log in rows if log.status == SmsStatus.UNKNOWN and not log.provider_message_id],
        [report for message_id, report in reports.items() if message_id not in named])
    for log, report in settled:
        if not log.provider_message_id:  # it did leave: record it as sent, as it was
            log.provider_message_id = report.message_id
            log.sent_at = report.published_at
            log.cost_cents = sms_cost_cents()
        log.provider_response = {**log.provider_response, "delivery": report.response}
        log.updated_at = now
        if report.delivered:
            log.status, log.delivered_at = SmsStatus.DELIVERED, report.reported_at
        else:
            log.status = SmsStatus.FAILED
            log.last_error = f"not delivered: {report.response['providerResponse']}"[:500]
    SmsLog.objects.bulk_update([log for log, _ in settled],
                               ["status", "delivered_at", "last_error", "provider_message_id",
                                "provider_response", "sent_at", "cost_cents", "updated_at"],
                               batch_size=500)
    delivered = sum(log.status == SmsStatus.DELIVERED for log, _ in settled)
    counts = {"delivered": delivered, "failed": len(settled) - delivered}
    latest = max((report.reported_at for report in reports.values()), default=None)
    if latest is not None:
        cache.set(DELIVERY_CURSOR_KEY, max(since, latest - DELIVERY_OVERLAP), timeout=None)
    if any(counts.values()):
        logger.info("sms delivery reports: %(delivered)d delivered, %(failed)d failed", counts)
    return counts


def _match_unknown(logs: list[SmsLog], reports: list[DeliveryReport]
                   ) -> list[tuple[SmsLog, DeliveryReport]]:
    """Pair unknown SMS with the unclaimed reports for their phone published within
    UNKNOWN_MATCH_WINDOW after their hand-off: reports in publishing order, each
    to the oldest SMS still free, so two SMS to one phone take one report each."""
    waiting: dict[str, list[SmsLog]] = {}
    for log in sorted(logs, key=lambda log: log.handed_at):
        waiting.setdefault(log.phone, []).append(log)
    pairs = []
    for report in sorted(reports, key=lambda report: report.published_at):
        candidates = waiting.get(report.destination, [])
        for log in candidates:
            if (log.handed_at - CLOCK_SKEW <= report.published_at
                    <= log.handed_at + UNKNOWN_MATCH_WINDOW):
                candidates.remove(log)
                pairs.append((log, report))
                break
    return pairs

"""SMS notifications of the queue: what to text, when, and getting each one sent once.

The outbox pattern. `on_queue_event` runs inside the transaction of the
queue change (see queues/events.py) and writes one `SmsLog` row, `pending`,
per (entry, type): one INSERT, the only cost a join pays. After commit a
single `send_sms` task takes the ids of all rows that transaction wrote. The
task claims each row with a conditional UPDATE, applies the policies (opt-out,
hourly cap per business: `suppressed`), publishes, and settles the row: sent,
failed, or unknown when the provider may have accepted it without telling us.
Nothing here can make a queue action fail or roll back: sending happens after
commit, in a worker.

At most once, not at least once: a row whose claim outlived the lease (the
worker died mid-send) is settled as `unknown`, never sent again.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Exists, F, IntegerField, Max, OuterRef, Q, Subquery, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from kombu.exceptions import OperationalError as KombuOperationalError

from businesses.models import Business, PlatformSettings, User
from queues.models import (
    SMS_SENT_STATUSES,
    CancelledBy,
    QueueEntry,
    SmsLog,
    SmsOptOut,
    SmsQuotaAlert,
    SmsStatus,
    SmsType,
)
from queues.services import REJOIN_WINDOW, entry_position
from queues.sms_backends import (
    TEMPORARY,
    UNKNOWN,
    BaseSmsBackend,
    DeliveryReport,
    SmsError,
    get_backend,
)
from waitify.lib.breaker import redis_breaker
from waitify.lib.cache import REDIS_FAULTS
from waitify.lib.phones import has_allowed_prefix, mask_phone
from waitify.lib.sms_text import GSM7_SINGLE, is_gsm7, segment_count, septet_length, to_gsm7

logger = logging.getLogger("waitify.sms")

BROKER_FAULTS = (KombuOperationalError, *REDIS_FAULTS)

EVENT_SMS = {
    "joined": SmsType.CONFIRMATION,
    "two_ahead": SmsType.REMINDER,
    "called": SmsType.YOUR_TURN,
    "missed": SmsType.MISSED,
    "cancelled": SmsType.CANCELLED,
    "link_requested": SmsType.LINK,
}
REJOIN_MINUTES = int(REJOIN_WINDOW.total_seconds() // 60)  # said in the "missed" text
SHORTEST_NAME = 20  # a long business name is cut down to this to keep one segment
QUOTA_THRESHOLDS = (80, 100)
# A row the on_commit hook is about to queue is left to it for this long.
SWEEP_GRACE = timedelta(seconds=10)
# An SMS not sent within this time (broker down, retries) is no use any more:
# "your turn" an hour late is worse than nothing.
STALE_AFTER = timedelta(minutes=15)

SUPPRESSED_DESTINATION = "destination_not_allowed"
SUPPRESSED_OPT_OUT = "opted_out"
SUPPRESSED_HOURLY_CAP = "hourly_cap"


# --- The texts -------------------------------------------------------------------------


def _wait_label(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 90:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest:02d}"


def _status_link(entry: QueueEntry) -> str:
    return f"{settings.SITE_URL}{reverse('queues:status', args=[entry.secret])}"


def _position(entry: QueueEntry) -> int:
    # entry_join sets it; an entry called before its confirmation went out is first.
    return getattr(entry, "position", None) or entry_position(entry) or 1


def _body(sms_type: str, entry: QueueEntry, business: Business, name: str) -> str:
    values = {"name": name, "ticket": entry.ticket_label}
    if sms_type == SmsType.CONFIRMATION:
        return _("%(name)s: ticket %(ticket)s, position %(position)s, wait ~%(wait)s. "
                 "Follow it: %(link)s") % {
            **values, "position": _position(entry),
            "wait": _wait_label(entry.estimated_wait_seconds), "link": _status_link(entry)}
    if sms_type == SmsType.REMINDER:
        return _("%(name)s: only 2 people ahead of you now (ticket %(ticket)s). "
                 "Please head back to the counter.") % values
    if sms_type == SmsType.YOUR_TURN:
        minutes = business.client_timeout_minutes
        return ngettext("%(name)s: it's your turn! Ticket %(ticket)s: please come to the "
                        "counter within %(minutes)s min.",
                        "%(name)s: it's your turn! Ticket %(ticket)s: please come to the "
                        "counter within %(minutes)s min.",
                        minutes) % {**values, "minutes": minutes}
    if sms_type == SmsType.MISSED:
        return _("%(name)s: ticket %(ticket)s missed. Get back in 2nd place within "
                 "%(minutes)s min: %(link)s") % {**values, "minutes": REJOIN_MINUTES,
                                                  "link": _status_link(entry)}
    if sms_type == SmsType.LINK:
        return _("%(name)s: your ticket %(ticket)s. Follow your turn here: %(link)s") % {
            **values, "link": _status_link(entry)}
    if entry.cancelled_by == CancelledBy.SHOP_CLOSED:
        return _("%(name)s has closed its queue: your ticket %(ticket)s is cancelled. "
                 "Sorry for the wait.") % values
    return _("%(name)s: your ticket %(ticket)s is cancelled. You can take a new one "
             "at any time.") % values


def _with_custom_message(body: str, custom: str) -> str:
    return to_gsm7(f"{body} {custom}" if custom else body)


def _shortened(name: str, length: int) -> str:
    """`name` cut to at most `length` characters, at a word boundary when one is near, + "."."""
    cut = name[:length]
    if len(cut) < len(name) and " " in cut[SHORTEST_NAME:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" -,.") + "."


def compose_sms(sms_type: str, *, entry: QueueEntry, business: Business) -> str:
    """The exact text of one SMS, in the customer's language (French unless English).

    Aims for one GSM-7 segment: typography and accents GSM-7 lacks are
    replaced, and a long business name is shortened when that is what it
    takes to fit in 160 characters.
    """
    language = "en" if (entry.language or "").lower().startswith("en") else "fr"
    name = to_gsm7(business.name.strip())
    custom = to_gsm7((business.custom_message or "").strip())
    with translation.override(language):
        text = _with_custom_message(_body(sms_type, entry, business, name), custom)
        overflow = septet_length(text) - GSM7_SINGLE
        if overflow > 0 and is_gsm7(text) and len(name) - overflow - 1 >= SHORTEST_NAME:
            short_name = _shortened(name, len(name) - overflow - 1)
            shorter = _with_custom_message(_body(sms_type, entry, business, short_name), custom)
            if segment_count(shorter) == 1:
                return shorter
    return text


# --- Writing the outbox row (inside the queue change's transaction) ----------------------


def on_queue_event(sender, *, event: str, entry: QueueEntry | None = None,
                   business: Business | None = None, **kwargs) -> None:
    """Receiver of `queue_event`: the SMS this change calls for, if any."""
    sms_type = EVENT_SMS.get(event)
    if sms_type is None or entry is None or business is None:
        return
    # A walk-in, a customer in page-only mode, or SMS turned off for the business.
    if not entry.phone or not entry.notify_by_sms or not business.sms_enabled:
        return
    sms_log_create(business=business, entry=entry, sms_type=sms_type)


def sms_log_create(*, business: Business, entry: QueueEntry, sms_type: str) -> SmsLog:
    """Write the outbox row, in the transaction of the queue change; send after commit.

    One INSERT and nothing else, since every join pays for it: a second row
    for the same (entry, type) is dropped by the partial unique index (ON
    CONFLICT DO NOTHING: its id then matches no row and the task skips it);
    opt-outs and the hourly cap are checked by the worker when it sends.
    """
    phone = entry.phone
    allowed = has_allowed_prefix(phone, settings.SMS_ALLOWED_PREFIXES)
    text = compose_sms(sms_type, entry=entry, business=business)
    log = SmsLog(business=business, entry=entry, phone=phone, type=sms_type, text=text,
                 segments=segment_count(text),
                 status=SmsStatus.PENDING if allowed else SmsStatus.SUPPRESSED,
                 last_error="" if allowed else SUPPRESSED_DESTINATION)
    SmsLog.objects.bulk_create([log], ignore_conflicts=True)
    if allowed:
        _send_after_commit(log.pk)
    return log


class _SendAfterCommit:
    """The SMS rows one transaction wrote, handed to the worker as one task after commit."""

    def __init__(self) -> None:
        self.log_ids: list[str] = []
        self.queued = False

    def __call__(self) -> None:
        self.queued = True
        if _in_request.batches is not None:
            _in_request.batches.append(self.log_ids)  # published once the response is sent
        else:
            _publish(self.log_ids)


def _publish(log_ids: list[str]) -> None:
    """Hand the rows to the broker; when it is down they stay pending and the sweep
    sends them once it is back (nothing here may fail a committed change)."""
    from queues.tasks import send_sms

    if redis_breaker.is_open:  # Redis failed a moment ago: spare this request the timeout
        logger.warning("Redis unavailable: %d SMS left to the sweep", len(log_ids))
        return
    try:
        send_sms.delay(log_ids)
    except Exception as exc:
        if isinstance(exc, BROKER_FAULTS):
            redis_breaker.trip()
        logger.exception("could not queue %d SMS; the sweep will", len(log_ids))


class _RequestBatches(threading.local):
    batches: list[list[str]] | None = None


# A web request's committed SMS are handed to the broker once its response has
# been sent (`request_finished` fires when the server closes the response,
# after writing it): the customer never waits for the broker. Should the
# process die in between, the rows are pending and the sweep queues them.
_in_request = _RequestBatches()


def sms_hold_until_response(**kwargs) -> None:
    """`request_started` receiver."""
    _in_request.batches = []


def sms_publish_after_response(**kwargs) -> None:
    """`request_finished` receiver: queue the SMS the request committed."""
    batches, _in_request.batches = _in_request.batches, None
    for log_ids in batches or ():
        _publish(log_ids)


def _send_after_commit(log_id) -> None:
    """One `send_sms` task per transaction, however many SMS it wrote (join + reminder…).

    Joining the batch already registered is safe even from another savepoint:
    the savepoints it was registered in are either still open around us (their
    rollback would undo our row too) or released (they can no longer roll
    back). A rolled-back row leaves an id the task simply does not find.
    """
    connection = transaction.get_connection()
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _SendAfterCommit) and not callback.queued:
            callback.log_ids.append(str(log_id))
            return
    batch = _SendAfterCommit()
    batch.log_ids.append(str(log_id))
    transaction.on_commit(batch, robust=True)


# --- Sending (in the worker) ---------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    """Exponential with jitter: ~10 s, ~30 s, ~90 s… (±50 %) so retries do not stampede."""
    seconds = settings.SMS_RETRY_BASE_SECONDS * 3 ** max(0, attempts - 1)
    return timedelta(seconds=seconds * random.uniform(0.5, 1.5))


def sms_send_batch(*, log_ids: list, backend: BaseSmsBackend | None = None) -> int:
    """Send each row the caller may claim; returns how many left as sent. Safe to run twice."""
    backend = backend or get_backend()
    owners: set = set()
    sent = 0
    for log_id in log_ids:
        log = sms_send_one(log_id=log_id, backend=backend)
        if log is not None and log.status == SmsStatus.SENT:
            sent += 1
            owners.add(log.business.owner_id)
    for owner_id in owners:
        try:
            sms_quota_check(user_id=owner_id)
        except Exception:
            logger.exception("SMS quota check failed for account %s", owner_id)
    return sent


def _claim(log_id, now: datetime) -> bool:
    """Take the row for this worker: one UPDATE that exactly one caller can win."""
    return bool(
        SmsLog.objects.filter(pk=log_id, status=SmsStatus.PENDING, claimed_at__isnull=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(claimed_at=now, handed_at=None, attempts=F("attempts") + 1, updated_at=now)
    )


def _hand_off(log: SmsLog, claimed_at: datetime) -> bool:
    """Record, in its own commit, that the provider is about to get the message.

    The line between "safe to send again" and "may have gone out": a claim that
    died before it is retried by the sweep; one that died after it is settled
    "unknown". False when the claim is no longer ours (the sweep released it).
    """
    now = timezone.now()
    return bool(SmsLog.objects.filter(pk=log.pk, claimed_at=claimed_at,
                                      status=SmsStatus.PENDING)
                .update(handed_at=now, updated_at=now))


def _over_the_hourly_cap(cap: int) -> Exists | Value:
    """Whether `cap` SMS of the same business were created in the hour before this one
    (suppressed ones aside): looks at `cap` rows at most, however busy the business.

    Rows of one business are created one at a time under its queue lock, so
    "before" is a fixed order: whichever worker looks first, the same rows
    end up over the cap (still-pending earlier rows count as going out).
    """
    if cap <= 0:
        return Value(True)
    earlier = (SmsLog.objects.filter(business_id=OuterRef("business_id"),
                                     created_at__lt=OuterRef("created_at"),
                                     created_at__gte=OuterRef("created_at") - timedelta(hours=1))
               .exclude(status=SmsStatus.SUPPRESSED).order_by())
    return Exists(earlier[cap - 1:cap])


def _cost_cents() -> CombinedExpression:
    """segments × the platform's unit cost, computed by the UPDATE itself (no extra query)."""
    unit = PlatformSettings.objects.values("sms_unit_cost_cents")[:1]
    default = PlatformSettings._meta.get_field("sms_unit_cost_cents").default
    return F("segments") * Coalesce(Subquery(unit, output_field=IntegerField()), Value(default))


def sms_send_one(*, log_id, backend: BaseSmsBackend) -> SmsLog | None:
    """Claim, publish, settle. None when another run has it (or had it)."""
    claimed_at = timezone.now()
    if not _claim(log_id, claimed_at):
        return None
    log = (SmsLog.objects.select_related("business")
           .annotate(opted_out=Exists(SmsOptOut.objects.filter(phone=OuterRef("phone"))),
                     over_cap=_over_the_hourly_cap(settings.SMS_HOURLY_CAP_PER_BUSINESS))
           .get(pk=log_id))
    if claimed_at - log.created_at > STALE_AFTER:
        return _settle(log, claimed_at, status=SmsStatus.FAILED,
                       last_error="Not sent in time: no longer useful.")
    reason = (SUPPRESSED_OPT_OUT if log.opted_out else
              SUPPRESSED_HOURLY_CAP if log.over_cap else "")
    if reason:
        logger.warning("sms suppressed (%s) business=%s type=%s phone=%s", reason,
                       log.business_id, log.type, mask_phone(log.phone))
        return _settle(log, claimed_at, status=SmsStatus.SUPPRESSED, last_error=reason,
                       next_attempt_at=None)
    if not _hand_off(log, claimed_at):
        return None
    try:
        result = backend.send(phone=log.phone, text=log.text)
    except SmsError as error:
        return _settle_failure(log, claimed_at, error)
    except Exception as exc:
        # Unknown territory (a library bug…): the message may have left.
        logger.exception("SMS backend crashed for %s", log.pk)
        return _settle_failure(log, claimed_at, SmsError(UNKNOWN, f"{type(exc).__name__}: {exc}"))
    now = timezone.now()
    # "unknown" too: the sweep may have given up on a slow send that did go.
    settled = SmsLog.objects.filter(
        pk=log.pk, claimed_at=claimed_at, status__in=[SmsStatus.PENDING, SmsStatus.UNKNOWN]
    ).update(status=SmsStatus.SENT, sent_at=now, provider_message_id=result.message_id,
             provider_response=result.response, cost_cents=_cost_cents(),
             last_error="", next_attempt_at=None, updated_at=now)
    # Not in one transaction with the row above, on purpose (two round trips
    # fewer per SMS): the log is the record; the entry's counter is for display.
    if settled and log.entry_id:
        QueueEntry.objects.filter(pk=log.entry_id).update(sms_count=F("sms_count") + 1,
                                                          last_sms_at=now)
    log.status, log.sent_at = SmsStatus.SENT, now
    logger.info("sms sent business=%s type=%s phone=%s segments=%s", log.business_id, log.type,
                mask_phone(log.phone), log.segments)
    return log


def _settle(log: SmsLog, claim: datetime, **fields) -> SmsLog:
    """Record the outcome, conditional on the row still being ours and pending."""
    fields.setdefault("updated_at", timezone.now())
    SmsLog.objects.filter(pk=log.pk, claimed_at=claim, status=SmsStatus.PENDING).update(
        **fields)
    for name, value in fields.items():
        setattr(log, name, value)
    return log


def _settle_failure(log: SmsLog, claimed_at: datetime, error: SmsError) -> SmsLog:
    now = timezone.now()
    common = {"last_error": error.message[:500], "provider_response": error.response,
              "updated_at": now}
    logger.warning("sms %s error business=%s type=%s phone=%s attempt=%s: %s", error.kind,
                   log.business_id, log.type, mask_phone(log.phone), log.attempts, error.message)
    if error.opted_out:
        SmsOptOut.objects.bulk_create([SmsOptOut(phone=log.phone)], ignore_conflicts=True)
    if error.kind == TEMPORARY and log.attempts < settings.SMS_MAX_ATTEMPTS:
        delay = _backoff(log.attempts)
        _settle(log, claimed_at, claimed_at=None, next_attempt_at=now + delay, **common)
        _retry_later(log, delay)
        return log
    # PERMANENT, or TEMPORARY once the attempts are used up.
    status = SmsStatus.UNKNOWN if error.kind == UNKNOWN else SmsStatus.FAILED
    return _settle(log, claimed_at, status=status, next_attempt_at=None, **common)


def _retry_later(log: SmsLog, delay: timedelta) -> None:
    from queues.tasks import send_sms

    try:
        send_sms.apply_async(([str(log.pk)],), countdown=delay.total_seconds())
    except Exception:
        logger.exception("could not schedule the retry of %s; the sweep will", log.pk)


def sms_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Periodic: settle sends whose worker died, queue rows due for a (re)try.

    Safe to run twice or to overlap with itself: both steps are conditional
    UPDATEs or go through the claim.
    """
    from queues.tasks import send_sms

    now = now or timezone.now()
    lease = timedelta(seconds=settings.SMS_CLAIM_LEASE_SECONDS)
    cutoff = now - SWEEP_GRACE
    expired = SmsLog.objects.filter(status=SmsStatus.PENDING, claimed_at__lt=now - lease)
    # Died before the hand-off: the provider never had it, so it can go again.
    expired.filter(handed_at__isnull=True, attempts__gte=settings.SMS_MAX_ATTEMPTS).update(
        status=SmsStatus.FAILED, updated_at=now,
        last_error="The worker stopped before the send, too many times.")
    retried = expired.filter(handed_at__isnull=True).update(
        claimed_at=None, next_attempt_at=cutoff, updated_at=now)
    # Died after it: the message may have left; never sent twice. Delivery reports
    # (when configured) still settle it if the provider answered with an id.
    lost = expired.filter(handed_at__isnull=False).update(
        status=SmsStatus.UNKNOWN, updated_at=now,
        last_error="The worker stopped during the send: it may or may not have gone out.",
    )
    # A fresh row (no attempt yet: next_attempt_at is NULL, "due now") is due
    # by its creation time, so that web and worker clocks need not agree.
    due = [str(pk) for pk in SmsLog.objects.filter(
        Q(next_attempt_at__lte=cutoff) | Q(next_attempt_at__isnull=True, created_at__lte=cutoff),
        status=SmsStatus.PENDING, claimed_at__isnull=True,
    ).order_by("created_at").values_list("pk", flat=True)[:1000]]
    for start in range(0, len(due), 50):
        send_sms.delay(due[start:start + 50])
    if lost or retried or due:
        logger.warning("sms sweep: %d lost mid-send (now unknown), %d claims that never "
                       "reached the provider released, %d queued", lost, retried, len(due))
    return {"lost": lost, "retried": retried, "queued": len(due)}


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
            log.cost_cents = _cost_cents()
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


# --- Usage and quota -------------------------------------------------------------------------


def month_start(now: datetime | None = None) -> datetime:
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def sms_month_count(*, business_ref=None, since: datetime | None = None) -> Coalesce:
    """SMS a business sent this month, as an annotation (one subquery, no extra query)."""
    sent = (SmsLog.objects.filter(business_id=business_ref or OuterRef("pk"),
                                  created_at__gte=since or month_start(),
                                  status__in=SMS_SENT_STATUSES)
            .order_by().values("business_id").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(sent, output_field=IntegerField()), 0)


def sms_capped_recently(*, business_ref=None) -> Exists:
    """Whether the hourly SMS cap stopped a message of this business in the last hour."""
    return Exists(SmsLog.objects.filter(
        business_id=business_ref or OuterRef("pk"), status=SmsStatus.SUPPRESSED,
        last_error=SUPPRESSED_HOURLY_CAP, created_at__gte=timezone.now() - timedelta(hours=1)))


@dataclass(frozen=True)
class SmsUsage:
    used: int
    quota: int

    @property
    def percent(self) -> int:
        return round(100 * self.used / self.quota) if self.quota else 0

    @property
    def extra(self) -> int:
        return max(0, self.used - self.quota)


def sms_quota_check(*, user_id) -> list[int]:
    """E-mail the merchant at 80 % and at 100 % of the month's SMS, once per threshold.

    SMS keep going past the quota (extra ones are billed); this only warns.
    One query in the usual case (the worker runs it after each batch). The
    alert row and the e-mail commit together, so a failed e-mail is tried
    again on the next SMS and a sent one is never repeated.
    """
    since = month_start()
    month = since.date()
    sent = (SmsLog.objects.filter(business__owner_id=OuterRef("pk"), created_at__gte=since,
                                  status__in=SMS_SENT_STATUSES)
            .order_by().values("business__owner_id").annotate(n=Count("pk")).values("n"))
    alerted = (SmsQuotaAlert.objects.filter(user_id=OuterRef("pk"), month=month).order_by()
               .values("user_id").annotate(top=Max("threshold")).values("top"))
    found = (User.objects.filter(pk=user_id)
             .values_list("plan__sms_quota_monthly",
                          Coalesce(Subquery(sent, output_field=IntegerField()), 0),
                          Coalesce(Subquery(alerted, output_field=IntegerField()), 0))
             .first())
    if found is None or not found[0]:
        return []
    usage, highest_alerted = SmsUsage(used=found[1], quota=found[0]), found[2]
    due = [threshold for threshold in QUOTA_THRESHOLDS
           if threshold > highest_alerted and usage.used * 100 >= usage.quota * threshold]
    if not due:
        return []
    user = User.objects.get(pk=user_id)
    sent_now = []
    for threshold in due:
        with transaction.atomic():
            _alert, created = SmsQuotaAlert.objects.get_or_create(
                user=user, month=month, threshold=threshold,
                defaults={"used": usage.used, "quota": usage.quota})
            if created:
                _send_quota_email(user, threshold, usage)
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

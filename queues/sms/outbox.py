"""The SMS outbox: the row written with the queue change, then getting it sent once.

`on_queue_event` runs inside the transaction of the queue change (see
queues/events.py) and writes one `SmsLog` row, `pending`, per (entry, type):
one INSERT, the only cost a join pays. `transaction.on_commit` then hands the
row's id to a `send_sms` task. The task claims the row with a conditional
UPDATE, applies the policies (opt-out, hourly cap per business:
`suppressed`), publishes, and settles the row: sent, failed, or unknown when
the provider may have accepted it without telling us. Nothing here can make a
queue action fail or roll back: sending happens after commit, in a worker;
when the broker is down the row stays pending and `sms_sweep` queues it later.

At most once, not at least once: a row whose claim outlived the lease (the
worker died mid-send) is settled as `unknown`, never sent again.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from businesses.models import Business, PlatformSettings
from queues.models import QueueEntry, SmsLog, SmsOptOut, SmsStatus, SmsType
from queues.sms.backends import TEMPORARY, UNKNOWN, BaseSmsBackend, SmsError, get_backend
from queues.sms.gsm7 import segment_count
from queues.sms.texts import compose_sms
from queues.sms.usage import COUNTED_SMS_STATUSES, sms_quota_check
from waitify.lib.breaker import redis_breaker
from waitify.lib.cache import REDIS_FAULTS
from waitify.lib.phones import has_allowed_prefix, mask_phone

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
# A row the on_commit hook is about to queue is left to it for this long.
SWEEP_GRACE = timedelta(seconds=10)
# An SMS not sent within this time (broker down, retries) is no use any more:
# "your turn" an hour late is worse than nothing.
STALE_AFTER = timedelta(minutes=15)

SUPPRESSED_DESTINATION = "destination_not_allowed"
SUPPRESSED_OPT_OUT = "opted_out"
SUPPRESSED_HOURLY_CAP = "hourly_cap"


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
        # Only once the change is committed: a rolled-back join (or savepoint) sends
        # nothing, and the worker never looks for a row it cannot see yet. A row the
        # conflict dropped leaves an id the task simply does not find.
        transaction.on_commit(partial(_publish, [str(log.pk)]), robust=True)
    return log


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


def sms_capped_recently(*, business_ref=None) -> Exists:
    """Whether the hourly SMS cap stopped a message of this business in the last hour."""
    return Exists(SmsLog.objects.filter(
        business_id=business_ref or OuterRef("pk"), status=SmsStatus.SUPPRESSED,
        last_error=SUPPRESSED_HOURLY_CAP, created_at__gte=timezone.now() - timedelta(hours=1)))


# --- Sending (in the worker) ---------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    """Exponential with jitter: ~10 s, ~30 s, ~90 s… (±50 %) so retries do not stampede."""
    seconds = settings.SMS_RETRY_BASE_SECONDS * 3 ** max(0, attempts - 1)
    return timedelta(seconds=seconds * random.uniform(0.5, 1.5))


def sms_send_batch(*, log_ids: list, backend: BaseSmsBackend | None = None) -> int:
    """Send each row the caller may claim; returns how many left as sent. Safe to run twice.

    Then the quota e-mails of the accounts whose usage grew (an unknown SMS counts too).
    """
    backend = backend or get_backend()
    owners: set = set()
    sent = 0
    for log_id in log_ids:
        log = sms_send_one(log_id=log_id, backend=backend)
        if log is not None and log.status in COUNTED_SMS_STATUSES:
            sent += log.status == SmsStatus.SENT
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


def sms_cost_cents() -> CombinedExpression:
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
             provider_response=result.response, cost_cents=sms_cost_cents(),
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

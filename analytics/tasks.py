from __future__ import annotations

from datetime import date, timedelta
from smtplib import SMTPException

from celery import shared_task

from analytics import digest, services
from analytics.days import local_today
from businesses.models import User


@shared_task(name="analytics.compute_daily_stats", ignore_result=True)
def compute_daily_stats(day: str | None = None) -> int:
    """Beat, 01:00 Europe/Paris: yesterday's figures, then the digests. Safe to run twice
    (rows are upserted, each digest is sent once)."""
    target = date.fromisoformat(day) if day else local_today() - timedelta(days=1)
    written = services.daily_stats_compute(day=target)
    send_daily_digests.delay(target.isoformat())
    return written


@shared_task(name="analytics.send_daily_digests", ignore_result=True)
def send_daily_digests(day: str) -> int:
    user_ids = digest.merchants_for_digest()
    for user_id in user_ids:
        send_daily_digest.delay(str(user_id), day)
    return len(user_ids)


@shared_task(name="analytics.send_daily_digest", ignore_result=True,
             autoretry_for=(SMTPException, OSError), retry_backoff=60, max_retries=5)
def send_daily_digest(user_id: str, day: str) -> bool:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return False
    return digest.daily_digest_send(user=user, day=date.fromisoformat(day))


@shared_task(name="analytics.apply_retention", ignore_result=True)
def apply_retention() -> dict[str, int]:
    """Beat, 02:00: batched and idempotent (see services.entries_purge_expired)."""
    return {"entries_deleted": services.entries_purge_expired(),
            "sms_phones_blanked": services.sms_logs_forget_phones()}

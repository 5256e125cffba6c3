from celery import shared_task

from queues import heartbeats, services
from queues.models import Heartbeat
from queues.sms import delivery, outbox


@shared_task(name="queues.expire_overdue_calls", ignore_result=True)
def expire_overdue_calls() -> int:
    """Beat runs this every few seconds; safe to overlap (see services.entry_expire).
    It is also the scheduler's heartbeat: when beat or every worker stops, it goes late."""
    heartbeats.heartbeat_record(kind=Heartbeat.Kind.SCHEDULER, name=heartbeats.SCHEDULER)
    return services.queue_expire_overdue()


@shared_task(name="queues.send_sms", ignore_result=True)
def send_sms(log_ids: list[str]) -> int:
    """Send the given SMS rows (one handed over at commit, or a sweep's batch); a second
    delivery of the task sends nothing."""
    return outbox.sms_send_batch(log_ids=log_ids)


@shared_task(name="queues.sms_sweep", ignore_result=True)
def sms_sweep() -> dict[str, int]:
    """Beat runs this every 30 s; safe to overlap (conditional UPDATEs and claims)."""
    return outbox.sms_sweep()


@shared_task(name="queues.sms_sync_opt_outs", ignore_result=True)
def sms_sync_opt_outs() -> int:
    """Beat, hourly: numbers that answered STOP at the provider are never texted again."""
    return delivery.sms_sync_opt_outs()


@shared_task(name="queues.sms_record_delivery_reports", ignore_result=True)
def sms_record_delivery_reports() -> dict[str, int]:
    """Beat, every 5 minutes: carriers' delivery reports turn sent SMS delivered or failed."""
    return delivery.sms_record_delivery_reports()

from celery import shared_task

from queues import services


@shared_task(name="queues.expire_overdue_calls", ignore_result=True)
def expire_overdue_calls() -> int:
    """Beat runs this every few seconds; safe to overlap (see services.entry_expire)."""
    return services.queue_expire_overdue()

"""Timeouts happen with no page open: through beat's task, or in-process when embedded."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from queues import services, tasks
from queues.management.commands.run_embedded import run_schedule_forever
from queues.models import EntryStatus, QueueEntry
from queues.tests.factories import fill, open_queue


def test_the_sweep_is_scheduled_every_few_seconds():
    entry = settings.CELERY_BEAT_SCHEDULE["expire-overdue-calls"]
    assert entry["task"] == tasks.expire_overdue_calls.name
    assert entry["schedule"] <= 10


def test_the_sweep_task_misses_an_overdue_call(business):
    first, second = fill(open_queue(business), 2)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        services.queue_call_next(business=business)
        clock.shift(timedelta(minutes=business.client_timeout_minutes, seconds=5))
        assert tasks.expire_overdue_calls.delay().get() == 1
    assert QueueEntry.objects.get(pk=first.pk).status == EntryStatus.MISSED
    assert QueueEntry.objects.get(pk=second.pk).status == EntryStatus.CALLED


@pytest.mark.django_db(transaction=True)
def test_the_embedded_scheduler_runs_the_sweep_without_celery(merchant, business):
    first, = fill(open_queue(business), 1)
    services.queue_call_next(business=business)
    QueueEntry.objects.filter(pk=first.pk).update(
        called_at=timezone.now() - timedelta(minutes=business.client_timeout_minutes + 1)
    )
    stop = threading.Event()
    worker = threading.Thread(target=run_schedule_forever, args=(stop, 0.2), daemon=True)
    worker.start()
    try:
        for _ in range(100):
            if QueueEntry.objects.get(pk=first.pk).status == EntryStatus.MISSED:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        worker.join(5)
    assert QueueEntry.objects.get(pk=first.pk).status == EntryStatus.MISSED

"""`manage.py run_embedded`: the demo server with Celery beat's schedule in-process.

In the embedded default there is no Redis, no worker and no beat: tasks run
inline, and this command runs every job of CELERY_BEAT_SCHEDULE in a daemon
thread so that timeouts and other periodic work happen with no page open.
"""

from __future__ import annotations

import logging
import threading

from celery.schedules import maybe_schedule
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from queues.heartbeats import WorkerHeartbeat
from waitify.celery import app

logger = logging.getLogger("waitify.embedded")


def run_schedule_forever(stop: threading.Event, tick: float = 1.0) -> None:
    schedules = {name: maybe_schedule(entry["schedule"])
                 for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
    last_run = {name: timezone.now() for name in schedules}
    while not stop.wait(tick):
        for name, schedule in schedules.items():
            if not schedule.is_due(last_run[name]).is_due:
                continue
            last_run[name] = timezone.now()
            try:
                app.tasks[settings.CELERY_BEAT_SCHEDULE[name]["task"]].apply()
            except Exception:
                logger.exception("embedded job %s failed", name)
            finally:
                close_old_connections()


class Command(BaseCommand):
    help = "Serve the demo with the periodic jobs running in-process (no Redis needed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options) -> None:
        app.loader.import_default_modules()
        stop = threading.Event()
        threading.Thread(target=run_schedule_forever, args=(stop,), daemon=True,
                         name="embedded-beat").start()
        # Tasks run inline in this process: it is the worker, and says so to /health.
        worker_heartbeat = WorkerHeartbeat("worker:embedded").start()
        self.stdout.write(f"Periodic jobs running in-process: "
                          f"{', '.join(settings.CELERY_BEAT_SCHEDULE)}")
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            stop.set()
            worker_heartbeat.stop()

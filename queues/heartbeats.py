"""Heartbeats of the background processes: beat's sweep and the Celery workers.

A worker or a scheduler that dies stops writing its row; /health and the admin
then show it as late. Rows are written with one upsert, so the sweep that runs
every few seconds pays one statement for it.
"""

from __future__ import annotations

import logging
import socket
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from queues.models import Heartbeat

logger = logging.getLogger("waitify.heartbeat")

SCHEDULER = "scheduler"


def heartbeat_record(*, kind: str, name: str, now: datetime | None = None) -> None:
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name, kind=kind, seen_at=now or timezone.now())],
        update_conflicts=True, unique_fields=["name"], update_fields=["seen_at", "kind"],
    )


def heartbeat_report(now: datetime | None = None) -> dict[str, dict]:
    """{"scheduler": {...}, "workers": {...}}: "up" or "late" (past HEARTBEAT_LATE_SECONDS),
    or "never_seen" when no heartbeat was ever written."""
    now = now or timezone.now()
    late_before = now - timedelta(seconds=settings.HEARTBEAT_LATE_SECONDS)
    beats = list(Heartbeat.objects.order_by("-seen_at").values_list("kind", "seen_at"))
    report = {}
    for key, kind in (("scheduler", Heartbeat.Kind.SCHEDULER),
                      ("workers", Heartbeat.Kind.WORKER)):
        seen = [seen_at for beat_kind, seen_at in beats if beat_kind == kind]
        if not seen:
            report[key] = {"status": "never_seen"}
            continue
        report[key] = {"status": "up" if seen[0] >= late_before else "late",
                       "last_seen": seen[0].isoformat()}
        if kind == Heartbeat.Kind.WORKER:
            report[key]["alive"] = sum(seen_at >= late_before for seen_at in seen)
    return report


def is_late(beat: Heartbeat, now: datetime | None = None) -> bool:
    return beat.seen_at < (now or timezone.now()) - timedelta(
        seconds=settings.HEARTBEAT_LATE_SECONDS)


class WorkerHeartbeat:
    """A daemon thread writing this process's worker heartbeat until stopped."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="worker-heartbeat")

    def start(self) -> WorkerHeartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while True:
            try:
                heartbeat_record(kind=Heartbeat.Kind.WORKER, name=self.name)
            except Exception:
                # The database may be restarting: try again on the next beat.
                logger.exception("could not record the worker heartbeat")
            finally:
                close_old_connections()
            if self._stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
                return


_worker_heartbeat: WorkerHeartbeat | None = None


def start_worker_heartbeat(sender=None, **kwargs) -> None:
    """Celery's `worker_ready`: the worker (its main process) beats while it runs."""
    global _worker_heartbeat
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    _worker_heartbeat = WorkerHeartbeat(f"worker:{hostname}").start()


def stop_worker_heartbeat(**kwargs) -> None:
    """Celery's `worker_shutdown`."""
    if _worker_heartbeat is not None:
        _worker_heartbeat.stop()

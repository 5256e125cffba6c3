"""`docker compose stop` on the worker: SIGTERM to PID 1, then SIGKILL after the grace period.

The worker started here is docker-compose.yml's worker command (prefork, two
processes) on a task queue of its own; the SMS provider is slow to answer
(`SlowFileBackend`), so SIGTERM arrives while two sends are in flight and a
third waits in the broker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
import yaml
from django.conf import settings as django_settings

from queues import services
from queues.models import SmsLog, SmsStatus
from queues.tests import sms_fakes
from queues.tests.test_sms_worker import BROKER_DB, _database_url, new_queue, real_broker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PROVIDER_SECONDS = 5


def compose_worker() -> tuple[list[str], float]:
    """The worker service's command and its stop grace period in seconds."""
    worker = yaml.safe_load((django_settings.BASE_DIR / "docker-compose.yml").read_text())[
        "services"]["worker"]
    grace = worker["stop_grace_period"]
    seconds = float(grace[:-1]) * (60 if grace.endswith("m") else 1)
    return worker["command"], seconds


def test_a_worker_told_to_stop_finishes_its_sends_and_exits_0_within_the_grace_period(tmp_path):
    command, grace_seconds = compose_worker()
    queue = new_queue("shutdown@example.fr")
    with real_broker(BROKER_DB) as (broker_url, task_queue):
        env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": broker_url,
               "CELERY_TASK_ALWAYS_EAGER": "false",
               "SMS_BACKEND": "queues.tests.sms_fakes.SlowFileBackend",
               "SMS_FAKE_DIR": str(tmp_path), "SMS_FAKE_SLEEP": str(PROVIDER_SECONDS)}
        log_path = tmp_path / "worker.log"
        with open(log_path, "w") as log:
            worker = subprocess.Popen(  # noqa: S603 - the compose file's argv, no shell
                [sys.executable, "-m", *command, "-Q", task_queue,
                 "-n", f"shutdown-{uuid.uuid4().hex[:8]}@%h"],
                cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            wait_for(lambda: " ready." in log_path.read_text() or worker.poll() is not None, 90,
                     "the worker to start")
            assert worker.poll() is None, log_path.read_text()
            entries = [services.entry_join(business=queue, phone=f"06 12 34 56 7{digit}")
                       for digit in range(3)]
            # Both worker processes are waiting for the provider's answer…
            wait_for(lambda: len(sms_fakes.sends(tmp_path)) == 2, 60, "two sends in flight")

            os.kill(worker.pid, signal.SIGTERM)  # …when docker stop signals PID 1.
            stopped_at = time.monotonic()
            exit_code = worker.wait(timeout=grace_seconds)
            took = time.monotonic() - stopped_at
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
        waiting = redis.Redis.from_url(broker_url).llen(task_queue)

    output = log_path.read_text()
    assert exit_code == 0, output[-3000:]
    # Well inside the grace period (17.6 s measured with the machine at load 24).
    assert took < grace_seconds / 2, f"{took:.1f} s to stop"
    logs = SmsLog.objects.filter(entry__in=entries)
    # The two sends in flight finished and were recorded; the third was not started and
    # is still in the broker for the next worker: nothing lost, nothing sent twice.
    assert sorted(logs.values_list("status", flat=True)) == [
        SmsStatus.PENDING, SmsStatus.SENT, SmsStatus.SENT]
    assert logs.get(status=SmsStatus.PENDING).attempts == 0
    assert waiting == 1
    assert len(sms_fakes.sends(tmp_path)) == 2
    assert "Traceback" not in output

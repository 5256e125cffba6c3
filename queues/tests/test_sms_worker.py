"""SMS through a real Celery worker and a real Redis broker.

1. A worker thread in this process (`celery.contrib.testing.worker`): a join
   leads to exactly one confirmation after commit, none when it rolls back.
2. A worker *process* killed with SIGKILL while the provider holds the
   message: after a restart and the periodic recovery the message has gone
   out once, and its row is settled (unknown), never left pending.
3. A worker process killed after its claim but before the hand-off to the
   provider: the message goes out once after the restart; meanwhile /health
   reports the dead worker.

The broker is a Redis database of its own (db 8; the cache's database is
flushed between tests). Both need PostgreSQL (other connections must see
committed rows) and Redis; without them they are skipped, loudly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.db import connection, transaction
from kombu import pools as kombu_pools

from businesses import services as business_services
from businesses.tests.factories import make_merchant
from queues import services
from queues.models import Heartbeat, SmsLog, SmsOptOut, SmsStatus, SmsType
from queues.tests import sms_fakes
from queues.tests.factories import open_queue
from waitify.celery import app as celery_app

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# A database apart from the cache's (flushed between tests). Nothing flushes
# it: each test has a task queue of its own there, removed afterwards, so
# runs on the same Redis (other checkouts, CI) do not disturb each other.
BROKER_DB = 8


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def redis_db_url(db: int) -> str:
    if not django_settings.REDIS_URL:
        pytest.skip("*** needs Redis (REDIS_URL unset): real-worker SMS tests SKIPPED ***")
    parts = urlsplit(django_settings.REDIS_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


def _reset_producer_pools() -> None:
    # The app and kombu's global registry cache broker connections: drop them
    # all so the next send connects to the URL now configured.
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def real_broker(db: int):
    """This process sends tasks for real (not eagerly) to a queue of its own in Redis `db`.

    Yields (broker URL, queue name); a worker must consume that queue.
    """
    import redis

    url, queue = redis_db_url(db), f"sms-test-{uuid.uuid4().hex[:12]}"
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager, conf.task_default_queue
    conf.broker_url, conf.task_always_eager, conf.task_default_queue = url, False, queue
    _reset_producer_pools()
    try:
        yield url, queue
    finally:
        conf.broker_url, conf.task_always_eager, conf.task_default_queue = saved
        _reset_producer_pools()
        client = redis.Redis.from_url(url)
        client.delete(queue, *client.keys(f"*{queue}*"))


def new_queue(email: str):
    merchant = make_merchant(email, plan="pro")
    return open_queue(business_services.business_create(owner=merchant, name="Boulangerie",
                                                        business_type="bakery"))


def test_a_join_sends_one_confirmation_through_a_real_worker_after_commit(sms_outbox):
    queue = new_queue("worker@example.fr")
    with real_broker(BROKER_DB) as (_url, task_queue), \
            start_worker(celery_app, pool="solo", perform_ping_check=False, queues=[task_queue],
                         shutdown_timeout=30, loglevel="WARNING"):
        first = services.entry_join(business=queue, phone="06 11 11 11 11")
        wait_for(lambda: len(sms_outbox) >= 1, 20, "the first confirmation")

        with pytest.raises(RuntimeError), transaction.atomic():
            services.entry_join(business=queue, phone="06 22 22 22 22")
            raise RuntimeError("the request failed after the join")

        # The worker handles tasks in order: once this one is through, a task
        # for the rolled-back join would have been handled too.
        third = services.entry_join(business=queue, phone="06 33 33 33 33")
        wait_for(lambda: len(sms_outbox) >= 2, 20, "the third confirmation")
        time.sleep(0.5)
    assert [message.phone for message in sms_outbox] == [first.phone, third.phone]
    assert "A-001" in sms_outbox[0].text and "A-002" in sms_outbox[1].text
    assert not SmsLog.objects.filter(phone="+33622222222").exists()
    assert set(SmsLog.objects.values_list("type", "status")) == {
        (SmsType.CONFIRMATION, SmsStatus.SENT)}


# --- Fault: SIGKILL mid-send ------------------------------------------------------------------


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """`celery -A waitify worker` in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path, task_queue: str) -> None:
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-m", "celery", "-A", "waitify", "worker", "-P", "solo",
             "-Q", task_queue, "-l", "info", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-n", f"sms-fault-{uuid.uuid4().hex[:8]}@%h"],
            cwd=django_settings.BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: " ready." in self.output() or self.process.poll() is not None, 60,
                 "the worker to start")
        assert self.process.poll() is None, self.output()

    def output(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


def test_a_worker_killed_mid_send_sends_at_most_once_and_never_stays_pending(tmp_path):
    queue = new_queue("fault@example.fr")
    with real_broker(BROKER_DB) as (broker_url, task_queue):
        env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": broker_url,
               "CELERY_TASK_ALWAYS_EAGER": "false",
               "SMS_BACKEND": "queues.tests.sms_fakes.SlowFileBackend",
               "SMS_FAKE_DIR": str(tmp_path), "SMS_FAKE_SLEEP": "120",
               # A killed task comes back after 2 s; a claim older than 3 s is lost.
               "CELERY_VISIBILITY_TIMEOUT": "2", "SMS_CLAIM_LEASE_SECONDS": "3"}
        workers = [WorkerProcess(env, tmp_path / "worker-1.log", task_queue)]
        try:
            entry = services.entry_join(business=queue, phone="06 12 34 56 78")
            # The provider has the message; the worker waits for its answer…
            wait_for(lambda: sms_fakes.sends(tmp_path), 30, "the provider to get the SMS")
            workers[0].kill()  # …and dies.
            log = SmsLog.objects.get(entry=entry)
            assert (log.status, log.attempts) == (SmsStatus.PENDING, 1)
            assert log.claimed_at is not None

            env["SMS_FAKE_SLEEP"] = "0"
            workers.append(WorkerProcess(env, tmp_path / "worker-2.log", task_queue))
            # The broker hands the unacknowledged task to the new worker: its claim fails.
            wait_for(lambda: "queues.send_sms" in workers[1].output(), 30,
                     "the killed task to be delivered again")
            time.sleep(3.5)  # past the lease
            celery_app.send_task("queues.sms_sweep")  # what beat runs every 30 s
            wait_for(lambda: SmsLog.objects.get(pk=log.pk).status != SmsStatus.PENDING, 30,
                     "the sweep to settle the row")
        finally:
            for worker in workers:
                worker.stop()
    log.refresh_from_db()
    assert len(sms_fakes.sends(tmp_path)) == 1, "sent more than once"
    assert log.status == SmsStatus.UNKNOWN and log.attempts == 1
    assert log.handed_at is not None
    assert "worker stopped" in log.last_error
    assert not SmsLog.objects.filter(status=SmsStatus.PENDING).exists()


class TableLock:
    """Holds a table locked from a connection of its own until released.

    ACCESS EXCLUSIVE blocks even plain reads: a worker that reads the opt-outs
    after claiming a row (before the hand-off) waits there, where the test
    kills it. The SQL is the point here: the ORM cannot block a SELECT.
    """

    def __init__(self, model) -> None:
        self.table = model._meta.db_table
        self.locked, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def __enter__(self) -> TableLock:
        self.thread.start()
        assert self.locked.wait(10), "could not lock the table"
        return self

    def __exit__(self, *exc_info) -> None:
        self.release.set()
        self.thread.join(10)

    def _hold(self) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {connection.ops.quote_name(self.table)} "
                               "IN ACCESS EXCLUSIVE MODE")
                self.locked.set()
                self.release.wait(60)
        finally:
            connection.close()


def test_a_worker_killed_before_the_hand_off_sends_once_after_restart(tmp_path, client,
                                                                         settings):
    settings.HEARTBEAT_LATE_SECONDS = 2
    settings.HEALTH_TOKEN = "probe-token"  # noqa: S105 - a test value
    queue = new_queue("before@example.fr")
    with real_broker(BROKER_DB) as (broker_url, task_queue):
        env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": broker_url,
               "CELERY_TASK_ALWAYS_EAGER": "false", "CELERY_TASK_DEFAULT_QUEUE": task_queue,
               "SMS_BACKEND": "queues.tests.sms_fakes.SlowFileBackend",
               "SMS_FAKE_DIR": str(tmp_path), "SMS_FAKE_SLEEP": "0",
               "CELERY_VISIBILITY_TIMEOUT": "2", "SMS_CLAIM_LEASE_SECONDS": "3",
               "WORKER_HEARTBEAT_SECONDS": "0.5"}
        workers = [WorkerProcess(env, tmp_path / "worker-1.log", task_queue)]
        try:
            wait_for(lambda: Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER).exists(),
                     30, "the worker's heartbeat")
            with TableLock(SmsOptOut):
                entry = services.entry_join(business=queue, phone="06 12 34 56 78")
                wait_for(lambda: SmsLog.objects.filter(entry=entry,
                                                       claimed_at__isnull=False).exists(),
                         30, "the worker to claim the SMS")
                workers[0].kill()  # claimed, not yet handed to the provider
            log = SmsLog.objects.get(entry=entry)
            assert (log.status, log.handed_at, log.attempts) == (SmsStatus.PENDING, None, 1)
            assert sms_fakes.sends(tmp_path) == []

            time.sleep(settings.HEARTBEAT_LATE_SECONDS + 0.5)
            health = client.get("/health", HTTP_X_HEALTH_TOKEN="probe-token").json()
            assert health["status"] == "degraded"
            assert health["services"]["workers"]["status"] == "late"

            workers.append(WorkerProcess(env, tmp_path / "worker-2.log", task_queue))
            time.sleep(3.5)  # past the lease
            celery_app.send_task("queues.sms_sweep")  # what beat runs every 30 s
            wait_for(lambda: SmsLog.objects.get(pk=log.pk).status != SmsStatus.PENDING, 30,
                     "the sweep to send the row again")
            assert client.get("/health", HTTP_X_HEALTH_TOKEN="probe-token").json()[
                "services"]["workers"]["alive"] == 1
        finally:
            for worker in workers:
                worker.stop()
    log.refresh_from_db()
    assert [line.split("\t")[0] for line in sms_fakes.sends(tmp_path)] == ["+33612345678"]
    assert (log.status, log.attempts) == (SmsStatus.SENT, 2)
    assert log.handed_at is not None

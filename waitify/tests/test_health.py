"""GET /health: up / degraded / down for anyone, the detail for staff or a token."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import override_settings
from django.utils import timezone

from businesses.tests.factories import make_merchant
from queues.heartbeats import SCHEDULER, WorkerHeartbeat, heartbeat_record
from queues.models import Heartbeat
from queues.tasks import expire_overdue_calls
from waitify import health

CLOSED_PORT = "redis://:s3cret-password@127.0.0.1:1/0"
TOKEN = "probe-token-0123456789"  # noqa: S105 - a test value


class BrokenConnection:
    """Stands in for `django.db.connection` when PostgreSQL does not answer."""

    vendor = "postgresql"

    def cursor(self):
        raise OperationalError("connection refused")


def beating(*, scheduler_age: float = 0, worker_age: float = 0) -> None:
    now = timezone.now()
    heartbeat_record(kind=Heartbeat.Kind.SCHEDULER, name=SCHEDULER,
                     now=now - timedelta(seconds=scheduler_age))
    heartbeat_record(kind=Heartbeat.Kind.WORKER, name="worker:celery@host-1",
                     now=now - timedelta(seconds=worker_age))


@pytest.fixture
def staff_client(client, db):
    client.force_login(make_merchant("staff@waitify.fr", is_staff=True))
    return client


@pytest.fixture
def all_well(db, settings):
    settings.REDIS_URL = ""
    beating()


def test_an_anonymous_caller_reads_only_up(client, all_well):
    response = client.get("/health")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "up"}


def test_staff_read_every_dependency(staff_client, all_well):
    with override_settings(STRIPE_SECRET_KEY="", SMS_BACKEND="console"):
        body = staff_client.get("/health").json()

    assert body["status"] == "up"
    services = body["services"]
    assert set(services) == {"database", "redis", "stripe", "sms", "scheduler", "workers"}
    assert services["database"] == {"status": "up", "engine": connection.vendor}
    assert services["redis"] == {"status": "not_configured"}
    assert services["stripe"] == {"status": "not_configured"}
    assert services["sms"] == {"status": "configured", "backend": "console"}
    assert services["scheduler"]["status"] == "up"
    assert services["workers"]["status"] == "up"
    assert services["workers"]["alive"] == 1


def test_a_merchant_who_is_not_staff_reads_only_the_word(merchant_client, all_well):
    assert merchant_client.get("/health").json() == {"status": "up"}


def test_a_probe_with_the_token_reads_the_detail(client, all_well, settings):
    settings.HEALTH_TOKEN = TOKEN

    body = client.get("/health", HTTP_X_HEALTH_TOKEN=TOKEN).json()

    assert body["status"] == "up"
    assert body["services"]["database"]["status"] == "up"


@pytest.mark.parametrize("configured, sent", [(TOKEN, "wrong-token"), ("", "")])
def test_a_wrong_or_unset_token_reads_only_the_word(client, all_well, settings,
                                                     configured, sent):
    settings.HEALTH_TOKEN = configured

    assert client.get("/health", HTTP_X_HEALTH_TOKEN=sent).json() == {"status": "up"}


def test_it_reports_redis_up_when_configured(staff_client, all_well):
    redis_url = os.environ.get("REDIS_URL") or settings.REDIS_URL
    if not redis_url:
        pytest.fail("REDIS_URL is not set: Redis health cannot be tested against a server")

    with override_settings(REDIS_URL=redis_url):
        response = staff_client.get("/health")

    assert response.status_code == 200
    assert response.json()["services"]["redis"] == {"status": "up"}


def test_redis_down_is_degraded_but_200_so_web_replicas_stay_in_service(
        client, staff_client, all_well):
    with override_settings(REDIS_URL=CLOSED_PORT):
        detail = staff_client.get("/health")
        client.logout()
        anonymous = client.get("/health")

    assert detail.status_code == 200
    assert detail.json()["status"] == "degraded"
    assert detail.json()["services"]["redis"] == {"status": "down", "error": "ConnectionError"}
    assert "s3cret" not in detail.content.decode()
    assert (anonymous.status_code, anonymous.json()) == (200, {"status": "degraded"})


def test_the_database_down_is_503_down(client, all_well, monkeypatch):
    monkeypatch.setattr(health, "connection", BrokenConnection())

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json() == {"status": "down"}


def test_staff_see_which_dependency_is_down_without_its_message(
        client, all_well, monkeypatch, settings):
    settings.HEALTH_TOKEN = TOKEN
    monkeypatch.setattr(health, "connection", BrokenConnection())

    response = client.get("/health", HTTP_X_HEALTH_TOKEN=TOKEN)

    services = response.json()["services"]
    assert services["database"] == {"status": "down", "error": "OperationalError"}
    assert services["scheduler"] == {"status": "unknown"}
    assert "connection refused" not in response.content.decode()


def test_a_dead_scheduler_makes_it_degraded_with_the_last_sign_of_life(
        staff_client, db, settings):
    settings.REDIS_URL = ""
    beating(scheduler_age=settings.HEARTBEAT_LATE_SECONDS + 30)

    response = staff_client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["services"]["scheduler"]["status"] == "late"
    assert body["services"]["workers"]["status"] == "up"


def test_a_dead_worker_makes_it_degraded(staff_client, db, settings):
    settings.REDIS_URL = ""
    beating(worker_age=settings.HEARTBEAT_LATE_SECONDS + 30)

    body = staff_client.get("/health").json()

    assert body["status"] == "degraded"
    assert body["services"]["workers"]["status"] == "late"
    assert body["services"]["workers"]["alive"] == 0
    assert body["services"]["scheduler"]["status"] == "up"


def test_a_deployment_whose_worker_never_started_is_degraded(staff_client, db, settings):
    settings.REDIS_URL = ""
    expire_overdue_calls.apply()  # beat ran the sweep inline; no worker ever beat

    body = staff_client.get("/health").json()

    assert body["status"] == "degraded"
    assert body["services"]["scheduler"]["status"] == "up"
    assert body["services"]["workers"] == {"status": "never_seen"}


@pytest.mark.django_db(transaction=True)
def test_the_timeout_sweep_and_a_worker_thread_write_the_heartbeats(client, settings):
    settings.REDIS_URL = ""
    expire_overdue_calls.apply()
    beat = WorkerHeartbeat("worker:embedded").start()
    try:
        deadline = timezone.now() + timedelta(seconds=10)
        while (not Heartbeat.objects.filter(name="worker:embedded").exists()
               and timezone.now() < deadline):
            time.sleep(0.05)
    finally:
        beat.stop()

    assert Heartbeat.objects.get(name=SCHEDULER).kind == Heartbeat.Kind.SCHEDULER
    assert client.get("/health").json() == {"status": "up"}


def test_it_is_never_cached(client, all_well):
    response = client.get("/health")
    assert "no-cache" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]


def test_a_load_balancer_may_probe_with_head(client, all_well):
    assert client.head("/health").status_code == 200
    assert client.post("/health").status_code == 405


def test_a_plain_http_probe_is_not_redirected_to_https(client, all_well):
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert client.get("/health").status_code == 200
        assert client.get("/").status_code == 301


def test_it_needs_no_login(client, all_well):
    response = client.get("/health")
    assert response.status_code == 200
    assert "Location" not in response

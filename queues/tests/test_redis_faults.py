"""Redis is a cache and a broker, not a dependency of the queue.

A private redis-server (never the shared one) is stopped, frozen and restarted
while customers join and the merchant calls the next one, on real PostgreSQL:
no answer is a 5xx, every accepted join exists once, nobody is called twice,
each request stays quick, and the SMS written meanwhile leave once Redis is back.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu import pools as kombu_pools
from rest_framework.authtoken.models import Token

from queues.models import EntryStatus, QueueEntry, SmsLog, SmsStatus
from queues.sms import backends, outbox
from queues.tests.factories import french_mobile
from waitify import celery_app
from waitify.lib.breaker import redis_breaker
from waitify.tests.private_redis import PrivateRedis

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# A correctness bound on the timeouts, not a benchmark: seconds-long socket waits fail it.
QUICK = 1.0


@pytest.fixture
def redis_server():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def cache_on_private_redis(redis_server, settings, monkeypatch):
    """The project's own cache settings, pointed at the private server."""
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: these tests need the Redis cache configuration")
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": redis_server.url}}
    monkeypatch.setattr(redis_breaker, "pause", 0.5)  # the test need not wait 5 s
    redis_breaker.reset()
    yield redis_server
    redis_breaker.reset()


def join_url(business) -> str:
    return reverse("queues:join", args=[business.qr_token])


def call_next_url(business) -> str:
    return reverse("queues:queue_action", args=[business.pk, "next"])


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_join_committed_while_redis_is_down_answers_302_and_exists_once(
        client, queue, cache_on_private_redis):
    cache_on_private_redis.stop()
    phone = french_mobile()

    response = client.post(join_url(queue), {"phone": phone, "name": "Léa"})

    assert response.status_code == 302
    entry = QueueEntry.objects.get(business=queue, phone="+33" + phone[1:])
    assert response["Location"] == reverse("queues:status", args=[entry.secret])
    assert client.get(response["Location"]).status_code == 200


def test_the_api_join_answers_201_while_redis_is_down(client, queue, cache_on_private_redis):
    cache_on_private_redis.stop()

    response = client.post(f"/api/v1/public/{queue.qr_token}/join", {"phone": french_mobile()},
                           content_type="application/json")

    assert response.status_code == 201
    assert QueueEntry.objects.filter(business=queue, secret=response.json()["secret"]).count() == 1


def test_call_next_clicked_twice_with_redis_down_calls_one_customer_per_click(
        merchant_client, queue, cache_on_private_redis):
    for _ in range(3):
        merchant_client.post(join_url(queue), {"phone": french_mobile()})
    cache_on_private_redis.stop()

    first = merchant_client.post(call_next_url(queue), HTTP_HX_REQUEST="true")
    second = merchant_client.post(call_next_url(queue), HTTP_HX_REQUEST="true")

    assert (first.status_code, second.status_code) == (200, 200)
    assert QueueEntry.objects.filter(business=queue, status=EntryStatus.CALLED).count() == 2
    assert QueueEntry.objects.filter(business=queue, status=EntryStatus.WAITING).count() == 1


def test_the_api_answers_while_redis_is_down_its_limits_failing_open(
        merchant, queue, cache_on_private_redis):
    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=merchant).key}")
    cache_on_private_redis.stop()

    joined = api.post(f"/api/v1/businesses/{queue.pk}/queue/walk-in", {"name": "Paul"},
                      content_type="application/json")
    called = api.post(f"/api/v1/businesses/{queue.pk}/queue/next")
    served = api.put(f"/api/v1/businesses/{queue.pk}/queue/clients/{joined.json()['id']}/serve")
    listed = api.get(f"/api/v1/businesses/{queue.pk}/queue")

    assert [answer.status_code for answer in (joined, called, served, listed)] == [
        201, 200, 200, 200]
    assert called.json()["id"] == joined.json()["id"]
    assert QueueEntry.objects.get(pk=joined.json()["id"]).status == EntryStatus.SERVED


def test_an_unchanged_poll_goes_to_the_database_while_redis_is_down(
        client, queue, cache_on_private_redis, django_assert_num_queries):
    page = client.post(join_url(queue), {"phone": french_mobile()}, follow=True)
    status_url = page.redirect_chain[-1][0]
    version = page.context["version"]
    assert client.get(status_url, {"v": version}, HTTP_HX_REQUEST="true").status_code == 204
    cache_on_private_redis.stop()

    with django_assert_num_queries(1):
        poll = client.get(status_url, {"v": version}, HTTP_HX_REQUEST="true")

    assert poll.status_code == 200
    assert "status-waiting" in poll.content.decode()


def run_the_counter(merchant_client, client, queue, joins: int, calls: int) -> dict:
    """Customers join (page and API), poll their status, the merchant calls next;
    returns every answer's status code and the slowest request's duration."""
    statuses, slowest, accepted = [], 0.0, []
    for number in range(joins):
        if number % 2:
            response, took = timed(lambda: client.post(
                f"/api/v1/public/{queue.qr_token}/join", {"phone": french_mobile()},
                content_type="application/json"))
            if response.status_code == 201:
                accepted.append(response.json()["secret"])
        else:
            response, took = timed(lambda: client.post(join_url(queue),
                                                        {"phone": french_mobile()}))
            if response.status_code == 302:
                accepted.append(response["Location"].rsplit("/", 1)[-1])
        statuses.append(response.status_code)
        slowest = max(slowest, took)
    for secret in accepted[-3:]:
        status_url = reverse("queues:status", args=[secret])
        response, took = timed(lambda url=status_url: client.get(
            url, {"v": f"{queue.pk}:1"}, HTTP_HX_REQUEST="true"))
        statuses.append(response.status_code)
        slowest = max(slowest, took)
    for _ in range(calls):
        response, took = timed(lambda: merchant_client.post(call_next_url(queue),
                                                            HTTP_HX_REQUEST="true"))
        statuses.append(response.status_code)
        slowest = max(slowest, took)
    response, took = timed(lambda: merchant_client.get(reverse("queues:live", args=[queue.pk])))
    statuses.append(response.status_code)
    return {"statuses": statuses, "slowest": max(slowest, took), "accepted": accepted}


def test_joins_and_calls_go_on_while_redis_stops_freezes_and_restarts(
        merchant, queue, cache_on_private_redis):
    merchant_client, customer = Client(), Client()
    merchant_client.force_login(merchant)
    server = cache_on_private_redis
    phases = {}

    phases["up"] = run_the_counter(merchant_client, customer, queue, joins=6, calls=2)
    server.stop()
    phases["stopped"] = run_the_counter(merchant_client, customer, queue, joins=6, calls=2)
    server.start()
    server.freeze()
    try:
        phases["frozen"] = run_the_counter(merchant_client, customer, queue, joins=6, calls=2)
    finally:
        server.thaw()
    time.sleep(redis_breaker.pause)
    phases["restarted"] = run_the_counter(merchant_client, customer, queue, joins=6, calls=2)

    for name, phase in phases.items():
        assert [code for code in phase["statuses"] if code >= 500] == [], name
    # The first phase also pays for warming up (templates, URL patterns): not timed.
    assert phases["stopped"]["slowest"] < QUICK
    assert phases["frozen"]["slowest"] < QUICK
    assert phases["restarted"]["slowest"] < QUICK
    accepted = [secret for phase in phases.values() for secret in phase["accepted"]]
    assert len(accepted) == 24
    assert QueueEntry.objects.filter(business=queue).count() == 24
    assert QueueEntry.objects.filter(business=queue, secret__in=accepted).count() == 24
    called = QueueEntry.objects.filter(business=queue, called_at__isnull=False)
    assert called.count() == 8  # one per click: nobody called twice, no click lost


@contextmanager
def broker_at(url: str):
    """This process sends tasks for real (not eagerly) to the private Redis."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager
    conf.broker_url, conf.task_always_eager = url, False
    _reset_producer_pools()
    try:
        yield
    finally:
        conf.broker_url, conf.task_always_eager = saved
        _reset_producer_pools()


def _reset_producer_pools() -> None:
    # Broker connections are cached by the app and by kombu: drop them so the
    # next send connects to the URL now configured.
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_sms_wait_in_the_outbox_while_redis_is_down_and_leave_when_it_returns(
        client, queue, cache_on_private_redis, settings):
    settings.SMS_BACKEND = "locmem"
    backends.outbox.clear()
    server = cache_on_private_redis
    with broker_at(server.url):
        server.stop()

        response = client.post(join_url(queue), {"phone": "06 12 34 56 78"})

        assert response.status_code == 302
        log = SmsLog.objects.get(entry__business=queue)
        assert log.status == SmsStatus.PENDING
        assert backends.outbox == []

        server.start()
        with start_worker(celery_app, pool="solo", perform_ping_check=False,
                          shutdown_timeout=10, loglevel="WARNING"):
            outbox.sms_sweep(now=timezone.now() + outbox.SWEEP_GRACE
                                    + timedelta(seconds=1))
            deadline = time.monotonic() + 20
            while not backends.outbox and time.monotonic() < deadline:
                time.sleep(0.1)
        connection.close()

    log.refresh_from_db()
    assert log.status == SmsStatus.SENT
    assert [message.phone for message in backends.outbox] == ["+33612345678"]

"""The public join cannot be used to pump SMS: rate limits per IP and per phone,
allowed destinations only, and a per-business hourly cap (tested in test_sms_outbox)."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.urls import reverse
from django.utils import timezone
from django_redis.cache import RedisCache

from queues import limits
from queues.models import QueueEntry, SmsLog
from queues.tests.factories import open_queue

API = "/api/v1"
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def counters(monkeypatch):
    """The limits count in a cache of this test's own (in memory, so that a frozen clock
    moves its windows): no counter of another test can refuse a join here.
    `test_the_counters_work_in_redis` covers the Redis cache itself.
    """
    monkeypatch.setattr(limits, "cache", LocMemCache(f"join-limits-{uuid.uuid4()}", {}))


@pytest.fixture
def queue(business):
    business.max_queue_size = 200
    business.save(update_fields=["max_queue_size"])
    return open_queue(business)


def join_url(queue) -> str:
    return reverse("queues:join", args=[queue.qr_token])


def api_join_url(queue) -> str:
    return f"{API}/public/{queue.qr_token}/join"


def mobile(number: int) -> str:
    return f"06{number:08d}"


def test_1000_join_attempts_from_one_ip_send_at_most_the_allowed_sms(
        client, queue, settings, sms_outbox, django_capture_on_commit_callbacks):
    settings.JOIN_LIMIT_PER_IP = 20
    statuses = []
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(1000):
            response = client.post(join_url(queue), {"phone": mobile(number)},
                                   REMOTE_ADDR="203.0.113.7")
            statuses.append(response.status_code)
    assert statuses.count(302) == 20 and statuses.count(429) == 980
    assert QueueEntry.objects.count() == 20
    assert len(sms_outbox) <= 20
    assert SmsLog.objects.count() == 20


def test_past_the_ip_limit_the_page_says_why(client, queue, settings):
    settings.JOIN_LIMIT_PER_IP = 1
    client.post(join_url(queue), {"phone": mobile(1)})
    response = client.post(join_url(queue), {"phone": mobile(2)}, **ENGLISH)
    assert response.status_code == 429
    html = response.content.decode()
    assert 'data-code="4011"' in html and "Too many attempts" in html


def test_the_window_opens_at_the_first_attempt_and_then_expires(client, queue, settings,
                                                                time_machine):
    settings.JOIN_LIMIT_PER_IP, settings.JOIN_LIMIT_IP_WINDOW_SECONDS = 1, 60
    time_machine.move_to(timezone.now(), tick=False)
    first = client.post(join_url(queue), {"phone": mobile(1)})
    time_machine.shift(59)
    second = client.post(join_url(queue), {"phone": mobile(2)})  # does not reopen the window
    time_machine.shift(2)
    third = client.post(join_url(queue), {"phone": mobile(3)})
    assert [r.status_code for r in (first, second, third)] == [302, 429, 302]


def test_the_counters_work_in_redis(client, queue, settings, monkeypatch):
    """INCR keeps the window's expiry (keys of this test's own prefix)."""
    if not settings.REDIS_URL:
        pytest.skip("*** needs Redis (REDIS_URL unset) ***")
    redis_cache = RedisCache(settings.REDIS_URL,
                             {"KEY_PREFIX": f"limits-test-{uuid.uuid4().hex[:8]}"})
    monkeypatch.setattr(limits, "cache", redis_cache)
    settings.JOIN_LIMIT_PER_IP, settings.JOIN_LIMIT_IP_WINDOW_SECONDS = 1, 60
    try:
        first = client.post(join_url(queue), {"phone": mobile(1)})
        second = client.post(join_url(queue), {"phone": mobile(2)})
        [key] = redis_cache.keys("join-limit:ip:*")
        seconds_left = redis_cache.ttl(key)
    finally:
        redis_cache.delete_pattern("*")
    assert [r.status_code for r in (first, second)] == [302, 429]
    assert 0 < seconds_left <= 60


def test_the_ip_limit_is_per_ip(client, queue, settings):
    settings.JOIN_LIMIT_PER_IP = 1
    first = client.post(join_url(queue), {"phone": mobile(1)}, REMOTE_ADDR="203.0.113.1")
    second = client.post(join_url(queue), {"phone": mobile(2)}, REMOTE_ADDR="203.0.113.2")
    assert (first.status_code, second.status_code) == (302, 302)


def test_behind_a_proxy_the_forwarded_client_ip_counts(client, queue, settings):
    settings.JOIN_LIMIT_PER_IP, settings.NUM_PROXIES = 1, 1
    first = client.post(join_url(queue), {"phone": mobile(1)},
                        HTTP_X_FORWARDED_FOR="198.51.100.1", REMOTE_ADDR="10.0.0.2")
    second = client.post(join_url(queue), {"phone": mobile(2)},
                         HTTP_X_FORWARDED_FOR="198.51.100.2", REMOTE_ADDR="10.0.0.2")
    third = client.post(join_url(queue), {"phone": mobile(3)},
                        HTTP_X_FORWARDED_FOR="198.51.100.2", REMOTE_ADDR="10.0.0.2")
    assert [r.status_code for r in (first, second, third)] == [302, 302, 429]


def test_one_phone_number_cannot_be_tried_again_and_again(client, queue, settings):
    settings.JOIN_LIMIT_PER_PHONE = 3
    codes = [client.post(join_url(queue), {"phone": "06 12 34 56 78"},
                         REMOTE_ADDR=f"203.0.113.{n}").status_code for n in range(5)]
    # 1 join, then "already in the queue" twice, then refused before the engine.
    assert codes == [302, 409, 409, 429, 429]


def test_the_public_api_join_is_limited_too(client, queue, settings):
    settings.JOIN_LIMIT_PER_IP = 2
    codes = []
    for number in range(4):
        response = client.post(api_join_url(queue), {"phone": mobile(number)},
                               content_type="application/json", **ENGLISH)
        codes.append(response.status_code)
    assert codes == [201, 201, 429, 429]
    body = response.json()
    assert body["code"] == 4011 and body["error"] == "too_many_attempts"
    assert "Too many attempts" in body["message"]


def test_the_limits_can_be_turned_off_for_load_tests(client, queue, settings):
    settings.JOIN_LIMIT_PER_IP = 1
    settings.WAITIFY_RATE_LIMITS_ENABLED = False
    codes = {client.post(join_url(queue), {"phone": mobile(n)}).status_code for n in range(5)}
    assert codes == {302}


@pytest.mark.parametrize("phone", ["+44 7911 123456", "+32 470 12 34 56", "01 45 67 89 01"])
def test_a_foreign_or_landline_number_is_refused_at_join_and_nothing_is_sent(
        client, queue, phone, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(join_url(queue), {"phone": phone}, **ENGLISH)
        api = client.post(api_join_url(queue), {"phone": phone},
                          content_type="application/json", **ENGLISH)
    assert page.status_code == 400
    assert "We only send SMS to French mobiles (06 or 07)" in page.content.decode()
    assert api.status_code == 400
    assert api.json()["code"] == 4009 and api.json()["error"] == "destination_not_allowed"
    assert not QueueEntry.objects.exists() and not SmsLog.objects.exists()
    assert sms_outbox == []


def test_the_french_page_explains_the_refusal_in_french(client, queue):
    response = client.post(join_url(queue), {"phone": "+44 7911 123456"},
                           HTTP_ACCEPT_LANGUAGE="fr")
    assert "mobiles français (06 ou 07)" in response.content.decode()


def test_allowed_destinations_come_from_the_settings(client, queue, settings):
    settings.SMS_ALLOWED_PREFIXES = ["+336", "+337", "+32"]
    response = client.post(join_url(queue), {"phone": "+32 470 12 34 56"})
    assert response.status_code == 302

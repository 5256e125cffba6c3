"""The API's per-account limit counts every request once, even in parallel."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.conf import settings
from django.test import RequestFactory
from django_redis.cache import RedisCache
from rest_framework.request import Request

from waitify.lib.throttles import AccountRateThrottle


@pytest.fixture
def redis_cache():
    if not settings.REDIS_URL:
        pytest.fail("these tests need Redis: set REDIS_URL")
    cache = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": f"throttle-{uuid.uuid4().hex[:8]}"})
    yield cache
    cache.delete_pattern("*")


def api_request(user) -> Request:
    request = Request(RequestFactory().get("/api/v1/businesses", REMOTE_ADDR="203.0.113.5"))
    request.user = user
    return request


def test_parallel_requests_get_exactly_the_limit_through(merchant, redis_cache, monkeypatch):
    monkeypatch.setattr(AccountRateThrottle, "cache", redis_cache)
    monkeypatch.setattr(AccountRateThrottle, "rate", "50/min", raising=False)
    clients, requests_each = 16, 10
    start = threading.Barrier(clients)
    allowed: list[bool] = []

    def client() -> None:
        start.wait()
        for _request in range(requests_each):
            allowed.append(AccountRateThrottle().allow_request(api_request(merchant), None))

    threads = [threading.Thread(target=client) for _client in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == clients * requests_each
    assert allowed.count(True) == 50


def test_a_refused_request_is_told_when_to_come_back(merchant, redis_cache, monkeypatch):
    monkeypatch.setattr(AccountRateThrottle, "cache", redis_cache)
    monkeypatch.setattr(AccountRateThrottle, "rate", "1/min", raising=False)
    assert AccountRateThrottle().allow_request(api_request(merchant), None)
    refused = AccountRateThrottle()
    assert not refused.allow_request(api_request(merchant), None)
    assert 0 < refused.wait() <= 60


def test_each_account_has_its_own_counter(merchant, outsider, redis_cache, monkeypatch):
    monkeypatch.setattr(AccountRateThrottle, "cache", redis_cache)
    monkeypatch.setattr(AccountRateThrottle, "rate", "1/min", raising=False)
    assert AccountRateThrottle().allow_request(api_request(merchant), None)
    assert AccountRateThrottle().allow_request(api_request(outsider), None)
    assert not AccountRateThrottle().allow_request(api_request(merchant), None)


def test_with_the_cache_down_requests_are_let_in_and_logged(merchant, monkeypatch, caplog):
    unreachable = RedisCache("redis://127.0.0.1:1/0",
                             {"OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2}})
    monkeypatch.setattr(AccountRateThrottle, "cache", unreachable)
    monkeypatch.setattr(AccountRateThrottle, "rate", "1/min", raising=False)
    assert all(AccountRateThrottle().allow_request(api_request(merchant), None)
               for _request in range(3))
    assert "API throttle user unavailable" in caplog.text

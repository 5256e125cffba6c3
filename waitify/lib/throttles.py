"""The API's rate limits (kept apart from waitify.lib.api: DRF's settings import them
while rest_framework.views is still being imported)."""

from __future__ import annotations

import logging

from rest_framework import throttling
from rest_framework.request import Request

from waitify.lib.client_ip import client_ip

logger = logging.getLogger("waitify.api")


class CountingThrottle(throttling.SimpleRateThrottle):
    """`rate` requests per window, counted atomically in the shared cache.

    DRF's own throttles read a list of timestamps, then write it back: parallel
    requests all read the same list and all pass. Here each request is one
    `incr` (Redis INCRBY), so exactly `rate` requests get through a window. The
    window opens with its first request and lasts the rate's period (the
    counter's expiry). The client is identified by `client_ip`, like every
    other limit of the product.
    """

    def get_ident(self, request: Request) -> str:
        return client_ip(request)

    def allow_request(self, request: Request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        try:
            self.cache.add(f"{self.key}:opened", self.now, timeout=self.duration)
            self.cache.add(self.key, 0, timeout=self.duration)
            try:
                count = self.cache.incr(self.key)
            except ValueError:  # the window expired between add and incr
                self.cache.set(self.key, 1, timeout=self.duration)
                count = 1
            if count <= self.num_requests:
                return True
            self.opened = self.cache.get(f"{self.key}:opened", self.now)
        except Exception:
            # A limit must not take the API down with the cache: let the request in.
            logger.exception("API throttle %s unavailable (cache error): request allowed",
                             self.scope)
            return True
        return False

    def wait(self) -> float:
        return max(0.0, self.opened + self.duration - self.now)


class AccountRateThrottle(CountingThrottle):
    """1000 requests per minute per account, whatever the token or session."""

    scope = "user"

    def get_cache_key(self, request: Request, view) -> str:
        if request.user and request.user.is_authenticated:
            ident = request.user.pk
        else:
            ident = self.get_ident(request)
        return f"throttle:{self.scope}:{ident}"


class ClientRateThrottle(CountingThrottle):
    """Per client address, for what anonymous callers reach."""

    def get_cache_key(self, request: Request, view) -> str:
        return f"throttle:{self.scope}:{self.get_ident(request)}"


class AuthTokenThrottle(ClientRateThrottle):
    scope = "auth_token"

"""A small circuit breaker: after a failure, stop calling a service for a few seconds.

Redis is a cache and a broker here, never a dependency of a queue action. When it
is down or frozen, every call would pay its socket timeout; after one failure the
web process skips Redis for `pause` seconds instead, so a dead Redis costs one
request one timeout per pause, and the others nothing. State is per process
(module level): each web process finds out for itself, which is what we want.
"""

from __future__ import annotations

import time


class Breaker:
    def __init__(self, name: str, pause: float) -> None:
        self.name = name
        self.pause = pause
        self._skip_until = 0.0

    @property
    def is_open(self) -> bool:
        """True while calls should not even be tried."""
        return time.monotonic() < self._skip_until

    def trip(self) -> None:
        self._skip_until = time.monotonic() + self.pause

    def reset(self) -> None:
        self._skip_until = 0.0


# The cache and the Celery broker share one Redis: a failure seen by either
# spares the other the timeout.
redis_breaker = Breaker("redis", pause=5.0)

"""The Redis cache, failing open: a Redis fault never turns into a failed request.

Every cache use in Waitify can live without Redis: the poll version is read
from the database, the join and API limits let the request through, and
counters start over. So each operation answers what an empty cache would
(the `default`, nothing stored, a counter at `delta`), logs the fault, and
trips the shared Redis breaker so the next requests skip Redis for a few
seconds instead of each waiting for a socket timeout.
"""

from __future__ import annotations

import logging

from django_redis.cache import RedisCache
from redis.exceptions import RedisError

from waitify.lib.breaker import redis_breaker

logger = logging.getLogger("waitify.cache")

# django-redis re-raises the redis-py error, or a socket/OS error under it.
REDIS_FAULTS = (RedisError, OSError)


class FailOpenRedisCache(RedisCache):
    def _try(self, fallback, operation, *args, **kwargs):
        if redis_breaker.is_open:
            return fallback
        try:
            return operation(*args, **kwargs)
        except REDIS_FAULTS as exc:
            redis_breaker.trip()
            logger.warning("cache unavailable (%s: %s); skipping Redis for %.0f s",
                           type(exc).__name__, exc, redis_breaker.pause)
            return fallback

    def get(self, key, default=None, version=None, client=None):
        return self._try(default, super().get, key, default, version, client)

    def get_many(self, *args, **kwargs):
        return self._try({}, super().get_many, *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._try(False, super().has_key, *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._try(False, super().set, *args, **kwargs)

    def add(self, *args, **kwargs):
        return self._try(False, super().add, *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._try(False, super().touch, *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._try([], super().set_many, *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._try(False, super().delete, *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._try(None, super().delete_many, *args, **kwargs)

    def clear(self):
        return self._try(None, super().clear)

    def incr(self, key, delta=1, *args, **kwargs):
        # A counter Redis cannot keep starts over: limits built on it let the request in.
        return self._try(delta, super().incr, key, delta, *args, **kwargs)

    def decr(self, key, delta=1, *args, **kwargs):
        return self._try(-delta, super().decr, key, delta, *args, **kwargs)

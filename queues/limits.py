"""Rate limits of the public join, so the form cannot be used to pump SMS.

Windows counted in the shared cache (Redis when configured, so every
web process sees the same counters): attempts per client IP and per phone
number. `WAITIFY_RATE_LIMITS_ENABLED=False` turns both off (load tests).
Phone numbers are hashed in the cache keys: the cache holds no number.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from queues.services import QueueError
from waitify.lib.client_ip import client_ip
from waitify.lib.errors import ErrorCode
from waitify.lib.phones import InvalidPhone, normalize_phone

logger = logging.getLogger("waitify.queue")



def _hit(scope: str, value: str, limit: int, window: int) -> bool:
    """Count one attempt; True while the count is within `limit` for this window.

    The window opens at the first attempt and lasts `window` seconds (the
    counter's expiry, which INCR keeps): unlike windows aligned on the clock,
    a burst straddling a boundary cannot get twice the limit through.
    """
    digest = hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()[:32]
    key = f"join-limit:{scope}:{digest}"
    try:
        cache.add(key, 0, timeout=window)
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    except Exception:
        # Never lock every customer out because the cache is down.
        logger.exception("join rate limit unavailable (cache error)")
        return True
    return count <= limit


def _phone_key(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except InvalidPhone:
        return "".join(char for char in phone or "" if char.isdigit())[-12:]


def _too_many_attempts() -> QueueError:
    return QueueError(
        _("Too many attempts to join from this connection or with this number. "
          "Please wait a few minutes before trying again."),
        code=ErrorCode.TOO_MANY_ATTEMPTS,
    )


def join_rate_limit(*, request: HttpRequest, phone: str) -> None:
    """Count this join attempt; raise QueueError (429) past the per-IP or per-phone limit."""
    if not settings.WAITIFY_RATE_LIMITS_ENABLED:
        return
    phone_key = _phone_key(phone)
    ip_ok = _hit("ip", client_ip(request), settings.JOIN_LIMIT_PER_IP,
                 settings.JOIN_LIMIT_IP_WINDOW_SECONDS)
    phone_ok = not phone_key or _hit("phone", phone_key, settings.JOIN_LIMIT_PER_PHONE,
                                     settings.JOIN_LIMIT_PHONE_WINDOW_SECONDS)
    if not (ip_ok and phone_ok):
        raise _too_many_attempts()


def resend_link_rate_limit(*, request: HttpRequest, phone: str) -> None:
    """Count a "text me my link again": in the client IP's join attempts, and once per
    number every RESEND_LINK_INTERVAL_SECONDS. Counted for every number asked, in the
    queue or not, so a refusal says nothing about the queue."""
    if not settings.WAITIFY_RATE_LIMITS_ENABLED:
        return
    if not _hit("ip", client_ip(request), settings.JOIN_LIMIT_PER_IP,
                settings.JOIN_LIMIT_IP_WINDOW_SECONDS):
        raise _too_many_attempts()
    phone_key = _phone_key(phone)
    if phone_key and not _hit("link", phone_key, 1, settings.RESEND_LINK_INTERVAL_SECONDS):
        raise QueueError(
            _("A link was already asked for this number a moment ago. "
              "Please wait a few minutes before asking again."),
            code=ErrorCode.LINK_RECENTLY_SENT,
        )

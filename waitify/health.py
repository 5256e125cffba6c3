"""GET /health: each dependency's state; 503 when a configured one is down."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return {"status": "down", "error": exc.__class__.__name__}
    return {"status": "up", "engine": connection.vendor}


def _check_redis() -> dict:
    if not settings.REDIS_URL:
        return {"status": "not_configured"}
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1,
                                      socket_timeout=1)
        client.ping()
    except Exception as exc:  # noqa: BLE001
        return {"status": "down", "error": exc.__class__.__name__}
    return {"status": "up"}


def _check_stripe() -> dict:
    if not settings.STRIPE_SECRET_KEY:
        return {"status": "not_configured"}
    mode = "live" if settings.STRIPE_SECRET_KEY.startswith("sk_live") else "test"
    return {"status": "configured", "mode": mode,
            "webhooks": bool(settings.STRIPE_WEBHOOK_SECRET)}


def _check_sms() -> dict:
    if settings.SMS_BACKEND == "sns":
        return {"status": "configured", "backend": "sns", "region": settings.AWS_REGION}
    return {"status": "configured", "backend": settings.SMS_BACKEND}


CHECKS = {
    "database": _check_database,
    "redis": _check_redis,
    "stripe": _check_stripe,
    "sms": _check_sms,
}


@never_cache
@require_safe  # load balancers probe with GET or HEAD
def health(request):
    services = {name: check() for name, check in CHECKS.items()}
    healthy = all(service["status"] != "down" for service in services.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "services": services},
        status=200 if healthy else 503,
    )

"""GET /health for load balancers, probes and staff.

- "down" (503): the database, the one dependency the product cannot run
  without, does not answer.
- "degraded" (200): Redis is down, or the scheduler or the workers are late.
  The web tier still serves every page (Redis fails open), so a load balancer
  must not take a healthy web replica out of service for a worker problem.
- "up" (200): everything answers.

Anyone reads the word; the per-dependency detail (engines, Stripe mode, SMS
backend, heartbeats) is for staff sessions and for probes sending the
HEALTH_TOKEN of the environment in the X-Health-Token header.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from queues.heartbeats import heartbeat_report

# States of a dependency that make the whole "degraded".
NOT_WELL = {"down", "late", "never_seen"}


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
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5,
                                      socket_timeout=0.5)
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


def _services() -> dict[str, dict]:
    services = {name: check() for name, check in CHECKS.items()}
    if services["database"]["status"] == "up":
        services.update(heartbeat_report())
    else:  # heartbeats live in the database
        services.update(scheduler={"status": "unknown"}, workers={"status": "unknown"})
    return services


def _may_see_detail(request) -> bool:
    token = request.headers.get("X-Health-Token", "")
    if settings.HEALTH_TOKEN and token:
        return constant_time_compare(token, settings.HEALTH_TOKEN)
    try:
        return request.user.is_authenticated and request.user.is_staff
    except DatabaseError:  # the session cannot be read with the database down
        return False


@never_cache
@require_safe  # load balancers probe with GET or HEAD
def health(request):
    services = _services()
    if services["database"]["status"] == "down":
        status = "down"
    elif any(service["status"] in NOT_WELL for service in services.values()):
        status = "degraded"
    else:
        status = "up"
    body = {"status": status}
    if _may_see_detail(request):
        body["services"] = services
    return JsonResponse(body, status=503 if status == "down" else 200)

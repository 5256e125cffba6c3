"""The tickets this device took, kept in a signed cookie so the join page can lead the
customer back to theirs (status links are never handed to whoever types a number)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from waitify.lib.tokens import looks_like_token

COOKIE = "waitify_tickets"
SALT = "queues.device-tickets"
MAX_AGE = 24 * 3600  # a ticket lasts a service day at most
KEPT = 5  # enough for the shops one person queues at in a day


def device_secrets(request: HttpRequest) -> list[str]:
    """Status secrets of this device's recent tickets; [] for a missing or forged cookie."""
    value = request.get_signed_cookie(COOKIE, default="", salt=SALT, max_age=MAX_AGE)
    return [secret for secret in value.split() if looks_like_token(secret)][:KEPT]


def remember_ticket(request: HttpRequest, response: HttpResponse, secret: str) -> None:
    secrets = [secret, *(known for known in device_secrets(request) if known != secret)]
    response.set_signed_cookie(
        COOKIE, " ".join(secrets[:KEPT]), salt=SALT, max_age=MAX_AGE, path="/q/",
        httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE,
    )

"""What every API view shares: error shape, permissions, throttles."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions, throttling
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from waitify.lib.errors import WaitifyError


def exception_handler(exc, context) -> Response | None:
    """Every error is JSON with a `code` and a human `message`."""
    if isinstance(exc, WaitifyError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(exc, exceptions.ValidationError):
        body = {"code": 400, "error": "invalid", "message": _("Some fields are invalid."),
                "errors": detail}
    else:
        message = detail.get("detail", "") if isinstance(detail, dict) else detail
        body = {"code": response.status_code,
                "error": getattr(exc, "default_code", "error"),
                "message": str(message)}
    response.data = body
    return response


class HasApiAccess(permissions.BasePermission):
    """Plans without API access get a clear 403."""

    message = "Your plan does not include API access. Upgrade to Pro or Enterprise."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        plan = getattr(user, "plan", None)
        if plan is None or not plan.api_access:
            self.message = _("Your plan does not include API access. "
                             "Upgrade to Pro or Enterprise to use the API.")
            return False
        return True


class AccountRateThrottle(throttling.UserRateThrottle):
    """1000 requests per minute per account, whatever the token or session."""

    scope = "user"


class AuthTokenThrottle(throttling.AnonRateThrottle):
    scope = "auth_token"


MERCHANT_PERMISSIONS = [permissions.IsAuthenticated, HasApiAccess]

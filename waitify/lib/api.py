"""What every API view shares: error shape, permissions, throttles, error docs."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from kombu.exceptions import OperationalError as BrokerOperationalError
from rest_framework import exceptions, permissions, serializers, throttling
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from waitify.lib.cache import REDIS_FAULTS
from waitify.lib.errors import WaitifyError

logger = logging.getLogger("waitify.api")


def _dependency_down(exc: Exception) -> Response | None:
    """The database or the broker not answering: a 503 the client may retry, not a 500."""
    if not isinstance(exc, (DatabaseOperationalError, DatabaseInterfaceError,
                            BrokerOperationalError, *REDIS_FAULTS)):
        return None
    logger.exception("API request failed: a dependency is down")
    return Response({"code": 503, "error": "service_unavailable",
                     "message": _("The service is briefly unavailable. "
                                  "Please try again in a moment.")},
                    status=503, headers={"Retry-After": "5"})


def exception_handler(exc, context) -> Response | None:
    """Every error is JSON with a `code`, a machine `error` and a human `message`."""
    if (unavailable := _dependency_down(exc)) is not None:
        return unavailable
    if isinstance(exc, WaitifyError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    if isinstance(exc, DjangoValidationError):
        # A model rule the serializer did not check (full_clean in a service)
        # is still the client's mistake: 400, never 500.
        exc = exceptions.ValidationError(detail=get_error_detail(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(exc, exceptions.ValidationError):
        if not isinstance(detail, dict):
            detail = {"non_field_errors": detail}
        body = {"code": 400, "error": "invalid", "message": _("Some fields are invalid."),
                "errors": detail}
    else:
        message = detail.get("detail", "") if isinstance(detail, dict) else detail
        body = {"code": response.status_code,
                "error": getattr(message, "code", None) or exc.default_code,
                "message": str(message)}
    response.data = body
    return response


def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/v1/ answer in JSON too, not with the HTML 404 page."""
    return JsonResponse({"code": 404, "error": "not_found", "message": _("Not found.")},
                        status=404)


class HasApiAccess(permissions.BasePermission):
    """Plans without API access get a clear 403."""

    code = "no_api_access"
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


# --- OpenAPI: the error bodies above, for extend_schema(responses=…) -----------------------

class ErrorSerializer(serializers.Serializer):
    code = serializers.IntegerField(help_text="4001–4004, 5001, 5002 or an HTTP status.")
    error = serializers.CharField(help_text="Machine-readable reason, e.g. `not_found`.")
    message = serializers.CharField(help_text="Human, translated explanation.")


class ValidationErrorSerializer(ErrorSerializer):
    errors = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Messages per field (nested objects give nested messages).",
    )


class PlanLimitErrorSerializer(ErrorSerializer):
    """A 403 that may be the plan limit: then it says which plan and where to upgrade."""

    plan = serializers.CharField(required=False)
    max_businesses = serializers.IntegerField(required=False, help_text="-1 = unlimited.")
    upgrade_url = serializers.CharField(required=False)


_ERROR_DESCRIPTIONS = {
    400: (ValidationErrorSerializer, "Invalid input."),
    401: (ErrorSerializer, "Not authenticated, or wrong credentials."),
    403: (ErrorSerializer, "Plan without API access, read-only or suspended account, "
                           "or plan limit reached."),
    404: (ErrorSerializer, "Not found, or not yours."),
    429: (ErrorSerializer, "Too many requests."),
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`responses={200: X, **error_responses(401, 403, 404)}` in extend_schema."""
    return {
        status: OpenApiResponse(_ERROR_DESCRIPTIONS[status][0],
                                description=_ERROR_DESCRIPTIONS[status][1])
        for status in statuses
    }

"""What every API view shares: error shape, permissions, throttles, error docs."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from kombu.exceptions import OperationalError as BrokerOperationalError
from rest_framework import exceptions, permissions, serializers
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from waitify.lib.api_parsers import RequestTooLarge
from waitify.lib.cache import REDIS_FAULTS
from waitify.lib.errors import ErrorCode, WaitifyError
from waitify.lib.throttles import AccountRateThrottle, AuthTokenThrottle, ClientRateThrottle

__all__ = ["AccountRateThrottle", "AuthTokenThrottle", "ClientRateThrottle"]  # re-exported

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


def error_body(code: int, error: str, message: str) -> dict:
    return {"code": code, "error": error, "message": str(message)}


def exception_handler(exc, context) -> Response:
    """Every error is JSON with a `code`, a machine `error` and a human `message`.

    Failures with an answer of their own are mapped before the last branch; what
    is left is a bug: logged with its traceback, answered with a JSON 500.
    """
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
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge(_("The request body is larger than %(limit)s bytes.")
                              % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = drf_exception_handler(exc, context)
    if response is None:
        set_rollback()
        request = context.get("request")
        logger.error("unexpected API error on %s", getattr(request, "path", "?"),
                     exc_info=exc)
        return Response(server_error_body(), status=500)
    detail = response.data
    if isinstance(exc, exceptions.ValidationError):
        if not isinstance(detail, dict):
            detail = {"non_field_errors": detail}
        body = {"code": 400, "error": "invalid", "message": _("Some fields are invalid."),
                "errors": detail}
    else:
        message = detail.get("detail", "") if isinstance(detail, dict) else detail
        body = error_body(response.status_code,
                          getattr(message, "code", None) or exc.default_code, message)
    response.data = body
    return response


def server_error_body() -> dict:
    return error_body(500, "server_error",
                      _("Something went wrong on our side. Please try again; if it keeps "
                        "happening, contact support."))


@csrf_exempt  # changes nothing, and a POST to a wrong path is a 404, not a CSRF 403
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/v1/ answer in JSON too, not with the HTML 404 page."""
    return JsonResponse(error_body(404, "not_found", _("Not found.")), status=404)


# An error outside any API view (a middleware, the URL resolver) under /api/ still
# answers in the API's JSON shape; elsewhere Django's page.
def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(server_error_body(), status=500)
    return defaults.server_error(request)


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
            # Staff work under the plan of the account they belong to.
            plan = getattr(user, "account_plan", plan)
        if plan is None or not plan.api_access:
            self.message = _("Your plan does not include API access. "
                             "Upgrade to Pro or Enterprise to use the API.")
            return False
        return True




MERCHANT_PERMISSIONS = [permissions.IsAuthenticated, HasApiAccess]


# --- OpenAPI: the error bodies above, for extend_schema(responses=…) -----------------------

ERROR_CODES_HELP = (
    "A domain error's code; each means one thing, compare codes, not messages: "
    + ", ".join(f"{code.value} `{code.error}` ({code.status})" for code in ErrorCode)
    + ". Below 1000: the API's own answers carry their HTTP status (400 invalid input, "
    "401, 403, 404, 405, 413, 429 throttled, 500, 503).")


class ErrorSerializer(serializers.Serializer):
    code = serializers.IntegerField(help_text=ERROR_CODES_HELP)
    error = serializers.CharField(help_text="The code's name, e.g. `queue_full` or `not_found`.")
    message = serializers.CharField(help_text="Human, translated explanation.")


class ValidationErrorSerializer(ErrorSerializer):
    # Absent when the body could not be read at all (malformed JSON).
    errors = serializers.DictField(
        required=False, child=serializers.JSONField(),
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
    409: (ErrorSerializer, "Conflicts with the queue's current state (closed, paused, "
                           "full, already done)."),
    429: (ErrorSerializer, "Too many requests."),
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`responses={200: X, **error_responses(401, 403, 404)}` in extend_schema."""
    return {
        status: OpenApiResponse(_ERROR_DESCRIPTIONS[status][0],
                                description=_ERROR_DESCRIPTIONS[status][1])
        for status in statuses
    }


# Every operation documents the error answers it can give, whether or not its view
# listed them: the limits (429) apply to all, authentication and plans (401, 403) to
# all but the public ones, 404 wherever the path names something, 400 wherever
# input is read, 409 wherever a queue's state can refuse the change.
_ERROR_REFS = {"Error": ErrorSerializer, "ValidationError": ValidationErrorSerializer}
_STATE_PATHS = ("/queue", "/public/")


def document_error_answers(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name in _ERROR_REFS:
        if name not in schemas:  # every schema of ours uses them; kept safe anyway
            return result
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            statuses = {429}
            if any(requirement for requirement in operation.get("security", [])):
                statuses |= {401, 403}
            parameters = operation.get("parameters", [])
            if any(parameter.get("in") == "path" for parameter in parameters):
                statuses.add(404)
            if "requestBody" in operation or any(parameter.get("in") == "query"
                                                 for parameter in parameters):
                statuses.add(400)
            if method != "get" and any(part in path for part in _STATE_PATHS):
                statuses.add(409)
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                if str(status) in responses:
                    continue
                name = "ValidationError" if status == 400 else "Error"
                description = _ERROR_DESCRIPTIONS.get(status, (None, "Conflicts with the "
                                                               "queue's current state."))[1]
                responses[str(status)] = {
                    "content": {"application/json": {
                        "schema": {"$ref": f"#/components/schemas/{name}"}}},
                    "description": description,
                }
    return result

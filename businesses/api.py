"""JSON API of accounts and businesses (mounted under /api/v1/).

Views are thin: one scoped fetch (another merchant's business is a 404), one
serializer that validates, one call to `businesses.services`. Domain errors
(plan limit, read-only account) are rendered by `waitify.lib.api.exception_handler`.
"""

from __future__ import annotations

from uuid import UUID

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q, QuerySet
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from businesses import services
from businesses.models import Business, BusinessType, SubscriptionStatus, User, queue_counts
from businesses.selectors import business_for, businesses_for
from businesses.validators import validate_opening_hours, validate_timezone
from waitify.lib.api import (
    MERCHANT_PERMISSIONS,
    AccountRateThrottle,
    AuthTokenThrottle,
    PlanLimitErrorSerializer,
    error_responses,
)
from waitify.lib.api_parsers import FormParser, JSONParser
from waitify.lib.errors import ErrorCode, WaitifyError
from waitify.lib.opening_hours import WEEKDAYS, HoursError, check_hours

TAG = "businesses"
MAX_SERVICE_TIME = 24 * 3600  # seconds; anything longer is a typo, not a service


# --- Reads: a business with its live queue figures ----------------------------------------

def businesses_of(user: User) -> QuerySet[Business]:
    """The businesses the user works on (their own, or those assigned to them), each with
    `current_queue_size` and `today_served`: one query however many rows."""
    return (businesses_for(user, permission="queue").with_queue_counts()
            .order_by("name", "created_at"))


def business_totals(user: User) -> dict:
    return Business.objects.filter(owner=user).aggregate(
        businesses=Count("id", distinct=True),
        active_businesses=Count("id", filter=Q(is_active=True), distinct=True),
        open_queues=Count("id", filter=Q(is_active=True, is_queue_open=True), distinct=True),
        **queue_counts(timezone.localdate()),
    )


def account_of(user: User) -> dict:
    return {"id": user.id, "email": user.email, **services.account_summary(user=user)}


# --- Serializers ----------------------------------------------------------------------------

HOURS_EXAMPLE = {
    "weekly": {"monday": [], "tuesday": [["08:00", "12:30"], ["14:00", "19:30"]],
               "sunday": [["09:00", "12:30"]]},
    "exceptions": {"2026-12-25": [], "2026-12-06": [["09:00", "12:00"]]},
}
_CLOCK = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"}
_RANGES = {"type": "array", "maxItems": 3,
           "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": _CLOCK}}


@extend_schema_field({
    "type": "object", "example": HOURS_EXAMPLE,
    "description": "Time ranges per weekday ([] closed all day; a weekday left out has no "
                   "restriction) and per date (replacing that weekday), HH:MM on the "
                   "business's clock (`timezone`), 24:00 for midnight. Replaced as a whole.",
    "properties": {
        "weekly": {"type": "object", "additionalProperties": False,
                   "properties": {day: _RANGES for day in WEEKDAYS}},
        "exceptions": {"type": "object", "additionalProperties": _RANGES,
                       "description": "Keyed by YYYY-MM-DD."},
    },
    "additionalProperties": False,
})
class OpeningHoursSerializer(serializers.JSONField):
    """Checked by the model's own validator, so the form, the admin and the API agree."""

    def __init__(self, **kwargs) -> None:
        super().__init__(validators=[validate_opening_hours], **kwargs)

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        try:
            return check_hours(data)  # ranges sorted, dates normalised
        except HoursError:
            return data  # the validator reports the problem in words


class QueueSettingsSerializer(serializers.Serializer):
    """The queue settings of a business; fields left out keep their value."""

    average_service_time = serializers.IntegerField(
        min_value=10, max_value=MAX_SERVICE_TIME, required=False,
        help_text="Seconds per customer.")
    max_queue_size = serializers.IntegerField(min_value=1, max_value=200, required=False)
    opening_hours = OpeningHoursSerializer(required=False)
    custom_message = serializers.CharField(max_length=100, allow_blank=True, required=False,
                                           help_text="Added to the SMS sent to customers.")
    sms_enabled = serializers.BooleanField(required=False)
    auto_advance_enabled = serializers.BooleanField(required=False)
    client_timeout_minutes = serializers.IntegerField(min_value=1, max_value=30,
                                                      required=False)
    timezone = serializers.CharField(max_length=64, required=False,
                                     validators=[validate_timezone],
                                     help_text="IANA zone the opening hours are read in.")
    last_call_minutes = serializers.IntegerField(
        min_value=0, max_value=240, required=False,
        help_text="Joins stop this many minutes before closing time (0: until closing).")


class BusinessUpdateSerializer(QueueSettingsSerializer):
    """Every editable field of a business; fields left out keep their value."""

    name = serializers.CharField(max_length=120, required=False)
    business_type = serializers.ChoiceField(choices=BusinessType.choices, required=False)
    phone = serializers.CharField(max_length=32, allow_blank=True, required=False,
                                  help_text="French number; stored as E.164.")
    address = serializers.CharField(max_length=255, allow_blank=True, required=False)
    city = serializers.CharField(max_length=100, allow_blank=True, required=False)
    zip_code = serializers.CharField(max_length=10, allow_blank=True, required=False)
    average_basket_cents = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False,
        help_text="What a customer spends on average, in cents (0: unknown); estimates "
                  "the revenue lost when customers leave the queue.")

    # Phone and zip code: the model's validators, run by the service's `full_clean`;
    # their errors come back as this serializer's would (400, per field).


class BusinessCreateSerializer(BusinessUpdateSerializer):
    name = serializers.CharField(max_length=120)
    business_type = serializers.ChoiceField(choices=BusinessType.choices)
    average_service_time = serializers.IntegerField(
        min_value=10, max_value=MAX_SERVICE_TIME, required=False, allow_null=True,
        help_text="Seconds per customer; left out, the usual time for the business type.")


class BusinessSerializer(serializers.ModelSerializer):
    is_queue_active = serializers.BooleanField(source="is_queue_open", read_only=True)
    queue_state = serializers.ChoiceField(
        choices=["open", "paused", "closed", "inactive"], read_only=True)
    opening_hours = OpeningHoursSerializer(read_only=True)
    current_queue_size = serializers.IntegerField(
        read_only=True, default=0, help_text="Customers waiting now.")
    today_served = serializers.IntegerField(
        read_only=True, default=0, help_text="Customers served today (Europe/Paris).")
    qr_code_url = serializers.URLField(
        source="join_url", read_only=True, help_text="The URL the business's QR code opens.")

    class Meta:
        model = Business
        fields = [
            "id", "name", "business_type", "phone", "address", "city", "zip_code", "country",
            "is_active", "is_queue_active", "is_queue_paused", "queue_state",
            "current_queue_size", "today_served", "qr_code_url", "average_service_time",
            "max_queue_size", "opening_hours", "custom_message", "sms_enabled",
            "auto_advance_enabled", "client_timeout_minutes", "average_basket_cents",
            "timezone", "last_call_minutes", "created_at", "updated_at",
        ]
        read_only_fields = fields


class AccountSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    plan = serializers.CharField(allow_null=True)
    plan_title = serializers.CharField(allow_null=True)
    max_businesses = serializers.IntegerField(help_text="-1 = unlimited.")
    active_businesses = serializers.IntegerField()
    subscription_status = serializers.ChoiceField(choices=SubscriptionStatus.choices)
    trial_ends_at = serializers.DateTimeField(allow_null=True)


class BusinessListSerializer(serializers.Serializer):
    user = AccountSerializer()
    businesses = BusinessSerializer(many=True)


class TotalsSerializer(serializers.Serializer):
    businesses = serializers.IntegerField()
    active_businesses = serializers.IntegerField()
    open_queues = serializers.IntegerField()
    current_queue_size = serializers.IntegerField()
    today_served = serializers.IntegerField()


class SummarySerializer(serializers.Serializer):
    user = AccountSerializer()
    totals = TotalsSerializer()


class CredentialsSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, max_length=128)


# --- Views ----------------------------------------------------------------------------------

class AuthTokenView(APIView):
    """Exchange an e-mail and password for an API token; DELETE revokes it."""

    parser_classes = [JSONParser, FormParser]  # `curl -d email=… -d password=…` works too
    throttle_classes = [AuthTokenThrottle]

    def perform_authentication(self, request: Request) -> None:
        # Asking for a token needs no prior authentication (a stale token header
        # or a session without CSRF token must not get in the way); revoking does.
        if request.method != "POST":
            super().perform_authentication(request)

    def get_permissions(self) -> list:
        if self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        tags=["auth"], operation_id="auth_token_create", request=CredentialsSerializer,
        description=gettext_lazy(
            "Failed attempts count with those of the website's login, per account and per "
            "address. The e-mail address must be confirmed. A password change revokes the "
            "token."),
        responses={200: inline_serializer("AuthToken", {"token": serializers.CharField()}),
                   **error_responses(400, 401, 403, 429)},
    )
    def post(self, request: Request) -> Response:
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        email = credentials.validated_data["email"]
        try:
            # allauth's own login step: its failed-login limits (per account and per
            # address) are shared with the website's login form.
            user = get_account_adapter(request).authenticate(
                request, email=email, password=credentials.validated_data["password"])
        except DjangoValidationError as exc:
            # allauth's own words, as on the website's login form.
            raise WaitifyError(exc.messages[0],
                               code=ErrorCode.TOO_MANY_LOGIN_ATTEMPTS) from exc
        # allauth hands back a deactivated account (its website login then shows the
        # "account inactive" page): no token for it.
        if user is None or not user.is_active:
            raise WaitifyError(_("Wrong e-mail or password."),
                               code=ErrorCode.INVALID_CREDENTIALS)
        if not EmailAddress.objects.filter(user=user, email__iexact=email,
                                           verified=True).exists():
            raise WaitifyError(
                _("Confirm your e-mail address first: follow the link we sent you, or "
                  "log in on the website to get a new one."),
                code=ErrorCode.EMAIL_NOT_VERIFIED)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(
        tags=["auth"], operation_id="auth_token_destroy", request=None,
        description=gettext_lazy("Revokes the token the account uses: the next call with "
                                 "it is refused. Ask for a new one with POST."),
        responses={204: None, **error_responses(401, 403, 429)},
    )
    def delete(self, request: Request) -> Response:
        services.api_token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MerchantView(APIView):
    """A merchant with API access, acting on the businesses their role covers."""

    permission_classes = MERCHANT_PERMISSIONS
    throttle_classes = [AccountRateThrottle]

    def get_business(self, business_id: UUID, permission: str = "settings") -> Business:
        return business_for(self.request.user, business_id, permission=permission,
                            queryset=Business.objects.select_related("owner__plan")
                            .with_queue_counts())

    @staticmethod
    def validated(serializer_class: type[serializers.Serializer], request: Request) -> dict:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class BusinessListView(MerchantView):
    @extend_schema(
        tags=[TAG], operation_id="businesses_list",
        summary=gettext_lazy("The account's businesses, with the account summary"),
        responses={200: BusinessListSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        listing = {"user": account_of(request.user), "businesses": businesses_of(request.user)}
        return Response(BusinessListSerializer(listing).data)

    @extend_schema(
        tags=[TAG], operation_id="businesses_create", request=BusinessCreateSerializer,
        responses={201: BusinessSerializer, **error_responses(400, 401),
                   403: PlanLimitErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        fields = self.validated(BusinessCreateSerializer, request)
        business = services.business_create(owner=request.user, **fields)
        return Response(BusinessSerializer(business).data, status=status.HTTP_201_CREATED)


class BusinessSummaryView(MerchantView):
    @extend_schema(
        tags=[TAG], operation_id="businesses_summary",
        summary=gettext_lazy("Account summary and totals over all businesses"),
        responses={200: SummarySerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        summary = {"user": account_of(request.user), "totals": business_totals(request.user)}
        return Response(SummarySerializer(summary).data)


class BusinessDetailView(MerchantView):
    @extend_schema(
        tags=[TAG], operation_id="businesses_retrieve",
        responses={200: BusinessSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, business_id: UUID) -> Response:
        return Response(BusinessSerializer(self.get_business(business_id)).data)

    @extend_schema(
        tags=[TAG], operation_id="businesses_update", request=BusinessUpdateSerializer,
        description=gettext_lazy("Fields left out keep their value."),
        responses={200: BusinessSerializer, **error_responses(400, 401, 403, 404)},
    )
    def put(self, request: Request, business_id: UUID) -> Response:
        business = self.get_business(business_id)
        fields = self.validated(BusinessUpdateSerializer, request)
        business = services.business_update(business=business, **fields)
        return Response(BusinessSerializer(business).data)

    @extend_schema(
        tags=[TAG], operation_id="businesses_destroy",
        description=gettext_lazy("Soft delete: the business is deactivated, its queue "
                                 "closed, and it no longer counts against the plan."),
        responses={200: BusinessSerializer, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, business_id: UUID) -> Response:
        business = services.business_deactivate(
            business=self.get_business(business_id, permission="owner"))
        return Response(BusinessSerializer(business).data)


class BusinessActivateView(MerchantView):
    @extend_schema(
        tags=[TAG], operation_id="businesses_activate", request=None,
        responses={200: BusinessSerializer, **error_responses(401, 404),
                   403: PlanLimitErrorSerializer},
    )
    def post(self, request: Request, business_id: UUID) -> Response:
        business = services.business_activate(
            business=self.get_business(business_id, permission="owner"))
        return Response(BusinessSerializer(business).data)


class BusinessQueueSettingsView(MerchantView):
    @extend_schema(
        tags=[TAG], operation_id="businesses_queue_settings_update",
        request=QueueSettingsSerializer,
        description=gettext_lazy("Only the queue settings; fields left out keep their "
                                 "value, other fields are ignored."),
        responses={200: BusinessSerializer, **error_responses(400, 401, 403, 404)},
    )
    def put(self, request: Request, business_id: UUID) -> Response:
        business = self.get_business(business_id)
        fields = self.validated(QueueSettingsSerializer, request)
        business = services.business_update(business=business, **fields)
        return Response(BusinessSerializer(business).data)


class BusinessQrRegenerateView(MerchantView):
    @extend_schema(
        tags=[TAG], operation_id="businesses_qr_code_regenerate", request=None,
        description=gettext_lazy("A new QR token: printed codes and links with the old "
                                 "one stop working at once."),
        responses={200: BusinessSerializer, **error_responses(401, 403, 404)},
    )
    def post(self, request: Request, business_id: UUID) -> Response:
        business = services.business_regenerate_qr_token(
            business=self.get_business(business_id))
        return Response(BusinessSerializer(business).data)


urlpatterns = [
    path("businesses", BusinessListView.as_view(), name="api-businesses"),
    path("businesses/summary", BusinessSummaryView.as_view(), name="api-businesses-summary"),
    path("businesses/<uuid:business_id>", BusinessDetailView.as_view(),
         name="api-business"),
    path("businesses/<uuid:business_id>/activate", BusinessActivateView.as_view(),
         name="api-business-activate"),
    path("businesses/<uuid:business_id>/queue/settings", BusinessQueueSettingsView.as_view(),
         name="api-business-queue-settings"),
    path("businesses/<uuid:business_id>/qr-code/regenerate",
         BusinessQrRegenerateView.as_view(), name="api-business-qr-regenerate"),
]

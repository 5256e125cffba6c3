"""JSON API of the account's staff (mounted under /api/v1/): the owner's only."""

from __future__ import annotations

from uuid import UUID

from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from businesses import selectors, services
from businesses.models import Business, Membership, Role
from waitify.lib.api import (
    MERCHANT_PERMISSIONS,
    AccountRateThrottle,
    ErrorSerializer,
    error_responses,
)

TAG = "staff"
# The roles a member can hold (the owner is the account itself, never a member).
STAFF_ROLES = [Role.MANAGER, Role.AGENT]


class StaffMemberSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=STAFF_ROLES, read_only=True)
    status = serializers.SerializerMethodField(
        help_text="`invited` until the person joins with the invited address, then "
                  "`active`.")
    businesses = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    joined_at = serializers.DateTimeField(source="accepted_at", read_only=True, allow_null=True)
    invited_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "status", "businesses", "invited_at", "joined_at"]
        read_only_fields = fields

    def get_status(self, member: Membership) -> str:
        return "invited" if member.is_pending else "active"


class StaffWriteSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=STAFF_ROLES,
                                   help_text="`agent`: the live queue; `manager`: also "
                                             "settings, QR code, counters, services and "
                                             "statistics.")
    businesses = serializers.ListField(
        child=serializers.UUIDField(), max_length=500, allow_empty=True,
        help_text="Ids of the account's businesses the person works on.")

    def validate_businesses(self, ids: list[UUID]) -> list[Business]:
        found = list(Business.objects.filter(owner=self.context["account"], pk__in=ids))
        if len(found) != len(set(ids)):
            raise serializers.ValidationError(gettext_lazy("Choose among your own businesses."))
        return found


class StaffInviteSerializer(StaffWriteSerializer):
    email = serializers.EmailField(max_length=254)


class StaffLimitErrorSerializer(ErrorSerializer):
    plan = serializers.CharField(required=False)
    max_staff = serializers.IntegerField(required=False, allow_null=True)
    upgrade_url = serializers.CharField(required=False)


class StaffView(APIView):
    permission_classes = MERCHANT_PERMISSIONS
    throttle_classes = [AccountRateThrottle]

    def account(self, request: Request):
        return selectors.account_for(request.user, permission="staff")

    def written(self, serializer_class, request: Request, account) -> dict:
        serializer = serializer_class(data=request.data, context={"account": account})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class StaffListView(StaffView):
    @extend_schema(
        tags=[TAG], operation_id="staff_list",
        summary=gettext_lazy("The people invited to the account, pending or active"),
        description=gettext_lazy("The owner only; someone's staff gets a 404."),
        responses={200: StaffMemberSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        members = selectors.staff_of(self.account(request))
        return Response(StaffMemberSerializer(members, many=True).data)

    @extend_schema(
        tags=[TAG], operation_id="staff_invite", request=StaffInviteSerializer,
        summary=gettext_lazy("Invite someone by e-mail"),
        description=gettext_lazy(
            "They receive an e-mail with a link; they join once they sign up or log in "
            "with that address. A pending invitation holds a seat of the plan."),
        responses={201: StaffMemberSerializer, **error_responses(400, 401, 404, 409),
                   403: StaffLimitErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        account = self.account(request)
        data = self.written(StaffInviteSerializer, request, account)
        member = services.staff_invite(account=account, email=data["email"], role=data["role"],
                                       businesses=data["businesses"])
        return Response(StaffMemberSerializer(member).data, status=status.HTTP_201_CREATED)


class StaffMemberView(StaffView):
    def member(self, request: Request, membership_id: UUID) -> tuple:
        account = self.account(request)
        return account, get_object_or_404(Membership, pk=membership_id, account=account)

    @extend_schema(
        tags=[TAG], operation_id="staff_update", request=StaffWriteSerializer,
        summary=gettext_lazy("Change someone's role and businesses"),
        responses={200: StaffMemberSerializer, **error_responses(400, 401, 403, 404)},
    )
    def put(self, request: Request, membership_id: UUID) -> Response:
        account, member = self.member(request, membership_id)
        data = self.written(StaffWriteSerializer, request, account)
        member = services.staff_update(account=account, membership=member, role=data["role"],
                                       businesses=data["businesses"])
        return Response(StaffMemberSerializer(member).data)

    @extend_schema(
        tags=[TAG], operation_id="staff_remove", request=None,
        summary=gettext_lazy("Remove someone, or withdraw their invitation"),
        description=gettext_lazy("Their access ends at once: their sessions are signed "
                                 "out and their API token stops working."),
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, membership_id: UUID) -> Response:
        account, member = self.member(request, membership_id)
        services.staff_remove(account=account, membership=member)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("staff", StaffListView.as_view(), name="api-staff"),
    path("staff/<uuid:membership_id>", StaffMemberView.as_view(), name="api-staff-member"),
]

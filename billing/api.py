"""Billing in the JSON API (mounted under /api/v1/): the usage meter and plan choice.

Stripe's failures come back as `{"code": 5002, ...}` with status 502: nothing
was charged or changed, the call can simply be made again.
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import selectors, services
from businesses.models import Plan
from businesses.selectors import account_for
from waitify.lib.api import (
    MERCHANT_PERMISSIONS,
    AccountRateThrottle,
    ErrorSerializer,
    error_responses,
)

TAG = "billing"
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9-]{8,64}")


class SmsUsageSerializer(serializers.Serializer):
    used = serializers.IntegerField()
    included = serializers.IntegerField()
    overage = serializers.IntegerField()
    unit_cost_cents = serializers.IntegerField()
    overage_cost_cents = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    month = serializers.DateField()
    plan = serializers.CharField(allow_null=True)
    subscription_status = serializers.CharField()
    trial_ends_at = serializers.DateTimeField(allow_null=True)
    active_businesses = serializers.IntegerField()
    max_businesses = serializers.IntegerField(help_text="-1 = unlimited.")
    sms = SmsUsageSerializer()


class PlanChoiceSerializer(serializers.Serializer):
    checkout_url = serializers.URLField(
        allow_blank=True, help_text="Stripe Checkout to open, when there was no subscription.")
    plan = serializers.CharField(help_text="The account's plan now.")
    subscription_status = serializers.CharField()


_ERRORS = {
    409: OpenApiResponse(ErrorSerializer, description="Plan refused (too many active "
                                                      "businesses) or already the plan."),
    502: OpenApiResponse(ErrorSerializer, description="Stripe did not answer (code 5002); "
                                                      "nothing was changed."),
    503: OpenApiResponse(ErrorSerializer, description="Online billing is not set up."),
}


class UsageView(APIView):
    permission_classes = MERCHANT_PERMISSIONS
    throttle_classes = [AccountRateThrottle]

    @extend_schema(tags=[TAG], operation_id="billing_usage",
                   summary=gettext_lazy("This month's plan usage and extra SMS so far"),
                   responses={200: UsageSerializer, **error_responses(401, 403)})
    def get(self, request: Request) -> Response:
        account = account_for(request.user, permission="billing")
        meter = selectors.usage_meter(account=account)
        return Response(UsageSerializer({
            "month": meter.month, "plan": meter.plan.name if meter.plan else None,
            "subscription_status": account.subscription_status,
            "trial_ends_at": account.trial_ends_at,
            "active_businesses": meter.active_businesses,
            "max_businesses": meter.max_businesses,
            "sms": {"used": meter.sms_used, "included": meter.sms_included,
                    "overage": meter.sms_overage, "unit_cost_cents": meter.unit_cost_cents,
                    "overage_cost_cents": meter.overage_cost_cents},
        }).data)


class PlanChooseView(APIView):
    permission_classes = MERCHANT_PERMISSIONS
    throttle_classes = [AccountRateThrottle]

    @extend_schema(
        tags=[TAG], operation_id="billing_plan_choose", request=None,
        description=gettext_lazy(
            "Without a subscription: a Stripe Checkout URL to open. With one: the plan is "
            "changed at once. Send an `Idempotency-Key` header to make retries safe."),
        responses={200: PlanChoiceSerializer, **error_responses(401, 403, 404), **_ERRORS})
    def post(self, request: Request, plan_name: str) -> Response:
        account_for(request.user, permission="billing")
        plan = get_object_or_404(Plan, name=plan_name, is_active=True)
        key = request.headers.get("Idempotency-Key", "")
        page = f"{settings.SITE_URL}{reverse('billing:page')}"
        change = services.plan_subscribe(
            account=request.user, plan=plan,
            request_id=key if IDEMPOTENCY_KEY.fullmatch(key) else uuid.uuid4().hex,
            success_url=f"{page}?checkout=success", cancel_url=f"{page}?checkout=cancelled")
        account = change.account or request.user
        return Response(PlanChoiceSerializer({
            "checkout_url": change.redirect_url, "plan": account.plan.name if account.plan else "",
            "subscription_status": account.subscription_status}).data)


urlpatterns = [
    path("billing/usage", UsageView.as_view(), name="api-billing-usage"),
    path("billing/plans/<slug:plan_name>/choose", PlanChooseView.as_view(),
         name="api-billing-plan-choose"),
]

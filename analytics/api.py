"""JSON API of the analytics (mounted under /api/v1/), shapes as in the product documents.

Views are thin: one scoped fetch (another merchant's business is a 404), one
selector, one serializer. Period figures come from DailyStat through
`analytics.selectors.summarize`, the same sums the pages show.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from uuid import UUID

from django.http import HttpResponse
from django.urls import path, re_path
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import exports, selectors
from analytics.models import DailyStat
from businesses.models import Business, User
from businesses.selectors import account_for, business_for
from waitify.lib.api import MERCHANT_PERMISSIONS, AccountRateThrottle, error_responses
from waitify.lib.errors import ErrorCode, WaitifyError

TAG = "analytics"
MAX_DAILY_RANGE = 366


# --- Shapes -------------------------------------------------------------------------------

class PeriodMetricsSerializer(serializers.Serializer):
    total_clients = serializers.IntegerField(source="registered")
    clients_served = serializers.IntegerField(source="served")
    clients_missed = serializers.IntegerField(source="missed")
    clients_cancelled = serializers.IntegerField(source="cancelled")
    abandonment_rate = serializers.FloatField(
        allow_null=True, help_text="Missed + cancelled over registered, in %.")
    average_wait_time = serializers.FloatField(
        source="average_wait_minutes", allow_null=True,
        help_text="Minutes from joining to being called.")
    average_service_time = serializers.IntegerField(
        source="average_service_seconds", allow_null=True, help_text="Seconds.")
    estimate_error = serializers.FloatField(
        source="estimate_error_minutes", allow_null=True,
        help_text="Mean absolute difference between announced and real wait, minutes.")
    estimate_in_range = serializers.IntegerField(
        source="estimate_in_range_percent", allow_null=True,
        help_text="Share of real waits inside the range announced at join, in % "
                  "(aimed at about 80).")
    peak_hours = serializers.ListField(
        source="peak_hour_labels", child=serializers.CharField(),
        help_text="The (at most two) hours with the most customers, HH:MM.")
    peak_queue_size = serializers.IntegerField()
    sms_sent = serializers.IntegerField()
    revenue_lost_cents = serializers.IntegerField(
        help_text="Missed + cancelled customers × the business's average basket.")


class TodayMetricsSerializer(serializers.Serializer):
    current_queue_size = serializers.IntegerField(source="queue_size")
    registered = serializers.IntegerField()
    served = serializers.IntegerField()
    missed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    average_wait_time = serializers.FloatField(source="average_wait_minutes", allow_null=True,
                                               help_text="Minutes, so far today.")


class DashboardBusinessSerializer(serializers.Serializer):
    business_id = serializers.UUIDField(source="business.pk")
    business_name = serializers.CharField(source="business.name")
    is_active = serializers.BooleanField(source="business.is_active")
    is_queue_active = serializers.BooleanField(source="business.is_queue_open")
    today = TodayMetricsSerializer()
    last_7_days = PeriodMetricsSerializer()


class DashboardSerializer(serializers.Serializer):
    date = serializers.DateField()
    totals = TodayMetricsSerializer()
    last_7_days = PeriodMetricsSerializer()
    businesses = DashboardBusinessSerializer(many=True)


class ComparisonItemSerializer(serializers.Serializer):
    business_id = serializers.UUIDField(source="business.pk")
    business_name = serializers.CharField(source="business.name")
    metrics = PeriodMetricsSerializer(source="figures")


class ConsolidatedSerializer(serializers.Serializer):
    total_businesses = serializers.IntegerField()
    total_clients = serializers.IntegerField()
    total_served = serializers.IntegerField()
    total_missed = serializers.IntegerField()
    total_cancelled = serializers.IntegerField()
    overall_abandonment_rate = serializers.FloatField(allow_null=True)
    average_wait_time = serializers.FloatField(allow_null=True, help_text="Minutes.")
    total_sms_sent = serializers.IntegerField()
    revenue_lost_cents = serializers.IntegerField()
    best_performer = serializers.CharField(
        allow_null=True, help_text="Fewest customers leaving; null with fewer than two "
                                   "businesses that had customers.")
    worst_performer = serializers.CharField(allow_null=True)
    improvement_suggestions = serializers.ListField(child=serializers.CharField())


class ComparisonSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=list(selectors.PERIODS))
    start = serializers.DateField()
    end = serializers.DateField()
    comparison = ComparisonItemSerializer(many=True)
    consolidated = ConsolidatedSerializer()


class ConsolidatedPeriodSerializer(ConsolidatedSerializer):
    period = serializers.ChoiceField(choices=list(selectors.CONSOLIDATED_PERIODS))
    start = serializers.DateField()
    end = serializers.DateField()


class WindowSerializer(serializers.Serializer):
    start = serializers.TimeField(format="%H:%M")
    end = serializers.TimeField(format="%H:%M")


class BusinessDashboardSerializer(serializers.Serializer):
    business_id = serializers.UUIDField()
    business_name = serializers.CharField()
    date = serializers.DateField()
    today = TodayMetricsSerializer()
    last_7_days = PeriodMetricsSerializer()
    last_30_days = PeriodMetricsSerializer()
    customers_per_hour = serializers.ListField(
        child=serializers.FloatField(),
        help_text="24 values, hours 0-23: average customers per day over the last 30 days.")
    busiest_window = WindowSerializer(
        allow_null=True, help_text="The most frequent busiest hour over the last 30 days.")
    estimate_accuracy_minutes = serializers.IntegerField(
        allow_null=True, help_text="“Our estimates were within N minutes” (last 30 days).")


class DailyStatSerializer(serializers.ModelSerializer):
    abandonment_rate = serializers.FloatField(allow_null=True)
    average_wait_time = serializers.FloatField(source="average_wait_minutes", allow_null=True,
                                               help_text="Minutes.")
    estimate_error = serializers.FloatField(source="estimate_error_minutes", allow_null=True,
                                            help_text="Minutes.")
    estimate_in_range = serializers.IntegerField(
        source="estimate_in_range_percent", allow_null=True,
        help_text="Share of real waits inside the range announced at join, in %.")
    busiest_window_start = serializers.TimeField(format="%H:%M", allow_null=True)
    busiest_window_end = serializers.TimeField(format="%H:%M", allow_null=True)
    customers_per_hour = serializers.ListField(source="joins_by_hour",
                                               child=serializers.IntegerField())

    class Meta:
        model = DailyStat
        fields = [
            "date", "registered", "served", "missed", "cancelled", "abandonment_rate",
            "average_wait_time", "average_service_seconds", "estimate_error",
            "estimate_in_range", "peak_hour",
            "peak_queue_size", "busiest_window_start", "busiest_window_end", "sms_sent",
            "revenue_lost_cents", "customers_per_hour",
        ]
        read_only_fields = fields


class BreakdownTodaySerializer(serializers.Serializer):
    served = serializers.IntegerField(source="served_today")
    average_service_time = serializers.IntegerField(
        source="average_service_seconds_today", allow_null=True, help_text="Seconds.")


class BreakdownPeriodSerializer(serializers.Serializer):
    served = serializers.IntegerField()
    average_service_time = serializers.IntegerField(
        source="average_service_seconds", allow_null=True, help_text="Seconds.")


class BreakdownRowSerializer(serializers.Serializer):
    id = serializers.UUIDField(
        allow_null=True, help_text="Null: customers served with no counter or nobody recorded "
                                   "(before counters existed, or by a member since removed).")
    name = serializers.CharField()
    today = BreakdownTodaySerializer(source="*")
    period = BreakdownPeriodSerializer(source="*")


class BreakdownsSerializer(serializers.Serializer):
    business_id = serializers.UUIDField(source="business.pk")
    date = serializers.DateField(source="today")
    period = serializers.CharField(source="period.key", help_text="As asked: `last_7_days`…")
    start = serializers.DateField(source="period.first")
    end = serializers.DateField(source="period.last")
    counters = BreakdownRowSerializer(many=True)
    employees = BreakdownRowSerializer(
        many=True, help_text="Each person who marked customers served, most served first.")
    services = BreakdownRowSerializer(many=True)


EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)


class RangeSerializer(serializers.Serializer):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD` (both included)."""

    to = serializers.DateField(required=False, help_text="Last day, included.")

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False, help_text="First day.")
        return fields

    def validate(self, attrs: dict) -> dict:
        # Far-off dates are typos, and a default range counted back from year 1
        # would fall off the calendar.
        for name in ("from", "to"):
            day = attrs.get(name)
            if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
                raise serializers.ValidationError({name: [
                    _("Give a date between %(first)s and %(last)s.")
                    % {"first": EARLIEST_DAY.isoformat(), "last": LATEST_DAY.isoformat()}]})
        if attrs.get("from") and attrs.get("to") and attrs["to"] < attrs["from"]:
            raise serializers.ValidationError({"to": [_("Must not be before “from”.")]})
        return attrs


class DailySerializer(serializers.Serializer):
    business_id = serializers.UUIDField()
    to = serializers.DateField()
    days = DailyStatSerializer(many=True)

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = serializers.DateField()
        return fields


class PeriodQuerySerializer(serializers.Serializer):
    # `?period=` (empty) reads as left out, as DRF reads query strings: the default.
    period = serializers.ChoiceField(choices=list(selectors.PERIODS), allow_blank=True,
                                     default=selectors.DEFAULT_PERIOD)

    def validate_period(self, value: str) -> str:
        return value or selectors.DEFAULT_PERIOD


class CSVRenderer(renderers.BaseRenderer):
    """Only for errors of the CSV export when the client asked for text/csv only;
    the export itself is written directly."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        out = io.StringIO()
        if isinstance(data, dict):
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["code", "error", "message"])
            writer.writerow([data.get("code", ""), data.get("error", ""), data.get("message", "")])
        return out.getvalue().encode()


# --- Building the payloads --------------------------------------------------------------------

def _consolidated(result: selectors.Comparison) -> dict:
    totals = result.totals
    return {
        "total_businesses": len(result.items), "total_clients": totals.registered,
        "total_served": totals.served, "total_missed": totals.missed,
        "total_cancelled": totals.cancelled,
        "overall_abandonment_rate": totals.abandonment_rate,
        "average_wait_time": totals.average_wait_minutes, "total_sms_sent": totals.sms_sent,
        "revenue_lost_cents": totals.revenue_lost_cents,
        "best_performer": result.best.business.name if result.best else None,
        "worst_performer": result.worst.business.name if result.worst else None,
        "improvement_suggestions": result.suggestions,
    }


def _period_for(user: User, key: str) -> selectors.Period:
    if key not in selectors.periods_allowed(user):
        raise WaitifyError(_("This period comes with the Pro and Enterprise plans."),
                           code=ErrorCode.ANALYTICS_LEVEL)
    return selectors.period_named(key)


# --- Views -------------------------------------------------------------------------------------

class AnalyticsView(APIView):
    permission_classes = MERCHANT_PERMISSIONS
    throttle_classes = [AccountRateThrottle]

    def get_business(self, business_id: UUID) -> Business:
        return business_for(self.request.user, business_id, permission="stats")


class DashboardView(AnalyticsView):
    @extend_schema(
        tags=[TAG], operation_id="analytics_dashboard",
        summary=gettext_lazy("Every business: today live and the last 7 days"),
        responses={200: DashboardSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        account_for(request.user, permission="stats")  # the owner's own
        overview = selectors.merchant_today(request.user)
        payload = {
            "date": selectors.local_today(), "totals": overview.totals,
            "last_7_days": overview.last_7_days,
            "businesses": [{"business": business, "today": today, "last_7_days": week}
                           for business, today, week in overview.items],
        }
        return Response(DashboardSerializer(payload).data)


class ComparisonView(AnalyticsView):
    @extend_schema(
        tags=[TAG], operation_id="analytics_comparison", parameters=[PeriodQuerySerializer],
        summary=gettext_lazy("The businesses side by side over a period, with totals, "
                             "best performer and improvement suggestions"),
        description=gettext_lazy("Periods are rolling windows of complete Europe/Paris days "
                                 "ending yesterday."),
        responses={200: ComparisonSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        account_for(request.user, permission="stats")  # the owner's own
        query = PeriodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = _period_for(request.user, query.validated_data["period"])
        result = selectors.merchant_comparison(request.user, period=period)
        payload = {"period": period.key, "start": period.first, "end": period.last,
                   "comparison": result.items, "consolidated": _consolidated(result)}
        return Response(ComparisonSerializer(payload).data)


class ConsolidatedView(AnalyticsView):
    @extend_schema(
        tags=[TAG], operation_id="analytics_consolidated",
        parameters=[OpenApiParameter("period", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     enum=list(selectors.CONSOLIDATED_PERIODS),
                                     description="day = yesterday, week = the last 7 days, "
                                                 "month = the last 30 days.")],
        summary=gettext_lazy("Totals over all businesses for a day, a week or a month"),
        responses={200: ConsolidatedPeriodSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, period: str) -> Response:
        account_for(request.user, permission="stats")  # the owner's own
        chosen = _period_for(request.user, selectors.CONSOLIDATED_PERIODS[period])
        result = selectors.merchant_comparison(request.user, period=chosen)
        payload = {"period": period, "start": chosen.first, "end": chosen.last,
                   **_consolidated(result)}
        return Response(ConsolidatedPeriodSerializer(payload).data)


class BusinessDashboardView(AnalyticsView):
    @extend_schema(
        tags=[TAG], operation_id="analytics_business_dashboard",
        summary=gettext_lazy("One business: today live, the last 7 and 30 days"),
        responses={200: BusinessDashboardSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, business_id: UUID) -> Response:
        business = self.get_business(business_id)
        dashboard = selectors.business_dashboard(business, period_key="last_30_days")
        window = dashboard.busiest_window
        payload = {
            "business_id": business.pk, "business_name": business.name,
            "date": selectors.local_today(), "today": dashboard.today,
            "last_7_days": dashboard.last_7_days, "last_30_days": dashboard.last_30_days,
            "customers_per_hour": dashboard.last_30_days.customers_per_hour,
            "busiest_window": {"start": window[0], "end": window[1]} if window else None,
            "estimate_accuracy_minutes": dashboard.last_30_days.estimate_within_minutes,
        }
        return Response(BusinessDashboardSerializer(payload).data)


class BusinessBreakdownView(AnalyticsView):
    @extend_schema(
        tags=[TAG], operation_id="analytics_business_breakdown", parameters=[PeriodQuerySerializer],
        summary=gettext_lazy("Served customers and average service time per counter, "
                             "per employee and per service"),
        description=gettext_lazy("Today so far, and over the period (rolling windows of "
                                 "complete Europe/Paris days ending yesterday)."),
        responses={200: BreakdownsSerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, business_id: UUID) -> Response:
        business = self.get_business(business_id)
        query = PeriodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = _period_for(request.user, query.validated_data["period"])
        return Response(BreakdownsSerializer(
            selectors.business_breakdowns(business, period=period)).data)


def _range(request: Request, *, default_days: int | None) -> tuple:
    query = RangeSerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    last = query.validated_data.get("to") or selectors.local_today() - timedelta(days=1)
    first = query.validated_data.get("from")
    if first is None and default_days:
        first = last - timedelta(days=default_days - 1)
    return first, last


class BusinessDailyView(AnalyticsView):
    @extend_schema(
        tags=[TAG], operation_id="analytics_business_daily", parameters=[RangeSerializer],
        summary=gettext_lazy("One business's figures, day by day"),
        description=gettext_lazy("Default: the last 30 days. At most 366 days at once."),
        responses={200: DailySerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, business_id: UUID) -> Response:
        business = self.get_business(business_id)
        first, last = _range(request, default_days=30)
        if (last - first).days >= MAX_DAILY_RANGE:
            raise serializers.ValidationError(
                {"from": [_("At most %(days)s days at once.") % {"days": MAX_DAILY_RANGE}]})
        days = selectors.daily_history(business, first=first, last=last)
        return Response(DailySerializer(
            {"business_id": business.pk, "from": first, "to": last, "days": days}).data)


class BusinessExportView(AnalyticsView):
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    @extend_schema(
        tags=[TAG], operation_id="analytics_business_export", parameters=[RangeSerializer],
        summary=gettext_lazy("One business's daily history as CSV"),
        description=gettext_lazy("One line per day, ISO dates and dot decimals. Without "
                                 "`from`, the whole history."),
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR,
                                                      description="The CSV file."),
                   **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, business_id: UUID) -> HttpResponse:
        business = self.get_business(business_id)
        first, last = _range(request, default_days=None)
        rows = business.daily_stats.filter(date__lte=last).order_by("date")
        if first is not None:
            rows = rows.filter(date__gte=first)
        response = HttpResponse(exports.daily_history_csv(rows),
                                content_type="text/csv; charset=utf-8")
        filename = f"waitify-{slugify(business.name) or 'business'}-daily.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


urlpatterns = [
    path("analytics/dashboard", DashboardView.as_view(), name="api-analytics-dashboard"),
    path("analytics/comparison", ComparisonView.as_view(), name="api-analytics-comparison"),
    re_path(r"^analytics/consolidated/(?P<period>day|week|month)$", ConsolidatedView.as_view(),
            name="api-analytics-consolidated"),
    path("businesses/<uuid:business_id>/analytics/dashboard", BusinessDashboardView.as_view(),
         name="api-business-analytics-dashboard"),
    path("businesses/<uuid:business_id>/analytics/breakdown", BusinessBreakdownView.as_view(),
         name="api-business-analytics-breakdown"),
    path("businesses/<uuid:business_id>/analytics/daily", BusinessDailyView.as_view(),
         name="api-business-analytics-daily"),
    path("businesses/<uuid:business_id>/analytics/export", BusinessExportView.as_view(),
         name="api-business-analytics-export"),
]

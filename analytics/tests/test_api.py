"""The analytics API: shapes of the product documents, periods, CSV, schema."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from analytics.days import local_today
from analytics.tests.factories import hours, make_business, stat
from businesses.tests.factories import make_merchant
from queues import services as queue_services

ANALYTICS_PATHS = {
    "/api/v1/analytics/dashboard", "/api/v1/analytics/comparison",
    "/api/v1/analytics/consolidated/{period}",
    "/api/v1/businesses/{business_id}/analytics/dashboard",
    "/api/v1/businesses/{business_id}/analytics/daily",
    "/api/v1/businesses/{business_id}/analytics/export",
    "/api/v1/businesses/{business_id}/analytics/breakdown",
}


@pytest.fixture
def two_shops(merchant, business):
    yesterday = local_today() - timedelta(days=1)
    gare = make_business(merchant, "Quartier Gare", basket_cents=800)
    stat(business, yesterday, registered=10, served=8, missed=1, cancelled=1,
         average_wait_minutes=Decimal("8.0"), waits_measured=9, sms_sent=20,
         estimate_error_minutes=Decimal("1.6"), joins_by_hour=hours(h8=6, h17=4),
         busiest_window_start="08:00", busiest_window_end="09:00")
    stat(gare, yesterday - timedelta(days=3), registered=20, served=19, cancelled=1,
         average_wait_minutes=Decimal("12.0"), waits_measured=19, sms_sent=40,
         revenue_lost_cents=800, joins_by_hour=hours(h7=5, h18=15))
    return business, gare


def test_the_comparison_has_the_seed_s_shape(api_client, two_shops):
    response = api_client.get("/api/v1/analytics/comparison", {"period": "last_7_days"})

    assert response.status_code == 200
    body = response.json()
    assert body["period"] == "last_7_days"
    assert [row["business_name"] for row in body["comparison"]] == [
        "Boulangerie Martin", "Quartier Gare"]
    martin = body["comparison"][0]["metrics"]
    assert {"total_clients", "clients_served", "abandonment_rate", "average_wait_time",
            "peak_hours", "sms_sent"} <= set(martin)
    assert (martin["total_clients"], martin["clients_served"]) == (10, 8)
    assert martin["abandonment_rate"] == 20.0 and martin["average_wait_time"] == 8.0
    assert martin["peak_hours"] == ["08:00", "17:00"] and martin["sms_sent"] == 20
    consolidated = body["consolidated"]
    assert consolidated["total_clients"] == 30 and consolidated["total_served"] == 27
    assert consolidated["overall_abandonment_rate"] == 10.0
    assert consolidated["total_sms_sent"] == 60
    assert consolidated["best_performer"] == "Quartier Gare"
    assert isinstance(consolidated["improvement_suggestions"], list)


def test_a_period_outside_the_list_is_a_400(api_client, two_shops):
    response = api_client.get("/api/v1/analytics/comparison", {"period": "forever"})
    assert response.status_code == 400
    assert "period" in response.json()["errors"]


@pytest.mark.parametrize("period, days", [("day", 1), ("week", 7), ("month", 30)])
def test_consolidated_periods(api_client, two_shops, period, days):
    response = api_client.get(f"/api/v1/analytics/consolidated/{period}")

    body = response.json()
    assert response.status_code == 200
    assert body["period"] == period
    last = local_today() - timedelta(days=1)
    assert body["end"] == last.isoformat()
    assert body["start"] == (last - timedelta(days=days - 1)).isoformat()
    assert body["total_businesses"] == 2
    assert body["total_clients"] == (10 if period == "day" else 30)


def test_an_unknown_consolidated_period_is_a_json_404(api_client, two_shops):
    response = api_client.get("/api/v1/analytics/consolidated/year")
    assert response.status_code == 404 and response.json()["code"] == 404


def test_the_account_dashboard_has_today_and_the_week(api_client, two_shops):
    martin, _gare = two_shops
    queue_services.queue_open(business=martin)
    queue_services.entry_join(business=martin, phone="0612345678")

    body = api_client.get("/api/v1/analytics/dashboard").json()

    assert body["date"] == local_today().isoformat()
    assert body["totals"]["current_queue_size"] == 1
    assert body["totals"]["registered"] == 1
    assert body["last_7_days"]["total_clients"] == 30
    first = body["businesses"][0]
    assert first["business_name"] == "Boulangerie Martin"
    assert first["today"]["current_queue_size"] == 1
    assert first["last_7_days"]["clients_served"] == 8


def test_the_business_dashboard(api_client, two_shops):
    martin, _gare = two_shops
    body = api_client.get(reverse("api-business-analytics-dashboard", args=[martin.pk])).json()

    assert body["business_name"] == "Boulangerie Martin"
    assert body["last_30_days"]["total_clients"] == 10
    assert len(body["customers_per_hour"]) == 24 and body["customers_per_hour"][8] == 6.0
    assert body["busiest_window"] == {"start": "08:00", "end": "09:00"}
    assert body["estimate_accuracy_minutes"] == 2
    assert body["today"]["current_queue_size"] == 0


def test_the_daily_history_defaults_to_30_days_and_takes_a_range(api_client, two_shops):
    martin, _gare = two_shops
    yesterday = local_today() - timedelta(days=1)
    stat(martin, yesterday - timedelta(days=40), registered=3)
    url = reverse("api-business-analytics-daily", args=[martin.pk])

    body = api_client.get(url).json()
    assert [day["date"] for day in body["days"]] == [yesterday.isoformat()]
    assert body["days"][0]["registered"] == 10
    assert body["days"][0]["busiest_window_start"] == "08:00"
    assert body["days"][0]["customers_per_hour"][17] == 4

    older = (yesterday - timedelta(days=40)).isoformat()
    body = api_client.get(url, {"from": older, "to": older}).json()
    assert body["from"] == older and [day["registered"] for day in body["days"]] == [3]

    assert api_client.get(url, {"from": "2026-02-10", "to": "2026-01-01"}).status_code == 400
    assert api_client.get(url, {"from": "2020-01-01", "to": "2026-01-01"}).status_code == 400
    assert api_client.get(url, {"from": "yesterday"}).status_code == 400


@pytest.mark.parametrize("route", ["api-business-analytics-daily",
                                   "api-business-analytics-export"])
@pytest.mark.parametrize("query", [{"to": "0001-01-01"}, {"from": "0001-01-01"},
                                   {"to": "9999-12-31"}, {"from": "1999-12-31"}])
def test_dates_off_the_calendar_are_a_json_400(api_client, business, route, query):
    response = api_client.get(reverse(route, args=[business.pk]), query)
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert response.json()["error"] == "invalid"
    assert list(response.json()["errors"]) == list(query)


def test_the_export_is_csv(api_client, two_shops):
    martin, _gare = two_shops
    response = api_client.get(reverse("api-business-analytics-export", args=[martin.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("date,registered,served,missed,cancelled")
    assert len(lines) == 2


def test_the_export_refusal_is_csv_for_a_csv_only_client(outsider_api_client, two_shops):
    martin, _gare = two_shops
    response = outsider_api_client.get(
        reverse("api-business-analytics-export", args=[martin.pk]), HTTP_ACCEPT="text/csv")
    assert response.status_code == 404
    assert response.content.decode().startswith("code,error,message")


def test_a_plan_without_api_access_gets_403(db):
    owner = make_merchant("basic-api@example.fr", plan="basic")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    response = client.get("/api/v1/analytics/dashboard")
    assert response.status_code == 403


def test_the_schema_documents_every_analytics_route_without_warnings(db, tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert set(schema["paths"]) >= ANALYTICS_PATHS
    export = schema["paths"]["/api/v1/businesses/{business_id}/analytics/export"]["get"]
    assert "text/csv" in export["responses"]["200"]["content"]

"""Every analytics page and API route, tried by another merchant and by a stranger."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from analytics import api
from analytics.days import local_today
from analytics.models import DailyStat
from analytics.tests.factories import stat
from analytics.urls import urlpatterns as page_patterns
from businesses.models import Business

BUSINESS_PAGES = ["analytics:business", "analytics:business_export"]
BUSINESS_ROUTES = ["api-business-analytics-dashboard", "api-business-analytics-daily",
                   "api-business-analytics-export", "api-business-analytics-breakdown"]
ACCOUNT_ROUTES = ["/api/v1/analytics/dashboard", "/api/v1/analytics/comparison",
                  "/api/v1/analytics/consolidated/day", "/api/v1/analytics/consolidated/week",
                  "/api/v1/analytics/consolidated/month"]


@pytest.fixture
def victim(business):
    stat(business, local_today() - timedelta(days=1), registered=9, served=8, missed=1)
    return business


def snapshot(business: Business) -> list:
    return list(DailyStat.objects.filter(business=business).values())


def test_every_business_route_is_in_this_file():
    pages = {f"analytics:{p.name}" for p in page_patterns if "business_id" in str(p.pattern)}
    routes = {p.name for p in api.urlpatterns if "business_id" in str(p.pattern)}
    assert pages == set(BUSINESS_PAGES) and routes == set(BUSINESS_ROUTES)


@pytest.mark.parametrize("name", BUSINESS_PAGES)
def test_it_checks_ownership_of_the_pages(outsider_client, victim, name):
    before = snapshot(victim)

    response = outsider_client.get(reverse(name, args=[victim.pk]), {"period": "last_7_days"})

    assert response.status_code == 404
    assert victim.name.encode() not in response.content
    assert snapshot(victim) == before


@pytest.mark.parametrize("name", BUSINESS_PAGES)
def test_a_stranger_is_sent_to_the_login_page(client, victim, name):
    url = reverse(name, args=[victim.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={quote(url)}"


@pytest.mark.parametrize("name", BUSINESS_ROUTES)
def test_it_checks_ownership_of_the_api(outsider_api_client, victim, name):
    before = snapshot(victim)

    response = outsider_api_client.get(reverse(name, args=[victim.pk]))

    assert response.status_code == 404
    assert response.json()["code"] == 404
    assert victim.name.encode() not in response.content
    assert snapshot(victim) == before


@pytest.mark.parametrize("path", ACCOUNT_ROUTES)
def test_the_account_routes_show_only_the_caller_s_businesses(outsider_api_client, victim,
                                                              path):
    response = outsider_api_client.get(path)
    assert response.status_code == 200
    assert victim.name.encode() not in response.content


@pytest.mark.parametrize("path", [*ACCOUNT_ROUTES, "business"])
def test_anonymous_callers_get_401(victim, path):
    if path == "business":
        path = reverse("api-business-analytics-dashboard", args=[victim.pk])
    response = APIClient().get(path)
    assert response.status_code == 401
    assert response.json()["code"] == 401


def test_the_comparison_page_shows_only_the_merchant_s_businesses(outsider_client, victim):
    response = outsider_client.get(reverse("analytics:comparison"))
    assert response.status_code == 200
    assert victim.name.encode() not in response.content

"""The merchant sees how good the wait estimates were, per day: the mean error
and the share of real waits inside the range shown at join (pages and API)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.urls import reverse

from analytics import services
from analytics.days import local_today
from analytics.models import DailyStat
from analytics.tests.factories import at, entry, make_business, stat
from businesses.tests.factories import make_merchant
from queues.models import QueueEntry

MONDAY = date(2026, 3, 16)


def _called(business, joined: str, called: str, *, low: int, high: int) -> QueueEntry:
    made = entry(business, at(MONDAY, joined), called=at(MONDAY, called),
                 finished=at(MONDAY, called), estimated_minutes=(low + high) / 2)
    QueueEntry.objects.filter(pk=made.pk).update(estimated_wait_low_seconds=low * 60,
                                                 estimated_wait_high_seconds=high * 60)
    return made


def test_the_nightly_figures_count_the_waits_inside_the_range_shown(db):
    shop = make_business(make_merchant("range@example.fr"), "Pharmacie")
    _called(shop, "09:00", "09:05", low=3, high=8)  # 5 min: inside
    _called(shop, "09:10", "09:20", low=3, high=8)  # 10 min: beyond
    _called(shop, "09:30", "09:31", low=2, high=6)  # 1 min: below
    _called(shop, "09:40", "09:48", low=4, high=8)  # 8 min: on the edge, inside
    entry(shop, at(MONDAY, "10:00"), called=at(MONDAY, "10:05"), finished=at(MONDAY, "10:06"))

    services.daily_stats_compute(day=MONDAY)

    stat_ = DailyStat.objects.get(business=shop, date=MONDAY)
    assert (stat_.waits_with_range, stat_.waits_in_range) == (4, 2)
    assert stat_.estimate_in_range_percent == 50


def _history(business) -> date:
    yesterday = local_today() - timedelta(days=1)
    stat(business, yesterday, registered=10, served=10, average_wait_minutes=Decimal("6.0"),
         waits_measured=10, estimate_error_minutes=Decimal("1.3"), waits_with_range=10,
         waits_in_range=8)
    return yesterday


def test_the_statistics_page_shows_the_accuracy_day_by_day(merchant_client, business):
    yesterday = _history(business)
    html = merchant_client.get(reverse("analytics:business", args=[business.pk])).content.decode()
    assert "80 % des attentes réelles sont tombées dans la fourchette affichée" in html
    assert f'data-day="{yesterday.isoformat()}"' in html
    assert "1,3 min" in html or "1.3 min" in html


def test_the_api_gives_the_share_inside_the_range_per_day(api_client, business):
    _history(business)
    url = reverse("api-business-analytics-daily", args=[business.pk])
    day = api_client.get(url).json()["days"][0]
    assert (day["estimate_error"], day["estimate_in_range"]) == (1.3, 80)

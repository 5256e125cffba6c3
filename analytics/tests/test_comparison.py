"""Comparison across a merchant's businesses, consolidated totals, best performer and
suggestions, against daily rows whose sums are worked out by hand below.

Week of Monday 9 to Sunday 15 March 2026 ("last 7 days" seen on the 16th):

Centre-Ville (no average basket set)
  Mon 9   20 customers, 18 served, 1 missed, 1 cancelled, wait 6.0 min over 19,
          service 110 s, estimate error 2.0, 40 SMS, longest queue 5
  Sat 14  40 customers, 30 served, 6 missed, 4 cancelled, wait 18.0 min over 36,
          service 120 s, estimate error 4.0, 80 SMS, longest queue 12;
          customers who joined at 17:00 waited 20 min on average (12 of them), at
          18:00 17 min (8 of them)
  → 60 customers, 48 served, 12 left: 20.0 %; wait (6×19 + 18×36) / 55 = 13.9 min;
    service (110×18 + 120×30) / 48 = 116 s; error (2×19 + 4×36) / 55 = 3.3 min;
    peak hours 08:00 (22) and 17:00 (20)
Quartier Gare (basket 8 €)
  Fri 13  30 customers, 28 served, 1 missed, 1 cancelled, wait 9.0 over 29, error 6.0,
          60 SMS, 16 € lost
  → 2 / 30 = 6.7 % left; peak hours 07:00 and 18:00
All: 90 customers, 76 served, 14 left = 15.6 %; wait (762 + 261) / 84 = 12.2 min.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from analytics import selectors
from analytics.selectors import merchant_comparison, period_named, summarize
from analytics.suggestions import long_wait_stretch
from analytics.tests.factories import hours, make_business, stat
from businesses import services as business_services
from businesses.tests.factories import make_merchant

MONDAY, FRIDAY, SATURDAY = date(2026, 3, 9), date(2026, 3, 13), date(2026, 3, 14)
WEEK = period_named("last_7_days", today=date(2026, 3, 16))


@pytest.fixture
def week(merchant):
    centre = make_business(merchant, "Centre-Ville")
    gare = make_business(merchant, "Quartier Gare", basket_cents=800)
    make_business(merchant, "Rive Gauche")  # active, no customers this week
    closed = make_business(merchant, "Ancienne boutique")
    business_services.business_deactivate(business=closed)
    stat(centre, MONDAY, registered=20, served=18, missed=1, cancelled=1,
         average_wait_minutes=Decimal("6.0"), waits_measured=19, average_service_seconds=110,
         estimate_error_minutes=Decimal("2.0"), sms_sent=40, peak_queue_size=5,
         joins_by_hour=hours(h8=12, h12=8), waits_by_hour=hours(h8=10, h12=9),
         wait_seconds_by_hour=hours(h8=10 * 300, h12=9 * 450))
    stat(centre, SATURDAY, registered=40, served=30, missed=6, cancelled=4,
         average_wait_minutes=Decimal("18.0"), waits_measured=36, average_service_seconds=120,
         estimate_error_minutes=Decimal("4.0"), sms_sent=80, peak_queue_size=12,
         joins_by_hour=hours(h8=10, h17=20, h18=10), waits_by_hour=hours(h8=10, h17=12, h18=8),
         wait_seconds_by_hour=hours(h8=10 * 300, h17=12 * 1200, h18=8 * 1020))
    stat(gare, FRIDAY, registered=30, served=28, missed=1, cancelled=1,
         average_wait_minutes=Decimal("9.0"), waits_measured=29, average_service_seconds=90,
         estimate_error_minutes=Decimal("6.0"), sms_sent=60, revenue_lost_cents=1600,
         peak_queue_size=7, joins_by_hour=hours(h7=10, h18=20),
         waits_by_hour=hours(h7=9, h18=20), wait_seconds_by_hour=hours(h7=9 * 480, h18=11400))
    # Outside the week: never counted.
    stat(centre, MONDAY - timedelta(days=1), registered=999, served=999)
    stat(gare, WEEK.last + timedelta(days=1), registered=999, served=999)
    return centre, gare


def test_each_business_is_summed_over_the_period(week, merchant):
    result = merchant_comparison(merchant, period=WEEK)

    names = [item.business.name for item in result.items]
    assert names == ["Centre-Ville", "Quartier Gare", "Rive Gauche"]
    centre, gare, quiet = (item.figures for item in result.items)
    assert (centre.registered, centre.served, centre.missed, centre.cancelled) == (60, 48, 7, 5)
    assert centre.abandonment_rate == 20.0
    assert centre.average_wait_minutes == 13.9
    assert centre.average_service_seconds == 116
    assert centre.estimate_error_minutes == 3.3
    assert centre.estimate_within_minutes == 3
    assert centre.sms_sent == 120 and centre.peak_queue_size == 12
    assert centre.peak_hour_labels == ["08:00", "17:00"]
    assert gare.abandonment_rate == 6.7 and gare.average_wait_minutes == 9.0
    assert gare.revenue_lost_cents == 1600 and gare.peak_hour_labels == ["07:00", "18:00"]
    assert quiet.registered == 0 and quiet.abandonment_rate is None
    assert quiet.average_wait_minutes is None and quiet.peak_hour_labels == []


def test_consolidated_totals_and_performers(week, merchant):
    result = merchant_comparison(merchant, period=WEEK)

    totals = result.totals
    assert (totals.registered, totals.served, totals.abandoned) == (90, 76, 14)
    assert totals.abandonment_rate == 15.6
    assert totals.average_wait_minutes == 12.2
    assert totals.sms_sent == 180 and totals.revenue_lost_cents == 1600
    assert totals.peak_hour_labels == ["08:00", "18:00"]
    assert result.best.business.name == "Quartier Gare"
    assert result.worst.business.name == "Centre-Ville"


def test_a_single_business_with_customers_is_nobody_s_best(merchant):
    shop = make_business(merchant, "Seule")
    stat(shop, FRIDAY, registered=10, served=10)

    result = merchant_comparison(merchant, period=WEEK)

    assert result.best is None and result.worst is None


def test_the_suggestions_say_what_the_figures_show(week, merchant):
    with translation.override("en"):
        suggestions = merchant_comparison(merchant, period=WEEK).suggestions

    assert suggestions == [
        "At Centre-Ville, waits above 15 min between 17:00 and 19:00 on Saturdays: consider "
        "opening a second counter at that time.",
        "At Centre-Ville, 20.0 % of customers left without being served, mostly called "
        "customers who did not come back in time: give them a longer customer timeout, and "
        "keep the SMS notifications on.",
        "At Quartier Gare, the wait announced to customers was off by 6 min on average: check "
        "the average service time in its settings.",
        "Set the average basket of Centre-Ville in the settings to see how much revenue "
        "customers who leave the queue cost you.",
    ]


def test_the_suggestions_are_translated(week, merchant):
    with translation.override("fr"):
        suggestions = merchant_comparison(merchant, period=WEEK).suggestions

    # The name stands alone: "À Boulangerie Démo" would not be French.
    assert suggestions[0].startswith("Centre-Ville : attente de plus de 15 min entre 17:00 "
                                     "et 19:00 le samedi")
    assert "20,0 %" in suggestions[1]


def test_a_long_wait_needs_enough_customers_in_the_hour(merchant):
    shop = make_business(merchant, "Petite")
    row = stat(shop, SATURDAY, registered=2, waits_by_hour=hours(h17=2),
               wait_seconds_by_hour=hours(h17=2 * 3600))

    assert long_wait_stretch([row]) is None


def test_cancellations_get_their_own_advice(merchant):
    shop = make_business(merchant, "Annule", basket_cents=500)
    stat(shop, FRIDAY, registered=20, served=14, missed=1, cancelled=5, revenue_lost_cents=3000)

    with translation.override("en"):
        suggestions = merchant_comparison(merchant, period=WEEK).suggestions

    assert suggestions == [
        "At Annule, 30.0 % of customers left without being served, mostly by cancelling while "
        "they waited: serve faster at peak hours or open the queue a little earlier."]


def test_nothing_to_suggest_for_a_calm_week(merchant):
    shop = make_business(merchant, "Calme", basket_cents=500)
    stat(shop, FRIDAY, registered=20, served=20, average_wait_minutes=Decimal("4.0"),
         waits_measured=20, estimate_error_minutes=Decimal("1.0"))

    assert merchant_comparison(merchant, period=WEEK).suggestions == []


def test_the_comparison_costs_the_same_queries_for_one_or_five_businesses(db):
    def queries_for(count: int) -> int:
        owner = make_merchant(f"compare{count}@example.fr", plan="enterprise")
        for index in range(count):
            shop = make_business(owner, f"Shop {index}")
            for offset in range(7):
                stat(shop, WEEK.first + timedelta(days=offset), registered=5, served=5)
        with CaptureQueriesContext(connection) as context:
            result = merchant_comparison(owner, period=WEEK)
            assert result.totals.registered == count * 35
        return len(context.captured_queries)

    assert queries_for(1) == queries_for(5) == 2


def test_summaries_of_nothing_are_empty():
    figures = summarize([])
    assert figures.registered == 0 and figures.abandonment_rate is None
    assert figures.average_wait_minutes is None and figures.estimate_within_minutes is None
    assert figures.peak_hours == [] and figures.customers_per_hour == [0.0] * 24


def test_the_business_dashboard_splits_7_and_30_days(merchant):
    shop = make_business(merchant, "Tableau")
    today = date(2026, 3, 31)
    stat(shop, date(2026, 3, 30), registered=10, served=9, cancelled=1,
         joins_by_hour=hours(h9=10))
    stat(shop, date(2026, 3, 10), registered=30, served=30, joins_by_hour=hours(h9=20, h10=10))
    stat(shop, date(2026, 2, 1), registered=500, served=500)  # before the 30 days

    dashboard = selectors.business_dashboard(shop, period_key="last_30_days", today=today)

    assert dashboard.last_7_days.registered == 10
    assert dashboard.last_30_days.registered == 40
    assert dashboard.figures.registered == 40
    assert len(dashboard.days) == 30 and dashboard.days[-1].day == date(2026, 3, 30)
    assert dashboard.days[-1].served == 9 and dashboard.days[-1].abandoned == 1
    # 30 customers at 09:00 over the 2 days that had customers.
    assert dashboard.figures.customers_per_hour[9] == 15.0

"""The merchant's analytics pages: per-business dashboard, CSV, comparison."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from analytics import charts
from analytics.days import local_today
from analytics.selectors import DayPoint
from analytics.tests.factories import hours, make_business, stat
from businesses.tests.factories import make_merchant
from queues import services as queue_services


@pytest.fixture
def history(business):
    """Yesterday and the day 20 days before, for the merchant's "Boulangerie Martin"."""
    yesterday = local_today() - timedelta(days=1)
    stat(business, yesterday, registered=12, served=10, missed=1, cancelled=1,
         average_wait_minutes=Decimal("7.5"), waits_measured=11, average_service_seconds=150,
         estimate_error_minutes=Decimal("2.4"), sms_sent=30, revenue_lost_cents=2500,
         peak_queue_size=6, peak_hour=9, joins_by_hour=hours(h9=8, h17=4),
         busiest_window_start="09:15", busiest_window_end="10:15")
    stat(business, yesterday - timedelta(days=20), registered=8, served=8,
         average_wait_minutes=Decimal("22.0"), waits_measured=8, joins_by_hour=hours(h11=8))
    return business


def page_of(client, business, **params):
    return client.get(reverse("analytics:business", args=[business.pk]), params)


def test_the_dashboard_shows_today_the_periods_and_three_charts(merchant_client, history):
    queue_services.queue_open(business=history)
    queue_services.entry_join(business=history, phone="0612345678")

    response = page_of(merchant_client, history)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<figure class=\"card chart ") == 3
    assert 'id="history"' in html and 'hx-get="?period=last_7_days"' in html
    today = response.context["dashboard"].today
    assert today.queue_size == 1 and today.registered == 1
    figures = response.context["dashboard"].figures
    assert figures.registered == 20 and figures.peak_hour_labels == ["09:00", "11:00"]
    assert "09:15–10:15" in html
    # "Our estimates were within 2 minutes" (2.4 rounded).
    assert response.context["dashboard"].last_30_days.estimate_within_minutes == 2


def test_the_period_tabs_answer_htmx_with_the_fragment_only(merchant_client, history):
    response = merchant_client.get(reverse("analytics:business", args=[history.pk]),
                                   {"period": "last_7_days"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.count("<figure class=\"card chart ") == 3
    assert response.context["dashboard"].figures.registered == 12


def test_a_day_over_the_long_wait_line_is_drawn_in_red(merchant_client, history):
    html = page_of(merchant_client, history).content.decode()
    assert 'class="bar-long"' in html and 'class="threshold"' in html


def test_a_business_without_history_says_when_figures_come(merchant_client, business):
    response = page_of(merchant_client, business)
    assert response.status_code == 200
    assert "<svg" not in response.content.decode()


def test_a_basic_plan_sees_the_last_7_days_only(client, db):
    owner = make_merchant("basic@example.fr", plan="basic")
    shop = make_business(owner, "Basique")
    client.force_login(owner)

    response = page_of(client, shop, period="last_30_days")

    assert response.context["dashboard"].period.key == "last_7_days"
    assert reverse("analytics:business_export", args=[shop.pk]) not in \
        response.content.decode()
    export = client.get(reverse("analytics:business_export", args=[shop.pk]))
    assert export.status_code == 302


def test_the_dashboard_query_count_is_the_same_for_7_and_30_days(merchant_client, business):
    for offset in range(1, 31):
        stat(business, local_today() - timedelta(days=offset), registered=3, served=3)

    def count(period: str) -> int:
        with CaptureQueriesContext(connection) as context:
            assert page_of(merchant_client, business, period=period).status_code == 200
        return len(context.captured_queries)

    assert count("last_7_days") == count("last_30_days") == count("last_90_days")
    # 4 of them: per counter, employee and service; 1: is this someone's staff (the menu)
    assert count("last_30_days") <= 9


def test_the_csv_export_has_one_line_per_day(merchant_client, history):
    response = merchant_client.get(reverse("analytics:business_export", args=[history.pk]),
                                   HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.startswith(b"date,registered,served,")
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(lines) == 2
    last = lines[-1]
    assert last["date"] == (local_today() - timedelta(days=1)).isoformat()
    assert (last["registered"], last["served"], last["average_wait_minutes"]) == ("12", "10",
                                                                                   "7.5")
    assert (last["busiest_window_start"], last["revenue_lost_euros"]) == ("09:15", "25.00")


def test_a_french_merchant_gets_a_csv_that_french_excel_opens_in_columns(merchant_client,
                                                                        history):
    response = merchant_client.get(reverse("analytics:business_export", args=[history.pk]),
                                   HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.content
    assert body.startswith(b"\xef\xbb\xbfDate;Inscrits;Servis;Tours manqu\xc3\xa9s;")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))
    header, older, last = rows
    assert header[5:7] == ["Taux d'abandon (%)", "Attente moyenne (min)"]
    assert header[-1] == "Chiffre d'affaires perdu (€)"
    yesterday = local_today() - timedelta(days=1)
    assert last[0] == yesterday.strftime("%d/%m/%Y")
    day = dict(zip(header, last, strict=True))
    assert (day["Inscrits"], day["Attente moyenne (min)"], day["Écart d'estimation (min)"],
            day["Heure la plus chargée, de"], day["Chiffre d'affaires perdu (€)"]) \
        == ("12", "7,5", "2,4", "09:15", "25,00")
    assert older[header.index("Attente moyenne (min)")] == "22,0"
    assert body.endswith(b"\r\n")


def test_the_comparison_page_lists_every_business(merchant_client, merchant, history):
    other = make_business(merchant, "Quartier Gare")
    stat(other, local_today() - timedelta(days=2), registered=10, served=9, missed=1)

    response = merchant_client.get(reverse("analytics:comparison"), {"period": "last_7_days"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Boulangerie Martin" in html and "Quartier Gare" in html
    assert response.context["comparison"].totals.registered == 22
    assert response.context["comparison"].best.business == other


def test_the_comparison_query_count_is_the_same_for_1_and_5_businesses(client, db):
    def count(businesses: int) -> int:
        owner = make_merchant(f"many{businesses}@example.fr", plan="enterprise")
        for index in range(businesses):
            shop = make_business(owner, f"Shop {index}")
            stat(shop, local_today() - timedelta(days=1), registered=4, served=3, missed=1)
        client.force_login(owner)
        with CaptureQueriesContext(connection) as context:
            assert client.get(reverse("analytics:comparison")).status_code == 200
        return len(context.captured_queries)

    assert count(1) == count(5)
    assert count(2) <= 8  # one of them: is this someone's staff (account pages are not)


def test_the_overview_and_the_settings_page_link_to_the_analytics(merchant_client, business):
    url = reverse("analytics:business", args=[business.pk])
    assert url in merchant_client.get(reverse("queues:overview")).content.decode()
    assert url in merchant_client.get(reverse("businesses:detail",
                                              args=[business.pk])).content.decode()
    assert reverse("analytics:comparison") in \
        merchant_client.get(reverse("queues:overview")).content.decode()


def test_the_average_basket_is_a_business_setting_in_euros(merchant_client, business):
    from businesses.forms import BusinessForm

    form = BusinessForm(instance=business)
    data = {name: field.initial for name, field in form.fields.items()
            if field.initial is not None}
    data.update({name: getattr(business, name) for name in form.Meta.fields})
    data["average_basket_euros"] = "12,50"

    response = merchant_client.post(reverse("businesses:detail", args=[business.pk]), data)

    assert response.status_code == 302, response.context["form"].errors
    business.refresh_from_db()
    assert business.average_basket_cents == 1250


@pytest.mark.parametrize(("language", "shown"), [
    ("fr", "27 nov. – 3 déc. 2026"),
    ("en", "27 Nov – 3 Dec 2026"),
])
def test_the_period_is_written_with_the_languages_month_abbreviations(merchant_client,
                                                                      business, language,
                                                                      shown):
    with time_machine.travel(datetime(2026, 12, 4, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))):
        html = merchant_client.get(reverse("analytics:comparison"), {"period": "last_7_days"},
                                   HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f'<span class="subtle">{shown}</span>' in html


def test_the_chart_days_use_french_month_abbreviations():
    with translation.override("fr"):
        names = charts._day_names([DayPoint(day=date(2026, 11, 27), stat=None),
                                   DayPoint(day=date(2026, 7, 1), stat=None)])
    assert names == ["ven 27 nov.", "mer 1 juil."]

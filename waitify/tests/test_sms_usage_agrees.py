""""SMS used this month" has one definition (queues.sms.usage): the dashboard meter, the
80/100 % e-mails, the billing page, the invoice and the statistics give the same figure,
with unknown and failed SMS on both sides of a month boundary (Europe/Paris)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from analytics import services as analytics_services
from analytics.models import DailyStat
from billing import services as billing_services
from businesses import services as business_services
from businesses.models import Business, Plan
from businesses.tests.factories import make_merchant
from queues.models import SmsLog, SmsQuotaAlert, SmsStatus, SmsType
from queues.sms.usage import sms_quota_check, sms_usage

PARIS = ZoneInfo("Europe/Paris")
NOVEMBER = date(2026, 11, 1)


def paris(month: int, day: int, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def sms(business: Business, status: str, at: datetime) -> None:
    went = status in (SmsStatus.SENT, SmsStatus.DELIVERED)
    log = SmsLog.objects.create(business=business, phone="+33612345678", text="t",
                                type=SmsType.CONFIRMATION, status=status,
                                sent_at=at if went else None)
    SmsLog.objects.filter(pk=log.pk).update(created_at=at)


@pytest.fixture
def account(db):
    """Two businesses whose SMS straddle the ends of November; quota 5, so 4 used is 80 %."""
    with time_machine.travel(paris(10, 20, "09:00")):
        merchant = make_merchant("sms-month@example.fr", plan="pro")
        bakery = business_services.business_create(owner=merchant, name="Boulangerie",
                                                   business_type="bakery")
        florist = business_services.business_create(owner=merchant, name="Fleuriste",
                                                    business_type="other")
        stranger = business_services.business_create(
            owner=make_merchant("other@example.fr"), name="Ailleurs", business_type="other")
    Plan.objects.filter(pk=merchant.plan_id).update(sms_quota_monthly=5)
    sms(bakery, SmsStatus.SENT, paris(10, 31, "23:30"))       # October
    sms(bakery, SmsStatus.UNKNOWN, paris(11, 1, "00:30"))     # November (still October in UTC)
    sms(bakery, SmsStatus.FAILED, paris(11, 1, "00:40"))      # never counted
    sms(bakery, SmsStatus.DELIVERED, paris(11, 14, "12:00"))  # November
    sms(florist, SmsStatus.SUPPRESSED, paris(11, 14, "12:05"))
    sms(florist, SmsStatus.PENDING, paris(11, 14, "12:06"))
    sms(florist, SmsStatus.SENT, paris(11, 30, "23:50"))      # November
    sms(florist, SmsStatus.UNKNOWN, paris(11, 30, "23:55"))   # November, no sent_at
    sms(florist, SmsStatus.FAILED, paris(11, 30, "23:56"))
    sms(florist, SmsStatus.SENT, paris(12, 1, "00:05"))       # December (November in UTC)
    sms(stranger, SmsStatus.SENT, paris(11, 14, "12:00"))     # another account
    merchant.refresh_from_db()
    return merchant, bakery, florist


def test_the_meter_the_e_mails_billing_and_statistics_count_the_same_sms(client, account):
    merchant, bakery, florist = account
    used = sms_usage(merchant, NOVEMBER)
    assert (used.used, used.quota) == (4, 5)
    assert {row["name"]: row["sms"] for row in used.by_business} == {"Boulangerie": 2,
                                                                     "Fleuriste": 2}

    client.force_login(merchant)
    with time_machine.travel(paris(11, 30, "23:58"), tick=False):
        overview = client.get(reverse("queues:overview"))
        billing_page = client.get(reverse("billing:page"))
        alerts = sms_quota_check(user_id=merchant.pk)
    with time_machine.travel(paris(12, 1, "03:15"), tick=False):
        record = billing_services.usage_record_close(account=merchant, month=NOVEMBER)
    analytics_services.daily_stats_compute_range(
        first=date(2026, 10, 31), last=date(2026, 12, 1),
        businesses=Business.objects.filter(owner=merchant))
    days = DailyStat.objects.filter(business__owner=merchant)

    assert overview.context["sms_usage"].used == 4
    assert overview.content.decode().count('<dd class="sms-count">2</dd>') == 2
    assert billing_page.context["meter"].sms_used == 4
    assert alerts == [80]
    assert SmsQuotaAlert.objects.get(user=merchant).used == 4
    assert "envoyé 4 des 5 SMS" in mail.outbox[0].body
    assert record.sms_used == 4
    assert sum(row["sms"] for row in record.usage_by_business) == 4
    assert sum(days.filter(date__month=11).values_list("sms_sent", flat=True)) == 4
    assert days.get(date=date(2026, 10, 31), business=bakery).sms_sent == 1
    assert days.get(date=date(2026, 12, 1), business=florist).sms_sent == 1


def test_the_months_either_side_count_their_own_sms(account):
    merchant, _bakery, _florist = account
    assert sms_usage(merchant, date(2026, 10, 1)).used == 1
    assert sms_usage(merchant, date(2026, 12, 1)).used == 1

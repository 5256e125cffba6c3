"""What the merchant sees of SMS: usage against the plan quota, quota e-mails, and warnings
on the live queue (a failed SMS, the hourly cap) — with query counts that do not grow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from businesses import services as business_services
from businesses.models import Plan, User
from businesses.tests.factories import make_merchant
from queues import services
from queues.models import SmsLog, SmsQuotaAlert, SmsStatus, SmsType
from queues.sms import outbox, usage
from queues.tests.factories import fill, join

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def add_logs(business, count: int, status: str = SmsStatus.SENT, days_ago: int = 0) -> None:
    logs = SmsLog.objects.bulk_create([
        SmsLog(business=business, phone="+33612345678", type=SmsType.CONFIRMATION, text="t",
               status=status, sent_at=timezone.now() if status == SmsStatus.SENT else None)
        for _ in range(count)
    ])
    if days_ago:
        SmsLog.objects.filter(pk__in=[log.pk for log in logs]).update(
            created_at=timezone.now() - timedelta(days=days_ago))


def test_the_overview_shows_sms_this_month_per_business_and_for_the_account(
        merchant_client, merchant, business, outsider_business):
    other = business_services.business_create(owner=merchant, name="Boulangerie Nord",
                                              business_type="bakery")
    add_logs(business, 3)
    add_logs(other, 2)
    add_logs(business, 4, status=SmsStatus.FAILED)  # not sent: not counted
    add_logs(business, 4, status=SmsStatus.SUPPRESSED)
    add_logs(business, 5, days_ago=40)  # another month
    add_logs(outsider_business, 7)  # another merchant
    response = merchant_client.get(reverse("queues:overview"), **ENGLISH)
    html = response.content.decode()
    assert '<dd class="sms-count">3</dd>' in html and '<dd class="sms-count">2</dd>' in html
    assert "SMS this month" in html
    assert f"5 / {merchant.plan.sms_quota_monthly}" in html
    assert response.context["sms_usage"].used == 5


def test_the_overview_warns_from_80_percent_of_the_quota(merchant_client, merchant, business):
    Plan.objects.filter(pk=merchant.plan_id).update(sms_quota_monthly=10)
    add_logs(business, 8)
    html = merchant_client.get(reverse("queues:overview"), **ENGLISH).content.decode()
    assert "80% used" in html
    add_logs(business, 3)
    html = merchant_client.get(reverse("queues:overview"), **ENGLISH).content.decode()
    assert "Quota used: 1 extra" in html


@pytest.mark.parametrize("count", [1, 5])
def test_the_overview_with_sms_runs_the_same_number_of_queries(
        client, db, django_assert_num_queries, count):
    merchant = make_merchant("many-sms@example.fr", plan="enterprise")
    for number in range(count):
        shop = business_services.business_create(owner=merchant, name=f"Shop {number}",
                                                 business_type="bakery")
        add_logs(shop, 3)
        add_logs(shop, 1, status=SmsStatus.SUPPRESSED)
    client.force_login(merchant)
    # session, user, staff membership (the menu), plan, active count, businesses with
    # their figures, SMS used (one GROUP BY: queues.sms.usage)
    with django_assert_num_queries(7):
        response = client.get(reverse("queues:overview"))
    assert response.context["sms_usage"].used == 3 * count


def test_a_failed_sms_shows_error_5001_on_the_entry_in_the_live_queue(merchant_client, queue):
    failing, fine = fill(queue, 2)
    SmsLog.objects.filter(entry=failing).update(status=SmsStatus.FAILED)
    SmsLog.objects.filter(entry=fine).update(status=SmsStatus.SENT)
    html = merchant_client.get(reverse("queues:live", args=[queue.pk]), **ENGLISH).content.decode()
    assert html.count('data-code="5001"') == 1
    assert "SMS not sent" in html


def test_only_the_latest_sms_of_an_entry_counts_for_the_warning(merchant_client, queue):
    entry = join(queue)
    SmsLog.objects.filter(entry=entry).update(status=SmsStatus.FAILED,
                                              created_at=timezone.now() - timedelta(minutes=5))
    services.queue_call_next(business=queue)
    SmsLog.objects.filter(entry=entry, type=SmsType.YOUR_TURN).update(status=SmsStatus.SENT)
    html = merchant_client.get(reverse("queues:live", args=[queue.pk])).content.decode()
    assert 'data-code="5001"' not in html


def test_the_live_queue_warns_when_the_hourly_sms_cap_held_messages_back(
        merchant_client, queue, settings, sms_outbox):
    html = merchant_client.get(reverse("queues:live", args=[queue.pk]), **ENGLISH).content.decode()
    assert "Hourly SMS limit reached" not in html
    settings.SMS_HOURLY_CAP_PER_BUSINESS = 1
    entries = fill(queue, 2)
    outbox.sms_send_batch(log_ids=SmsLog.objects.filter(entry__in=entries)
                                 .values_list("pk", flat=True))
    html = merchant_client.get(reverse("queues:live", args=[queue.pk]), **ENGLISH).content.decode()
    assert "Hourly SMS limit reached" in html
    overview = merchant_client.get(reverse("queues:overview"), **ENGLISH).content.decode()
    assert "Hourly SMS limit reached" in overview


@pytest.mark.parametrize("waiting", [5, 45])
def test_the_live_fragment_with_sms_runs_a_fixed_number_of_queries(
        merchant_client, queue, waiting, django_assert_num_queries):
    entries = fill(queue, waiting)
    services.queue_call_next(business=queue)
    SmsLog.objects.filter(entry__in=entries[::2]).update(status=SmsStatus.FAILED)
    # session, user, business (the permission check), the business with its owner and plan,
    # state (+ SMS cap), live entries (+ latest SMS), today's figures, counters, what each
    # counter serves, services
    with django_assert_num_queries(10):
        response = merchant_client.get(reverse("queues:live", args=[queue.pk]),
                                       HTTP_HX_REQUEST="true")
    assert response.content.decode().count('data-code="5001"') >= waiting // 2


# --- Quota e-mails --------------------------------------------------------------------------


@pytest.fixture
def small_plan(merchant):
    Plan.objects.filter(pk=merchant.plan_id).update(sms_quota_monthly=10)
    merchant.refresh_from_db()
    return merchant


def test_the_merchant_is_emailed_once_at_80_and_once_at_100_percent(small_plan, queue):
    add_logs(queue, 7)
    assert usage.sms_quota_check(user_id=small_plan.pk) == []
    add_logs(queue, 1)
    assert usage.sms_quota_check(user_id=small_plan.pk) == [80]
    assert usage.sms_quota_check(user_id=small_plan.pk) == []
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [small_plan.email]
    assert "80" in mail.outbox[0].subject
    add_logs(queue, 5)
    assert usage.sms_quota_check(user_id=small_plan.pk) == [100]
    assert usage.sms_quota_check(user_id=small_plan.pk) == []
    assert len(mail.outbox) == 2
    assert "0,03 €" in mail.outbox[1].body
    assert SmsQuotaAlert.objects.filter(user=small_plan).count() == 2


def test_an_sms_of_unknown_fate_counts_towards_the_quota_and_a_failed_one_does_not(
        small_plan, queue):
    add_logs(queue, 7)
    add_logs(queue, 3, status=SmsStatus.FAILED)
    assert usage.sms_quota_check(user_id=small_plan.pk) == []
    add_logs(queue, 1, status=SmsStatus.UNKNOWN)  # may have reached the phone: billed
    assert usage.sms_quota_check(user_id=small_plan.pk) == [80]
    assert SmsQuotaAlert.objects.get(user=small_plan).used == 8


def test_the_quota_e_mail_is_in_the_merchant_s_language(small_plan, queue):
    User.objects.filter(pk=small_plan.pk).update(language="en")
    add_logs(queue, 10)
    assert usage.sms_quota_check(user_id=small_plan.pk) == [80, 100]
    subjects = sorted(message.subject for message in mail.outbox)
    assert subjects == ["Waitify: 80% of this month's SMS used",
                        "Waitify: you have used all the SMS of your plan this month"]
    assert "0.03 €" in mail.outbox[-1].body  # English decimals, the euro sign after


def test_a_failed_quota_email_is_tried_again_next_time(small_plan, queue, monkeypatch):
    add_logs(queue, 9)

    def broken(*args, **kwargs):
        raise OSError("smtp down")

    monkeypatch.setattr(usage, "send_mail", broken)
    with pytest.raises(OSError):
        usage.sms_quota_check(user_id=small_plan.pk)
    assert not SmsQuotaAlert.objects.exists()
    monkeypatch.undo()
    assert usage.sms_quota_check(user_id=small_plan.pk) == [80]


def test_sending_past_the_quota_goes_on_and_emails_along_the_way(
        small_plan, queue, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fill(queue, 12)
    assert len(sms_outbox) == 12
    assert SmsLog.objects.filter(status=SmsStatus.SENT).count() == 12
    assert sorted(SmsQuotaAlert.objects.values_list("threshold", flat=True)) == [80, 100]
    assert len(mail.outbox) == 2

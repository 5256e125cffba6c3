"""Monthly SMS overage: counted from the SMS log, invoiced once per account and month."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from billing import gateway, selectors, services, tasks
from billing.models import UsageRecord
from billing.tests import stripe_objects as so
from billing.tests.conftest import Scenario
from businesses import services as business_services
from queues.models import SmsLog, SmsStatus, SmsType

LAST_MONTH = selectors.previous_month(selectors.month_of())


def send_sms(business, count: int, *, status: str = SmsStatus.SENT, month=LAST_MONTH,
             day: int = 10) -> None:
    logs = SmsLog.objects.bulk_create([
        SmsLog(business=business, type=SmsType.CONFIRMATION, text="Votre ticket A-001",
               status=status, phone="+33611111111") for _ in range(count)])
    start, _end = selectors.month_bounds(month)
    SmsLog.objects.filter(pk__in=[log.pk for log in logs]).update(
        created_at=start + timedelta(days=day - 1, hours=12))


def signed_up_before_last_month(account) -> None:
    start, _end = selectors.month_bounds(selectors.previous_month(LAST_MONTH))
    type(account).objects.filter(pk=account.pk).update(created_at=start)


@pytest.fixture
def basic_subscriber(post_event, subscriber, fake_stripe):
    """A merchant subscribed to the basic plan (1,000 SMS included) with one shop."""
    signed_up_before_last_month(subscriber)
    scenario = Scenario(fake_stripe, subscriber, plan="basic")
    post_event(scenario.subscribe())
    subscriber.refresh_from_db()
    subscriber.shop = business_services.business_create(owner=subscriber, name="Boulangerie",
                                                        business_type="bakery")
    return subscriber


@pytest.fixture
def month_of_1234_sms(basic_subscriber):
    shop = basic_subscriber.shop
    send_sms(shop, 1000, status=SmsStatus.SENT)
    send_sms(shop, 200, status=SmsStatus.DELIVERED)
    send_sms(shop, 34, status=SmsStatus.UNKNOWN)  # may have reached the phone: billed
    for status in (SmsStatus.FAILED, SmsStatus.SUPPRESSED, SmsStatus.PENDING):
        send_sms(shop, 20, status=status)  # never billed
    send_sms(shop, 7, month=selectors.month_of())  # this month: next time
    send_sms(shop, 9, month=selectors.previous_month(LAST_MONTH))  # the month before
    return basic_subscriber


def invoice_items(fake_stripe) -> list[dict]:
    return fake_stripe.of_type("invoiceitem")


def test_1234_sms_on_basic_put_234_times_3_cents_on_the_next_invoice(month_of_1234_sms,
                                                                     fake_stripe):
    account = month_of_1234_sms
    counts = tasks.invoice_last_period_usage()
    assert counts["invoiced"] == 1
    [item] = invoice_items(fake_stripe)
    assert item["amount"] == 234 * 3 == 702
    assert item["currency"] == "eur"
    assert item["customer"] == account.billing.stripe_customer_id
    assert item["invoice"] is None  # pending: Stripe adds it to the next invoice
    assert "234 SMS" in item["description"]
    record = UsageRecord.objects.get(account=account, period=LAST_MONTH)
    assert item["metadata"] == {"waitify_usage_record": str(record.pk)}
    assert (record.sms_used, record.sms_included, record.sms_overage) == (1234, 1000, 234)
    assert (record.sms_unit_cost_cents, record.overage_cost_cents) == (3, 702)
    assert (record.base_price_cents, record.total_cents) == (1900, 2602)
    assert record.active_businesses == 1
    assert record.usage_by_business == [{"business_id": str(account.shop.pk),
                                         "name": "Boulangerie", "sms": 1234}]
    assert record.invoicing == "sent" and record.stripe_invoice_item_id == item["id"]
    assert record.status == "pending"
    assert record.due_date == timezone.localtime(record.period_end).date() + timedelta(days=30)
    assert record.plan.name == "basic"


def test_running_the_job_twice_invoices_once(month_of_1234_sms, fake_stripe):
    tasks.invoice_last_period_usage()
    tasks.invoice_last_period_usage()
    assert len(invoice_items(fake_stripe)) == 1
    assert len(fake_stripe.posts("/v1/invoiceitems")) == 1
    assert UsageRecord.objects.filter(account=month_of_1234_sms).count() == 1


def test_a_job_killed_after_stripe_answered_does_not_invoice_twice(month_of_1234_sms,
                                                                    fake_stripe, monkeypatch):
    real_create = gateway.invoice_item_create

    def create_then_die(**kwargs):
        real_create(**kwargs)
        raise SystemExit("worker killed")  # before the record is marked sent

    monkeypatch.setattr(gateway, "invoice_item_create", create_then_die)
    with pytest.raises(SystemExit):
        tasks.invoice_last_period_usage()
    monkeypatch.setattr(gateway, "invoice_item_create", real_create)
    record = UsageRecord.objects.get(account=month_of_1234_sms)
    assert record.invoicing == "sending"

    tasks.invoice_last_period_usage()  # too soon: the claim may still be alive
    assert UsageRecord.objects.get(pk=record.pk).invoicing == "sending"
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        tasks.invoice_last_period_usage()
    record.refresh_from_db()
    [item] = invoice_items(fake_stripe)
    assert record.invoicing == "sent" and record.stripe_invoice_item_id == item["id"]
    assert len(fake_stripe.posts("/v1/invoiceitems")) == 1


def test_a_job_killed_before_calling_stripe_invoices_on_the_next_run(month_of_1234_sms,
                                                                      fake_stripe, monkeypatch):
    def die(**kwargs):
        raise SystemExit("worker killed")

    real_create = gateway.invoice_item_create
    monkeypatch.setattr(gateway, "invoice_item_create", die)
    with pytest.raises(SystemExit):
        tasks.invoice_last_period_usage()
    monkeypatch.setattr(gateway, "invoice_item_create", real_create)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        tasks.invoice_last_period_usage()
    [item] = invoice_items(fake_stripe)
    assert item["amount"] == 702
    assert UsageRecord.objects.get(account=month_of_1234_sms).invoicing == "sent"


def test_the_same_idempotency_key_is_sent_on_every_attempt(month_of_1234_sms, fake_stripe,
                                                           monkeypatch):
    monkeypatch.setattr(gateway, "invoice_item_find", lambda **kwargs: None)  # lost listing
    record = services.usage_record_close(account=month_of_1234_sms, month=LAST_MONTH)
    services.usage_record_invoice(record_id=record.pk)
    UsageRecord.objects.filter(pk=record.pk).update(invoicing="to_send")  # as if unsure
    services.usage_record_invoice(record_id=record.pk)
    assert len(fake_stripe.posts("/v1/invoiceitems")) == 2
    assert len(invoice_items(fake_stripe)) == 1  # Stripe replayed the first answer


def test_stripe_down_keeps_the_record_and_the_next_run_invoices_it(month_of_1234_sms,
                                                                   fake_stripe):
    fake_stripe.fail("post", "/v1/invoiceitems")
    counts = tasks.invoice_last_period_usage()
    assert counts["errors"] == 1
    record = UsageRecord.objects.get(account=month_of_1234_sms)
    assert record.invoicing == "to_send" and "stripe_unavailable" in record.last_error
    assert invoice_items(fake_stripe) == []
    fake_stripe.failures.clear()
    tasks.invoice_last_period_usage()
    record.refresh_from_db()
    assert record.invoicing == "sent"
    assert len(invoice_items(fake_stripe)) == 1


def test_a_month_within_the_quota_invoices_nothing(basic_subscriber, fake_stripe):
    send_sms(basic_subscriber.shop, 999)
    tasks.invoice_last_period_usage()
    record = UsageRecord.objects.get(account=basic_subscriber)
    assert record.invoicing == "nothing_due" and record.sms_overage == 0
    assert record.total_cents == 1900
    assert invoice_items(fake_stripe) == []


def test_an_account_without_subscription_is_not_charged(subscriber, fake_stripe):
    signed_up_before_last_month(subscriber)
    shop = business_services.business_create(owner=subscriber, name="Essai",
                                             business_type="other")
    send_sms(shop, 1100)
    tasks.invoice_last_period_usage()
    record = UsageRecord.objects.get(account=subscriber)
    assert record.invoicing == "not_billed" and record.sms_overage == 100
    assert invoice_items(fake_stripe) == []


def test_the_invoice_paid_marks_the_usage_record_paid(month_of_1234_sms, fake_stripe,
                                                      post_event):
    tasks.invoice_last_period_usage()
    record = UsageRecord.objects.get(account=month_of_1234_sms)
    scenario = Scenario(fake_stripe, month_of_1234_sms, plan="basic")
    scenario.subscription = fake_stripe.of_type("subscription")[0]
    invoice = fake_stripe.add(so.invoice(
        customer_id=scenario.customer_id, subscription_id=scenario.subscription["id"],
        status="paid", amount=2602, invoice_item_ids=(record.stripe_invoice_item_id,)))
    assert post_event(so.event("invoice.payment_succeeded", invoice)).status_code == 200
    record.refresh_from_db()
    assert record.status == "paid" and record.stripe_invoice_id == invoice["id"]
    assert record.paid_at is not None


def test_accounts_that_signed_up_after_the_month_get_no_record(subscriber, fake_stripe):
    tasks.invoice_last_period_usage()
    assert not UsageRecord.objects.exists()


def test_the_usage_records_never_exceed_one_per_account_and_month(month_of_1234_sms):
    from django.db import IntegrityError, transaction

    record = services.usage_record_close(account=month_of_1234_sms, month=LAST_MONTH)
    assert services.usage_record_close(account=month_of_1234_sms, month=LAST_MONTH) == record
    with pytest.raises(IntegrityError), transaction.atomic():
        UsageRecord.objects.create(
            account=month_of_1234_sms, period=LAST_MONTH, period_start=record.period_start,
            period_end=record.period_end, due_date=record.due_date)

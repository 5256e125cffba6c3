"""Delivery reports: SNS's SMS delivery status logs (CloudWatch Logs, under moto) turn
sent SMS delivered, or failed with the carrier's answer (SPEC §10)."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from django.core.cache import cache

from queues import notifications, sms_backends
from queues.models import SmsLog, SmsStatus, SmsType
from queues.tests.factories import fill, join, open_queue

GROUP = "sns/eu-west-3/123456789012/DirectPublishToPhoneNumber"


@pytest.fixture
def reports(sns, settings):
    """Writes delivery status log lines as SNS does; the cursor starts empty."""
    settings.SMS_DELIVERY_LOG_GROUP = GROUP
    cache.delete(notifications.DELIVERY_CURSOR_KEY)
    sms_backends._logs_client.cache_clear()  # a client made for this test's moto
    logs = boto3.client("logs", region_name=settings.AWS_REGION)
    created: set[str] = set()

    def write(message_id: str, status: str, response: str) -> None:
        group = GROUP if status == "SUCCESS" else f"{GROUP}/Failure"
        if group not in created:  # SNS creates each group with its first line
            logs.create_log_group(logGroupName=group)
            logs.create_log_stream(logGroupName=group, logStreamName="carrier")
            created.add(group)
        line = {"notification": {"messageId": message_id,
                                 "timestamp": "2026-11-21 10:40:34.558"},
                "delivery": {"destination": "+33612345678", "priceInUSD": 0.0645,
                             "smsType": "Transactional", "providerResponse": response},
                "status": status}
        logs.put_log_events(logGroupName=group, logStreamName="carrier", logEvents=[
            {"timestamp": int(time.time() * 1000), "message": json.dumps(line)}])

    yield write
    cache.delete(notifications.DELIVERY_CURSOR_KEY)
    sms_backends._logs_client.cache_clear()


def sent_confirmation(queue, phone: str, django_capture_on_commit_callbacks) -> SmsLog:
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(queue, phone)
    log = SmsLog.objects.get(entry=entry, type=SmsType.CONFIRMATION)
    assert log.status == SmsStatus.SENT and log.provider_message_id
    return log


def test_the_carriers_reports_make_sent_sms_delivered_or_failed(
        business, reports, django_capture_on_commit_callbacks):
    queue = open_queue(business)
    arrived = sent_confirmation(queue, "06 12 34 56 78", django_capture_on_commit_callbacks)
    lost = sent_confirmation(queue, "06 98 76 54 32", django_capture_on_commit_callbacks)
    reports(arrived.provider_message_id, "SUCCESS", "Message has been accepted by phone")
    reports(lost.provider_message_id, "FAILURE", "Unknown error attempting to reach phone")
    reports("someone-elses-message", "SUCCESS", "Message has been accepted by phone")

    assert notifications.sms_record_delivery_reports() == {"delivered": 1, "failed": 1}

    arrived.refresh_from_db()
    lost.refresh_from_db()
    assert arrived.status == SmsStatus.DELIVERED and arrived.delivered_at is not None
    assert arrived.provider_response["MessageId"] == arrived.provider_message_id
    assert arrived.provider_response["delivery"]["status"] == "SUCCESS"
    assert lost.status == SmsStatus.FAILED and lost.delivered_at is None
    assert lost.last_error == "not delivered: Unknown error attempting to reach phone"


def test_reading_the_same_reports_again_changes_nothing(
        business, reports, django_capture_on_commit_callbacks):
    log = sent_confirmation(open_queue(business), "06 12 34 56 78",
                            django_capture_on_commit_callbacks)
    reports(log.provider_message_id, "SUCCESS", "Message has been accepted by phone")
    assert notifications.sms_record_delivery_reports() == {"delivered": 1, "failed": 0}
    delivered_at = SmsLog.objects.get(pk=log.pk).delivered_at

    cache.delete(notifications.DELIVERY_CURSOR_KEY)  # a lost cursor reads it all again
    assert notifications.sms_record_delivery_reports() == {"delivered": 0, "failed": 0}
    assert SmsLog.objects.get(pk=log.pk).delivered_at == delivered_at


def test_without_delivery_logs_nothing_changes_and_nothing_fails(
        business, sns, settings, django_capture_on_commit_callbacks):
    log = sent_confirmation(open_queue(business), "06 12 34 56 78",
                            django_capture_on_commit_callbacks)
    settings.SMS_DELIVERY_LOG_GROUP = GROUP  # set up, but SNS has not written a line yet
    assert notifications.sms_record_delivery_reports() == {"delivered": 0, "failed": 0}
    settings.SMS_DELIVERY_LOG_GROUP = ""  # not set up at all
    assert notifications.sms_record_delivery_reports() == {"delivered": 0, "failed": 0}
    assert SmsLog.objects.get(pk=log.pk).status == SmsStatus.SENT


@pytest.mark.parametrize("count", [1, 6])
def test_the_reports_cost_the_same_queries_however_many_they_are(
        business, reports, count, django_capture_on_commit_callbacks, django_assert_num_queries):
    with django_capture_on_commit_callbacks(execute=True):
        entries = fill(open_queue(business), count)
    for log in SmsLog.objects.filter(entry__in=entries):
        reports(log.provider_message_id, "SUCCESS", "Message has been accepted by phone")

    # the sent rows reported, then one batched UPDATE
    with django_assert_num_queries(2):
        assert notifications.sms_record_delivery_reports() == {"delivered": count, "failed": 0}
    assert SmsLog.objects.filter(status=SmsStatus.DELIVERED).count() == count

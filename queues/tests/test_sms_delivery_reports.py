"""Delivery reports: SNS's SMS delivery status logs (CloudWatch Logs, under moto) turn
sent SMS delivered, or failed with the carrier's answer."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from django.core.cache import cache
from django.utils import timezone

from queues import services
from queues.models import SmsLog, SmsStatus, SmsType
from queues.sms import backends, delivery, outbox
from queues.sms.usage import sms_usage
from queues.tests.factories import fill, join, open_queue

GROUP = "sns/eu-west-3/123456789012/DirectPublishToPhoneNumber"


@pytest.fixture
def reports(sns, settings):
    """Writes delivery status log lines as SNS does; the cursor starts empty."""
    settings.SMS_DELIVERY_LOG_GROUP = GROUP
    cache.delete(delivery.DELIVERY_CURSOR_KEY)
    backends._logs_client.cache_clear()  # a client made for this test's moto
    logs = boto3.client("logs", region_name=settings.AWS_REGION)
    created: set[str] = set()

    def write(message_id: str, status: str, response: str, *, destination: str = "+33612345678",
              at: datetime | None = None) -> None:
        at = at or timezone.now()
        group = GROUP if status == "SUCCESS" else f"{GROUP}/Failure"
        if group not in created:  # SNS creates each group with its first line
            logs.create_log_group(logGroupName=group)
            logs.create_log_stream(logGroupName=group, logStreamName="carrier")
            created.add(group)
        line = {"notification": {"messageId": message_id,
                                 "timestamp": f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"[:-3]},
                "delivery": {"destination": destination, "priceInUSD": 0.0645,
                             "smsType": "Transactional", "providerResponse": response},
                "status": status}
        logs.put_log_events(logGroupName=group, logStreamName="carrier", logEvents=[
            {"timestamp": int(at.timestamp() * 1000), "message": json.dumps(line)}])

    yield write
    cache.delete(delivery.DELIVERY_CURSOR_KEY)
    backends._logs_client.cache_clear()


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

    assert delivery.sms_record_delivery_reports() == {"delivered": 1, "failed": 1}

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
    assert delivery.sms_record_delivery_reports() == {"delivered": 1, "failed": 0}
    delivered_at = SmsLog.objects.get(pk=log.pk).delivered_at

    cache.delete(delivery.DELIVERY_CURSOR_KEY)  # a lost cursor reads it all again
    assert delivery.sms_record_delivery_reports() == {"delivered": 0, "failed": 0}
    assert SmsLog.objects.get(pk=log.pk).delivered_at == delivered_at


def test_without_delivery_logs_nothing_changes_and_nothing_fails(
        business, sns, settings, django_capture_on_commit_callbacks):
    log = sent_confirmation(open_queue(business), "06 12 34 56 78",
                            django_capture_on_commit_callbacks)
    settings.SMS_DELIVERY_LOG_GROUP = GROUP  # set up, but SNS has not written a line yet
    assert delivery.sms_record_delivery_reports() == {"delivered": 0, "failed": 0}
    settings.SMS_DELIVERY_LOG_GROUP = ""  # not set up at all
    assert delivery.sms_record_delivery_reports() == {"delivered": 0, "failed": 0}
    assert SmsLog.objects.get(pk=log.pk).status == SmsStatus.SENT


@pytest.mark.parametrize("count", [1, 6])
def test_the_reports_cost_the_same_queries_however_many_they_are(
        business, reports, count, django_capture_on_commit_callbacks, django_assert_num_queries,
        settings):
    queue = open_queue(business)
    with django_capture_on_commit_callbacks(execute=True):
        entries = fill(queue, count)
    for log in SmsLog.objects.filter(entry__in=entries):
        reports(log.provider_message_id, "SUCCESS", "Message has been accepted by phone",
                destination=log.phone)
    lost = lost_mid_send(join(queue, "06 12 34 56 78"), SmsType.CONFIRMATION, settings)
    reports(sns_message_id(), "SUCCESS", "Message has been accepted by phone",
            at=lost.handed_at + timedelta(seconds=1))

    # the rows reported (sent, or unknown for the phone), then one batched UPDATE
    with django_assert_num_queries(2):
        assert delivery.sms_record_delivery_reports() == {"delivered": count + 1,
                                                               "failed": 0}
    assert SmsLog.objects.filter(status=SmsStatus.DELIVERED).count() == count + 1


# --- SMS whose worker died after handing them to SNS ("unknown", no message id) -----------------


def lost_mid_send(entry, sms_type: str, settings) -> SmsLog:
    """The entry's SMS of this type, whose worker died after the hand-off, settled
    "unknown" by the sweep."""
    log = SmsLog.objects.get(entry=entry, type=sms_type)
    claimed_at = timezone.now()
    assert outbox._claim(log.pk, claimed_at)
    assert outbox._hand_off(log, claimed_at)
    lease = timedelta(seconds=settings.SMS_CLAIM_LEASE_SECONDS + 1)
    assert outbox.sms_sweep(now=claimed_at + lease)["lost"] == 1
    log.refresh_from_db()
    assert log.status == SmsStatus.UNKNOWN and log.handed_at and not log.provider_message_id
    return log


def lost_confirmation(business, phone: str, settings) -> SmsLog:
    return lost_mid_send(join(open_queue(business), phone), SmsType.CONFIRMATION, settings)


def sns_message_id() -> str:
    return str(uuid.uuid4())  # SNS's ids are UUIDs we never saw: the worker died first


def test_a_report_for_its_phone_settles_an_unknown_sms_as_delivered(
        business, reports, settings):
    log = lost_confirmation(business, "06 12 34 56 78", settings)
    message_id = sns_message_id()
    reports(message_id, "SUCCESS", "Message has been accepted by phone",
            destination="+33612345678", at=log.handed_at + timedelta(seconds=2))

    assert delivery.sms_record_delivery_reports() == {"delivered": 1, "failed": 0}

    log.refresh_from_db()
    assert log.status == SmsStatus.DELIVERED
    assert log.delivered_at is not None and log.sent_at is not None
    assert log.provider_message_id == message_id
    assert log.provider_response["delivery"]["status"] == "SUCCESS"
    assert log.cost_cents > 0
    assert sms_usage(business.owner).used == 1


def test_a_failure_report_for_its_phone_settles_an_unknown_sms_as_failed(
        business, reports, settings):
    log = lost_confirmation(business, "06 12 34 56 78", settings)
    message_id = sns_message_id()
    reports(message_id, "FAILURE", "Phone carrier has blocked this message",
            destination="+33612345678", at=log.handed_at + timedelta(seconds=2))

    assert delivery.sms_record_delivery_reports() == {"delivered": 0, "failed": 1}

    log.refresh_from_db()
    assert log.status == SmsStatus.FAILED and log.delivered_at is None
    assert log.provider_message_id == message_id
    assert log.last_error == "not delivered: Phone carrier has blocked this message"


def test_a_report_for_another_phone_or_another_time_leaves_an_unknown_sms_unknown(
        business, reports, settings):
    log = lost_confirmation(business, "06 12 34 56 78", settings)
    reports(sns_message_id(), "SUCCESS", "Message has been accepted by phone",
            destination="+33698765432", at=log.handed_at + timedelta(seconds=2))
    reports(sns_message_id(), "SUCCESS", "Message has been accepted by phone",
            destination="+33612345678", at=log.handed_at - timedelta(minutes=1))
    reports(sns_message_id(), "SUCCESS", "Message has been accepted by phone",
            destination="+33612345678", at=log.handed_at + timedelta(minutes=30))

    assert delivery.sms_record_delivery_reports() == {"delivered": 0, "failed": 0}

    log.refresh_from_db()
    assert log.status == SmsStatus.UNKNOWN and log.provider_message_id == ""


def test_two_unknown_sms_to_one_phone_are_each_settled_by_one_report(
        business, reports, settings):
    first = lost_confirmation(business, "06 12 34 56 78", settings)
    services.queue_call_next(business=business)
    second = lost_mid_send(first.entry, SmsType.YOUR_TURN, settings)
    first_id, second_id = sns_message_id(), sns_message_id()
    reports(first_id, "SUCCESS", "Message has been accepted by phone",
            at=first.handed_at + timedelta(milliseconds=500))
    reports(second_id, "FAILURE", "Unknown error attempting to reach phone",
            at=second.handed_at + timedelta(milliseconds=500))

    assert delivery.sms_record_delivery_reports() == {"delivered": 1, "failed": 1}

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.provider_message_id) == (SmsStatus.DELIVERED, first_id)
    assert (second.status, second.provider_message_id) == (SmsStatus.FAILED, second_id)


def test_reading_again_settles_no_other_unknown_sms_with_a_report_already_used(
        business, reports, settings):
    settled = lost_confirmation(business, "06 12 34 56 78", settings)
    services.queue_call_next(business=business)
    still_unknown = lost_mid_send(settled.entry, SmsType.YOUR_TURN, settings)
    message_id = sns_message_id()
    # published after both hand-offs: it could be either, and goes to the oldest
    reports(message_id, "SUCCESS", "Message has been accepted by phone",
            at=still_unknown.handed_at + timedelta(seconds=1))
    assert delivery.sms_record_delivery_reports() == {"delivered": 1, "failed": 0}

    cache.delete(delivery.DELIVERY_CURSOR_KEY)  # a lost cursor reads it all again
    assert delivery.sms_record_delivery_reports() == {"delivered": 0, "failed": 0}

    settled.refresh_from_db()
    still_unknown.refresh_from_db()
    assert (settled.status, settled.provider_message_id) == (SmsStatus.DELIVERED, message_id)
    assert (still_unknown.status, still_unknown.provider_message_id) == (SmsStatus.UNKNOWN, "")

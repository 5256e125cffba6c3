"""SMS through AWS SNS, mocked by moto (only the network edge is fake).

Each message type is published once with the right text; SMS off publishes
nothing; a provider error is retried then failed without touching the queue;
a task delivered twice and two merchants clicking "call next" at once each
produce exactly one publish per message.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
import time_machine
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber
from django.db import connection

from businesses.tests.factories import make_merchant
from queues import services, tasks
from queues.models import EntryStatus, SmsLog, SmsOptOut, SmsStatus, SmsType
from queues.sms import backends, outbox
from queues.sms.backends import PERMANENT, TEMPORARY, UNKNOWN, SmsError, SnsBackend
from queues.tests.factories import fill, join, open_queue


def client():
    return SnsBackend().client


def test_each_message_type_is_published_once_with_its_text(
        queue, sns, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, second, third, fourth = fill(queue, 4)
    with django_capture_on_commit_callbacks(execute=True):
        services.queue_call_next(business=queue)  # first: your turn; fourth: 2 ahead
    with django_capture_on_commit_callbacks(execute=True):
        services.entry_miss(entry=first)
    with django_capture_on_commit_callbacks(execute=True):
        services.entry_cancel(entry=second)
    with django_capture_on_commit_callbacks(execute=True):
        services.entry_miss(entry=first)  # a double click: nothing more

    texts = {entry.phone: sns.texts_to(entry.phone) for entry in (first, second, third, fourth)}
    assert len(sns.messages) == 8  # 4 confirmations, your turn, reminder, missed, cancelled
    first_texts = texts[first.phone]
    assert len(first_texts) == 3
    assert "A-001" in first_texts[0] and "position 1" in first_texts[0]
    assert "c'est votre tour" in first_texts[1]
    assert "manqué" in first_texts[2] and first.secret in first_texts[2]
    assert "annulé" in texts[second.phone][1]
    assert len(texts[third.phone]) == 1
    assert "plus que 2 personnes avant vous" in texts[fourth.phone][1]
    # What was published is exactly what the log says, and the log says sent.
    for log in SmsLog.objects.all():
        assert log.status == SmsStatus.SENT and log.provider_message_id
        assert (log.phone, log.text) in sns.messages


def test_an_english_customer_gets_english_texts(queue, sns, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        entry = services.entry_join(business=queue, phone="0612345678", language="en")
    [text] = sns.texts_to(entry.phone)
    assert "ticket A-001, position 1, wait ~" in text


def test_sms_off_publishes_nothing(queue, sns, django_capture_on_commit_callbacks):
    queue.sms_enabled = False
    queue.save(update_fields=["sms_enabled"])
    with django_capture_on_commit_callbacks(execute=True):
        first, _second, _third = fill(queue, 3)
        services.queue_call_next(business=queue)
        services.entry_miss(entry=first)
    assert sns.messages == []


def test_publish_is_transactional_with_the_sender_id(queue, settings, sns):
    settings.SMS_SENDER_ID = "Boulange"
    entry = join(queue, "06 12 34 56 78")
    log = SmsLog.objects.get(entry=entry)
    backend = SnsBackend()
    with Stubber(backend.client) as stub:
        stub.add_response("publish", {"MessageId": "m-1"}, expected_params={
            "PhoneNumber": "+33612345678", "Message": log.text,
            "MessageAttributes": {
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "Boulange"},
            },
        })
        outbox.sms_send_batch(log_ids=[log.pk], backend=backend)
        stub.assert_no_pending_responses()
    log.refresh_from_db()
    assert log.provider_message_id == "m-1" and log.provider_response["MessageId"] == "m-1"


def test_a_provider_error_is_retried_then_failed_and_the_queue_goes_on(
        queue, sns, settings, django_capture_on_commit_callbacks):
    settings.SMS_MAX_ATTEMPTS = 3
    with Stubber(client()) as stub:
        for _attempt in range(3):
            stub.add_client_error("publish", service_error_code="Throttling",
                                  service_message="Rate exceeded", http_status_code=400)
        with django_capture_on_commit_callbacks(execute=True):
            entry = join(queue, "06 12 34 56 78")
        log = SmsLog.objects.get(entry=entry)
        assert (log.status, log.attempts) == (SmsStatus.PENDING, 1)
        for _retry in range(2):  # the sweep finds it due and queues it again
            with time_machine.travel(log.next_attempt_at + timedelta(seconds=15)):
                assert outbox.sms_sweep()["queued"] == 1
            log.refresh_from_db()
        stub.assert_no_pending_responses()
    assert (log.status, log.attempts) == (SmsStatus.FAILED, 3)
    assert log.last_error.startswith("Throttling")
    assert sns.messages == []
    # The queue never noticed.
    entry.refresh_from_db()
    assert entry.status == EntryStatus.WAITING
    called = services.queue_call_next(business=queue)
    assert called.pk == entry.pk and called.status == EntryStatus.CALLED


@pytest.mark.parametrize(("code", "status", "kind"), [
    ("Throttling", 400, TEMPORARY),
    ("InternalError", 500, TEMPORARY),
    ("ServiceUnavailable", 503, TEMPORARY),
    ("InvalidParameter", 400, PERMANENT),
    ("AuthorizationError", 403, PERMANENT),
])
def test_provider_errors_are_sorted_by_what_retrying_can_do(sns, code, status, kind):
    backend = SnsBackend()
    with Stubber(backend.client) as stub:
        stub.add_client_error("publish", service_error_code=code, http_status_code=status)
        with pytest.raises(SmsError) as raised:
            backend.send(phone="+33612345678", text="hello")
    assert raised.value.kind == kind


def test_a_read_timeout_after_sending_is_unknown(sns):
    backend = SnsBackend()
    timeout = ReadTimeoutError(endpoint_url="https://sns.eu-west-3.amazonaws.com/")
    with mock.patch.object(backend.client, "publish", side_effect=timeout), \
            pytest.raises(SmsError) as raised:
        backend.send(phone="+33612345678", text="hello")
    assert raised.value.kind == UNKNOWN


def test_an_opted_out_number_is_recorded_and_never_texted_again(
        queue, sns, django_capture_on_commit_callbacks):
    with Stubber(client()) as stub:
        stub.add_client_error("publish", service_error_code="OptedOut",
                              service_message="Phone number is opted out", http_status_code=400)
        with django_capture_on_commit_callbacks(execute=True):
            entry = join(queue, "06 12 34 56 78")
    assert SmsLog.objects.get(entry=entry).status == SmsStatus.FAILED
    assert SmsOptOut.objects.filter(phone="+33612345678").exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.queue_call_next(business=queue)
    assert SmsLog.objects.get(entry=entry, type=SmsType.YOUR_TURN).status == SmsStatus.SUPPRESSED
    assert sns.messages == []


def test_the_opt_out_list_is_synced_from_sns(db, sns):
    assert tasks.sms_sync_opt_outs() == 8  # moto's built-in opted-out numbers
    assert tasks.sms_sync_opt_outs() == 0
    assert SmsOptOut.objects.filter(phone="+447420500600",
                                    source=SmsOptOut.Source.PROVIDER).exists()


def test_the_same_send_task_run_twice_publishes_once(queue, sns):
    entry = join(queue, "06 12 34 56 78")
    log_ids = list(SmsLog.objects.filter(entry=entry).values_list("pk", flat=True))
    tasks.send_sms([str(pk) for pk in log_ids])
    tasks.send_sms([str(pk) for pk in log_ids])
    assert len(sns.messages) == 1
    assert SmsLog.objects.get(entry=entry).attempts == 1


class _Unavailable(BaseHTTPRequestHandler):
    hits = 0

    def do_POST(self) -> None:  # noqa: N802
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = (b'<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>'
                b'<Message>down</Message></Error><RequestId>r</RequestId></ErrorResponse>')
        self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_botocore_makes_a_single_attempt_our_retry_decides(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.AWS_SNS_ENDPOINT_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY = "k", "s"
    backends._sns_client.cache_clear()
    try:
        with pytest.raises(SmsError) as raised:
            SnsBackend().send(phone="+33612345678", text="hello")
    finally:
        server.shutdown()
        backends._sns_client.cache_clear()
    assert raised.value.kind == TEMPORARY
    assert _Unavailable.hits == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_call_next_publish_one_sms_each(sns):
    merchant = make_merchant("rush@example.fr", plan="pro")
    from businesses import services as business_services

    queue = open_queue(business_services.business_create(owner=merchant, name="Rush",
                                                         business_type="bakery"))
    fill(queue, 6)
    barrier = threading.Barrier(2)
    called, errors = [], []

    def click() -> None:
        try:
            barrier.wait(timeout=10)
            called.append(services.queue_call_next(business=queue).pk)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == [] and len(set(called)) == 2
    published = Counter(sns.messages)
    assert all(count == 1 for count in published.values())
    your_turn = SmsLog.objects.filter(type=SmsType.YOUR_TURN)
    assert sorted(your_turn.values_list("entry_id", flat=True)) == sorted(called)
    for log in your_turn:
        assert log.status == SmsStatus.SENT and published[(log.phone, log.text)] == 1
    # 6 confirmations (sent by the joins' own commits), 2 "your turn", 1 reminder
    # (the fourth in line had 2 ahead after one of the calls, then 1).
    assert len(sns.messages) == SmsLog.objects.filter(status=SmsStatus.SENT).count()
    assert SmsLog.objects.filter(status=SmsStatus.PENDING).count() == 0

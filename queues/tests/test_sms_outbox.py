"""The SMS outbox: which queue change writes which row, and how rows get sent.

Rows are written in the queue change's transaction; sending happens after
commit (`django_capture_on_commit_callbacks(execute=True)` stands for the
commit here, Celery runs eagerly in tests).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.db import IntegrityError, transaction
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from businesses.models import PlatformSettings
from queues import services, tasks
from queues.models import EntryStatus, QueueEntry, SmsLog, SmsOptOut, SmsStatus, SmsType
from queues.sms import outbox
from queues.sms.backends import PERMANENT, TEMPORARY, UNKNOWN, LocmemBackend, SmsError
from queues.tests.factories import fill, join


def logs(entry: QueueEntry) -> dict[str, SmsLog]:
    return {log.type: log for log in SmsLog.objects.filter(entry=entry)}


class FailingBackend(LocmemBackend):
    """Raises the given SmsError for every send, counting the attempts."""

    def __init__(self, kind: str, message: str = "boom", **extra) -> None:
        self.error = SmsError(kind, message, **extra)
        self.calls = 0

    def send(self, *, phone: str, text: str):
        self.calls += 1
        raise self.error


# --- Which change writes which row ---------------------------------------------------------


def test_a_join_writes_a_pending_confirmation_in_its_own_transaction(queue):
    entry = join(queue, "06 12 34 56 78")
    [log] = SmsLog.objects.filter(entry=entry)
    assert (log.type, log.status, log.phone) == (SmsType.CONFIRMATION, SmsStatus.PENDING,
                                                 "+33612345678")
    assert log.business_id == queue.pk and log.segments == 1 and log.attempts == 0
    assert "A-001" in log.text and entry.secret in log.text


def test_a_rolled_back_join_leaves_no_sms_row_and_queues_nothing(queue, sms_outbox,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, \
            pytest.raises(RuntimeError), transaction.atomic():
        join(queue, "06 12 34 56 78")
        raise RuntimeError("something after the join failed")
    assert not SmsLog.objects.exists() and not QueueEntry.objects.exists()
    assert callbacks == [] and sms_outbox == []


def test_each_queue_event_writes_its_own_sms_type(queue):
    first, second, third, fourth = fill(queue, 4)
    assert not SmsLog.objects.filter(type=SmsType.REMINDER).exists()  # not at join
    services.queue_call_next(business=queue)  # first called; fourth now has 2 ahead
    services.entry_miss(entry=first)
    services.entry_cancel(entry=second)
    assert set(logs(first)) == {SmsType.CONFIRMATION, SmsType.YOUR_TURN, SmsType.MISSED}
    assert set(logs(second)) == {SmsType.CONFIRMATION, SmsType.CANCELLED}
    assert set(logs(third)) == {SmsType.CONFIRMATION}
    assert set(logs(fourth)) == {SmsType.CONFIRMATION, SmsType.REMINDER}


def test_no_row_when_the_business_turned_sms_off(queue, client):
    queue.sms_enabled = False
    queue.save(update_fields=["sms_enabled"])
    entry = join(queue)
    services.queue_call_next(business=queue)
    assert not SmsLog.objects.exists()
    assert client.get(reverse("queues:status", args=[entry.secret])).status_code == 200


def test_no_row_for_a_walk_in_without_phone(queue):
    services.entry_join(business=queue, phone="", walk_in=True, name="Paul")
    services.queue_call_next(business=queue)
    assert not SmsLog.objects.exists()


def test_a_second_event_of_the_same_type_never_writes_a_second_row(
        queue, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(queue)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox.sms_log_create(business=queue, entry=entry,
                                     sms_type=SmsType.CONFIRMATION)
    assert SmsLog.objects.filter(entry=entry).count() == 1
    assert len(sms_outbox) == 1


def test_the_database_refuses_two_rows_for_one_entry_and_type(queue):
    entry = join(queue)
    with pytest.raises(IntegrityError), transaction.atomic():
        SmsLog.objects.create(business=queue, entry=entry, phone=entry.phone,
                              type=SmsType.CONFIRMATION, text="again")


def test_a_deleted_entry_keeps_its_sms_log_for_billing(queue):
    entry = join(queue)
    entry.delete()
    log = SmsLog.objects.get()
    assert log.entry_id is None and log.business_id == queue.pk


# --- Suppressed rows ----------------------------------------------------------------------------


def test_an_opted_out_number_gets_a_suppressed_row_and_no_sms(queue, sms_outbox,
                                                              django_capture_on_commit_callbacks):
    SmsOptOut.objects.create(phone="+33612345678")
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(queue, "06 12 34 56 78")
    log = logs(entry)[SmsType.CONFIRMATION]
    assert (log.status, log.last_error) == (SmsStatus.SUPPRESSED, "opted_out")
    assert sms_outbox == []


def test_past_the_hourly_cap_joins_succeed_without_sms(queue, settings, sms_outbox,
                                                      django_capture_on_commit_callbacks):
    settings.SMS_HOURLY_CAP_PER_BUSINESS = 2
    with django_capture_on_commit_callbacks(execute=True):
        entries = fill(queue, 3)
    assert [e.status for e in entries] == [EntryStatus.WAITING] * 3
    statuses = [logs(e)[SmsType.CONFIRMATION].status for e in entries]
    assert statuses == [SmsStatus.SENT, SmsStatus.SENT, SmsStatus.SUPPRESSED]
    assert logs(entries[2])[SmsType.CONFIRMATION].last_error == "hourly_cap"
    assert len(sms_outbox) == 2


def test_the_hourly_cap_counts_only_the_last_hour(queue, settings, sms_outbox,
                                                  django_capture_on_commit_callbacks):
    settings.SMS_HOURLY_CAP_PER_BUSINESS = 1
    with django_capture_on_commit_callbacks(execute=True):
        join(queue)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)), \
            django_capture_on_commit_callbacks(execute=True):
        entry = join(queue)
    assert logs(entry)[SmsType.CONFIRMATION].status == SmsStatus.SENT
    assert len(sms_outbox) == 2


def test_the_cap_holds_whichever_order_the_workers_send_in(queue, settings, sms_outbox):
    settings.SMS_HOURLY_CAP_PER_BUSINESS = 2
    entries = fill(queue, 4)
    ids = [logs(entry)[SmsType.CONFIRMATION].pk for entry in entries]
    tasks.send_sms([str(pk) for pk in reversed(ids)])  # the latest rows first
    assert [logs(e)[SmsType.CONFIRMATION].status for e in entries] == [
        SmsStatus.SENT, SmsStatus.SENT, SmsStatus.SUPPRESSED, SmsStatus.SUPPRESSED]
    assert len(sms_outbox) == 2


def test_an_opt_out_recorded_before_the_send_is_honoured(queue, sms_outbox):
    entry = join(queue, "06 12 34 56 78")
    SmsOptOut.objects.create(phone="+33612345678")  # synced from SNS meanwhile
    tasks.send_sms([str(logs(entry)[SmsType.CONFIRMATION].pk)])
    assert logs(entry)[SmsType.CONFIRMATION].status == SmsStatus.SUPPRESSED
    assert sms_outbox == []


def test_a_destination_no_longer_allowed_is_suppressed(queue, settings):
    entry = join(queue, "07 56 78 90 12")
    settings.SMS_ALLOWED_PREFIXES = ["+336"]
    services.queue_call_next(business=queue)
    log = logs(entry)[SmsType.YOUR_TURN]
    assert (log.status, log.last_error) == (SmsStatus.SUPPRESSED, "destination_not_allowed")


# --- After commit: each SMS handed to the worker, sent once ---------------------------------------


def test_after_commit_the_sms_is_sent_and_counted_on_the_entry(queue, sms_outbox,
                                                               django_capture_on_commit_callbacks):
    PlatformSettings.objects.update(sms_unit_cost_cents=4)
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(queue, "06 12 34 56 78")
    assert [(m.phone, m.text) for m in sms_outbox] == [("+33612345678",
                                                        logs(entry)["confirmation"].text)]
    log = logs(entry)[SmsType.CONFIRMATION]
    assert log.status == SmsStatus.SENT and log.attempts == 1 and log.sent_at
    assert log.provider_message_id.startswith("locmem-")
    assert log.cost_cents == 4 * log.segments
    entry.refresh_from_db()
    assert entry.sms_count == 1 and entry.last_sms_at == log.sent_at


class HandOffs:
    """`send_sms.delay` stood in for: the row ids handed to the worker, and whether each
    hand-off happened inside a transaction (it must not: the worker could not see the row)."""

    def __init__(self) -> None:
        self.log_ids: list[str] = []
        self.inside_a_transaction: list[bool] = []

    def __call__(self, log_ids: list[str]) -> None:
        self.log_ids.extend(log_ids)
        self.inside_a_transaction.append(transaction.get_connection().in_atomic_block)

    def types(self) -> list[str]:
        return sorted(SmsLog.objects.filter(pk__in=self.log_ids).values_list("type", flat=True))


@pytest.fixture
def hand_offs() -> HandOffs:
    recorded = HandOffs()
    with mock.patch.object(tasks.send_sms, "delay", side_effect=recorded):
        yield recorded


def test_a_call_next_hands_each_of_its_sms_to_the_worker_once_it_commits(
        queue, hand_offs, django_capture_on_commit_callbacks):
    fill(queue, 4)
    with django_capture_on_commit_callbacks(execute=True):
        services.queue_call_next(business=queue)  # "your turn" + a reminder for the fourth
        assert hand_offs.log_ids == []  # not before the commit
    assert hand_offs.types() == [SmsType.REMINDER, SmsType.YOUR_TURN]
    assert len(hand_offs.log_ids) == 2


def test_sms_written_in_savepoints_leave_when_the_outer_transaction_commits(
        queue, hand_offs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        fill(queue, 3)  # three joins, each in its own savepoint
        assert hand_offs.log_ids == []
    assert hand_offs.types() == [SmsType.CONFIRMATION] * 3


def test_an_sms_of_a_rolled_back_savepoint_is_never_sent(queue, sms_outbox,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, second = fill(queue, 2)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.entry_cancel(entry=second)
        with pytest.raises(RuntimeError), transaction.atomic():
            services.entry_cancel(entry=first)
            raise RuntimeError("undo that one")
    assert [m.phone for m in sms_outbox if "annulé" in m.text] == [second.phone]
    assert not SmsLog.objects.filter(entry=first, type=SmsType.CANCELLED).exists()


def test_the_same_task_delivered_twice_sends_once(queue, sms_outbox):
    entry = join(queue)
    log_ids = [str(logs(entry)[SmsType.CONFIRMATION].pk)]
    assert tasks.send_sms(log_ids) == 1
    assert tasks.send_sms(log_ids) == 0
    assert len(sms_outbox) == 1
    assert SmsLog.objects.get().attempts == 1


def test_a_broker_outage_at_commit_loses_nothing_and_blocks_nothing(
        queue, sms_outbox, django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.send_sms, "delay", side_effect=OSError("redis is down")), \
            django_capture_on_commit_callbacks(execute=True):
        entry = join(queue)
    assert entry.status == EntryStatus.WAITING
    assert SmsLog.objects.get().status == SmsStatus.PENDING
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        assert outbox.sms_sweep() == {"lost": 0, "retried": 0, "queued": 1}
    assert SmsLog.objects.get().status == SmsStatus.SENT and len(sms_outbox) == 1


# --- Failures ----------------------------------------------------------------------------------


def test_a_temporary_error_is_retried_with_backoff_then_fails(queue, settings):
    settings.SMS_MAX_ATTEMPTS = 3
    entry = join(queue)
    log = logs(entry)[SmsType.CONFIRMATION]
    backend = FailingBackend(TEMPORARY, "Throttling: Rate exceeded")
    outbox.sms_send_batch(log_ids=[log.pk], backend=backend)
    log.refresh_from_db()
    assert (log.status, log.attempts, log.claimed_at) == (SmsStatus.PENDING, 1, None)
    delay = log.next_attempt_at - log.updated_at
    assert timedelta(seconds=4) < delay < timedelta(seconds=16)  # 10 s ± 50 %
    # Not due yet: nothing happens.
    outbox.sms_send_batch(log_ids=[log.pk], backend=backend)
    assert backend.calls == 1
    for _attempt in range(2):
        with time_machine.travel(log.next_attempt_at + timedelta(seconds=1)):
            outbox.sms_send_batch(log_ids=[log.pk], backend=backend)
        log.refresh_from_db()
    assert backend.calls == 3
    assert (log.status, log.attempts, log.last_error) == (SmsStatus.FAILED, 3,
                                                           "Throttling: Rate exceeded")
    entry.refresh_from_db()
    assert entry.status == EntryStatus.WAITING and entry.sms_count == 0


def test_the_backoff_grows_exponentially_with_jitter(settings):
    settings.SMS_RETRY_BASE_SECONDS = 10
    delays = [outbox._backoff(attempt).total_seconds() for attempt in (1, 2, 3)]
    assert 5 <= delays[0] <= 15 and 15 <= delays[1] <= 45 and 45 <= delays[2] <= 135
    assert len({outbox._backoff(1) for _ in range(20)}) > 1


def test_a_permanent_error_fails_at_once(queue):
    entry = join(queue)
    backend = FailingBackend(PERMANENT, "InvalidParameter: PhoneNumber")
    outbox.sms_send_batch(log_ids=[logs(entry)["confirmation"].pk], backend=backend)
    log = logs(entry)[SmsType.CONFIRMATION]
    assert (log.status, log.attempts) == (SmsStatus.FAILED, 1)


def test_an_opted_out_error_records_the_number(queue):
    entry = join(queue, "06 12 34 56 78")
    backend = FailingBackend(PERMANENT, "OptedOut", opted_out=True)
    outbox.sms_send_batch(log_ids=[logs(entry)["confirmation"].pk], backend=backend)
    assert SmsOptOut.objects.filter(phone="+33612345678").exists()


def test_an_unknown_outcome_is_never_retried(queue):
    entry = join(queue)
    log = logs(entry)[SmsType.CONFIRMATION]
    backend = FailingBackend(UNKNOWN, "Read timeout")
    outbox.sms_send_batch(log_ids=[log.pk], backend=backend)
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert outbox.sms_sweep() == {"lost": 0, "retried": 0, "queued": 0}
        outbox.sms_send_batch(log_ids=[log.pk], backend=backend)
    log.refresh_from_db()
    assert (log.status, log.attempts, backend.calls) == (SmsStatus.UNKNOWN, 1, 1)


def test_a_crashing_backend_counts_as_unknown(queue):
    entry = join(queue)
    backend = LocmemBackend()
    with mock.patch.object(backend, "send", side_effect=KeyError("bug")):
        outbox.sms_send_batch(log_ids=[logs(entry)["confirmation"].pk], backend=backend)
    assert logs(entry)[SmsType.CONFIRMATION].status == SmsStatus.UNKNOWN


# --- The sweep -----------------------------------------------------------------------------------


def test_the_sweep_settles_a_send_whose_worker_died_after_the_hand_off_as_unknown(
        queue, settings, sms_outbox):
    settings.SMS_CLAIM_LEASE_SECONDS = 60
    entry = join(queue)
    log = logs(entry)[SmsType.CONFIRMATION]
    claimed_at = timezone.now()
    assert outbox._claim(log.pk, claimed_at)
    assert outbox._hand_off(log, claimed_at)  # the worker then died
    # still within its lease
    assert outbox.sms_sweep() == {"lost": 0, "retried": 0, "queued": 0}
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert outbox.sms_sweep() == {"lost": 1, "retried": 0, "queued": 0}
    log.refresh_from_db()
    assert log.status == SmsStatus.UNKNOWN and sms_outbox == []


def test_a_claim_that_died_before_the_hand_off_is_sent_again_once(
        queue, settings, sms_outbox):
    settings.SMS_CLAIM_LEASE_SECONDS = 60
    entry = join(queue, "06 12 34 56 78")
    log = logs(entry)[SmsType.CONFIRMATION]
    assert outbox._claim(log.pk, timezone.now())  # the worker then died
    assert outbox.sms_sweep() == {"lost": 0, "retried": 0, "queued": 0}
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert outbox.sms_sweep() == {"lost": 0, "retried": 1, "queued": 1}
        assert outbox.sms_sweep() == {"lost": 0, "retried": 0, "queued": 0}
    log.refresh_from_db()
    assert (log.status, log.attempts) == (SmsStatus.SENT, 2)
    assert log.handed_at is not None
    assert [message.phone for message in sms_outbox] == ["+33612345678"]


def test_the_hand_off_is_committed_before_the_provider_is_called(queue):
    entry = join(queue)
    log = logs(entry)[SmsType.CONFIRMATION]
    backend = LocmemBackend()
    seen_by_the_provider = []

    def send(**kwargs):
        seen_by_the_provider.append(SmsLog.objects.get(pk=log.pk).handed_at)
        return LocmemBackend.send(backend, **kwargs)

    with mock.patch.object(backend, "send", side_effect=send):
        outbox.sms_send_batch(log_ids=[log.pk], backend=backend)
    assert seen_by_the_provider[0] is not None


def test_a_claim_released_by_the_sweep_is_not_handed_to_the_provider(queue):
    entry = join(queue)
    log = logs(entry)[SmsType.CONFIRMATION]
    claimed_at = timezone.now()
    assert outbox._claim(log.pk, claimed_at)
    SmsLog.objects.filter(pk=log.pk).update(claimed_at=None)  # what the sweep does

    assert outbox._hand_off(log, claimed_at) is False


def test_a_slow_send_that_went_out_after_all_is_recorded_sent(queue, settings):
    entry = join(queue)
    log = logs(entry)[SmsType.CONFIRMATION]
    backend = LocmemBackend()

    def slow_send(**kwargs):
        with time_machine.travel(timezone.now() + timedelta(seconds=600)):
            outbox.sms_sweep()  # the lease ran out meanwhile
        return LocmemBackend.send(backend, **kwargs)

    with mock.patch.object(backend, "send", side_effect=slow_send):
        outbox.sms_send_batch(log_ids=[log.pk], backend=backend)
    assert logs(entry)[SmsType.CONFIRMATION].status == SmsStatus.SENT


def test_the_sweep_leaves_fresh_rows_to_their_on_commit_task(queue):
    join(queue)
    with mock.patch.object(tasks.send_sms, "delay") as delay:
        assert outbox.sms_sweep() == {"lost": 0, "retried": 0, "queued": 0}
    delay.assert_not_called()


def test_a_message_too_old_to_be_useful_is_failed_not_sent(queue, sms_outbox):
    entry = join(queue)
    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        outbox.sms_sweep()
    log = logs(entry)[SmsType.CONFIRMATION]
    assert log.status == SmsStatus.FAILED and sms_outbox == []


def test_every_scheduled_sms_job_is_listed_in_the_beat_schedule(settings):
    scheduled = {job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"queues.sms_sweep", "queues.sms_sync_opt_outs"} <= scheduled
    assert settings.CELERY_BEAT_SCHEDULE["sms-sweep"]["schedule"] <= 60


def test_the_console_backend_prints_the_text_with_a_masked_number():
    import io

    from queues.sms.backends import ConsoleBackend, get_backend

    stream = io.StringIO()
    result = ConsoleBackend(stream=stream).send(phone="+33612345678", text="Votre tour !")
    assert "06 •• •• •• 78" in stream.getvalue() and "Votre tour !" in stream.getvalue()
    assert "+33612345678" not in stream.getvalue() and result.message_id
    assert isinstance(get_backend("console"), ConsoleBackend)


# --- Web requests: the hand-off follows the commit, whatever the server does ------------------


def join_api(queue) -> str:
    return reverse("api-public-join", args=[queue.qr_token])


@pytest.mark.django_db(transaction=True)
def test_a_web_join_hands_its_sms_to_the_worker_once_committed(client, queue, hand_offs):
    response = client.post(join_api(queue), {"phone": "06 12 34 56 78"},
                           content_type="application/json")
    assert response.status_code == 201
    assert hand_offs.types() == [SmsType.CONFIRMATION]
    assert hand_offs.inside_a_transaction == [False]
    assert SmsLog.objects.get().status == SmsStatus.PENDING  # the worker's to send


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_hands_nothing_over_now_or_with_the_next_commit(queue, hand_offs):
    with pytest.raises(RuntimeError), transaction.atomic():
        join(queue, "06 12 34 56 78")
        raise RuntimeError("something after the join failed")
    assert hand_offs.log_ids == []
    entry = join(queue, "06 12 34 56 79")
    assert hand_offs.log_ids == [str(SmsLog.objects.get(entry=entry).pk)]
    assert hand_offs.inside_a_transaction == [False]


@pytest.mark.django_db(transaction=True)
def test_concurrent_asgi_joins_each_hand_over_their_own_sms(queue, hand_offs, settings):
    """Under ASGI the sync views of concurrent requests share one thread, and one
    request starts while another is under way: no SMS may be lost between them."""
    settings.WAITIFY_RATE_LIMITS_ENABLED = False
    phones = [f"06 12 34 56 {n:02d}" for n in range(10, 15)]

    async def joins() -> list[int]:
        client = AsyncClient()
        answers = await asyncio.gather(*[
            client.post(join_api(queue), {"phone": phone}, content_type="application/json")
            for phone in phones])
        return [answer.status_code for answer in answers]

    assert async_to_sync(joins)() == [201] * len(phones)
    written = set(map(str, SmsLog.objects.values_list("pk", flat=True)))
    assert len(written) == len(phones)
    assert sorted(hand_offs.log_ids) == sorted(written)


def test_outside_a_web_request_the_sms_is_queued_at_commit(queue, hand_offs,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(queue, "06 12 34 56 78")
    assert list(SmsLog.objects.filter(pk__in=hand_offs.log_ids)
                .values_list("entry", flat=True)) == [entry.pk]


def test_a_join_is_answered_even_when_the_broker_refuses_the_sms(
        client, queue, django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.send_sms, "delay", side_effect=OSError("redis is down")), \
            django_capture_on_commit_callbacks(execute=True):
        response = client.post(join_api(queue), {"phone": "06 12 34 56 78"},
                               content_type="application/json")
    assert response.status_code == 201
    assert SmsLog.objects.get().status == SmsStatus.PENDING  # left to the sweep

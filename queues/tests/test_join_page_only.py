"""Customers without a French mobile (a tourist's +44), or who want no SMS, join in
page-only mode: no SMS at all, they follow their turn on the status page."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.urls import reverse

from queues import limits, services
from queues.models import EntryStatus, QueueEntry, SmsLog
from queues.sms.usage import sms_usage

API = "/api/v1"
UK_MOBILE = "+44 7911 123456"
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def counters(monkeypatch):
    """The limits count in a cache of this test's own (see test_sms_abuse)."""
    monkeypatch.setattr(limits, "cache", LocMemCache(f"join-limits-{uuid.uuid4()}", {}))


def join_url(queue) -> str:
    return reverse("queues:join", args=[queue.qr_token])


def test_a_foreign_mobile_is_told_we_only_text_french_mobiles_and_offered_page_only(
        client, queue):
    response = client.post(join_url(queue), {"phone": UK_MOBILE, "name": "Amy"}, **ENGLISH)
    html = response.content.decode()
    assert response.status_code == 400
    assert "We only send SMS to French mobiles (06 or 07)" in html
    assert 'data-error="destination_not_allowed"' in html
    assert 'name="no_sms" value="on"' in html
    assert f'name="phone" value="{UK_MOBILE}"' in html
    assert not QueueEntry.objects.exists()


def test_a_foreign_mobile_joins_without_sms_and_is_told_to_keep_the_page_open(
        client, queue, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(join_url(queue), {"phone": UK_MOBILE, "name": "Amy",
                                                 "no_sms": "on"}, **ENGLISH)
    entry = QueueEntry.objects.get()
    assert response["Location"] == reverse("queues:status", args=[entry.secret])
    assert (entry.phone, entry.notify_by_sms) == ("+447911123456", False)
    status = client.get(response["Location"], **ENGLISH).content.decode()
    assert "No SMS for this ticket: keep this page open" in status
    assert "we will text you" not in status
    assert not SmsLog.objects.exists() and sms_outbox == []


def test_a_french_mobile_that_ticks_no_sms_is_never_texted_nor_counted(
        client, queue, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(join_url(queue), {"phone": "06 12 34 56 78", "no_sms": "on"})
    entry = QueueEntry.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.queue_call_next(business=queue)
        services.entry_miss(entry=entry)
        again = services.entry_rejoin(entry=entry)
        services.entry_cancel(entry=again)
    assert again.notify_by_sms is False
    assert not SmsLog.objects.exists() and sms_outbox == []
    assert sms_usage(queue.owner).used == 0


def test_an_invalid_number_keeps_its_clear_error_even_without_sms(client, queue):
    response = client.post(join_url(queue), {"phone": "12", "no_sms": "on"})
    assert response.status_code == 400
    assert "Ce numéro de téléphone n&#x27;est pas valide" in response.content.decode()
    assert not QueueEntry.objects.exists()


def test_page_only_joins_count_in_the_per_ip_limit(client, queue, settings):
    settings.JOIN_LIMIT_PER_IP = 2
    statuses = [client.post(join_url(queue), {"phone": f"+44 7911 12345{digit}",
                                              "no_sms": "on"}).status_code
                for digit in range(3)]
    assert statuses == [302, 302, 429]
    assert QueueEntry.objects.count() == 2


def test_a_page_only_number_still_holds_one_place_only(client, queue):
    client.post(join_url(queue), {"phone": UK_MOBILE, "no_sms": "on"})
    again = client.post(join_url(queue), {"phone": "+447911123456", "no_sms": "on"})
    assert again.status_code == 409
    assert QueueEntry.objects.filter(status=EntryStatus.WAITING).count() == 1


def test_the_public_api_joins_a_foreign_number_without_sms(client, queue, sms_outbox):
    url = f"{API}/public/{queue.qr_token}/join"
    refused = client.post(url, {"phone": UK_MOBILE}, content_type="application/json")
    joined = client.post(url, {"phone": UK_MOBILE, "sms": False},
                         content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["error"] == "destination_not_allowed"
    assert joined.status_code == 201
    assert joined.json()["sms"] is False and joined.json()["ticket"] == "A-001"
    assert not SmsLog.objects.exists()

"""Typing a number that already waits gives nothing of that place away (4003). The device
that joined finds its ticket again (signed cookie); the number's owner can have the link
texted again, with an answer that is the same whatever the number."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from django.urls import reverse

from queues import device_tickets, limits, services
from queues.models import QueueEntry, SmsLog, SmsStatus, SmsType
from queues.tests.factories import join

API = "/api/v1"
PHONE, OTHER_PHONE = "06 12 34 56 78", "06 98 76 54 32"


@pytest.fixture(autouse=True)
def counters(monkeypatch):
    """The limits count in a cache of this test's own (see test_sms_abuse)."""
    monkeypatch.setattr(limits, "cache", LocMemCache(f"join-limits-{uuid.uuid4()}", {}))


def join_url(queue) -> str:
    return reverse("queues:join", args=[queue.qr_token])


def link_url(queue) -> str:
    return reverse("queues:resend_link", args=[queue.qr_token])


def join_page_after_resend(client: Client, queue, phone: str) -> str:
    return client.post(link_url(queue), {"phone": phone}, follow=True).content.decode()


def messages_shown(html: str) -> list[str]:
    return re.findall(r'<div class="alert alert-(\w+)">(.*?)</div>', html)


# --- The 4003 answer --------------------------------------------------------------------


def test_a_stranger_typing_a_waiting_number_gets_no_link_and_no_ticket(client, queue):
    entry = join(queue, PHONE)
    response = client.post(join_url(queue), {"phone": PHONE})
    html = response.content.decode()
    assert response.status_code == 409
    assert 'data-code="4003"' in html
    assert entry.secret not in html
    assert entry.ticket_label not in html
    assert QueueEntry.objects.count() == 1


def test_the_api_4003_carries_only_the_error(client, queue):
    entry = join(queue, PHONE)
    response = client.post(f"{API}/public/{queue.qr_token}/join", {"phone": PHONE},
                           content_type="application/json")
    assert response.status_code == 409
    assert response.json() == {"code": 4003, "error": "already_in_queue",
                               "message": "Ce numéro a déjà une place dans cette file."}
    assert entry.secret not in response.content.decode()


# --- The device that joined -------------------------------------------------------------


def test_the_device_that_joined_is_led_back_to_its_ticket(client, queue):
    client.post(join_url(queue), {"phone": PHONE})
    entry = QueueEntry.objects.get()
    page = client.get(join_url(queue)).content.decode()
    again = client.post(join_url(queue), {"phone": PHONE})
    assert f'data-ticket="{entry.ticket_label}"' in page
    assert reverse("queues:status", args=[entry.secret]) in page
    assert again.status_code == 409
    assert reverse("queues:status", args=[entry.secret]) in again.content.decode()


def test_the_ticket_cookie_is_signed_http_only_and_same_site_lax(client, queue, settings):
    settings.SESSION_COOKIE_SECURE = True  # production: the site is served over https
    response = client.post(join_url(queue), {"phone": PHONE})
    cookie = response.cookies[device_tickets.COOKIE]
    entry = QueueEntry.objects.get()
    assert cookie.value != entry.secret and cookie.value.startswith(entry.secret + ":")
    assert cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/q/"


def test_a_forged_ticket_cookie_leads_nowhere(client, queue):
    entry = join(queue, PHONE)
    client.cookies[device_tickets.COOKIE] = entry.secret  # unsigned
    page = client.get(join_url(queue)).content.decode()
    assert entry.secret not in page
    assert "device-ticket" not in page


def test_a_finished_ticket_is_no_longer_offered(client, queue):
    client.post(join_url(queue), {"phone": PHONE})
    entry = QueueEntry.objects.get()
    services.entry_cancel(entry=entry)
    assert "device-ticket" not in client.get(join_url(queue)).content.decode()


def test_a_rejoin_after_a_missed_turn_is_remembered_on_the_device(client, queue):
    client.post(join_url(queue), {"phone": PHONE})
    entry = QueueEntry.objects.get()
    services.queue_call_next(business=queue)
    services.entry_miss(entry=entry)
    client.post(reverse("queues:rejoin", args=[entry.secret]))
    again = QueueEntry.objects.get(rejoined_from=entry)
    page = client.get(join_url(queue)).content.decode()
    assert reverse("queues:status", args=[again.secret]) in page


# --- "Text me my link again" ------------------------------------------------------------


def test_the_link_is_texted_again_to_the_waiting_number(
        client, queue, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(queue, PHONE)
    sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link_url(queue), {"phone": "+33612345678"})
    assert response.status_code == 302
    log = SmsLog.objects.get(type=SmsType.LINK)
    assert (log.entry, log.status) == (entry, SmsStatus.SENT)
    assert [(message.phone, message.text) for message in sms_outbox] == [
        ("+33612345678", f"Boulangerie Martin : votre ticket {entry.ticket_label}. Suivez votre "
                         f"tour ici : https://waitify.test/q/s/{entry.secret}")]


def test_the_answer_is_the_same_for_a_number_that_is_not_waiting(
        client, queue, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        join(queue, PHONE)
    sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        waiting = join_page_after_resend(client, queue, PHONE)
        stranger = join_page_after_resend(Client(), queue, OTHER_PHONE)
        invented = join_page_after_resend(Client(), queue, "07 00 00 00 01")
    answer = str(services.LINK_RESENT_ANSWER).replace("'", "&#x27;")
    assert messages_shown(waiting) == [("success", answer)]
    assert messages_shown(stranger) == messages_shown(waiting)
    assert messages_shown(invented) == messages_shown(waiting)
    assert [message.phone for message in sms_outbox] == ["+33612345678"]


def test_the_api_answers_the_same_whatever_the_number(client, queue, sms_outbox):
    join(queue, PHONE)
    url = f"{API}/public/{queue.qr_token}/resend-link"
    waiting = client.post(url, {"phone": PHONE}, content_type="application/json")
    stranger = client.post(url, {"phone": OTHER_PHONE}, content_type="application/json")
    assert (waiting.status_code, stranger.status_code) == (202, 202)
    assert waiting.json() == stranger.json()
    assert SmsLog.objects.filter(type=SmsType.LINK).count() == 1


def test_one_number_gets_its_link_once_per_few_minutes(client, queue, sms_outbox, settings):
    settings.RESEND_LINK_INTERVAL_SECONDS = 300
    join(queue, PHONE)
    join_page_after_resend(client, queue, PHONE)
    second = join_page_after_resend(Client(), queue, PHONE)
    assert "Un lien a déjà été demandé pour ce numéro" in second
    assert SmsLog.objects.filter(type=SmsType.LINK).count() == 1


def test_the_once_per_few_minutes_limit_says_the_same_for_any_number(client, queue, settings):
    join(queue, PHONE)
    answers = []
    for phone in (PHONE, OTHER_PHONE):
        join_page_after_resend(client, queue, phone)
        answers.append(messages_shown(join_page_after_resend(client, queue, phone)))
    assert answers[0] == answers[1]
    assert [tag for tag, _text in answers[0]] == ["error"]


def test_link_requests_count_in_the_per_ip_join_limit(client, queue, settings):
    settings.JOIN_LIMIT_PER_IP = 3
    for number in range(3):
        client.post(link_url(queue), {"phone": f"06000000{number:02d}"})
    response = client.post(join_url(queue), {"phone": PHONE})
    assert response.status_code == 429
    assert not QueueEntry.objects.exists()


def test_a_link_past_the_hourly_cap_is_suppressed_like_any_sms(
        client, queue, settings, sms_outbox, django_capture_on_commit_callbacks):
    settings.SMS_HOURLY_CAP_PER_BUSINESS = 1
    with django_capture_on_commit_callbacks(execute=True):
        join(queue, PHONE)  # the confirmation uses the hour's only SMS
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link_url(queue), {"phone": PHONE})
    log = SmsLog.objects.get(type=SmsType.LINK)
    assert (log.status, log.last_error) == (SmsStatus.SUPPRESSED, "hourly_cap")
    assert len(sms_outbox) == 1


def test_a_texted_link_counts_in_the_months_sms(
        client, queue, merchant, sms_outbox, django_capture_on_commit_callbacks):
    from queues.sms.usage import sms_usage

    with django_capture_on_commit_callbacks(execute=True):
        join(queue, PHONE)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link_url(queue), {"phone": PHONE})
    assert sms_usage(queue.owner).used_by(queue.pk) == 2


def test_a_page_only_customer_is_sent_nothing(client, queue, sms_outbox,
                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.entry_join(business=queue, phone="+44 7911 123456", sms=False)
        client.post(link_url(queue), {"phone": "+44 7911 123456"})
    assert not SmsLog.objects.exists()
    assert sms_outbox == []

"""Staff see the SMS log in the admin with masked numbers, filters and search by business."""

from __future__ import annotations

from html import unescape

import pytest
from django.urls import reverse

from businesses.models import User
from queues.models import SmsLog, SmsOptOut, SmsStatus, SmsType


@pytest.fixture
def staff_client(client, db):
    staff = User.objects.create_superuser("staff@waitify.fr", "pw")
    client.force_login(staff)
    return client


@pytest.fixture
def log(business):
    return SmsLog.objects.create(business=business, phone="+33612345678",
                                 type=SmsType.YOUR_TURN, status=SmsStatus.FAILED,
                                 text="Boulangerie Martin : c'est votre tour !",
                                 last_error="Throttling: Rate exceeded")


def test_the_sms_log_list_masks_numbers_and_filters_by_status_and_type(staff_client, log):
    url = reverse("admin:queues_smslog_changelist")
    response = staff_client.get(url, {"status__exact": "failed", "type__exact": "your_turn"})
    html = response.content.decode()
    assert response.context["cl"].result_count == 1
    assert "06 •• •• •• 78" in html and "+33612345678" not in html and "12 34 56" not in html
    assert "Throttling" in html
    assert staff_client.get(url, {"status__exact": "sent"}).context["cl"].result_count == 0


def test_the_sms_log_is_searched_by_business_name(staff_client, log, outsider_business):
    SmsLog.objects.create(business=outsider_business, phone="+33698765432",
                          type=SmsType.CONFIRMATION, text="Garage", status=SmsStatus.SENT)
    response = staff_client.get(reverse("admin:queues_smslog_changelist"), {"q": "Boulangerie"})
    assert [found.pk for found in response.context["cl"].result_list] == [log.pk]


def test_an_sms_log_page_shows_the_text_but_not_the_number(staff_client, log):
    html = staff_client.get(reverse("admin:queues_smslog_change", args=[log.pk])).content
    html = unescape(html.decode())
    assert "c'est votre tour" in html
    assert "+33612345678" not in html and "06 •• •• •• 78" in html


def test_staff_record_an_opt_out_by_hand(staff_client):
    response = staff_client.post(reverse("admin:queues_smsoptout_add"),
                                 {"phone": "+33612345678", "source": "staff"})
    assert response.status_code == 302
    assert SmsOptOut.objects.get().source == SmsOptOut.Source.STAFF
    html = staff_client.get(reverse("admin:queues_smsoptout_changelist")).content.decode()
    assert "06 •• •• •• 78" in html

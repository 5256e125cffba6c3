"""Staff see in the admin when beat's sweep and each worker were last alive, and how
many SMS have an unknown outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from businesses.models import User
from queues.heartbeats import SCHEDULER, heartbeat_record
from queues.models import Heartbeat, SmsLog, SmsStatus, SmsType


@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_superuser("staff@waitify.fr", "pw"))
    return client


def test_the_heartbeats_list_shows_which_process_is_late(staff_client, settings):
    now = timezone.now()
    heartbeat_record(kind=Heartbeat.Kind.SCHEDULER, name=SCHEDULER, now=now)
    heartbeat_record(kind=Heartbeat.Kind.WORKER, name="worker:celery@web-1", now=now)
    heartbeat_record(kind=Heartbeat.Kind.WORKER, name="worker:celery@gone",
                     now=now - timedelta(seconds=settings.HEARTBEAT_LATE_SECONDS + 1))

    response = staff_client.get(reverse("admin:queues_heartbeat_changelist"),
                                HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    rows = {beat.name: beat for beat in response.context["cl"].result_list}
    assert set(rows) == {"scheduler", "worker:celery@web-1", "worker:celery@gone"}
    html = response.content.decode()
    assert "On time" in html
    assert html.count('alt="True"') == 2  # the scheduler and web-1 are on time
    assert html.count('alt="False"') == 1


def test_a_merchant_cannot_open_the_heartbeats(merchant_client):
    response = merchant_client.get(reverse("admin:queues_heartbeat_changelist"))
    assert response.status_code == 302


@pytest.mark.parametrize("unknown, text", [
    (0, "0 SMS au sort inconnu (interrompu après la remise au fournisseur)."),
    (1, "1 SMS au sort inconnu (interrompu après la remise au fournisseur)."),
    (3, "3 SMS au sort inconnu (interrompus après la remise au fournisseur)."),
])
def test_the_sms_log_counts_the_sends_with_an_unknown_outcome(staff_client, business,
                                                              unknown, text):
    for status in [SmsStatus.UNKNOWN] * unknown + [SmsStatus.SENT]:
        SmsLog.objects.create(business=business, phone="+33612345678",
                              type=SmsType.CONFIRMATION, status=status, text="Ticket A-001")

    response = staff_client.get(reverse("admin:queues_smslog_changelist"))

    assert response.context["unknown_count"] == unknown
    assert text in response.content.decode()

"""The merchant's own data: daily digest e-mail (opt-in), JSON export, account deletion."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from analytics import digest, tasks
from analytics.models import DailyStat, DigestDelivery
from analytics.tests.factories import at, hours, served, stat
from businesses.models import Business, User
from businesses.tests.factories import PASSWORD
from queues.models import QueueEntry, SmsLog

THURSDAY = date(2026, 3, 12)


@pytest.fixture
def digest_merchant(merchant, business):
    User.objects.filter(pk=merchant.pk).update(daily_digest_enabled=True)
    merchant.refresh_from_db()
    Business.objects.filter(pk=business.pk).update(average_basket_cents=650)
    stat(business, THURSDAY, registered=30, served=25, missed=3, cancelled=2,
         revenue_lost_cents=5 * 650)
    # Fridays of the last weeks: the busiest hour is 17:00.
    for weeks in range(1, 4):
        stat(business, THURSDAY + timedelta(days=1) - timedelta(weeks=weeks), registered=20,
             joins_by_hour=hours(h9=5, h17=10, h18=5))
    # A Wednesday rush at 11:00 must not count for a Friday.
    stat(business, THURSDAY - timedelta(days=1), registered=50, joins_by_hour=hours(h11=50))
    return merchant


def test_the_digest_tells_the_day_and_tomorrow_s_expected_peak(digest_merchant):
    assert digest.daily_digest_send(user=digest_merchant, day=THURSDAY) is True

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [digest_merchant.email]
    assert "Boulangerie Martin" in message.body
    # In French, the platform's language: 25 served, 3 + 2 left × 6.50 €.
    assert "Servis : 25" in message.body
    assert "Tour manqué : 3" in message.body and "Annulés : 2" in message.body
    assert "Manque à gagner estimé : 32,50\xa0€" in message.body
    assert "17:00–18:00" in message.body
    assert "/account/" in message.body


def test_a_merchant_who_uses_waitify_in_english_gets_the_digest_in_english(digest_merchant):
    User.objects.filter(pk=digest_merchant.pk).update(language="en")
    digest_merchant.refresh_from_db()

    assert digest.daily_digest_send(user=digest_merchant, day=THURSDAY) is True

    body = mail.outbox[0].body
    assert "Served: 25" in body and "Servis" not in body
    assert "32.50" in body


def test_the_digest_is_sent_once_per_day(digest_merchant):
    digest.daily_digest_send(user=digest_merchant, day=THURSDAY)
    assert digest.daily_digest_send(user=digest_merchant, day=THURSDAY) is False
    assert len(mail.outbox) == 1
    assert DigestDelivery.objects.filter(user=digest_merchant).count() == 1


def test_a_failed_send_can_be_retried(digest_merchant, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("SMTP down")

    monkeypatch.setattr(digest, "send_mail", broken)
    with pytest.raises(OSError):
        digest.daily_digest_send(user=digest_merchant, day=THURSDAY)
    assert not DigestDelivery.objects.exists()


def test_only_merchants_who_asked_get_it(digest_merchant, outsider, outsider_business,
                                         time_machine):
    time_machine.move_to(at(THURSDAY + timedelta(days=1), "01:00"), tick=False)

    tasks.compute_daily_stats.delay()

    assert [message.to for message in mail.outbox] == [[digest_merchant.email]]


def test_the_account_page_has_the_digest_checkbox_and_the_data_links(merchant_client, merchant):
    html = merchant_client.get(reverse("businesses:account")).content.decode()
    assert 'name="daily_digest_enabled"' in html
    assert reverse("analytics:account_export") in html
    assert reverse("analytics:account_delete") in html

    response = merchant_client.post(reverse("businesses:account"), {
        "first_name": "Marie", "last_name": "", "phone": "", "daily_digest_enabled": "on"})

    assert response.status_code == 302
    merchant.refresh_from_db()
    assert merchant.daily_digest_enabled is True


# --- Export ---------------------------------------------------------------------------------

def test_the_export_holds_the_account_its_businesses_entries_and_figures(
        merchant_client, merchant, business, outsider_business):
    day = THURSDAY
    served(business, day, "10:00", "10:05", "10:10")
    QueueEntry.objects.filter(business=business).update(phone="+33612345678",
                                                        customer_name="Léa")
    served(outsider_business, day, "10:00", "10:05", "10:10")
    stat(business, day, registered=1, served=1)

    response = merchant_client.get(reverse("analytics:account_export"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["account"]["email"] == merchant.email
    assert [b["name"] for b in data["businesses"]] == ["Boulangerie Martin"]
    assert len(data["queue_entries"]) == 1
    exported = data["queue_entries"][0]
    assert exported["customer_name"] == "Léa"
    assert "+33612345678" not in response.content.decode() and exported["phone"].endswith("78")
    assert [row["registered"] for row in data["daily_stats"]] == [1]
    assert "Garage Dupont" not in response.content.decode()


# --- Deletion -------------------------------------------------------------------------------

def test_deleting_the_account_needs_the_password(merchant_client, merchant, business):
    response = merchant_client.post(reverse("analytics:account_delete"),
                                    {"confirmation": "not it"})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert User.objects.filter(pk=merchant.pk).exists()


def test_deleting_the_account_removes_everything_of_it_and_nothing_else(
        merchant_client, merchant, business, outsider, outsider_business):
    day = THURSDAY
    served(business, day, "10:00", "10:05", "10:10")
    stat(business, day, registered=1)
    SmsLog.objects.create(business=business, phone="+33612345678", type="confirmation",
                          text="…", status="sent")
    served(outsider_business, day, "10:00", "10:05", "10:10")
    stat(outsider_business, day, registered=1)

    response = merchant_client.post(reverse("analytics:account_delete"),
                                    {"confirmation": PASSWORD})

    assert response.status_code == 302 and response["Location"] == reverse("queues:home")
    assert not User.objects.filter(pk=merchant.pk).exists()
    assert not Business.objects.filter(owner_id=merchant.pk).exists()
    assert not QueueEntry.objects.filter(business_id=business.pk).exists()
    assert not DailyStat.objects.filter(business_id=business.pk).exists()
    assert not SmsLog.objects.filter(business_id=business.pk).exists()
    assert QueueEntry.objects.filter(business=outsider_business).count() == 1
    assert DailyStat.objects.filter(business=outsider_business).count() == 1
    # Logged out: the account pages send to the login page.
    assert merchant_client.get(reverse("businesses:account")).status_code == 302


def test_an_account_without_password_confirms_with_its_e_mail(merchant_client, merchant):
    merchant.set_unusable_password()
    merchant.save()
    merchant_client.force_login(merchant)

    merchant_client.post(reverse("analytics:account_delete"), {"confirmation": "x@y.fr"})
    assert User.objects.filter(pk=merchant.pk).exists()

    merchant_client.post(reverse("analytics:account_delete"),
                         {"confirmation": merchant.email.upper()})
    assert not User.objects.filter(pk=merchant.pk).exists()


def test_export_and_deletion_need_a_login(client):
    for name in ["analytics:account_export", "analytics:account_delete"]:
        assert client.get(reverse(name)).status_code == 302


def test_a_running_subscription_must_be_cancelled_first(merchant_client, merchant, business):
    User.objects.filter(pk=merchant.pk).update(subscription_status="active")

    response = merchant_client.post(reverse("analytics:account_delete"),
                                    {"confirmation": PASSWORD}, follow=True)

    assert User.objects.filter(pk=merchant.pk).exists()
    assert Business.objects.filter(pk=business.pk).exists()
    assert any("abonnement" in str(m) for m in response.context["messages"])

"""Dunning, walked through: failed payment 1, 2, 3, then the payment that restores it all."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billing.models import BillingAccount
from businesses import services as business_services
from businesses.models import User
from queues import services as queue_services
from queues.models import EntryStatus, QueueEntry
from queues.tests.factories import join, open_queue

API = "/api/v1"


@pytest.fixture
def shop(scenario):
    business = business_services.business_create(owner=scenario.account, name="Fleurs Lila",
                                                  business_type="other")
    return open_queue(business)


@pytest.fixture
def merchant_api(scenario) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=scenario.account).key}")
    return api


def _public_join(client, shop, phone: str):
    return client.post(f"{API}/public/{shop.qr_token}/join", {"phone": phone},
                       content_type="application/json")


def _join_page(client, shop) -> str:
    return client.get(reverse("queues:join", args=[shop.qr_token])).content.decode()


def test_failed_payments_one_two_three_then_recovery(client, post_event, scenario, shop,
                                                     merchant_api):
    account = scenario.account
    merchant = client.__class__()
    merchant.force_login(account)
    post_event(scenario.subscribe())
    waiting = join(shop, "0611111111")

    # 1st failure: an e-mail, nothing else changes.
    post_event(scenario.renewal_fails(attempt=1))
    account.refresh_from_db()
    assert account.subscription_status == "past_due"
    assert [m.subject for m in mail.outbox] == ["Waitify : votre paiement a échoué"]
    assert mail.outbox[0].to == [account.email]
    assert f"https://waitify.test{reverse('billing:page')}" in mail.outbox[0].body
    dashboard = merchant.get(reverse("queues:overview")).content.decode()
    assert 'data-status="past_due"' in dashboard
    assert merchant_api.put(f"{API}/businesses/{shop.pk}", {"name": "Fleurs Lila & co"},
                            format="json").status_code == 200
    assert _public_join(client, shop, "0622222222").status_code == 201

    # 2nd failure: read-only. Dashboard visible, nothing can be changed, no new joins,
    # customers already waiting are still served.
    post_event(scenario.renewal_fails(attempt=2))
    account.refresh_from_db()
    assert account.subscription_status == "read_only"
    assert BillingAccount.objects.get(account=account).failed_payment_count == 2
    assert mail.outbox[-1].subject == "Waitify : votre compte est en lecture seule"
    dashboard = merchant.get(reverse("queues:overview"))
    assert dashboard.status_code == 200
    assert 'data-status="read_only"' in dashboard.content.decode()
    assert "paiements ont échoué" in dashboard.content.decode()
    edit = merchant_api.put(f"{API}/businesses/{shop.pk}", {"name": "Autre nom"}, format="json")
    assert edit.status_code == 403 and edit.json()["error"] == "account_read_only"
    assert merchant_api.post(f"{API}/businesses", {"name": "Deuxième", "business_type": "other"},
                             format="json").status_code == 403
    refused = _public_join(client, shop, "0633333333")
    assert refused.status_code == 409 and refused.json()["code"] == 4001
    called = queue_services.queue_call_next(business=shop)
    assert called.pk == waiting.pk and called.status == EntryStatus.CALLED

    # 3rd failure: suspended, 4004 on the public page and the public API.
    post_event(scenario.renewal_fails(attempt=3))
    account.refresh_from_db()
    assert account.subscription_status == "suspended"
    assert mail.outbox[-1].subject == "Waitify : votre compte est suspendu"
    refused = _public_join(client, shop, "0644444444")
    assert refused.status_code == 403 and refused.json()["code"] == 4004
    assert 'data-reason="business_suspended"' in _join_page(client, shop)
    assert merchant.get(reverse("billing:page")).status_code == 200  # they can still pay

    # The payment goes through: everything is restored at once.
    post_event(scenario.payment_succeeds())
    account.refresh_from_db()
    assert account.subscription_status == "active"
    assert BillingAccount.objects.get(account=account).failed_payment_count == 0
    assert mail.outbox[-1].subject == "Waitify : paiement reçu, votre compte est de nouveau actif"
    assert len(mail.outbox) == 4
    assert _public_join(client, shop, "0655555555").status_code == 201
    assert merchant_api.put(f"{API}/businesses/{shop.pk}", {"name": "Fleurs Lila"},
                            format="json").status_code == 200
    assert 'data-status=' not in merchant.get(reverse("queues:overview")).content.decode()
    assert QueueEntry.objects.filter(business=shop).count() == 3


def test_a_read_only_account_cannot_reopen_its_queue_on_the_dashboard(client, post_event,
                                                                       scenario, shop):
    post_event(scenario.subscribe())
    queue_services.queue_close(business=shop)
    post_event(scenario.renewal_fails(attempt=2))
    client.force_login(scenario.account)
    client.post(reverse("queues:queue_action", args=[shop.pk, "open"]))
    shop.refresh_from_db()
    assert shop.is_queue_open is False


def test_each_dunning_e_mail_is_sent_once_per_invoice_and_stage(post_event, scenario):
    post_event(scenario.subscribe())
    post_event(scenario.renewal_fails(attempt=1))
    post_event(scenario.renewal_fails(attempt=1) | {"id": "evt_resent_by_stripe"})
    assert len(mail.outbox) == 1


def test_a_dunning_e_mail_is_in_the_merchant_s_language(post_event, scenario):
    User.objects.filter(pk=scenario.account.pk).update(language="en")
    post_event(scenario.subscribe())
    post_event(scenario.renewal_fails(attempt=1))
    [message] = mail.outbox
    assert message.subject == "Waitify: your payment failed"

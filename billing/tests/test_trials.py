"""Trial end: read-only with a call to subscribe; staff can extend a trial."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing import services, tasks
from billing.models import BillingAccount
from businesses.tests.factories import make_merchant


@pytest.fixture
def ended_trial(stripe_plans):
    return make_merchant("late@example.fr", plan="basic",
                         trial_ends_at=timezone.now() - timedelta(minutes=1))


def test_a_trial_that_ended_without_subscription_becomes_read_only(ended_trial,
                                                                  django_capture_on_commit_callbacks):
    running = make_merchant("running@example.fr", plan="basic")
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.expire_trials() == 1
    ended_trial.refresh_from_db()
    running.refresh_from_db()
    assert ended_trial.subscription_status == "read_only"
    assert running.subscription_status == "trial"
    assert [m.subject for m in mail.outbox] == ["Waitify : votre essai gratuit est terminé"]
    assert tasks.expire_trials() == 0  # twice is harmless


def test_an_account_that_subscribed_is_left_alone(ended_trial):
    type(ended_trial).objects.filter(pk=ended_trial.pk).update(subscription_status="active")
    assert tasks.expire_trials() == 0
    ended_trial.refresh_from_db()
    assert ended_trial.subscription_status == "active"


def test_without_stripe_trials_never_end(ended_trial, settings):
    settings.STRIPE_ENABLED = False
    assert tasks.expire_trials() == 0
    ended_trial.refresh_from_db()
    assert ended_trial.subscription_status == "trial"


def test_the_dashboard_calls_the_merchant_to_subscribe(client, ended_trial):
    tasks.expire_trials()
    client.force_login(ended_trial)
    html = client.get(reverse("queues:overview")).content.decode()
    assert 'data-status="read_only"' in html
    assert "Votre essai gratuit est terminé" in html
    assert f'href="{reverse("billing:page")}">Choisir une formule' in html


def test_extending_a_trial_reopens_a_read_only_trial_account(ended_trial):
    tasks.expire_trials()
    services.trial_extend(account=ended_trial, days=14)
    ended_trial.refresh_from_db()
    assert ended_trial.subscription_status == "trial"
    assert ended_trial.trial_ends_at > timezone.now() + timedelta(days=13)


def test_extending_does_not_lift_a_read_only_state_due_to_unpaid_invoices(stripe_plans):
    account = make_merchant("debtor@example.fr", plan="pro", subscription_status="read_only")
    BillingAccount.objects.create(account=account, stripe_subscription_status="past_due",
                                  failed_payment_count=2)
    services.trial_extend(account=account, days=14)
    account.refresh_from_db()
    assert account.subscription_status == "read_only"


def test_staff_extend_a_trial_from_the_admin(admin_client, ended_trial):
    tasks.expire_trials()
    response = admin_client.post(reverse("admin:businesses_user_changelist"), {
        "action": "extend_trial", "_selected_action": [str(ended_trial.pk)]}, follow=True)
    assert response.status_code == 200
    ended_trial.refresh_from_db()
    assert ended_trial.subscription_status == "trial"
    assert "14" in response.content.decode()


def test_the_admin_lists_accounts_with_failed_payments_and_usage_records(admin_client,
                                                                         stripe_plans):
    account = make_merchant("listed@example.fr", plan="pro", subscription_status="read_only")
    BillingAccount.objects.create(account=account, failed_payment_count=2)
    changelist = admin_client.get(reverse("admin:businesses_user_changelist")).content.decode()
    assert "listed@example.fr" in changelist and "field-failed_payments" in changelist
    change = admin_client.get(reverse("admin:businesses_user_change", args=[account.pk]))
    assert change.status_code == 200
    html = change.content.decode()
    assert 'id="usage_records-group"' in html  # the usage records inline
    assert admin_client.get(reverse("admin:billing_usagerecord_changelist")).status_code == 200
    assert admin_client.get(
        reverse("admin:billing_stripewebhookevent_changelist")).status_code == 200


def test_a_trial_shows_14_days_on_the_day_of_sign_up(db, plans, client):
    merchant = make_merchant("new@example.fr", plan="basic")
    assert merchant.trial_days_left == 14

    client.force_login(merchant)
    html = client.get(reverse("queues:overview"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Trial: 14 days left" in html


def test_a_trial_shows_1_day_in_its_last_hours_and_0_once_over(db, plans):
    merchant = make_merchant("late@example.fr", plan="basic",
                             trial_ends_at=timezone.now() + timedelta(hours=3))
    assert merchant.trial_days_left == 1
    merchant.trial_ends_at = timezone.now() - timedelta(minutes=1)
    assert merchant.trial_days_left == 0

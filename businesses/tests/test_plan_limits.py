"""How many active businesses each plan allows, on the page and under concurrency."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connections
from django.urls import reverse
from django.utils import translation

from businesses import services
from businesses.models import Business, Plan, User
from businesses.services import PlanLimitReached
from businesses.tests.factories import make_merchant

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
UPGRADE_PROMPT = "Your plan is full."


def create(owner: User, name: str) -> Business:
    return services.business_create(owner=owner, name=name, business_type="bakery")


def post_new_business(client, name: str = "Nouvelle Boutique"):
    return client.post(reverse("businesses:create"), {"name": name, "business_type": "bakery"},
                       **ENGLISH)


@pytest.fixture
def basic_client(client, db):
    user = make_merchant("basic@example.fr", plan="basic")
    client.force_login(user)
    client.user = user
    return client


def test_a_new_account_is_on_a_trial_with_the_basic_limits(db):
    user = User.objects.create_user("fresh@example.fr", "a-long-password-123")
    assert user.subscription_status == "trial"
    assert user.plan.name == "basic"
    assert user.plan.max_businesses == 1


def test_the_default_plans_are_seeded(plans):
    assert {name: (plan.max_businesses, plan.price_cents, plan.sms_quota_monthly)
            for name, plan in plans.items()} == {
        "basic": (1, 1900, 1000), "pro": (5, 4900, 2500), "enterprise": (-1, 9900, 5000)}
    assert not plans["basic"].api_access
    assert plans["pro"].api_access and plans["pro"].custom_branding
    assert plans["enterprise"].is_unlimited


def test_the_basic_plan_allows_one_business_then_shows_the_upgrade_prompt(basic_client):
    first = post_new_business(basic_client, "Première Boutique")
    assert first.status_code == 302

    refused = post_new_business(basic_client, "Deuxième Boutique")

    assert refused.status_code == 200
    html = refused.content.decode()
    assert UPGRADE_PROMPT in html
    assert "Your Basic plan allows 1 active business." in html
    assert 'href="/billing/"' in html
    assert list(Business.objects.filter(owner=basic_client.user).values_list("name", flat=True)) \
        == ["Première Boutique"]


def test_the_create_page_shows_the_upgrade_prompt_only_at_the_limit(basic_client):
    assert UPGRADE_PROMPT not in basic_client.get(reverse("businesses:create"),
                                                  **ENGLISH).content.decode()
    create(basic_client.user, "Seule Boutique")
    assert UPGRADE_PROMPT in basic_client.get(reverse("businesses:create"),
                                              **ENGLISH).content.decode()


def test_at_the_limit_the_page_shows_the_plans_with_more_room_and_no_form(basic_client,
                                                                        settings):
    settings.STRIPE_ENABLED = True
    create(basic_client.user, "Seule Boutique")

    html = basic_client.get(reverse("businesses:create")).content.decode()

    assert "Votre formule est complète." in html
    assert "La formule Basique comprend 1 commerce actif." in html
    assert "<strong>Pro</strong> · 5 commerces · 49,00\u00a0€ par mois" in html
    assert "<strong>Entreprise</strong> · Commerces illimités · 99,00\u00a0€ par mois" in html
    assert f'href="{reverse("billing:page")}" class="button">Voir les formules' in html
    assert 'name="name"' not in html
    assert 'name="business_type"' not in html


def test_at_the_limit_with_billing_off_the_page_says_whom_to_write_to(basic_client, settings):
    settings.STRIPE_ENABLED = False
    settings.SUPPORT_EMAIL = "aide@waitify.test"
    create(basic_client.user, "Seule Boutique")

    html = basic_client.get(reverse("businesses:create"), **ENGLISH).content.decode()

    assert ('Plans are not sold online on this installation: write to '
            '<a href="mailto:aide@waitify.test">aide@waitify.test</a>') in html
    assert "See the plans" not in html
    assert 'name="name"' not in html


def test_the_pro_plan_allows_five_businesses(merchant_client, merchant):
    for number in range(5):
        create(merchant, f"Boutique {number}")

    refused = post_new_business(merchant_client)

    assert refused.status_code == 200
    assert UPGRADE_PROMPT in refused.content.decode()
    assert "Your Pro plan allows 5 active businesses." in refused.content.decode()
    assert Business.objects.filter(owner=merchant).count() == 5


def test_the_enterprise_plan_has_no_limit(client, db):
    user = make_merchant("big@example.fr", plan="enterprise")
    for number in range(12):
        create(user, f"Agence {number}")
    client.force_login(user)

    assert UPGRADE_PROMPT not in client.get(reverse("businesses:create"),
                                            **ENGLISH).content.decode()
    assert post_new_business(client).status_code == 302
    assert Business.objects.filter(owner=user, is_active=True).count() == 13


def test_the_service_refuses_with_the_plan_and_an_upgrade_link(db):
    user = make_merchant("svc@example.fr", plan="basic")
    create(user, "Une")

    with translation.override("en"), pytest.raises(PlanLimitReached) as refused:
        create(user, "Deux")

    assert refused.value.as_dict() == {
        "code": 4103, "error": "plan_limit_reached",
        "message": "Your Basic plan allows 1 active business. "
                   "Upgrade your plan to add another one.",
        "plan": "basic", "max_businesses": 1, "upgrade_url": "/billing/",
    }
    assert refused.value.status == 403


def test_deactivating_a_business_frees_a_place(basic_client):
    first = create(basic_client.user, "Ancienne Boutique")
    assert post_new_business(basic_client).status_code == 200  # full

    basic_client.post(reverse("businesses:deactivate", args=[first.pk]))
    response = post_new_business(basic_client, "Nouvelle Boutique")

    assert response.status_code == 302
    assert set(Business.objects.filter(owner=basic_client.user).values_list(
        "name", "is_active")) == {("Ancienne Boutique", False), ("Nouvelle Boutique", True)}


def test_reactivating_beyond_the_limit_is_refused(basic_client):
    old = create(basic_client.user, "Ancienne Boutique")
    services.business_deactivate(business=old)
    create(basic_client.user, "Nouvelle Boutique")

    response = basic_client.post(reverse("businesses:activate", args=[old.pk]), follow=True,
                                 **ENGLISH)

    assert response.status_code == 200
    assert "Your Basic plan allows 1 active business." in response.content.decode()
    old.refresh_from_db()
    assert old.is_active is False
    assert Business.objects.filter(owner=basic_client.user, is_active=True).count() == 1


def test_reactivating_an_active_business_is_harmless_at_the_limit(basic_client):
    only = create(basic_client.user, "Seule Boutique")
    response = basic_client.post(reverse("businesses:activate", args=[only.pk]), follow=True,
                                 **ENGLISH)
    assert response.status_code == 200
    assert "is active again" in response.content.decode()
    only.refresh_from_db()
    assert only.is_active is True


def test_a_downgraded_account_keeps_its_businesses_but_cannot_add_one(merchant_client,
                                                                      merchant):
    for number in range(3):
        create(merchant, f"Boutique {number}")
    merchant.plan = Plan.objects.get(name="basic")
    merchant.save()

    response = post_new_business(merchant_client)

    assert UPGRADE_PROMPT in response.content.decode()
    assert Business.objects.filter(owner=merchant, is_active=True).count() == 3


def test_it_checks_ownership(outsider_client, business):
    services.business_deactivate(business=business)
    response = outsider_client.post(reverse("businesses:activate", args=[business.pk]))
    assert response.status_code == 404
    business.refresh_from_db()
    assert business.is_active is False


# --- concurrent requests at the limit -------------------------------------------------------


def run_at_once(count: int, action) -> list:
    """Run `action()` in `count` threads released together; return what each got."""
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = action(index)
        except Exception as exc:  # noqa: BLE001 - the test looks at every outcome
            outcomes[index] = exc
        finally:
            # Each thread opened its own database connection: close it, or the
            # test database cannot be flushed at the end.
            close_old_connections()
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [2, 8])
def test_concurrent_creations_at_the_limit_create_exactly_one_business(threads):
    user = make_merchant("race@example.fr", plan="basic")

    outcomes = run_at_once(threads, lambda index: services.business_create(
        owner=User.objects.get(pk=user.pk), name=f"Course {index}", business_type="bakery"))

    created = [outcome for outcome in outcomes if isinstance(outcome, Business)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, PlanLimitReached)]
    assert len(created) == 1, outcomes
    assert len(refused) == threads - 1, outcomes
    assert Business.objects.filter(owner=user).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_fill_the_last_pro_place_once():
    user = make_merchant("race-pro@example.fr", plan="pro")
    for number in range(4):
        create(user, f"Existante {number}")

    outcomes = run_at_once(8, lambda index: services.business_create(
        owner=User.objects.get(pk=user.pk), name=f"Course {index}", business_type="bakery"))

    assert sum(isinstance(outcome, Business) for outcome in outcomes) == 1, outcomes
    assert sum(isinstance(outcome, PlanLimitReached) for outcome in outcomes) == 7, outcomes
    assert Business.objects.filter(owner=user, is_active=True).count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reactivation_and_a_creation_at_once_cannot_both_take_the_last_place():
    user = make_merchant("race-activate@example.fr", plan="basic")
    sleeping = create(user, "Endormie")
    services.business_deactivate(business=sleeping)

    def action(index: int):
        owner = User.objects.get(pk=user.pk)
        if index == 0:
            return services.business_activate(business=Business.objects.get(pk=sleeping.pk))
        return services.business_create(owner=owner, name="Nouvelle", business_type="bakery")

    outcomes = run_at_once(2, action)

    assert sum(isinstance(outcome, PlanLimitReached) for outcome in outcomes) == 1, outcomes
    assert Business.objects.filter(owner=user, is_active=True).count() == 1

"""`manage.py stripe_sync_plans`: products and prices at Stripe from the Plan table."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from businesses.models import Plan


def test_it_creates_a_product_and_a_monthly_price_per_plan(fake_stripe, plans):
    call_command("stripe_sync_plans")
    products = {p["id"]: p for p in fake_stripe.of_type("product")}
    assert set(products) == {"waitify_basic", "waitify_pro", "waitify_enterprise"}
    for plan in Plan.objects.all():
        price = fake_stripe.objects[plan.stripe_price_id]
        assert price["product"] == f"waitify_{plan.name}"
        assert price["unit_amount"] == plan.price_cents and price["currency"] == "eur"
        assert price["recurring"]["interval"] == "month"
    assert fake_stripe.objects[Plan.objects.get(name="basic").stripe_price_id]["unit_amount"] \
        == 1900
    assert products["waitify_basic"]["description"] == (
        "1 commerce, 1000 SMS inclus par mois, puis 0,03 € par SMS supplémentaire")


def test_running_it_again_changes_nothing(fake_stripe, plans):
    call_command("stripe_sync_plans")
    before = {plan.name: plan.stripe_price_id for plan in Plan.objects.all()}
    posts = len([r for r in fake_stripe.requests if r[0] == "post"])
    call_command("stripe_sync_plans")
    assert {plan.name: plan.stripe_price_id for plan in Plan.objects.all()} == before
    assert len([r for r in fake_stripe.requests if r[0] == "post"]) == posts
    assert len(fake_stripe.of_type("price")) == 3


def test_a_new_price_replaces_the_old_one_for_new_subscriptions(fake_stripe, plans):
    call_command("stripe_sync_plans")
    old = Plan.objects.get(name="pro").stripe_price_id
    Plan.objects.filter(name="pro").update(price_cents=5900)
    call_command("stripe_sync_plans")
    new = Plan.objects.get(name="pro").stripe_price_id
    assert new != old
    assert fake_stripe.objects[new]["unit_amount"] == 5900
    assert fake_stripe.objects[old]["active"] is False


def test_it_fails_clearly_without_stripe(plans):
    with pytest.raises(CommandError, match="pas configurée"):
        call_command("stripe_sync_plans")


def test_it_fails_clearly_when_stripe_does_not_answer(fake_stripe, plans):
    fake_stripe.fail("get", "/v1/products/")
    with pytest.raises(CommandError, match="n'a pas répondu"):
        call_command("stripe_sync_plans")

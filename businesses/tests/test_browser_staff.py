"""Staff in a real browser: the owner invites an agent, who signs up from the e-mail's
link, runs the live queue, and cannot reach settings, statistics or billing."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail

from businesses import services
from businesses.models import Membership, Plan
from businesses.tests.personas import make_member
from waitify.tests.browser import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Un-mot-de-passe-solide-42"


def link_in(message, path: str) -> str:
    return urlsplit(re.search(rf"https?://\S+{path}\S+/", message.body).group(0)).path


def test_an_invited_agent_signs_up_and_runs_the_queue_but_nothing_else(
        open_page, screenshot, merchant, business):
    owner_page = open_page(user=merchant)
    owner_page.goto("/staff/")
    screenshot(owner_page, "staff-1-empty-fr")
    owner_page.fill("#id_email", "lucie@example.fr")
    owner_page.select_option("#staff-invite select[name=role]", "agent")
    owner_page.check(f"#staff-invite input[name=businesses][value='{business.pk}']")
    owner_page.locator("#staff-invite button[type=submit]").click()
    owner_page.wait_for_url("**/staff/")
    assert "lucie@example.fr" in owner_page.locator("#staff-list").inner_text()
    screenshot(owner_page, "staff-2-invited-fr")

    [invitation] = mail.outbox
    agent_page = open_page(viewport=PHONE)
    agent_page.goto(link_in(invitation, "/staff/join/"))
    assert "Marie" in agent_page.locator("h1").inner_text()
    screenshot(agent_page, "staff-3-join-page-fr-phone")
    agent_page.locator("#staff-join a[href^='/accounts/signup/']").click()
    agent_page.fill("#id_email", "lucie@example.fr")
    agent_page.fill("#id_password1", NEW_PASSWORD)
    agent_page.fill("#id_password2", NEW_PASSWORD)
    agent_page.locator("main form button[type=submit]").click()
    agent_page.wait_for_url("**/accounts/confirm-email/")
    agent_page.goto(link_in(mail.outbox[-1], "/accounts/confirm-email/"))
    agent_page.locator("main form button[type=submit]").click()
    agent_page.wait_for_url("**/dashboard/")

    assert Membership.objects.get().user.email == "lucie@example.fr"
    menu = agent_page.locator("nav.topnav").inner_text()
    assert "Statistiques" not in menu and "Facturation" not in menu and "Équipe" not in menu
    card = agent_page.locator(".business-card")
    assert card.locator(f"a[href='/businesses/{business.pk}/queue/']").count() == 1
    assert card.locator(f"a[href='/businesses/{business.pk}/']").count() == 0
    screenshot(agent_page, "staff-4-agent-dashboard-fr-phone")

    agent_page.goto(f"/businesses/{business.pk}/queue/")
    assert agent_page.locator("h1").inner_text() == "File en direct"
    assert business.name in agent_page.locator("main").inner_text()
    assert agent_page.locator(f"a[href='/businesses/{business.pk}/']").count() == 0
    screenshot(agent_page, "staff-5-agent-live-queue-fr-phone")

    for forbidden in (f"/businesses/{business.pk}/", f"/businesses/{business.pk}/analytics/",
                      "/analytics/", "/billing/", "/staff/"):
        response = agent_page.goto(forbidden)
        assert response.status == 404, forbidden
        assert business.name not in agent_page.content()
    assert agent_page.js_errors == []
    assert owner_page.js_errors == []


def test_the_staff_page_in_english_lists_people_and_says_how_to_get_more_seats(
        open_page, screenshot, merchant, business):
    make_member(merchant, "manager@example.fr", "manager", [business])
    services.staff_invite(account=merchant, email="pending@example.fr", role="agent",
                          businesses=[business])
    page = open_page(user=merchant, language="en")
    page.goto("/staff/")
    listing = page.locator("#staff-list").inner_text()
    assert "manager@example.fr" in listing and "Invitation sent" in listing
    screenshot(page, "staff-6-two-people-en")

    Plan.objects.filter(name="basic").update(max_staff=1)
    Plan.objects.filter(name="enterprise").update(max_staff=None)
    Plan.objects.filter(pk=merchant.plan_id).update(max_staff=3)
    page.reload()
    assert page.locator("#staff-limit").is_visible()
    assert page.locator("#staff-invite").count() == 0
    screenshot(page, "staff-7-limit-en")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "staff-8-limit-en-phone")
    assert page.js_errors == []

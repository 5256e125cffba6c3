"""Every kind of page in a real Chromium: run under the Content-Security-Policy without a
single violation or script error, and pass an axe-core accessibility audit with no serious
or critical finding, in French and English, on the screen each page is made for."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

from analytics.days import local_today
from analytics.tests.factories import make_business, seed_history
from businesses.models import LegalPage, User
from businesses.tests.factories import PASSWORD, make_merchant
from queues import services as queue_services
from queues.models import EntryStatus, QueueEntry, QueueState
from waitify.tests.browser import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TV = {"width": 1920, "height": 1080}
# axe-core comes from the npm registry (MPL-2.0), installed on first use into var/ (ignored
# by git): pinned, so that a new rule release does not change the verdict unannounced.
AXE_VERSION = "4.14.1"
AXE_PREFIX = Path(settings.BASE_DIR) / "var" / "axe-core"
AXE_SCRIPT = AXE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"

# Collects what the browser refuses, whatever the console says about it.
LISTEN_FOR_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} refused ${event.blockedURI}`
                            + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture(scope="session")
def axe_script() -> Path:
    package = AXE_SCRIPT.parent / "package.json"
    if not package.exists() or json.loads(package.read_text())["version"] != AXE_VERSION:
        subprocess.run([shutil.which("npm") or "npm", "install", "--prefix", str(AXE_PREFIX),  # noqa: S603 - fixed argv
                        "--no-save", "--no-audit", "--no-fund", f"axe-core@{AXE_VERSION}"],
                       check=True, capture_output=True, timeout=300)
    return AXE_SCRIPT


@dataclass
class Shop:
    owner: User
    staff: User
    business: object
    closed: object
    waiting: QueueEntry
    display_token: str
    legal_page: LegalPage


@pytest.fixture
def shop() -> Shop:
    """A merchant a month into Waitify: history, an open queue with someone called and
    people waiting, a second shop never opened; and a member of staff."""
    owner = make_merchant("marie@boulangerie.fr", plan="pro", first_name="Marie")
    business = make_business(owner, "Boulangerie du Marché", basket_cents=1100)
    seed_history(business, last=local_today() - timedelta(days=1), days=30, seed=3)
    closed = make_business(owner, "Boulangerie de la Gare")
    queue_services.queue_open(business=business)
    for number in range(3):
        queue_services.entry_join(business=business, phone=f"06123456{number:02d}",
                                  name=["Léa", "Karim", ""][number])
    queue_services.queue_call_next(business=business)
    staff = User.objects.create_superuser("staff@waitify.fr", PASSWORD)
    # The legal pages as the data migration writes them (a transactional test's flush
    # removed them).
    importlib.import_module("businesses.migrations.0006_h3_legal_pages_text").create_pages(
        apps, None)
    legal_page = LegalPage.objects.get(slug="privacy")
    return Shop(owner=owner, staff=staff, business=business, closed=closed,
                waiting=QueueEntry.objects.filter(business=business,
                                                  status=EntryStatus.WAITING).first(),
                display_token=QueueState.objects.get(pk=business.pk).display_token,
                legal_page=legal_page)


def customer_pages(shop: Shop) -> dict[str, str]:
    return {
        "join-open": f"/q/{shop.business.qr_token}",
        "join-closed": f"/q/{shop.closed.qr_token}",
        "join-unknown-code": "/q/not-a-code",
        "status": f"/q/s/{shop.waiting.secret}",
        "legal-privacy": "/legal/privacy/",
    }


def entrance_pages() -> dict[str, str]:
    return {"home": "/", "login": "/accounts/login/", "signup": "/accounts/signup/"}


def merchant_pages(shop: Shop) -> dict[str, str]:
    business = shop.business.pk
    return {
        "overview": "/dashboard/",
        "business-form": f"/businesses/{business}/",
        "new-business-form": "/businesses/new/",
        "live-queue": f"/businesses/{business}/queue/",
        "analytics": f"/businesses/{business}/analytics/",
        "comparison": "/analytics/",
        "billing": "/billing/",
        "account": "/account/",
        "password": "/accounts/password/change/",
    }


def admin_pages(shop: Shop) -> dict[str, str]:
    return {
        "admin-index": "/admin/",
        "admin-businesses": "/admin/businesses/business/",
        "admin-business": f"/admin/businesses/business/{shop.business.pk}/change/",
        "admin-user-add": "/admin/businesses/user/add/",
        "admin-legal-page": f"/admin/businesses/legalpage/{shop.legal_page.pk}/change/",
        "admin-queue-entries": "/admin/queues/queueentry/",
    }


def visit(page, url: str) -> None:
    response = page.goto(url)
    if url == "/q/not-a-code":
        assert response.status == 404, (url, response.status)
    else:
        assert response.status < 400, (url, response.status)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, (url, policy)
    assert "style-src 'self'" in policy, (url, policy)
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # violation events are dispatched as a task


def refused(page) -> list[str]:
    return page.evaluate("window.cspViolations") + page.js_errors


def test_customer_pages_run_under_the_content_security_policy(open_page, shop):
    page = open_page(viewport=PHONE)
    page.add_init_script(LISTEN_FOR_VIOLATIONS)

    for url in customer_pages(shop).values():
        visit(page, url)
        assert refused(page) == [], url

    # The status page refreshes itself (htmx polling) without an inline script or style.
    visit(page, f"/q/s/{shop.waiting.secret}")
    page.wait_for_timeout(3500)
    assert refused(page) == []


def test_entrance_and_merchant_pages_run_under_the_content_security_policy(open_page, shop):
    anonymous = open_page(viewport=DESKTOP)
    anonymous.add_init_script(LISTEN_FOR_VIOLATIONS)
    for url in entrance_pages().values():
        visit(anonymous, url)
        assert refused(anonymous) == [], url

    page = open_page(viewport=DESKTOP, user=shop.owner)
    page.add_init_script(LISTEN_FOR_VIOLATIONS)
    for url in merchant_pages(shop).values():
        visit(page, url)
        assert refused(page) == [], url

    # htmx at work on the live queue: calling the next customer swaps the panel in place.
    visit(page, f"/businesses/{shop.business.pk}/queue/")
    page.locator(".called-entry button", has_text="Servi").click()
    page.locator(".called-entry").wait_for(state="detached")
    page.wait_for_timeout(300)
    assert refused(page) == []


def test_the_shop_display_runs_under_the_content_security_policy(open_page, shop):
    page = open_page(viewport=TV)
    page.add_init_script(LISTEN_FOR_VIOLATIONS)

    visit(page, f"/display/{shop.display_token}")
    page.get_by_role("button", name="Touchez l'écran pour activer le son").click()
    page.wait_for_timeout(3500)  # one refresh of the board

    assert refused(page) == []


def test_the_django_admin_runs_under_the_content_security_policy(open_page, shop):
    page = open_page(viewport=DESKTOP, user=shop.staff)
    page.add_init_script(LISTEN_FOR_VIOLATIONS)

    for url in admin_pages(shop).values():
        visit(page, url)
        assert refused(page) == [], url

    # The admin's own scripts still work: the "select all" box of a change list.
    visit(page, "/admin/businesses/business/")
    page.locator("#action-toggle").check()
    assert page.locator("input.action-select:checked").count() == 2
    assert refused(page) == []


@pytest.mark.parametrize("answer, status", [(False, EntryStatus.WAITING),
                                            (True, EntryStatus.CANCELLED)])
def test_giving_up_a_place_asks_first_without_an_inline_handler(open_page, shop, answer,
                                                                 status):
    page = open_page(viewport=PHONE)
    page.add_init_script(LISTEN_FOR_VIOLATIONS)
    questions = []

    def on_dialog(dialog) -> None:
        questions.append(dialog.message)
        dialog.accept() if answer else dialog.dismiss()

    page.on("dialog", on_dialog)
    visit(page, f"/q/s/{shop.waiting.secret}")
    if answer:
        with page.expect_navigation():
            page.get_by_role("button", name="Annuler ma place").click()
    else:
        page.get_by_role("button", name="Annuler ma place").click()
        page.wait_for_timeout(500)

    assert questions == ["Renoncer à votre place dans la file ?"]
    shop.waiting.refresh_from_db()
    assert shop.waiting.status == status
    assert refused(page) == []


# --- Accessibility -----------------------------------------------------------------------------

def serious_violations(page, axe_script: Path) -> list[str]:
    page.add_script_tag(path=str(axe_script))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{violation['id']} ({violation['impact']}) {' '.join(node['target'])}: "
            + "; ".join(check["message"] for check in node["any"] + node["all"])
            for violation in results["violations"]
            if violation["impact"] in ("serious", "critical")
            for node in violation["nodes"]]


def audit(page, axe_script: Path, screenshot, pages: dict[str, str], label: str) -> dict:
    found = {}
    for name, url in pages.items():
        response = page.goto(url)
        if name == "join-unknown-code":
            assert response.status == 404, (url, response.status)
        else:
            assert response.status < 400, (url, response.status)
        page.wait_for_load_state("load")
        screenshot(page, f"a11y-{name}-{label}")
        violations = serious_violations(page, axe_script)
        if violations:
            found[name] = violations
    return found


@pytest.mark.parametrize("language", ["fr", "en"])
def test_customer_pages_pass_the_accessibility_audit_on_a_phone(open_page, shop, axe_script,
                                                                screenshot, language):
    page = open_page(viewport=PHONE, language=language, bypass_csp=True)
    pages = customer_pages(shop) | entrance_pages()

    found = audit(page, axe_script, screenshot, pages, f"{language}-phone")

    # A join refused for a bad number shows the form again with its error.
    page.goto(f"/q/{shop.business.qr_token}")
    page.fill(".join-form input[name=phone]", "12")
    with page.expect_navigation():
        page.locator(".join-form button[type=submit]").click()
    screenshot(page, f"a11y-join-error-{language}-phone")
    if violations := serious_violations(page, axe_script):
        found["join-error"] = violations
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_merchant_pages_pass_the_accessibility_audit_on_a_desktop(open_page, shop, axe_script,
                                                                  screenshot, language):
    page = open_page(viewport=DESKTOP, language=language, user=shop.owner, bypass_csp=True)

    found = audit(page, axe_script, screenshot, merchant_pages(shop), f"{language}-desktop")

    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_shop_display_passes_the_accessibility_audit(open_page, shop, axe_script,
                                                         screenshot, language):
    page = open_page(viewport=TV, language=language, bypass_csp=True)

    found = audit(page, axe_script, screenshot, {"display": f"/display/{shop.display_token}"},
                  f"{language}-tv")

    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


def test_the_skip_link_is_the_first_stop_of_the_keyboard_and_leads_to_the_content(
        open_page, shop, screenshot):
    page = open_page(viewport=DESKTOP, user=shop.owner)
    visit(page, "/dashboard/")

    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "Aller au contenu"
    assert skip.is_visible()
    screenshot(page, "skip-link-focused-fr-desktop")
    page.keyboard.press("Enter")

    assert page.evaluate("document.activeElement.id") == "content"

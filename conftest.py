"""Personas and shared test set-up.

Three personas, as in every view test: the owner (`merchant`), another
merchant (`outsider`) and an anonymous visitor (`client`).

Tests import their helpers from modules (`businesses.tests.factories`,
`waitify.tests.browser`), not from this file.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from businesses import services as business_services
from businesses.models import Plan, User
from businesses.tests.factories import make_merchant
from waitify import celery_app
from waitify.lib.breaker import redis_breaker
from waitify.tests.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, SCREENSHOTS_DIR


@pytest.fixture(autouse=True, scope="session")
def _test_settings():
    # Static files are not collected for tests; tasks run inline unless a
    # test starts a real worker.
    celery_app.conf.task_always_eager = True
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        SITE_URL="https://waitify.test",
        # Real hashing costs ~0.5 s per user; tests create hundreds.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    ):
        yield


@pytest.fixture(scope="session")
def _empty_the_cache():
    """Redis: deletes this process's keys only (its own prefix), never FLUSHDB, which would
    also wipe the keys of the tests other workers of a parallel run are running; through a
    client that waits for a busy Redis (the product's cache gives up after 50 ms)."""
    from django.conf import settings
    from django_redis.cache import RedisCache

    default = settings.CACHES["default"]
    if not settings.REDIS_URL:
        return cache.clear
    patient = RedisCache(default["LOCATION"], {
        "KEY_PREFIX": default.get("KEY_PREFIX", ""),
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 5, "SOCKET_TIMEOUT": 5}})
    return lambda: patient.delete_pattern("*")


@pytest.fixture(autouse=True)
def _clean_cache(_empty_the_cache):
    redis_breaker.reset()  # a Redis fault seen by one test must not skip Redis in the next
    _empty_the_cache()
    yield


@pytest.fixture
def plans(db) -> dict[str, Plan]:
    """The three default plans, seeded by a data migration."""
    business_services.ensure_default_plans()  # a transactional test's flush removes them
    return {plan.name: plan for plan in Plan.objects.all()}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # A transactional test ends with a flush that also empties what the data
    # migrations seeded (plans, platform settings, site); with --reuse-db the next
    # run would start without them. Seed them again once per run.
    from django.apps import apps

    seed = importlib.import_module("businesses.migrations.0002_default_plans")
    with django_db_blocker.unblock():
        seed.seed_plans_and_settings(apps, None)
        importlib.import_module("businesses.migrations.0008_h2_staff").set_staff_seats(apps, None)


@pytest.fixture
def merchant(db) -> User:
    return make_merchant("owner@example.fr", plan="pro", first_name="Marie")


@pytest.fixture
def outsider(db) -> User:
    return make_merchant("outsider@example.fr", plan="pro")


@pytest.fixture
def business(merchant):
    return business_services.business_create(owner=merchant, name="Boulangerie Martin",
                                             business_type="bakery")


@pytest.fixture
def outsider_business(outsider):
    return business_services.business_create(owner=outsider, name="Garage Dupont",
                                             business_type="garage")


@pytest.fixture
def merchant_client(client, merchant):
    client.force_login(merchant)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture
def api_client(merchant) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=merchant).key}")
    return api


@pytest.fixture
def outsider_api_client(outsider) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=outsider).key}")
    return api


# Tests that need the machine to themselves (a real browser, processes started by the
# test, real concurrency and timing) are also `serial`: `make test` runs them in a
# second pass (`--pass serial`), one at a time, after the parallel pass (`--pass
# parallel`, pytest -n) of all the others. A `-m` of one's own still applies to both.
SERIAL = ("browser", "compose", "postgres")


def pytest_addoption(parser):
    parser.addoption("--pass", dest="test_pass", choices=["parallel", "serial"],
                     help="parallel: leave out the tests marked serial; serial: only them")


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(name in item.keywords for name in SERIAL):
            item.add_marker(pytest.mark.serial)
    test_pass = config.getoption("test_pass")
    if test_pass:
        wanted = test_pass == "serial"
        kept = [item for item in items if ("serial" in item.keywords) == wanted]
        config.hook.pytest_deselected(
            items=[item for item in items if ("serial" in item.keywords) != wanted])
        items[:] = kept
    # Row locks under real concurrency need PostgreSQL: skipped, loudly, without it.
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="*** needs PostgreSQL (DATABASE_URL unreachable) ***")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


# --- Real browser: Debian's chromium driven by Playwright ----------------------------
# Used by tests marked `browser` (constants in waitify/tests/browser.py).


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run (starting it costs about a second)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"*** {CHROMIUM} is missing (apt-get install chromium): browser tests "
                    "SKIPPED ***")
    # The sync Playwright API runs an event loop in this thread; the ORM calls the
    # tests make around it are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, live_server):
    """Open a tab on the live server: `open_page(viewport=PHONE, language="en", user=…)`.

    The tab speaks French like a browser in France; `language` sets Django's language
    cookie instead, `user` logs the tab in. JavaScript errors and console errors are
    collected in `page.js_errors`. `bypass_csp` lets a test inject its own script (axe).
    """
    from django.conf import settings
    from django.test import Client

    contexts = []

    def _open(*, viewport: dict | None = None, language: str | None = None,
              user: User | None = None, bypass_csp: bool = False):
        context = browser.new_context(viewport=viewport or DESKTOP, base_url=live_server.url,
                                      locale="fr-FR", accept_downloads=True,
                                      bypass_csp=bypass_csp)
        contexts.append(context)
        cookies = []
        if language:
            cookies.append({"name": settings.LANGUAGE_COOKIE_NAME, "value": language,
                            "url": live_server.url})
        if user is not None:
            django_client = Client()
            django_client.force_login(user)
            session = django_client.cookies[settings.SESSION_COOKIE_NAME].value
            cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session,
                            "url": live_server.url})
        if cookies:
            context.add_cookies(cookies)
        page = context.new_page()
        page.js_errors = []

        def on_console(message) -> None:
            # A page served with an error status (the friendly 404 of an old QR code)
            # is reported as a failed load of the document itself: tests check the
            # status of the documents they open, so only other resources count here.
            if message.type != "error":
                return
            if (message.text.startswith("Failed to load resource")
                    and message.location.get("url") == page.url):
                return
            page.js_errors.append(f"console: {message.text} ({message.location.get('url')})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: page.js_errors.append(f"page error: {error}"))
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    """`screenshot(page, "login-fr-phone")` saves a full-page PNG under /screenshots/."""
    SCREENSHOTS_DIR.mkdir(exist_ok=True)

    def _save(page, name: str) -> Path:
        path = SCREENSHOTS_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _save

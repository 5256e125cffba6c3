"""Personas and shared test set-up.

Three personas, as in every view test: the owner (`merchant`), another
merchant (`outsider`) and an anonymous visitor (`client`).
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from businesses import services as business_services
from businesses.models import Plan, User
from waitify import celery_app

PASSWORD = "correct-horse-battery-staple"


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
    ):
        yield


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield


@pytest.fixture
def plans(db) -> dict[str, Plan]:
    """The three default plans, seeded by a data migration."""


    return {plan.name: plan for plan in Plan.objects.all()}


def make_merchant(email: str, plan: str = "basic", **extra) -> User:
    business_services.ensure_default_plans()  # a transactional test's flush removes them
    user = User.objects.create_user(email, PASSWORD, plan=Plan.objects.get(name=plan), **extra)
    return user


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


def pytest_collection_modifyitems(config, items):
    # Row locks under real concurrency need PostgreSQL: skipped, loudly, without it.
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="*** needs PostgreSQL (DATABASE_URL unreachable) ***")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)

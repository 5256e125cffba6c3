"""The Django admin's door: the site's login, with its failed-login limits."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress

from businesses.tests.factories import PASSWORD, make_merchant


@pytest.fixture
def staff(db):
    user = make_merchant("staff@waitify.fr", is_staff=True, is_superuser=True)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


def site_login(client, password: str, **extra):
    return client.post("/accounts/login/?next=/admin/",
                       {"login": "staff@waitify.fr", "password": password},
                       HTTP_ACCEPT_LANGUAGE="en", **extra)


def test_the_admin_login_sends_staff_to_the_site_login(client, staff):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "next=%2Fadmin%2F" in response["Location"]


def test_a_password_posted_to_the_admin_login_logs_nobody_in(client, staff):
    response = client.post("/admin/login/?next=/admin/",
                           {"username": "staff@waitify.fr", "password": PASSWORD})
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_thirty_wrong_passwords_then_the_right_one_is_refused(client, staff):
    # From thirty different addresses: the per-account limit alone stops the guesser.
    for attempt in range(30):
        site_login(client, f"wrong-{attempt}", REMOTE_ADDR=f"198.51.100.{attempt}")
    response = site_login(client, PASSWORD, REMOTE_ADDR="198.51.100.200")
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_staff_reach_the_admin_after_the_site_login(client, staff):
    response = site_login(client, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_merchant_signed_in_on_the_site_is_not_let_into_the_admin(client, db):
    merchant = make_merchant("owner@example.fr")
    client.force_login(merchant)
    assert client.get("/admin/login/").status_code == 403
    assert client.get("/admin/").status_code == 302

"""POST /api/v1/auth/token, authentication and API access by plan."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.forms import SetPasswordForm
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from businesses.tests.factories import PASSWORD, make_merchant
from waitify.lib.api import AccountRateThrottle

TOKEN_URL = "/api/v1/auth/token"


def verify_email(user) -> None:
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)


@pytest.fixture
def merchant(merchant):
    """The owner signed up and confirmed their address, as every real merchant did."""
    verify_email(merchant)
    return merchant


def ask_token(password: str = PASSWORD, email: str = "owner@example.fr", **extra):
    return APIClient().post(TOKEN_URL, {"email": email, "password": password},
                            format="json", **extra)


def auth_limit() -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth_token"].split("/")[0])


def test_it_exchanges_good_credentials_for_a_token(merchant):
    response = APIClient().post(TOKEN_URL, {"email": "owner@example.fr", "password": PASSWORD},
                                format="json")
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=merchant).key}


def test_the_token_it_gives_opens_the_api(merchant):
    token = APIClient().post(TOKEN_URL, {"email": "owner@example.fr", "password": PASSWORD},
                             format="json").json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/businesses").status_code == 200


def test_it_accepts_form_encoded_credentials(merchant):
    response = APIClient().post(TOKEN_URL,
                                urlencode({"email": "owner@example.fr", "password": PASSWORD}),
                                content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert response.json()["token"]


def test_it_gives_the_same_token_twice(merchant):
    body = {"email": "owner@example.fr", "password": PASSWORD}
    first = APIClient().post(TOKEN_URL, body, format="json").json()["token"]
    second = APIClient().post(TOKEN_URL, body, format="json").json()["token"]
    assert first == second
    assert Token.objects.filter(user=merchant).count() == 1


def test_it_refuses_a_wrong_password_with_a_json_401(merchant):
    response = APIClient().post(TOKEN_URL, {"email": "owner@example.fr", "password": "nope"},
                                format="json")
    assert response.status_code == 401
    assert response.json()["code"] == 4104
    assert response.json()["error"] == "invalid_credentials"
    assert response.json()["message"]
    assert not Token.objects.filter(user=merchant).exists()


def test_it_refuses_an_unknown_email_with_a_json_401(db):
    response = APIClient().post(TOKEN_URL, {"email": "nobody@example.fr", "password": PASSWORD},
                                format="json")
    assert response.status_code == 401
    assert response.json()["code"] == 4104


def test_it_refuses_a_deactivated_account(merchant):
    merchant.is_active = False
    merchant.save()
    response = APIClient().post(TOKEN_URL, {"email": "owner@example.fr", "password": PASSWORD},
                                format="json")
    assert response.status_code == 401


@pytest.mark.parametrize("body", [
    {},
    {"email": "not-an-email", "password": "x"},
    {"email": "owner@example.fr\x00", "password": PASSWORD},
    {"email": "owner@example.fr", "password": "a" * 10_000},
])
def test_it_answers_malformed_credentials_with_a_json_400(merchant, body):
    response = APIClient().post(TOKEN_URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert response.json()["error"] == "invalid"
    assert response.json()["errors"]


def test_it_throttles_password_guessing_with_a_json_429(merchant):
    client = APIClient()
    for attempt in range(auth_limit()):
        body = {"email": f"guess{attempt}@example.fr", "password": "guess"}
        assert client.post(TOKEN_URL, body, format="json").status_code == 401
    response = client.post(TOKEN_URL, {"email": "owner@example.fr", "password": PASSWORD},
                           format="json")
    assert response.status_code == 429
    assert response.json()["code"] == 429
    assert response.json()["error"] == "throttled"
    assert response.json()["message"]


def test_it_asks_an_anonymous_caller_to_authenticate(db):
    response = APIClient().get("/api/v1/businesses")
    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert response.json()["error"] == "not_authenticated"


def test_it_refuses_an_unknown_token(db):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/v1/businesses")
    assert response.status_code == 401
    assert response.json()["code"] == 401


def test_it_accepts_a_logged_in_session(merchant):
    api = APIClient()
    api.force_login(merchant)
    assert api.get("/api/v1/businesses").status_code == 200


def test_it_refuses_a_plan_without_api_access_with_a_clear_403(db):
    user = make_merchant("basic@example.fr", plan="basic")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = api.get("/api/v1/businesses")
    assert response.status_code == 403
    assert response.json()["code"] == 403
    assert response.json()["error"] == "no_api_access"
    assert "API" in response.json()["message"]


def test_it_refuses_a_new_trial_account(db):
    user = make_merchant("trial@example.fr")
    assert user.subscription_status == "trial"
    api = APIClient()
    api.force_login(user)
    assert api.get("/api/v1/businesses").status_code == 403


def test_it_lets_the_enterprise_plan_in(db):
    user = make_merchant("big@example.fr", plan="enterprise")
    api = APIClient()
    api.force_login(user)
    assert api.get("/api/v1/businesses").status_code == 200


def test_it_throttles_each_account_on_its_own(merchant, outsider, api_client,
                                              outsider_api_client, monkeypatch):
    monkeypatch.setattr(AccountRateThrottle, "rate", "2/min", raising=False)
    assert api_client.get("/api/v1/businesses").status_code == 200
    assert api_client.get("/api/v1/businesses").status_code == 200
    response = api_client.get("/api/v1/businesses")
    assert response.status_code == 429
    assert response.json()["error"] == "throttled"
    assert outsider_api_client.get("/api/v1/businesses").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/businesses/not-a-uuid",
                                  "/api/v1/businesses/"])
def test_it_answers_unknown_api_paths_in_json(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == 404
    assert response.json()["error"] == "not_found"


# --- Password guessing, confirmed e-mail, revocation ------------------------------------

def test_a_new_forwarded_address_each_try_does_not_reset_the_limits(merchant):
    codes = [ask_token("wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
             for n in range(40)]
    assert codes.count(401) <= 5
    response = ask_token(HTTP_X_FORWARDED_FOR="198.51.100.200")
    assert response.status_code == 429
    assert response.json()["code"] == 429
    assert not Token.objects.filter(user=merchant).exists()


def test_an_account_locked_out_of_the_website_login_gets_no_token_either(client, merchant):
    for _attempt in range(5):
        response = client.post("/accounts/login/",
                               {"login": "owner@example.fr", "password": "wrong"},
                               REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 200
    response = ask_token(REMOTE_ADDR="203.0.113.99")
    assert response.status_code == 429
    assert response.json()["error"] == "too_many_login_attempts"
    assert response.json()["message"]
    assert not Token.objects.filter(user=merchant).exists()


def test_failed_token_attempts_lock_the_website_login_too(client, merchant):
    for _attempt in range(5):
        assert ask_token("wrong", REMOTE_ADDR="203.0.113.7").status_code == 401
    response = client.post("/accounts/login/",
                           {"login": "owner@example.fr", "password": PASSWORD},
                           REMOTE_ADDR="203.0.113.99", HTTP_ACCEPT_LANGUAGE="en")
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()


def test_a_good_password_after_a_few_mistakes_still_gets_a_token(merchant):
    for _attempt in range(3):
        assert ask_token("wrong").status_code == 401
    assert ask_token().status_code == 200


def test_an_unconfirmed_email_gets_no_token(db):
    user = make_merchant("new@example.fr", plan="pro")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    response = ask_token(email="new@example.fr")
    assert response.status_code == 403
    assert response.json()["code"] == 4105
    assert response.json()["error"] == "email_not_verified"
    assert response.json()["message"]
    assert not Token.objects.filter(user=user).exists()


def test_an_account_with_no_email_record_gets_no_token(db):
    user = make_merchant("legacy@example.fr", plan="pro")
    assert ask_token(email="legacy@example.fr").status_code == 403
    assert not Token.objects.filter(user=user).exists()


def test_a_password_change_revokes_the_token(merchant):
    old_token = ask_token().json()["token"]
    form = SetPasswordForm(merchant, {"new_password1": "another-long-passphrase-42",
                                      "new_password2": "another-long-passphrase-42"})
    assert form.is_valid(), form.errors
    form.save()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old_token}")
    assert api.get("/api/v1/businesses").status_code == 401
    new_token = ask_token("another-long-passphrase-42").json()["token"]
    assert new_token != old_token


def test_a_password_change_on_the_account_page_revokes_the_token(client, merchant):
    old_token = ask_token().json()["token"]
    client.force_login(merchant)
    response = client.post("/accounts/password/change/", {
        "oldpassword": PASSWORD, "password1": "another-long-passphrase-42",
        "password2": "another-long-passphrase-42"})
    assert response.status_code == 302
    assert not Token.objects.filter(key=old_token).exists()


def test_logging_in_keeps_the_token(client, merchant):
    token = ask_token().json()["token"]
    client.post("/accounts/login/", {"login": "owner@example.fr", "password": PASSWORD})
    assert "_auth_user_id" in client.session
    assert Token.objects.filter(key=token, user=merchant).exists()


def test_the_owner_revokes_their_token(merchant):
    token = ask_token().json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.delete(TOKEN_URL)
    assert response.status_code == 204
    assert not Token.objects.filter(user=merchant).exists()
    assert api.get("/api/v1/businesses").status_code == 401


def test_revoking_leaves_other_accounts_tokens_alone(api_client, outsider_api_client,
                                                    outsider):
    assert api_client.delete(TOKEN_URL).status_code == 204
    assert Token.objects.filter(user=outsider).exists()
    assert outsider_api_client.get("/api/v1/businesses").status_code == 200


def test_revoking_needs_authentication(db):
    response = APIClient().delete(TOKEN_URL)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"

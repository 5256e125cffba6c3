"""POST /api/v1/auth/token, authentication and API access by plan."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conftest import PASSWORD, make_merchant
from waitify.lib.api import AccountRateThrottle

TOKEN_URL = "/api/v1/auth/token"


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
    assert response.json()["code"] == 401
    assert response.json()["error"] == "invalid_credentials"
    assert response.json()["message"]
    assert not Token.objects.filter(user=merchant).exists()


def test_it_refuses_an_unknown_email_with_a_json_401(db):
    response = APIClient().post(TOKEN_URL, {"email": "nobody@example.fr", "password": PASSWORD},
                                format="json")
    assert response.status_code == 401
    assert response.json()["code"] == 401


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
    body = {"email": "owner@example.fr", "password": "guess"}
    for _attempt in range(auth_limit()):
        assert client.post(TOKEN_URL, body, format="json").status_code == 401
    response = client.post(TOKEN_URL, body | {"password": PASSWORD}, format="json")
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

"""Every answer under /api/v1/ is JSON in the error shape, whatever refused the request."""

from __future__ import annotations

import json

import pytest
from django.test import Client, RequestFactory

from businesses import api as businesses_api
from waitify.lib.api import server_error


def assert_json_error(response, status: int, error: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == status
    assert body["error"] == error
    assert body["message"]


@pytest.fixture
def csrf_client(merchant) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(merchant)
    return client


def test_a_session_post_without_csrf_token_is_a_json_403(csrf_client, merchant):
    response = csrf_client.post("/api/v1/businesses", {"name": "Chez Paul",
                                                       "business_type": "bakery"},
                                content_type="application/json")
    assert_json_error(response, 403, "permission_denied")
    assert not merchant.businesses.exists()


def test_a_session_post_to_an_unknown_api_path_is_a_json_404(csrf_client):
    response = csrf_client.post("/api/v1/nothing-here", {}, content_type="application/json")
    assert_json_error(response, 404, "not_found")


def test_a_csrf_refusal_on_a_page_is_still_django_page(client, merchant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(merchant)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_a_json_body_over_the_size_limit_is_a_json_413(api_client, merchant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = json.dumps({"name": "x" * 2_000, "business_type": "bakery"})
    response = api_client.post("/api/v1/businesses", body, content_type="application/json")
    assert_json_error(response, 413, "request_too_large")
    assert not merchant.businesses.exists()


def test_a_form_body_over_the_size_limit_is_a_json_413(settings, db):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = Client().post("/api/v1/auth/token",
                             f"email=a@example.fr&password={'x' * 2_000}",
                             content_type="application/x-www-form-urlencoded")
    assert_json_error(response, 413, "request_too_large")


def test_an_error_outside_the_api_views_is_a_json_500_under_api():
    response = server_error(RequestFactory().get("/api/v1/businesses"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"] == "server_error"


def test_an_error_on_a_page_is_still_django_page(db):
    response = server_error(RequestFactory().get("/dashboard/"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_an_unexpected_error_is_a_json_500_and_logged(api_client, monkeypatch, caplog):
    def broken(user):
        raise RuntimeError("a bug")

    monkeypatch.setattr(businesses_api, "businesses_of", broken)
    response = api_client.get("/api/v1/businesses")
    assert_json_error(response, 500, "server_error")
    assert "a bug" not in response.content.decode()
    assert "RuntimeError: a bug" in caplog.text

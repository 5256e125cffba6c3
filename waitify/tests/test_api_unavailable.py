"""The API when a dependency is down: JSON in the documented shape, 503, never HTML."""

from __future__ import annotations

import pytest
from django.db import connection

from queues.tests.factories import open_queue

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def database_down():
    """Every new connection goes to a port where no PostgreSQL listens."""
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = 1
    yield
    connection.settings_dict["PORT"] = saved
    connection.close()


def test_the_api_answers_503_json_when_the_database_is_down(api_client, business,
                                                            database_down):
    response = api_client.get(f"/api/v1/businesses/{business.pk}/queue")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["code"] == 503
    assert body["error"] == "service_unavailable"
    assert body["message"]


def test_the_public_join_answers_503_json_when_the_database_is_down(client, business):
    queue = open_queue(business)
    url = f"/api/v1/public/{queue.qr_token}/join"
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = 1
    try:
        response = client.post(url, {"phone": "0612345678"}, content_type="application/json",
                               HTTP_ACCEPT_LANGUAGE="en")
    finally:
        connection.settings_dict["PORT"] = saved
        connection.close()

    assert response.status_code == 503
    assert response.json() == {"code": 503, "error": "service_unavailable",
                               "message": "The service is briefly unavailable. "
                                          "Please try again in a moment."}

"""The OpenAPI schema: valid, free of warnings, and served at /api/v1/schema/."""

from __future__ import annotations

import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

BUSINESS_PATHS = {
    "/api/v1/auth/token",
    "/api/v1/businesses",
    "/api/v1/businesses/summary",
    "/api/v1/businesses/{business_id}",
    "/api/v1/businesses/{business_id}/activate",
    "/api/v1/businesses/{business_id}/queue/settings",
    "/api/v1/businesses/{business_id}/qr-code/regenerate",
}


def test_the_schema_validates_without_warnings(db, tmp_path):
    # --fail-on-warn turns any warning or error of drf-spectacular into a CommandError.
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert set(schema["paths"]) >= BUSINESS_PATHS


def test_the_schema_is_served_to_anyone(db):
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Waitify API"
    assert set(schema["paths"]) >= BUSINESS_PATHS
    assert set(schema["paths"]["/api/v1/businesses/{business_id}"]) >= {"get", "put", "delete"}

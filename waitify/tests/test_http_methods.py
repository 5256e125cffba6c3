"""Every page of the product answers 405 to a method it does not serve, never a 500."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

PROJECT_APPS = ("businesses", "queues", "analytics", "billing", "waitify")
SAMPLE = {"uuid": lambda: str(uuid.uuid4()), "str": lambda: "abcdef", "slug": lambda: "open",
          "int": lambda: "1", "path": lambda: "x"}


def project_routes() -> list[tuple[str, object]]:
    """Every view of ours with its path (allauth's, the admin's and Django's are theirs)."""
    routes = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if prefix.startswith("admin/"):  # the admin's own views, whatever they wrap
                continue
            if isinstance(pattern, URLResolver):
                if isinstance(pattern.pattern, RoutePattern) or not str(pattern.pattern):
                    walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            assert isinstance(pattern, URLPattern)
            module = pattern.callback.__module__.split(".")[0]
            if module in PROJECT_APPS and isinstance(pattern.pattern, RoutePattern):
                routes.append((prefix + str(pattern.pattern), pattern.callback))

    walk(get_resolver().url_patterns, "")
    return routes


def concrete(route: str) -> str:
    return "/" + re.sub(r"<(\w+):\w+>", lambda match: SAMPLE[match.group(1)](), route)


ROUTES = project_routes()


def serves(view, method: str) -> bool:
    """An API view declares its methods (`view.cls`); a page serves no PUT or DELETE."""
    return hasattr(getattr(view, "cls", None), method)


CASES = [(route, method) for route, view in ROUTES for method in ("put", "delete")
         if not serves(view, method)]


def test_the_walk_finds_the_pages_and_the_api():
    routes = [route for route, _view in ROUTES]
    assert "businesses/<uuid:business_id>/queue/" in routes
    assert "q/s/<str:secret>" in routes
    assert "api/v1/businesses" in routes
    assert ("api/v1/businesses/<uuid:business_id>", "put") not in CASES
    assert len(CASES) > 60


@pytest.mark.parametrize(("route", "method"), CASES)
def test_an_unserved_method_is_a_405(merchant_client, route, method):
    path = concrete(route)
    response = getattr(merchant_client, method)(path)
    assert response.status_code == 405, path


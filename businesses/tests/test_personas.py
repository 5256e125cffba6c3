"""Every merchant page and API route of a business, tried by five personas: the owner,
a manager and an agent of business A, an agent of business B (same account) and an
outsider (another account). Each sees what their role opens on A, and a 404 for the
rest, with nothing changed.

The routes come from the URL resolver: a route taking a business id that is not in
`PERMISSION_OF` fails `test_every_business_route_has_a_permission`.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from businesses.models import Business, Membership
from businesses.tests.personas import PERSONAS, make_team
from queues import services as queue_services
from queues.models import QueueEntry, QueueState

# The permission each route needs on its business ("queue" ⊂ "settings" = "stats" ⊂ "owner"
# by role); a dict when it depends on the method.
PERMISSION_OF: dict[str, str | dict[str, str]] = {
    # Pages
    "businesses:detail": "settings",
    "businesses:deactivate": "owner",
    "businesses:activate": "owner",
    "businesses:regenerate_qr": "settings",
    "businesses:qr_png": "settings",
    "businesses:qr_svg": "settings",
    "businesses:poster": "settings",
    "queues:live": "queue",
    "queues:walk_in": "queue",
    "queues:display_regenerate": "queue",
    "queues:queue_action": "queue",
    "queues:ticket": "queue",
    "queues:entry_action": "queue",
    "queues:counter_switch": "queue",
    "queues:setup": "settings",
    "queues:service_add": "settings",
    "queues:service_save": "settings",
    "queues:service_delete": "settings",
    "queues:counter_add": "settings",
    "queues:counter_save": "settings",
    "queues:counter_delete": "settings",
    "analytics:business": "stats",
    "analytics:business_export": "stats",
    # API
    "api-business": {"get": "settings", "put": "settings", "delete": "owner"},
    "api-business-activate": "owner",
    "api-business-queue-settings": "settings",
    "api-business-qr-regenerate": "settings",
    "api-queue": "queue",
    **{f"api-queue-{name}": "queue" for name in queue_services.QUEUE_SWITCHES},
    "api-queue-next": "queue",
    "api-queue-walk-in": "queue",
    **{f"api-entry-{name}": "queue" for name in queue_services.ENTRY_MOVES},
    "api-business-analytics-dashboard": "stats",
    "api-business-analytics-daily": "stats",
    "api-business-analytics-export": "stats",
    "api-business-analytics-breakdown": "stats",
    "api-entry-call": "queue",
    "api-entry-priority": "queue",
    "api-entry-transfer": "queue",
    # Agents read the counters and services to pick theirs; changing them is set-up.
    "api-counters": {"get": "queue", "post": "settings"},
    "api-counter": "settings",
    "api-services": {"get": "queue", "post": "settings"},
    "api-service": "settings",
}
# Who holds each permission on business A.
ALLOWED = {
    "queue": {"owner", "manager_a", "agent_a"},
    "settings": {"owner", "manager_a"},
    "stats": {"owner", "manager_a"},
    "owner": {"owner"},
}
# The account's own pages and routes (no business id): its owner's only. Staff get a
# 404; another owner reaches their own.
ACCOUNT_PAGES = [("billing:page", "get"), ("billing:choose", "post"),
                 ("billing:portal", "post"), ("analytics:comparison", "get"),
                 ("businesses:staff", "get"), ("businesses:staff", "post")]
ACCOUNT_ROUTES = [("/api/v1/staff", "get"), ("/api/v1/staff", "post"),
                  ("/api/v1/billing/usage", "get"), ("/api/v1/billing/plans/pro/choose", "post"),
                  ("/api/v1/analytics/dashboard", "get"), ("/api/v1/analytics/comparison", "get"),
                  ("/api/v1/analytics/consolidated/week", "get")]
ATTACK = {"name": "Pwned", "business_type": "other", "max_queue_size": 1,
          "email": "pirate@example.fr", "role": "manager", "businesses": []}


def _routes(patterns=None, namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and "business_id" in str(pattern.pattern):
            yield f"{namespace}{pattern.name}", pattern


BUSINESS_ROUTES = dict(_routes())


def _methods(name: str) -> list[str]:
    view = getattr(BUSINESS_ROUTES[name].callback, "view_class", None)
    if view is None:  # a function view: its method is found by asking
        return ["page"]
    return [method for method in ("get", "post", "put", "delete") if hasattr(view, method)]


CASES = [(name, method) for name in PERMISSION_OF for method in _methods(name)]


def _permission(name: str, method: str) -> str:
    permission = PERMISSION_OF[name]
    return permission[method] if isinstance(permission, dict) else permission


def snapshot(team) -> dict:
    business = team.business_a
    return {
        "business": list(Business.objects.filter(pk=business.pk).values()),
        "state": list(QueueState.objects.filter(pk=business.pk).values()),
        "entries": list(QueueEntry.objects.filter(business=business).order_by("pk").values()),
        "staff": list(Membership.objects.order_by("pk").values("pk", "role", "user")),
    }


@pytest.fixture
def team(merchant, outsider):
    team = make_team(merchant, outsider)
    queue_services.queue_open(business=team.business_a)
    team.entry = queue_services.entry_join(business=team.business_a, phone="0612345678",
                                           name="Léa")
    return team


def _url(name: str, team) -> str:
    pattern = BUSINESS_ROUTES[name]
    values = {"business_id": team.business_a.pk, "entry_id": team.entry.pk,
              "counter_id": team.business_a.counters.first().pk,
              "service_id": team.business_a.services.first().pk,
              "action": "serve" if "entry" in str(pattern.pattern) else "pause"}
    return reverse(name, kwargs={key: values[key] for key in pattern.pattern.converters})


def _ask(team, persona: str, name: str, method: str):
    url = _url(name, team)
    if name.startswith("api-"):
        return getattr(team.api(persona), method)(url, ATTACK, format="json")
    client = team.client(persona)
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, ATTACK)
    return response


def test_every_business_route_has_a_permission():
    assert set(BUSINESS_ROUTES) == set(PERMISSION_OF)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case[1]}-{case[0]}")
def test_each_persona_reaches_what_their_role_opens_and_nothing_else(team, persona, case):
    name, method = case
    before = snapshot(team)

    response = _ask(team, persona, name, method)

    if persona in ALLOWED[_permission(name, method if method != "page" else "get")]:
        assert response.status_code not in (403, 404, 500), response.content[:300]
    else:
        assert response.status_code == 404
        assert b"Pharmacie A" not in response.content
        assert snapshot(team) == before


@pytest.mark.parametrize("persona", ["manager_a", "agent_a", "agent_b"])
@pytest.mark.parametrize("page", ACCOUNT_PAGES, ids=lambda page: f"{page[1]}-{page[0]}")
def test_staff_cannot_open_the_account_pages(team, persona, page):
    name, method = page
    before = snapshot(team)
    url = reverse(name, args=["pro"]) if name == "billing:choose" else reverse(name)

    response = getattr(team.client(persona), method)(url, ATTACK if method == "post" else None)

    assert response.status_code == 404
    assert snapshot(team) == before


@pytest.mark.parametrize("persona", ["manager_a", "agent_a", "agent_b"])
@pytest.mark.parametrize("route", ACCOUNT_ROUTES, ids=lambda route: f"{route[1]}-{route[0]}")
def test_staff_cannot_use_the_account_routes(team, persona, route):
    path, method = route
    before = snapshot(team)

    response = getattr(team.api(persona), method)(path, ATTACK, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == 404
    assert snapshot(team) == before


@pytest.mark.parametrize("persona", ["owner", "outsider"])
def test_an_owner_opens_their_own_account_pages(team, persona):
    client = team.client(persona)
    for name in ("billing:page", "analytics:comparison", "businesses:staff"):
        assert client.get(reverse(name)).status_code == 200, name
    assert team.api(persona).get("/api/v1/staff").status_code == 200


@pytest.mark.parametrize("persona", ["manager_a", "agent_a", "agent_b", "outsider"])
@pytest.mark.parametrize("action", ["update", "remove"])
def test_only_the_owner_changes_or_removes_a_member(team, persona, action):
    member = team.membership("agent_a")
    before = snapshot(team)

    page = team.client(persona).post(reverse(f"businesses:staff_{action}", args=[member.pk]),
                                     {f"{member.pk}-role": "manager"})
    api_call = team.api(persona)
    api = (api_call.put(f"/api/v1/staff/{member.pk}", {"role": "manager", "businesses": []},
                        format="json") if action == "update"
           else api_call.delete(f"/api/v1/staff/{member.pk}"))

    assert page.status_code == 404
    assert api.status_code == 404
    assert snapshot(team) == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_dashboard_lists_the_businesses_of_the_persona(team, persona):
    expected = {
        "owner": {"Pharmacie A", "Pharmacie B"}, "manager_a": {"Pharmacie A"},
        "agent_a": {"Pharmacie A"}, "agent_b": {"Pharmacie B"}, "outsider": {"Garage Dupont"},
    }[persona]

    page = team.client(persona).get(reverse("queues:overview")).content.decode()
    listed = team.api(persona).get("/api/v1/businesses").json()["businesses"]

    assert {business["name"] for business in listed} == expected
    for name in {"Pharmacie A", "Pharmacie B", "Garage Dupont"}:
        assert (name in page) == (name in expected), name

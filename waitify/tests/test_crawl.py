"""Every merchant page answers, for the account a new merchant actually has.

The URLs come from the URL resolver itself, so a page added tomorrow is crawled
without anyone remembering to add it here. Each one is requested as a page and as
an htmx fragment, for three accounts: brand new with a business never opened (no
queue state operation, no entry, no statistics, no SMS), the same after the queue
is opened and a customer joined, and the same once the account is read-only.
Views that only accept POST are then posted to, each on a fresh account.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from businesses import services as business_services
from businesses.models import Business, Membership, User
from businesses.tests.factories import make_merchant
from queues import services
from queues import views as queue_views
from queues.models import QueueEntry, QueueState

# Paths that are not merchant pages, each with the reason it is left out.
NOT_MERCHANT_PAGES = (
    "admin/",  # the platform staff's Django admin: its own tests
    "api/v1/",  # the JSON API: token-authenticated, its own ownership and schema tests
    "billing/webhooks",  # Stripe's webhook: signed POSTs from Stripe, not a page
    "health",  # the probe of load balancers and monitoring
    "favicon.ico",  # a redirect to the static icon, for pages that name none
    "legal/",  # the public legal pages: their own tests (businesses/tests/test_legal_pages.py)
    "i18n/",  # Django's language switch: a POST handled by Django itself
    "bench/",  # the benchmark's views, mounted only by `make bench`
    "accounts/3rdparty/",  # allauth's social-login internals: no provider is set up
    "accounts/social/",
    "accounts/google/",
    "accounts/facebook/",
    "accounts/reauthenticate/code/",  # allauth's login-by-code flow: not enabled
    "accounts/login/code/",
    "accounts/confirm-email/",  # links mailed to the merchant: the browser journey follows one
    "accounts/password/reset/key/",
    "staff/join/",  # the link of a staff invitation e-mail: businesses/tests/test_staff.py
    "accounts/^",  # the same links, as allauth's regex patterns
)


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    route: str
    converters: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            converters = tuple(getattr(pattern.pattern, "converters", {})) or tuple(
                pattern.pattern.regex.groupindex)
            yield Route(f"{namespace}{pattern.name}", prefix + str(pattern.pattern), converters)


def merchant_routes() -> list[Route]:
    return [route for route in _walk(get_resolver().url_patterns)
            if not route.route.startswith(NOT_MERCHANT_PAGES)]


ROUTES = merchant_routes()


@dataclass
class Account:
    """A merchant's real ids and tokens, to fill every path converter with."""

    user: User
    business: Business
    entry: QueueEntry | None
    member: Membership

    def kwargs_for(self, route: Route, action: str = "") -> dict | None:
        """The URL's arguments; None when this account has nothing to put in it."""
        values = {"business_id": self.business.pk, "plan_name": "pro", "action": action,
                  "membership_id": self.member.pk,
                  "counter_id": self.business.counters.first().pk,
                  "service_id": self.business.services.first().pk}
        if route.name == "queues:display":
            values["token"] = QueueState.objects.get(pk=self.business.pk).display_token
        else:
            values["token"] = self.business.qr_token
        if self.entry is not None:
            values |= {"entry_id": self.entry.pk, "secret": self.entry.secret}
        if not set(route.converters) <= set(values):
            return None
        return {name: values[name] for name in route.converters}


def new_account(state: str) -> Account:
    """"new": just signed up, one business never opened; "opened": its queue is open and a
    customer waits; "read_only": the same, once the subscription lapsed."""
    user = make_merchant(f"crawl-{state}-{User.objects.count()}@example.fr")
    business = business_services.business_create(owner=user, name="Boulangerie Neuve",
                                                 business_type="bakery")
    entry = None
    if state in ("opened", "read_only"):
        services.queue_open(business=business)
        entry = services.entry_join(business=business, phone="0612345678", name="Léa")
    if state == "read_only":
        User.objects.filter(pk=user.pk).update(subscription_status=User.Status.READ_ONLY)
    # An invitation pending (the basic plan has no seat for it: made directly).
    member = Membership.objects.create(account=user, email=f"staff-{user.pk}@example.fr")
    business.refresh_from_db()
    user.refresh_from_db()
    return Account(user=user, business=business, entry=entry, member=member)


# A POST-only view's slug "action" is one of a fixed set: each is posted to.
POSTED_ACTIONS = {
    "queues:queue_action": sorted({*services.QUEUE_SWITCHES, "next"}),
    "queues:entry_action": sorted(queue_views.ENTRY_ACTIONS),
}
STATES = ["new", "opened", "read_only"]
# Buttons whose object is gone after one press (a removed staff member: then a 404, as
# for any id not on the account): the htmx press gets a fresh account.
ONE_SHOT = {"businesses:staff_remove"}


def _client_for(account: Account) -> Client:
    client = Client()
    client.force_login(account.user)
    return client


def _problem(client: Client, method: str, url: str, **headers) -> str | None:
    """What is wrong with the answer to this request (None: 200, 204 or a redirect to a
    page that answers)."""
    where = f"{method.upper()} {url}{' (htmx)' if headers else ''}"
    try:
        response = getattr(client, method)(url, headers=headers)
        if response.status_code in (301, 302, 303):
            landing = client.get(response["Location"])
            if landing.status_code != 200:
                return f"{where} → {response['Location']} → {landing.status_code}"
        elif response.status_code not in (200, 204):
            return f"{where} → {response.status_code}"
    except Exception as error:  # noqa: BLE001 - the crawl lists every failing URL at once
        return f"{where} raised {error!r}"
    return None


def _only_posted(client: Client, url: str) -> bool:
    """require_POST answers a GET with 405 and says it takes POST."""
    response = client.get(url)
    return response.status_code == 405 and "POST" in response["Allow"]


def test_the_crawl_finds_the_pages_a_merchant_uses():
    names = {route.name for route in ROUTES}
    assert {"queues:live", "queues:display", "queues:queue_action", "businesses:detail",
            "businesses:create", "analytics:business", "billing:page", "queues:overview",
            "account_email"} <= names
    assert not any(route.route.startswith("admin/") for route in ROUTES)


@pytest.mark.django_db
@pytest.mark.parametrize("state", STATES)
def test_every_page_and_fragment_answers(state):
    account = new_account(state)
    client = _client_for(account)
    problems, crawled = [], 0
    for route in ROUTES:
        kwargs = account.kwargs_for(route, action="next")
        if kwargs is None:
            # Only a queue entry's own pages need an entry, and only the new account
            # has none.
            assert state == "new" and {"entry_id", "secret"} & set(route.converters), route
            continue
        url = reverse(route.name, kwargs=kwargs)
        if _only_posted(client, url):
            continue  # a button, posted to below
        crawled += 1
        for htmx in ({}, {"HX-Request": "true"}):
            problems.append(_problem(client, "get", url, **htmx))
    assert [problem for problem in problems if problem] == []
    assert crawled >= 20


@pytest.mark.django_db
@pytest.mark.parametrize("state", STATES)
def test_every_button_answers(state):
    """Each POST-only view, with and without htmx, on its own fresh account (a button
    such as "delete my account" must not change what the next one sees)."""
    problems, posted = [], 0
    for route in ROUTES:
        for action in POSTED_ACTIONS.get(route.name, ["next"]):
            account = new_account(state)
            kwargs = account.kwargs_for(route, action=action)
            if kwargs is None:
                assert state == "new", route
                continue
            client = _client_for(account)
            url = reverse(route.name, kwargs=kwargs)
            if not _only_posted(client, url):
                continue
            posted += 1
            for htmx in ({}, {"HX-Request": "true"}):
                if htmx and route.name in ONE_SHOT:
                    account = new_account(state)
                    client = _client_for(account)
                    url = reverse(route.name, kwargs=account.kwargs_for(route, action=action))
                problems.append(_problem(client, "post", url, **htmx))
    assert [problem for problem in problems if problem] == []
    assert posted >= 10

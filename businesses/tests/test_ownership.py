"""Every merchant page of a business, tried by another merchant and by a stranger."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.urls import reverse

from businesses import services
from businesses.models import Business
from businesses.urls import urlpatterns

# (url name, method): every page of businesses/urls.py that takes a business id.
BUSINESS_PAGES = [
    ("detail", "get"),
    ("detail", "post"),
    ("deactivate", "post"),
    ("activate", "post"),
    ("regenerate_qr", "post"),
    ("qr_png", "get"),
    ("qr_svg", "get"),
    ("poster", "get"),
]
# Pages of the merchant's own account, without an id.
ACCOUNT_PAGES = [
    ("businesses:create", "get"),
    ("businesses:create", "post"),
    ("businesses:account", "get"),
    ("businesses:account", "post"),
    ("queues:overview", "get"),
]

ATTACK = {
    "name": "Pwned", "business_type": "other", "max_queue_size": "1",
    "client_timeout_minutes": "1", "custom_message": "spam", "phone": "", "zip_code": "",
}


def snapshot(business: Business) -> dict:
    business = Business.objects.get(pk=business.pk)
    return {field.attname: getattr(business, field.attname) for field in Business._meta.fields}


@pytest.fixture
def victim_business(business, request):
    # "activate" can only change something on a business that is inactive.
    if request.node.callspec.params.get("page", (None,))[0] == "activate":
        services.business_deactivate(business=business)
    return business


def test_every_business_page_is_in_this_file():
    with_an_id = {pattern.name for pattern in urlpatterns if "business_id" in str(pattern.pattern)}
    assert with_an_id == {name for name, _method in BUSINESS_PAGES}


@pytest.mark.parametrize("page", BUSINESS_PAGES, ids=lambda page: f"{page[1]}-{page[0]}")
def test_it_checks_ownership(outsider_client, victim_business, page):
    name, method = page
    before = snapshot(victim_business)
    url = reverse(f"businesses:{name}", args=[victim_business.pk])

    response = getattr(outsider_client, method)(url, ATTACK if method == "post" else None)

    assert response.status_code == 404
    assert victim_business.name.encode() not in response.content
    assert snapshot(victim_business) == before


@pytest.mark.parametrize("page", BUSINESS_PAGES, ids=lambda page: f"{page[1]}-{page[0]}")
def test_a_stranger_is_sent_to_the_login_page(client, victim_business, page):
    name, method = page
    before = snapshot(victim_business)
    url = reverse(f"businesses:{name}", args=[victim_business.pk])

    response = getattr(client, method)(url, ATTACK if method == "post" else None)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={quote(url)}"
    assert snapshot(victim_business) == before


@pytest.mark.parametrize("page", ACCOUNT_PAGES, ids=lambda page: f"{page[1]}-{page[0]}")
def test_a_stranger_cannot_open_the_account_pages(client, db, page):
    name, method = page
    response = getattr(client, method)(reverse(name), ATTACK if method == "post" else None)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not Business.objects.exists()


@pytest.mark.parametrize("page", BUSINESS_PAGES, ids=lambda page: f"{page[1]}-{page[0]}")
def test_an_unknown_id_is_not_found_either(merchant_client, business, page):
    name, method = page
    url = reverse(f"businesses:{name}", args=["00000000-0000-4000-8000-000000000000"])
    response = getattr(merchant_client, method)(url, ATTACK if method == "post" else None)
    assert response.status_code == 404


def test_the_owner_still_reaches_every_page(merchant_client, business):
    for name, method in BUSINESS_PAGES:
        if method == "get":
            response = merchant_client.get(reverse(f"businesses:{name}", args=[business.pk]))
            assert response.status_code == 200, name


# --- The API token: revoking touches only the caller's own --------------------------------

def test_revoking_a_token_revokes_only_the_caller_s(outsider_api_client, api_client, merchant,
                                                    outsider):
    from rest_framework.authtoken.models import Token

    victim_token = Token.objects.get(user=merchant).key
    response = outsider_api_client.delete(reverse("api-auth-token"))
    assert response.status_code == 204
    assert Token.objects.filter(user=merchant, key=victim_token).exists()
    assert not Token.objects.filter(user=outsider).exists()
    assert api_client.get("/api/v1/businesses").status_code == 200


def test_a_stranger_cannot_revoke_any_token(client, api_client, merchant):
    from rest_framework.authtoken.models import Token

    response = client.delete(reverse("api-auth-token"))
    assert response.status_code == 401
    assert Token.objects.filter(user=merchant).exists()

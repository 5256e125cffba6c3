"""The main menu marks the section of the page the merchant is on, on every main page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from queues import services as queue_services

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def current_menu_entries(html: str) -> list[str]:
    menu = html.split('class="topnav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>', menu)


@pytest.mark.parametrize(("page", "section"), [
    (lambda business: reverse("queues:overview"), "My businesses"),
    (lambda business: reverse("businesses:create"), "My businesses"),
    (lambda business: reverse("businesses:detail", args=[business.pk]), "My businesses"),
    (lambda business: reverse("queues:live", args=[business.pk]), "My businesses"),
    (lambda business: reverse("analytics:comparison"), "Statistics"),
    (lambda business: reverse("analytics:business", args=[business.pk]), "Statistics"),
    (lambda business: reverse("billing:page"), "Billing"),
    (lambda business: reverse("businesses:account"), "Account"),
    (lambda business: reverse("account_change_password"), "Account"),
    (lambda business: reverse("account_email"), "Account"),
    (lambda business: reverse("analytics:account_delete"), "Account"),
])
def test_the_menu_marks_the_section_of_each_page(merchant_client, business, page, section):
    queue_services.queue_open(business=business)

    response = merchant_client.get(page(business), **ENGLISH)

    assert response.status_code == 200
    assert current_menu_entries(response.content.decode()) == [section]


def test_the_login_page_marks_log_in(client, db):
    html = client.get(reverse("account_login"), **ENGLISH).content.decode()
    assert current_menu_entries(html) == ["Log in"]


def test_a_page_outside_the_menu_marks_nothing(client, db):
    html = client.get("/no-such-page/", **ENGLISH).content.decode()
    assert current_menu_entries(html) == []


@pytest.mark.parametrize(("language", "word", "other_word"), [
    ("en", "Statistics", "Analytics"),
    ("fr", "Statistiques", "Analytique"),
])
def test_statistics_are_called_by_one_name_on_every_page(merchant_client, business, language,
                                                         word, other_word):
    pages = [reverse("queues:overview"), reverse("businesses:detail", args=[business.pk]),
             reverse("analytics:business", args=[business.pk]), reverse("billing:page")]
    for url in pages:
        html = merchant_client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert word in html, url
        assert other_word not in html, url

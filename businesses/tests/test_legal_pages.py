"""Legal notice, terms and privacy policy: public pages in French and English, linked from
every footer and from the join form, whose text staff change in the admin without a deploy."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from businesses.models import LegalPage, User
from businesses.tests.factories import PASSWORD
from queues.tests.factories import join, open_queue

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr"}
SLUGS = ["legal-notice", "terms", "privacy"]


@pytest.fixture
def legal_pages(db) -> dict[str, LegalPage]:
    """The three pages as the data migration writes them (a transactional test's flush
    removes them, so write them again)."""
    seed = importlib.import_module("businesses.migrations.0006_h3_legal_pages_text")
    seed.create_pages(apps, None)
    return {page.slug: page for page in LegalPage.objects.all()}


@pytest.fixture
def staff_client(client, db):
    staff = User.objects.create_superuser("staff@waitify.fr", PASSWORD)
    client.force_login(staff)
    return client


def legal_url(slug: str) -> str:
    return reverse("businesses:legal", args=[slug])


def legal_links(html: str) -> list[str]:
    return [slug for slug in SLUGS if f'href="{legal_url(slug)}"' in html]


@pytest.mark.parametrize(("slug", "french", "english"), [
    ("legal-notice", "Mentions légales", "Legal notice"),
    ("terms", "Conditions générales d&#x27;utilisation et de vente", "Terms of use and sale"),
    ("privacy", "Politique de confidentialité", "Privacy policy"),
])
def test_each_legal_page_is_public_in_french_and_english(client, legal_pages, slug, french,
                                                         english):
    in_french = client.get(legal_url(slug), **FRENCH)
    in_english = client.get(legal_url(slug), **ENGLISH)

    assert in_french.status_code == 200
    assert f"<h1>{french}</h1>" in in_french.content.decode()
    assert in_english.status_code == 200
    assert f"<h1>{english}</h1>" in in_english.content.decode()


def test_the_privacy_policy_says_what_is_stored_why_for_how_long_the_rights_and_whom_to_ask(
        client, legal_pages):
    french = client.get(legal_url("privacy"), **FRENCH).content.decode()
    english = client.get(legal_url("privacy"), **ENGLISH).content.decode()

    for heading in ["Ce que nous enregistrons", "Pourquoi", "Combien de temps", "Vos droits",
                    "Contact"]:
        assert f"<h2>{heading}</h2>" in french
    for heading in ["What we store", "Why", "How long", "Your rights", "Contact"]:
        assert f"<h2>{heading}</h2>" in english
    assert "numéro de mobile" in french
    assert "supprimés 90 jours après la visite" in french
    assert "deleted 90 days after the visit" in english
    assert '<a href="mailto:contact@waitify.fr">contact@waitify.fr</a>' in french
    assert "CNIL" in english


def test_an_unknown_legal_page_is_not_found(client, legal_pages):
    assert client.get(legal_url("cookies")).status_code == 404


def test_staff_change_a_legal_text_in_the_admin_and_the_page_shows_it_at_once(
        client, staff_client, legal_pages):
    page = legal_pages["legal-notice"]
    change_url = reverse("admin:businesses_legalpage_change", args=[page.pk])
    assert staff_client.get(change_url).status_code == 200

    response = staff_client.post(change_url, {
        "title_fr": "Mentions légales", "title_en": "Legal notice",
        "body_fr": "## Éditeur\nBoulangerie Martin SAS, RCS Paris 123 456 789.\n\n"
                   "- Siège : 12 rue de la Paix, Paris\n- Capital : 10 000 €",
        "body_en": "## Publisher\nBoulangerie Martin SAS, Paris trade register 123 456 789.",
    })
    assert response.status_code == 302

    client.logout()
    french = client.get(legal_url("legal-notice"), **FRENCH).content.decode()
    english = client.get(legal_url("legal-notice"), **ENGLISH).content.decode()
    assert "<h2>Éditeur</h2>" in french
    assert "<p>Boulangerie Martin SAS, RCS Paris 123 456 789.</p>" in french
    assert "<li>Siège : 12 rue de la Paix, Paris</li><li>Capital : 10 000 €</li>" in french
    assert "<h2>Publisher</h2>" in english
    assert "Paris trade register 123 456 789." in english


def test_staff_can_neither_add_nor_delete_a_legal_page(staff_client, legal_pages):
    page = legal_pages["privacy"]

    assert staff_client.get(reverse("admin:businesses_legalpage_add")).status_code == 403
    delete = staff_client.post(reverse("admin:businesses_legalpage_delete", args=[page.pk]),
                               {"post": "yes"})

    assert delete.status_code == 403
    assert LegalPage.objects.filter(slug="privacy").exists()


def test_html_typed_into_a_legal_text_is_shown_as_text(client, legal_pages):
    page = legal_pages["terms"]
    page.body_fr = 'Voir <script>alert("x")</script> ici.'
    page.save()

    html = client.get(legal_url("terms"), **FRENCH).content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_every_footer_links_to_the_three_legal_pages(client, business, legal_pages):
    queue = open_queue(business)
    entry = join(queue)
    public_pages = [
        reverse("queues:home"), reverse("account_login"), reverse("account_signup"),
        reverse("queues:join", args=[queue.qr_token]), reverse("queues:join", args=["nope"]),
        reverse("queues:status", args=[entry.secret]), legal_url("privacy"),
    ]
    for url in public_pages:
        assert legal_links(client.get(url).content.decode()) == SLUGS, url

    client.force_login(business.owner)
    merchant_pages = [
        reverse("queues:overview"), reverse("businesses:detail", args=[business.pk]),
        reverse("queues:live", args=[business.pk]), reverse("analytics:comparison"),
        reverse("billing:page"), reverse("businesses:account"),
    ]
    for url in merchant_pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert legal_links(response.content.decode()) == SLUGS, url


def test_the_join_form_links_to_the_terms_and_the_privacy_policy(client, business, legal_pages):
    queue = open_queue(business)

    html = client.get(reverse("queues:join", args=[queue.qr_token]), **ENGLISH).content.decode()
    form = html[html.index('<form method="post" class="form join-form"'):html.index("</form>")]

    assert f'<a href="{legal_url("terms")}">terms of use</a>' in form
    assert f'<a href="{legal_url("privacy")}">privacy policy</a>' in form

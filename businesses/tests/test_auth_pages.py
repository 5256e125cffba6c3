"""Sign-up and log-in pages read as French written for the product, not a generic kit."""

from __future__ import annotations

import re

from django.urls import reverse


def label_and_placeholder(html: str, field_id: str) -> tuple[str, str]:
    label = re.search(rf'<label for="{field_id}">([^<]+)</label>', html).group(1)
    placeholder = re.search(rf'<input [^>]*placeholder="([^"]+)"[^>]*id="{field_id}"',
                            html).group(1)
    return label, placeholder


def submit_button(html: str) -> str:
    return " ".join(re.search(r'<button type="submit" class="button wide">(.*?)</button>',
                              html, re.S).group(1).split())


def test_the_sign_up_page_says_creer_mon_compte_and_its_labels_match_the_placeholders(client,
                                                                                      db):
    html = client.get(reverse("account_signup")).content.decode()

    assert submit_button(html) == "Créer mon compte"
    assert "Création de compte" not in html
    assert label_and_placeholder(html, "id_email") == ("Adresse e-mail", "Adresse e-mail")
    assert label_and_placeholder(html, "id_password1") == ("Mot de passe", "Mot de passe")
    assert "Courriel" not in html
    assert "Vous avez déjà un compte ?" in html and ">Connectez-vous</a>." in html


def test_the_log_in_page_says_se_connecter(client, db):
    html = client.get(reverse("account_login")).content.decode()

    assert submit_button(html) == "Se connecter"
    assert label_and_placeholder(html, "id_login") == ("Adresse e-mail", "Adresse e-mail")
    assert "Pas encore de compte ?" in html and ">Créez-en un</a>." in html
    assert "merci de vous" not in html

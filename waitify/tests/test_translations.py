"""French is the default language and its catalogue is complete."""

import shutil
import subprocess
from pathlib import Path

from django.utils import translation

LOCALE = Path(__file__).resolve().parents[2] / "locale"


def test_the_french_catalogue_has_no_untranslated_or_fuzzy_message():
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "gettext's msgfmt is needed to build the catalogues"
    result = subprocess.run(  # noqa: S603 - fixed arguments, our own file
        [msgfmt, "--check", "--statistics", "-o", "/dev/null",
         str(LOCALE / "fr" / "LC_MESSAGES" / "django.po")],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr


def test_pages_speak_french_by_default_and_english_on_request(client, db):
    assert "Essayer gratuitement" in client.get("/").content.decode()
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Try it free for 14 days" in english
    with translation.override("fr"):
        assert translation.gettext("Call next") == "Appeler le suivant"

"""One settings module driven by the environment: embedded defaults, production checks."""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "".join(secrets.choice(string.ascii_letters + string.digits + "!@#%^&*(-_=+)")
                          for _ in range(50)),
    "SITE_URL": "https://waitify.example",
    "ALLOWED_HOSTS": "waitify.example",
    "SECURE_HSTS_SECONDS": "31536000",
}

SHOW_SETTINGS = """
import json
import environ
ENV_FILES_READ = []
read_env = environ.Env.read_env.__func__
def recording_read_env(cls, env_file=None, *args, **kwargs):
    ENV_FILES_READ.append(env_file)
    return read_env(cls, env_file, *args, **kwargs)
environ.Env.read_env = classmethod(recording_read_env)
import django
django.setup()
from django.conf import settings
from waitify import celery_app
print(json.dumps({
    "database": settings.DATABASES["default"]["ENGINE"],
    "database_name": str(settings.DATABASES["default"]["NAME"]),
    "conn_health_checks": settings.DATABASES["default"]["CONN_HEALTH_CHECKS"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "broker": celery_app.conf.broker_url,
    "eager": celery_app.conf.task_always_eager,
    "sms": settings.SMS_BACKEND,
    "stripe": settings.STRIPE_ENABLED,
    "debug": settings.DEBUG,
    "language": settings.LANGUAGE_CODE,
    "site_url": settings.SITE_URL,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "secure_cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
    "proxy_ssl_header": settings.SECURE_PROXY_SSL_HEADER,
    "num_proxies": settings.NUM_PROXIES,
    "env_files_read": [str(path) for path in ENV_FILES_READ],
}))
"""


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    """Run Python in a fresh process that sees only `env` (not this shell's variables,
    nor a developer's `.env`)."""
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ROOT / "var"),
             "DJANGO_SETTINGS_MODULE": "waitify.settings", "PYTHONDONTWRITEBYTECODE": "1",
             "WAITIFY_ENV_FILE": "", **env}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean,  # noqa: S603
                          capture_output=True, text=True, timeout=900, check=False)


def settings_with(**env: str) -> dict:
    result = run(["-c", SHOW_SETTINGS], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_values_pass_check_deploy():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_with_the_default_insecure_key():
    env = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)
    assert result.returncode != 0
    assert "security.W009" in result.stderr


@pytest.mark.parametrize(("change", "warning"), [
    ({"DEBUG": "true"}, "security.W018"),
    ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
    ({"SITE_URL": "http://waitify.example"}, "security.W008"),
])
def test_check_deploy_fails_with_an_insecure_production_value(change, warning):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                 **{**PRODUCTION, **change})
    assert result.returncode != 0
    assert warning in result.stderr


def test_the_embedded_default_needs_no_service_at_all():
    values = settings_with()

    assert values["database"] == "django.db.backends.sqlite3"
    assert values["database_name"].endswith("var/waitify.sqlite3")
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["broker"] == "memory://localhost/"
    assert values["eager"] is True
    assert values["sms"] == "console"
    assert values["stripe"] is False
    assert values["language"] == "fr"
    assert values["site_url"] == "http://127.0.0.1:8000"
    assert values["ssl_redirect"] is False


def test_database_url_and_redis_url_switch_the_engines():
    values = settings_with(DATABASE_URL="postgres://waitify:pw@db.internal:5432/waitify",
                           REDIS_URL="redis://cache.internal:6379/0", CONN_MAX_AGE="60")

    assert values["database"] == "django.db.backends.postgresql"
    assert values["database_name"] == "waitify"
    assert values["conn_health_checks"] is True
    assert values["cache"] == "waitify.lib.cache.FailOpenRedisCache"
    assert values["broker"] == "redis://cache.internal:6379/0"
    assert values["eager"] is False


def test_empty_service_variables_mean_the_embedded_default():
    values = settings_with(DATABASE_URL="", REDIS_URL="", STRIPE_SECRET_KEY="",
                           AWS_ACCESS_KEY_ID="")

    assert values["database"] == "django.db.backends.sqlite3"
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["eager"] is True
    assert values["sms"] == "console"


def test_an_https_site_gets_secure_cookies_and_the_ssl_redirect():
    values = settings_with(**PRODUCTION)

    assert values["debug"] is False
    assert values["ssl_redirect"] is True
    assert values["secure_cookies"] == [True, True]
    assert values["site_url"] == "https://waitify.example"


def test_aws_keys_switch_sms_to_sns_and_a_stripe_key_turns_billing_on():
    values = settings_with(AWS_ACCESS_KEY_ID="AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY="x",
                           STRIPE_SECRET_KEY="sk_test_123")
    assert values["sms"] == "sns"
    assert values["stripe"] is True


JOURNEY = """
import django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
call_command("seed_demo", verbosity=0)
from businesses.models import Business, User
shop = Business.objects.get(name="Boulangerie Démo")
customer, merchant = Client(), Client()
merchant.force_login(User.objects.get(email="demo@waitify.fr"))
joined = customer.post(f"/q/{shop.qr_token}", {"phone": "06 12 34 56 78", "name": "Léa"})
assert joined.status_code == 302, joined.status_code
card = customer.get(joined["Location"], HTTP_HX_REQUEST="true").content.decode()
assert 'data-position="1"' in card and "A-001" in card, card
live = merchant.get(f"/businesses/{shop.pk}/queue/").content.decode()
assert "A-001" in live and "Léa" in live, live
called = merchant.post(f"/businesses/{shop.pk}/queue/next/", HTTP_HX_REQUEST="true")
assert called.status_code == 200, called.status_code
card = customer.get(joined["Location"], HTTP_HX_REQUEST="true").content.decode()
assert "status-called" in card, card
print("JOURNEY DONE")
"""


def test_the_whole_customer_journey_runs_on_the_embedded_default(tmp_path):
    """`make run`'s set-up (SQLite, no Redis, tasks inline, SMS on the console): the demo
    is seeded, a customer joins, follows their place, the merchant calls them."""
    result = run(["-c", JOURNEY], DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
                 DEBUG="true")

    assert result.returncode == 0, result.stderr[-3000:]
    assert "JOURNEY DONE" in result.stdout
    sms = result.stdout.split("--- SMS to 06 •• •• •• 78 ---")
    assert len(sms) == 3  # the confirmation, then "your turn", printed by the console backend
    assert "ticket A-001, position 1" in sms[1] and "c'est votre tour" in sms[2]
    # The console a newcomer reads on `make run`: plain log lines, no broker warning.
    assert "No hostname was supplied" not in result.stderr
    assert " INFO [waitify.queue] queue_opened business=" in result.stderr
    assert " INFO [waitify.queue] joined business=" in result.stderr
    assert "queue queue" not in result.stderr



def test_the_suite_reads_no_developer_environment_but_its_database_and_redis(tmp_path):
    """pytest's settings (waitify.settings_for_tests) drop what a developer's shell or
    `.env` holds (Stripe test keys, AWS keys, DEBUG…), and keep the two services."""
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=true\nSTRIPE_SECRET_KEY=sk_test_fromdotenv\n")
    values = settings_with(
        DJANGO_SETTINGS_MODULE="waitify.settings_for_tests", WAITIFY_ENV_FILE=str(env_file),
        STRIPE_SECRET_KEY="sk_test_x", STRIPE_TEST_SECRET_KEY="sk_test_x",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY="x", SMS_BACKEND="sns",
        SITE_URL="https://app.example.fr", GOOGLE_CLIENT_ID="id", GOOGLE_CLIENT_SECRET="x",
        DATABASE_URL="postgres://waitify:pw@db.internal:5432/waitify",
        REDIS_URL="redis://cache.internal:6379/0")

    assert values["stripe"] is False
    assert values["sms"] == "console"
    assert values["debug"] is False
    assert values["site_url"] == "http://127.0.0.1:8000"
    assert values["env_files_read"] == []
    assert values["database"] == "django.db.backends.postgresql"
    assert values["cache"] == "waitify.lib.cache.FailOpenRedisCache"

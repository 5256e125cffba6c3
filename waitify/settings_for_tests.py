"""The settings pytest runs with: the product's own settings, read from a clean environment.

The suite must give the same result on every machine. A developer's `.env` or shell
(Stripe test keys, AWS keys, DEBUG, a limit…) would otherwise switch billing on, send
SMS through SNS or change a limit under a test. So before the product's settings are
read, every variable they read is dropped, except the two services the suite runs
against (DATABASE_URL, REDIS_URL, which `make test` exports), and `.env` is not read.
A test that needs a value sets it itself (the `settings` fixture, a subprocess's env).

Processes a test starts inherit the cleaned environment plus what the test adds, and
this module (DJANGO_SETTINGS_MODULE): for them the environment is not cleaned again.

In a parallel run (pytest-xdist) each worker has its own test database (pytest-django
adds the worker's name to it) and its own cache key prefix, so that one worker's
clearing of the cache between tests (conftest.py) never wipes another's keys.
"""

import os
import re
from pathlib import Path

KEEP = {"DATABASE_URL", "REDIS_URL"}
CLEANED = "WAITIFY_TEST_ENVIRONMENT"
# Families read by libraries or built from a prefix (f"{provider}_CLIENT_ID").
FAMILIES = re.compile(r"^(STRIPE_|DJSTRIPE_|AWS_|SMS_|CELERY_)|_CLIENT_(ID|SECRET)$")


def _names_read_by_the_settings() -> set[str]:
    source = Path(__file__).with_name("settings.py").read_text()
    return set(re.findall(r"""env\.\w+\(\s*["']([A-Z][A-Z0-9_]*)["']""", source))


if os.environ.get(CLEANED) != "1":
    read = _names_read_by_the_settings()
    for name in list(os.environ):
        if name not in KEEP and (name in read or FAMILIES.search(name)):
            del os.environ[name]
    os.environ["WAITIFY_ENV_FILE"] = ""  # no .env
    os.environ[CLEANED] = "1"

from waitify.settings import *  # noqa: E402, F403
from waitify.settings import CACHES, REDIS_URL  # noqa: E402

if REDIS_URL:
    CACHES["default"]["KEY_PREFIX"] = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"

"""Schemathesis over the whole API: every answer is documented and matches the schema.

Runs in-process against the WSGI application and the test database (PostgreSQL),
with a bounded number of examples per operation and a fixed seed, every check on.
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from waitify.lib.throttles import AccountRateThrottle, ClientRateThrottle
from waitify.wsgi import application

EXAMPLES_PER_OPERATION = 20
SEED = 20261204
TOKEN_KEY = "schemathesis0000000000000000000000000000"


# Every check stays on. Two allowances, for what JSON Schema cannot say, where a
# schema-valid body may be refused with a 400: opening hours are checked across fields
# ("close" after "open"); a staff member's businesses must be the account's own.
ANY_REFUSAL = {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]}}
CONFIG = SchemathesisConfig.from_dict({"operations": [
    {"include-path-regex": r"^/api/v1/businesses(/\{business_id\}(/queue/settings)?)?$",
     "checks": ANY_REFUSAL},
    {"include-path-regex": r"^/api/v1/staff(/\{membership_id\})?$", "checks": ANY_REFUSAL},
]})
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application, config=CONFIG)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    # The WSGI handler closes the database connection after each request, which
    # would end the test's transaction; Django's own test client does the same.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _open_limits(monkeypatch, settings):
    # The API's own limits would answer 429 (documented) to most of the run: raised,
    # so that the run explores the operations themselves.
    monkeypatch.setattr(AccountRateThrottle, "rate", "100000/min", raising=False)
    monkeypatch.setattr(ClientRateThrottle, "rate", "100000/min", raising=False)
    settings.WAITIFY_RATE_LIMITS_ENABLED = False


def all_checks() -> list:
    load_all_checks()
    return CHECKS.get_all()


@schema.parametrize()
@hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=False,
                     suppress_health_check=list(hypothesis.HealthCheck), database=None)
@hypothesis.seed(SEED)
def test_the_api_answers_as_documented(case, business):
    # DELETE /auth/token revokes the token: the merchant gets it back for the next case.
    Token.objects.get_or_create(user=business.owner, defaults={"key": TOKEN_KEY})
    case.call_and_validate(headers={"Authorization": f"Token {TOKEN_KEY}"},
                           checks=all_checks())

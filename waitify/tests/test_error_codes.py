"""One registry of domain error codes: each code means one thing, none is an HTTP status,
the API schema and the README list them all, and the code compares codes, not strings."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from businesses import services as business_services
from businesses.models import Business, User
from businesses.services import BusinessError
from queues import services as queue_services
from queues.services import QueueError
from queues.tests.factories import open_queue
from waitify.lib.errors import ErrorCode, WaitifyError

ROOT = Path(__file__).resolve().parents[2]
APPS = ("analytics", "billing", "businesses", "queues", "waitify")


def product_sources() -> list[Path]:
    return [path for app in APPS for path in (ROOT / app).rglob("*.py")
            if "tests" not in path.parts and "migrations" not in path.parts]


def test_each_code_has_one_number_and_one_name_and_none_is_an_http_status():
    numbers = [code.value for code in ErrorCode]
    names = [code.error for code in ErrorCode]

    assert len(set(numbers)) == len(numbers)
    assert len(set(names)) == len(names)
    assert all(number >= 4000 for number in numbers)
    assert all(100 <= code.status < 600 for code in ErrorCode)


def test_an_error_raised_with_a_registered_code_answers_with_its_name_and_status():
    error = WaitifyError("…", code=ErrorCode.QUEUE_PAUSED)

    assert (error.as_dict()["code"], error.error, error.status) == (4006, "queue_paused", 409)


def test_4004_means_one_thing_the_merchant_and_the_customer_get_two_codes(business,
                                                                          merchant):
    open_queue(business)
    User.objects.filter(pk=merchant.pk).update(subscription_status="suspended")  # unpaid
    business = Business.objects.select_related("owner").get(pk=business.pk)

    with pytest.raises(BusinessError) as merchant_side:
        business_services.business_update(business=business, name="Autre nom")
    with pytest.raises(QueueError) as customer_side:
        queue_services.entry_join(business=business, phone="06 12 34 56 78")

    assert (merchant_side.value.code, merchant_side.value.error) == (4101, "account_suspended")
    assert (customer_side.value.code, customer_side.value.error) == (4004,
                                                                     "business_suspended")


def test_the_api_schema_documents_every_code(db):
    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    documented = schema["components"]["schemas"]["Error"]["properties"]["code"]["description"]

    for code in ErrorCode:
        assert f"{code.value} `{code.error}` ({code.status})" in documented


def test_the_readme_lists_every_code():
    readme = (ROOT / "README.md").read_text()
    rows = set(re.findall(r"^\| (\d{4}) \| `([a-z_]+)` \| (\d{3}) \|$", readme, re.MULTILINE))

    assert rows == {(str(code.value), code.error, str(code.status)) for code in ErrorCode}


def _hand_written_codes(tree: ast.AST) -> list[int]:
    """Lines raising a domain error with a number or a name typed in place of a registry
    code (`code=409, error="…"`), and comparisons of an error's name with a string."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            if "error" in keywords and isinstance(keywords.get("code"), ast.Constant):
                lines.append(node.lineno)
        elif (isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute)
              and node.left.attr == "error"
              and any(isinstance(other, ast.Constant) and isinstance(other.value, str)
                      for other in node.comparators)):
            lines.append(node.lineno)
    return lines


def test_the_product_raises_registered_codes_and_compares_codes_not_names():
    offenders = {
        str(path.relative_to(ROOT)): lines for path in product_sources()
        if (lines := _hand_written_codes(ast.parse(path.read_text())))
    }

    assert offenders == {}

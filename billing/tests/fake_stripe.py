"""A fake of Stripe's API at the HTTP edge: `stripe.default_http_client` in tests.

Objects live in a dict by id; GET answers with the stored object (what
"fetch the latest object" sees), list endpoints filter them, the few POST
endpoints billing uses create or change objects. Idempotency keys replay the
first answer, as Stripe does. No network, and any request it does not know
fails the test loudly.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

COLLECTIONS = {
    "customers": "customer",
    "subscriptions": "subscription",
    "subscription_items": "subscription_item",
    "invoices": "invoice",
    "invoiceitems": "invoiceitem",
    "prices": "price",
    "products": "product",
    "checkout/sessions": "checkout.session",
    "billing_portal/sessions": "billing_portal.session",
    "payment_intents": "payment_intent",
    "payment_methods": "payment_method",
    "charges": "charge",
    "events": "event",
}
PREFIXES = {"customer": "cus", "invoiceitem": "ii", "price": "price",
            "checkout.session": "cs_test", "billing_portal.session": "bps",
            "subscription": "sub", "invoice": "in", "product": "prod"}


def decode_form(body: str) -> dict:
    """Stripe's form encoding (a[b][0][c]=v) back into nested dicts and lists."""
    root: dict = {}
    for key, value in parse_qsl(body or "", keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listify(node: Any) -> Any:
        if isinstance(node, dict):
            node = {key: listify(value) for key, value in node.items()}
            if node and all(key.isdigit() for key in node):
                return [node[key] for key in sorted(node, key=int)]
        return node

    return listify(root)


class StripeDown(Exception):
    """Raised inside the fake to answer like an unreachable Stripe."""


class FakeStripe(stripe.HTTPClient):
    name = "fake"

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.replays: dict[str, tuple[str, int]] = {}
        self.failures: list[tuple[str, str]] = []  # (method, path prefix) answered 500
        self.delay = 0.0
        self.on_request = None  # called with (method, path) before each answer
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.add({"id": "acct_fake", "object": "account", "type": "standard",
                  "settings": {"dashboard": {"display_name": "Waitify test"}},
                  "business_profile": {"name": "Waitify"}, "charges_enabled": True,
                  "country": "FR", "default_currency": "eur", "email": "billing@waitify.test",
                  "metadata": {}, "created": 1_700_000_000, "livemode": False})

    # --- helpers for tests ------------------------------------------------------------------

    def add(self, obj: dict) -> dict:
        with self._lock:
            self.objects[obj["id"]] = obj
        return obj

    def of_type(self, kind: str) -> list[dict]:
        return [obj for obj in self.objects.values() if obj.get("object") == kind]

    def posts(self, path_prefix: str) -> list[dict]:
        return [params for method, path, params in self.requests
                if method == "post" and path.startswith(path_prefix)]

    def fail(self, method: str, path_prefix: str) -> None:
        self.failures.append((method, path_prefix))

    def new_id(self, kind: str) -> str:
        return f"{PREFIXES.get(kind, kind)}_fake{next(self._ids):04d}"

    # --- the HTTP client ----------------------------------------------------------------------

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        if self.delay:
            time.sleep(self.delay)
        parts = urlsplit(url)
        path = parts.path
        if self.on_request is not None:
            self.on_request(method, path)
        params = decode_form(parts.query if method == "get" else post_data or "")
        key = (headers or {}).get("Idempotency-Key")
        with self._lock:
            self.requests.append((method, path, params))
            if any(method == m and path.startswith(p) for m, p in self.failures):
                return self._error(500, "api_error", "Injected failure")
            if key and method == "post" and key in self.replays:
                body, status = self.replays[key]
                return body, status, {"request-id": "req_replay"}
            status, payload = self._route(method, path, params)
            body = json.dumps(payload)
            if key and method == "post" and status < 500:
                self.replays[key] = (body, status)
        return body, status, {"request-id": f"req_{len(self.requests)}"}

    def _error(self, status: int, kind: str, message: str, code: str = ""):
        error = {"type": kind, "message": message}
        if code:
            error["code"] = code
        return json.dumps({"error": error}), status, {}

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        path = path.removeprefix("/v1/")
        if path == "account":
            return 200, self.objects["acct_fake"]
        if path == "accounts/acct_fake":
            return 200, self.objects["acct_fake"]
        match = re.fullmatch(r"invoices/([^/]+)/lines", path)
        if match:
            invoice = self.objects.get(match.group(1), {})
            return 200, {"object": "list", "data": (invoice.get("lines") or {}).get("data", []),
                         "has_more": False, "url": f"/v1/{path}"}
        if method == "get" and re.fullmatch(r"(products|customers)/[^/]+/[a-z_]+", path):
            # Sub-lists (a product's features, a customer's tax ids…): none here.
            return 200, {"object": "list", "data": [], "has_more": False, "url": f"/v1/{path}"}
        for collection, kind in sorted(COLLECTIONS.items(), key=lambda c: -len(c[0])):
            if path == collection:
                if method == "get":
                    return 200, self._list(kind, params, path)
                return 200, self._create(kind, params)
            if path.startswith(collection + "/"):
                object_id = path[len(collection) + 1:]
                obj = self.objects.get(object_id)
                if obj is None:
                    return 404, {"error": {"type": "invalid_request_error",
                                           "code": "resource_missing",
                                           "message": f"No such {kind}: '{object_id}'"}}
                if method == "get":
                    return 200, obj
                if method == "post":
                    return 200, self._modify(obj, params)
        raise AssertionError(f"FakeStripe does not know {method.upper()} /v1/{path} {params}")

    def _list(self, kind: str, params: dict, path: str) -> dict:
        found = self.of_type(kind)
        if "customer" in params:
            found = [obj for obj in found if obj.get("customer") == params["customer"]]
        if params.get("pending") == "true":
            found = [obj for obj in found if not obj.get("invoice")]
        if "lookup_keys" in params:
            keys = params["lookup_keys"]
            keys = keys if isinstance(keys, list) else [keys]
            found = [obj for obj in found if obj.get("lookup_key") in keys]
        if params.get("active") in ("true", "false"):
            found = [obj for obj in found if obj.get("active") == (params["active"] == "true")]
        if "subscription" in params:
            found = [obj for obj in found if obj.get("subscription") == params["subscription"]]
        return {"object": "list", "data": found, "has_more": False, "url": f"/v1/{path}"}

    def _create(self, kind: str, params: dict) -> dict:
        now = int(time.time())
        obj_id = params.get("id") or self.new_id(kind)
        obj: dict[str, Any] = {"id": obj_id, "object": kind, "created": now, "livemode": False,
                               "metadata": params.get("metadata") or {}}
        if kind == "customer":
            obj.update(email=params.get("email"), name=params.get("name"),
                       invoice_settings={"default_payment_method": None}, balance=0,
                       currency="eur", delinquent=False, description=None, discount=None)
        elif kind == "checkout.session":
            obj.update(url=f"https://checkout.stripe.com/c/pay/{obj_id}", mode=params.get("mode"),
                       customer=params.get("customer"), status="open", payment_status="unpaid",
                       client_reference_id=params.get("client_reference_id"),
                       success_url=params.get("success_url"),
                       cancel_url=params.get("cancel_url"), subscription=None,
                       line_items=params.get("line_items"))
        elif kind == "billing_portal.session":
            obj.update(url=f"https://billing.stripe.com/p/session/{obj_id}",
                       customer=params.get("customer"), return_url=params.get("return_url"))
        elif kind == "invoiceitem":
            obj.update(customer=params.get("customer"), amount=int(params["amount"]),
                       currency=params.get("currency"), description=params.get("description"),
                       invoice=None, period={k: int(v) for k, v in
                                             (params.get("period") or {}).items()})
        elif kind == "product":
            obj.update(name=params.get("name"), description=params.get("description"),
                       active=params.get("active", "true") == "true", type="service")
        elif kind == "price":
            obj.update(product=params.get("product"), unit_amount=int(params["unit_amount"]),
                       currency=params.get("currency"), active=True, type="recurring",
                       lookup_key=params.get("lookup_key"), billing_scheme="per_unit",
                       recurring={"interval": params["recurring"]["interval"],
                                  "interval_count": 1, "usage_type": "licensed"})
            if params.get("transfer_lookup_key") == "true":
                for other in self.of_type("price"):
                    if other.get("lookup_key") == obj["lookup_key"]:
                        other["lookup_key"] = None
        else:
            raise AssertionError(f"FakeStripe cannot create a {kind}: {params}")
        return self.add(obj)

    def _modify(self, obj: dict, params: dict) -> dict:
        if obj["object"] == "subscription" and "items" in params:
            for change in params["items"]:
                for item in obj["items"]["data"]:
                    if item["id"] == change["id"] and "price" in change:
                        item["price"] = self.objects[change["price"]]
        for name in ("name", "description"):
            if name in params:
                obj[name] = params[name]
        if "active" in params:
            obj["active"] = params["active"] == "true"
        if "metadata" in params:
            obj["metadata"] = {**(obj.get("metadata") or {}), **params["metadata"]}
        return obj

"""Correctness after the runs, with the server idle.

Invariants over everything the benchmark wrote, and per-request costs that
throughput alone hides: SQL queries of the status poll (the unchanged poll
must run none) and Celery sends (`delay()`/`apply_async`) per join and per
call-next, counted in-process with Django's test client.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

import redis
from celery import Celery
from celery.app.task import Task
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.fixtures import BenchData, empty_queue, fill_to, next_phone, status_version
from queues.models import QueueEntry
from waitify import celery_app


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def invariants() -> list[Check]:
    table = QueueEntry._meta.db_table
    duplicates = _rows(
        f"SELECT business_id, service_day, ticket_prefix, ticket_number FROM {table}"  # noqa: S608
        " GROUP BY 1, 2, 3, 4 HAVING count(*) > 1")
    over_max = _rows(
        f"SELECT e.business_id, count(*), b.max_queue_size FROM {table} e"  # noqa: S608
        " JOIN businesses_business b ON b.id = e.business_id WHERE e.status = 'waiting'"
        " GROUP BY e.business_id, b.max_queue_size HAVING count(*) > b.max_queue_size")
    twice_live = _rows(
        f"SELECT business_id, phone FROM {table} WHERE status IN ('waiting', 'called')"  # noqa: S608
        " AND phone <> '' GROUP BY 1, 2 HAVING count(*) > 1")
    same_key = _rows(
        f"SELECT business_id, sort_key FROM {table} WHERE status = 'waiting'"  # noqa: S608
        " GROUP BY 1, 2 HAVING count(*) > 1")
    called_without_time = _rows(
        f"SELECT id FROM {table} WHERE status = 'called' AND called_at IS NULL")  # noqa: S608
    total = _rows(f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608
    return [
        Check("no duplicate ticket per business, day and prefix (service)", not duplicates,
              f"{len(duplicates)} duplicates over {total} entries"),
        Check("no queue over its maximum", not over_max, f"{len(over_max)} queues over"),
        Check("one live entry per phone and business", not twice_live,
              f"{len(twice_live)} phones twice"),
        Check("waiting positions unique (distinct ordering keys)", not same_key,
              f"{len(same_key)} shared keys"),
        Check("every called entry has its call time", not called_without_time,
              f"{len(called_without_time)} without"),
    ]


@contextmanager
def counting_celery_sends():
    """Count every task sent: delay() and apply_async(), or send_task() called directly.

    apply_async itself ends in send_task: that inner call is not counted again.
    """
    sent: Counter = Counter()
    inside = threading.local()
    original_apply_async, original_send_task = Task.apply_async, Celery.send_task

    def apply_async(task, *args, **kwargs):
        sent[task.name] += 1
        inside.depth = getattr(inside, "depth", 0) + 1
        try:
            return original_apply_async(task, *args, **kwargs)
        finally:
            inside.depth -= 1

    def send_task(app, name, *args, **kwargs):
        if not getattr(inside, "depth", 0):
            sent[name] += 1
        return original_send_task(app, name, *args, **kwargs)

    with (mock.patch.object(Task, "apply_async", apply_async),
          mock.patch.object(Celery, "send_task", send_task)):
        yield sent


@dataclass
class Cost:
    status: int
    queries: int
    redis: int
    sends: Counter
    # The same request with tasks run inline, as the server runs them by default.
    queries_inline: int | None = None

    @property
    def sent(self) -> int:
        return sum(self.sends.values())


@contextmanager
def counting_redis_commands():
    calls = [0]
    original = redis.Redis.execute_command

    def execute_command(client, *args, **kwargs):
        calls[0] += 1
        return original(client, *args, **kwargs)

    with mock.patch.object(redis.Redis, "execute_command", execute_command):
        yield calls


def _measure(client_call, *, with_tasks: bool = False) -> Cost:
    """HTTP status, SQL queries, Redis commands and Celery sends of one request."""
    with (CaptureQueriesContext(connection) as queries, counting_celery_sends() as sent,
          counting_redis_commands() as redis_calls):
        response = client_call()
    cost = Cost(response.status_code, len(queries.captured_queries), redis_calls[0], sent)
    if with_tasks:
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        try:
            with (CaptureQueriesContext(connection) as inline,
                  contextlib.redirect_stdout(io.StringIO())):  # the console SMS backend
                again = client_call()
        finally:
            celery_app.conf.task_always_eager = eager
        if again.status_code == response.status_code:
            cost.queries_inline = len(inline.captured_queries)
    return cost


def request_costs(data: BenchData) -> tuple[list[Check], dict[str, Cost]]:
    client = Client()
    htmx = {"HTTP_HX_REQUEST": "true"}
    status_url = f"/q/s/{data.status_secret}"
    client.get(status_url, **htmx)  # warm-up: first-request imports, cache priming
    poll = _measure(lambda: client.get(status_url, **htmx))
    version = status_version(data.status_business)
    same = _measure(lambda: client.get(status_url, {"v": version}, **htmx))
    status_json = _measure(lambda: client.get(f"/api/v1/public/entries/{data.status_secret}"))

    business = data.checks_business
    empty_queue(business.pk)
    join_url = f"/api/v1/public/{business.qr_token}/join"
    join = _measure(lambda: client.post(join_url, {"phone": next_phone()},
                                        content_type="application/json"), with_tasks=True)
    auth = {"HTTP_AUTHORIZATION": f"Token {data.checks_token}"}
    next_url = f"/api/v1/businesses/{business.pk}/queue/next"
    fill_to(business.pk, 12)
    next10 = _measure(lambda: client.post(next_url, **auth), with_tasks=True)
    fill_to(business.pk, 200)
    next200 = _measure(lambda: client.post(next_url, **auth), with_tasks=True)
    multi10, multi200 = _multi_counter_costs(client, business, next_url, auth)

    costs = {
        "status poll (htmx, no v)": poll,
        "unchanged poll (htmx, v current)": same,
        "status (JSON API)": status_json,
        "join (JSON API)": join,
        "call-next, ~10 waiting": next10,
        "call-next, ~200 waiting": next200,
        "call-next at a B-only counter of 3, 2 services, ~10 waiting": multi10,
        "call-next at a B-only counter of 3, 2 services, ~200 waiting": multi200,
    }
    checks = [
        Check("status poll answers 200 in ≤ 2 SQL queries",
              poll.status == 200 and poll.queries <= 2, f"{poll.status}, {poll.queries} queries"),
        Check("unchanged poll answers 204 with 0 SQL queries",
              same.status == 204 and same.queries == 0, f"{same.status}, {same.queries} queries"),
        Check("join: 201 and at most one Celery send",
              join.status == 201 and join.sent <= 1, f"{join.status}, {dict(join.sends)}"),
        Check("call-next: 200 and at most one Celery send (10 and 200 waiting)",
              next10.status == next200.status == 200 and max(next10.sent, next200.sent) <= 1,
              f"{dict(next10.sends)} / {dict(next200.sends)}"),
        Check("call-next runs the same queries at 10 and at 200 waiting",
              (next10.queries, next10.queries_inline) == (next200.queries, next200.queries_inline),
              f"{next10.queries} vs {next200.queries} queries "
              f"({next10.queries_inline} vs {next200.queries_inline} with the SMS task inline)"),
        Check("call-next at one of several counters runs the same queries at 10 and at 200 "
              "waiting (two services, priority entries)",
              multi10.status == multi200.status == 200
              and (multi10.queries, multi10.queries_inline)
              == (multi200.queries, multi200.queries_inline),
              f"{multi10.queries} vs {multi200.queries} queries"),
    ]
    return checks, costs


def _multi_counter_costs(client: Client, business, next_url: str, auth: dict
                         ) -> tuple[Cost, Cost]:
    """The same business with a second service and three counters, one serving
    only that service; call-next there with ~10 then ~200 waiting of both services (every
    tenth a priority walk-in)."""
    from queues import services as queue_services

    empty_queue(business.pk)
    other = queue_services.service_create(business=business, name="B", ticket_prefix="B")
    queue_services.counter_create(business=business, name="Guichet 2")
    b_only = queue_services.counter_create(business=business, name="Guichet B",
                                           services=[other])
    first = business.services.exclude(pk=other.pk).first()

    def fill(length: int) -> None:
        for index in range(length - QueueEntry.objects.waiting().filter(
                business=business).count()):
            walk_in = index % 10 == 0
            queue_services.entry_join(business=business, phone="" if walk_in else next_phone(),
                                      walk_in=walk_in, priority=walk_in,
                                      service=(first, other)[index % 2])

    body = {"counter": str(b_only.pk)}
    fill(12)
    multi10 = _measure(lambda: client.post(next_url, body, content_type="application/json",
                                           **auth), with_tasks=True)
    fill(200)
    multi200 = _measure(lambda: client.post(next_url, body, content_type="application/json",
                                            **auth), with_tasks=True)
    return multi10, multi200


# --- Where a join's time goes ---------------------------------------------------------------

PART_SAMPLES = 300


@dataclass
class Part:
    label: str
    ms: float  # median wall time of one call, one at a time, in this process
    framework: bool = False  # paid by every join whatever the engine does


def _median_ms(call, samples: int = PART_SAMPLES) -> float:
    for n in range(20):  # warm-up: imports, connections, caches
        call(n)
    times = []
    for n in range(20, 20 + samples):
        started = time.perf_counter()
        call(n)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def join_parts(data: BenchData) -> list[Part]:
    """One request at a time through Django's test client (no HTTP server, no wrk):
    the reference views, the whole join, and the framework parts every join pays
    besides its SQL (DRF's dispatch with the public throttle, one Celery `delay()`,
    the cache write of the poll version)."""
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory

    from queues.api import PublicView
    from queues.tasks import send_sms

    class NothingView(PublicView):
        def post(self, request, qr_token):
            return Response({}, status=201)

    client = Client()
    businesses = data.spread
    nothing = NothingView.as_view()
    factory = APIRequestFactory()

    def customer(n: int) -> dict:
        # One address per customer, as in a shop: the throttle's history stays short.
        return {"REMOTE_ADDR": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}

    def join(n: int) -> None:
        response = client.post(f"/api/v1/public/{businesses[n % len(businesses)].qr_token}/join",
                               {"phone": next_phone()}, content_type="application/json",
                               **customer(n))
        assert response.status_code == 201, response.content

    def drf(n: int) -> None:
        request = factory.post("/", {"phone": "+33612345678"}, format="json", **customer(n))
        nothing(request, qr_token="placeholder").render()  # noqa: S106 - a URL argument

    parts = [
        Part("trivial view (whole request)", _median_ms(lambda n: client.get("/bench/trivial"))),
        Part("single INSERT view (whole request)",
             _median_ms(lambda n: client.post("/bench/insert"))),
        Part("bare join view (BEGIN, row lock, INSERT, COMMIT; whole request)",
             _median_ms(lambda n: client.post(
                 f"/bench/bare-join/{businesses[n % len(businesses)].pk}"))),
        Part("join (JSON API, whole request)", _median_ms(join)),
        Part("of which: DRF dispatch with the public throttle (a view doing nothing)",
             _median_ms(drf), framework=True),
        Part("of which: one Celery `delay()` (the SMS task, published after the response)",
             _median_ms(lambda n: send_sms.delay([])), framework=True),
        Part("of which: one cache write (the poll version)",
             _median_ms(lambda n: cache.set("bench:part", n)), framework=True),
    ]
    for business in businesses:
        empty_queue(business.pk)
    return parts

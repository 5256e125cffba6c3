"""The benchmark's reference views, mounted only by the benchmark's settings (bench/urls.py).

They go through the whole middleware stack like every page, so `make bench`
can compare the queue endpoints with what this machine does for a request
that touches nothing (`trivial`), for one that commits one INSERT
(`single_insert`) and for the skeleton of a join (`bare_join`): lock the
business's queue row, insert, commit, nothing else.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

# Created by bench/run.py in the benchmark's own database, never by a migration.
INSERT_SQL = "INSERT INTO bench_insert (note) VALUES (%s)"
LOCK_SQL = "SELECT version FROM queues_queuestate WHERE business_id = %s FOR NO KEY UPDATE"


@csrf_exempt
def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
def single_insert(request: HttpRequest) -> HttpResponse:
    # Autocommit: one INSERT and its commit, as a join's commit pays too.
    with connection.cursor() as cursor:
        cursor.execute(INSERT_SQL, ["bench"])
    return HttpResponse("ok", content_type="text/plain", status=201)


@csrf_exempt
def bare_join(request: HttpRequest, business_id) -> HttpResponse:
    # What every join must do at least: a transaction that takes the business's
    # row lock, inserts and commits (BEGIN, SELECT … FOR NO KEY UPDATE, INSERT, COMMIT).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(LOCK_SQL, [business_id])
        cursor.execute(INSERT_SQL, ["bare join"])
    return HttpResponse("ok", content_type="text/plain", status=201)

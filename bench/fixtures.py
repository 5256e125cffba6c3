"""The benchmark's data, written through the services like any real change.

Runs in bench/run.py's own Django process and its pool (bench/pool.py),
against waitify_bench only, and only while the server is idle (between runs). Customers come and go
through `entry_join` and `entry_cancel`; nothing here writes queue rows
directly, so the data is what the engine itself would produce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import Count, Q
from rest_framework.authtoken.models import Token

from bench.pool import in_parallel
from businesses import services as business_services
from businesses.models import Business, Plan, User
from queues import services
from queues.models import EntryStatus, QueueEntry

SPREAD_BUSINESSES = 100
CAPPED_SIZE = 200
# Call-next runs go round-robin over many queues, so that one run takes only a
# few customers from each and every queue stays near its length: at least this
# many businesses per length, more once calibration has measured the machine's
# call-next rate (see `grow_call_next_sets`); the drain actually seen is reported.
CALL_NEXT_SETS = {10: 150, 200: 20}  # queue length -> number of businesses
MAX_DRAIN = {10: 3, 200: 25}  # customers one run may take from one queue
STATUS_QUEUE_LENGTH, STATUS_POSITION = 50, 25


def _no_durable_wait(sender, connection, **kwargs) -> None:
    # Only this benchmark's own commits skip the WAL flush wait: seeding and
    # resets get faster, the server under measurement keeps the default.
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")


connection_created.connect(_no_durable_wait)


def create_bench_objects() -> None:
    """Tables the benchmark owns in waitify_bench, beside the app's (never migrations)."""
    with connection.cursor() as cursor:
        # The single-INSERT view's table: logged like the app's tables, so its
        # commit waits for the WAL flush as a join's does.
        cursor.execute("CREATE TABLE bench_insert (id bigserial PRIMARY KEY,"
                       " created_at timestamptz NOT NULL DEFAULT now(), note text NOT NULL)")
        # Distinct seeded phone numbers across the seeding processes.
        cursor.execute("CREATE SEQUENCE bench_phone")


def next_phone() -> str:
    """A fresh "+3375…" number (wrk's joins use "+3361…", see bench/join.lua)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('bench_phone')")
        return f"+3375{cursor.fetchone()[0]:07d}"


@dataclass
class BenchData:
    spread: list[Business] = field(default_factory=list)
    capped: Business | None = None
    call_next: dict[int, list[Business]] = field(default_factory=dict)
    call_next_token: str = ""
    call_next_owner: User | None = None
    status_business: Business | None = None
    status_secret: str = ""
    checks_business: Business | None = None
    checks_token: str = ""


def _merchant(label: str) -> tuple[User, str]:
    user = User.objects.create_user(
        f"bench-{label}@bench.invalid", None, plan=Plan.objects.get(name="enterprise"),
        subscription_status=User.Status.ACTIVE, first_name=label,
    )
    return user, Token.objects.create(user=user).key


def _open_business(owner: User, name: str, max_queue_size: int = CAPPED_SIZE) -> Business:
    business = business_services.business_create(owner=owner, name=name,
                                                 business_type="bakery",
                                                 max_queue_size=max_queue_size)
    services.queue_open(business=business)
    return business


def fill_to(business_id, length: int) -> int:
    """Join customers until `length` are waiting; returns how many joined."""
    business = Business.objects.get(pk=business_id)
    missing = length - QueueEntry.objects.waiting().filter(business=business).count()
    for _ in range(max(0, missing)):
        services.entry_join(business=business, phone=next_phone())
    return max(0, missing)


def empty_queue(business_id) -> int:
    """Cancel every waiting customer (the customer's own "cancel my place")."""
    waiting = list(QueueEntry.objects.waiting().filter(business_id=business_id)
                   .order_by("sort_key"))
    for entry in waiting:
        services.entry_cancel(entry=entry)
    return len(waiting)


def ids(businesses: list[Business]) -> list:
    return [business.pk for business in businesses]


def seed() -> BenchData:
    business_services.ensure_default_plans()
    data = BenchData()
    owner, _token = _merchant("spread")
    data.spread = [_open_business(owner, f"Spread {i:03d}") for i in range(SPREAD_BUSINESSES)]
    owner, _token = _merchant("capped")
    data.capped = _open_business(owner, "Capped at 200")
    # One merchant for both lengths: per-account costs (the month's SMS count)
    # are then the same at 10 and at 200 waiting.
    owner, data.call_next_token = _merchant("next")
    data.call_next_owner = owner
    for length, count in CALL_NEXT_SETS.items():
        data.call_next[length] = [_open_business(owner, f"Next{length} {i:03d}")
                                  for i in range(count)]
    owner, data.checks_token = _merchant("checks")
    data.status_business = _open_business(owner, "Status poll")
    data.checks_business = _open_business(owner, "Checks")
    for position in range(1, STATUS_QUEUE_LENGTH + 1):
        entry = services.entry_join(business=data.status_business, phone=next_phone())
        if position == STATUS_POSITION:
            data.status_secret = entry.secret
    for length, businesses in data.call_next.items():
        in_parallel("bench.fixtures:fill_to", ids(businesses), length)
    return data


def grow_call_next_sets(data: BenchData, calls_per_run: float) -> dict[int, int]:
    """Enough businesses per length that one run takes at most MAX_DRAIN from each queue."""
    added = {}
    for length, businesses in data.call_next.items():
        needed = math.ceil(calls_per_run / MAX_DRAIN[length])
        new = [_open_business(data.call_next_owner, f"Next{length} {i:03d}")
               for i in range(len(businesses), needed)]
        in_parallel("bench.fixtures:fill_to", ids(new), length)
        businesses.extend(new)
        added[length] = len(new)
    return added


def status_version(business: Business) -> str:
    """The "<business id>:<version>" an up-to-date page sends back (and cache priming)."""
    business.refresh_from_db()
    return services.version_stamp(business.queue_state_row)


def waiting_lengths(businesses: list[Business]) -> list[int]:
    counts = dict(Business.objects.filter(pk__in=[b.pk for b in businesses])
                  .annotate(n=Count("queue_entries",
                                    filter=Q(queue_entries__status=EntryStatus.WAITING)))
                  .values_list("pk", "n"))
    return [counts[b.pk] for b in businesses]


def entry_counts(businesses: list[Business]) -> dict[str, int]:
    """Entries per status over these businesses (to compare with wrk's 2xx count)."""
    rows = list(QueueEntry.objects.filter(business__in=businesses).values_list("status")
                .annotate(n=Count("pk")))
    counts = {status: 0 for status in EntryStatus.values}
    counts.update(dict(rows))
    counts["total"] = sum(n for status, n in rows)
    return counts


def server_connections_busy(dbname: str) -> int:
    """Other sessions of the benchmark database still running a statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state <> 'idle'"
            " AND pid <> pg_backend_pid()", [dbname])
        return cursor.fetchone()[0]

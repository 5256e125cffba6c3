"""Analytics benchmark, one command: `.venv/bin/python bench/analytics.py`.

1. Creates (once) and migrates the PostgreSQL database waitify_bench_analytics.
2. Fills it with set-based SQL (generate_series): 100 merchants × 5 businesses,
   1,000,000 queue entries over the 30 days up to yesterday (Europe/Paris),
   one SMS log row per entry.
3. Times the nightly job for one day and all 500 businesses (target < 3 s), after
   back-filling the 30 days; times one day of retention (rolled back).
4. Times the merchant pages and API for a merchant with 5 businesses, server
   side through Django's test client (target < 100 ms each), with query counts.
5. Writes its own section of docs/BENCHMARKS.md, between the analytics markers,
   leaving the rest of the file (the queue benchmark) as it is.

Knobs: BENCH_PG (default postgres://postgres@127.0.0.1:5432), BENCH_ENTRIES
(default 1000000), BENCH_RUNS (default 30 timed requests per page).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "waitify_bench_analytics"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
ENTRIES = int(os.environ.get("BENCH_ENTRIES", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
MERCHANTS, PER_MERCHANT, DAYS = 100, 5, 30
REPORT = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- analytics-benchmark:start -->", "<!-- analytics-benchmark:end -->"

os.environ.update({
    "DJANGO_SETTINGS_MODULE": "waitify.settings",
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "REDIS_URL": "",
    "CONN_MAX_AGE": "60",  # as in docker-compose.yml
    "DEBUG": "false",
    # Templates use {% static %}: no collectstatic manifest here.
    "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    "API_RATE_LIMIT": "1000000/s",
})


def log(message: str) -> None:
    print(f"[bench-analytics] {message}", flush=True)


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                    [DB_NAME]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DB_NAME}"')
            log(f"created database {DB_NAME}")


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    log(f"migrated in {time.perf_counter() - started:.1f} s")


# --- Data, set-based ----------------------------------------------------------------------

ENTRIES_SQL = """
WITH businesses AS (
    SELECT id, (row_number() OVER (ORDER BY id)) - 1 AS n FROM businesses_business
),
draws AS (
    SELECT g, random() AS outcome, random() AS minute, random() AS wait, random() AS service,
           random() AS error,
           -- Hours of arrival weighted like a bakery: mornings and late afternoons.
           (ARRAY[7, 7, 8, 8, 8, 8, 9, 9, 10, 11, 12, 12, 12, 13, 14, 15, 16, 17, 17, 17,
                  18, 18, 19])[1 + floor(random() * 23)::int] AS hour
    FROM generate_series(1, {entries}) AS g
),
timed AS (
    SELECT g, outcome, service, error,
           ((DATE '{first_day}' + (g % {days}))::timestamp
            + make_interval(hours => hour, secs => minute * 3600))
               AT TIME ZONE 'Europe/Paris' AS joined,
           make_interval(secs => 30 + wait * 2400) AS waited,
           CASE WHEN outcome < 0.86 THEN 'served' WHEN outcome < 0.92 THEN 'missed'
                ELSE 'cancelled' END AS status
    FROM draws
)
INSERT INTO queues_queueentry (
    id, business_id, phone, customer_name, service_day, ticket_number, sort_key, status,
    estimated_wait_seconds, called_at, actual_wait_seconds, arrived_at, served_at,
    finished_at, actual_service_seconds, sms_count, last_sms_at, snooze_count, language,
    secret, created_at, updated_at, rejoined_from_id, service_id)
SELECT gen_random_uuid(), businesses.id, '', '', (joined AT TIME ZONE 'Europe/Paris')::date,
       g, g, status,
       GREATEST(0, EXTRACT(EPOCH FROM waited)::int + ((error - 0.5) * 600)::int),
       CASE WHEN status <> 'cancelled' THEN joined + waited END,
       CASE WHEN status <> 'cancelled' THEN EXTRACT(EPOCH FROM waited)::int END,
       NULL,
       CASE WHEN status = 'served' THEN joined + waited + make_interval(secs => 60 + service * 240)
       END,
       CASE WHEN status = 'served' THEN joined + waited + make_interval(secs => 60 + service * 240)
            WHEN status = 'missed' THEN joined + waited + INTERVAL '5 minutes'
            ELSE joined + waited * 0.5 END,
       CASE WHEN status = 'served' THEN (60 + service * 240)::int END,
       1, joined, 0, 'fr', 'bench-' || g, joined, joined, NULL,
       (SELECT service.id FROM queues_service service
        WHERE service.business_id = businesses.id LIMIT 1)
FROM timed JOIN businesses ON businesses.n = g % {businesses}
-- Rows land in the order of arrival, as in production (an append-only table).
ORDER BY joined
"""

SMS_SQL = """
INSERT INTO queues_smslog (
    id, business_id, entry_id, phone, type, text, status, segments, provider_message_id,
    provider_response, cost_cents, attempts, last_error, next_attempt_at, claimed_at, sent_at,
    delivered_at, created_at, updated_at)
SELECT gen_random_uuid(), business_id, id, '+33612345678', 'confirmation',
       'Votre place est confirmée', 'delivered', 1, '', '{}', 0, 1, '', NULL, NULL,
       created_at, created_at, created_at, created_at
FROM queues_queueentry ORDER BY created_at
"""


def fill(first_day: date) -> tuple[dict, float]:
    from django.db import connection

    from businesses import services
    from businesses.models import Business, Plan, User

    services.ensure_default_plans()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE businesses_user, businesses_business, queues_queueentry, "
                       "queues_smslog, analytics_dailystat CASCADE")
    enterprise = Plan.objects.get(name="enterprise")
    users = User.objects.bulk_create([
        User(email=f"merchant{n:03d}@bench.waitify.test", password="!",  # noqa: S106
             plan=enterprise,
             subscription_status="active", first_name=f"Marchand {n}")
        for n in range(MERCHANTS)])
    Business.objects.bulk_create([
        Business(owner=user, name=f"Commerce {m:03d}-{n}", business_type="bakery",
                 average_service_time=120, max_queue_size=50, client_timeout_minutes=5,
                 average_basket_cents=900 + 50 * n, is_queue_open=True)
        for m, user in enumerate(users) for n in range(PER_MERCHANT)])
    # created_at is auto_now_add: the businesses exist before the first bench day.
    Business.objects.update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    businesses = MERCHANTS * PER_MERCHANT
    with connection.cursor() as cursor:
        cursor.execute(ENTRIES_SQL.format(entries=ENTRIES, first_day=first_day.isoformat(),
                                          days=DAYS, businesses=businesses))
        cursor.execute(SMS_SQL)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM queues_queueentry")
        entries = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM queues_smslog")
        sms = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    return {"merchants": MERCHANTS, "businesses": businesses, "entries": entries, "sms": sms,
            "size": size}, seconds


# --- Measurements ----------------------------------------------------------------------------

LOAD = [float("inf"), 0.0]


def note_load() -> None:
    one_minute = os.getloadavg()[0]
    LOAD[0], LOAD[1] = min(LOAD[0], one_minute), max(LOAD[1], one_minute)


def timed(function, runs: int) -> tuple[list[float], int]:
    """Seconds of each run and the query count of the last one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    note_load()
    durations, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as context:
            started = time.perf_counter()
            function()
            durations.append(time.perf_counter() - started)
        queries = len(context.captured_queries)
    return durations, queries


def nightly(yesterday: date) -> dict:
    from analytics import services
    from analytics.models import DailyStat

    started = time.perf_counter()
    services.daily_stats_compute_range(first=yesterday - timedelta(days=DAYS - 1),
                                       last=yesterday)
    backfill = time.perf_counter() - started
    durations, queries = timed(lambda: services.daily_stats_compute(day=yesterday), 5)
    rows = DailyStat.objects.filter(date=yesterday)
    return {"backfill": backfill, "durations": durations, "queries": queries,
            "rows": rows.count(),
            "entries": sum(rows.values_list("registered", flat=True))}


def retention(first_day: date) -> dict:
    """One day of entries past retention, deleted in 1,000-id batches, then rolled back."""
    from django.db import transaction

    from analytics import services

    today = first_day + timedelta(days=services.RETENTION_DAYS + 1)
    with transaction.atomic():
        started = time.perf_counter()
        deleted = services.entries_purge_expired(today=today)
        entries_seconds = time.perf_counter() - started
        started = time.perf_counter()
        blanked = services.sms_logs_forget_phones(today=today)
        sms_seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return {"deleted": deleted, "entries_seconds": entries_seconds, "blanked": blanked,
            "sms_seconds": sms_seconds}


def pages() -> list[dict]:
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from businesses.models import Business, User

    merchant = User.objects.order_by("email").first()
    business = Business.objects.filter(owner=merchant).order_by("name").first()
    client = Client()
    client.force_login(merchant)
    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=merchant)[0].key}")
    targets = [
        ("page", "comparison, last 30 days", client, "/analytics/?period=last_30_days"),
        ("page", "comparison, last 90 days", client, "/analytics/?period=last_90_days"),
        ("page", "business dashboard, 30 days", client,
         f"/businesses/{business.pk}/analytics/"),
        ("page", "business dashboard, 7 days (htmx)", client,
         f"/businesses/{business.pk}/analytics/?period=last_7_days"),
        ("API", "analytics/dashboard", api, "/api/v1/analytics/dashboard"),
        ("API", "analytics/comparison?period=last_30_days", api,
         "/api/v1/analytics/comparison?period=last_30_days"),
        ("API", "analytics/consolidated/month", api, "/api/v1/analytics/consolidated/month"),
        ("API", "businesses/{id}/analytics/dashboard", api,
         f"/api/v1/businesses/{business.pk}/analytics/dashboard"),
        ("API", "businesses/{id}/analytics/daily", api,
         f"/api/v1/businesses/{business.pk}/analytics/daily"),
        ("API", "businesses/{id}/analytics/export (CSV)", api,
         f"/api/v1/businesses/{business.pk}/analytics/export"),
    ]
    results = []
    for kind, label, http, url in targets:
        headers = {"HTTP_HX_REQUEST": "true"} if "htmx" in label else {}

        def get(http=http, url=url, headers=headers):
            response = http.get(url, **headers)
            assert response.status_code == 200, (url, response.status_code)

        timed(get, 3)  # warm-up: connections, template loading
        durations, queries = timed(get, RUNS)
        results.append({"kind": kind, "label": label, "durations": durations,
                        "queries": queries})
    return results


# --- Report -----------------------------------------------------------------------------------

def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def section(data: dict, fill_seconds: float, night: dict, purge: dict, views: list[dict],
            yesterday: date) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    median = statistics.median(night["durations"])
    lines = [
        START,
        "## Analytics: nightly statistics and dashboards",
        "",
        f"Command: `.venv/bin/python bench/analytics.py` (database `{DB_NAME}`), run "
        f"{datetime.now():%Y-%m-%d %H:%M}. Machine: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, PostgreSQL {pg_version.split()[0]}; load "
        f"average during the measures {LOAD[0]:.1f} to {LOAD[1]:.1f} (other work on the "
        f"machine slows every figure below by as much).",
        "",
        f"Data, generated with set-based SQL (`generate_series`) in {fill_seconds:.1f} s: "
        f"{data['merchants']} merchants × {PER_MERCHANT} businesses = {data['businesses']} "
        f"businesses, {data['entries']:,} queue entries over the {DAYS} days up to "
        f"{yesterday} (Europe/Paris; arrivals weighted towards mornings and late "
        f"afternoons; 86 % served, 6 % missed, 8 % cancelled; rows stored in order of "
        f"arrival, as in production) and {data['sms']:,} SMS log rows; database size "
        f"{data['size']}.",
        "",
        "| measure | result | target | queries |",
        "|---|---|---|---|",
        f"| nightly job, one day, all {night['rows']} businesses ({night['entries']:,} "
        f"entries that day), median of 5 | **{median:.2f} s** (min "
        f"{min(night['durations']):.2f}, max {max(night['durations']):.2f}) | < 3 s | "
        f"{night['queries']} |",
        f"| back-fill of the {DAYS} days (`compute_daily_stats --from … --to …`) | "
        f"{night['backfill']:.1f} s | – | {night['queries']} per day |",
        f"| retention, one day past 90 days: {purge['deleted']:,} entries deleted in "
        f"1,000-id batches (rolled back) | {purge['entries_seconds']:.1f} s | – | – |",
        f"| retention: {purge['blanked']:,} SMS phone numbers blanked, same batches | "
        f"{purge['sms_seconds']:.1f} s | – | – |",
    ]
    lines += [
        "",
        f"Pages and API for a merchant with {PER_MERCHANT} businesses, server time through "
        f"Django's test client (middleware, session or token auth, ORM, templates or JSON), "
        f"median and 95th percentile of {RUNS} requests after 3 warm-up requests. Target: "
        f"< 100 ms each, query count fixed (pinned in `analytics/tests/`).",
        "",
        "| | request | median | p95 | queries |",
        "|---|---|---|---|---|",
    ]
    for view in views:
        durations = view["durations"]
        verdict = "" if statistics.median(durations) < 0.1 else " ⚠"
        lines.append(f"| {view['kind']} | {view['label']} | "
                     f"**{ms(statistics.median(durations))}**{verdict} | "
                     f"{ms(p95(durations))} | {view['queries']} |")
    lines += [
        "",
        "How the nightly job stays set-based: the businesses (one query); one GROUP BY "
        "(business, local hour) over the day's entries, whose hours add up to the day's "
        "counts and averages; one SQL statement that reads the day's entries once for the "
        "window functions (longest queue: running sum of +1 at join and −1 at call or "
        "cancellation; busiest hour: joins per quarter hour summed over four quarters); "
        "one GROUP BY over the day's SMS; one `INSERT … ON CONFLICT (business_id, date) DO "
        "UPDATE` for all rows. No loop over entries or businesses issues a query. Pages "
        "read DailyStat (one row per business and day) and today's entries only.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_report(text: str) -> None:
    REPORT.parent.mkdir(exist_ok=True)
    current = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n"
    if START in current and END in current:
        before, _rest = current.split(START, 1)
        _old, after = _rest.split(END, 1)
        updated = before + text.rstrip("\n") + after
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    REPORT.write_text(updated)
    log(f"wrote the analytics section of {REPORT.relative_to(ROOT)}")


def main() -> None:
    ensure_database()
    setup_django()
    from analytics.days import local_today

    yesterday = local_today() - timedelta(days=1)
    first_day = yesterday - timedelta(days=DAYS - 1)
    log(f"generating {ENTRIES:,} entries from {first_day} to {yesterday}…")
    data, fill_seconds = fill(first_day)
    log(f"generated in {fill_seconds:.1f} s: {data}")
    night = nightly(yesterday)
    log(f"nightly job: {[round(d, 3) for d in night['durations']]} s, "
        f"{night['queries']} queries, back-fill {night['backfill']:.1f} s")
    purge = retention(first_day)
    log(f"retention: {purge}")
    views = pages()
    for view in views:
        log(f"{view['label']}: median {ms(statistics.median(view['durations']))}, "
            f"{view['queries']} queries")
    write_report(section(data, fill_seconds, night, purge, views, yesterday))


if __name__ == "__main__":
    main()

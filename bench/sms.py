"""SMS benchmark: what one Celery worker sends per second, and what SMS adds to a join.

    .venv/bin/python bench/sms.py [--sms 1000] [--joins 200] [--rounds 3]

1. Throughput. N pending SMS rows, one `send_sms` task each (what N joins
   queue), go through one real `celery -A waitify worker` process using the
   real SNS backend (boto3) against a local fake of the SNS Publish API (an
   HTTP server in this process answering like AWS, after an optional delay
   standing for the network round trip to AWS). Measured from the first
   claim to the last `sent` in the rows' own timestamps: worker start-up is
   not counted.
2. Join latency. The customer's join (`POST /q/<token>`, the HTML form)
   over HTTP to gunicorn, timed by the client, on businesses with SMS on and
   with SMS off, alternated request by request, rounds in turn. Celery is not
   eager: the SMS task goes to Redis as in production, after the answer (no
   worker consumes it, so only what the request itself pays is measured).

Own database `waitify_bench_sms` (recreated, migrated) and a task queue of its
own in Redis db 8;
needs PostgreSQL and Redis on 127.0.0.1. Writes its section of
docs/BENCHMARKS.md between the sms-benchmark markers.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock
from urllib.parse import urlencode
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REPORT = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- sms-benchmark:start -->", "<!-- sms-benchmark:end -->"
DB_NAME = "waitify_bench_sms"
PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/8"
COMMAND = ".venv/bin/python bench/sms.py"

os.environ.update({
    "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": REDIS, "CELERY_TASK_ALWAYS_EAGER": "false",
    "DJANGO_SETTINGS_MODULE": "waitify.settings", "WAITIFY_RATE_LIMITS_ENABLED": "false",
    "ACCOUNT_EMAIL_VERIFICATION": "none", "LOG_LEVEL": "WARNING",
    "SMS_HOURLY_CAP_PER_BUSINESS": "1000000",
})


# --- A local fake of SNS Publish ----------------------------------------------------------


class FakeSns(BaseHTTPRequestHandler):
    delay = 0.0
    published = 0
    lock = threading.Lock()
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes: without this, Nagle's algorithm
        # and the client's delayed ACK add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            type(self).published += 1
        body = (f'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                f"<PublishResult><MessageId>{uuid.uuid4()}</MessageId></PublishResult>"
                f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                f"</PublishResponse>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def start_fake_sns() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSns)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


# --- Set-up -----------------------------------------------------------------------------------


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


# The run's own task queue: the Redis database may hold other queues (tests),
# so it is never flushed; only this queue is emptied.
TASK_QUEUE = f"sms-bench-{uuid.uuid4().hex[:8]}"


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    client.delete(TASK_QUEUE, *client.keys(f"*{TASK_QUEUE}*"))


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from waitify.celery import app

    app.conf.task_default_queue = TASK_QUEUE

    call_command("migrate", verbosity=0)


def seed(count: int, sms_enabled: bool):
    from businesses import services as business_services
    from businesses.models import Plan, User
    from queues import services

    business_services.ensure_default_plans()
    email = f"bench-sms-{'on' if sms_enabled else 'off'}-{uuid.uuid4().hex[:6]}@example.fr"
    owner = User.objects.create_user(email, "x", plan=Plan.objects.get(name="enterprise"))
    shops = []
    for number in range(count):
        shop = business_services.business_create(owner=owner, name=f"Boulangerie {number}",
                                                 business_type="bakery")
        business_services.business_update(business=shop, sms_enabled=sms_enabled,
                                          max_queue_size=200)
        shops.append(services.queue_open(business=shop))
    return shops


# --- 1. Throughput of one worker -----------------------------------------------------------------


def worker_throughput(count: int, pool: list[str], endpoint: str, delay_ms: int) -> dict:
    from django.db.models import Max, Min

    from queues.models import SmsLog, SmsStatus, SmsType
    from queues.tasks import send_sms

    SmsLog.objects.all().delete()
    flush_redis()
    shop = seed(1, sms_enabled=True)[0]
    now = datetime.now().astimezone()
    logs = SmsLog.objects.bulk_create([
        SmsLog(business=shop, phone=f"+336{number:08d}", type=SmsType.CONFIRMATION,
               text=f"Boulangerie : ticket A-{number:03d}, position 3, attente ~6 min.",
               status=SmsStatus.PENDING, next_attempt_at=now)
        for number in range(count)])
    for log in logs:  # one task per SMS, as joins queue them
        send_sms.delay([str(log.pk)])
    FakeSns.delay, FakeSns.published = delay_ms / 1000, 0
    # Persistent database connections, as a production worker should run: with
    # CONN_MAX_AGE=0 every task opens a new PostgreSQL connection.
    env = {**os.environ, "CONN_MAX_AGE": "60", "SMS_BACKEND": "sns",
           "AWS_SNS_ENDPOINT_URL": endpoint,
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    log_path = ROOT / "var" / "bench" / f"sms-worker-{'-'.join(pool)}-{delay_ms}ms.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log_file:
        worker = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "celery", "-A", "waitify", "worker", *pool, "-Q", TASK_QUEUE,
             "-l", "warning",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 600
            while SmsLog.objects.filter(status=SmsStatus.PENDING).exists():
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise SystemExit(f"worker stalled, see {log_path}")
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    window = SmsLog.objects.aggregate(first=Min("claimed_at"), last=Max("sent_at"))
    seconds = (window["last"] - window["first"]).total_seconds()
    inside = statistics.median((log.sent_at - log.claimed_at).total_seconds() * 1000
                               for log in SmsLog.objects.only("sent_at", "claimed_at"))
    sent = SmsLog.objects.filter(status=SmsStatus.SENT).count()
    return {"pool": " ".join(pool), "delay_ms": delay_ms, "sent": sent,
            "published": FakeSns.published, "seconds": seconds, "per_second": sent / seconds,
            "other": SmsLog.objects.exclude(status=SmsStatus.SENT).count(),
            "inside_ms": inside}


# --- 2. Join latency, SMS on vs off ---------------------------------------------------------


# The server of the join-latency runs: production settings (Celery not eager,
# its tasks in this run's own queue, never consumed), the benchmark's ping view.
SERVER_ENV = {
    "DEBUG": "false", "CONN_MAX_AGE": "60", "DJANGO_SETTINGS_MODULE": "bench.settings",
    "CELERY_TASK_DEFAULT_QUEUE": TASK_QUEUE,
    "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
}
THINK_TIME = 0.02  # seconds between a customer's answer and the next customer's join


def join_latency(joins: int, rounds: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from bench.server import Server, free_port
    from queues import services
    from queues.models import EntryStatus, QueueEntry
    from queues.tasks import send_sms

    flush_redis()
    shops = {"on": seed(10, sms_enabled=True), "off": seed(10, sms_enabled=False)}
    numbers = iter(range(10**7))
    timings: dict[str, list[list[float]]] = {"on": [], "off": []}
    server = Server(port=free_port(), log_path=ROOT / "var" / "bench" / "sms-server.log",
                    env=SERVER_ENV, workers=2)
    server.log_path.parent.mkdir(parents=True, exist_ok=True)
    server.start()
    cookie, token = csrf_pair(server.base, shops["on"][0].qr_token)

    def join(mode: str, index: int) -> float:
        shop = shops[mode][index % len(shops[mode])]
        phone = f"06{next(numbers) + (0 if mode == 'on' else 50_000_000):08d}"
        body = urlencode({"phone": phone, "csrfmiddlewaretoken": token}).encode()
        time.sleep(THINK_TIME)
        started = time.perf_counter()
        status = post(server.base, reverse("queues:join", args=[shop.qr_token]), body, cookie)
        elapsed = time.perf_counter() - started
        assert status == 302, status
        return elapsed * 1000

    def empty_queues() -> None:
        for entry in QueueEntry.objects.filter(status=EntryStatus.WAITING):
            services.entry_cancel(entry=entry)

    try:
        for _warm_up in range(20):
            join("on", _warm_up), join("off", _warm_up)
        for round_number in range(rounds):
            empty_queues()
            flush_redis()
            on, off = [], []
            order = ("on", "off") if round_number % 2 == 0 else ("off", "on")
            for index in range(joins):
                for mode in order:
                    (on if mode == "on" else off).append(join(mode, index))
            timings["on"].append(on)
            timings["off"].append(off)
    finally:
        server.stop()
    errors = server.internal_errors()
    client = Client()

    def client_join(mode: str) -> None:
        shop = shops[mode][0]
        phone = f"06{next(numbers) + (0 if mode == 'on' else 50_000_000):08d}"
        response = client.post(reverse("queues:join", args=[shop.qr_token]), {"phone": phone})
        assert response.status_code == 302, response.status_code

    # Where the added time goes: the two parts a join with SMS pays on top.
    from queues.models import QueueEntry as Entry
    from queues.models import SmsType
    from queues.sms.texts import compose_sms

    entry = Entry.objects.filter(business__sms_enabled=True).select_related("business").first()
    entry.position = 3  # as entry_join leaves it: no query to find it

    def median_ms(action, times: int = 300) -> float:
        spent = []
        for _ in range(times):
            started = time.perf_counter()
            action()
            spent.append((time.perf_counter() - started) * 1000)
        return statistics.median(spent)

    parts = {
        "delay": median_ms(lambda: send_sms.delay(["00000000-0000-0000-0000-000000000000"])),
        "compose": median_ms(lambda: compose_sms(SmsType.CONFIRMATION, entry=entry,
                                                 business=entry.business)),
    }
    flush_redis()

    counts = {}
    for mode in ("on", "off"):
        with mock.patch.object(send_sms, "delay") as delay, \
                CaptureQueriesContext(connection) as queries:
            client_join(mode)
        counts[mode] = (len(queries), delay.call_count)
    empty_queues()

    def p(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))]

    everything = {mode: [t for r in timings[mode] for t in r] for mode in timings}
    rounds_ratio = [statistics.median(on) / statistics.median(off)
                    for on, off in zip(timings["on"], timings["off"], strict=True)]
    return {
        "joins": joins, "rounds": rounds,
        "median": {m: statistics.median(v) for m, v in everything.items()},
        "p95": {m: p(v, 0.95) for m, v in everything.items()},
        "ratio": statistics.median(everything["on"]) / statistics.median(everything["off"]),
        "rounds_ratio": rounds_ratio, "counts": counts, "parts": parts,
        "server_errors": errors,
    }


def csrf_pair(base: str, qr_token: str) -> tuple[str, str]:
    """The CSRF cookie a customer's browser gets with the join page, and the form's token."""
    with urlopen(f"{base}/q/{qr_token}", timeout=10) as page:  # noqa: S310 - loopback
        cookie = SimpleCookie(page.headers.get("Set-Cookie", ""))["csrftoken"].value
        html = page.read().decode()
    token = html.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    return cookie, token


def post(base: str, path: str, body: bytes, cookie: str) -> int:
    """One form POST on a new connection (gunicorn's sync workers close each one)."""
    host, port = base.removeprefix("http://").split(":")
    connection = HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={cookie}",
            "Referer": base + path})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


# --- Report ---------------------------------------------------------------------------------


def machine() -> str:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0].split()[0]
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"{os.cpu_count()} CPUs, load average {load} (1/5/15 min) at the end; "
            f"Python {sys.version.split()[0]}, Django {django.get_version()}, PostgreSQL {pg}")


def render(throughput: list[dict], latency: dict, started: datetime, took: float) -> str:
    lines = [
        START,
        "## SMS: sending throughput and the cost of SMS on a join",
        "",
        f"Command: `{COMMAND}` (database `{DB_NAME}`, Redis db 8), run "
        f"{started:%Y-%m-%d %H:%M %Z} in {took / 60:.1f} min. Machine: {machine()}. The "
        "machine is shared and noisy: compare figures of this run with each other, not "
        "across runs.",
        "",
        "**One worker's throughput.** Pending SMS rows, one `send_sms` task each (what as "
        "many joins queue), sent by one `celery -A waitify worker` process through the real "
        "SNS backend (boto3, one attempt per call) to a local fake of SNS `Publish` "
        "(HTTP server answering like AWS; the delay stands for the round trip to AWS). Each "
        "SMS: claim (conditional UPDATE), read the row with the opt-out and hourly-cap "
        "checks, publish, record sent (cost computed in the UPDATE), count on the entry, "
        "quota check (one query per task). From the first claim to the last `sent`, "
        "start-up excluded.",
        "",
        "| worker | provider delay | SMS | time | SMS/s | claim → sent, median | published "
        "| not sent |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in throughput:
        lines.append(f"| `{row['pool']}` | {row['delay_ms']} ms | {row['sent']:,} | "
                     f"{row['seconds']:.1f} s | **{row['per_second']:.0f}** | "
                     f"{row['inside_ms']:.1f} ms | {row['published']:,} | {row['other']} |")
    lines += [
        "",
        "One solo worker is bound by its round trips: per SMS, the claim → sent column is "
        "the task's own work (three queries and the publish); the rest of each SMS's share "
        "of the time is Celery's (ack, fetching the next task) and the quota check. A "
        "thread pool overlaps the provider's latency.",
    ]
    on, off = latency["median"]["on"], latency["median"]["off"]
    verdict = "PASS" if latency["ratio"] < 1.10 else "FAIL"
    (q_on, s_on), (q_off, s_off) = latency["counts"]["on"], latency["counts"]["off"]
    lines += [
        "",
        "**Join latency, SMS on vs off.** The customer's join (`POST /q/<token>`, the HTML "
        "form with its CSRF token, answered 302) over HTTP to gunicorn (2 sync workers, "
        "DEBUG off, PostgreSQL with synchronous commit), timed by the client from sending "
        "the request to reading the whole answer, one customer at a time "
        f"({THINK_TIME * 1000:.0f} ms apart, so the server is never saturated: this is "
        "latency, not throughput); 10 businesses with SMS on and 10 with SMS off, "
        f"alternated request by request; {latency['rounds']} rounds of "
        f"{latency['joins']} joins per mode (queues emptied between rounds), after 20 "
        "warm-up joins each; "
        f"{latency['server_errors']} server errors. Celery not eager: with SMS on, the "
        "request writes the outbox row in its transaction and, once it commits "
        "(`transaction.on_commit`), hands one task per SMS to Redis; the sending itself "
        "happens in a worker. Queries and sends counted in-process with Django's test client.",
        "",
        "| join | median | p95 | SQL queries | Celery sends |",
        "|---|---:|---:|---:|---:|",
        f"| SMS off | {off:.1f} ms | {latency['p95']['off']:.1f} ms | {q_off} | {s_off} |",
        f"| SMS on | {on:.1f} ms | {latency['p95']['on']:.1f} ms | {q_on} | {s_on} |",
        "",
        f"Added latency: **{(latency['ratio'] - 1) * 100:+.1f} %** (median on / median off = "
        f"{latency['ratio']:.3f}; per round "
        f"{', '.join(f'{r:.3f}' for r in latency['rounds_ratio'])}). Target < +10 %: "
        f"**{verdict}**.",
        "",
        f"What SMS on adds, {on - off:.1f} ms at the median: in the request, one INSERT of "
        "the outbox row in the join's transaction and composing the text "
        f"({latency['parts']['compose']:.2f} ms measured alone); after the answer, one Celery "
        f"`delay()` ({latency['parts']['delay']:.2f} ms measured alone), which the customer "
        "does not wait for but the web worker spends before its next request. Opt-outs "
        "and the hourly cap are checked by the worker, not by the join.",
        END,
    ]
    return "\n".join(lines)


def write_section(section: str) -> None:
    REPORT.parent.mkdir(exist_ok=True)
    existing = REPORT.read_text() if REPORT.exists() else ""
    if START in existing and END in existing:
        before = existing[:existing.index(START)]
        after = existing[existing.index(END) + len(END):]
        text = f"{before}{section}{after}"
    else:
        text = f"{existing.rstrip()}\n\n{section}\n" if existing else f"{section}\n"
    REPORT.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sms", type=int, default=1000, help="SMS per throughput run")
    parser.add_argument("--joins", type=int, default=300, help="joins per mode and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-report", action="store_true", help="print, do not write the doc")
    args = parser.parse_args()
    started, clock = datetime.now().astimezone(), time.monotonic()
    recreate_database()
    flush_redis()
    setup_django()
    latency = join_latency(args.joins, args.rounds)
    print(f"join latency: {latency}", flush=True)
    endpoint = start_fake_sns()
    throughput = []
    for pool, delay_ms in [(["-P", "solo"], 0), (["-P", "solo"], 50),
                           (["-P", "prefork", "-c", "2"], 0), (["-P", "threads", "-c", "8"], 50)]:
        row = worker_throughput(args.sms, pool, endpoint, delay_ms)
        print(f"throughput: {row}", flush=True)
        throughput.append(row)
    flush_redis()
    section = render(throughput, latency, started, time.monotonic() - clock)
    if args.no_report:
        print(section)
    else:
        write_section(section)
        print(f"wrote {REPORT}")


if __name__ == "__main__":
    main()

"""`make bench-queue`: the queue's benchmark, in one command.

1. Recreates the PostgreSQL database waitify_bench, migrates it, seeds it
   through the services; the cache is Redis db 9.
2. Starts gunicorn (4 sync workers, DEBUG off, bench.settings: the app's settings
   plus the trivial and single-INSERT reference views) on a loopback port.
3. Drives wrk as a second process: every endpoint at 16 and 64 connections,
   BENCH_REPS alternating rounds (A B C … A B C …), BENCH_DURATION seconds
   each, plus serial call-next (1 connection). Queues are reset or refilled
   through the services between runs, with the server idle.
4. Checks correctness with the server idle, then writes docs/BENCHMARKS.md.

Environment knobs: BENCH_DURATION (s, default 5), BENCH_REPS (default 3),
BENCH_PORT (default 8811), BENCH_PG (default postgres://postgres@127.0.0.1:5432),
BENCH_CELERY_EAGER (default false, see SERVER_ENV), BENCH_REPORT (default
docs/BENCHMARKS.md).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import Server, free_port, http  # noqa: E402 - after the path fix

DB_NAME = "waitify_bench"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DURATION = int(os.environ.get("BENCH_DURATION", "5"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
CONCURRENCY = (16, 64)
CALL_NEXT_PATH = "/api/v1/businesses/{id}/queue/next"
WRK_THREADS = 2
OUT = ROOT / "var" / "bench"
REPORT = Path(os.environ.get("BENCH_REPORT", ROOT / "docs" / "BENCHMARKS.md"))
KNOBS = ("BENCH_DURATION", "BENCH_REPS", "BENCH_PORT", "BENCH_PG", "BENCH_CELERY_EAGER",
         "BENCH_REPORT")
COMMAND = " ".join([*(f"{k}={os.environ[k]}" for k in KNOBS if k in os.environ),
                    "make bench-queue"])

# Both this process (seeding, resets, checks) and the server read these.
BENCH_ENV = {
    # The app's settings, plus the reference views (bench/urls.py).
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
    "CONN_MAX_AGE": "60",  # as in docker-compose.yml
    "DEBUG": "false",
    # Tasks are only queued (Redis db 9, never consumed), by this process and,
    # unless BENCH_CELERY_EAGER=true, by the server. See SERVER_ENV.
    "CELERY_TASK_ALWAYS_EAGER": "false",
    # Abuse limits would refuse wrk's thousands of joins from one IP; DRF's
    # throttles stay on (their cache round trips are part of every API call)
    # with rates no run reaches. Per second, so each history stays short.
    "WAITIFY_RATE_LIMITS_ENABLED": "false",
    "API_RATE_LIMIT": "1000000/s",
    "API_PUBLIC_RATE_LIMIT": "1000000/s",
    # The per-business hourly SMS cap would turn later SMS into cheaper
    # "suppressed" rows, and sooner for the longer queues: every SMS is written.
    "SMS_HOURLY_CAP_PER_BUSINESS": "100000000",
    # No collectstatic for the benchmark; none of the measured answers links a file.
    "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    "SITE_URL": "http://127.0.0.1:8811",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(BENCH_ENV)
# The server takes the production request path by default: `delay()` pushes the
# SMS task to Redis db 9, where nothing consumes it (the sends are a worker's
# work, measured by bench/sms.py). BENCH_CELERY_EAGER=true runs them inline.
CELERY_EAGER = os.environ.get("BENCH_CELERY_EAGER", "false").lower() in ("1", "true", "yes")
SERVER_ENV = {"CELERY_TASK_ALWAYS_EAGER": str(CELERY_EAGER).lower()}


_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[bench +{time.monotonic() - _T0:4.0f} s] {message}", flush=True)


# --- Database and cache ------------------------------------------------------------------


def reset_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')


def _migrations_key() -> str:
    """Changes whenever a migration could: our migration files, installed packages."""
    from importlib import metadata

    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    for dist in sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()):
        digest.update(dist.encode())
    return digest.hexdigest()[:16]


def prepare_schema() -> None:
    """Migrate, or restore the schema a previous run migrated with the same migrations.

    dj-stripe's migrations take a minute or more of CPU; a dump of the freshly
    migrated database, keyed by the migrations, brings that down to seconds.
    """
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connections

    from bench.fixtures import create_bench_objects

    dump = OUT / f"migrated-{_migrations_key()}.dump"
    target = f"{PG}/{DB_NAME}"
    if dump.exists():
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", target,  # noqa: S603, S607
                        str(dump)], check=True)
    else:
        for old in OUT.glob("migrated-*.dump"):
            old.unlink()
        call_command("migrate", verbosity=0, interactive=False)
        connections.close_all()
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), target], check=True)  # noqa: S603, S607
    create_bench_objects()
    cache.clear()  # Redis db 9: the benchmark's alone


# --- Server --------------------------------------------------------------------------------


def wait_until_idle(timeout: float = 20.0) -> None:
    """No statement of the server running in PostgreSQL, three polls in a row.

    When wrk stops, connections still queued in the listen backlog are served
    anyway: resets and counts start only once they are done.
    """
    from bench.fixtures import server_connections_busy

    time.sleep(0.5)
    quiet, deadline = 0, time.monotonic() + timeout
    while quiet < 3 and time.monotonic() < deadline:
        quiet = quiet + 1 if server_connections_busy(DB_NAME) == 0 else 0
        time.sleep(0.2)


# --- The runs ------------------------------------------------------------------------------


@dataclass
class Endpoint:
    key: str
    label: str
    script: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    before: object = None  # callable run with the server idle, before each run
    after: object = None  # callable(run) with the server idle, after each run


class Bench:
    def __init__(self, wrk: str, server: Server, data) -> None:
        self.wrk, self.server, self.data = wrk, server, data
        self.runs: list = []
        self.problems: list[str] = []
        self.run_no = 0
        self.wrk_log = OUT / "wrk.log"
        self.wrk_log.write_text("")

    # Hooks ------------------------------------------------------------------------------

    def _join_hooks(self, businesses: list, capped: bool):
        from bench import fixtures, pool

        state: dict = {}

        def before() -> None:
            pool.in_parallel("bench.fixtures:empty_queue", fixtures.ids(businesses))
            state["before"] = fixtures.entry_counts(businesses)

        def after(run) -> None:
            counts = fixtures.entry_counts(businesses)
            created = counts["total"] - state["before"]["total"]
            answered = run.statuses.get(201, 0)
            run.notes.update(created=created, answered_201=answered,
                             refused_4002=run.statuses.get(409, 0))
            # A request cut off by wrk's end may still complete on the server:
            # at most one per connection.
            if not 0 <= created - answered <= run.connections:
                self.problems.append(f"{run.name} c{run.connections} round {run.round}: "
                                     f"{created} entries created, {answered} answered 201")
            if capped:
                # Emptied before the run: every accepted join is still waiting,
                # up to the cap and never beyond it.
                waiting = fixtures.waiting_lengths(businesses)[0]
                run.notes["waiting_after"] = waiting
                if waiting != min(created, fixtures.CAPPED_SIZE):
                    self.problems.append(f"capped queue holds {waiting} after round "
                                         f"{run.round} c{run.connections}, {created} created")

        return before, after

    def _call_next_hooks(self, length: int):
        from bench import fixtures, pool

        businesses = self.data.call_next[length]
        state: dict = {}

        def before() -> None:
            pool.in_parallel("bench.fixtures:fill_to", fixtures.ids(businesses), length)
            state["called"] = fixtures.entry_counts(businesses)["called"]

        def after(run) -> None:
            lengths = fixtures.waiting_lengths(businesses)
            called = fixtures.entry_counts(businesses)["called"] - state["called"]
            answered = run.statuses.get(200, 0)
            run.notes.update(length_before=length, mean_after=sum(lengths) / len(lengths),
                             min_after=min(lengths), called=called, answered_200=answered)
            if not 0 <= called - answered <= run.connections:
                self.problems.append(f"{run.name} c{run.connections} round {run.round}: "
                                     f"{called} entries called, {answered} answered 200")

        return before, after

    def endpoints(self) -> list[Endpoint]:
        from bench import fixtures

        data = self.data
        status_url = f"/q/s/{data.status_secret}"
        version = fixtures.status_version(data.status_business)
        htmx = {"HX-Request": "true"}
        spread_before, spread_after = self._join_hooks(data.spread, capped=False)
        one_before, one_after = self._join_hooks([data.capped], capped=True)
        next10_before, next10_after = self._call_next_hooks(10)
        next200_before, next200_after = self._call_next_hooks(200)
        # Endpoints compared by a target run next to each other.
        return [
            Endpoint("trivial", "trivial view (no DB)", "plain.lua", "/bench/trivial"),
            Endpoint("status", "status poll (htmx, DB)", "plain.lua", status_url,
                     headers=htmx),
            Endpoint("unchanged", "unchanged poll (htmx, 204 from cache)", "plain.lua",
                     f"{status_url}?v={version}", headers=htmx),
            Endpoint("insert", "single INSERT", "plain.lua", "/bench/insert"),
            Endpoint("bare_join", "bare join (lock + INSERT), 100 businesses",
                     "round_robin.lua", "/",
                     env={"BENCH_BUSINESS_IDS": ",".join(str(b.pk) for b in data.spread),
                          "BENCH_PATH": "/bench/bare-join/{id}"}),
            Endpoint("join_spread", "join, spread over 100 businesses", "join.lua",
                     "/", env={"BENCH_QR_TOKENS": ",".join(b.qr_token for b in data.spread)},
                     before=spread_before, after=spread_after),
            Endpoint("join_one", "join, all on one business (cap 200)", "join.lua", "/",
                     env={"BENCH_QR_TOKENS": data.capped.qr_token},
                     before=one_before, after=one_after),
            self._call_next(10, next10_before, next10_after),
            self._call_next(200, next200_before, next200_after),
        ]

    def _call_next(self, length: int, before, after) -> Endpoint:
        businesses = self.data.call_next[length]
        return Endpoint(f"next{length}", f"call-next, {length} waiting", "round_robin.lua", "/",
                        env={"BENCH_BUSINESS_IDS": ",".join(str(b.pk) for b in businesses),
                             "BENCH_PATH": CALL_NEXT_PATH,
                             "BENCH_API_TOKEN": self.data.call_next_token},
                        before=before, after=after)

    # Running -------------------------------------------------------------------------------

    def preflight(self, endpoints: list[Endpoint]) -> None:
        """One request each, checked, before anything is measured."""
        base = self.server.base
        expected = {"trivial": 200, "insert": 201, "status": 200, "unchanged": 204}
        for endpoint in endpoints:
            if endpoint.key in expected:
                status, body = http(base + endpoint.url, headers=endpoint.headers)
                if status != expected[endpoint.key]:
                    raise SystemExit(f"preflight {endpoint.key}: {status} {body[:300]!r}")
        token = self.data.spread[0].qr_token
        status, body = http(f"{base}/api/v1/public/{token}/join", method="POST",
                            headers={"Content-Type": "application/json"},
                            body=b'{"phone": "+33612345678"}')
        if status != 201:
            raise SystemExit(f"preflight join: {status} {body[:300]!r}")
        status, body = http(f"{base}/bench/bare-join/{self.data.spread[0].pk}", method="POST")
        if status != 201:
            raise SystemExit(f"preflight bare join: {status} {body[:300]!r}")
        business = self.data.call_next[10][0]
        status, body = http(base + CALL_NEXT_PATH.replace("{id}", str(business.pk)),
                            method="POST",
                            headers={"Authorization": f"Token {self.data.call_next_token}"})
        if status != 200:
            raise SystemExit(f"preflight call-next: {status} {body[:300]!r}")
        wait_until_idle()

    def measure(self, endpoint: Endpoint, *, connections: int, threads: int, round_no: int,
                name: str | None = None):
        from bench.wrk import run_wrk

        prepared = time.monotonic()
        if endpoint.before:
            endpoint.before()
        wait_until_idle()
        prepared = time.monotonic() - prepared
        self.run_no += 1
        env = {"BENCH_PHONE_BASE": str((self.run_no % 20) * 500_000), **endpoint.env}
        load_before = os.getloadavg()[0]
        run = run_wrk(self.wrk, name=name or endpoint.key, round_no=round_no,
                      url=self.server.base + endpoint.url, connections=connections,
                      threads=threads, seconds=DURATION, script=endpoint.script,
                      headers=endpoint.headers, env=env, log=self.wrk_log)
        run.load_before = load_before
        wait_until_idle()
        if endpoint.after:
            endpoint.after(run)
        self.runs.append(run)
        log(f"round {round_no} c{connections:<2} {run.name:<12} {run.rps:8.1f} req/s "
            f"p50 {run.p50_ms:7.2f} ms p99 {run.p99_ms:7.2f} ms "
            f"non-2xx {run.non_2xx}/{run.requests} (reset {prepared:.1f} s) {run.notes or ''}")
        return run

    def calibrate(self) -> None:
        """Size the call-next sets from this machine's call-next rate (one short run).

        On a fast machine one run calls thousands of customers: spread over too
        few queues of 10, they would empty and the run would measure refusals.
        """
        from bench import fixtures
        from bench.wrk import run_wrk

        businesses = self.data.call_next[10]
        run = run_wrk(self.wrk, name="calibration", round_no=0, url=self.server.base + "/",
                      connections=CONCURRENCY[0], threads=WRK_THREADS, seconds=2,
                      script="round_robin.lua", log=self.wrk_log,
                      env={"BENCH_BUSINESS_IDS": ",".join(str(b.pk) for b in businesses),
                           "BENCH_PATH": CALL_NEXT_PATH,
                           "BENCH_API_TOKEN": self.data.call_next_token})
        wait_until_idle()
        # Margin: the rate at 64 connections or in a calmer spell may be higher.
        calls_per_run = run.rps * DURATION * 1.25
        added = fixtures.grow_call_next_sets(self.data, calls_per_run)
        log(f"calibration: call-next {run.rps:.0f} req/s, up to {calls_per_run:.0f} calls "
            f"per run; businesses added per length: {added}; now "
            f"{ {length: len(b) for length, b in self.data.call_next.items()} }")

    def run_all(self) -> None:
        self.calibrate()
        endpoints = self.endpoints()
        self.preflight(endpoints)
        by_key = {endpoint.key: endpoint for endpoint in endpoints}
        for round_no in range(1, REPS + 1):
            # Every round runs each endpoint once (A B C … A B C …); even rounds
            # go backwards, so that no endpoint always runs after the one it is
            # compared with while the machine's load drifts.
            order = endpoints if round_no % 2 else endpoints[::-1]
            serial = ("next10", "next200") if round_no % 2 else ("next200", "next10")
            for connections in CONCURRENCY:
                for endpoint in order:
                    self.measure(endpoint, connections=connections, threads=WRK_THREADS,
                                 round_no=round_no)
            for key in serial:
                self.measure(by_key[key], connections=1, threads=1, round_no=round_no,
                             name=f"{key}_serial")


def _stop_on_sigterm(signum, frame) -> None:
    raise SystemExit(143)  # unwinds through main's finally: server and pool stopped


def main() -> None:
    started = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    from bench.wrk import ensure_wrk, wrk_version

    wrk = ensure_wrk()
    import django

    django.setup()
    from django.urls import get_resolver

    # The whole app must import (URLconf, views) before minutes of seeding.
    routes = len(get_resolver().url_patterns)
    from bench import checks, fixtures, pool, report

    log(f"app loads ({routes} top-level routes); resetting database {DB_NAME}")
    reset_database()
    prepare_schema()
    server = Server(port=free_port(), log_path=OUT / "server.log", env=SERVER_ENV)
    try:
        log("seeding through the services")
        data = fixtures.seed()
        log(f"seeded in {time.monotonic() - started:.0f} s since start")
        machine = report.machine_facts(wrk_version(wrk))
        log(f"gunicorn on {server.base}, {DURATION} s per run, {REPS} rounds")
        bench = Bench(wrk, server, data)
        server.start()
        bench.run_all()
        wait_until_idle()
    finally:
        server.stop()
        pool.close()
    machine["load_after"] = report.load_average()
    log("server stopped; checking correctness")
    invariant_checks = checks.invariants()
    cost_checks, costs = checks.request_costs(data)
    log("timing a join's parts, one request at a time")
    parts = checks.join_parts(data)
    errors_500 = server.internal_errors()
    run_checks = [
        checks.Check("no 5xx answer during the runs",
                     errors_500 == 0 and not any(r.server_errors for r in bench.runs),
                     f"{errors_500} logged by the server"),
        checks.Check("every 2xx join/call-next matches one database change",
                     not bench.problems, "; ".join(bench.problems) or "all runs consistent"),
    ]
    result = {
        "machine": machine, "runs": bench.runs,
        "checks": [*run_checks, *invariant_checks, *cost_checks], "costs": costs,
        "command": COMMAND, "duration": DURATION, "reps": REPS,
        "elapsed": time.monotonic() - started, "port": server.port,
        "celery_eager": CELERY_EAGER, "parts": parts,
    }
    (OUT / "result.json").write_text(report.dumps(result))
    write_report(result)
    log(f"wrote {REPORT} in {time.monotonic() - started:.0f} s")


def write_report(result: dict) -> None:
    from bench import report

    REPORT.parent.mkdir(exist_ok=True)
    existing = REPORT.read_text() if REPORT.exists() else ""
    REPORT.write_text(report.write_section(existing, report.render(**result)))
    print(report.summary(result["runs"]))


if __name__ == "__main__":
    if sys.argv[1:] == ["--report-only"]:
        # Re-render the section from the last run's var/bench/result.json (no measuring).
        import django

        django.setup()
        from bench import report

        write_report(report.loads((OUT / "result.json").read_text()))
    else:
        main()

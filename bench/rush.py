"""`make bench`: rush-hour shops per machine, in one command.

How many shops one machine carries in a busy hour, each with about 15 customers whose status
pages poll, a merchant's live screen and a shop display polling, a join, a call and a serve
a minute and a cancel now and then (bench/rush_load.py drives them as browsers do). For
each tree measured:

1. Recreates its PostgreSQL database (waitify_rush_<tree>), migrates it (or restores the
   dump of a previous run with the same migrations), empties its Redis db.
2. Starts gunicorn on that tree (4 sync workers as in the Dockerfile, DEBUG off, the SMS
   task published to Redis and no worker), and measures the trivial view's req/s with wrk
   (before the steps, after each of them and at the end: the ratio takes their median).
3. Steps N (the shops) up: each step seeds the missing shops through the tree's own
   services, then offers the rush hour open-loop (warm-up, then the measuring window) and
   passes when p99 ≤ 250 ms with no error. A tree stops at its first failure; the gap
   between its last pass and that failure is then halved BENCH_RUSH_REFINE times.
4. Writes its section of docs/BENCHMARKS.md: N, shops per 1,000 trivial req/s, the mix,
   where the time goes (CPU of gunicorn, PostgreSQL, Redis and the generator).

    .venv/bin/python bench/rush.py [--compare 8100a3d] [--report-only]

`--compare REV` runs the same load, step by step in the same run, against an export of
commit REV (`git archive`, under var/bench/), so the two codes see the same machine.

Knobs (environment): BENCH_RUSH_STEPS (default "100,200,300,400,600,800,1000,1300"),
BENCH_RUSH_WARMUP (s, default 30), BENCH_RUSH_MEASURE (s, default 60: every shop's
minute of events falls inside it), BENCH_RUSH_REFINE (default 2), BENCH_RUSH_PROCS
(generator processes, default 2), BENCH_RUSH_WAITING (customers seeded per shop, 15),
BENCH_RUSH_TRIVIAL_SECONDS (default 10), BENCH_PG, BENCH_PORT, BENCH_REPORT.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import request_costs  # noqa: E402 - after the path fix
from bench.server import Server, http  # noqa: E402
from bench.wrk import ensure_wrk, run_wrk, wrk_version  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
STEPS = [int(n) for n in os.environ.get("BENCH_RUSH_STEPS",
                                        "100,200,300,400,600,800,1000,1300").split(",")]
WARMUP = float(os.environ.get("BENCH_RUSH_WARMUP", "30"))
MEASURE = float(os.environ.get("BENCH_RUSH_MEASURE", "60"))
REFINE = int(os.environ.get("BENCH_RUSH_REFINE", "2"))
PROCS = int(os.environ.get("BENCH_RUSH_PROCS", "2"))
WAITING = int(os.environ.get("BENCH_RUSH_WAITING", "15"))
TRIVIAL_SECONDS = int(os.environ.get("BENCH_RUSH_TRIVIAL_SECONDS", "10"))
P99_LIMIT_MS = 250.0
EVENT_PERIOD = 60.0  # a join, a call, a serve per shop and minute
CANCEL_EVERY_MINUTES = 10
POLL_FALLBACK = 3.0  # until a page's first answer announces its own interval
OUT = ROOT / "var" / "bench"
REPORT = Path(os.environ.get("BENCH_REPORT", ROOT / "docs" / "BENCHMARKS.md"))
START, END = "<!-- rush-hour:start -->", "<!-- rush-hour:end -->"
KNOBS = ("BENCH_RUSH_STEPS", "BENCH_RUSH_WARMUP", "BENCH_RUSH_MEASURE", "BENCH_RUSH_REFINE",
         "BENCH_RUSH_PROCS", "BENCH_RUSH_WAITING", "BENCH_RUSH_TRIVIAL_SECONDS", "BENCH_PG",
         "BENCH_PORT", "BENCH_REPORT")

# The production request path, minus what one client IP would trip: the per-IP join
# limits and DRF throttles are off or out of reach, the per-business SMS cap too.
COMMON_ENV = {
    "CONN_MAX_AGE": "60",  # as in docker-compose.yml
    "DEBUG": "false",
    "CELERY_TASK_ALWAYS_EAGER": "false",  # SMS task published to Redis, never consumed
    "WAITIFY_RATE_LIMITS_ENABLED": "false",
    "API_RATE_LIMIT": "1000000/s",
    "API_PUBLIC_RATE_LIMIT": "1000000/s",
    "SMS_HOURLY_CAP_PER_BUSINESS": "100000000",
    "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    "LOG_LEVEL": "WARNING",
}

_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[rush +{time.monotonic() - _T0:5.0f} s] {message}", flush=True)


# --- Trees -------------------------------------------------------------------------------


class Tree:
    def __init__(self, label: str, root: Path, redis_db: int, settings: str,
                 extra_env: dict | None = None, commit: str = "") -> None:
        self.label, self.root, self.commit = label, root, commit
        self.db = f"waitify_rush_{label}"
        self.env = {**COMMON_ENV, "DJANGO_SETTINGS_MODULE": settings,
                    "DATABASE_URL": f"{PG}/{self.db}",
                    "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}", **(extra_env or {})}
        self.shops: list[dict] = []
        self.server: Server | None = None
        self.trivial: list[float] = []
        self.steps: list[dict] = []

    def run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=self.root, env={**os.environ, **self.env},  # noqa: S603
                              check=True, **kwargs)


def current_tree() -> Tree:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,  # noqa: S607
                            capture_output=True, text=True).stdout.strip()
    # The report this run rewrites is not a change to the code measured.
    report = REPORT.resolve()
    skip = [f":!{report.relative_to(ROOT)}"] if report.is_relative_to(ROOT) else []
    changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",  # noqa: S603, S607
                              "--", ".", *skip],
                             cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return Tree("new", ROOT, 9, "bench.settings",
                commit=f"{commit} + uncommitted changes" if changed else commit)


def old_tree(rev: str) -> Tree:
    """An export of `rev` (git archive: files only, no git state to clean up)."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, check=True,  # noqa: S603, S607
                            capture_output=True, text=True).stdout.strip()
    root = OUT / f".tree-{commit}"  # a dot folder: pytest and ruff never walk into it
    if not (root / "manage.py").exists():
        log(f"exporting {commit} to {root}")
        root.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True,  # noqa: S603, S607
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)  # noqa: S603, S607
        (root / ".venv").symlink_to((ROOT / ".venv").resolve())
    # Before the simplification the reference views hung on a setting of the app itself.
    tree = Tree("old", root, 10, "waitify.settings", {"WAITIFY_BENCH_VIEWS": "true"},
                commit=commit)
    tree.run([sys.executable, "manage.py", "compilemessages", "--ignore=.venv", "-v", "0"])
    return tree


# --- Database ----------------------------------------------------------------------------


def _admin():
    import psycopg

    return psycopg.connect(f"{PG}/postgres", autocommit=True)


def _migrations_key(root: Path) -> str:
    from importlib import metadata

    digest = hashlib.sha256()
    for path in sorted(root.glob("*/migrations/*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    for dist in sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()):
        digest.update(dist.encode())
    return digest.hexdigest()[:16]


def prepare_database(tree: Tree) -> None:
    """A fresh database: migrated, or restored from the dump of the same migrations."""
    import redis

    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{tree.db}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{tree.db}"')
    dump = OUT / f"rush-{tree.label}-{_migrations_key(tree.root)}.dump"
    target = tree.env["DATABASE_URL"]
    if dump.exists():
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", target,  # noqa: S603, S607
                        str(dump)], check=True)
    else:
        for old in OUT.glob(f"rush-{tree.label}-*.dump"):
            old.unlink()
        log(f"{tree.label}: migrating {tree.db} (first run with these migrations: minutes)")
        tree.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"])
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), target], check=True)  # noqa: S603, S607
    redis.Redis.from_url(tree.env["REDIS_URL"]).flushdb()


def seed(tree: Tree, count: int) -> None:
    """Shops up to `count`, through the tree's own services (the server idle)."""
    missing = range(len(tree.shops), count)
    if not missing:
        return
    started = time.monotonic()
    first, last = missing.start, missing.stop
    bounds = [first + i * (last - first) // PROCS for i in range(PROCS + 1)]
    processes = [subprocess.Popen(  # noqa: S603
        [sys.executable, str(ROOT / "bench" / "rush_seed.py"), str(low), str(high),
         str(WAITING)],
        cwd=tree.root, env={**os.environ, **tree.env}, stdout=subprocess.PIPE, text=True)
        for low, high in zip(bounds, bounds[1:], strict=False) if high > low]
    found = []
    for process in processes:
        out, _err = process.communicate()
        if process.returncode:
            raise SystemExit(f"{tree.label}: seeding failed")
        found += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    tree.shops += sorted(found, key=lambda shop: shop["index"])
    log(f"{tree.label}: seeded {len(missing)} shops ({WAITING} waiting each) in "
        f"{time.monotonic() - started:.0f} s")


def wait_until_idle(tree: Tree, timeout: float = 30.0) -> None:
    """No statement of the server running in PostgreSQL, three polls in a row."""
    quiet, deadline = 0, time.monotonic() + timeout
    with _admin() as admin:
        while quiet < 3 and time.monotonic() < deadline:
            busy = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state <> 'idle'",
                [tree.db]).fetchone()[0]
            quiet = quiet + 1 if busy == 0 else 0
            time.sleep(0.2)


def wait_until_drained(tree: Tree, timeout: float = 180.0) -> None:
    """After an overloaded step gunicorn still answers the connections queued in its listen
    backlog (their clients long gone): go on once the trivial view answers at once."""
    quick, deadline = 0, time.monotonic() + timeout
    while quick < 3 and time.monotonic() < deadline:
        started = time.monotonic()
        try:
            ok = http(f"{tree.server.base}/bench/trivial")[0] == 200
        except OSError:
            ok = False
        quick = quick + 1 if ok and time.monotonic() - started < 0.5 else 0
        time.sleep(0.3)
    wait_until_idle(tree)


# --- CPU accounting ----------------------------------------------------------------------


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def _named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _machine_ticks() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def cpu_sample(tree: Tree, generators: list[int]) -> dict:
    # Every PostgreSQL process: a worker's connection lives 60 s (CONN_MAX_AGE), so the
    # backends serving the window are mostly not the ones there when it began.
    gunicorn = [tree.server.process.pid, *_children(tree.server.process.pid)]
    groups = {"gunicorn": gunicorn, "postgres": _named("postgres"),
              "redis": _named("redis-server"),
              "generator": generators}
    busy, total = _machine_ticks()
    return {"time": time.monotonic(), "machine_busy": busy, "machine_total": total,
            "pids": {group: {pid: _ticks(pid) for pid in pids} for group, pids in groups.items()}}


def cpu_used(before: dict, after: dict) -> dict:
    """Cores used per group over the window, and by the whole machine. A process that
    appeared during the window counts all its time; one that ended in it (a PostgreSQL
    backend whose connection was closed) is left in "other"."""
    hz = os.sysconf("SC_CLK_TCK")
    seconds = after["time"] - before["time"]
    used = {}
    for group, pids in after["pids"].items():
        ticks = sum(t - before["pids"][group].get(pid, 0) for pid, t in pids.items())
        used[group] = ticks / hz / seconds
    ncpu = os.cpu_count() or 1
    used["machine"] = ((after["machine_busy"] - before["machine_busy"])
                       / (after["machine_total"] - before["machine_total"]) * ncpu)
    used["other"] = max(0.0, used["machine"] - sum(v for k, v in used.items() if k != "machine"))
    return used


# --- One step ----------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_step(tree: Tree, shops: int, step_no: int, wrk: str) -> dict:
    wait_until_drained(tree)
    seed(tree, shops)
    wait_until_idle(tree)
    start_at = time.time() + 2.0
    step_dir = OUT / "rush" / f"{tree.label}-{shops}"
    step_dir.mkdir(parents=True, exist_ok=True)
    generators = []
    for proc in range(PROCS):
        config = {
            "host": "127.0.0.1", "port": tree.server.port, "start_at": start_at,
            "warmup": WARMUP, "measure": MEASURE, "seed": step_no * 100 + proc,
            "phone_base": (step_no % 20) * 400_000 + proc * 100_000,
            "event_period": EVENT_PERIOD, "cancel_every_minutes": CANCEL_EVERY_MINUTES,
            "poll_fallback": POLL_FALLBACK, "shops": tree.shops[proc:shops:PROCS],
        }
        (step_dir / f"config-{proc}.json").write_text(json.dumps(config))
        generators.append(subprocess.Popen(  # noqa: S603
            [sys.executable, str(ROOT / "bench" / "rush_load.py"),
             str(step_dir / f"config-{proc}.json"), str(step_dir / f"result-{proc}.json")]))
    time.sleep(max(0.0, start_at + WARMUP - time.time()))
    before = cpu_sample(tree, [g.pid for g in generators])
    load_before = os.getloadavg()[0]
    time.sleep(max(0.0, start_at + WARMUP + MEASURE - time.time()))
    after = cpu_sample(tree, [g.pid for g in generators])
    for generator in generators:
        if generator.wait(timeout=120):
            raise SystemExit(f"{tree.label}: the load generator failed at {shops} shops")
    results = [json.loads((step_dir / f"result-{p}.json").read_text()) for p in range(PROCS)]
    kinds: dict[str, dict] = {}
    for result in results:
        for kind, data in result["kinds"].items():
            into = kinds.setdefault(kind, {"latencies": [], "statuses": {}, "errors": 0,
                                           "samples": []})
            into["latencies"] += data["latencies"]
            into["errors"] += data["errors"]
            into["samples"] += data["samples"]
            for status, n in data["statuses"].items():
                into["statuses"][status] = into["statuses"].get(status, 0) + n
    every = [lat for data in kinds.values() for lat in data["latencies"]]
    lags = [lag for result in results for lag in result["loop_lags"]]
    errors = sum(data["errors"] for data in kinds.values())
    step = {
        "tree": tree.label, "shops": shops, "requests": len(every),
        "rps": len(every) / MEASURE, "p50_ms": percentile(every, 0.50) * 1000,
        "p99_ms": percentile(every, 0.99) * 1000, "errors": errors,
        "generator_lag_p99_ms": percentile(lags, 0.99) * 1000,
        "load_before": load_before, "cpu": cpu_used(before, after),
        "mix": {kind: {
            "requests": len(data["latencies"]), "rps": len(data["latencies"]) / MEASURE,
            "p50_ms": percentile(data["latencies"], 0.50) * 1000,
            "p99_ms": percentile(data["latencies"], 0.99) * 1000,
            "mean_ms": (sum(data["latencies"]) / len(data["latencies"]) * 1000
                        if data["latencies"] else 0.0),
            "statuses": data["statuses"], "errors": data["errors"],
            "samples": data["samples"][:3]} for kind, data in sorted(kinds.items())},
    }
    step["passed"] = step["p99_ms"] <= P99_LIMIT_MS and errors == 0 and every != []
    cpu = step["cpu"]
    log(f"{tree.label:>3} N={shops:<5} {step['rps']:7.0f} req/s p50 {step['p50_ms']:6.1f} ms "
        f"p99 {step['p99_ms']:7.1f} ms errors {errors} "
        f"{'PASS' if step['passed'] else 'FAIL'} · cores: gunicorn {cpu['gunicorn']:.2f} "
        f"postgres {cpu['postgres']:.2f} redis {cpu['redis']:.2f} generator "
        f"{cpu['generator']:.2f} other {cpu['other']:.2f} · generator lag p99 "
        f"{step['generator_lag_p99_ms']:.0f} ms")
    for kind, data in step["mix"].items():
        if data["errors"]:
            log(f"    {kind}: {data['errors']} errors, e.g. {data['samples'][:1]}")
    tree.steps.append(step)
    # The trivial view once more on this tree's server: one 10 s sample swings by a third
    # when the machine's neighbours are busy, so the ratio takes the median of many.
    measure_trivial(tree, wrk)
    return step


def measure_trivial(tree: Tree, wrk: str) -> None:
    wait_until_drained(tree)
    run = run_wrk(wrk, name="trivial", round_no=len(tree.trivial) + 1,
                  url=f"{tree.server.base}/bench/trivial", connections=16, threads=2,
                  seconds=TRIVIAL_SECONDS, script="plain.lua", log=OUT / "rush" / "wrk.log")
    tree.trivial.append(run.rps)
    log(f"{tree.label:>3} trivial view: {run.rps:,.0f} req/s (wrk, 16 connections, "
        f"{TRIVIAL_SECONDS} s)")


def held(tree: Tree) -> int:
    return max((s["shops"] for s in tree.steps if s["passed"]), default=0)


def ladder(trees: list[Tree], wrk: str) -> None:
    step_no = 0
    failed: dict[str, int] = {}
    for index, shops in enumerate(STEPS):
        # Alternate which tree goes first, so neither always follows the other.
        for tree in trees if index % 2 == 0 else trees[::-1]:
            if tree.label not in failed:
                step_no += 1
                if not run_step(tree, shops, step_no, wrk)["passed"]:
                    failed[tree.label] = shops
        if len(failed) == len(trees):
            break
    for _ in range(REFINE):
        for tree in trees:
            low, high = held(tree), failed.get(tree.label)
            if high is None or high - low <= 10:
                continue
            middle = (low + high) // 2
            step_no += 1
            if not run_step(tree, middle, step_no, wrk)["passed"]:
                failed[tree.label] = middle


# --- Report ------------------------------------------------------------------------------

KIND_LABELS = {
    "status_poll": "customer status poll (htmx, `?v=`)",
    "live_poll": "merchant live screen poll",
    "display_poll": "shop display poll",
    "join_page": "join page (GET)",
    "join_post": "join form (POST, 302)",
    "status_page": "status page after join/cancel",
    "call_next": "call next (live screen POST)",
    "serve": "serve (live screen POST)",
    "cancel": "customer cancels (POST, 302)",
}


def _n(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def render(result: dict) -> str:
    trees = result["trees"]
    machine = result["machine"]
    lines = [
        "## Rush hour: shops per machine", "",
        "Generated by `bench/rush.py` (`make bench`); rerun it rather than editing this "
        "section. The figure that replaces the join ratio: how many busy shops this machine "
        "carries with p99 ≤ 250 ms and no error.", "",
        "### Command and machine", "",
        f"- Command: `{result['command']}`, from the repository root; whole run "
        f"{result['elapsed'] / 60:.1f} min.",
        f"- Date: {machine['date']}. Machine: {machine['nproc']} CPUs ({machine['cpu']}), "
        f"{machine['memory']}; load average (1/5/15 min) {machine['load_before']} before, "
        f"{result['load_after']} after. Python {machine['python']}, {machine['postgres']}, "
        f"gunicorn 4 sync workers (as in the Dockerfile), DEBUG off, CONN_MAX_AGE=60, "
        "Redis cache; the SMS task is published to Redis and no worker consumes it.",
        "- Trees: " + "; ".join(
            f"**{t['label']}** = commit {t['commit']} (database `{t['db']}`)" for t in trees)
        + ". Both served in turn on the same machine, the steps alternating between them.",
        f"- Each step: {result['warmup']:.0f} s warm-up (first page loads spread over it), "
        f"then {result['measure']:.0f} s measured; {result['procs']} generator processes "
        "(bench/rush_load.py, open loop). Steps: " + ", ".join(map(str, result["steps"]))
        + f" shops, then the gap to the first failure halved (at most {result['refine']} "
        "times).",
        "",
        *([f"**A small-scale check, not this machine's figure** (knobs changed: "
           f"{', '.join(result['small_scale'])}); the figure is `make bench` run alone.", ""]
          if result.get("small_scale") else []),
        "### Result", "",
        "| tree | shops held (p99 ≤ 250 ms, no error) | trivial view req/s (wrk, median) "
        "| shops per 1,000 trivial req/s |",
        "|---|---:|---:|---:|",
    ]
    for tree in trees:
        trivial = median(tree["trivial"]) if tree["trivial"] else 0.0
        per_k = tree["held"] / (trivial / 1000) if trivial else 0.0
        tree["per_1000"] = per_k
        at_least = "≥ " if tree.get("last_step_passed") else ""
        spread = (f"{len(tree['trivial'])} samples, {min(tree['trivial']):,.0f} to "
                  f"{max(tree['trivial']):,.0f}" if tree["trivial"] else "none")
        lines.append(f"| {tree['label']} ({tree['commit']}) | {at_least}{tree['held']} | "
                     f"{trivial:,.0f} ({spread}) | {per_k:.0f} |")
    by_label = {tree["label"]: tree for tree in trees}
    lines += ["", "Targets:", ""]
    new = by_label.get("new")
    if new:
        if "old" in by_label:
            ok = new["held"] >= by_label["old"]["held"]
            lines.append(f"- new holds at least the old code's N, same run: {new['held']} vs "
                         f"{by_label['old']['held']} — **{'PASS' if ok else 'FAIL'}**")
        for bound in (100, 250):
            ok = new["per_1000"] >= bound
            lines.append(f"- ≥ {bound} shops per 1,000 trivial req/s: {new['per_1000']:.0f} — "
                         f"**{'PASS' if ok else 'FAIL'}**")
    lines += ["", "### Every step", "",
              "| tree | shops | req/s answered (per shop) | p50 ms | p99 ms | errors "
              "| cores: gunicorn / PostgreSQL / Redis / generator / other "
              "| generator lag p99 ms | load before | verdict |",
              "|---|---:|---:|---:|---:|---:|---|---:|---:|---|"]
    for step in result["all_steps"]:
        cpu = step["cpu"]
        lines.append(
            f"| {step['tree']} | {step['shops']} | {_n(step['rps'])} "
            f"({step['rps'] / step['shops']:.2f}) | {step['p50_ms']:.1f} | "
            f"{step['p99_ms']:.1f} | {step['errors']} | {cpu['gunicorn']:.2f} / "
            f"{cpu['postgres']:.2f} / {cpu['redis']:.2f} / {cpu['generator']:.2f} / "
            f"{cpu['other']:.2f} | {step['generator_lag_p99_ms']:.0f} | "
            f"{step['load_before']:.1f} | {'pass' if step['passed'] else '**fail**'} |")
    for tree in trees:
        steps = [s for s in result["all_steps"] if s["tree"] == tree["label"]]
        best = next((s for s in steps if s["shops"] == tree["held"] and s["passed"]), None)
        best = best or (steps[0] if steps else None)
        if not best:
            continue
        lines += ["", f"### Mix and where the time goes: {tree['label']}, {best['shops']} shops",
                  "",
                  "Share of time = the request kind's share of all the latency summed over "
                  "the window (what the server spent answering it, queueing included).", "",
                  "| request | req/s | share of requests | p50 ms | p99 ms | share of time | "
                  "answers |", "|---|---:|---:|---:|---:|---:|---|"]
        total_time = sum(d["mean_ms"] * d["requests"] for d in best["mix"].values()) or 1
        for kind, data in sorted(best["mix"].items(), key=lambda item: -item[1]["requests"]):
            statuses = ", ".join(f"{s}: {n}" for s, n in sorted(data["statuses"].items()))
            lines.append(
                f"| {KIND_LABELS.get(kind, kind)} | {_n(data['rps'])} | "
                f"{data['requests'] / best['requests']:.1%} | {data['p50_ms']:.1f} | "
                f"{data['p99_ms']:.1f} | {data['mean_ms'] * data['requests'] / total_time:.1%} "
                f"| {statuses} |")
        cpu = best["cpu"]
        lines += ["", f"CPU over the window (cores of {machine['nproc']}): gunicorn workers "
                  f"{cpu['gunicorn']:.2f}, PostgreSQL backends {cpu['postgres']:.2f}, Redis "
                  f"{cpu['redis']:.2f}, the load generator {cpu['generator']:.2f}, anything "
                  f"else on the machine {cpu['other']:.2f} (machine total "
                  f"{cpu['machine']:.2f})."]
    if result.get("costs"):
        lines += ["", *request_costs.render(result["costs"], result)]
    lines += ["", "### The model rush hour", "",
              f"- N open shops; each starts with {result['waiting']} customers waiting "
              "(seeded through the services), whose status pages poll at the interval their "
              "own page announces (`hx-trigger=\"every …\"`), sending back the version stamp of "
              "their last answer (`?v=`): a 204 when nothing changed, a 200 with the new card "
              "when the queue moved. One merchant live screen (session cookie) and one shop "
              "display per shop poll the same way.",
              "- Per shop and minute: one customer joins (join page, form POST with the CSRF "
              "cookie and token, status page, then polls); the merchant calls the next one "
              "(the live screen's htmx POST) and serves the called one 30 s later; one customer "
              f"in {CANCEL_EVERY_MINUTES} minutes cancels. Phases are random per shop.",
              "- Open loop: every timer fires when due whatever the server does, and latency "
              "counts from that time, so queueing in the server shows in p99. Every request "
              "opens its own connection (gunicorn's sync workers close each one). Static "
              "files are not requested (a browser caches them; Caddy serves them).",
              "- Every page is taken as visible and polling the whole time: phones locked "
              "in a pocket poll less or not at all, so this is the load's upper bound.",
              "- Off for the run, because every request comes from one IP: the per-IP join "
              "limits and the per-business SMS cap (see COMMON_ENV in bench/rush.py).",
              "- A step passes with p99 ≤ 250 ms over all requests due in the window and not "
              "one error (an answer other than the expected status, or no answer in 10 s). "
              "The generator's own timer lag is reported: when it reaches tens of ms, the "
              "generator rather than the server is short of CPU.", ""]
    return "\n".join(lines)


def write_report(result: dict) -> None:
    REPORT.parent.mkdir(exist_ok=True)
    existing = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n"
    block = f"{START}\n{render(result).strip()}\n{END}"
    if START in existing and END in existing:
        existing = (existing[:existing.index(START)] + block
                    + existing[existing.index(END) + len(END):])
    else:  # first section after the title: it is the headline figure
        title, _sep, rest = existing.partition("\n")
        existing = f"{title}\n\n{block}\n{rest}"
    REPORT.write_text(existing)


def machine_facts() -> dict:
    with _admin() as admin:
        postgres = admin.execute("SHOW server_version").fetchone()[0]
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    pages = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    one, five, fifteen = os.getloadavg()
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "nproc": os.cpu_count(), "cpu": cpu,
            "memory": f"{pages / 2**30:.1f} GiB RAM", "python": platform.python_version(),
            "postgres": f"PostgreSQL {postgres}",
            "load_before": f"{one:.2f} / {five:.2f} / {fifteen:.2f}"}


def _stop_on_sigterm(signum, frame) -> None:
    raise SystemExit(143)  # unwinds through main's finally: servers stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compare", metavar="REV", help="also measure commit REV, same run")
    parser.add_argument("--report-only", action="store_true",
                        help="re-render docs/BENCHMARKS.md from var/bench/rush.json")
    args = parser.parse_args()
    if args.report_only:
        write_report(json.loads((OUT / "rush.json").read_text()))
        return
    (OUT / "rush").mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    command = " ".join([*(f"{k}={os.environ[k]}" for k in KNOBS if k in os.environ),
                        ".venv/bin/python bench/rush.py",
                        *([f"--compare {args.compare}"] if args.compare else [])])
    wrk = ensure_wrk()
    machine = machine_facts()
    machine["wrk"] = wrk_version(wrk)
    trees = [current_tree()] + ([old_tree(args.compare)] if args.compare else [])
    port = int(os.environ.get("BENCH_PORT", "8811"))
    try:
        for offset, tree in enumerate(trees):
            prepare_database(tree)
            tree.server = Server(port=port + 10 + offset, log_path=OUT / f"rush-{tree.label}.log",
                                 env=tree.env, root=tree.root)
            tree.server.start()
            status, _body = http(f"{tree.server.base}/bench/trivial")
            log(f"{tree.label}: commit {tree.commit} served from {tree.root} on "
                f"{tree.server.base} ({status})")
        for tree in trees:
            measure_trivial(tree, wrk)
        ladder(trees, wrk)
        for tree in trees:
            measure_trivial(tree, wrk)
    finally:
        for tree in trees:
            if tree.server:
                tree.server.stop()
    errors_500 = {tree.label: tree.server.internal_errors() for tree in trees}
    new = trees[0]
    log(f"{new.label}: timing each kind of request in-process (bench/request_costs.py)")
    seed(new, len(new.shops) + 1)  # a shop no load has touched
    try:
        costs = request_costs.run(new, new.shops[-1], OUT)
    except SystemExit as failure:  # the steps' figures are still worth writing
        log(f"no costs table: {failure}")
        costs = None
    result = {
        "command": command, "machine": machine, "load_after": machine_facts()["load_before"],
        "elapsed": time.monotonic() - _T0, "warmup": WARMUP, "measure": MEASURE,
        "procs": PROCS, "steps": STEPS, "refine": REFINE, "waiting": WAITING,
        "trees": [{"label": t.label, "commit": t.commit, "db": t.db, "held": held(t),
                   "trivial": t.trivial,
                   # Passed the largest step offered: the machine may carry more.
                   "last_step_passed": held(t) >= max(STEPS)} for t in trees],
        "small_scale": [k for k in KNOBS[:7] if k in os.environ],
        "all_steps": [s for t in trees for s in t.steps], "server_errors": errors_500,
        "costs": costs,
    }
    (OUT / "rush.json").write_text(json.dumps(result))
    write_report(result)
    for tree in result["trees"]:
        trivial = median(tree["trivial"])
        log(f"{tree['label']} ({tree['commit']}): {tree['held']} shops held; trivial "
            f"{trivial:,.0f} req/s; {tree['held'] / (trivial / 1000):.0f} shops per 1,000 "
            f"trivial req/s; 500s in the server log: {errors_500[tree['label']]}")
    log(f"wrote {REPORT}")


if __name__ == "__main__":
    main()

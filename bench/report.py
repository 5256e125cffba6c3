"""docs/BENCHMARKS.md from one run: machine, figures (medians), targets, checks."""

from __future__ import annotations

import json
import os
import platform
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from statistics import median

import django
from django.db import connection

# (label, numerator key, denominator key, bound, kind): the targets.
TARGETS = [
    ("join (spread) ≥ 0.40 × single INSERT", "join_spread", "insert", 0.40, "rps"),
    ("status poll ≥ 0.20 × trivial", "status", "trivial", 0.20, "rps"),
    ("unchanged poll ≥ 0.50 × trivial", "unchanged", "trivial", 0.50, "rps"),
    ("call-next at 200 ≥ 0.85 × at 10", "next200", "next10", 0.85, "rps"),
    ("serial call-next p50 latency at 200 ≤ 1.3 × at 10", "next200_serial", "next10_serial",
     1.3, "latency"),
]
# For context only.
CONTEXT_RATIOS = [
    ("single INSERT / trivial", "insert", "trivial"),
    ("bare join / single INSERT", "bare_join", "insert"),
    ("join spread over 100 businesses / bare join", "join_spread", "bare_join"),
    ("join spread over 100 businesses / trivial",
     "join_spread", "trivial"),
    ("join on one business / single INSERT", "join_one", "insert"),
]
LABELS = {
    "trivial": "trivial view (no DB)",
    "insert": "single INSERT",
    "bare_join": "bare join (row lock + INSERT), 100 businesses",
    "join_spread": "join, spread over 100 businesses",
    "join_one": "join, all on one business (cap 200)",
    "status": "status poll, htmx (DB)",
    "unchanged": "unchanged poll, htmx (204 from cache)",
    "next10": "call-next, 10 waiting",
    "next200": "call-next, 200 waiting",
    "next10_serial": "call-next serial, 10 waiting",
    "next200_serial": "call-next serial, 200 waiting",
}


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory() -> str:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def machine_facts(wrk_version: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
        # The server's setting, not this session's (seeding turns it off for itself).
        cursor.execute("SELECT reset_val FROM pg_settings WHERE name = 'synchronous_commit'")
        synchronous_commit = cursor.fetchone()[0]
    import gunicorn

    return {
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": len(os.sched_getaffinity(0)),
        "memory": _memory(),
        "cpu": _cpu_model(),
        "postgres": f"PostgreSQL {postgres} (synchronous_commit={synchronous_commit})",
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "wrk": wrk_version,
        "load_before": load_average(),
    }


def _group(runs) -> dict[tuple[str, int], list]:
    groups: dict[tuple[str, int], list] = {}
    for run in runs:
        groups.setdefault((run.name, run.connections), []).append(run)
    return groups


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _value(runs, kind: str) -> float:
    return median(r.p50_ms for r in runs) if kind == "latency" else median(r.rps for r in runs)


def _ratios(groups, top: str, bottom: str, kind: str):
    """Per concurrency: (verdict ratio, ratio of the medians, per-round ratios).

    The verdict uses the median of the per-round ratios: the two runs of a
    round are minutes apart at most, while the medians of the two endpoints
    may come from rounds with a different load on the machine.
    """
    out = {}
    for (name, connections), runs in groups.items():
        if name != top or (bottom, connections) not in groups:
            continue
        others = {r.round: r for r in groups[(bottom, connections)]}
        rounds = [(_value([r], kind) / _value([others[r.round]], kind))
                  for r in runs if r.round in others and _value([others[r.round]], kind)]
        of_medians = _value(runs, kind) / _value(groups[(bottom, connections)], kind)
        out[connections] = (median(rounds) if rounds else of_medians, of_medians, rounds)
    return out


def _passes(ratio: float, bound: float, kind: str) -> bool:
    return ratio <= bound if kind == "latency" else ratio >= bound


def _notes(runs) -> str:
    shares = [r.non_2xx / r.requests for r in runs if r.requests]
    text = f"{median(shares) * 100:.0f} %" if shares and max(shares) else "0"
    notes = [r.notes for r in runs if r.notes]
    if notes and "min_after" in notes[0]:
        low = min(n["min_after"] for n in notes)
        mean = median(n["mean_after"] for n in notes)
        text += (f"; {median(n['called'] for n in notes):.0f} called per run, "
                 f"queues {notes[0]['length_before']} → mean {mean:.0f} (min {low})")
    if notes and "created" in notes[0]:
        text += f"; {median(n['created'] for n in notes):.0f} joined per run"
    return text


def render(*, machine: dict, runs, checks, costs: dict, command: str, duration: int,
           reps: int, elapsed: float, port: int, celery_eager: bool,
           parts: list | None = None) -> str:
    groups = _group(runs)
    lines = [
        "## Queue: joins, status polls, call-next",
        "",
        "Generated by `bench/run.py` (`make bench-queue`); rerun it rather than editing this "
        "section.",
        "",
        "**This machine is noisy** (other jobs share its cores; absolute figures swing up to",
        "2.6× between runs). Only the ratios measured within one run count, never figures",
        "compared across runs or machines.",
        "",
        "### Command and machine",
        "",
        f"- Command: `{command}` (= `.venv/bin/python bench/run.py`), from the repository root.",
        f"- Date: {machine['date']}; whole run {elapsed / 60:.1f} min.",
        f"- Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory']} RAM; "
        f"load average (1/5/15 min) {machine['load_before']} before, "
        f"{machine.get('load_after', '?')} after.",
        f"- {machine['postgres']}, Redis db 9 as cache, Python {machine['python']}, "
        f"Django {machine['django']}, gunicorn {machine['gunicorn']}, {machine['wrk']}.",
        f"- Server: gunicorn, 4 sync workers, 127.0.0.1:{port}, DEBUG off, CONN_MAX_AGE=60, "
        "database `waitify_bench` recreated by the run. Celery: "
        + ("eager, tasks (the SMS sends) run inside the request, no worker"
           if celery_eager else
           "`delay()` pushes the SMS task to Redis db 9 and no worker consumes it: the "
           "production request path (the sends are the workers' work, measured in the SMS "
           "section below; `BENCH_CELERY_EAGER=true` runs them inline)") + ".",
        f"- Load: wrk, 2 threads at 16 and 64 connections (1 thread, 1 connection for the "
        f"serial runs), {duration} s per run, {reps} rounds. Each round runs every endpoint "
        "once in turn (A B C … A B C …), so a slow spell of the machine hits all of them; "
        "even rounds run the list backwards, so no endpoint always follows the one it is "
        "compared with.",
        f"- 1-minute load average when a run started (the server idle): median "
        f"{median(r.load_before for r in runs):.1f}, from {min(r.load_before for r in runs):.1f} "
        f"to {max(r.load_before for r in runs):.1f}, on {machine['nproc']} CPUs.",
        "",
        "### Figures (medians over the rounds)",
        "",
        "| endpoint | conns | req/s | p50 ms | p99 ms | non-2xx share; notes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for (name, connections), group in groups.items():
        lines.append(
            f"| {LABELS.get(name, name)} | {connections} | {_fmt(median(r.rps for r in group))} "
            f"| {_fmt(median(r.p50_ms for r in group))} "
            f"| {_fmt(median(r.p99_ms for r in group))} | {_notes(group)} |")
    lines += [
        "",
        "### Targets, same-run ratios",
        "",
        "The verdict takes the median of the per-round ratios (the two runs of a round are "
        "close in time, so they saw about the same load); the ratio of the medians of the "
        "table above is given beside it.",
        "",
        "| target | conns | median of rounds | per round | ratio of medians | verdict |",
        "|---|---:|---:|---|---:|---|",
    ]
    for label, top, bottom, bound, kind in TARGETS:
        ratios = _ratios(groups, top, bottom, kind)
        for connections, (ratio, of_medians, rounds) in sorted(ratios.items()):
            verdict = "PASS" if _passes(ratio, bound, kind) else "FAIL"
            per_round = ", ".join(f"{r:.2f}" for r in rounds)
            lines.append(f"| {label} | {connections} | {ratio:.2f} | {per_round} "
                         f"| {of_medians:.2f} | **{verdict}** |")
    join, poll = costs.get("join (JSON API)"), costs.get("status poll (htmx, no v)")
    if join and poll:
        lines += [
            "",
            f"Where the time goes: the single-INSERT view runs 1 SQL statement; a join runs "
            f"{join.queries} in the request ({join.queries_inline} with the SMS task inline"
            f"{', as served here' if celery_eager else ''}) and {join.redis} Redis commands; "
            f"a status poll runs "
            f"{poll.queries} and renders the card; an unchanged poll runs none. On a loaded "
            "machine every round trip waits for a CPU, so these ratios follow the number of "
            "round trips more than the work each one does. Per-request costs are below.",
        ]
    lines += ["", "For context:", ""]
    for label, top, bottom in CONTEXT_RATIOS:
        for connections, (ratio, _of, _r) in sorted(_ratios(groups, top, bottom, "rps").items()):
            lines.append(f"- {label}, {connections} connections: {ratio:.2f}")
    lines += [
        "",
        "The bare join (a transaction that locks one "
        "business's row and inserts, nothing else) is the basis of the "
        "0.40 target. It runs here (`/bench/bare-join/<id>`, "
        "`bench/views.py`: BEGIN, `SELECT … FOR NO KEY UPDATE` on the queue state "
        "row, INSERT, COMMIT; no DRF, no validation, no SMS, no cache), at the ratio above. "
        "The app's join is measured against it below, part by part.",
    ]
    if parts:
        lines += _parts_section(parts, _ratios(groups, "bare_join", "insert", "rps"))
    lines += [
        "",
        "### Correctness (server idle)",
        "",
        "| check | result | detail |",
        "|---|---|---|",
    ]
    for check in checks:
        lines.append(f"| {check.name} | {'PASS' if check.ok else 'FAIL'} | {check.detail} |")
    lines += [
        "",
        "Cost of one request, measured in-process with Django's test client "
        "(`CaptureQueriesContext`; redis-py's `execute_command` and Celery's "
        "`Task.apply_async` / `send_task` patched to count):",
        "",
        "| request | HTTP | SQL queries | with the task inline | Redis commands "
        "| Celery sends |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, cost in costs.items():
        inline = "—" if cost.queries_inline is None else cost.queries_inline
        sends = ", ".join(f"{n} × `{name}`" for name, n in cost.sends.items()) or "0"
        lines.append(f"| {label} | {cost.status} | {cost.queries} | {inline} | {cost.redis} "
                     f"| {sends} |")
    lines += [
        "",
        "### How the endpoints are driven",
        "",
        "- Trivial, single-INSERT and bare-join views: `bench/views.py`, mounted "
        "only by the benchmark's settings (`bench.settings`), behind the app's whole "
        "middleware stack. The "
        "INSERTs go into `bench_insert`, a plain (logged) table the run creates in "
        "`waitify_bench`, so their commit waits for the WAL flush like a join's. The bare "
        "join goes round-robin over the 100 businesses of the spread joins "
        "(`bench/round_robin.lua`).",
        "- Joins: `POST /api/v1/public/<qr_token>/join` (`bench/join.lua`), one distinct "
        "`+3361…` number per request. Spread: round-robin over 100 open businesses; one "
        "business: every request on a queue capped at 200, so after 200 entries the rest "
        "are refusals 4002 (HTTP 409), counted in the non-2xx share. Before each run the "
        "queues are emptied with `entry_cancel`; after it, entries created are compared with "
        "the 201 answers.",
        "- Status poll: `GET /q/s/<secret>` with `HX-Request: true` (the card fragment, "
        "customer 25th of 50). Unchanged poll: the same with `v=<business id>:<version>` "
        "current, answered 204 from the cache version stamp.",
        "- Call-next: `POST /api/v1/businesses/<id>/queue/next` with the merchant's token "
        "(`bench/round_robin.lua`), round-robin over "
        "many businesses per length so that one run takes only a few customers from each "
        "queue; queues are refilled to their length with `entry_join` before each run; "
        "the notes give the mean and minimum length left after a run.",
        "- DRF throttles stay on with per-second rates no run reaches; the public join's "
        "abuse limits (`WAITIFY_RATE_LIMITS_ENABLED`) are off, since wrk joins thousands "
        "of times from one IP.",
        "- When an endpoint's latency nears the run's length (a slow endpoint at 64 "
        "connections on a loaded machine), wrk counts only the answers received inside "
        "the window while the server keeps serving the queued connections: its req/s then "
        "understates the server's rate: the notes give what the database saw per run "
        "(joined, called), every run is in `var/bench/result.json`.",
        ("- With Celery eager, each join and call-next also runs the `send_sms` task inside "
         "the request (claim, send to the console backend, settle, monthly quota count); in "
         "production that work happens in a worker. " if celery_eager else
         "- The `send_sms` task a join or call-next queues is published when the server "
         "closes the response (`request_finished`), after writing it: wrk's latency does "
         "not include it, the worker's time (and so req/s) does. ")
        + "The per-request table above gives the queries with and without the task inline.",
        "- Server log, raw wrk output: `var/bench/`.",
        "",
    ]
    return "\n".join(lines)


# Each benchmark of bench/ owns a section of docs/BENCHMARKS.md between its markers.
START, END = "<!-- queue-benchmark:start -->", "<!-- queue-benchmark:end -->"
TITLE = "# Benchmarks\n"


def write_section(existing: str, section: str) -> str:
    """Replace our section, leaving the other benchmarks' sections as they are."""
    block = f"{START}\n{section.strip()}\n{END}"
    if START in existing and END in existing:
        before = existing[:existing.index(START)]
        after = existing[existing.index(END) + len(END):]
        return f"{before}{block}{after}"
    # No section of ours yet: first after the title, then every other section.
    others = existing[existing.index("<!-- "):] if "<!-- " in existing else ""
    return f"{TITLE}\n{block}\n\n{others}".rstrip() + "\n"


def _parts_section(parts: list, bare_ratios: dict) -> list[str]:
    from bench.checks import PART_SAMPLES

    by_label = {part.label: part for part in parts}
    insert = by_label["single INSERT view (whole request)"].ms
    join = by_label["join (JSON API, whole request)"].ms
    framework = sum(part.ms for part in parts if part.framework)
    lines = [
        "",
        "### Where a join's time goes",
        "",
        "Measured in the benchmark's process with the server stopped: one request at a time "
        "through Django's test client (no HTTP server, no wrk), median of "
        f"{PART_SAMPLES} calls each, wall time (so a SQL statement counts with "
        "PostgreSQL's work on it).",
        "",
        "| request or part | ms | × single INSERT request |",
        "|---|---:|---:|",
    ]
    for part in parts:
        lines.append(f"| {part.label} | {part.ms:.3f} | {part.ms / insert:.2f} |")
    bare = by_label["bare join view (BEGIN, row lock, INSERT, COMMIT; whole request)"].ms
    # The bare join's rate / the INSERT's (median of the rounds, fewest connections).
    bare_rate = bare_ratios[min(bare_ratios)][0] if bare_ratios else float("nan")
    lines += [
        "",
        f"The parts marked \"of which\" are paid by every join whatever its SQL: "
        f"{framework:.2f} ms, more than the whole bare-join request ({bare:.2f} ms). Under "
        "load a request costs the server its time here plus what gunicorn, the kernel, "
        "PostgreSQL, Redis and wrk spend on it; the bare join's rate against the INSERT's is "
        "in the context list above. A join at 0.40 × the INSERT's rate may cost the server "
        f"at most {bare_rate / 0.40:.1f} × what the bare join costs it, the bare join "
        f"running at {bare_rate:.2f} × the INSERT here: the framework parts and the bare "
        "join's own work already sum to "
        f"{framework + bare:.2f} ms of the app's {join:.2f} ms, before the join's own "
        "checks and writes (number, opening hours, room and phone, the entry, the queue "
        "state, the SMS outbox row, the answer; its statements are counted below).",
    ]
    return lines


def dumps(result: dict) -> str:
    """The run's results as JSON (var/bench/result.json), for `run.py --report-only`."""
    return json.dumps({
        **result,
        "runs": [asdict(run) for run in result["runs"]],
        "checks": [asdict(check) for check in result["checks"]],
        # asdict() would rebuild the Counter from (name, n) pairs: give it as a dict.
        "costs": {label: {**asdict(cost), "sends": dict(cost.sends)}
                  for label, cost in result["costs"].items()},
        "parts": [asdict(part) for part in result.get("parts") or []],
    }, indent=1)


def loads(text: str) -> dict:
    from bench.checks import Check, Cost, Part
    from bench.wrk import Run

    result = json.loads(text)
    runs = [Run(**run) for run in result["runs"]]
    for run in runs:
        run.statuses = {int(status): n for status, n in run.statuses.items()}
    costs = {label: Cost(**{**cost, "sends": Counter(cost["sends"])})
             for label, cost in result["costs"].items()}
    return {**result, "runs": runs, "checks": [Check(**c) for c in result["checks"]],
            "costs": costs, "parts": [Part(**part) for part in result.get("parts") or []]}


def summary(runs) -> str:
    groups = _group(runs)
    out = []
    for label, top, bottom, bound, kind in TARGETS:
        for connections, (ratio, _of, _r) in sorted(_ratios(groups, top, bottom, kind).items()):
            verdict = "PASS" if _passes(ratio, bound, kind) else "FAIL"
            out.append(f"{verdict}  {label} @c{connections}: {ratio:.2f}")
    return "\n".join(out)

"""What each rush-hour request costs, and the bound that sets on N (run by `make bench`).

Times every kind of request of the rush-hour model (bench/rush_load.py) in-process, with
Django's test client against one seeded shop: middleware, view, queries and template, not
gunicorn or the socket, which every request pays alike (the trivial view too). Then weighs
each kind by how often a shop sent it in the run (the new tree at the largest N it held)
and writes, into the rush-hour section of docs/BENCHMARKS.md:

- the server time a shop costs per second, per kind, against the trivial view's;
- the ceiling of cheaper polls: the N the run would reach were every unchanged poll (a
  204) free, in shops per 1,000 trivial req/s.

`make bench` runs it after its steps. Alone, against the last run's mix
(var/bench/rush.json), printing the section instead of writing it:

    .venv/bin/python bench/request_costs.py

Run it alone on the machine: its figures are medians of wall time (BENCH_COSTS_REPEAT,
default 200 per kind).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

if __package__ in (None, ""):  # run as a script: the repository root, not bench/, first
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

REPEAT = int(os.environ.get("BENCH_COSTS_REPEAT", "200"))
RUSH_RESULT = Path(__file__).resolve().parent.parent / "var" / "bench" / "rush.json"
POLLED = ("status_poll", "live_poll", "display_poll")  # counted apart: 200 and 204


def timed(call, repeat: int = REPEAT) -> float:
    """Median milliseconds of `call()` (after a few untimed calls)."""
    for _ in range(5):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return median(samples) * 1000


def expect(response, status: int):
    if response.status_code != status:
        raise SystemExit(f"{response.request['PATH_INFO']}: {response.status_code}, "
                         f"expected {status}")
    return response


def measure(shop: dict) -> dict[str, float]:
    """Milliseconds per request kind ("<kind>" or "<kind> <status>")."""
    import django

    django.setup()
    from django.test import Client

    from bench.rush_load import DISPLAY_TAG, LIVE_TAG, STATUS_TAG, Load, polling

    def stale(url: str) -> str:  # the same poll, showing a version the queue has left
        return url.rpartition(":")[0] + (":w-1" if ":w" in url else ":-1")

    customer, merchant = Client(), Client()
    merchant.cookies[shop["session_cookie"]] = shop["session"]
    htmx = {"HTTP_HX_REQUEST": "true"}
    page = f"/q/s/{shop['secrets'][-1]}"
    status_url, _ = polling(expect(customer.get(page), 200).content, STATUS_TAG)
    live_page = f"/businesses/{shop['id']}/queue/"
    live_url, _ = polling(expect(merchant.get(live_page), 200).content, LIVE_TAG)
    display_url, _ = polling(expect(customer.get(f"/display/{shop['display_token']}"), 200)
                             .content, DISPLAY_TAG)
    costs = {"trivial": timed(lambda: expect(customer.get("/bench/trivial"), 200))}
    for kind, client, url in [("status_poll", customer, status_url),
                              ("live_poll", merchant, live_url),
                              ("display_poll", customer, display_url)]:
        for status, polled in ((204, url), (200, stale(url))):
            costs[f"{kind} {status}"] = timed(
                lambda c=client, u=polled, s=status: expect(c.get(u, **htmx), s))
    costs["status_page"] = timed(lambda: expect(customer.get(page), 200))
    join = f"/q/{shop['qr_token']}"
    costs["join_page"] = timed(lambda: expect(customer.get(join), 200))
    # The writes, in pairs that leave the line as long as it was (15 waiting), as in the
    # rush: a join then a cancel; a call then a serve, then an untimed join.
    phones = iter(range(10**6))

    def join_post():
        return expect(customer.post(join, {"phone": f"+3361{next(phones):07d}"}), 302)

    pairs: dict[str, list[float]] = {"join_post": [], "cancel": [], "call_next": [],
                                     "serve": []}
    for _ in range(REPEAT // 4):
        started = time.perf_counter()
        location = join_post()["Location"]
        pairs["join_post"].append(time.perf_counter() - started)
        started = time.perf_counter()
        expect(customer.post(location + "/cancel"), 302)
        pairs["cancel"].append(time.perf_counter() - started)
        started = time.perf_counter()
        called = expect(merchant.post(f"{live_page}next/", **htmx), 200)
        pairs["call_next"].append(time.perf_counter() - started)
        serve = Load.serve_path(called.content)
        started = time.perf_counter()
        expect(merchant.post(serve, **htmx), 200)
        pairs["serve"].append(time.perf_counter() - started)
        join_post()
    costs.update({kind: median(samples) * 1000 for kind, samples in pairs.items()})
    return costs


def rates(result: dict) -> tuple[dict[str, float], dict]:
    """Requests per shop and second, per kind ("<kind> <status>" for the polls), in the
    new tree's largest step held."""
    steps = [s for s in result["all_steps"] if s["tree"] == "new" and s["passed"]]
    step = max(steps, key=lambda s: s["shops"])
    per_second = result["measure"] * step["shops"]
    found: dict[str, float] = {}
    for kind, data in step["mix"].items():
        for status, count in data["statuses"].items():
            name = f"{kind} {status}" if kind in POLLED else kind
            found[name] = found.get(name, 0.0) + count / per_second
    return found, step


def run(tree, shop: dict, out: Path) -> dict[str, float]:
    """The costs on `tree` (a bench.rush.Tree whose database is ready), measured on `shop`
    (one that no load has touched)."""
    shop_file = out / f"costs-{tree.label}-shop.json"
    shop_file.write_text(json.dumps(shop))
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure",  # noqa: S603
                           str(shop_file)], cwd=tree.root, env={**os.environ, **tree.env},
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"request costs failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def render(costs: dict[str, float], result: dict) -> list[str]:
    """The markdown lines of the costs, weighed by `result`'s (bench/rush.py's) mix."""
    if not any(s["tree"] == "new" and s["passed"] for s in result["all_steps"]):
        return []
    per_shop, step = rates(result)
    trivial = costs["trivial"]
    rows = sorted(((kind, rate, costs[kind], rate * costs[kind])
                   for kind, rate in per_shop.items()), key=lambda row: -row[3])
    total = sum(row[3] for row in rows)
    polls = [row for row in rows if row[0].endswith(" 204")]
    unchanged = sum(row[3] for row in polls)
    # What every request pays beyond the in-process time (gunicorn, the socket, and wrk's
    # own CPU: an overestimate, which favours the bound below): the trivial view's
    # machine time per request in the run, less its in-process time.
    new = next(t for t in result["trees"] if t["label"] == "new")
    trivial_rps = median(new["trivial"])
    fixed = max(0.0, result["machine"]["nproc"] * 1000 / trivial_rps - trivial)
    served = total + fixed * sum(per_shop.values())
    dropped = unchanged + fixed * sum(row[1] for row in polls)
    ceiling = step["shops"] * served / (served - dropped)
    return [
        f"### What a shop costs, request by request: new, {step['shops']} shops", "",
        "Each kind of request timed in-process (`bench/request_costs.py`, run by `make bench` "
        "after the steps: Django's test client on a shop no load touched, median of "
        f"{REPEAT}, of {REPEAT // 4} for the writes; middleware, view, queries and "
        "template, not gunicorn or the socket), weighed by how often a shop sent it in the "
        "step above.", "",
        "| request | per shop, req/s | in-process ms | ms per shop-second | share |",
        "|---|---:|---:|---:|---:|",
        *(f"| {kind} | {rate:.3f} | {cost:.2f} | {spent:.3f} | {spent / total:.0%} |"
          for kind, rate, cost, spent in rows),
        f"| **all** | {sum(per_shop.values()):.2f} | | **{total:.2f}** | 100% |", "",
        f"- The trivial view costs {trivial:.2f} ms the same way: in-process, a shop costs "
        f"{total / trivial:.1f} trivial requests a second.",
        f"- Unchanged polls (the 204s) are {unchanged / total:.0%} of that. Each request "
        f"also pays a fixed cost outside Django, about {fixed:.2f} ms here (the trivial "
        f"view's {result['machine']['nproc']} cores / {trivial_rps:,.0f} req/s, less its "
        f"in-process {trivial:.2f} ms); counting it, they are {dropped / served:.0%}.",
        f"- **Ceiling of cheaper polls:** were every unchanged poll free, not even a request "
        f"(a push instead of polling), what carried the step's {step['shops']} shops would "
        f"carry {ceiling:.0f}: about **{ceiling / (trivial_rps / 1000):.0f} shops per "
        "1,000 trivial req/s**, if N grew in proportion. The rest is the work a change "
        "brings: every waiting card redrawn when the line moves, the live panel redrawn for "
        "the merchant, the join itself.",
    ]


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":  # the child, in the tree's env
        shop = json.loads(Path(sys.argv[2]).read_text())
        print(json.dumps(measure(shop)))
        return
    if not RUSH_RESULT.exists():
        raise SystemExit(f"{RUSH_RESULT} is missing: run `make bench` first")
    result = json.loads(RUSH_RESULT.read_text())
    from bench import rush

    tree = rush.Tree("costs", rush.ROOT, 12, "bench.settings")
    rush.prepare_database(tree)
    rush.seed(tree, 1)
    print("\n".join(render(run(tree, tree.shops[0], rush.OUT), result)))


if __name__ == "__main__":
    main()

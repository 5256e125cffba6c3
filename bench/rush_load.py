"""The rush hour's browsers: an open-loop load generator (standard library only).

Run by bench/rush.py, one or more processes, each driving a slice of the shops:

    python bench/rush_load.py CONFIG.json RESULT.json

Per shop, as real browsers and people do:
- every customer's status page polls at the interval its own fragment announces
  (`hx-trigger="every …"`), sending back the version stamp of the last answer it was given
  (`?v=`); a 204 keeps the page as it is, a 200 replaces it and restarts its timer;
- the merchant's live screen and the shop display poll the same way;
- a customer joins once a minute (join page, form POST, status page, then polls);
- the merchant calls the next customer once a minute and serves the called one 30 s later
  (the live screen's htmx POSTs, with the session cookie and the CSRF header);
- a waiting customer cancels now and then (form POST, status page, polling stops).

Open loop: every timer fires at its own time whatever the server does; a request's latency
is counted from the time it was due, so a slow server cannot slow the offered load down and
hide its own queueing. Every request opens its own connection, as gunicorn's sync workers
close each one. Only requests due inside the measuring window are counted.
"""

from __future__ import annotations

import asyncio
import html
import json
import random
import re
import resource
import secrets
import sys
import time
from dataclasses import dataclass, field

TIMEOUT = 10.0
EXPECTED = {
    "status_poll": (200, 204), "live_poll": (200, 204), "display_poll": (200, 204),
    "join_page": (200,), "join_post": (302,), "status_page": (200,),
    "call_next": (200,), "serve": (200,), "cancel": (302,),
}
STATUS_TAG = re.compile(rb'<section id="status-card"[^>]*>')
LIVE_TAG = re.compile(rb'<div id="live-panel"[^>]*>')
DISPLAY_TAG = re.compile(rb'<section id="display-board"[^>]*>')
HX_GET = re.compile(rb'hx-get="([^"]+)"')
EVERY = re.compile(rb'every (\d+(?:\.\d+)?)(ms|s)?')
SERVE = re.compile(rb'hx-post="([^"]*/queue/entries/[0-9a-f-]{36}/serve/)"')


def polling(body: bytes, tag: re.Pattern) -> tuple[str, float] | None:
    """The URL and interval the polled element announces (None: it no longer polls)."""
    found = tag.search(body)
    if not found:
        return None
    element = found.group(0)
    url, every = HX_GET.search(element), EVERY.search(element)
    if not url or not every:
        return None
    interval = float(every.group(1)) / (1000 if every.group(2) == b"ms" else 1)
    return html.unescape(url.group(1).decode()), interval


@dataclass
class Stats:
    latencies: list = field(default_factory=list)  # seconds, from the time the request was due
    statuses: dict = field(default_factory=dict)
    errors: int = 0
    samples: list = field(default_factory=list)


class Load:
    def __init__(self, config: dict) -> None:
        self.c = config
        self.host, self.port = config["host"], config["port"]
        self.origin = f"http://{self.host}:{self.port}"
        self.start = config["start_at"]
        self.window = (self.start + config["warmup"], self.start + config["warmup"]
                       + config["measure"])
        self.end = self.window[1]
        self.stats: dict[str, Stats] = {}
        self.rng = random.Random(config["seed"])
        self.phone = config["phone_base"]
        self.lags: list[float] = []
        self.tasks: set = set()
        self.csrf = secrets.token_hex(16)  # 32 characters: an unmasked CSRF secret
        self.csrf_cookie = config["shops"][0]["csrf_cookie"] if config["shops"] else "csrftoken"

    # HTTP ---------------------------------------------------------------------------------

    async def http(self, method: str, path: str, headers: dict,
                   body: bytes = b"") -> tuple[int, dict, bytes]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                     "Connection: close", "User-Agent: waitify-rush-hour",
                     "Accept-Language: fr"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            if method == "POST":
                lines.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            data = await reader.read(-1)  # the sync worker closes after its answer
        finally:
            writer.close()
        head, _sep, content = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        answer_headers = {}
        for line in header_lines:
            name, _sep, value = line.partition(":")
            answer_headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), answer_headers, content

    async def request(self, kind: str, due: float, method: str, path: str,
                      headers: dict | None = None, body: bytes = b"") -> tuple[int, dict, bytes]:
        status, answer_headers, content = 0, {}, b""
        try:
            status, answer_headers, content = await asyncio.wait_for(
                self.http(method, path, headers or {}, body), TIMEOUT)
        except (TimeoutError, OSError, ValueError, IndexError) as error:
            content = repr(error).encode()
        done = time.time()
        if self.window[0] <= due < self.window[1]:
            stats = self.stats.setdefault(kind, Stats())
            stats.latencies.append(round(done - due, 5))
            stats.statuses[status] = stats.statuses.get(status, 0) + 1
            if status not in EXPECTED[kind]:
                stats.errors += 1
                if len(stats.samples) < 3:
                    stats.samples.append(f"{method} {path} -> {status}: {content[:200]!r}")
        return status, answer_headers, content

    def spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @staticmethod
    async def sleep_until(moment: float) -> None:
        delay = moment - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    def htmx(self, current: str, target: str, cookies: str = "") -> dict:
        headers = {"HX-Request": "true", "HX-Current-URL": self.origin + current,
                   "HX-Target": target, "HX-Trigger": target}
        if cookies:
            headers["Cookie"] = cookies
        return headers

    # Pollers ------------------------------------------------------------------------------

    async def poll(self, kind: str, state: dict, tag: re.Pattern, target: str,
                   cookies: str = "", first: float | None = None) -> None:
        """htmx's `every …`: the timer re-arms when a request leaves; a 200 swaps the
        element in, whose own timer starts then; a request still out delays the next."""
        due = first if first is not None else time.time() + state["interval"]
        while due < self.end and state.get("active", True):
            await self.sleep_until(due)
            status, _headers, content = await self.request(
                kind, due, "GET", state["url"], self.htmx(state["page"], target, cookies))
            now = time.time()
            if status == 200:
                found = polling(content, tag)
                if found is None:
                    state["active"] = False  # served, cancelled: the page stops polling
                    return
                state["url"], state["interval"] = found
                if kind == "live_poll":
                    state["serve"] = self.serve_path(content)
                due = now + state["interval"]
            else:
                due = max(due + state["interval"], now)

    @staticmethod
    def serve_path(content: bytes) -> str | None:
        found = SERVE.search(content)
        return html.unescape(found.group(1).decode()) if found else None

    # People -------------------------------------------------------------------------------

    def customer(self, shop: dict, secret: str, url: str, interval: float,
                 first: float) -> None:
        state = {"url": url, "interval": interval, "page": f"/q/s/{secret}", "secret": secret}
        shop["customers"].append(state)
        self.spawn(self.poll("status_poll", state, STATUS_TAG, "status-card", first=first))

    def form_headers(self, referer: str) -> dict:
        return {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin,
                "Referer": self.origin + referer, "Cookie": f"{self.csrf_cookie}={self.csrf}"}

    async def join(self, shop: dict, due: float) -> None:
        page = f"/q/{shop['qr_token']}"
        status, _h, _c = await self.request("join_page", due, "GET", page)
        if status != 200:
            return
        self.phone += 1
        body = f"phone=%2B3361{self.phone:07d}&name=&csrfmiddlewaretoken={self.csrf}".encode()
        posted = time.time()
        status, headers, _c = await self.request("join_post", posted, "POST", page,
                                                 self.form_headers(page), body)
        location = headers.get("location", "")
        if status != 302 or "/q/s/" not in location:
            return
        location = location.removeprefix(self.origin)
        status, _h, content = await self.request("status_page", time.time(), "GET", location)
        found = polling(content, STATUS_TAG) if status == 200 else None
        if found:
            secret = location.rsplit("/", 1)[1]
            self.customer(shop, secret, found[0], found[1], time.time() + found[1])

    async def cancel(self, shop: dict, due: float) -> None:
        waiting = [c for c in shop["customers"] if c.get("active", True)]
        if not waiting:
            return
        state = self.rng.choice(waiting)
        state["active"] = False
        page = state["page"]
        status, _h, _c = await self.request("cancel", due, "POST", page + "/cancel",
                                            self.form_headers(page),
                                            f"csrfmiddlewaretoken={self.csrf}".encode())
        if status == 302:
            await self.request("status_page", time.time(), "GET", page)

    def merchant_headers(self, shop: dict) -> dict:
        page = f"/businesses/{shop['id']}/queue/"
        headers = self.htmx(page, "live-panel", shop["cookies"])
        headers.update({"X-CSRFToken": self.csrf, "Origin": self.origin,
                        "Referer": self.origin + page})
        return headers

    async def call_next(self, shop: dict, due: float) -> None:
        status, _h, content = await self.request(
            "call_next", due, "POST", f"/businesses/{shop['id']}/queue/next/",
            self.merchant_headers(shop))
        self.after_action(shop, status, content)

    async def serve(self, shop: dict, due: float) -> None:
        path = shop["live"].get("serve")
        if not path:
            return
        status, _h, content = await self.request("serve", due, "POST", path,
                                                 self.merchant_headers(shop))
        self.after_action(shop, status, content)

    def after_action(self, shop: dict, status: int, content: bytes) -> None:
        found = polling(content, LIVE_TAG) if status == 200 else None
        if found:  # the answer swaps the live panel in, with its new version
            shop["live"]["url"], shop["live"]["interval"] = found
            shop["live"]["serve"] = self.serve_path(content)

    async def every(self, period: float, phase: float, action, shop: dict) -> None:
        due = self.start + phase
        while due < self.end:
            await self.sleep_until(due)
            self.spawn(action(shop, due))
            due += period

    # The run ------------------------------------------------------------------------------

    async def loop_lag(self) -> None:
        """How late this process's own timers fire (the generator keeping up or not)."""
        while time.time() < self.end:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            if self.window[0] <= time.time() < self.window[1]:
                self.lags.append(round(time.monotonic() - before - 0.01, 5))

    async def run(self) -> None:
        c = self.c
        # The pages' first loads are spread over most of the warm-up: at most 15 per shop in
        # 0.8 × 30 s, fewer database reads a second than the steady state's (every page reads
        # once after each of the 3 queue changes a minute).
        spread = c["warmup"] * 0.8
        minute = c["event_period"]
        for raw in c["shops"]:
            shop = {"id": raw["id"], "qr_token": raw["qr_token"], "customers": [],
                    "cookies": f"{raw['session_cookie']}={raw['session']}; "
                               f"{raw['csrf_cookie']}={self.csrf}"}
            for secret in raw["secrets"]:
                self.customer(shop, secret, f"/q/s/{secret}", c["poll_fallback"],
                              self.start + self.rng.uniform(0, spread))
            shop["live"] = {"url": f"/businesses/{raw['id']}/queue/",
                            "interval": c["poll_fallback"],
                            "page": f"/businesses/{raw['id']}/queue/"}
            self.spawn(self.poll("live_poll", shop["live"], LIVE_TAG, "live-panel",
                                 shop["cookies"], self.start + self.rng.uniform(0, spread)))
            display = {"url": f"/display/{raw['display_token']}", "interval": c["poll_fallback"],
                       "page": f"/display/{raw['display_token']}"}
            self.spawn(self.poll("display_poll", display, DISPLAY_TAG, "display-board",
                                 first=self.start + self.rng.uniform(0, spread)))
            phase = self.rng.uniform(0, minute)
            self.spawn(self.every(minute, phase, self.join, shop))
            self.spawn(self.every(minute, self.rng.uniform(0, minute), self.call_next, shop))
            self.spawn(self.every(minute, phase + minute / 2, self.serve, shop))
            self.spawn(self.every(minute * c["cancel_every_minutes"],
                                  self.rng.uniform(0, minute * c["cancel_every_minutes"]),
                                  self.cancel, shop))
        self.spawn(self.loop_lag())
        await self.sleep_until(self.end)
        # Requests due before the end are counted: let them finish (bounded by TIMEOUT).
        deadline = time.time() + TIMEOUT + 1
        while self.tasks and time.time() < deadline:
            await asyncio.sleep(0.1)
        for task in list(self.tasks):
            task.cancel()


def main(config_path: str, result_path: str) -> None:
    # One socket per request in flight: a stalled server may hold thousands at once.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    config = json.loads(open(config_path).read())  # noqa: SIM115, PTH123 - tiny file
    load = Load(config)
    cpu_before = time.process_time()
    asyncio.run(load.run())
    result = {
        "kinds": {kind: {"latencies": s.latencies, "statuses": s.statuses, "errors": s.errors,
                         "samples": s.samples} for kind, s in load.stats.items()},
        "loop_lags": load.lags, "cpu_seconds": time.process_time() - cpu_before,
    }
    with open(result_path, "w") as out:  # noqa: PTH123
        json.dump(result, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

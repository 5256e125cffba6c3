"""Running wrk as a second process and reading the line our Lua scripts print."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent
WRK = "/usr/bin/wrk"


def ensure_wrk() -> str:
    """Debian's wrk; installed with apt-get when missing."""
    found = shutil.which("wrk") or (WRK if Path(WRK).exists() else None)
    if found:
        return found
    print("wrk is missing: installing Debian's package…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)  # noqa: S603, S607
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,  # noqa: S603, S607
                   env=env)
    return shutil.which("wrk") or WRK


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True)  # noqa: S603
    return (done.stdout or done.stderr).splitlines()[0].strip()


@dataclass
class Run:
    name: str
    connections: int
    round: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    errors: dict
    statuses: dict[int, int] = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    load_before: float = 0.0  # 1-minute load average when the run started

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        """Answers that were not 2xx/3xx, plus socket errors and timeouts."""
        sockets = sum(self.errors[k] for k in ("connect", "read", "write", "timeout"))
        if self.statuses:
            return sum(n for status, n in self.statuses.items() if status >= 400) + sockets
        return self.errors["status"] + sockets

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def answered_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)


def run_wrk(wrk: str, *, name: str, round_no: int, url: str, connections: int, threads: int,
            seconds: int, script: str, headers: dict[str, str] | None = None,
            env: dict[str, str] | None = None, log: Path) -> Run:
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", "10s", "-s", str(LUA_DIR / script)]
    for key, value in (headers or {}).items():
        command += ["-H", f"{key}: {value}"]
    command.append(url)
    full_env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), "BENCH_THREADS": str(threads),
                **(env or {})}
    done = subprocess.run(command, capture_output=True, text=True, env=full_env,  # noqa: S603
                          timeout=seconds + 60)
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed for {name}: {done.stderr or done.stdout}")
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    return Run(
        name=name, connections=connections, round=round_no, requests=result["requests"],
        seconds=result["duration_us"] / 1e6, p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000, mean_ms=result["mean_us"] / 1000,
        errors=result["errors"],
        statuses={int(status): n for status, n in result["statuses"].items()},
    )

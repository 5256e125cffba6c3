"""The benchmarks' web server: gunicorn with sync workers on a loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    first = int(os.environ.get("BENCH_PORT", "8811"))
    for port in range(first, first + 20):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise SystemExit(f"no free port in {first}–{first + 19}")


@dataclass
class Server:
    """gunicorn serving waitify.wsgi; `env` is added to this process's environment and
    must mount the benchmark views (DJANGO_SETTINGS_MODULE=bench.settings): start() waits for
    /bench/trivial to answer."""

    port: int
    log_path: Path
    env: dict
    workers: int = 4
    root: Path = ROOT  # the tree served (bench/rush.py also serves an export of an old commit)
    process: subprocess.Popen | None = None
    log_file: object = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **self.env, "SITE_URL": self.base}
        self.log_file = self.log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "waitify.wsgi:application",
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--worker-class", "sync", "--log-level", "warning"],
            cwd=self.root, env=env, stdout=self.log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.log_path}")
            try:
                if http(f"{self.base}/bench/trivial")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer in 60 s; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the master we started, by its pid
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log_file is not None:
            self.log_file.close()

    def internal_errors(self) -> int:
        return self.log_path.read_text(errors="replace").count("Internal Server Error")


def http(url: str, *, method: str = "GET", headers: dict | None = None,
         body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method,  # noqa: S310 - loopback
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()

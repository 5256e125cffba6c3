"""Print the environment `make test` runs with: real PostgreSQL and Redis when reachable.

In CI (CI=true or WAITIFY_REQUIRE_SERVICES=1) an unreachable service is an
error, not a skip. Output is shell `export` lines for `eval`.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys

SERVICES = {
    "DATABASE_URL": ("127.0.0.1", 5432, "postgres://postgres@127.0.0.1:5432/waitify"),
    "REDIS_URL": ("127.0.0.1", 6379, "redis://127.0.0.1:6379/15"),
}


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def main() -> int:
    required = os.environ.get("CI") == "true" or os.environ.get("WAITIFY_REQUIRE_SERVICES") == "1"
    for name, (host, port, url) in SERVICES.items():
        if os.environ.get(name):
            print(f"export {name}={shlex.quote(os.environ[name])}")
            continue
        if reachable(host, port):
            print(f"export {name}={shlex.quote(url)}")
        elif required:
            print(f"echo '{name}: nothing answers on {host}:{port}; CI needs it.' >&2; exit 1")
            return 0
        else:
            warning = f"*** {name}: {host}:{port} unreachable: tests needing it are SKIPPED ***"
            print(f"echo '{warning}' >&2")
    return 0


if __name__ == "__main__":
    sys.exit(main())

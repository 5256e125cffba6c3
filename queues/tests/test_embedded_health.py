"""`make run` (manage.py run_embedded, no Redis, no worker) reports itself healthy:
the in-process schedule writes the scheduler's heartbeat and the process the worker's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from waitify.tests.private_redis import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TOKEN = "embedded-probe"  # noqa: S105 - a test value


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def read_health(port: int) -> dict | None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/health",
                                     headers={"X-Health-Token": TOKEN})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - local
            return json.load(response)
    except OSError:
        return None


def test_the_embedded_server_is_up_with_its_heartbeats(tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": "",
           "HEALTH_TOKEN": TOKEN, "SMS_BACKEND": "console"}
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "manage.py", "run_embedded", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    health = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            health = read_health(port)
            if health and health["status"] == "up":
                break
            time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()

    assert health is not None, (tmp_path / "server.log").read_text()
    assert health["status"] == "up", health
    assert health["services"]["scheduler"]["status"] == "up"
    assert health["services"]["workers"]["status"] == "up"
    assert health["services"]["redis"] == {"status": "not_configured"}

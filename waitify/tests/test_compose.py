"""docker-compose.yml describes a deployment that runs as written.

There is no Docker daemon here, so the file is exercised service by service:
each app service's command runs as a local process with that service's
environment (its env_file, `.env.example` standing in for `.env`, then its
`environment:`), the addresses `db` and `redis` mapped to a throwaway
PostgreSQL database and to a private redis-server started from the redis
service's own command (password included). The health checks that run the
app's own code are run as written too.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
APP_SERVICES = ("migrate", "web", "worker", "beat")


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines, as compose reads an env_file (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}`, `${NAME:?error}` and `$$`."""
    def substitute(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        value = variables.get(name, "")
        if operator == "?" and not value:
            raise AssertionError(f"compose would refuse to start: {argument}")
        if operator == "-" and not value:
            return argument
        return value

    text = re.sub(r"\$\{(\w+)(?::([?-])([^}]*))?\}", substitute, text)
    return text.replace("$$", "$")


def readme_variables() -> set[str]:
    section = (ROOT / "README.md").read_text().split("## Full stack", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`",
                                                         row.split("|")[1])}


# --- The file's shape --------------------------------------------------------------------------


def test_the_compose_file_runs_every_part_of_the_stack_from_one_image_behind_caddy():
    services = load_compose()["services"]

    assert set(services) == {"db", "redis", "migrate", "web", "worker", "beat", "caddy"}
    for name in APP_SERVICES:
        assert services[name]["image"] == "waitify:latest"
        assert services[name]["env_file"] == ".env"
    # Only the proxy is reachable from outside.
    assert [name for name, service in services.items() if "ports" in service] == ["caddy"]
    assert services["caddy"]["volumes"][0] == "./Caddyfile:/etc/caddy/Caddyfile:ro"


def test_every_setting_the_readme_documents_is_in_the_env_file_every_app_service_reads():
    documented = readme_variables() - {"WAITIFY_ENV_FILE"}  # names the file itself
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))

    assert {"DATABASE_URL", "SECRET_KEY", "NUM_PROXIES", "SITE_DOMAIN"} <= documented
    assert documented - listed == set()


def test_migrations_run_once_before_web_worker_and_beat():
    services = load_compose()["services"]

    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["command"][:3] == ["python", "manage.py", "migrate"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"}
        assert services[name]["restart"] == "unless-stopped"
        assert "migrate" not in " ".join(services[name]["command"])


def test_every_service_has_a_health_check_with_a_start_period_and_a_restart_policy():
    services = load_compose()["services"]

    long_running = {name for name, service in services.items() if name != "migrate"}
    for name in long_running:
        assert services[name]["healthcheck"]["start_period"], name
        assert services[name]["restart"] == "unless-stopped", name
    # The one-off job is done when it exits: nothing to probe, nothing to restart.
    assert "healthcheck" not in services["migrate"]
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])


def test_gunicorn_is_pid_1_and_trusts_the_proxy_headers_only_behind_caddy():
    services = load_compose()["services"]

    # Exec form (a list, no shell in between): gunicorn itself receives SIGTERM.
    assert services["web"]["command"][0] == "gunicorn"
    assert services["web"]["environment"]["NUM_PROXIES"] == "1"
    assert services["web"]["environment"]["SECURE_PROXY_SSL_HEADER"] == "true"
    for name in ("worker", "beat", "migrate"):
        assert "NUM_PROXIES" not in services[name]["environment"]


def test_redis_has_a_password_and_beat_keeps_its_schedule_on_a_volume():
    services = load_compose()["services"]

    assert "--requirepass" in services["redis"]["command"]
    assert services["web"]["environment"]["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD")
    schedule = services["beat"]["command"][services["beat"]["command"].index("--schedule") + 1]
    assert services["beat"]["volumes"] == [f"beat-schedule:{Path(schedule).parent}"]
    assert "beat-schedule" in load_compose()["volumes"]


def test_the_worker_gets_longer_to_stop_than_gunicorn():
    services = load_compose()["services"]

    assert services["worker"]["stop_grace_period"] == "2m"
    assert services["web"]["stop_grace_period"] == "40s"


def test_the_image_reads_no_env_file_and_leaves_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()

    for pattern in (".env", ".venv/", ".git/", "var/", "screenshots/", "node_modules/",
                    "**/__pycache__/", ".pytest_cache/"):
        assert pattern in ignored
    assert 'WAITIFY_ENV_FILE=""' in (ROOT / "Dockerfile").read_text()


def test_the_caddyfile_is_valid():
    caddy = shutil.which("caddy")
    if not caddy:
        pytest.skip("*** no `caddy` binary (apt-get install caddy): Caddyfile NOT validated ***")
    site_domain = read_env_file(ENV_EXAMPLE)["SITE_DOMAIN"]
    result = subprocess.run(  # noqa: S603 - our own Caddyfile, no shell
        [caddy, "validate", "--config", str(ROOT / "Caddyfile"), "--adapter", "caddyfile"],
        env={"PATH": os.environ["PATH"], "HOME": str(ROOT / "var"), "SITE_DOMAIN": site_domain},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_docker_compose_accepts_the_file():
    binary = shutil.which("docker-compose")
    command = [binary] if binary else ["docker", "compose"]
    if not binary and (not shutil.which("docker") or subprocess.run(
            ["docker", "compose", "version"],  # noqa: S607
            capture_output=True, check=False).returncode != 0):
        pytest.skip("*** no docker compose on this machine: `docker compose config` NOT run "
                    "(the local-process test below still runs every service) ***")
    result = subprocess.run(  # noqa: S603 - our own compose file, no shell
        [*command, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config", "-q"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr


# --- The services, run as local processes -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Stack:
    """docker-compose.yml's services with `db` and `redis` mapped to this machine."""

    def __init__(self, tmp_path: Path, database_url: str, redis_port: int) -> None:
        self.config = load_compose()
        self.variables = read_env_file(ENV_EXAMPLE)  # compose reads .env for ${…} too
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.redis_port = redis_port
        self.processes: dict[str, tuple[subprocess.Popen, Path]] = {}

    def service(self, name: str) -> dict:
        return self.config["services"][name]

    def command(self, name: str) -> list[str]:
        return [interpolate(part, self.variables) for part in self.service(name)["command"]]

    def environment(self, name: str) -> dict[str, str]:
        service = self.service(name)
        env = read_env_file(ENV_EXAMPLE) if service.get("env_file") == ".env" else {}
        env.update({key: interpolate(str(value), self.variables)
                    for key, value in service.get("environment", {}).items()})
        if "DATABASE_URL" in env:
            assert urlsplit(env["DATABASE_URL"]).hostname == "db"
            env["DATABASE_URL"] = self.database_url
        if "REDIS_URL" in env:
            compose_url = urlsplit(env["REDIS_URL"])
            assert compose_url.hostname == "redis"
            # The password stays: the private redis-server runs the redis service's command.
            env["REDIS_URL"] = urlunsplit(compose_url._replace(
                netloc=f":{compose_url.password}@127.0.0.1:{self.redis_port}"))
        return {
            # What the image provides: its Python first on PATH, no .env read.
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.tmp_path), "WAITIFY_ENV_FILE": "", "PYTHONUNBUFFERED": "1",
            "HOSTNAME": socket.gethostname(), **env,
        }

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log_path = self.tmp_path / f"{name}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(  # noqa: S603 - the compose file's own argv, no shell
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.processes[name] = (process, log_path)

    def log(self, name: str) -> str:
        return self.processes[name][1].read_text()

    def running(self, name: str) -> bool:
        return self.processes[name][0].poll() is None

    def health_check(self, name: str, replace: dict[str, str] | None = None,
                     **extra_env: str) -> subprocess.CompletedProcess:
        test = [interpolate(part, self.variables)
                for part in self.service(name)["healthcheck"]["test"]]
        kind, argv = test[0], test[1:]
        if kind == "CMD-SHELL":
            argv = ["sh", "-c", argv[0]]
        for old, new in (replace or {}).items():
            argv = [part.replace(old, new) for part in argv]
        return subprocess.run(argv, cwd=ROOT, env={**self.environment(name), **extra_env},  # noqa: S603
                              capture_output=True, text=True, timeout=60, check=False)

    def stop_all(self) -> None:
        for process, _log in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process, _log in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(timeout=10)


@pytest.fixture
def throwaway_database() -> str:
    """An empty PostgreSQL database beside the test database, dropped afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("*** needs PostgreSQL (DATABASE_URL unset): compose services NOT run ***")
    parts = urlsplit(url)
    name = f"waitify_compose_{uuid.uuid4().hex[:8]}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def http_get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http to our server
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.mark.compose
def test_each_compose_service_runs_as_written(tmp_path, throwaway_database):
    stack = Stack(tmp_path, throwaway_database, redis_port=free_port())
    try:
        # redis: the service's own command (password and all) on a private port.
        stack.start("redis", [*stack.command("redis"), "--port", str(stack.redis_port),
                              "--dir", str(tmp_path), "--appendonly", "no", "--save", ""],
                    stack.environment("redis"))
        redis_cli = f"redis-cli -p {stack.redis_port}"
        wait_for(lambda: stack.health_check("redis", {"redis-cli": redis_cli}).returncode == 0,
                 20, "redis's health check")
        database = urlsplit(throwaway_database)
        db_check = stack.health_check("db", PGHOST=database.hostname,
                                      PGPORT=str(database.port or 5432))
        assert db_check.returncode == 0, db_check.stdout + db_check.stderr

        # migrate: a one-off job that must exit 0 before anything else starts.
        migrate = subprocess.run(  # noqa: S603 - the compose file's own argv
            stack.command("migrate"), cwd=ROOT, env=stack.environment("migrate"),
            # About a minute (dj-stripe's migrations) on a quiet machine; CPU-bound, so
            # far longer when the machine is shared: the limit only catches a hang.
            capture_output=True, text=True, timeout=1800, check=False)
        assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-3000:]
        assert "Applying queues.0001_initial... OK" in migrate.stdout

        web_port = free_port()
        web_command = [part.replace("0.0.0.0:8000", f"127.0.0.1:{web_port}")
                       for part in stack.command("web")]
        stack.start("web", web_command, stack.environment("web"))
        stack.start("worker", stack.command("worker"), stack.environment("worker"))
        schedule = tmp_path / "celerybeat" / "schedule"
        schedule.parent.mkdir()
        beat_command = [part.replace("/var/lib/celerybeat", str(schedule.parent))
                        for part in stack.command("beat")]
        stack.start("beat", beat_command, stack.environment("beat"))

        # web answers /health (the service's own health check), through the proxy's eyes.
        wait_for(lambda: stack.health_check(
            "web", {"127.0.0.1:8000": f"127.0.0.1:{web_port}"}).returncode == 0
            or not stack.running("web"), 90, "web's health check")
        assert stack.running("web"), stack.log("web")
        host = stack.environment("web")["ALLOWED_HOSTS"].split(",")[0]
        status, _headers, body = http_get(f"http://127.0.0.1:{web_port}/health",
                                          {"Host": host, "X-Forwarded-Proto": "https"})
        assert status == 200, body
        # Caddy says https: served; a plain-HTTP request is redirected (SITE_URL is https).
        over_https = http_get(f"http://127.0.0.1:{web_port}/api/v1/nothing",
                              {"Host": host, "X-Forwarded-Proto": "https"})
        over_http = http_get(f"http://127.0.0.1:{web_port}/api/v1/nothing",
                             {"Host": host, "X-Forwarded-Proto": "http"})
        assert over_https[0] == 404
        assert (over_http[0], over_http[1]["Location"]) == (
            301, f"https://{host}/api/v1/nothing")

        # The worker answers `celery inspect ping` (its health check, $HOSTNAME included).
        wait_for(lambda: " ready." in stack.log("worker") or not stack.running("worker"), 90,
                 "the worker to start")
        ping = stack.health_check("worker")
        assert ping.returncode == 0, ping.stdout + ping.stderr + stack.log("worker")[-3000:]
        assert "pong" in ping.stdout

        # Beat sends the call timeout sweep, the worker receives it, and the schedule
        # file beat keeps on its volume is fresh (beat's health check).
        wait_for(lambda: "Sending due task expire-overdue-calls" in stack.log("beat")
                 or not stack.running("beat"), 60, "beat to send the sweep")
        wait_for(lambda: "Task queues.expire_overdue_calls[" in stack.log("worker"), 30,
                 "the worker to receive the sweep")
        beat_check = stack.health_check("beat", {"/var/lib/celerybeat": str(schedule.parent)})
        assert beat_check.returncode == 0, beat_check.stderr + stack.log("beat")[-3000:]
    finally:
        stack.stop_all()
    for name in ("web", "worker", "beat"):
        assert "Traceback" not in stack.log(name), stack.log(name)[-3000:]

"""docker-compose.yml describes the full stack from one image."""

import os
import shutil
import subprocess
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def test_the_compose_file_runs_every_part_of_the_stack_from_one_image():
    config = yaml.safe_load(COMPOSE.read_text())
    services = config["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    for name in ("web", "worker", "beat"):
        assert services[name]["image"] == "waitify:latest"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://")
    assert "gunicorn" in services["web"]["command"]
    assert "celery -A waitify worker" in services["worker"]["command"]
    assert "celery -A waitify beat" in services["beat"]["command"]


def test_docker_compose_accepts_the_file():
    binary = shutil.which("docker-compose")
    command = [binary] if binary else ["docker", "compose"]
    if not binary and subprocess.run(["docker", "compose", "version"],  # noqa: S603,S607
                                     capture_output=True, check=False).returncode != 0:
        # No compose on this machine: the structural test above still holds.
        return
    result = subprocess.run(  # noqa: S603 - our own compose file, no shell
        [*command, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
        env={**os.environ, "SECRET_KEY": "x" * 50}, check=False,
    )
    assert result.returncode == 0, result.stderr

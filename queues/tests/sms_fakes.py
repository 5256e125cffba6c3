"""Test-only SMS backend for the worker fault test: a provider that is slow to answer.

`SlowFileBackend` writes a line to `$SMS_FAKE_DIR/provider.log` the moment
the "provider" has the message (so a send counts even if the worker dies
right after), then sleeps `$SMS_FAKE_SLEEP` seconds before answering — the
window in which the test kills the worker.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from queues.sms.backends import BaseSmsBackend, SendResult


def provider_log(directory: str | os.PathLike) -> Path:
    return Path(directory) / "provider.log"


def sends(directory: str | os.PathLike) -> list[str]:
    """The (phone, text) lines the fake provider accepted."""
    path = provider_log(directory)
    return path.read_text().splitlines() if path.exists() else []


class SlowFileBackend(BaseSmsBackend):
    def send(self, *, phone: str, text: str) -> SendResult:
        directory = os.environ["SMS_FAKE_DIR"]
        with open(provider_log(directory), "a") as log:
            log.write(f"{phone}\t{text}\n")
            log.flush()
            os.fsync(log.fileno())
        time.sleep(float(os.environ.get("SMS_FAKE_SLEEP", "0")))
        return SendResult(message_id=f"slow-{uuid.uuid4()}")

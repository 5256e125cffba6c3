"""Fixtures of the queue tests: an open queue, the engine's events, and for the SMS tests
the locmem outbox and SNS under moto (opt-in, never autouse)."""

from __future__ import annotations

import pytest

from queues.events import queue_event
from queues.sms import backends
from queues.tests.factories import open_queue


@pytest.fixture
def queue(business):
    """The merchant's business with its queue open (a file may define its own)."""
    return open_queue(business)


@pytest.fixture
def events():
    """What the engine announced in this test: (event, ticket label or None)."""
    seen: list[tuple[str, object]] = []

    def receiver(sender, event, entry, business, **kwargs):
        seen.append((event, entry.ticket_label if entry else None))

    queue_event.connect(receiver)
    yield seen
    queue_event.disconnect(receiver)


@pytest.fixture
def sms_outbox(settings) -> list[backends.OutboxMessage]:
    """SMS go to `backends.outbox`; the list is returned, emptied first."""
    settings.SMS_BACKEND = "locmem"
    backends.outbox.clear()
    yield backends.outbox
    backends.outbox.clear()


class SnsOutbox:
    """What moto's SNS received, read as a list of (phone, text)."""

    def __init__(self, backend) -> None:
        self.backend = backend

    @property
    def messages(self) -> list[tuple[str, str]]:
        return list(self.backend.sms_messages.values())

    def texts_to(self, phone: str) -> list[str]:
        return [text for number, text in self.messages if number == phone]


@pytest.fixture
def sns(settings, monkeypatch) -> SnsOutbox:
    """SMS_BACKEND="sns" against moto: `sns.messages` is what AWS would have sent."""
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    settings.SMS_BACKEND = "sns"
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"  # noqa: S105
    settings.AWS_SNS_ENDPOINT_URL = None
    monkeypatch.setenv("AWS_DEFAULT_REGION", settings.AWS_REGION)
    backends._sns_client.cache_clear()
    with mock_aws():
        yield SnsOutbox(sns_backends[DEFAULT_ACCOUNT_ID][settings.AWS_REGION])
    backends._sns_client.cache_clear()

"""Fixtures of the SMS tests: the locmem outbox and SNS under moto (opt-in, never autouse)."""

from __future__ import annotations

import pytest

from queues.sms import backends


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

"""Where text messages go, chosen by `settings.SMS_BACKEND` like Django's e-mail backends.

`console` (the embedded default) prints them, `locmem` keeps them in
`outbox` for tests, `sns` publishes them through AWS SNS. A dotted path
names any other class with the same `send` method.

A backend either returns a `SendResult` or raises `SmsError` saying what
the caller may do next: `temporary` (nothing reached the provider, or it
asked us to slow down: retry later), `permanent` (this number will never
work: do not retry) or `unknown` (the request left, no answer came back: the
message may have been sent, so it is never retried blindly).
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from waitify.lib.phones import mask_phone

TEMPORARY, PERMANENT, UNKNOWN = "temporary", "permanent", "unknown"


@dataclass
class SendResult:
    message_id: str
    response: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryReport:
    """A carrier's word on one sent message: delivered to the phone, or not."""

    message_id: str
    delivered: bool
    reported_at: datetime
    # When the provider took the message: just after our hand-off (reported_at
    # may be hours later, when the carrier answers).
    published_at: datetime
    response: dict
    destination: str = ""  # E.164, as the SmsLog's phone


class SmsError(Exception):
    def __init__(self, kind: str, message: str, *, opted_out: bool = False,
                 response: dict | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.opted_out = opted_out
        self.response = response or {}


class BaseSmsBackend:
    def send(self, *, phone: str, text: str) -> SendResult:
        raise NotImplementedError

    def opted_out_numbers(self) -> list[str]:
        """Numbers the provider knows answered STOP (none for local backends)."""
        return []

    def delivery_reports(self, *, since: datetime) -> Iterator[DeliveryReport]:
        """What the carriers said about messages sent, reported since `since` (none
        for local backends: their messages are never known to arrive)."""
        return iter(())


class ConsoleBackend(BaseSmsBackend):
    """Prints the masked number and the text: the demo's "phone"."""

    def __init__(self, stream=None) -> None:
        self.stream = stream

    def send(self, *, phone: str, text: str) -> SendResult:
        stream = self.stream or sys.stdout
        stream.write(f"--- SMS to {mask_phone(phone)} ---\n{text}\n")
        stream.flush()
        return SendResult(message_id=f"console-{uuid.uuid4()}")


@dataclass(frozen=True)
class OutboxMessage:
    phone: str
    text: str


# Like django.core.mail.outbox: tests read (and clear) it.
outbox: list[OutboxMessage] = []
_outbox_lock = threading.Lock()


class LocmemBackend(BaseSmsBackend):
    def send(self, *, phone: str, text: str) -> SendResult:
        with _outbox_lock:
            outbox.append(OutboxMessage(phone=phone, text=text))
        return SendResult(message_id=f"locmem-{uuid.uuid4()}")


# AWS error codes, by what they mean for this one message.
_SNS_TEMPORARY = {"Throttling", "ThrottlingException", "ThrottledException", "KMSThrottling",
                  "InternalError", "InternalFailure", "ServiceUnavailable",
                  "RequestTimeout", "RequestLimitExceeded", "TooManyRequestsException"}
_SNS_OPTED_OUT = {"OptedOut", "OptedOutException", "UserOptedOut"}


@lru_cache(maxsize=4)
def _sns_client(region: str, endpoint_url: str | None, key_id: str, secret: str):
    import boto3
    from botocore.config import Config

    # One attempt per call: our own retry (with backoff, and never after a
    # timeout that may hide a sent message) decides, not botocore's. Beware:
    # botocore's `max_attempts` counts retries (1 means two requests);
    # `total_max_attempts` counts requests.
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=3,
                    read_timeout=10, max_pool_connections=20)
    return boto3.client("sns", region_name=region, endpoint_url=endpoint_url,
                        aws_access_key_id=key_id or None,
                        aws_secret_access_key=secret or None, config=config)


class SnsBackend(BaseSmsBackend):
    def __init__(self) -> None:
        self.client = _sns_client(settings.AWS_REGION, settings.AWS_SNS_ENDPOINT_URL,
                                  settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY)

    def send(self, *, phone: str, text: str) -> SendResult:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        try:
            answer = self.client.publish(
                PhoneNumber=phone, Message=text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String",
                                             "StringValue": settings.SMS_SENDER_ID},
                },
            )
        except ClientError as exc:
            raise _client_error(exc) from exc
        # Order matters: ConnectTimeoutError is a kind of EndpointConnectionError.
        except (ConnectTimeoutError, EndpointConnectionError) as exc:
            raise SmsError(TEMPORARY, f"connection failed: {exc}") from exc
        except (ReadTimeoutError, ConnectionClosedError) as exc:
            raise SmsError(UNKNOWN, f"no answer after sending: {exc}") from exc
        except BotoCoreError as exc:
            raise SmsError(UNKNOWN, f"{type(exc).__name__}: {exc}") from exc
        metadata = answer.get("ResponseMetadata", {})
        return SendResult(message_id=answer["MessageId"], response={
            "MessageId": answer["MessageId"], "RequestId": metadata.get("RequestId", ""),
            "HTTPStatusCode": metadata.get("HTTPStatusCode"),
        })

    def opted_out_numbers(self) -> list[str]:
        numbers: list[str] = []
        kwargs: dict = {}
        while True:
            page = self.client.list_phone_numbers_opted_out(**kwargs)
            numbers.extend(page.get("phoneNumbers", []))
            token = page.get("nextToken")
            if not token:
                return numbers
            kwargs = {"nextToken": token}

    def delivery_reports(self, *, since: datetime) -> Iterator[DeliveryReport]:
        """SNS's SMS delivery status logs in CloudWatch Logs (SMS_DELIVERY_LOG_GROUP:
        "sns/<region>/<account>/DirectPublishToPhoneNumber", whose "/Failure" group
        holds the failures); nothing when SMS delivery status logging is not set up."""
        group = settings.SMS_DELIVERY_LOG_GROUP
        if not group:
            return
        from botocore.exceptions import ClientError

        logs = _logs_client(settings.AWS_REGION, settings.AWS_LOGS_ENDPOINT_URL,
                            settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY)
        pages = logs.get_paginator("filter_log_events")
        for name in (group, f"{group}/Failure"):
            try:
                for page in pages.paginate(logGroupName=name,
                                           startTime=int(since.timestamp() * 1000)):
                    for event in page.get("events", []):
                        report = _delivery_report(event)
                        if report is not None:
                            yield report
            except ClientError as exc:
                # The groups appear with the first report; until then there is nothing.
                if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise


@lru_cache(maxsize=4)
def _logs_client(region: str, endpoint_url: str | None, key_id: str, secret: str):
    import boto3
    from botocore.config import Config

    return boto3.client("logs", region_name=region, endpoint_url=endpoint_url,
                        aws_access_key_id=key_id or None,
                        aws_secret_access_key=secret or None,
                        config=Config(connect_timeout=3, read_timeout=20))


def _delivery_report(event: dict) -> DeliveryReport | None:
    """One log line of SNS's SMS delivery status, e.g. {"notification": {"messageId":
    …}, "delivery": {"providerResponse": …, …}, "status": "SUCCESS"}; None if unreadable."""
    try:
        line = json.loads(event["message"])
        message_id = line["notification"]["messageId"]
        status = line["status"]
    except (KeyError, TypeError, ValueError):
        return None
    delivery = line.get("delivery") or {}
    reported_at = datetime.fromtimestamp(event.get("timestamp", 0) / 1000, tz=UTC)
    try:  # SNS writes it in UTC, e.g. "2016-06-28 00:40:34.558"
        published_at = datetime.strptime(line["notification"]["timestamp"],
                                         "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    except (KeyError, TypeError, ValueError):
        published_at = reported_at
    return DeliveryReport(
        message_id=str(message_id)[:100], delivered=status == "SUCCESS",
        reported_at=reported_at, published_at=published_at,
        destination=str(delivery.get("destination", ""))[:20],
        response={"status": status,
                  "providerResponse": str(delivery.get("providerResponse", ""))[:300],
                  "priceInUSD": delivery.get("priceInUSD")},
    )


def _client_error(exc) -> SmsError:
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    message = f"{code}: {error.get('Message', '')}"[:500]
    response = {"Error": {"Code": code, "Message": error.get("Message", "")},
                "HTTPStatusCode": status}
    if code in _SNS_OPTED_OUT or "opted out" in message.lower():
        return SmsError(PERMANENT, message, opted_out=True, response=response)
    if code in _SNS_TEMPORARY or status == 429 or status >= 500:
        return SmsError(TEMPORARY, message, response=response)
    # InvalidParameter (a number SNS cannot text), AuthorizationError… : this
    # message will not go through by trying again.
    return SmsError(PERMANENT, message, response=response)


BACKENDS = {
    "console": "queues.sms.backends.ConsoleBackend",
    "locmem": "queues.sms.backends.LocmemBackend",
    "sns": "queues.sms.backends.SnsBackend",
}


def get_backend(name: str | None = None) -> BaseSmsBackend:
    name = name or settings.SMS_BACKEND
    return import_string(BACKENDS.get(name, name))()

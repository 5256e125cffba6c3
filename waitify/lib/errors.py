"""The one shape of a domain error, shared by every app, and the one registry of its codes.

Each app raises its own subclass with a code from `ErrorCode` and a translated
message; HTML views show the message, the API returns `{"code", "error", "message"}`
with the code's HTTP status. A code means one thing: its `error` name and its
number go together, and callers compare codes (`exc.code == ErrorCode.QUEUE_FULL`),
never messages. A number once published keeps its meaning; a new error takes a new
number in its block. Codes below 1000 are not domain errors: the API's own answers
(invalid input 400, not authenticated 401, permission 403, not found 404, throttled
429, server error 500, unavailable 503) carry their HTTP status as their code.
"""

from __future__ import annotations

from enum import IntEnum, unique


@unique
class ErrorCode(IntEnum):
    """Every domain error code, with its `error` name and the HTTP status the API answers."""

    error: str
    status: int

    def __new__(cls, number: int, error: str, status: int) -> ErrorCode:
        member = int.__new__(cls, number)
        member._value_ = number
        member.error = error
        member.status = status
        return member

    # 40xx: joining a queue, and a ticket's life
    QUEUE_CLOSED = 4001, "queue_closed", 409
    QUEUE_FULL = 4002, "queue_full", 409
    ALREADY_IN_QUEUE = 4003, "already_in_queue", 409
    BUSINESS_SUSPENDED = 4004, "business_suspended", 403
    OUTSIDE_OPENING_HOURS = 4005, "outside_opening_hours", 409
    QUEUE_PAUSED = 4006, "queue_paused", 409
    LAST_CALL = 4007, "last_call", 409
    INVALID_PHONE = 4008, "invalid_phone", 400
    DESTINATION_NOT_ALLOWED = 4009, "destination_not_allowed", 400
    INVALID_NAME = 4010, "invalid_name", 400
    TOO_MANY_ATTEMPTS = 4011, "too_many_attempts", 429
    LINK_RECENTLY_SENT = 4012, "link_recently_sent", 429
    SNOOZE_LIMIT = 4020, "snooze_limit", 409
    NOBODY_BEHIND = 4021, "nobody_behind", 409
    REJOIN_EXPIRED = 4022, "rejoin_expired", 409
    QUEUE_EMPTY = 4023, "queue_empty", 409
    UNDO_EXPIRED = 4024, "undo_expired", 409
    INVALID_TRANSITION = 4025, "invalid_transition", 409
    # 403x: counters and services
    INVALID_SERVICE = 4030, "invalid_service", 400
    INVALID_COUNTER = 4031, "invalid_counter", 400
    COUNTER_REQUIRED = 4032, "counter_required", 400
    PRIORITY_NOT_ALLOWED = 4033, "priority_not_allowed", 400
    COUNTER_IN_USE = 4034, "counter_in_use", 409
    SERVICE_IN_USE = 4035, "service_in_use", 409
    LAST_COUNTER = 4036, "last_counter", 409
    LAST_SERVICE = 4037, "last_service", 409
    COUNTER_LIMIT_REACHED = 4038, "counter_limit_reached", 403
    # 41xx: the merchant's account
    ACCOUNT_SUSPENDED = 4101, "account_suspended", 403
    ACCOUNT_READ_ONLY = 4102, "account_read_only", 403
    PLAN_LIMIT_REACHED = 4103, "plan_limit_reached", 403
    INVALID_CREDENTIALS = 4104, "invalid_credentials", 401
    EMAIL_NOT_VERIFIED = 4105, "email_not_verified", 403
    TOO_MANY_LOGIN_ATTEMPTS = 4106, "too_many_login_attempts", 429
    SUBSCRIPTION_RUNNING = 4107, "subscription_running", 409
    # 411x: the account's staff
    NOT_THE_OWNER = 4110, "not_the_owner", 403
    STAFF_LIMIT_REACHED = 4111, "staff_limit_reached", 403
    INVALID_EMAIL = 4112, "invalid_email", 400
    INVALID_ROLE = 4113, "invalid_role", 400
    INVALID_BUSINESS = 4114, "invalid_business", 400
    ALREADY_STAFF = 4115, "already_staff", 409
    ALREADY_INVITED = 4116, "already_invited", 409
    INVITATION_NOT_FOUND = 4117, "invitation_not_found", 404
    INVITATION_OTHER_EMAIL = 4118, "invitation_other_email", 403
    OWNS_BUSINESSES = 4119, "owns_businesses", 409
    MEMBER_GONE = 4120, "member_gone", 404
    # 42xx: billing
    PLAN_REFUSED = 4201, "plan_refused", 409
    PLAN_MANAGED_BY_STRIPE = 4202, "plan_managed_by_stripe", 409
    SAME_PLAN = 4203, "same_plan", 409
    NO_CUSTOMER = 4204, "no_customer", 409
    # 43xx: statistics
    ANALYTICS_LEVEL = 4301, "analytics_level", 403
    # 50xx: a service we depend on (5001 is retired: never reuse it)
    STRIPE_UNAVAILABLE = 5002, "stripe_unavailable", 502
    BILLING_DISABLED = 5003, "billing_disabled", 503


class WaitifyError(Exception):
    status: int = 400

    def __init__(self, message: str, *, code: int, error: str | None = None,
                 status: int | None = None, extra: dict | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = int(code)
        # An ErrorCode brings its name and status; `error`/`status` given by hand are
        # for errors not registered yet (the registry test lists them).
        if isinstance(code, ErrorCode):
            error, status = error or code.error, status or code.status
        self.error = error or ""
        if status is not None:
            self.status = status
        self.extra = extra or {}

    def as_dict(self) -> dict:
        return {"code": self.code, "error": self.error, "message": str(self.message), **self.extra}

"""Every change to accounts and businesses goes through these functions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework.authtoken.models import Token

from businesses.defaults import DEFAULT_PLANS
from businesses.models import Business, Plan, PlatformSettings, User, new_qr_token
from businesses.signals import business_deactivating
from waitify.lib.errors import WaitifyError

ACCOUNT_SUSPENDED = 4004


class BusinessError(WaitifyError):
    pass


class PlanLimitReached(BusinessError):
    def __init__(self, plan: Plan) -> None:
        limit = plan.max_businesses
        super().__init__(
            ngettext("Your %(plan)s plan allows %(limit)s active business. "
                     "Upgrade your plan to add another one.",
                     "Your %(plan)s plan allows %(limit)s active businesses. "
                     "Upgrade your plan to add another one.",
                     limit) % {"plan": plan, "limit": limit},
            code=403, error="plan_limit_reached", status=403,
            extra={"plan": plan.name, "max_businesses": limit, "upgrade_url": "/billing/"},
        )


EDITABLE_FIELDS = (
    "name", "business_type", "phone", "address", "city", "zip_code", "average_service_time",
    "max_queue_size", "opening_hours", "custom_message", "sms_enabled", "auto_advance_enabled",
    "client_timeout_minutes", "average_basket_cents", "timezone", "last_call_minutes",
    "priority_join_enabled", "priority_join_text",
)
QUEUE_SETTINGS_FIELDS = (
    "average_service_time", "max_queue_size", "opening_hours", "custom_message", "sms_enabled",
    "auto_advance_enabled", "client_timeout_minutes", "timezone", "last_call_minutes",
    "priority_join_enabled", "priority_join_text",
)


def account_ensure_can_change(*, user: User) -> None:
    """Refuse changes from a suspended, read-only or cancelled account."""
    if user.is_suspended:
        raise BusinessError(
            _("This account is suspended. Contact support to restore it."),
            code=ACCOUNT_SUSPENDED, error="account_suspended", status=403,
        )
    if user.is_read_only:
        raise BusinessError(
            _("Your account is read-only until your subscription is settled: "
              "nothing can be changed for now."),
            code=403, error="account_read_only", status=403,
            extra={"billing_url": "/billing/"},
        )


def _lock_owner(owner: User) -> User:
    # Business counts are checked under the owner's row lock, so two
    # concurrent creations at the plan limit cannot both pass the check.
    return User.objects.select_related("plan").select_for_update(of=("self",)).get(pk=owner.pk)


def _plan_of(user: User) -> Plan:
    return user.plan or Plan.objects.get(name="basic")


def account_has_room_for_business(*, user: User) -> bool:
    """Whether one more active business fits in the plan (a hint: the lock decides)."""
    active = Business.objects.filter(owner=user, is_active=True).count()
    return _plan_of(user).allows_businesses(active + 1)


def plans_with_more_room(*, user: User) -> list[Plan]:
    """The plans offered today that allow more active businesses than the account's."""
    current = _plan_of(user)
    if current.is_unlimited:
        return []
    return [plan for plan in Plan.objects.filter(is_active=True)
            if plan.is_unlimited or plan.max_businesses > current.max_businesses]


def _ensure_room_for_one_more(owner: User) -> None:
    if not account_has_room_for_business(user=owner):
        raise PlanLimitReached(_plan_of(owner))


def business_create(*, owner: User, name: str, business_type: str, **fields: Any) -> Business:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown business fields: {sorted(unknown)}")
    platform = PlatformSettings.load()
    fields.setdefault("average_service_time", None)
    if not fields["average_service_time"]:
        fields["average_service_time"] = platform.service_time_for(business_type)
    fields.setdefault("max_queue_size", platform.default_max_queue_size)
    fields.setdefault("client_timeout_minutes", platform.default_client_timeout_minutes)
    with transaction.atomic():
        locked_owner = _lock_owner(owner)
        account_ensure_can_change(user=locked_owner)
        _ensure_room_for_one_more(locked_owner)
        return Business.objects.create(
            owner=locked_owner, name=name, business_type=business_type, **fields
        )


def business_update(*, business: Business, **fields: Any) -> Business:
    """Change the given fields; an empty service time means the usual one for the type."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown business fields: {sorted(unknown)}")
    account_ensure_can_change(user=business.owner)
    if "average_service_time" in fields and not fields["average_service_time"]:
        business_type = fields.get("business_type", business.business_type)
        fields["average_service_time"] = PlatformSettings.load().service_time_for(business_type)
    for name, value in fields.items():
        setattr(business, name, value)
    business.full_clean(exclude=["owner"])
    business.save(update_fields=[*fields, "updated_at"])
    return business


def business_deactivate(*, business: Business) -> Business:
    """Soft delete: the business disappears from the plan count and its queue closes.

    The queue is closed by the queue engine (it receives `business_deactivating`):
    customers still waiting or called are told the shop closed the queue. It runs
    first, in this transaction: it locks the queue, then this business row, in the
    order every queue operation takes them.
    """
    account_ensure_can_change(user=business.owner)
    with transaction.atomic():
        if Business.objects.filter(pk=business.pk, is_active=True).exists():
            business_deactivating.send(sender=Business, business=business)
            Business.objects.filter(pk=business.pk, is_active=True).update(is_active=False)
    business.refresh_from_db()
    return business


def business_activate(*, business: Business) -> Business:
    with transaction.atomic():
        owner = _lock_owner(business.owner)
        account_ensure_can_change(user=owner)
        if Business.objects.filter(pk=business.pk, is_active=True).exists():
            return business  # already active: nothing to do
        _ensure_room_for_one_more(owner)
        Business.objects.filter(pk=business.pk, is_active=False).update(is_active=True)
    business.refresh_from_db()
    return business


def business_regenerate_qr_token(*, business: Business) -> Business:
    """A new token: printed codes and links with the old one stop working at once."""
    account_ensure_can_change(user=business.owner)
    business.qr_token = new_qr_token()
    business.save(update_fields=["qr_token", "updated_at"])
    return business


def account_update_profile(*, user: User, first_name: str, last_name: str, phone: str,
                           daily_digest_enabled: bool | None = None) -> User:
    user.first_name, user.last_name, user.phone = first_name, last_name, phone
    fields = ["first_name", "last_name", "phone", "updated_at"]
    if daily_digest_enabled is not None:
        user.daily_digest_enabled = daily_digest_enabled
        fields.append("daily_digest_enabled")
    user.save(update_fields=fields)
    return user


def account_set_language(*, user: User, language: str | None) -> None:
    """Write Waitify's e-mails to this account in `language` (a site language) from now on."""
    if language not in dict(settings.LANGUAGES) or user.language == language:
        return
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


def account_suspend(*, account: User) -> bool:
    """Staff stop an account: it can no longer sign in (its sessions and API tokens stop
    working) and its queues take no one. Kept apart from the billing state on purpose:
    no payment event lifts a suspension decided by staff. False if it already was."""
    return bool(User.objects.filter(pk=account.pk, is_active=True)
                .update(is_active=False, updated_at=timezone.now()))


def account_reactivate(*, account: User) -> bool:
    """Lift a staff suspension (a suspension for unpaid invoices ends with the payment)."""
    return bool(User.objects.filter(pk=account.pk, is_active=False)
                .update(is_active=True, updated_at=timezone.now()))


def remember_language_at_login(sender, request, user: User, **kwargs) -> None:
    """`user_logged_in` receiver (sign-up logs in too): the language the merchant uses."""
    account_set_language(user=user, language=translation.get_language())


def api_token_revoke(*, user: User) -> None:
    """The account's API token stops working at once (a new one is asked for with POST)."""
    Token.objects.filter(user=user).delete()


def account_summary(*, user: User) -> dict:
    plan = user.plan
    active = Business.objects.filter(owner=user, is_active=True).count()
    return {
        "plan": plan.name if plan else None,
        "plan_title": str(plan) if plan else None,
        "max_businesses": plan.max_businesses if plan else 1,
        "active_businesses": active,
        "subscription_status": user.subscription_status,
        "trial_ends_at": user.trial_ends_at,
    }


def ensure_default_plans() -> None:
    """Create the default plans if they are missing (never overwrites staff edits)."""
    for plan in DEFAULT_PLANS:
        Plan.objects.get_or_create(name=plan["name"], defaults=plan)

"""Every change to accounts and businesses goes through these functions."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework.authtoken.models import Token

from businesses.defaults import DEFAULT_MAX_STAFF, DEFAULT_PLANS
from businesses.models import (
    Business,
    Membership,
    Plan,
    PlatformSettings,
    Role,
    User,
    new_qr_token,
)
from businesses.signals import business_deactivating
from businesses.validators import normalized_phone
from waitify.lib.errors import ErrorCode, WaitifyError
from waitify.lib.tokens import looks_like_token

logger = logging.getLogger(__name__)


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
            code=ErrorCode.PLAN_LIMIT_REACHED,
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
            code=ErrorCode.ACCOUNT_SUSPENDED,
        )
    if user.is_read_only:
        raise BusinessError(
            _("Your account is read-only until your subscription is settled: "
              "nothing can be changed for now."),
            code=ErrorCode.ACCOUNT_READ_ONLY,
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


def _normalized(fields: dict[str, Any]) -> dict[str, Any]:
    """Values as stored (a phone in E.164); whether they are valid is the model's
    validators' to say, in `full_clean`."""
    if fields.get("phone"):
        fields["phone"] = normalized_phone(fields["phone"])
    if isinstance(fields.get("zip_code"), str):
        fields["zip_code"] = fields["zip_code"].strip()
    return fields


def _ensure_not_staff(user: User) -> None:
    # Someone's staff works on that account's businesses; only its owner adds one.
    if Membership.objects.filter(user=user).exists():
        raise BusinessError(_("You work for another account: only its owner adds "
                              "businesses."), code=ErrorCode.NOT_THE_OWNER)


def business_create(*, owner: User, name: str, business_type: str, **fields: Any) -> Business:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown business fields: {sorted(unknown)}")
    fields = _normalized(fields)
    platform = PlatformSettings.load()
    fields.setdefault("average_service_time", None)
    if not fields["average_service_time"]:
        fields["average_service_time"] = platform.service_time_for(business_type)
    fields.setdefault("max_queue_size", platform.default_max_queue_size)
    fields.setdefault("client_timeout_minutes", platform.default_client_timeout_minutes)
    with transaction.atomic():
        locked_owner = _lock_owner(owner)
        account_ensure_can_change(user=locked_owner)
        _ensure_not_staff(locked_owner)
        _ensure_room_for_one_more(locked_owner)
        business = Business(owner=locked_owner, name=name, business_type=business_type, **fields)
        business.full_clean(exclude=["owner"], validate_unique=False)
        business.save(force_insert=True)
        return business


def business_update(*, business: Business, **fields: Any) -> Business:
    """Change the given fields; an empty service time means the usual one for the type."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown business fields: {sorted(unknown)}")
    account_ensure_can_change(user=business.owner)
    fields = _normalized(fields)
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
    user.first_name, user.last_name = first_name, last_name
    user.phone = normalized_phone(phone) if phone else ""
    fields = ["first_name", "last_name", "phone", "updated_at"]
    if daily_digest_enabled is not None:
        user.daily_digest_enabled = daily_digest_enabled
        fields.append("daily_digest_enabled")
    user.full_clean(exclude=[field.name for field in User._meta.fields
                             if field.name not in fields], validate_unique=False)
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
        Plan.objects.get_or_create(name=plan["name"], defaults={
            **plan, "max_staff": DEFAULT_MAX_STAFF.get(plan["name"])})


# --- Staff: the people an owner invites to run their businesses -------------------------

class StaffError(BusinessError):
    pass


class StaffLimitReached(StaffError):
    def __init__(self, plan: Plan) -> None:
        limit = plan.max_staff
        super().__init__(
            ngettext("Your %(plan)s plan allows %(limit)s person on the account, you "
                     "included. Upgrade your plan to invite someone.",
                     "Your %(plan)s plan allows %(limit)s people on the account, you "
                     "included. Upgrade your plan to invite someone else.",
                     limit) % {"plan": plan, "limit": limit},
            code=ErrorCode.STAFF_LIMIT_REACHED,
            extra={"plan": plan.name, "max_staff": limit, "upgrade_url": "/billing/"},
        )


STAFF_ROLES = (Role.MANAGER, Role.AGENT)


def account_has_room_for_staff(*, user: User) -> bool:
    """Whether one more person fits in the plan (a hint: the invitation's lock decides)."""
    return _plan_of(user).allows_staff(
        1 + Membership.objects.filter(account=user).count() + 1)


def plans_with_more_seats(*, user: User) -> list[Plan]:
    """The plans offered today with more staff seats than the account's."""
    current = _plan_of(user).max_staff
    if current is None:
        return []
    return [plan for plan in Plan.objects.filter(is_active=True)
            if plan.max_staff is None or plan.max_staff > current]


def _check_staff_fields(owner: User, role: str, businesses) -> list[Business]:
    if role not in STAFF_ROLES:
        raise StaffError(_("Choose a role: manager or agent."), code=ErrorCode.INVALID_ROLE)
    businesses = list(businesses)
    if any(business.owner_id != owner.pk for business in businesses):
        raise StaffError(_("Choose among your own businesses."), code=ErrorCode.INVALID_BUSINESS)
    return businesses


def staff_invite(*, account: User, email: str, role: str, businesses) -> Membership:
    """Invite `email` to work on `businesses` with `role`; the e-mail leaves after commit.
    A pending invitation holds a seat of the plan."""
    email = (email or "").strip().lower()
    with transaction.atomic():
        owner = _lock_owner(account)  # seats are counted under the owner's lock
        account_ensure_can_change(user=owner)
        if Membership.objects.filter(user=owner).exists():
            raise StaffError(_("Only the account's owner invites people."),
                             code=ErrorCode.NOT_THE_OWNER)
        businesses = _check_staff_fields(owner, role, businesses)
        if email == owner.email.lower():
            raise StaffError(_("This is your own address: you already own the account."),
                             code=ErrorCode.INVALID_EMAIL)
        if Membership.objects.filter(account=owner, email__iexact=email).exists():
            raise StaffError(_("%(email)s is already on your staff or invited.")
                             % {"email": email}, code=ErrorCode.ALREADY_INVITED)
        if not account_has_room_for_staff(user=owner):
            raise StaffLimitReached(_plan_of(owner))
        membership = Membership.objects.create(account=owner, email=email, role=role)
        membership.businesses.set(businesses)
        transaction.on_commit(lambda: send_staff_invitation(membership=membership))
    return membership


def send_staff_invitation(*, membership: Membership) -> bool:
    """The invitation e-mail, in the owner's language. A mail server that is down is
    logged: the owner can see the pending invitation and invite again."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    account = membership.account
    context = {"account": account, "membership": membership,
               "businesses": [business.name for business in membership.businesses.all()],
               "url": f"{settings.SITE_URL}/staff/join/{membership.token}/"}
    try:
        with translation.override(account.language):
            context["role"] = membership.get_role_display()
            subject = render_to_string("businesses/emails/staff_invitation_subject.txt",
                                       context).strip()
            body = render_to_string("businesses/emails/staff_invitation.txt", context)
        send_mail(subject, body, None, [membership.email])
    except OSError:
        logger.exception("staff invitation e-mail not sent")
        return False
    return True


def staff_update(*, account: User, membership: Membership, role: str,
                 businesses) -> Membership:
    """Change what a member may do; it applies on their next click."""
    with transaction.atomic():
        locked = (Membership.objects.select_for_update()
                  .filter(pk=membership.pk, account=account).first())
        if locked is None:
            raise StaffError(_("This person is no longer on your staff."),
                             code=ErrorCode.MEMBER_GONE)
        account_ensure_can_change(user=account)
        businesses = _check_staff_fields(account, role, businesses)
        if locked.role != role:
            locked.role = role
            locked.save(update_fields=["role", "updated_at"])
        locked.businesses.set(businesses)
    return locked


def staff_remove(*, account: User, membership: Membership) -> bool:
    """Take someone off the staff (or withdraw an invitation). Their access ends at
    once: every session of theirs is signed out and their API token deleted. False if
    they were already gone."""
    with transaction.atomic():
        locked = (Membership.objects.select_for_update()
                  .filter(pk=membership.pk, account=account).first())
        if locked is None:
            return False
        user_id = locked.user_id
        locked.delete()
        if user_id is not None:
            Token.objects.filter(user_id=user_id).delete()
            User.objects.filter(pk=user_id).update(session_epoch=F("session_epoch") + 1,
                                                   updated_at=timezone.now())
    return True


def staff_join(*, user: User, token: str) -> Membership:
    """`user` accepts the invitation `token`: it must have been sent to their address.
    Accepting twice is the same as once."""
    with transaction.atomic():
        membership = (Membership.objects.select_for_update().select_related("account")
                      .filter(token=token).first()) if looks_like_token(token) else None
        if membership is None or (membership.user_id and membership.user_id != user.pk):
            raise StaffError(_("This invitation is no longer valid. Ask for a new one."),
                             code=ErrorCode.INVITATION_NOT_FOUND)
        if membership.user_id == user.pk:
            return membership
        if membership.email.lower() != user.email.lower():
            raise StaffError(_("This invitation was sent to %(email)s: log in with that "
                               "address to accept it.") % {"email": membership.email},
                             code=ErrorCode.INVITATION_OTHER_EMAIL)
        if Membership.objects.filter(user=user).exists():
            raise StaffError(_("You already work for another account: ask its owner to "
                               "remove you first."), code=ErrorCode.ALREADY_STAFF)
        if Business.objects.filter(owner=user).exists():
            raise StaffError(_("Your account has businesses of its own: accept the "
                               "invitation with another account."), code=ErrorCode.OWNS_BUSINESSES)
        membership.user = user
        membership.accepted_at = timezone.now()
        membership.save(update_fields=["user", "accepted_at", "updated_at"])
    return membership


def join_staff_at_login(sender, request, user: User, **kwargs) -> None:
    """`user_logged_in` receiver: an invitee who signs up (or logs in) with the invited
    address joins the account without another click, when exactly one invitation waits."""
    pending = list(Membership.objects.filter(user__isnull=True, email__iexact=user.email)
                   .values_list("token", flat=True)[:2])
    if len(pending) != 1 or Membership.objects.filter(user=user).exists():
        return
    with contextlib.suppress(StaffError):  # the invitation page says why, when opened
        staff_join(user=user, token=pending[0])

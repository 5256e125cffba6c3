"""Who may open which business: the one ownership lookup of every merchant page and API
route.

A business belongs to its owner's account. The owner may do everything; the staff the
owner invited (`Membership`) act on the businesses assigned to them, as far as their
role allows:

- "queue": run the live queue (agent, manager, owner);
- "settings", "stats": the business's settings, hours, QR code, counters, services and
  statistics (manager, owner);
- "billing", "staff", "owner": the account's subscription and people, and whatever
  counts against the plan (deactivating or reactivating a business) (owner).

Another account's business, a business not assigned to the member, or one the role
does not cover is the same 404: nobody learns that an id exists.
"""

from __future__ import annotations

import uuid

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from businesses.models import Business, Membership, Role, User
from waitify.lib.queries import one_or_none

PERMISSIONS: dict[str, frozenset[str]] = {
    "queue": frozenset({Role.OWNER, Role.MANAGER, Role.AGENT}),
    "settings": frozenset({Role.OWNER, Role.MANAGER}),
    "stats": frozenset({Role.OWNER, Role.MANAGER}),
    "billing": frozenset({Role.OWNER}),
    "staff": frozenset({Role.OWNER}),
    # What else changes the account: deactivating or reactivating a business (it counts
    # against the plan).
    "owner": frozenset({Role.OWNER}),
}


def _roles(permission: str) -> frozenset[str]:
    try:
        return PERMISSIONS[permission]
    except KeyError:
        raise ValueError(f"unknown permission {permission!r}") from None


def businesses_for(user: User, *, permission: str,
                   queryset: QuerySet[Business] | None = None) -> QuerySet[Business]:
    """The businesses `user` may act on with `permission`: their own, and those of the
    account they work for that are assigned to them with a role that allows it."""
    roles = _roles(permission)
    queryset = Business.objects.all() if queryset is None else queryset
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    allowed = Q(owner=user)
    staff_roles = roles - {Role.OWNER}
    if staff_roles:
        # EXISTS rather than a join: a business with several members stays one row.
        allowed |= Q(Exists(Membership.businesses.through.objects.filter(
            business=OuterRef("pk"), membership__user=user,
            membership__role__in=staff_roles, membership__account=OuterRef("owner_id"))))
    return queryset.filter(allowed)


def business_for(user: User, business_id, *, permission: str,
                 queryset: QuerySet[Business] | None = None) -> Business:
    """The business `business_id` if `user` may act on it with `permission`, else 404.

    `queryset` narrows or enriches the fetch (`Business.objects.select_related(...)`);
    by default the owner and their plan come along (limits, read-only state)."""
    if queryset is None:
        queryset = Business.objects.select_related("owner__plan")
    try:
        business_id = uuid.UUID(str(business_id))
    except ValueError:
        raise Http404("No such business.") from None
    roles = _roles(permission)
    # The business alone first, then the user's role on it: an owner (most requests) needs
    # no membership lookup, and a member's costs one more query.
    business = one_or_none(queryset.filter(pk=business_id))
    if business is None or role_in(user, business) not in roles:
        raise Http404("No such business.")
    return business


def role_in(user: User, business: Business) -> str | None:
    """The user's role on this business: "owner", "manager", "agent" or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    if business.owner_id == user.pk:
        return Role.OWNER
    return (Membership.objects.filter(user=user, account_id=business.owner_id,
                                      businesses=business)
            .values_list("role", flat=True).first())


def can(user: User, business: Business, permission: str) -> bool:
    return role_in(user, business) in _roles(permission)


def membership_of(user: User) -> Membership | None:
    """The account this user works for, if they are someone's staff. Asked once per
    request (the menu and the page's own check share the answer)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_waitify_membership"):
        user._waitify_membership = (Membership.objects.select_related("account__plan")
                                    .filter(user=user).first())
    return user._waitify_membership


def is_staff_member(user: User) -> bool:
    """True for someone working for another account: the account's own pages
    (billing, staff, new business, account-wide statistics) are not theirs."""
    return membership_of(user) is not None


def staff_of(account: User) -> QuerySet[Membership]:
    return (Membership.objects.filter(account=account).select_related("user")
            .prefetch_related("businesses").order_by("created_at"))


def seats_used(account: User) -> int:
    """People on the account, the owner included; a pending invitation holds a seat."""
    return 1 + Membership.objects.filter(account=account).count()


def account_for(user: User, *, permission: str) -> User:
    """The account itself (its subscription, staff, statistics across its businesses)
    when `user` is its owner; 404 for someone's staff, whatever their role: those pages
    belong to the owner."""
    _roles(permission)
    if not getattr(user, "is_authenticated", False) or is_staff_member(user):
        raise Http404("Not your account.")
    return user

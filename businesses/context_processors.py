"""What the navigation needs to know about the person logged in."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from businesses.selectors import membership_of


def staff(request: HttpRequest) -> dict:
    """`staff_membership`: the account this user works for (None for an owner), looked
    up only when a template asks, so that the menu hides what the role cannot open."""
    user = getattr(request, "user", None)
    return {"staff_membership": SimpleLazyObject(lambda: membership_of(user)) if user else None}

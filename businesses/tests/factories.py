"""Merchant accounts for tests, made as the product makes them.

`make_merchant("lea@example.fr", plan="pro")` gives an account on that plan whose
password is `PASSWORD` (for the tests that sign in through the login form).
"""

from __future__ import annotations

from businesses import services as business_services
from businesses.models import Plan, User

PASSWORD = "correct-horse-battery-staple"


def make_merchant(email: str, plan: str = "basic", **extra) -> User:
    business_services.ensure_default_plans()  # a transactional test's flush removes them
    return User.objects.create_user(email, PASSWORD, plan=Plan.objects.get(name=plan), **extra)

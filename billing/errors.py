"""Billing's domain error: shown as a message on pages, as JSON by the API."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from waitify.lib.errors import ErrorCode, WaitifyError


class BillingError(WaitifyError):
    pass


def stripe_unavailable() -> BillingError:
    return BillingError(
        _("The payment service did not answer. Nothing was charged or changed: "
          "please try again in a few minutes."),
        code=ErrorCode.STRIPE_UNAVAILABLE,
    )


def billing_disabled() -> BillingError:
    return BillingError(
        _("Online billing is not set up on this installation: your account keeps its "
          "current plan."),
        code=ErrorCode.BILLING_DISABLED,
    )

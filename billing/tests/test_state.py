"""The account state that Stripe's objects imply (the rule every webhook applies)."""

from __future__ import annotations

import pytest

from billing.services import status_from_stripe


def sub(status: str) -> dict:
    return {"status": status}


def inv(status: str = "open", attempts: int = 0) -> dict:
    return {"id": "in_1", "status": status, "attempt_count": attempts}


@pytest.mark.parametrize(("subscription", "invoice", "had", "trial_over", "expected"), [
    (None, None, False, False, ("trial", 0)),
    (None, None, False, True, ("read_only", 0)),
    (sub("incomplete"), None, False, False, ("trial", 0)),  # Checkout not paid yet
    (sub("incomplete_expired"), None, False, True, ("read_only", 0)),
    (sub("incomplete"), None, True, True, ("cancelled", 0)),  # after an ended one
    (sub("active"), inv("paid"), True, True, ("active", 0)),
    (sub("trialing"), None, True, False, ("active", 0)),
    (sub("past_due"), inv("open", 1), True, False, ("past_due", 1)),
    (sub("past_due"), inv("open", 2), True, False, ("read_only", 2)),
    (sub("past_due"), inv("open", 3), True, False, ("suspended", 3)),
    (sub("past_due"), inv("open", 5), True, False, ("suspended", 5)),
    (sub("past_due"), inv("paid", 3), True, False, ("active", 0)),
    (sub("unpaid"), inv("uncollectible", 4), True, False, ("suspended", 4)),
    (sub("paused"), None, True, False, ("read_only", 0)),
    (sub("canceled"), inv("open", 1), True, False, ("cancelled", 1)),
    (sub("canceled"), inv("paid"), True, False, ("cancelled", 0)),
    (sub("canceled"), inv("uncollectible", 3), True, False, ("suspended", 3)),
])
def test_the_state_follows_the_subscription_and_its_latest_invoice(subscription, invoice, had,
                                                                   trial_over, expected):
    assert status_from_stripe(subscription=subscription, invoice=invoice,
                              had_subscription=had, trial_over=trial_over) == expected

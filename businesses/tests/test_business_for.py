"""`business_for`, the one ownership lookup, on the inputs a URL or a caller can give."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from businesses.models import Membership
from businesses.selectors import business_for, businesses_for, role_in
from businesses.tests.personas import make_member


def test_the_owner_gets_their_business_with_its_owner_and_plan(merchant, business,
                                                                django_assert_num_queries):
    with django_assert_num_queries(1):
        found = business_for(merchant, str(business.pk), permission="billing")
        assert found.owner.plan.name == "pro"
    assert found == business


@pytest.mark.parametrize("business_id", ["", "not-a-uuid", "0" * 300, None, 42,
                                         "00000000-0000-4000-8000-000000000000"])
def test_an_id_that_is_not_a_business_is_a_404(merchant, business, business_id):
    with pytest.raises(Http404):
        business_for(merchant, business_id, permission="queue")


def test_a_visitor_who_is_not_logged_in_gets_a_404(business):
    with pytest.raises(Http404):
        business_for(AnonymousUser(), business.pk, permission="queue")
    assert not businesses_for(AnonymousUser(), permission="queue").exists()


def test_a_misspelt_permission_is_a_programming_error(merchant, business):
    with pytest.raises(ValueError):
        business_for(merchant, business.pk, permission="setting")


def test_a_membership_never_opens_another_account_s_business(merchant, business, outsider,
                                                             outsider_business):
    agent = make_member(merchant, "agent@example.fr", "agent", [business])
    # Written behind the services' back: the lookup still checks the account.
    Membership.objects.get(user=agent).businesses.add(outsider_business)

    with pytest.raises(Http404):
        business_for(agent, outsider_business.pk, permission="queue")
    assert role_in(agent, business) == "agent"


def test_a_business_with_several_members_is_listed_once(merchant, business):
    for number in range(3):
        make_member(merchant, f"agent{number}@example.fr", "agent", [business])
    assert list(businesses_for(merchant, permission="queue")) == [business]

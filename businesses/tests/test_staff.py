"""Staff: the owner invites people by e-mail, they join with that address, work with
the role and businesses given, and lose all access the moment they are removed."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from businesses import services
from businesses.models import Business, Membership, Plan
from businesses.services import BusinessError, StaffError, StaffLimitReached
from businesses.tests.factories import PASSWORD, make_merchant
from businesses.tests.personas import make_member
from waitify.lib.errors import ErrorCode


@pytest.fixture
def pharmacy(merchant):
    return services.business_create(owner=merchant, name="Pharmacie du Marché",
                                    business_type="pharmacy")


def invite(owner, pharmacy, email="lucie@example.fr", role="agent"):
    return services.staff_invite(account=owner, email=email, role=role, businesses=[pharmacy])


# --- Invitation -----------------------------------------------------------------------


def test_the_invitation_e_mail_carries_the_link_in_the_owner_s_language(
        merchant, pharmacy, django_capture_on_commit_callbacks):
    merchant.language = "fr"
    merchant.save()
    with django_capture_on_commit_callbacks(execute=True):
        member = invite(merchant, pharmacy, email="Lucie@Example.fr")

    assert member.email == "lucie@example.fr" and member.is_pending
    [message] = mail.outbox
    assert message.to == ["lucie@example.fr"]
    assert f"https://waitify.test/staff/join/{member.token}/" in message.body
    assert "Pharmacie du Marché" in message.body
    assert "Marie" in message.subject
    assert "invite" in message.subject.lower()  # "vous invite", in French


def test_an_invitee_who_signs_up_with_the_address_joins_at_once(merchant, pharmacy):
    member = invite(merchant, pharmacy)
    lucie = make_merchant("lucie@example.fr")

    Client().force_login(lucie)  # allauth logs in after the e-mail confirmation

    member.refresh_from_db()
    assert member.user == lucie and member.accepted_at is not None


def test_the_invitation_page_lets_the_right_person_join(merchant, pharmacy):
    lucie = make_merchant("lucie@example.fr")
    browser = Client()
    browser.force_login(lucie)  # logged in before the invitation exists
    member = invite(merchant, pharmacy)
    url = reverse("businesses:staff_join", args=[member.token])

    anonymous = Client().get(url)
    assert anonymous.status_code == 200
    assert reverse("account_signup").encode() in anonymous.content

    intruder = Client()
    intruder.force_login(make_merchant("intrus@example.fr"))
    refused = intruder.post(url)
    assert refused.status_code == 400
    assert b"lucie@example.fr" in refused.content
    member.refresh_from_db()
    assert member.is_pending

    response = browser.post(url)

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.user == lucie
    assert browser.get(reverse("queues:live", args=[pharmacy.pk])).status_code == 200


def test_a_used_or_unknown_invitation_is_no_longer_valid(client, merchant, pharmacy):
    member = invite(merchant, pharmacy)
    services.staff_join(user=make_merchant("lucie@example.fr"), token=member.token)

    assert client.get(reverse("businesses:staff_join", args=[member.token])).status_code == 404
    for token in ("nope", "a" * 300, "%00"):
        assert client.get(f"/staff/join/{token}/").status_code == 404


def test_inviting_twice_the_same_address_is_refused(merchant, pharmacy):
    invite(merchant, pharmacy)
    with pytest.raises(StaffError) as refusal:
        invite(merchant, pharmacy, email="LUCIE@example.fr")
    assert refusal.value.code == ErrorCode.ALREADY_INVITED
    assert Membership.objects.count() == 1


def test_only_the_owner_s_own_businesses_can_be_assigned(merchant, outsider_business):
    with pytest.raises(StaffError) as refusal:
        services.staff_invite(account=merchant, email="lucie@example.fr", role="agent",
                              businesses=[outsider_business])
    assert refusal.value.error == "invalid_business"
    assert not Membership.objects.exists()


def test_the_owner_cannot_be_given_a_role_other_than_manager_or_agent(merchant, pharmacy):
    with pytest.raises(StaffError):
        invite(merchant, pharmacy, role="owner")
    assert not Membership.objects.exists()


def test_someone_s_staff_adds_no_business_and_invites_nobody(merchant, pharmacy):
    manager = make_member(merchant, "gerant@example.fr", "manager", [pharmacy])

    with pytest.raises(BusinessError):
        services.business_create(owner=manager, name="Ma boutique", business_type="other")
    with pytest.raises(StaffError):
        services.staff_invite(account=manager, email="x@example.fr", role="agent",
                              businesses=[])
    assert not Business.objects.filter(owner=manager).exists()


# --- Plan limit -------------------------------------------------------------------------


def test_the_basic_plan_is_the_owner_alone_and_says_how_to_get_more(client, plans):
    Plan.objects.filter(name="basic").update(max_staff=1)
    Plan.objects.filter(name="pro").update(max_staff=10)
    owner = make_merchant("seul@example.fr", plan="basic")
    shop = services.business_create(owner=owner, name="Boulangerie", business_type="bakery")

    with pytest.raises(StaffLimitReached) as refusal:
        services.staff_invite(account=owner, email="a@example.fr", role="agent",
                              businesses=[shop])
    assert refusal.value.as_dict()["upgrade_url"] == "/billing/"
    assert refusal.value.as_dict()["max_staff"] == 1

    client.force_login(owner)
    page = client.get(reverse("businesses:staff"))
    assert page.status_code == 200
    assert b'id="staff-limit"' in page.content
    assert b'id="staff-invite"' not in page.content
    assert b"10" in page.content  # the Pro plan's seats, as the way forward


def test_a_pending_invitation_holds_a_seat(plans, merchant, pharmacy):
    Plan.objects.filter(pk=merchant.plan_id).update(max_staff=2)
    merchant.refresh_from_db()
    invite(merchant, pharmacy)  # owner + Lucie (pending) = 2
    with pytest.raises(StaffLimitReached):
        invite(merchant, pharmacy, email="paul@example.fr")
    services.staff_remove(account=merchant, membership=Membership.objects.get())
    invite(merchant, pharmacy, email="paul@example.fr")  # the seat is free again


# --- Removal and changes ----------------------------------------------------------------


def test_removing_someone_ends_their_sessions_and_their_api_token_at_once(merchant, pharmacy):
    agent = make_member(merchant, "agent@example.fr", "agent", [pharmacy])
    browser = Client()
    assert browser.login(email="agent@example.fr", password=PASSWORD)
    assert browser.get(reverse("queues:live", args=[pharmacy.pk])).status_code == 200
    token = Token.objects.create(user=agent)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get(f"/api/v1/businesses/{pharmacy.pk}/queue").status_code == 200

    assert services.staff_remove(account=merchant, membership=Membership.objects.get())

    live = browser.get(reverse("queues:live", args=[pharmacy.pk]))
    assert live.status_code == 302 and live["Location"].startswith(reverse("account_login"))
    assert api.get(f"/api/v1/businesses/{pharmacy.pk}/queue").status_code == 401
    assert not Membership.objects.exists()
    assert services.staff_remove(account=merchant, membership=Membership(pk=uuid.uuid4())) is False


def test_the_owner_s_own_sessions_outlive_a_removal(merchant_client, merchant, pharmacy):
    make_member(merchant, "agent@example.fr", "agent", [pharmacy])
    services.staff_remove(account=merchant, membership=Membership.objects.get())
    assert merchant_client.get(reverse("businesses:staff")).status_code == 200


def test_a_new_role_applies_on_the_next_click(merchant, pharmacy):
    agent = make_member(merchant, "agent@example.fr", "agent", [pharmacy])
    browser = Client()
    browser.force_login(agent)
    settings_page = reverse("businesses:detail", args=[pharmacy.pk])
    assert browser.get(settings_page).status_code == 404

    services.staff_update(account=merchant, membership=Membership.objects.get(),
                          role="manager", businesses=[pharmacy])

    assert browser.get(settings_page).status_code == 200


def test_the_staff_page_invites_changes_and_removes(merchant_client, merchant, pharmacy):
    invited = merchant_client.post(reverse("businesses:staff"), {
        "email": "lucie@example.fr", "role": "manager", "businesses": [pharmacy.pk]})
    assert invited.status_code == 302
    member = Membership.objects.get()
    assert member.role == "manager" and list(member.businesses.all()) == [pharmacy]

    page = merchant_client.get(reverse("businesses:staff"))
    assert b"lucie@example.fr" in page.content

    merchant_client.post(reverse("businesses:staff_update", args=[member.pk]),
                         {f"{member.pk}-role": "agent", f"{member.pk}-businesses": []})
    member.refresh_from_db()
    assert member.role == "agent" and not member.businesses.exists()

    merchant_client.post(reverse("businesses:staff_remove", args=[member.pk]))
    assert not Membership.objects.exists()


def test_a_bad_invitation_form_says_what_is_wrong(merchant_client, pharmacy):
    response = merchant_client.post(reverse("businesses:staff"), {
        "email": "pas-une-adresse", "role": "boss", "businesses": ["nope"]})
    assert response.status_code == 200
    assert response.content.count(b'class="error"') >= 2
    assert not Membership.objects.exists()


# --- API ---------------------------------------------------------------------------------


def test_the_api_lists_invites_changes_and_removes(api_client, merchant, pharmacy):
    created = api_client.post("/api/v1/staff", {
        "email": "lucie@example.fr", "role": "agent", "businesses": [str(pharmacy.pk)]},
        format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "invited" and body["businesses"] == [str(pharmacy.pk)]

    listed = api_client.get("/api/v1/staff").json()
    assert [member["email"] for member in listed] == ["lucie@example.fr"]

    changed = api_client.put(f"/api/v1/staff/{body['id']}",
                             {"role": "manager", "businesses": []}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "manager"

    assert api_client.delete(f"/api/v1/staff/{body['id']}").status_code == 204
    assert api_client.delete(f"/api/v1/staff/{body['id']}").status_code == 404
    assert api_client.get("/api/v1/staff").json() == []


@pytest.mark.parametrize("body", [
    {},
    {"email": "x", "role": "agent", "businesses": []},
    {"email": "a@example.fr", "role": "owner", "businesses": []},
    {"email": "a@example.fr", "role": "agent", "businesses": ["not-a-uuid"]},
    {"email": "a@example.fr", "role": "agent",
     "businesses": ["00000000-0000-4000-8000-000000000000"]},
    {"email": "a@example.fr", "role": "agent", "businesses": "all"},
])
def test_the_api_refuses_bad_input_with_a_400(api_client, body):
    response = api_client.post("/api/v1/staff", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert not Membership.objects.exists()


def test_the_api_refuses_another_account_s_business(api_client, outsider_business):
    response = api_client.post("/api/v1/staff", {
        "email": "a@example.fr", "role": "agent", "businesses": [str(outsider_business.pk)]},
        format="json")
    assert response.status_code == 400
    assert not Membership.objects.exists()


def test_the_api_says_where_to_upgrade_at_the_limit(api_client, merchant, pharmacy):
    Plan.objects.filter(pk=merchant.plan_id).update(max_staff=1)
    response = api_client.post("/api/v1/staff", {
        "email": "a@example.fr", "role": "agent", "businesses": []}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "staff_limit_reached"
    assert response.json()["upgrade_url"] == "/billing/"


def test_staff_use_the_api_under_the_owner_s_plan(merchant, pharmacy):
    agent = make_member(merchant, "agent@example.fr", "agent", [pharmacy])
    assert not agent.plan.api_access  # their own account would have none
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent).key}")
    assert api.get(f"/api/v1/businesses/{pharmacy.pk}/queue").status_code == 200


def test_a_member_s_own_trial_never_expires_into_a_read_only_account(
        merchant, pharmacy, settings):
    from datetime import timedelta

    from django.utils import timezone

    from billing.services import trials_expire

    settings.STRIPE_ENABLED = True
    agent = make_member(merchant, "agent@example.fr", "agent", [pharmacy])
    agent.trial_ends_at = timezone.now() - timedelta(days=1)
    agent.save()

    trials_expire()

    agent.refresh_from_db()
    assert agent.subscription_status == "trial"

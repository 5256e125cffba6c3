"""The five personas of the ownership tests: the owner of businesses A and B, a manager
and an agent of A, an agent of B (same account), and an outsider (another account)."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from businesses import services
from businesses.models import Business, Membership, User
from businesses.tests.factories import make_merchant

PERSONAS = ["owner", "manager_a", "agent_a", "agent_b", "outsider"]


def make_member(account: User, email: str, role: str, businesses: list[Business]) -> User:
    """Someone the owner invited and who joined with the invited address."""
    member = services.staff_invite(account=account, email=email, role=role,
                                   businesses=businesses)
    user = make_merchant(email)
    services.staff_join(user=user, token=member.token)
    return user


@dataclass
class Team:
    owner: User
    business_a: Business
    business_b: Business
    manager_a: User
    agent_a: User
    agent_b: User
    outsider: User
    outsider_business: Business

    def user(self, persona: str) -> User:
        return getattr(self, persona)

    def membership(self, persona: str) -> Membership:
        return Membership.objects.get(user=self.user(persona))

    def client(self, persona: str) -> Client:
        client = Client()
        client.force_login(self.user(persona))
        return client

    def api(self, persona: str) -> APIClient:
        api = APIClient()
        token, _created = Token.objects.get_or_create(user=self.user(persona))
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return api


def make_team(owner: User, outsider: User) -> Team:
    business_a = services.business_create(owner=owner, name="Pharmacie A",
                                          business_type="pharmacy")
    business_b = services.business_create(owner=owner, name="Pharmacie B",
                                          business_type="pharmacy")
    outsider_business = services.business_create(owner=outsider, name="Garage Dupont",
                                                 business_type="garage")
    return Team(
        owner=owner, business_a=business_a, business_b=business_b,
        manager_a=make_member(owner, "manager-a@example.fr", "manager", [business_a]),
        agent_a=make_member(owner, "agent-a@example.fr", "agent", [business_a]),
        agent_b=make_member(owner, "agent-b@example.fr", "agent", [business_b]),
        outsider=outsider, outsider_business=outsider_business,
    )

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter

from businesses.models import User
from waitify.lib.client_ip import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        # allauth's failed-login limit per address counts clients like every other
        # limit of the product (NUM_PROXIES, no forwarded header trusted by default).
        return client_ip(request)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request, sociallogin, data) -> User:
        user = super().populate_user(request, sociallogin, data)
        provider = sociallogin.account.provider
        if provider in User.AuthProvider.values:
            user.auth_provider = provider
        picture = sociallogin.account.get_avatar_url()
        if picture and len(picture) <= 200:
            user.profile_picture = picture
        return user

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter

from businesses.models import User


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

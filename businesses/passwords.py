"""What else changes when a password changes."""

from __future__ import annotations

from django.utils.translation import gettext as _

from businesses import services


class RevokeApiTokenOnPasswordChange:
    """Listed in AUTH_PASSWORD_VALIDATORS for its `password_changed` hook.

    Django calls it after every real password change, whichever the path (the
    account page, a reset e-mail, the admin, `changepassword`), and not when
    the stored hash is merely upgraded at login. A token obtained with the old
    password must not outlive it: someone who knew that password keeps nothing.
    """

    def validate(self, password: str, user=None) -> None:
        return None

    def password_changed(self, password: str, user=None) -> None:
        if user is not None and user.pk is not None:
            services.api_token_revoke(user=user)

    def get_help_text(self) -> str:
        return _("Changing your password revokes your API token.")

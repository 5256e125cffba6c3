from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from businesses.models import User


class AccountDeleteForm(forms.Form):
    """Deleting everything asks for the password, or the e-mail address for an account
    that signs in with Google or Facebook only."""

    confirmation = forms.CharField(strip=False, max_length=254)

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        field = self.fields["confirmation"]
        if user.has_usable_password():
            field.label = _("Your password")
            field.widget = forms.PasswordInput(attrs={"autocomplete": "current-password"})
        else:
            field.label = _("Your e-mail address")
            field.widget = forms.EmailInput(attrs={"autocomplete": "off"})

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"]
        if self.user.has_usable_password():
            if not self.user.check_password(value):
                raise forms.ValidationError(_("This is not your password."))
        elif value.strip().lower() != self.user.email.lower():
            raise forms.ValidationError(_("This is not the e-mail address of this account."))
        return value

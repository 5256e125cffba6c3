from django import forms
from django.utils.translation import gettext_lazy as _


class JoinForm(forms.Form):
    phone = forms.CharField(
        label=_("Your mobile number"), max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel",
                                      "inputmode": "tel", "placeholder": "06 12 34 56 78"}),
    )
    name = forms.CharField(
        label=_("Your first name (optional)"), max_length=60, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    no_sms = forms.BooleanField(
        label=_("No SMS: I will keep this page open to follow my turn"), required=False,
    )

    def clean_name(self) -> str:
        name = self.cleaned_data.get("name", "")
        if "\x00" in name:
            raise forms.ValidationError(_("This name contains characters we cannot store."))
        return name.strip()


class ResendLinkForm(forms.Form):
    phone = forms.CharField(
        label=_("The mobile number you joined with"), max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel",
                                      "inputmode": "tel", "placeholder": "06 12 34 56 78"}),
    )


class WalkInForm(forms.Form):
    name = forms.CharField(label=_("First name (optional)"), max_length=60, required=False)

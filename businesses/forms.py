from __future__ import annotations

from datetime import time
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from businesses.models import Business, PlatformSettings, User
from waitify.lib.opening_hours import WEEKDAYS
from waitify.lib.phones import InvalidPhone, normalize_phone

WEEKDAY_LABELS = {
    "monday": _("Monday"), "tuesday": _("Tuesday"), "wednesday": _("Wednesday"),
    "thursday": _("Thursday"), "friday": _("Friday"), "saturday": _("Saturday"),
    "sunday": _("Sunday"),
}


def clean_optional_phone(value: str) -> str:
    if not value.strip():
        return ""
    try:
        return normalize_phone(value)
    except InvalidPhone as exc:
        raise forms.ValidationError(
            _("Enter a valid phone number, for example 06 12 34 56 78.")
        ) from exc


class BusinessForm(forms.ModelForm):
    """All settings of a business, opening hours as one row per weekday."""

    average_service_minutes = forms.IntegerField(
        label=_("Average service time (minutes)"), min_value=1, max_value=600, required=False,
        help_text=_("Leave empty to use the usual time for this type of business."),
    )
    average_basket_euros = forms.DecimalField(
        label=_("Average basket (€)"), min_value=0, max_value=100_000, decimal_places=2,
        required=False, localize=True,  # "12,50" in French
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("What a customer spends on average: estimates the revenue lost when "
                    "customers leave the queue."),
    )

    class Meta:
        model = Business
        fields = [
            "name", "business_type", "phone", "address", "city", "zip_code",
            "max_queue_size", "client_timeout_minutes", "auto_advance_enabled", "sms_enabled",
            "custom_message",
        ]
        widgets = {"address": forms.TextInput()}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A UUID primary key is set before the first save: ask the row state instead.
        if not self.instance._state.adding:
            self.fields["average_service_minutes"].initial = max(
                1, round(self.instance.average_service_time / 60)
            )
        else:
            # Show the platform's defaults instead of applying them silently.
            platform = PlatformSettings.load()
            self.fields["max_queue_size"].initial = platform.default_max_queue_size
            self.fields["client_timeout_minutes"].initial = platform.default_client_timeout_minutes
            self.fields["max_queue_size"].required = False
            self.fields["client_timeout_minutes"].required = False
        if self.instance.average_basket_cents:
            self.fields["average_basket_euros"].initial = (
                Decimal(self.instance.average_basket_cents) / 100).quantize(Decimal("0.01"))
        hours = self.instance.opening_hours or {}
        for day in WEEKDAYS:
            spec = hours.get(day) or {}
            label = WEEKDAY_LABELS[day]
            self.fields[f"{day}_closed"] = forms.BooleanField(
                label=_("Closed on %(day)s") % {"day": label}, required=False,
                initial=bool(spec.get("closed")),
            )
            self.fields[f"{day}_open"] = forms.TimeField(
                label=_("%(day)s opens at") % {"day": label}, required=False,
                initial=spec.get("open"), widget=forms.TimeInput(attrs={"type": "time"}),
            )
            self.fields[f"{day}_close"] = forms.TimeField(
                label=_("%(day)s closes at") % {"day": label}, required=False,
                initial=spec.get("close"), widget=forms.TimeInput(attrs={"type": "time"}),
            )

    def weekday_rows(self) -> list[dict]:
        return [
            {"label": WEEKDAY_LABELS[day], "closed": self[f"{day}_closed"],
             "open": self[f"{day}_open"], "close": self[f"{day}_close"]}
            for day in WEEKDAYS
        ]

    def clean_phone(self) -> str:
        return clean_optional_phone(self.cleaned_data.get("phone", ""))

    def clean_zip_code(self) -> str:
        value = self.cleaned_data.get("zip_code", "").strip()
        # isdigit() alone accepts "７５０１１" or "²": only ASCII digits make a zip code.
        if value and not (len(value) == 5 and value.isascii() and value.isdigit()):
            raise forms.ValidationError(_("A French zip code has five digits, e.g. 75011."))
        return value

    def clean(self) -> dict:
        cleaned = super().clean()
        hours: dict[str, dict] = {}
        for day in WEEKDAYS:
            closed = cleaned.get(f"{day}_closed")
            opens: time | None = cleaned.get(f"{day}_open")
            closes: time | None = cleaned.get(f"{day}_close")
            if closed:
                hours[day] = {"closed": True}
            elif opens and closes:
                if closes <= opens:
                    self.add_error(f"{day}_close", _("Closing time must be after opening time."))
                hours[day] = {"open": opens.strftime("%H:%M"), "close": closes.strftime("%H:%M"),
                              "closed": False}
            elif opens or closes:
                self.add_error(f"{day}_open", _("Give both opening and closing times, "
                                                "or leave both empty."))
        cleaned["opening_hours"] = hours
        minutes = cleaned.get("average_service_minutes")
        cleaned["average_service_time"] = minutes * 60 if minutes else None
        basket = cleaned.get("average_basket_euros")
        cleaned["average_basket_cents"] = round(basket * 100) if basket else 0
        return cleaned

    def service_fields(self) -> dict:
        """The cleaned values in the shape `businesses.services` takes."""
        data = {name: self.cleaned_data[name] for name in self.Meta.fields
                if self.cleaned_data.get(name) is not None}
        data["opening_hours"] = self.cleaned_data["opening_hours"]
        data["average_basket_cents"] = self.cleaned_data["average_basket_cents"]
        # None asks the service for the usual time of the (possibly new) type.
        data["average_service_time"] = self.cleaned_data["average_service_time"]
        return data


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "phone", "daily_digest_enabled"]

    def clean_phone(self) -> str:
        return clean_optional_phone(self.cleaned_data.get("phone", ""))

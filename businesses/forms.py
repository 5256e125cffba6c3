from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from zoneinfo import available_timezones

from django import forms
from django.template.loader import render_to_string
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from businesses.models import Business, PlatformSettings, Role, User
from businesses.validators import WEEKDAY_NAMES, normalized_phone, validate_opening_hours
from waitify.lib.opening_hours import MAX_RANGES, MIDNIGHT, WEEKDAYS, HoursError, check_hours

WEEKDAY_LABELS = WEEKDAY_NAMES
EXTRA_EXCEPTION_ROWS = 2
MAX_EXCEPTION_ROWS = 60
EXCEPTION_RANGES = 2


def _clock(value: str) -> str:
    """"HH:MM" from a time input ("08:00" or "08:00:00"); "" when not a time."""
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        return ""
    return parsed.strftime("%H:%M")


class OpeningHoursWidget(forms.Widget):
    """Opening hours as plain inputs: for each weekday a "closed" box and up to three
    ranges of two time inputs; below, dated exceptions (a date, "closed" or up to two
    ranges) with two blank rows to add more. The merchant form and the admin use it."""

    template_name = "businesses/widgets/opening_hours.html"

    class Media:
        css = {"all": ["css/opening_hours.css"]}

    def render(self, name: str, value, attrs=None, renderer=None) -> str:
        # From the project's templates, which the default form renderer does not search.
        return render_to_string(self.template_name, self.get_context(name, value, attrs))

    def value_from_datadict(self, data, files, name: str) -> dict:
        def ranges(prefix: str, count: int) -> list[list[str]]:
            return [[data.get(f"{prefix}-{index}-start", "").strip(),
                     data.get(f"{prefix}-{index}-end", "").strip()] for index in range(count)]
        try:
            rows = min(int(data.get(f"{name}-exception-rows", "0")), MAX_EXCEPTION_ROWS)
        except ValueError:
            rows = 0
        return {
            "form": True,
            "days": {day: {"closed": bool(data.get(f"{name}-{day}-closed")),
                           "ranges": ranges(f"{name}-{day}", MAX_RANGES)} for day in WEEKDAYS},
            "exceptions": [{"date": data.get(f"{name}-x{row}-date", "").strip(),
                            "closed": bool(data.get(f"{name}-x{row}-closed")),
                            "ranges": ranges(f"{name}-x{row}", EXCEPTION_RANGES)}
                           for row in range(max(rows, 0))],
        }

    def value_omitted_from_data(self, data, files, name: str) -> bool:
        return f"{name}-exception-rows" not in data

    @staticmethod
    def as_rows(value: dict | None) -> dict:
        """The widget's rows from a stored value (or from posted rows, unchanged)."""
        if isinstance(value, dict) and value.get("form"):
            return value
        value = value if isinstance(value, dict) else {}
        weekly, exceptions = value.get("weekly") or {}, value.get("exceptions") or {}
        return {
            "days": {day: {"closed": weekly.get(day) == [],
                           "ranges": [list(pair) for pair in weekly.get(day) or []]}
                     for day in WEEKDAYS},
            "exceptions": [{"date": key, "closed": ranges == [],
                            "ranges": [list(pair) for pair in ranges]}
                           for key, ranges in sorted(exceptions.items())],
        }

    def get_context(self, name: str, value, attrs) -> dict:
        context = super().get_context(name, value, attrs)
        rows = self.as_rows(value)

        def padded(ranges: list, count: int) -> list[dict]:
            ranges = [(pair + ["", ""])[:2] for pair in ranges][:count]
            ranges += [["", ""]] * (count - len(ranges))
            return [{"index": index, "number": index + 1, "start": start,
                     "end": "00:00" if end == MIDNIGHT else end}
                    for index, (start, end) in enumerate(ranges)]

        exceptions = [row for row in rows["exceptions"]
                      if row["date"] or row["closed"] or any(any(pair) for pair in row["ranges"])]
        exceptions += [{"date": "", "closed": False, "ranges": []}] * EXTRA_EXCEPTION_ROWS
        context["days"] = [{"key": day, "label": WEEKDAY_LABELS[day],
                            "closed": rows["days"][day]["closed"],
                            "ranges": padded(rows["days"][day]["ranges"], MAX_RANGES)}
                           for day in WEEKDAYS]
        context["exceptions"] = [{"row": index, "date": row["date"], "closed": row["closed"],
                                  "ranges": padded(row["ranges"], EXCEPTION_RANGES)}
                                 for index, row in enumerate(exceptions)]
        return context


class OpeningHoursField(forms.Field):
    """The rows of OpeningHoursWidget as the stored value, checked by the model's own
    validator (the API and the admin run the same one)."""

    widget = OpeningHoursWidget
    default_validators = [validate_opening_hours]

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Opening hours"))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return value

    def to_python(self, value) -> dict:
        if not (isinstance(value, dict) and value.get("form")):
            return value or {}
        errors: list[str] = []
        weekly: dict[str, list] = {}
        for day in WEEKDAYS:
            row = value["days"][day]
            ranges = self._ranges(row["ranges"], str(WEEKDAY_LABELS[day]), errors)
            if row["closed"]:
                weekly[day] = []
            elif ranges:
                weekly[day] = ranges
        exceptions: dict[str, list] = {}
        for row in value["exceptions"]:
            if not row["date"]:
                continue  # an emptied date removes the row, whatever else it holds
            try:
                day = date.fromisoformat(row["date"])
            except ValueError:
                errors.append(_("Exceptions: “%(value)s” is not a date.")
                              % {"value": row["date"][:20]})
                continue
            subject = date_format(day, "j F Y")
            ranges = self._ranges(row["ranges"], subject, errors)
            if day.isoformat() in exceptions:
                errors.append(_("%(day)s is listed twice in the exceptions.") % {"day": subject})
            elif not row["closed"] and not ranges:
                errors.append(_("%(day)s: tick “Closed” or give the opening hours of that day.")
                              % {"day": subject})
            exceptions[day.isoformat()] = [] if row["closed"] else ranges
        if errors:
            raise forms.ValidationError(errors)
        hours = {"weekly": weekly, "exceptions": exceptions}
        try:
            return check_hours(hours)  # ranges in order
        except HoursError:
            return hours  # the model's validator says what is wrong


    @staticmethod
    def _ranges(pairs: list[list[str]], subject: str, errors: list) -> list[list[str]]:
        ranges = []
        for start, end in pairs:
            if not (start or end):
                continue
            clocks = [_clock(start), _clock(end)]
            if not all(clocks):
                errors.append(
                    _("%(day)s: give both the opening and the closing time of each range.")
                    % {"day": subject} if not (start and end) else
                    _("%(day)s: write times as HH:MM, for example 08:30.") % {"day": subject})
                continue
            # A time input cannot say 24:00: a range ending at 00:00 ends at midnight.
            ranges.append([clocks[0], MIDNIGHT if clocks[1] == "00:00" else clocks[1]])
        return ranges


class BusinessForm(forms.ModelForm):
    """All settings of a business, opening hours with OpeningHoursWidget."""

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

    opening_hours = OpeningHoursField(
        help_text=_("Outside these hours customers cannot join. A day left empty accepts "
                    "customers whenever the queue is open; tick “Closed” for a day off. "
                    "A range ending at 00:00 ends at midnight."))
    timezone = forms.ChoiceField(
        label=_("Time zone"), initial="Europe/Paris", required=False,
        choices=lambda: [(zone, zone.replace("_", " ")) for zone in sorted(available_timezones())],
        help_text=_("Opening hours are read on this clock."))

    class Meta:
        model = Business
        fields = [
            "name", "business_type", "phone", "address", "city", "zip_code",
            "max_queue_size", "client_timeout_minutes", "auto_advance_enabled", "sms_enabled",
            "custom_message", "opening_hours", "timezone", "last_call_minutes",
            "priority_join_enabled", "priority_join_text",
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
        self.fields["last_call_minutes"].required = False
        if self.instance.average_basket_cents:
            self.fields["average_basket_euros"].initial = (
                Decimal(self.instance.average_basket_cents) / 100).quantize(Decimal("0.01"))

    # Phone and zip code are checked by the model's validators (`_post_clean`), as the
    # services and the API check them; the form only writes the number as it is stored.
    def clean_phone(self) -> str:
        return normalized_phone(self.cleaned_data.get("phone", ""))

    # Left out (an older page, a script posting only a name): the business keeps its
    # value, Paris time and no last call for a new one.
    def clean_timezone(self) -> str:
        return self.cleaned_data.get("timezone") or self.instance.timezone

    def clean_last_call_minutes(self) -> int:
        value = self.cleaned_data.get("last_call_minutes")
        return self.instance.last_call_minutes if value is None else value

    def clean(self) -> dict:
        cleaned = super().clean()
        minutes = cleaned.get("average_service_minutes")
        cleaned["average_service_time"] = minutes * 60 if minutes else None
        basket = cleaned.get("average_basket_euros")
        cleaned["average_basket_cents"] = round(basket * 100) if basket else 0
        return cleaned

    def service_fields(self) -> dict:
        """The cleaned values in the shape `businesses.services` takes."""
        data = {name: self.cleaned_data[name] for name in self.Meta.fields
                if self.cleaned_data.get(name) is not None}
        data["opening_hours"] = self.cleaned_data.get("opening_hours") or {}
        data["average_basket_cents"] = self.cleaned_data["average_basket_cents"]
        # None asks the service for the usual time of the (possibly new) type.
        data["average_service_time"] = self.cleaned_data["average_service_time"]
        return data


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "phone", "daily_digest_enabled"]

    def clean_phone(self) -> str:
        return normalized_phone(self.cleaned_data.get("phone", ""))


class StaffMemberForm(forms.Form):
    """What a member may do: a role and the businesses it applies to."""

    role = forms.ChoiceField(label=_("Role"), choices=[
        (Role.AGENT, _("Agent — runs the live queue")),
        (Role.MANAGER, _("Manager — also settings, QR code and statistics")),
    ], initial=Role.AGENT)
    businesses = forms.ModelMultipleChoiceField(
        label=_("Businesses"), queryset=Business.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, account: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["businesses"].queryset = Business.objects.filter(owner=account).order_by(
            "name")


class StaffInviteForm(StaffMemberForm):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)

    field_order = ["email", "role", "businesses"]

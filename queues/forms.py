from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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

    def __init__(self, *args, business=None, **kwargs) -> None:
        """With several services, the customer picks one; where the business allows it,
        they may declare priority (the business's text says who has it)."""
        super().__init__(*args, **kwargs)
        if business is None:
            return
        from queues.services import active_services

        offered = active_services(business)
        if len(offered) > 1:
            self.fields["service"] = forms.ChoiceField(
                label=_("What do you come for?"), widget=forms.RadioSelect,
                choices=[(str(service.pk), service.name) for service in offered])
        if business.priority_join_enabled:
            self.fields["priority"] = forms.BooleanField(
                label=_("I have priority"), required=False,
                help_text=business.priority_join_text)
        self.order_fields(["service"])  # what they come for, first

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


class WalkInServiceForm(forms.Form):
    """The walk-in's service (when the business has several) and priority."""

    service = forms.UUIDField(required=False)
    priority = forms.BooleanField(label=_("Priority"), required=False)


class ServiceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    ticket_prefix = forms.CharField(
        label=_("Ticket prefix"), max_length=3,
        help_text=_("One to three capital letters, e.g. O or RC."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 3}))
    average_service_minutes = forms.IntegerField(
        label=_("Average service time (minutes)"), min_value=1, max_value=600, required=False,
        help_text=_("Empty: the business's average service time."))

    def service_fields(self) -> dict:
        minutes = self.cleaned_data.get("average_service_minutes")
        return {"name": self.cleaned_data["name"],
                "ticket_prefix": self.cleaned_data["ticket_prefix"].upper(),
                "average_service_time": minutes * 60 if minutes else None}


class CounterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=40)
    is_open = forms.BooleanField(label=pgettext_lazy("counter", "Open"), required=False,
                                 initial=True)
    services = forms.MultipleChoiceField(
        label=_("Serves"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every service."))

    def __init__(self, *args, service_choices=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["services"].choices = service_choices
        if len(service_choices) <= 1:  # a single service: nothing to choose
            del self.fields["services"]

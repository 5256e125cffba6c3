"""Staff's view of billing: accounts with their plan, state, failed payments and usage
records (the account admin gains billing columns), usage records, received events."""

from __future__ import annotations

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from billing import services
from billing.errors import BillingError
from billing.models import BillingAccount, StripeWebhookEvent, UsageRecord
from businesses.admin import UserAdmin
from businesses.models import Plan, User
from waitify.lib.money import euros

TRIAL_EXTENSION_DAYS = 14

if not settings.STRIPE_ENABLED:
    # Without Stripe keys dj-stripe's tables stay empty: its thirty-odd models would only
    # bury the platform's own under "Stripe" on the admin's index.
    for model in apps.get_app_config("djstripe").get_models():
        if admin.site.is_registered(model):
            admin.site.unregister(model)


class AccountActionForm(ActionForm):
    """The action bar of the accounts list, with the plan "Change the plan" puts them on."""

    plan = forms.ModelChoiceField(Plan.objects.filter(is_active=True), required=False,
                                  label=_("plan"), empty_label=_("(plan for “Change the plan”)"))


class UsageRecordInline(admin.TabularInline):
    model = UsageRecord
    fk_name = "account"
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-period"]
    fields = ["period", "plan", "sms_used", "sms_included", "sms_overage", "overage_cost_cents",
              "total_cents", "invoicing", "status", "due_date"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class BillingAccountInline(admin.StackedInline):
    model = BillingAccount
    extra = 0
    can_delete = False
    fields = ["stripe_customer_id", "stripe_subscription_id", "stripe_subscription_status",
              "failed_payment_count", "unpaid_invoice_id", "current_period_end", "synced_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class AccountBillingAdmin(UserAdmin):
    """The account admin, with what billing knows of each account."""

    list_display = [*UserAdmin.list_display[:5], "failed_payments", *UserAdmin.list_display[5:]]
    list_select_related = ["plan", "billing"]
    inlines = [*UserAdmin.inlines, BillingAccountInline, UsageRecordInline]
    action_form = AccountActionForm
    actions = [*UserAdmin.actions, "change_plan", "extend_trial"]

    @admin.display(description=_("failed payments"), ordering="billing__failed_payment_count")
    def failed_payments(self, user: User) -> int:
        billing = getattr(user, "billing", None)
        return billing.failed_payment_count if billing else 0

    @admin.action(description=_("Extend the trial by 14 days"))
    def extend_trial(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for account in queryset:
            services.trial_extend(account=account, days=TRIAL_EXTENSION_DAYS)
        self.message_user(request, ngettext(
            "Trial extended by %(days)s days for %(count)s account.",
            "Trial extended by %(days)s days for %(count)s accounts.",
            len(queryset)) % {"days": TRIAL_EXTENSION_DAYS, "count": len(queryset)},
            messages.SUCCESS)


    @admin.action(description=_("Change the plan (chosen beside the action)"))
    def change_plan(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        plan = AccountActionForm(request.POST).fields["plan"].clean(request.POST.get("plan"))
        if plan is None:
            self.message_user(request, _("Choose the plan beside the action first."),
                              messages.WARNING)
            return
        changed = 0
        for account in queryset:
            try:
                services.plan_assign(account=account, plan=plan)
            except BillingError as error:
                self.message_user(request, _("%(email)s: %(message)s") % {
                    "email": account.email, "message": error.message}, messages.ERROR)
            else:
                changed += 1
        if changed:
            self.message_user(request, ngettext(
                "%(count)s account moved to the %(plan)s plan.",
                "%(count)s accounts moved to the %(plan)s plan.",
                changed) % {"count": changed, "plan": plan}, messages.SUCCESS)


admin.site.unregister(User)
admin.site.register(User, AccountBillingAdmin)


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = ["account", "period", "plan", "active_businesses", "sms_used", "sms_included",
                    "sms_overage", "overage_cost", "total", "invoicing", "status", "due_date"]
    list_filter = ["invoicing", "status", "period", "plan"]
    list_select_related = ["account", "plan"]
    search_fields = ["account__email", "stripe_invoice_item_id", "stripe_invoice_id"]
    date_hierarchy = "period"
    readonly_fields = [field.name for field in UsageRecord._meta.fields]

    @admin.display(description=_("extra SMS cost"), ordering="overage_cost_cents")
    def overage_cost(self, record: UsageRecord) -> str:
        return euros(record.overage_cost_cents)

    @admin.display(description=_("total"), ordering="total_cents")
    def total(self, record: UsageRecord) -> str:
        return euros(record.total_cents)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(StripeWebhookEvent)
class StripeWebhookEventAdmin(admin.ModelAdmin):
    list_display = ["stripe_id", "type", "account", "object_id", "livemode", "processed_at"]
    list_filter = ["type", "livemode"]
    list_select_related = ["account"]
    search_fields = ["stripe_id", "object_id", "account__email"]
    readonly_fields = [field.name for field in StripeWebhookEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

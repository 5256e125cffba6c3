from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from businesses import services
from businesses.forms import OpeningHoursField
from businesses.models import (
    Business,
    LegalPage,
    Membership,
    Plan,
    PlatformSettings,
    StaffMember,
    User,
)
from businesses.validators import normalized_phone
from waitify.lib.errors import WaitifyError
from waitify.lib.money import euros

admin.site.site_header = _("Waitify administration")
admin.site.site_title = _("Waitify administration")
admin.site.index_title = _("Running the platform")


@admin.action(permissions=["delete"], description=_("Delete the selection"))
def delete_selection(modeladmin, request, queryset):
    return delete_selected(modeladmin, request, queryset)


# Django's "Supprimer les %(verbose_name_plural)s sélectionnés" cannot agree in gender
# with "formules" or "inscriptions": one wording that fits every list.
admin.site.add_action(delete_selection, "delete_selected")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """The merchants. Waitify's own staff have their list (StaffMemberAdmin)."""

    ordering = ["-created_at"]
    list_display = ["email", "full_name", "plan", "subscription_status", "trial_ends_at",
                    "active_businesses", "auth_provider", "is_active", "created_at"]
    list_filter = ["subscription_status", "plan", "auth_provider", "language", "is_active"]
    list_select_related = ["plan"]
    search_fields = ["email", "first_name", "last_name", "phone"]
    readonly_fields = ["created_at", "updated_at", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["first_name", "last_name", "phone", "profile_picture",
                                   "auth_provider", "language", "daily_digest_enabled"]}),
        (_("Subscription"), {"fields": ["plan", "subscription_status", "trial_ends_at"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                                       "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"],
                             "fields": ["email", "password1", "password2", "plan"]})]
    # Profile pictures come from Google / Facebook, always over HTTPS.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    actions = ["suspend", "reactivate"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_staff=False).annotate(
            _active_businesses=Count("businesses", filter=Q(businesses__is_active=True))
        )

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, user: User) -> str:
        return f"{user.first_name} {user.last_name}".strip()

    @admin.display(description=_("active businesses"), ordering="_active_businesses")
    def active_businesses(self, user: User) -> int:
        return user._active_businesses

    @admin.action(description=_("Suspend the selected accounts"))
    def suspend(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = sum(services.account_suspend(account=account) for account in queryset)
        self.message_user(request, ngettext(
            "%(count)s account suspended: it can no longer sign in and its queues take no one.",
            "%(count)s accounts suspended: they can no longer sign in and their queues take "
            "no one.", count) % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Reactivate the selected accounts"))
    def reactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = sum(services.account_reactivate(account=account) for account in queryset)
        self.message_user(request, ngettext(
            "%(count)s account reactivated.", "%(count)s accounts reactivated.",
            count) % {"count": count}, messages.SUCCESS)


@admin.register(StaffMember)
class StaffMemberAdmin(DjangoUserAdmin):
    """Waitify's own people: kept out of the merchants' list and its counts."""

    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_superuser", "is_active",
                    "last_login"]
    list_filter = ["is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["last_login", "created_at"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["first_name", "last_name", "language"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                                       "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "created_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_staff=True)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.is_staff = True
        super().save_model(request, obj, form, change)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["label", "name", "price", "max_businesses", "sms_quota_monthly",
                    "analytics_level", "api_access", "custom_branding", "is_active"]
    list_filter = ["is_active", "api_access", "analytics_level"]
    search_fields = ["name", "title"]

    @admin.display(description=_("plan"), ordering="name")
    def label(self, plan: Plan) -> str:
        return plan.label

    @admin.display(description=_("price per month"), ordering="price_cents")
    def price(self, plan: Plan) -> str:
        return euros(plan.price_cents)


class BusinessAdminForm(forms.ModelForm):
    # The merchant's own widget: staff edit hours as the shop sees them, not as JSON.
    opening_hours = OpeningHoursField()

    class Meta:
        model = Business
        # Every field, as the admin shows without a custom form; naming a list here
        # would make the admin show only those.
        fields = "__all__"  # noqa: DJ007

    def clean_phone(self) -> str:
        # Checked by the model's validator; stored as the services store it.
        return normalized_phone(self.cleaned_data.get("phone", ""))


@admin.register(Business)
class BusinessAdmin(admin.ModelAdmin):
    form = BusinessAdminForm
    list_display = ["name", "owner", "business_type", "city", "is_active", "is_queue_open",
                    "is_queue_paused", "max_queue_size", "sms_enabled", "created_at"]
    list_filter = ["is_active", "is_queue_open", "is_queue_paused", "business_type",
                   "sms_enabled"]
    list_select_related = ["owner"]
    search_fields = ["name", "city", "zip_code", "owner__email", "qr_token"]
    raw_id_fields = ["owner"]
    # The queue's switches belong to the queue engine (queues.services, under the queue
    # lock, with the version bump and the event); being active, to the services below.
    readonly_fields = ["qr_token", "is_active", "is_queue_open", "is_queue_paused",
                       "created_at", "updated_at"]
    date_hierarchy = "created_at"
    actions = ["deactivate", "activate"]

    def save_model(self, request: HttpRequest, business: Business, form, change: bool) -> None:
        if not change:
            super().save_model(request, business, form, change)
            return
        # Only what staff changed: a full save would write back the queue's switches as
        # the page read them, over an open or a pause made since by the merchant.
        business.save(update_fields=[*form.changed_data, "updated_at"])

    @admin.action(description=_("Deactivate the selected businesses (their queues close)"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Business]) -> None:
        self._run(request, queryset.filter(is_active=True), services.business_deactivate)

    @admin.action(description=_("Reactivate the selected businesses"))
    def activate(self, request: HttpRequest, queryset: QuerySet[Business]) -> None:
        self._run(request, queryset.filter(is_active=False), services.business_activate)

    def _run(self, request: HttpRequest, queryset: QuerySet[Business], service) -> None:
        done = 0
        for business in queryset.select_related("owner"):
            try:
                service(business=business)
                done += 1
            except WaitifyError as exc:
                self.message_user(request, f"{business.name}: {exc.message}", messages.ERROR)
        self.message_user(request, ngettext("%(count)s business changed.",
                                            "%(count)s businesses changed.", done)
                          % {"count": done}, messages.SUCCESS)


@admin.register(PlatformSettings)
class PlatformSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "sms_unit_cost", "trial_days", "default_max_queue_size",
                    "default_client_timeout_minutes", "updated_at"]

    @admin.display(description=_("extra SMS unit cost"))
    def sms_unit_cost(self, platform: PlatformSettings) -> str:
        return euros(platform.sms_unit_cost_cents)

    def has_add_permission(self, request) -> bool:
        return not PlatformSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LegalPage)
class LegalPageAdmin(admin.ModelAdmin):
    """The three legal pages exist from the first migration: staff edit them, never add or
    delete one (the footer links to each)."""

    list_display = ["__str__", "title_fr", "title_en", "updated_at"]
    readonly_fields = ["slug", "updated_at"]
    fields = ["slug", "title_fr", "body_fr", "title_en", "body_en", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Who works for which account, to answer support questions. Read-only: invitations
    and removals go through the owner's staff page (a removal signs the person out)."""

    list_display = ["email", "account", "role", "user", "accepted_at", "created_at"]
    list_filter = ["role"]
    search_fields = ["email", "account__email"]
    list_select_related = ["account", "user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

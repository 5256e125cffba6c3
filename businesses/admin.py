from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from businesses.models import Business, LegalPage, Plan, PlatformSettings, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-created_at"]
    list_display = ["email", "get_full_name", "plan", "subscription_status", "trial_ends_at",
                    "active_businesses", "auth_provider", "is_active", "created_at"]
    list_filter = ["subscription_status", "plan", "auth_provider", "language", "is_active",
                   "is_staff"]
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

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _active_businesses=Count("businesses", filter=Q(businesses__is_active=True))
        )

    @admin.display(description=_("active businesses"), ordering="_active_businesses")
    def active_businesses(self, user: User) -> int:
        return user._active_businesses


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "price_cents", "max_businesses", "sms_quota_monthly",
                    "analytics_level", "api_access", "custom_branding", "is_active"]
    list_filter = ["is_active", "api_access", "analytics_level"]
    search_fields = ["name", "title"]


@admin.register(Business)
class BusinessAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "business_type", "city", "is_active", "is_queue_open",
                    "is_queue_paused", "max_queue_size", "sms_enabled", "created_at"]
    list_filter = ["is_active", "is_queue_open", "is_queue_paused", "business_type",
                   "sms_enabled", "auto_advance_enabled"]
    list_select_related = ["owner"]
    search_fields = ["name", "city", "zip_code", "owner__email", "qr_token"]
    raw_id_fields = ["owner"]
    readonly_fields = ["qr_token", "created_at", "updated_at"]
    date_hierarchy = "created_at"


@admin.register(PlatformSettings)
class PlatformSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "sms_unit_cost_cents", "trial_days", "default_max_queue_size",
                    "default_client_timeout_minutes", "updated_at"]

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

from django.contrib import admin

from analytics.models import DailyStat, DigestDelivery


@admin.register(DailyStat)
class DailyStatAdmin(admin.ModelAdmin):
    """Written by the nightly job only: read-only here."""

    list_display = ("date", "business", "registered", "served", "missed", "cancelled",
                    "average_wait_minutes", "peak_queue_size", "abandonment_rate", "sms_sent")
    list_filter = ("date",)
    search_fields = ("business__name", "business__owner__email")
    date_hierarchy = "date"
    list_select_related = ("business",)
    readonly_fields = [field.name for field in DailyStat._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(admin.ModelAdmin):
    list_display = ("date", "user", "created_at")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    date_hierarchy = "date"

from django.contrib import admin

from queues.models import QueueEntry
from waitify.lib.phones import mask_phone


@admin.register(QueueEntry)
class QueueEntryAdmin(admin.ModelAdmin):
    list_display = ["ticket_label", "business", "masked_phone", "customer_name", "status",
                    "service_day", "created_at", "called_at", "served_at"]
    list_filter = ["status", "service_day"]
    list_select_related = ["business"]
    search_fields = ["business__name", "customer_name", "phone"]
    raw_id_fields = ["business"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in QueueEntry._meta.fields]

    @admin.display(description="phone")
    def masked_phone(self, entry: QueueEntry) -> str:
        return mask_phone(entry.phone)

    def has_add_permission(self, request) -> bool:
        return False

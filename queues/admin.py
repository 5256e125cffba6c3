from django.contrib import admin

from queues.models import QueueEntry
from waitify.lib.phones import InvalidPhone, mask_phone, normalize_phone


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

    def get_search_results(self, request, queryset, search_term):
        # Phones are stored as E.164: "06 12 34 56 78", as a customer says it on the
        # phone, must find "+33612345678" too.
        results, may_have_duplicates = super().get_search_results(request, queryset,
                                                                   search_term)
        try:
            phone = normalize_phone(search_term)
        except InvalidPhone:
            return results, may_have_duplicates
        return results | queryset.filter(phone=phone), may_have_duplicates

    def has_add_permission(self, request) -> bool:
        return False

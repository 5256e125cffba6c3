from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from queues import heartbeats
from queues.models import Heartbeat, QueueEntry, SmsLog, SmsOptOut, SmsQuotaAlert, SmsStatus
from waitify.lib.money import euros
from waitify.lib.phones import InvalidPhone, mask_phone, normalize_phone


class PhoneSearchMixin:
    """Phones are stored as E.164: "06 12 34 56 78" or "0612345678", as a customer says
    it on the phone, must find "+33612345678" too."""

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset,
                                                                   search_term)
        try:
            phone = normalize_phone(search_term)
        except InvalidPhone:
            return results, may_have_duplicates
        return results | queryset.filter(phone=phone), may_have_duplicates


@admin.register(QueueEntry)
class QueueEntryAdmin(PhoneSearchMixin, admin.ModelAdmin):
    list_display = ["ticket_label", "business", "masked_phone", "customer_name", "status",
                    "service_day", "created_at", "called_at", "served_at"]
    list_filter = ["status", "service_day"]
    list_select_related = ["business"]
    ordering = ["business__name", "sort_key"]
    search_fields = ["business__name", "customer_name", "phone"]
    raw_id_fields = ["business"]
    date_hierarchy = "created_at"
    # The number shows masked like everywhere else, and the status link's secret not at
    # all: whoever holds it can cancel the customer or let others pass.
    exclude = ["phone", "secret"]
    readonly_fields = ["masked_phone"] + [f.name for f in QueueEntry._meta.fields
                                          if f.name not in ("phone", "secret")]

    @admin.display(description=_("ticket"), ordering="ticket_number")
    def ticket_label(self, entry: QueueEntry) -> str:
        return entry.ticket_label

    @admin.display(description=_("phone"))
    def masked_phone(self, entry: QueueEntry) -> str:
        return mask_phone(entry.phone)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SmsLog)
class SmsLogAdmin(PhoneSearchMixin, admin.ModelAdmin):
    list_display = ["created_at", "business", "type", "status", "masked_phone", "segments",
                    "cost", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "type", "created_at"]
    list_select_related = ["business"]
    search_fields = ["business__name", "provider_message_id"]
    date_hierarchy = "created_at"
    # The number itself never shows here; staff see it masked like merchants do.
    exclude = ["phone"]
    readonly_fields = ["masked_phone"] + [f.name for f in SmsLog._meta.fields
                                          if f.name != "phone"]

    @admin.display(description=_("phone"))
    def masked_phone(self, log: SmsLog) -> str:
        return mask_phone(log.phone)

    def changelist_view(self, request, extra_context=None):
        # A send interrupted after the hand-off to the provider may or may not have
        # gone out: staff see how many, above the list (admin/queues/smslog/change_list.html).
        extra_context = {**(extra_context or {}),
                         "unknown_count": SmsLog.objects.filter(status=SmsStatus.UNKNOWN).count()}
        return super().changelist_view(request, extra_context)
    @admin.display(description=_("cost"), ordering="cost_cents")
    def cost(self, log: SmsLog) -> str:
        return euros(log.cost_cents)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SmsOptOut)
class SmsOptOutAdmin(PhoneSearchMixin, admin.ModelAdmin):
    list_display = ["masked_phone", "source", "created_at"]
    list_filter = ["source"]
    # Staff look a number up (as typed, see PhoneSearchMixin) or add one a customer
    # asked for by phone.
    search_fields = ["=phone"]
    fields = ["phone", "source"]

    @admin.display(description=_("phone"))
    def masked_phone(self, opt_out: SmsOptOut) -> str:
        return mask_phone(opt_out.phone)

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return ["phone", "source"] if obj else []


@admin.register(SmsQuotaAlert)
class SmsQuotaAlertAdmin(admin.ModelAdmin):
    list_display = ["user", "month", "threshold", "used", "quota", "created_at"]
    list_filter = ["threshold", "month"]
    search_fields = ["user__email"]
    readonly_fields = [f.name for f in SmsQuotaAlert._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    """Beat's sweep and each worker: when each was last seen, and which are late."""

    list_display = ["name", "kind", "seen_at", "on_time"]
    list_filter = ["kind"]
    readonly_fields = ["name", "kind", "seen_at"]

    @admin.display(description=_("on time"), boolean=True)
    def on_time(self, beat: Heartbeat) -> bool:
        return not heartbeats.is_late(beat)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

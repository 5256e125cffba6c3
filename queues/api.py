"""JSON API of the queue: the merchant's controls and the customer's public routes."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, UnsupportedMediaType
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from businesses.models import Business
from businesses.selectors import business_for
from queues import limits, selectors, services
from queues.models import Counter, QueueEntry, Service
from waitify.lib.api import MERCHANT_PERMISSIONS, ClientRateThrottle
from waitify.lib.phones import mask_phone

# --- Merchant -----------------------------------------------------------------------


def _business(request, business_id, permission: str = "queue") -> Business:
    return business_for(request.user, business_id, permission=permission)


def _entry(request, business_id, entry_id) -> QueueEntry:
    business = _business(request, business_id)
    return get_object_or_404(QueueEntry.objects.select_related("business__owner"),
                             pk=entry_id, business=business)


class NamedRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class EntrySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ticket = serializers.CharField(source="ticket_label")
    name = serializers.CharField(source="customer_name")
    phone = serializers.SerializerMethodField()
    status = serializers.CharField()
    joined_at = serializers.DateTimeField(source="created_at")
    called_at = serializers.DateTimeField()
    arrived_at = serializers.DateTimeField()
    service = NamedRefSerializer(help_text="The service the ticket is for.")
    priority = serializers.BooleanField()
    counter = NamedRefSerializer(allow_null=True,
                                 help_text="The counter that called the customer.")
    called_out_of_order = serializers.BooleanField()

    def get_phone(self, entry: QueueEntry) -> str:
        return mask_phone(entry.phone)


class JoinsSerializer(serializers.Serializer):
    """Whether customers can join now, and why not (the join page says the same)."""

    accepting = serializers.BooleanField()
    state = serializers.ChoiceField(choices=["open", "closed", "paused", "full", "inactive"])
    reason = serializers.ChoiceField(
        choices=["", "business_suspended", "queue_closed", "outside_opening_hours", "last_call",
                 "queue_paused", "queue_full"])
    message = serializers.CharField()
    reopens_at = serializers.DateTimeField(allow_null=True,
                                           help_text="When the opening hours allow joins again.")
    closes_at = serializers.DateTimeField(allow_null=True,
                                          help_text="End of the current opening range.")
    last_call_at = serializers.DateTimeField(allow_null=True)


class QueueView(APIView):
    permission_classes = MERCHANT_PERMISSIONS

    @extend_schema(responses=inline_serializer("QueueState", {
        "is_queue_active": serializers.BooleanField(),
        "is_queue_paused": serializers.BooleanField(),
        "current_queue_size": serializers.IntegerField(),
        "average_wait_time": serializers.IntegerField(allow_null=True),
        "today_served": serializers.IntegerField(),
        "joins": JoinsSerializer(),
        "called": EntrySerializer(many=True),
        "entries": EntrySerializer(many=True),
    }))
    def get(self, request, business_id):
        return Response(queue_payload(selectors.live_queue(_business(request, business_id))))


def queue_payload(live: selectors.LiveQueue) -> dict:
    entries = []
    for position, entry, estimate in live.rows():
        row = EntrySerializer(entry).data
        row.update(position=position, estimated_wait_time=estimate.minutes)
        entries.append(row)
    return {
        "is_queue_active": live.business.is_queue_open,
        "is_queue_paused": live.business.is_queue_paused,
        "current_queue_size": len(live.waiting),
        "average_wait_time": live.average_wait_minutes,
        "today_served": live.served_today,
        "joins": services.join_availability(live.business, len(live.waiting)).as_dict(),
        "called": EntrySerializer(live.called, many=True).data,
        "entries": entries,
    }


class QueueActionView(APIView):
    permission_classes = MERCHANT_PERMISSIONS
    action_name = ""

    @extend_schema(request=None, responses={200: inline_serializer("QueueFlags", {
        "is_queue_active": serializers.BooleanField(),
        "is_queue_paused": serializers.BooleanField(),
    })})
    def post(self, request, business_id):
        switch = services.QUEUE_SWITCHES[self.action_name]
        business = switch(business=_business(request, business_id))
        return Response({"is_queue_active": business.is_queue_open,
                         "is_queue_paused": business.is_queue_paused})


class CallAtSerializer(serializers.Serializer):
    counter = serializers.UUIDField(
        required=False, allow_null=True, default=None,
        help_text="The counter calling. Optional while the business has one open counter "
                  "(or one counter); with several, leaving it out is refused "
                  "(400 `counter_required`). Calling at a closed counter opens it.")


def _counter_of(request) -> str | None:
    try:
        body = request.data
    except UnsupportedMediaType:  # a bare POST (no JSON body): no counter given
        body = {}
    data = CallAtSerializer(data=body)
    data.is_valid(raise_exception=True)
    counter = data.validated_data["counter"]
    return str(counter) if counter else None


class CallNextView(APIView):
    permission_classes = MERCHANT_PERMISSIONS

    @extend_schema(request=CallAtSerializer, responses={200: EntrySerializer}, description=(
        "Calls the next eligible customer at the counter: among the services it serves, "
        "priority customers first, then the longest waiting."))
    def post(self, request, business_id):
        entry = services.queue_call_next(business=_business(request, business_id),
                                         counter=_counter_of(request), by=request.user)
        return Response(EntrySerializer(entry).data)


class EntryCallView(APIView):
    permission_classes = MERCHANT_PERMISSIONS

    @extend_schema(request=CallAtSerializer, responses={200: EntrySerializer}, description=(
        "Calls this waiting customer now, out of order (recorded as such unless they were "
        "next at that counter)."))
    def post(self, request, business_id, entry_id):
        entry = services.entry_call(entry=_entry(request, business_id, entry_id),
                                    counter=_counter_of(request), by=request.user)
        return Response(EntrySerializer(entry).data)


class PrioritySerializer(serializers.Serializer):
    priority = serializers.BooleanField()


class EntryPriorityView(APIView):
    permission_classes = MERCHANT_PERMISSIONS

    @extend_schema(request=PrioritySerializer, responses={200: EntrySerializer}, description=(
        "A priority customer goes ahead of every non-priority customer of the same service, "
        "behind earlier priority ones."))
    def post(self, request, business_id, entry_id):
        entry = _entry(request, business_id, entry_id)
        data = PrioritySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.entry_set_priority(entry=entry, priority=data.validated_data["priority"],
                                            by=request.user)
        return Response(EntrySerializer(entry).data)


class TransferSerializer(serializers.Serializer):
    service = serializers.UUIDField(help_text="One of the business's services.")


class EntryTransferView(APIView):
    permission_classes = MERCHANT_PERMISSIONS

    @extend_schema(request=TransferSerializer, responses={200: EntrySerializer}, description=(
        "Moves a waiting customer to another service; they keep their ticket and their "
        "place by arrival time."))
    def post(self, request, business_id, entry_id):
        entry = _entry(request, business_id, entry_id)
        data = TransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.entry_transfer(entry=entry, service=str(data.validated_data["service"]))
        return Response(EntrySerializer(entry).data)


# --- Counters and services (set-up) ------------------------------------------------------


class ServiceSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(max_length=60)
    ticket_prefix = serializers.CharField(max_length=3,
                                          help_text="1 to 3 capital letters, unique per "
                                                    "business (O → tickets O-001, O-002…).")
    average_service_time = serializers.IntegerField(
        min_value=10, required=False, allow_null=True, default=None,
        help_text="Seconds; null: the business's average service time.")
    position = serializers.IntegerField(min_value=0, max_value=1000, required=False)


class CounterSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(max_length=40)
    is_open = serializers.BooleanField(required=False, default=True)
    services = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list,
        help_text="Ids of the services this counter serves; empty: all of them.")
    position = serializers.IntegerField(min_value=0, max_value=1000, required=False)

    def to_representation(self, counter: Counter) -> dict:
        return {"id": str(counter.pk), "name": counter.name, "is_open": counter.is_open,
                "services": [str(pk) for pk in counter.services.values_list("pk", flat=True)],
                "position": counter.position}


def _setup_data(serializer_class, request, partial: bool = False) -> dict:
    data = serializer_class(data=request.data, partial=partial)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


class ServiceListView(APIView):
    permission_classes = MERCHANT_PERMISSIONS

    @extend_schema(responses={200: ServiceSerializer(many=True)})
    def get(self, request, business_id):
        business = _business(request, business_id)
        return Response(ServiceSerializer(services.active_services(business), many=True).data)

    @extend_schema(request=ServiceSerializer, responses={201: ServiceSerializer})
    def post(self, request, business_id):
        business = _business(request, business_id, "settings")
        service = services.service_create(business=business,
                                          **_setup_data(ServiceSerializer, request))
        return Response(ServiceSerializer(service).data, status=status.HTTP_201_CREATED)


class ServiceDetailView(APIView):
    permission_classes = MERCHANT_PERMISSIONS

    def _service(self, request, business_id, service_id) -> Service:
        return get_object_or_404(Service, pk=service_id, is_active=True,
                                 business=_business(request, business_id, "settings"))

    @extend_schema(request=ServiceSerializer, responses={200: ServiceSerializer})
    def put(self, request, business_id, service_id):
        service = self._service(request, business_id, service_id)
        changes = _setup_data(ServiceSerializer, request, partial=True)
        return Response(ServiceSerializer(services.service_update(service=service,
                                                                  **changes)).data)

    @extend_schema(request=None, responses={204: None}, description=(
        "Removes the service (retired when it already issued tickets). Refused for the "
        "last service and while customers wait for it."))
    def delete(self, request, business_id, service_id):
        services.service_delete(service=self._service(request, business_id, service_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CounterListView(APIView):
    permission_classes = MERCHANT_PERMISSIONS

    @extend_schema(responses={200: CounterSerializer(many=True)})
    def get(self, request, business_id):
        business = _business(request, business_id)
        counters = business.counters.order_by("position", "created_at")
        return Response(CounterSerializer(counters, many=True).data)

    @extend_schema(request=CounterSerializer, responses={201: CounterSerializer}, description=(
        "Refused with 403 `counter_limit_reached` (and the upgrade path) beyond the plan's "
        "counters per business."))
    def post(self, request, business_id):
        business = _business(request, business_id, "settings")
        data = _setup_data(CounterSerializer, request)
        data["services"] = [str(pk) for pk in data["services"]]
        counter = services.counter_create(business=business, **data)
        return Response(CounterSerializer(counter).data, status=status.HTTP_201_CREATED)


class CounterDetailView(APIView):
    permission_classes = MERCHANT_PERMISSIONS

    def _counter(self, request, business_id, counter_id) -> Counter:
        return get_object_or_404(Counter, pk=counter_id,
                                 business=_business(request, business_id, "settings"))

    @extend_schema(request=CounterSerializer, responses={200: CounterSerializer})
    def put(self, request, business_id, counter_id):
        counter = self._counter(request, business_id, counter_id)
        changes = _setup_data(CounterSerializer, request, partial=True)
        chosen = changes.pop("services", None)  # absent: unchanged
        if chosen is not None:
            chosen = [str(pk) for pk in chosen]
        counter = services.counter_update(counter=counter, services=chosen, **changes)
        return Response(CounterSerializer(counter).data)

    @extend_schema(request=None, responses={204: None}, description=(
        "Refused for the last counter and while a customer is called there."))
    def delete(self, request, business_id, counter_id):
        services.counter_delete(counter=self._counter(request, business_id, counter_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EntryActionView(APIView):
    permission_classes = MERCHANT_PERMISSIONS
    action_name = ""

    @extend_schema(request=None, responses={200: EntrySerializer})
    def put(self, request, business_id, entry_id):
        entry = services.ENTRY_MOVES[self.action_name](
            entry=_entry(request, business_id, entry_id), by=request.user)
        return Response(EntrySerializer(entry).data)

    post = put


class WalkInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    service = serializers.UUIDField(required=False, allow_null=True, default=None,
                                    help_text="Omitted: the business's first service.")
    priority = serializers.BooleanField(required=False, default=False)


class WalkInView(APIView):
    permission_classes = MERCHANT_PERMISSIONS

    @extend_schema(request=WalkInSerializer, responses={201: EntrySerializer})
    def post(self, request, business_id):
        business = _business(request, business_id)
        data = WalkInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service = data.validated_data["service"]
        entry = services.entry_join(business=business, phone="", walk_in=True,
                                    name=data.validated_data["name"],
                                    service=str(service) if service else None,
                                    priority=data.validated_data["priority"])
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


# --- Customer (public) ------------------------------------------------------------------


class PublicThrottle(ClientRateThrottle):
    scope = "public"


class JoinSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    sms = serializers.BooleanField(
        required=False, default=True,
        help_text="false: no SMS, the customer follows the status (any valid number).")
    service = serializers.UUIDField(
        required=False, allow_null=True, default=None,
        help_text="One of the business's services (omitted: its first one).")
    priority = serializers.BooleanField(
        required=False, default=False,
        help_text="The customer declares priority; refused (400 `priority_not_allowed`) "
                  "unless the business allows it.")


class ResendLinkSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=32)


class CustomerStatusSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    status = serializers.CharField()
    position = serializers.IntegerField(allow_null=True)
    people_ahead = serializers.IntegerField(allow_null=True)
    estimated_wait = serializers.IntegerField(allow_null=True, help_text="minutes")
    estimated_wait_range = serializers.ListField(child=serializers.IntegerField(),
                                                 allow_null=True)
    called_at = serializers.DateTimeField(allow_null=True)
    come_before = serializers.DateTimeField(allow_null=True)
    snoozes_left = serializers.IntegerField()
    sms = serializers.BooleanField(help_text="false: page-only, no SMS is sent.")
    can_rejoin = serializers.BooleanField()
    business = inline_serializer("PublicBusiness", {"name": serializers.CharField(),
                                                    "queue_state": serializers.CharField()})
    service = NamedRefSerializer(help_text="`position` is the place in this service's line.")
    priority = serializers.BooleanField()
    counter = NamedRefSerializer(allow_null=True, help_text="Where to go, once called.")


class PublicView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicThrottle]


def status_body(request, found: selectors.CustomerStatus) -> dict:
    secret = found.entry.secret
    body = found.as_dict()
    body["secret"] = secret
    body["status_url"] = request.build_absolute_uri(reverse("queues:status", args=[secret]))
    return body


class PublicJoinView(PublicView):
    @extend_schema(request=JoinSerializer, responses={201: CustomerStatusSerializer})
    def post(self, request, qr_token):
        business = get_object_or_404(Business.objects.with_qr_token(qr_token))
        data = JoinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        limits.join_rate_limit(request=request, phone=data.validated_data["phone"])
        entry = services.entry_join(business=business, phone=data.validated_data["phone"],
                                    name=data.validated_data["name"],
                                    language=get_language() or "fr",
                                    sms=data.validated_data["sms"],
                                    service=(str(data.validated_data["service"])
                                             if data.validated_data["service"] else None),
                                    priority=data.validated_data["priority"])
        return Response(status_body(request, selectors.joined_status(entry)),
                        status=status.HTTP_201_CREATED)


class PublicResendLinkView(PublicView):
    """Text the status link again to a number with a place in this queue. The answer
    is the same whatever the number, so it tells nobody who is waiting."""

    @extend_schema(request=ResendLinkSerializer, responses={202: inline_serializer(
        "LinkResent", {"message": serializers.CharField()})})
    def post(self, request, qr_token):
        business = get_object_or_404(Business.objects.with_qr_token(qr_token))
        data = ResendLinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        limits.resend_link_rate_limit(request=request, phone=data.validated_data["phone"])
        services.entry_resend_link(business=business, phone=data.validated_data["phone"])
        return Response({"message": str(services.LINK_RESENT_ANSWER)},
                        status=status.HTTP_202_ACCEPTED)


def _customer_status_or_404(secret: str) -> selectors.CustomerStatus:
    found = selectors.customer_status(secret)
    if found is None:
        raise NotFound(_("This ticket does not exist."))  # the API's own 404, not a domain code
    return found


class PublicStatusView(PublicView):
    @extend_schema(responses={200: CustomerStatusSerializer})
    def get(self, request, secret):
        return Response(status_body(request, _customer_status_or_404(secret)))


class PublicCancelView(PublicView):
    @extend_schema(request=None, responses={200: CustomerStatusSerializer})
    def post(self, request, secret):
        services.entry_cancel(entry=_customer_status_or_404(secret).entry)
        return Response(status_body(request, selectors.customer_status(secret)))


business_queue = "businesses/<uuid:business_id>/queue"
urlpatterns = [
    path(business_queue, QueueView.as_view(), name="api-queue"),
    *[path(f"{business_queue}/{name}", QueueActionView.as_view(action_name=name),
           name=f"api-queue-{name}") for name in services.QUEUE_SWITCHES],
    path(f"{business_queue}/next", CallNextView.as_view(), name="api-queue-next"),
    path(f"{business_queue}/walk-in", WalkInView.as_view(), name="api-queue-walk-in"),
    *[path(f"{business_queue}/clients/<uuid:entry_id>/{name}",
           EntryActionView.as_view(action_name=name), name=f"api-entry-{name}")
      for name in services.ENTRY_MOVES],
    path(f"{business_queue}/clients/<uuid:entry_id>/call", EntryCallView.as_view(),
         name="api-entry-call"),
    path(f"{business_queue}/clients/<uuid:entry_id>/priority", EntryPriorityView.as_view(),
         name="api-entry-priority"),
    path(f"{business_queue}/clients/<uuid:entry_id>/transfer", EntryTransferView.as_view(),
         name="api-entry-transfer"),
    path("businesses/<uuid:business_id>/counters", CounterListView.as_view(),
         name="api-counters"),
    path("businesses/<uuid:business_id>/counters/<uuid:counter_id>",
         CounterDetailView.as_view(), name="api-counter"),
    path("businesses/<uuid:business_id>/services", ServiceListView.as_view(),
         name="api-services"),
    path("businesses/<uuid:business_id>/services/<uuid:service_id>",
         ServiceDetailView.as_view(), name="api-service"),
    path("public/<str:qr_token>/join", PublicJoinView.as_view(), name="api-public-join"),
    path("public/<str:qr_token>/resend-link", PublicResendLinkView.as_view(),
         name="api-public-resend-link"),
    path("public/entries/<str:secret>", PublicStatusView.as_view(), name="api-public-status"),
    path("public/entries/<str:secret>/cancel", PublicCancelView.as_view(),
         name="api-public-cancel"),
]

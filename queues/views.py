from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRefresh

from businesses import qr
from businesses.models import Business
from businesses.selectors import business_for, businesses_for, membership_of
from businesses.services import account_summary
from queues import device_tickets, limits, selectors, services
from queues.forms import (
    CounterForm,
    JoinForm,
    ResendLinkForm,
    ServiceForm,
    WalkInForm,
    WalkInServiceForm,
)
from queues.models import Counter, EntryStatus, QueueEntry, QueueState, Service
from queues.services import QueueError
from queues.sms.outbox import sms_capped_recently
from queues.sms.usage import sms_usage
from waitify.lib.errors import ErrorCode
from waitify.lib.queries import one_or_none
from waitify.lib.tokens import looks_like_token


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("queues:overview")
    return render(request, "queues/home.html")


@login_required
@require_safe
def overview(request: HttpRequest) -> HttpResponse:
    businesses = (
        businesses_for(request.user, permission="queue",
                       queryset=Business.objects.select_related("owner")).with_queue_counts()
        .annotate(sms_capped=sms_capped_recently())
        .order_by("-is_active", "name")
    )
    membership = membership_of(request.user)  # a member sees the account's SMS
    usage = sms_usage(membership.account if membership else request.user)
    for business in businesses:
        business.sms_this_month = usage.used_by(business.pk)
    return render(request, "queues/overview.html", {
        "businesses": businesses, "summary": account_summary(user=request.user),
        "sms_usage": usage,
    })


# --- Customer ---------------------------------------------------------------------------


def _seen_version(request: HttpRequest) -> str:
    """The version an htmx poll says it shows ("" when not a poll). Only the number after
    ":" counts: which queue it belongs to comes from the link, never from the query string."""
    if not request.htmx:
        return ""
    return request.GET.get("v", "").rpartition(":")[2]


def _unchanged(request: HttpRequest, business_id) -> bool:
    """A poll that already shows the latest version of `business_id`'s queue is answered
    from the cache alone, without touching the database."""
    seen = _seen_version(request)
    current = services.queue_version(business_id) if seen else None
    return current is not None and str(current) == seen


@require_http_methods(["GET", "HEAD", "POST"])
def join_page(request: HttpRequest, token: str) -> HttpResponse:
    business = one_or_none(Business.objects.select_related("owner", "queue_state_row")
                           .with_qr_token(token))
    if business is None:
        return render(request, "queues/join_invalid.html", status=404)
    form = JoinForm(request.POST or None, business=business)
    error = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            limits.join_rate_limit(request=request, phone=data["phone"])
            entry = services.entry_join(business=business, phone=data["phone"],
                                        name=data["name"], language=get_language() or "fr",
                                        sms=not data["no_sms"], service=data.get("service"),
                                        priority=data.get("priority", False))
        except QueueError as exc:
            error = exc
            if exc.code == ErrorCode.INVALID_PHONE:
                form.add_error("phone", exc.message)
        else:
            response = redirect("queues:status", secret=entry.secret)
            device_tickets.remember_ticket(request, response, entry.secret)
            return response
    return render(request, "queues/join.html", {
        "business": business, "form": form, "error": error,
        "summary": selectors.join_summary(business),
        "device_ticket": selectors.device_ticket(business,
                                                 device_tickets.device_secrets(request)),
        "resend_form": ResendLinkForm(auto_id="resend_%s"),  # ids apart from the join form
    }, status=error.status if error else 200)


@require_safe
def join_state(request: HttpRequest, token: str) -> HttpResponse:
    """The join page's state, polled while joins are refused: the whole page reloads
    (and the polling stops) once the state differs from the one the page shows."""
    business = one_or_none(Business.objects.select_related("owner", "queue_state_row")
                           .with_qr_token(token))
    if business is None:
        return render(request, "queues/join_invalid.html", status=404)
    summary = selectors.join_summary(business)
    if summary.reason != request.GET.get("shows", ""):
        return HttpResponseClientRefresh()
    return render(request, "queues/partials/join_state.html",
                  {"business": business, "summary": summary})


@require_POST
def resend_link(request: HttpRequest, token: str) -> HttpResponse:
    """"Text me my link again": the same answer whatever the number (no oracle)."""
    business = one_or_none(Business.objects.with_qr_token(token))
    if business is None:
        return render(request, "queues/join_invalid.html", status=404)
    form = ResendLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the mobile number you joined with."))
        return redirect("queues:join", token=business.qr_token)
    try:
        limits.resend_link_rate_limit(request=request, phone=form.cleaned_data["phone"])
    except QueueError as error:
        messages.error(request, error.message)
    else:
        services.entry_resend_link(business=business, phone=form.cleaned_data["phone"])
        messages.success(request, services.LINK_RESENT_ANSWER)
    return redirect("queues:join", token=business.qr_token)


@require_safe
def entry_status(request: HttpRequest, secret: str) -> HttpResponse:
    seen = _seen_version(request)
    # The business of a link already opened is remembered in the cache, so an unchanged
    # poll costs no query; a made-up link is not there and goes to the database (404).
    business_id = services.link_business_id("entry", secret) if seen else None
    cached = services.polled_version(business_id, seen) if business_id else None
    if cached is not None and cached == seen:
        return HttpResponse(status=204)
    found = selectors.customer_status(secret)
    if found is None:
        return render(request, "queues/status_missing.html", status=404)
    if business_id is None:
        services.remember_link_business("entry", secret, found.business.pk)
    # Only a poll that found no version in the cache (lost: Redis restarted) primes it;
    # every queue change sets it, and the page's first load has nothing to compare.
    waiting = found.entry.status == EntryStatus.WAITING
    context = {"status": found,
               "version": services.version_stamp(found.state, prime=bool(seen) and cached is None,
                                                 waiting=waiting)}
    template = ("queues/partials/status_card.html" if request.htmx
                else "queues/status.html")
    return render(request, template, context)


def _customer_action(request: HttpRequest, secret: str, action) -> HttpResponse:
    entry = get_object_or_404(QueueEntry.objects.with_secret(secret))
    try:
        result = action(entry=entry)
    except QueueError as error:
        messages.error(request, error.message)
        result = entry
    return redirect("queues:status", secret=result.secret)


@require_POST
def entry_cancel(request: HttpRequest, secret: str) -> HttpResponse:
    return _customer_action(request, secret, services.entry_cancel)


@require_POST
def entry_snooze(request: HttpRequest, secret: str) -> HttpResponse:
    entry = get_object_or_404(QueueEntry.objects.with_secret(secret))
    try:
        entry = services.entry_snooze(entry=entry)
    except QueueError as error:
        # Last in line is not a failure: the place is simply kept.
        tell = messages.info if error.code == ErrorCode.NOBODY_BEHIND else messages.error
        tell(request, error.message)
    else:
        ahead = services.entry_position(entry) - 1
        messages.success(request, ngettext(
            "Done: you let one person pass. %(ahead)d person is ahead of you now.",
            "Done: you let one person pass. %(ahead)d people are ahead of you now.",
            ahead) % {"ahead": ahead})
    return redirect("queues:status", secret=entry.secret)


@require_POST
def entry_rejoin(request: HttpRequest, secret: str) -> HttpResponse:
    missed = get_object_or_404(QueueEntry.objects.with_secret(secret))
    try:
        entry = services.entry_rejoin(entry=missed)
    except QueueError as error:
        messages.error(request, error.message)
        return redirect("queues:status", secret=missed.secret)
    # Ticket numbers are unique per day, so the place comes back under a new number:
    # say so, the shop's screen will call the new one.
    messages.success(request, _(
        "You are back in line, second. Your ticket number has changed: %(new)s "
        "(instead of %(old)s).") % {"new": entry.ticket_label, "old": missed.ticket_label})
    response = redirect("queues:status", secret=entry.secret)
    device_tickets.remember_ticket(request, response, entry.secret)
    return response


# --- Merchant live queue ---------------------------------------------------------------------


COUNTER_COOKIE = "waitify_counter_{}"
COUNTER_COOKIE_AGE = 400 * 24 * 3600


@login_required
@require_safe
def live_queue(request: HttpRequest, business_id) -> HttpResponse:
    # The screen polls every few seconds and mostly hears "unchanged": its permission check
    # fetches the business alone, and the owner and plan come along only for a new panel.
    business = business_for(request.user, business_id, permission="queue",
                            queryset=Business.objects.only("pk", "owner_id"))
    picked = request.GET.get("counter", "")
    if not picked and _unchanged(request, business.pk):
        return HttpResponse(status=204)
    business = Business.objects.select_related("owner__plan").get(pk=business.pk)
    template = "queues/partials/live_panel.html" if request.htmx else "queues/live.html"
    response = render(request, template, _live_context(business, request))
    if picked and looks_like_uuid(picked):
        # The counter this screen calls from is remembered on this device.
        response.set_cookie(COUNTER_COOKIE.format(business.pk), picked,
                            max_age=COUNTER_COOKIE_AGE, samesite="Lax", httponly=True,
                            secure=request.is_secure())
    return response


def looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _screen_counter(request: HttpRequest | None, live: selectors.LiveQueue):
    """The counter this device calls from: picked now, else remembered, else the first."""
    if not live.counters:
        return None
    wanted = ""
    if request is not None:
        wanted = (request.GET.get("counter") or request.POST.get("counter")
                  or request.COOKIES.get(COUNTER_COOKIE.format(live.business.pk), ""))
    by_id = {str(counter.pk): counter for counter in live.counters}
    return by_id.get(wanted, live.counters[0])


def _live_context(business: Business, request: HttpRequest | None = None) -> dict:
    live = selectors.live_queue(business)
    counter = _screen_counter(request, live)
    mine = live.called_at(counter) if counter else None
    # This counter's customers first, then the other counters' calls.
    called = sorted(live.called, key=lambda entry: entry.counter_id != getattr(counter, "pk",
                                                                                None))
    return {"live": live, "business": business, "version": services.version_stamp(live.state),
            "walk_in_form": WalkInForm(), "counter": counter, "my_called": mine,
            "called": called}


# The live screen's "call next" is one more queue button; the API answers it with the entry.
QUEUE_ACTIONS = {**services.QUEUE_SWITCHES, "next": services.queue_call_next}


def _after_merchant_action(request: HttpRequest, business: Business, *,
                           undo: QueueEntry | None = None) -> HttpResponse:
    """The refreshed panel (htmx) or the live page; `undo`: the entry just removed or
    marked missed, offered back for a few seconds."""
    if request.htmx:
        context = _live_context(business, request) | {"undo": undo,
                                                      "undo_seconds": UNDO_SECONDS}
        return render(request, "queues/partials/live_action_result.html", context)
    return redirect("queues:live", business_id=business.pk)


# The offer leaves the screen a little before the engine's window closes, so that a
# click on it is not refused for a second of network delay.
UNDO_SECONDS = int(services.UNDO_WINDOW.total_seconds()) - 5


@login_required
@require_POST
def queue_action(request: HttpRequest, business_id, action: str) -> HttpResponse:
    business = business_for(request.user, business_id, permission="queue")
    if action not in QUEUE_ACTIONS:
        return HttpResponse(status=404)
    try:
        if action == "next":
            services.queue_call_next(business=business,
                                     counter=request.POST.get("counter") or None,
                                     by=request.user)
        else:
            QUEUE_ACTIONS[action](business=business)
    except QueueError as error:
        messages.error(request, error.message)
    business.refresh_from_db()
    return _after_merchant_action(request, business)


# The live screen can also take back its last "remove" or "missed" for a moment, call a
# customer out of order, give or take back priority, and move a customer to a service.
def _as_user(move):
    """An engine move of the live screen, recorded as done by the signed-in user."""
    return lambda request, entry: move(entry=entry, by=request.user)


ENTRY_ACTIONS = {
    **{name: _as_user(move) for name, move in services.ENTRY_MOVES.items()},
    "undo": lambda request, entry: services.entry_undo(entry=entry),
    "call": lambda request, entry: services.entry_call(
        entry=entry, counter=request.POST.get("counter") or None, by=request.user),
    "priority": lambda request, entry: services.entry_set_priority(
        entry=entry, priority=request.POST.get("priority") == "1", by=request.user),
    "transfer": lambda request, entry: services.entry_transfer(
        entry=entry, service=request.POST.get("service", "")),
}
UNDOABLE_ACTIONS = ("cancel", "miss")


@login_required
@require_POST
def entry_action(request: HttpRequest, business_id, entry_id, action: str) -> HttpResponse:
    business = business_for(request.user, business_id, permission="queue")
    entry = get_object_or_404(QueueEntry, pk=entry_id, business=business)
    if action not in ENTRY_ACTIONS:
        return HttpResponse(status=404)
    try:
        entry = ENTRY_ACTIONS[action](request, entry)
    except QueueError as error:
        messages.error(request, error.message)
        entry = None
    undo = entry if action in UNDOABLE_ACTIONS and entry is not None else None
    return _after_merchant_action(request, business, undo=undo)


@login_required
@require_POST
def walk_in(request: HttpRequest, business_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="queue")
    form = WalkInForm(request.POST)
    extra = WalkInServiceForm(request.POST)
    entry = None
    if form.is_valid() and extra.is_valid():
        try:
            entry = services.entry_join(business=business, phone="", walk_in=True,
                                        name=form.cleaned_data["name"],
                                        service=extra.cleaned_data["service"],
                                        priority=extra.cleaned_data["priority"])
        except QueueError as error:
            messages.error(request, error.message)
    elif not extra.is_valid():
        messages.error(request, _("Choose one of the services offered."))
    if request.htmx:
        # The walk-in box is answered too (out of band): emptied, with the ticket given.
        minutes = round(entry.estimated_wait_seconds / 60) if entry else 0
        return render(request, "queues/partials/live_action_result.html",
                      _live_context(business, request) | {"walk_in_result": True,
                                                 "walk_in_entry": entry,
                                                 "walk_in_minutes": minutes})
    if entry is not None:
        messages.success(request, _walk_in_given(entry))
    return redirect("queues:live", business_id=business.pk)


def _walk_in_given(entry: QueueEntry) -> str:
    minutes = round(entry.estimated_wait_seconds / 60)
    return ngettext("Ticket %(ticket)s given: position %(position)s, estimated wait about "
                    "%(minutes)s minute.",
                    "Ticket %(ticket)s given: position %(position)s, estimated wait about "
                    "%(minutes)s minutes.", minutes) % {
        "ticket": entry.ticket_label, "position": entry.position, "minutes": minutes}


@login_required
@require_safe
def entry_ticket(request: HttpRequest, business_id, entry_id) -> HttpResponse:
    """A printable ticket (receipt printer 58 or 80 mm, or A6) for a customer without a
    phone; its QR code opens the ticket's status page on any phone."""
    business = business_for(request.user, business_id, permission="queue")
    entry = get_object_or_404(QueueEntry, pk=entry_id, business=business)
    paper = request.GET.get("paper", "80")
    status_url = settings.SITE_URL + reverse("queues:status", args=[entry.secret])
    return render(request, "queues/ticket.html", {
        "business": business, "entry": entry, "position": services.entry_position(entry),
        "paper": paper if paper in TICKET_PAPERS else "80", "papers": TICKET_PAPERS,
        "qr_svg": qr.qr_svg_inline(status_url),
    })


TICKET_PAPERS = ("58", "80", "a6")


@login_required
@require_POST
def counter_switch(request: HttpRequest, business_id, counter_id) -> HttpResponse:
    """The live screen opens or closes its own counter."""
    business = business_for(request.user, business_id, permission="queue")
    counter = get_object_or_404(Counter, pk=counter_id, business=business)
    services.counter_update(counter=counter, is_open=request.POST.get("is_open") == "1")
    return _after_merchant_action(request, business)


# --- Counters and services (settings) --------------------------------------------------------


@login_required
@require_safe
def setup(request: HttpRequest, business_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="settings")
    return _setup_page(request, business)


def _setup_page(request: HttpRequest, business: Business, *, service_form=None,
                counter_form=None) -> HttpResponse:
    active = services.active_services(business)
    choices = [(str(service.pk), str(service)) for service in active]
    counters = list(business.counters.prefetch_related("services")
                    .order_by("position", "created_at"))
    plan = business.owner.plan
    return render(request, "queues/setup.html", {
        "business": business, "services": active, "counters": counters,
        "service_form": service_form or ServiceForm(),
        "counter_form": counter_form or CounterForm(service_choices=choices),
        "service_choices": choices,
        "counter_room": plan is None or plan.allows_counters(len(counters) + 1),
        "max_counters": plan.max_counters if plan else None,
    })


@login_required
@require_POST
def service_save(request: HttpRequest, business_id, service_id=None) -> HttpResponse:
    business = business_for(request.user, business_id, permission="settings")
    service = (get_object_or_404(Service, pk=service_id, business=business, is_active=True)
               if service_id else None)
    form = ServiceForm(request.POST)
    if not form.is_valid():
        return _setup_page(request, business, service_form=form)
    try:
        if service is None:
            services.service_create(business=business, **form.service_fields())
        else:
            services.service_update(service=service, **form.service_fields())
    except QueueError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Service saved."))
    return redirect("queues:setup", business_id=business.pk)


@login_required
@require_POST
def service_delete(request: HttpRequest, business_id, service_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="settings")
    service = get_object_or_404(Service, pk=service_id, business=business, is_active=True)
    try:
        services.service_delete(service=service)
    except QueueError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Service removed."))
    return redirect("queues:setup", business_id=business.pk)


@login_required
@require_POST
def counter_save(request: HttpRequest, business_id, counter_id=None) -> HttpResponse:
    business = business_for(request.user, business_id, permission="settings")
    counter = (get_object_or_404(Counter, pk=counter_id, business=business)
               if counter_id else None)
    choices = [(str(s.pk), str(s)) for s in services.active_services(business)]
    form = CounterForm(request.POST, service_choices=choices)
    if not form.is_valid():
        return _setup_page(request, business, counter_form=form)
    data = form.cleaned_data
    try:
        if counter is None:
            services.counter_create(business=business, name=data["name"],
                                    is_open=data["is_open"], services=data.get("services", []))
        else:
            services.counter_update(counter=counter, name=data["name"],
                                    is_open=data["is_open"], services=data.get("services", []))
    except QueueError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Counter saved."))
    return redirect("queues:setup", business_id=business.pk)


@login_required
@require_POST
def counter_delete(request: HttpRequest, business_id, counter_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="settings")
    counter = get_object_or_404(Counter, pk=counter_id, business=business)
    try:
        services.counter_delete(counter=counter)
    except QueueError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Counter removed."))
    return redirect("queues:setup", business_id=business.pk)


# --- Shop display ------------------------------------------------------------------------------


@login_required
@require_POST
def display_regenerate(request: HttpRequest, business_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="queue")
    services.display_regenerate_token(business=business)
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect("queues:live", business_id=business.pk)


@require_safe
def display_screen(request: HttpRequest, token: str) -> HttpResponse:
    # Like a status link: the business of a display link already opened is remembered, so
    # an unchanged poll costs no query.
    known = services.link_business_id("display", token) if _seen_version(request) else None
    if known and _unchanged(request, known):
        return HttpResponse(status=204)
    state = None
    if looks_like_token(token):
        state = one_or_none(QueueState.objects.select_related("business")
                            .filter(display_token=token))
    if state is None:
        return render(request, "queues/join_invalid.html", status=404)
    business = state.business
    if known is None:
        services.remember_link_business("display", token, business.pk)
        if _unchanged(request, business.pk):  # the cache had lost the link, not the version
            return HttpResponse(status=204)
    context = {"board": selectors.display_board(business), "business": business,
               "token": token, "version": services.version_stamp(state)}
    if request.htmx:
        return render(request, "queues/partials/display_board.html", context)
    context["qr_svg"] = qr.qr_svg_inline(business.join_url)
    return render(request, "queues/display.html", context)

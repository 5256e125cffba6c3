"""The queue engine: every status change of a queue entry happens here.

Each operation locks the business's QueueState row first, then reads, then
writes. That one lock serialises ticket numbers, ordering keys and the size
check of a business; transitions are also conditional (`UPDATE … WHERE
status = …`) so a double click, a retry or two overlapping sweeps do no harm.
Positions are never stored: an entry's position is the rank of its
`sort_key` among waiting entries, so no operation rewrites the queue.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from businesses.models import Business
from queues import estimates
from queues.estimates import WaitEstimate
from queues.events import queue_event
from queues.models import (
    LIVE_STATUSES,
    CancelledBy,
    Counter,
    EntryStatus,
    QueueEntry,
    QueueState,
    Service,
    new_display_token,
)
from waitify.lib.errors import ErrorCode, WaitifyError
from waitify.lib.opening_hours import closing_at, is_open_at, next_opening
from waitify.lib.phones import InvalidPhone, has_allowed_prefix, mask_phone, normalize_phone

logger = logging.getLogger("waitify.queue")

# Re-exported from the one registry (waitify.lib.errors.ErrorCode) under their old names.
QUEUE_CLOSED, QUEUE_FULL, ALREADY_IN_QUEUE, BUSINESS_SUSPENDED = (
    ErrorCode.QUEUE_CLOSED, ErrorCode.QUEUE_FULL, ErrorCode.ALREADY_IN_QUEUE,
    ErrorCode.BUSINESS_SUSPENDED)
KEY_STEP = 1 << 20
MAX_SNOOZES = 2
REJOIN_WINDOW = timedelta(minutes=15)
# How long the merchant can take back a "remove" or "missed" click.
UNDO_WINDOW = timedelta(seconds=20)
VERSION_CACHE_KEY = "queue-version:{}"
LINE_VERSION_CACHE_KEY = "queue-line-version:{}"
# A waiting customer's stamp is "<business id>:w<line version>"; every other page's is
# "<business id>:<version>".
LINE_MARK = "w"
# Changes after which a customer already waiting sees the same card: a join lands behind
# them (a priority join does not: it is handled in `_changed`), a serve or an arrival at
# the counter changes the called customer's page. (Their estimate may move a little then;
# the page counts it down meanwhile, and the next call, which moves the line, redraws it.)
QUIET_FOR_THE_LINE = frozenset({"joined", "served", "arrived"})
LINK_BUSINESS_CACHE_KEY = "{}-business:{}"
LINK_BUSINESS_TIMEOUT = 24 * 3600


class QueueError(WaitifyError):
    pass


# --- Reading -------------------------------------------------------------------------

def queue_state_of(business: Business) -> QueueState | None:
    """The business's queue state as it came with the business (select_related, or the
    engine's lock attaching it: then no query); None for a business without one."""
    try:
        return business.queue_state_row
    except QueueState.DoesNotExist:
        return None


def waiting_ahead(service_id, priority, sort_key):
    """The waiting entries ahead of a place in line (values, or `OuterRef`s in a
    subquery): the one definition of a position, counted by `entry_position` here and by
    the customer's status read. A line is one service; priority entries go first, then
    the ordering key (arrival, give or take the customers' own "let one pass")."""
    return QueueEntry.objects.waiting().filter(
        Q(priority=priority, sort_key__lt=sort_key) | Q(priority__gt=priority),
        service_id=service_id)


def entry_position(entry: QueueEntry) -> int | None:
    """1 for the next customer of the entry's service; None once the entry is not waiting.

    Positions are per service: a customer waits behind the customers of their own
    service (priority ones first), whatever the other services' lines are doing."""
    if entry.status != EntryStatus.WAITING:
        return None
    return waiting_ahead(entry.service_id, entry.priority, entry.sort_key).count() + 1


# The order call-next takes waiting entries in: priority first, then by ordering key. Keys
# are unique within a service, but a key placed between two of one service's entries can
# equal another service's: the earlier join then goes first, so a counter serving both
# services always takes the same one.
LINE_ORDER = ("-priority", "sort_key", "created_at")


def waiting_in_line_order(business: Business):
    """The waiting entries in the order call-next takes them (priority first)."""
    return (QueueEntry.objects.filter(business=business, status=EntryStatus.WAITING)
            .order_by(*LINE_ORDER))


def service_estimate_seconds(business: Business, state: QueueState | None) -> int:
    if state is not None and state.service_estimate_seconds:
        return state.service_estimate_seconds
    return business.average_service_time


def wait_estimate(business: Business, state: QueueState | None, position: int, *,
                  service=None, now: datetime | None = None) -> WaitEstimate:
    """Join to call for the customer at `position` (1: next) in `service`: median and
    ~80 % range, from the model the last queue change left in the state (no query)."""
    inputs = estimates.inputs_from_model(state.estimate_model if state else None, business)
    scale = 1.0
    if service is not None and getattr(service, "average_service_time", None):
        scale = service.average_service_time / business.average_service_time
    return estimates.estimate_wait(
        inputs, ahead=position - 1, now=(now or timezone.now()).timestamp(),
        service=str(service.pk) if service is not None else None, scale=scale)


def queue_version(business_id) -> int | None:
    return cache.get(VERSION_CACHE_KEY.format(business_id))


def polled_version(business_id, seen: str) -> str | None:
    """The cache's current version in the form of `seen` (a stamp's part after ":"): the
    line version for a waiting customer's stamp, the queue's version for any other page.
    None: not in the cache (lost, or a Redis restart)."""
    waiting = seen.startswith(LINE_MARK)
    current = cache.get((LINE_VERSION_CACHE_KEY if waiting else VERSION_CACHE_KEY)
                        .format(business_id))
    if current is None:
        return None
    return f"{LINE_MARK}{current}" if waiting else str(current)


def _link_key(kind: str, secret: str) -> str:
    # Hashed: the cache holds no link.
    return LINK_BUSINESS_CACHE_KEY.format(kind, hashlib.sha256(secret.encode()).hexdigest()[:32])


def link_business_id(kind: str, secret: str) -> str | None:
    """The business behind a link already opened (`kind`: "entry", a customer's status
    link; "display", a shop screen's), so that an unchanged poll costs no query. None: not
    known, or the cache is unreachable (the poll then reads the database)."""
    try:
        return cache.get(_link_key(kind, secret))
    except Exception:
        logger.warning("cache unavailable: %s poll read from the database", kind)
        return None


def remember_link_business(kind: str, secret: str, business_id) -> None:
    """A status link never changes business; a display link is forgotten when it is
    replaced (`display_regenerate_token`)."""
    try:
        cache.set(_link_key(kind, secret), str(business_id), timeout=LINK_BUSINESS_TIMEOUT)
    except Exception:
        logger.warning("cache unavailable: %s link not remembered", kind)


def version_stamp(state: QueueState | None, *, prime: bool = True,
                  waiting: bool = False) -> str:
    """"<business id>:<version>" for pages that poll ("<business id>:w<line version>" for
    a customer waiting in line); primes the cache when it was lost (`prime=False`: the
    caller has just seen the cache hold a version)."""
    if state is None:
        return ""
    key, version, mark = VERSION_CACHE_KEY, state.version, ""
    if waiting:
        key, version, mark = LINE_VERSION_CACHE_KEY, state.line_version, LINE_MARK
    if prime:
        cache.add(key.format(state.business_id), version, timeout=None)
    return f"{state.business_id}:{mark}{version}"


# --- Locking and bookkeeping -----------------------------------------------------------

def _lock(business_id) -> tuple[QueueState, Business]:
    """Lock the business's QueueState row; return it with the business, read after the lock.

    Every operation on a queue takes this row lock first; the ordering key,
    ticket number and timestamps are read after it is held (PostgreSQL's
    now() is the transaction start, not the moment of the insert). The
    business comes in the same query and is locked too: a row read in the
    statement that waited for the lock would otherwise be the version from
    before the wait (a join would not see the close it waited for), while a
    locked row is re-read at its newest version. NO KEY UPDATE lets entries
    and SMS rows keep referencing the business meanwhile. The owner
    (suspension, read-only) is read, not locked: every business of an
    account would otherwise queue behind one another.
    """
    locked = (QueueState.objects.select_related("business__owner")
              .select_for_update(no_key=True, of=("self", "business")))
    state = locked.filter(business_id=business_id).first()
    if state is None:  # a business created before its state row existed
        QueueState.objects.bulk_create([QueueState(business_id=business_id)],
                                       ignore_conflicts=True)
        state = locked.get(business_id=business_id)
    business = state.business
    business.queue_state_row = state
    return state, business


def _changed(state: QueueState, event: str, business: Business,
             entry: QueueEntry | None = None) -> None:
    """Bump the version the pages poll against and announce the event."""
    state.version += 1
    if event not in QUIET_FOR_THE_LINE or (event == "joined" and entry is not None
                                           and entry.priority):
        state.line_version = state.version
    if event == "called" and entry is not None and entry.actual_wait_seconds is not None \
            and entry.estimated_wait_high_seconds is not None:
        estimates.model_learn_call(state, low=entry.estimated_wait_low_seconds or 0,
                                   high=entry.estimated_wait_high_seconds,
                                   actual=entry.actual_wait_seconds)
    if event in estimates.REFRESH_ON:
        estimates.model_refresh(state, business, timezone.now())
    state.save(update_fields=["version", "line_version", "service_day", "last_ticket",
                              "next_sort_key", "service_estimate_seconds", "served_samples",
                              "estimate_model", "services_count", "counters_count",
                              "updated_at"])
    versions = {VERSION_CACHE_KEY.format(state.business_id): state.version,
                LINE_VERSION_CACHE_KEY.format(state.business_id): state.line_version}
    # robust: the change is committed; a cache that fails now must not turn it into
    # an error (the polls read the database until the next change sets the version).
    transaction.on_commit(lambda: cache.set_many(versions, timeout=None), robust=True)
    queue_event.send(sender=QueueEntry, event=event, entry=entry, business=business)
    if entry is not None:
        # The logger's name already says "queue": the line starts with the event.
        logger.info("%s business=%s ticket=%s phone=%s", event, business.pk,
                    entry.ticket_label, mask_phone(entry.phone))
    else:
        logger.info("%s business=%s", event, business.pk)


def _transition(entry: QueueEntry, from_statuses: tuple[str, ...], **changes) -> bool:
    """Conditional UPDATE; False when the entry had already moved on."""
    updated = QueueEntry.objects.filter(pk=entry.pk, status__in=from_statuses).update(
        updated_at=changes.get("updated_at", timezone.now()), **changes
    )
    if updated:
        for name, value in changes.items():
            setattr(entry, name, value)
    return bool(updated)


def _announce_two_ahead(state: QueueState, business: Business, *service_ids) -> None:
    """After someone left (or jumped ahead in) the waiting line of a service, the third in
    that line has exactly two ahead. No service given: every service of the business."""
    if not service_ids:
        service_ids = Service.objects.filter(business=business).values_list("pk", flat=True)
    for service_id in dict.fromkeys(service_ids):
        third = (QueueEntry.objects.filter(service_id=service_id, status=EntryStatus.WAITING)
                 .select_related("service").order_by(*LINE_ORDER)[2:3].first())
        if third is not None:
            queue_event.send(sender=QueueEntry, event="two_ahead", entry=third,
                             business=business)


def _announce_after(entry: QueueEntry):
    """The `then` of `_finish`: announce in the line the entry has just left."""
    return lambda state, business: _announce_two_ahead(state, business, entry.service_id)


def _refuse_if_suspended(business: Business) -> None:
    owner = business.owner
    if not business.is_active or owner.is_suspended:
        raise QueueError(
            _("This business is not taking customers through Waitify at the moment."),
            code=ErrorCode.BUSINESS_SUSPENDED,
        )


def joins_refused_because(business: Business, now: datetime | None = None) -> QueueError | None:
    """Why a join would be refused right now (None: it would be accepted, size aside)."""
    try:
        _ensure_accepting_joins(business, now or timezone.now())
    except QueueError as refusal:
        return refusal
    return None


# The state a page shows for each reason a join is refused.
JOIN_STATES = {"": "open", "business_suspended": "inactive", "queue_closed": "closed",
               "outside_opening_hours": "closed", "last_call": "closed",
               "queue_paused": "paused", "queue_full": "full"}


@dataclass(frozen=True)
class JoinAvailability:
    """Whether customers can join now, and why not: what every page and the API show."""

    reason: str  # "" when accepting, else the refusal's `error` or "queue_full"
    message: str
    zone: ZoneInfo
    reopens_at: datetime | None = None  # by the hours; None when they say nothing
    closes_at: datetime | None = None  # end of the current opening range
    last_call_at: datetime | None = None

    @property
    def accepting(self) -> bool:
        return not self.reason

    @property
    def state(self) -> str:
        return JOIN_STATES[self.reason]

    def as_dict(self) -> dict:
        return {"accepting": self.accepting, "state": self.state, "reason": self.reason,
                "message": self.message,
                "reopens_at": self.reopens_at.isoformat() if self.reopens_at else None,
                "closes_at": self.closes_at.isoformat() if self.closes_at else None,
                "last_call_at": self.last_call_at.isoformat() if self.last_call_at else None}


def join_availability(business: Business, waiting: int, now: datetime | None = None
                      ) -> JoinAvailability:
    """The one answer to "can a customer join now?" (`waiting`: customers waiting now)."""
    now = now or timezone.now()
    zone = ZoneInfo(business.timezone)
    refusal = joins_refused_because(business, now)
    closes = closing_at(business.opening_hours, now, zone)
    if refusal is None:
        last_call = (closes - timedelta(minutes=business.last_call_minutes)
                     if closes is not None and business.last_call_minutes else None)
        if waiting >= business.max_queue_size:
            return JoinAvailability(reason="queue_full", zone=zone, closes_at=closes,
                                    last_call_at=last_call,
                                    message=str(_("The queue is full. Try again a little later.")))
        return JoinAvailability(reason="", message="", zone=zone, closes_at=closes,
                                last_call_at=last_call)
    extra = refusal.extra
    return JoinAvailability(
        reason=refusal.error, message=str(refusal.message), zone=zone,
        reopens_at=(datetime.fromisoformat(extra["next_opening"]).astimezone(zone)
                    if extra.get("next_opening") else None),
        closes_at=closes,
        last_call_at=(datetime.fromisoformat(extra["last_call_at"]).astimezone(zone)
                      if extra.get("last_call_at") else None),
    )


def _ensure_accepting_joins(business: Business, now: datetime) -> None:
    _refuse_if_suspended(business)
    if business.owner.is_read_only:
        raise QueueError(_("The queue is closed right now."), code=ErrorCode.QUEUE_CLOSED)
    hours, zone = business.opening_hours, ZoneInfo(business.timezone)
    # The hours come before the merchant's switch: a customer at the door at night
    # learns when the shop reopens, whether or not the queue was closed for the night.
    if not is_open_at(hours, now, zone):
        opening = next_opening(hours, now, zone)
        raise QueueError(_("The shop is closed at this hour."),
                         code=ErrorCode.OUTSIDE_OPENING_HOURS,
                         extra={"next_opening": opening.isoformat()} if opening else {})
    if not business.is_queue_open:
        raise QueueError(_("The queue is closed right now."), code=ErrorCode.QUEUE_CLOSED)
    if business.is_queue_paused:
        raise QueueError(_("The queue is paused for a moment. Try again in a few minutes."),
                         code=ErrorCode.QUEUE_PAUSED)
    closes = closing_at(hours, now, zone)
    if closes is not None and business.last_call_minutes:
        last_call = closes - timedelta(minutes=business.last_call_minutes)
        if now >= last_call:
            opening = next_opening(hours, closes, zone)
            raise QueueError(
                _("Last call has passed: the shop closes at %(time)s and takes no new "
                  "customers before then.") % {"time": closes.strftime("%H:%M")},
                code=ErrorCode.LAST_CALL,
                extra={"closes_at": closes.isoformat(), "last_call_at": last_call.isoformat(),
                       **({"next_opening": opening.isoformat()} if opening else {})})


def _next_ticket(state: QueueState, today, prefix: str = "A") -> int:
    """The next number of the day for the ticket `prefix` (each service has its own prefix,
    so numbers count per service). `state.last_ticket` counts the day's tickets, all
    services together. Read under the queue lock; the unique index backs it."""
    if state.service_day != today:
        state.service_day, state.last_ticket = today, 0
    state.last_ticket += 1
    last = (QueueEntry.objects.filter(business_id=state.business_id, service_day=today,
                                      ticket_prefix=prefix)
            .aggregate(last=Max("ticket_number"))["last"])
    return (last or 0) + 1


def _append_key(state: QueueState) -> int:
    state.next_sort_key += KEY_STEP
    return state.next_sort_key


def _key_after(business: Business, state: QueueState, index: int,
               exclude: QueueEntry | None = None, *, service_id=None,
               priority: bool = False) -> int:
    """A key that places an entry right after the `index`-th waiting entry (0-based) of a
    line: one service's entries of one priority class (all waiting entries of the
    business when no service is given)."""
    waiting = QueueEntry.objects.waiting().filter(business=business).order_by("sort_key")
    if service_id is not None:
        waiting = waiting.filter(service_id=service_id, priority=priority)
    if exclude is not None:
        waiting = waiting.exclude(pk=exclude.pk)
    keys = list(waiting.values_list("sort_key", flat=True)[index:index + 2])
    if len(keys) < 2:
        return _append_key(state)
    low, high = keys
    if high - low < 2:
        # Keys have been split so often that no integer fits: respace this
        # business's waiting entries (rare; bounded by the queue's size).
        _respace(business, state)
        return _key_after(business, state, index, exclude, service_id=service_id,
                          priority=priority)
    return (low + high) // 2


def _respace(business: Business, state: QueueState) -> None:
    waiting = list(QueueEntry.objects.filter(business=business, status=EntryStatus.WAITING)
                   .order_by("sort_key").only("pk"))
    for entry in waiting:
        QueueEntry.objects.filter(pk=entry.pk).update(sort_key=_append_key(state))


# --- Customer operations -------------------------------------------------------------------

def _normalized_phone(raw: str, *, for_sms: bool = True) -> str:
    try:
        phone = normalize_phone(raw)
    except InvalidPhone as exc:
        raise QueueError(_("This phone number is not valid. Example: 06 12 34 56 78."),
                         code=ErrorCode.INVALID_PHONE) from exc
    # The public form texts whatever number it is given: only allowed
    # destinations (French mobiles by default) are texted, against SMS pumping.
    # Other valid numbers may join without SMS (the status page only).
    if for_sms and not has_allowed_prefix(phone, settings.SMS_ALLOWED_PREFIXES):
        raise QueueError(_("We only send SMS to French mobiles (06 or 07). You can still "
                           "join without SMS and follow your turn on this page."),
                         code=ErrorCode.DESTINATION_NOT_ALLOWED)
    return phone


def entry_join(*, business: Business, phone: str, name: str = "", language: str = "fr",
               walk_in: bool = False, sms: bool = True, service: Service | None = None,
               priority: bool = False) -> QueueEntry:
    """A customer joins the queue (or the merchant adds a walk-in without phone).

    `sms=False`: page-only mode, for a number we do not text or a customer who wants
    no SMS. The number is still required: one live place per number, limits per number.
    `service`: one of the business's active services (None: its first). `priority`: the
    merchant's walk-in, or a customer where the business lets customers declare it.
    """
    phone = "" if walk_in and not phone else _normalized_phone(phone, for_sms=sms)
    name = (name or "").strip()[:60]
    if "\x00" in name:
        raise QueueError(_("This name contains characters we cannot store."),
                         code=ErrorCode.INVALID_NAME)
    try:
        with transaction.atomic():
            state, business = _lock(business.pk)
            now = timezone.now()
            if walk_in:
                _refuse_if_suspended(business)
            else:
                _ensure_accepting_joins(business, now)
            service = _service_for_join(business, service)
            if priority and not walk_in and not business.priority_join_enabled:
                raise QueueError(_("This business does not take priority declarations."),
                                 code=ErrorCode.PRIORITY_NOT_ALLOWED)
            waiting, ahead = _waiting_with_room_for(business, phone, service=service,
                                                    priority=bool(priority))
            estimate = wait_estimate(business, state, ahead + 1, service=service)
            today = timezone.localdate(now)
            entry = QueueEntry.objects.create(
                business=business, phone=phone, customer_name=name, service_day=today,
                service=service, ticket_prefix=service.ticket_prefix,
                ticket_number=_next_ticket(state, today, service.ticket_prefix),
                sort_key=_append_key(state), priority=bool(priority),
                estimated_wait_seconds=estimate.told_seconds,
                estimated_wait_low_seconds=estimate.shown_low_seconds,
                estimated_wait_high_seconds=estimate.shown_high_seconds, language=language[:8],
                notify_by_sms=sms,
            )
            entry.position = ahead + 1
            _changed(state, "joined", business, entry)
            if priority:  # customers behind the new priority entry move back
                _announce_two_ahead(state, business, service.pk)
    except IntegrityError:
        # The partial unique index backs the check made under the lock.
        if phone and QueueEntry.objects.live().filter(business_id=business.pk,
                                                      phone=phone).exists():
            raise _already_in_queue() from None
        raise
    return entry


def active_services(business: Business) -> list[Service]:
    """The services customers can choose, in the merchant's order."""
    return list(Service.objects.filter(business_id=business.pk, is_active=True)
                .order_by("position", "created_at"))


def _service_for_join(business: Business, service) -> Service:
    """The active service of `business` a new ticket goes to (`service`: a Service, its
    id, or None for the first one). Refuses another business's or a retired service."""
    services = Service.objects.filter(business_id=business.pk, is_active=True)
    if service is None:
        found = services.order_by("position", "created_at").first()
    else:
        service_id = getattr(service, "pk", service)
        try:
            found = services.filter(pk=service_id).first()
        except (ValueError, ValidationError):
            found = None
    if found is None:
        raise QueueError(_("Choose one of the services offered."), code=ErrorCode.INVALID_SERVICE)
    return found


def _waiting_with_room_for(business: Business, phone: str, *, service: Service | None = None,
                           priority: bool = False) -> tuple[int, int]:
    """How many wait in the business, and how many of them a new entry of `service` would
    have ahead; refuses (4003, 4002) when the phone already has a live entry or the queue
    is full. One query, whatever the queue length."""
    waiting = Q(status=EntryStatus.WAITING)
    counts = {"waiting": Count("pk", filter=waiting)}
    if service is not None:
        ahead = waiting & Q(service=service)
        counts["ahead"] = Count("pk", filter=ahead & Q(priority=True) if priority else ahead)
    if phone:  # a walk-in's "" is no one's phone
        counts["same_phone"] = Count("pk", filter=Q(phone=phone))
    counts = QueueEntry.objects.live().filter(business=business).aggregate(**counts)
    if counts.get("same_phone"):
        raise _already_in_queue()
    if counts["waiting"] >= business.max_queue_size:
        raise QueueError(_("The queue is full. Try again a little later."),
                         code=ErrorCode.QUEUE_FULL)
    return counts["waiting"], counts.get("ahead", counts["waiting"])


def _already_in_queue() -> QueueError:
    """4003. It carries nothing about the entry (no link, ticket or position): anyone can
    type any number. The refusal itself cannot be avoided; the per-number and per-IP join
    limits bound how many numbers can be tried. The rightful customer gets back to their
    ticket from the device that joined, or by having the link texted to that number."""
    return QueueError(_("This number already has a place in this queue."),
                      code=ErrorCode.ALREADY_IN_QUEUE)


# The one answer to "text me my link again", whatever the number.
LINK_RESENT_ANSWER = _("If this number has a place in this queue and receives our SMS, "
                       "we have just texted it the link to its ticket.")


def entry_resend_link(*, business: Business, phone: str) -> None:
    """Text the status link again to `phone` if it has a live place in this queue.

    Tells the caller nothing either way, so that the answer can be the same whatever
    the number. The SMS is an outbox row like any other (opt-out, hourly cap, quota),
    written under the queue lock like every SMS of the business.
    """
    try:
        phone = normalize_phone(phone)
    except InvalidPhone:
        return
    with transaction.atomic():
        state, business = _lock(business.pk)
        entry = QueueEntry.objects.live().filter(business=business, phone=phone).first()
        if entry is not None:
            queue_event.send(sender=QueueEntry, event="link_requested", entry=entry,
                             business=business)
            logger.info("queue link_requested business=%s ticket=%s phone=%s", business.pk,
                        entry.ticket_label, mask_phone(entry.phone))


def entry_cancel(*, entry: QueueEntry) -> QueueEntry:
    """The customer gives up a waiting place. Idempotent."""
    return _finish(entry, EntryStatus.WAITING, EntryStatus.CANCELLED, "cancelled",
                   then=_announce_after(entry), cancelled_by=CancelledBy.CUSTOMER)


def entry_remove(*, entry: QueueEntry, by=None) -> QueueEntry:
    """The merchant takes a waiting customer off the list (undoable for a moment)."""
    return _finish(entry, EntryStatus.WAITING, EntryStatus.CANCELLED, "cancelled",
                   then=_announce_after(entry), cancelled_by=CancelledBy.MERCHANT)


def _finish(entry: QueueEntry, from_status: str, to_status: str, event: str,
            then=None, **changes) -> QueueEntry:
    """Move an entry from `from_status` to the final `to_status` under the queue lock.

    Idempotent: an entry already in `to_status` (a double click, a retry) is
    returned unchanged; any other status is refused.
    """
    with transaction.atomic():
        state, business = _lock(entry.business_id)
        if _transition(entry, (from_status,), status=to_status, finished_at=timezone.now(),
                       **changes):
            _changed(state, event, business, entry)
            if then is not None:
                then(state, business)
        elif entry_refresh(entry).status != to_status:
            raise _cannot(entry)
    return entry


def entry_snooze(*, entry: QueueEntry) -> QueueEntry:
    """"I need more time": let the next person pass, at most twice per entry."""
    with transaction.atomic():
        state, business = _lock(entry.business_id)
        entry = QueueEntry.objects.get(pk=entry.pk)
        if entry.status != EntryStatus.WAITING:
            raise _cannot(entry)
        if entry.snooze_count >= MAX_SNOOZES:
            raise QueueError(_("You have already let people pass twice."),
                             code=ErrorCode.SNOOZE_LIMIT)
        position = entry_position(entry)
        # The line the customer lets someone pass in: their service, their priority class.
        line = QueueEntry.objects.waiting().filter(service_id=entry.service_id,
                                                   priority=entry.priority)
        if not line.filter(sort_key__gt=entry.sort_key).exists():
            raise QueueError(_("Nobody is behind you: you keep your place."),
                             code=ErrorCode.NOBODY_BEHIND)
        # Move right after the person who was behind: their 0-based index in the line
        # once this entry is out of the way is this entry's own index.
        index = line.filter(sort_key__lt=entry.sort_key).count()
        new_key = _key_after(business, state, index, exclude=entry,
                             service_id=entry.service_id, priority=entry.priority)
        QueueEntry.objects.filter(pk=entry.pk).update(sort_key=new_key,
                                                      snooze_count=entry.snooze_count + 1,
                                                      updated_at=timezone.now())
        entry.sort_key, entry.snooze_count = new_key, entry.snooze_count + 1
        _changed(state, "snoozed", business, entry)
        if position <= 3:
            _announce_two_ahead(state, business, entry.service_id)
    return entry


def entry_rejoin(*, entry: QueueEntry) -> QueueEntry:
    """A customer missed less than `REJOIN_WINDOW` ago comes back second in line."""
    with transaction.atomic():
        state, business = _lock(entry.business_id)
        now = timezone.now()
        entry = QueueEntry.objects.get(pk=entry.pk)
        if (entry.status != EntryStatus.MISSED or not entry.finished_at
                or now - entry.finished_at > REJOIN_WINDOW
                or QueueEntry.objects.filter(rejoined_from=entry).exists()):
            raise QueueError(_("It is too late to get your place back: join the queue again."),
                             code=ErrorCode.REJOIN_EXPIRED)
        _ensure_accepting_joins(business, now)
        waiting, ahead = _waiting_with_room_for(business, entry.phone,
                                                service=entry.service,
                                                priority=entry.priority)
        today = timezone.localdate(now)
        # Back to the same service (its first one if that service was retired meanwhile).
        service = (Service.objects.filter(pk=entry.service_id, is_active=True).first()
                   or _service_for_join(business, None))
        estimate = wait_estimate(business, state, min(2, ahead + 1), service=service)
        new_entry = QueueEntry.objects.create(
            business=business, phone=entry.phone, customer_name=entry.customer_name,
            service=service, ticket_prefix=service.ticket_prefix, priority=entry.priority,
            service_day=today,
            ticket_number=_next_ticket(state, today, service.ticket_prefix),
            sort_key=_key_after(business, state, 0, service_id=service.pk,
                                priority=entry.priority),
            estimated_wait_seconds=estimate.told_seconds,
            estimated_wait_low_seconds=estimate.shown_low_seconds,
            estimated_wait_high_seconds=estimate.shown_high_seconds,
            language=entry.language, rejoined_from=entry,
            notify_by_sms=entry.notify_by_sms,
        )
        _changed(state, "rejoined", business, new_entry)
    return new_entry


# --- Merchant operations ---------------------------------------------------------------------

def queue_call_next(*, business: Business, counter: Counter | str | None = None,
                    by=None) -> QueueEntry:
    """At `counter`, the next eligible waiting entry becomes called: among the services the
    counter serves, priority entries first, then the longest waiting. Concurrent clicks
    (at one or several counters) call different people.

    `counter` may be left out while the business has one open counter (or one counter);
    with several, a clear 400 (`counter_required`). Calling at a closed counter opens it.
    `by`: the user who pressed the button (recorded as `called_by`).
    """
    with transaction.atomic():
        state, business = _lock(business.pk)
        _refuse_if_suspended(business)
        counter = _counter_for_call(business, counter)
        entry = _next_for(business, counter)
        if entry is None:
            raise QueueError(_("Nobody is waiting."), code=ErrorCode.QUEUE_EMPTY)
        _call(entry, counter, by)
        _changed(state, "called", business, entry)
        _announce_two_ahead(state, business, entry.service_id)
    return entry


def entry_call(*, entry: QueueEntry, counter: Counter | str | None = None,
               by=None) -> QueueEntry:
    """Call this waiting customer now, out of order (their order is ready), at `counter`.

    Recorded as out of order unless they were the one call-next would have taken.
    Idempotent: an entry already called is returned as it is.
    """
    with transaction.atomic():
        state, business = _lock(entry.business_id)
        _refuse_if_suspended(business)
        current = QueueEntry.objects.get(pk=entry.pk)
        if current.status == EntryStatus.CALLED:
            return current
        if current.status != EntryStatus.WAITING:
            raise _cannot(current)
        counter = _counter_for_call(business, counter)
        head = _next_for(business, counter)
        _call(current, counter, by, out_of_order=head is None or head.pk != current.pk)
        _changed(state, "called", business, current)
        _announce_two_ahead(state, business, current.service_id)
    return current


def _counter_for_call(business: Business, counter) -> Counter:
    """The counter a call happens at (a Counter of `business` or its id; None: the only
    open counter, or the only counter). Read under the queue lock; a closed counter that
    calls is open from then on."""
    counters = Counter.objects.filter(business_id=business.pk)
    if counter is None:
        candidates = list(counters.filter(is_open=True)[:2]) or list(counters[:2])
        if len(candidates) != 1:
            raise QueueError(_("Choose the counter you are calling from."),
                             code=ErrorCode.COUNTER_REQUIRED)
        found = candidates[0]
    else:
        try:
            found = counters.filter(pk=getattr(counter, "pk", counter)).first()
        except (ValueError, ValidationError):
            found = None
        if found is None:
            raise QueueError(_("This counter does not exist."), code=ErrorCode.INVALID_COUNTER)
    if not found.is_open:
        Counter.objects.filter(pk=found.pk).update(is_open=True)
        found.is_open = True
    return found


def _next_for(business: Business, counter: Counter) -> QueueEntry | None:
    """The entry call-next at `counter` takes: among the services it serves (all when it
    names none), priority first, then by ordering key. Two queries, whatever the length."""
    line = waiting_in_line_order(business)
    service_ids = list(counter.services.values_list("pk", flat=True))
    if service_ids:
        line = line.filter(service_id__in=service_ids)
    return line.first()


def _call(entry: QueueEntry, counter: Counter | None = None, by=None, *,
          out_of_order: bool = False) -> None:
    now = timezone.now()
    _transition(entry, (EntryStatus.WAITING,), status=EntryStatus.CALLED, called_at=now,
                actual_wait_seconds=max(0, int((now - entry.created_at).total_seconds())),
                counter=counter, called_by=_user_or_none(by),
                called_out_of_order=out_of_order)


def _user_or_none(user):
    """The user to record as having acted (None for an anonymous or absent one)."""
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def counter_current_entry(counter: Counter) -> QueueEntry | None:
    """The customer a counter is dealing with: its latest call still open."""
    return (QueueEntry.objects.filter(counter=counter, status=EntryStatus.CALLED)
            .order_by("-called_at").first())


def entry_set_priority(*, entry: QueueEntry, priority: bool, by=None) -> QueueEntry:
    """The merchant gives (or takes back) priority to a waiting customer: ahead of every
    non-priority entry of the same service, behind earlier priority ones. Idempotent."""
    with transaction.atomic():
        state, business = _lock(entry.business_id)
        current = QueueEntry.objects.get(pk=entry.pk)
        if current.priority == bool(priority) and current.status in LIVE_STATUSES:
            return current
        if current.status != EntryStatus.WAITING:
            raise _cannot(current)
        _transition(current, (EntryStatus.WAITING,), priority=bool(priority))
        _changed(state, "priority_changed", business, current)
        _announce_two_ahead(state, business, current.service_id)
    return current


def entry_transfer(*, entry: QueueEntry, service: Service | str) -> QueueEntry:
    """Move a waiting customer to another service of the business, keeping their place by
    arrival (their ordering key), their priority and their ticket. Idempotent."""
    with transaction.atomic():
        state, business = _lock(entry.business_id)
        current = QueueEntry.objects.get(pk=entry.pk)
        target = _service_for_join(business, service)
        if current.service_id == target.pk and current.status in LIVE_STATUSES:
            return current
        if current.status != EntryStatus.WAITING:
            raise _cannot(current)
        left = current.service_id
        _transition(current, (EntryStatus.WAITING,), service=target)
        _changed(state, "transferred", business, current)
        _announce_two_ahead(state, business, left, target.pk)
    return current


def entry_mark_arrived(*, entry: QueueEntry, by=None) -> QueueEntry:
    """The called customer is at the counter: the timeout no longer applies."""
    with transaction.atomic():
        state, business = _lock(entry.business_id)
        updated = QueueEntry.objects.filter(pk=entry.pk, status=EntryStatus.CALLED,
                                            arrived_at__isnull=True)
        if updated.update(arrived_at=timezone.now(), updated_at=timezone.now()):
            entry.refresh_from_db()
            _changed(state, "arrived", business, entry)
        elif entry_refresh(entry).status != EntryStatus.CALLED:
            raise _cannot(entry)
    return entry


def entry_serve(*, entry: QueueEntry, by=None) -> QueueEntry:
    """The called customer has been served; their service time teaches the estimate.
    `by`: who served them (recorded as `finished_by`)."""
    with transaction.atomic():
        state, business = _lock(entry.business_id)
        current = QueueEntry.objects.get(pk=entry.pk)
        if current.status == EntryStatus.SERVED:
            return current
        if current.status != EntryStatus.CALLED:
            raise _cannot(current)
        now = max(timezone.now(), current.called_at)
        started = current.arrived_at or current.called_at
        seconds = max(0, int((now - started).total_seconds()))
        _transition(current, (EntryStatus.CALLED,), status=EntryStatus.SERVED, served_at=now,
                    finished_at=now, actual_service_seconds=seconds,
                    finished_by=_user_or_none(by))
        _learn_service_time(state, business, seconds)
        _changed(state, "served", business, current)
    return current


def _learn_service_time(state: QueueState, business: Business, seconds: int) -> None:
    # The configured average counts as one sample; far-off values (a
    # forgotten "served" click) are clipped so one of them cannot wreck it.
    prior = business.average_service_time
    current = state.service_estimate_seconds or prior
    clipped = min(max(seconds, 10), 4 * prior)
    weight = max(0.1, 1 / (state.served_samples + 2))
    state.service_estimate_seconds = max(10, round(current + weight * (clipped - current)))
    state.served_samples += 1


def entry_miss(*, entry: QueueEntry, by=None) -> QueueEntry:
    """The called customer did not come. Idempotent. `by`: recorded as `finished_by`."""
    return _finish(entry, EntryStatus.CALLED, EntryStatus.MISSED, "missed",
                   finished_by=_user_or_none(by))


# What a "remove" or "missed" click is undone back to.
_UNDONE_TO = {EntryStatus.CANCELLED: EntryStatus.WAITING, EntryStatus.MISSED: EntryStatus.CALLED}


def entry_undo(*, entry: QueueEntry) -> QueueEntry:
    """Take back the merchant's "remove" or "missed" of a moment ago: the entry is waiting
    (at its old place: its ordering key never changed) or called again.

    Idempotent (an entry already back is returned as it is) and conditional: refused
    after UNDO_WINDOW, for a customer's own cancellation or a closed shop's, and once the
    customer has rejoined or taken a new ticket with the same phone.
    """
    try:
        with transaction.atomic():
            state, business = _lock(entry.business_id)
            current = QueueEntry.objects.get(pk=entry.pk)
            if current.status in LIVE_STATUSES:
                return current
            back_to = _UNDONE_TO.get(current.status)
            if (back_to is None or current.finished_at is None
                    or timezone.now() - current.finished_at > UNDO_WINDOW
                    or (current.status == EntryStatus.CANCELLED
                        and current.cancelled_by != CancelledBy.MERCHANT)
                    or QueueEntry.objects.filter(rejoined_from=current).exists()):
                raise _too_late_to_undo()
            _transition(current, (current.status,), status=back_to, finished_at=None,
                        cancelled_by="")
            _changed(state, "restored", business, current)
    except IntegrityError:
        # The same phone took a new place meanwhile (the one-live-entry index).
        raise _too_late_to_undo() from None
    return current


def _too_late_to_undo() -> QueueError:
    return QueueError(_("It is too late to undo this."), code=ErrorCode.UNDO_EXPIRED)


def entry_expire(*, entry_id, called_at: datetime) -> QueueEntry | None:
    """Timeout of one called entry; calls the next one when auto-advance is on.

    Conditional on the entry still being the same unanswered call, so two
    sweeps running at once never miss it twice nor advance twice.
    """
    with transaction.atomic():
        state, business = _lock(QueueEntry.objects.values_list("business_id", flat=True)
                                .get(pk=entry_id))
        entry = QueueEntry.objects.get(pk=entry_id)
        updated = QueueEntry.objects.filter(
            pk=entry_id, status=EntryStatus.CALLED, arrived_at__isnull=True, called_at=called_at
        ).update(status=EntryStatus.MISSED, finished_at=timezone.now(),
                 updated_at=timezone.now())
        if not updated:
            return None
        entry.refresh_from_db()
        _changed(state, "missed", business, entry)
        # A paused queue is a merchant on a break: nobody is called behind their back.
        # Each counter advances on its own: the next customer it serves, at that counter
        # (a call from before counters existed advances the business's only counter).
        counter = entry.counter
        if counter is None:
            counters = list(Counter.objects.filter(business=business, is_open=True)[:2])
            counter = counters[0] if len(counters) == 1 else None
        if (business.auto_advance_enabled and business.is_queue_open
                and not business.is_queue_paused and counter is not None and counter.is_open):
            following = _next_for(business, counter)
            if following is not None:
                _call(following, counter)
                _changed(state, "called", business, following)
                _announce_two_ahead(state, business, following.service_id)
    return entry


def queue_expire_overdue() -> int:
    """Sweep: every called customer past their business's timeout becomes missed."""
    now = timezone.now()
    candidates = (QueueEntry.objects.filter(status=EntryStatus.CALLED, arrived_at__isnull=True,
                                            called_at__lt=now - timedelta(minutes=1))
                  .values_list("pk", "called_at", "business__client_timeout_minutes"))
    expired = 0
    for entry_id, called_at, timeout in candidates:
        if called_at + timedelta(minutes=timeout) <= now and entry_expire(
            entry_id=entry_id, called_at=called_at
        ):
            expired += 1
    return expired


def _set_queue_flags(business: Business, event: str, **flags) -> Business:
    with transaction.atomic():
        state, business = _lock(business.pk)
        _refuse_if_suspended(business)
        if event in ("queue_opened", "queue_resumed") and business.owner.is_read_only:
            raise QueueError(
                _("Your account is read-only: customers already waiting are served, "
                  "but the queue cannot take new ones."),
                code=ErrorCode.ACCOUNT_READ_ONLY,
            )
        Business.objects.filter(pk=business.pk).update(updated_at=timezone.now(), **flags)
        for name, value in flags.items():
            setattr(business, name, value)
        _changed(state, event, business)
    return business


def queue_open(*, business: Business) -> Business:
    return _set_queue_flags(business, "queue_opened", is_queue_open=True, is_queue_paused=False)


def queue_close(*, business: Business) -> Business:
    """Closing stops joins; live entries stay to be served or cancelled explicitly."""
    return _set_queue_flags(business, "queue_closed", is_queue_open=False, is_queue_paused=False)


def queue_shut_down(*, business: Business) -> Business:
    """The business stops (deactivated): its queue closes and every customer still in it
    is told so. Each live entry is cancelled as "the shop closed the queue" (its page and
    SMS say it), so nobody is left waiting, or called, at a counter that is gone."""
    with transaction.atomic():
        state, business = _lock(business.pk)
        Business.objects.filter(pk=business.pk).update(
            is_queue_open=False, is_queue_paused=False, updated_at=timezone.now())
        business.is_queue_open = business.is_queue_paused = False
        now = timezone.now()
        for entry in QueueEntry.objects.live().filter(business=business).order_by("sort_key"):
            if _transition(entry, LIVE_STATUSES, status=EntryStatus.CANCELLED,
                           finished_at=now, cancelled_by=CancelledBy.SHOP_CLOSED):
                _changed(state, "cancelled", business, entry)
        _changed(state, "queue_closed", business)
    return business


def business_deactivating(sender, *, business: Business, **kwargs) -> None:
    """Receiver of businesses' `business_deactivating` (sent inside the deactivation's
    transaction, before the business row changes): the queue engine shuts the queue."""
    queue_shut_down(business=business)


def queue_pause(*, business: Business) -> Business:
    return _set_queue_flags(business, "queue_paused", is_queue_paused=True)


def queue_resume(*, business: Business) -> Business:
    return _set_queue_flags(business, "queue_resumed", is_queue_paused=False)


# The merchant's buttons, by the names the live screen and the API both use.
QUEUE_SWITCHES = {
    "open": queue_open,
    "close": queue_close,
    "pause": queue_pause,
    "resume": queue_resume,
}
ENTRY_MOVES = {
    "arrive": entry_mark_arrived,
    "serve": entry_serve,
    "miss": entry_miss,
    "cancel": entry_remove,
}


# --- Counters and services (the merchant's set-up) -------------------------------------------

class CounterLimitReached(QueueError):
    def __init__(self, plan) -> None:
        limit = plan.max_counters
        super().__init__(
            ngettext("Your %(plan)s plan allows %(limit)s counter per business. "
                     "Upgrade your plan to add another one.",
                     "Your %(plan)s plan allows %(limit)s counters per business. "
                     "Upgrade your plan to add another one.",
                     limit) % {"plan": plan, "limit": limit},
            code=ErrorCode.COUNTER_LIMIT_REACHED,
            extra={"plan": plan.name, "max_counters": limit, "upgrade_url": "/billing/"},
        )


def _valid(instance, code: ErrorCode):
    """Model validation (fields, prefix, uniqueness per business) as a QueueError."""
    try:
        instance.full_clean()
    except ValidationError as invalid:
        fields = {name: [str(message) for message in messages]
                  for name, messages in invalid.message_dict.items()}
        first = next(iter(fields.values()))[0]
        raise QueueError(first, code=code, extra={"fields": fields}) from None
    return instance


def _setup_changed(state: QueueState, business: Business) -> None:
    state.services_count = Service.objects.filter(business=business, is_active=True).count()
    state.counters_count = Counter.objects.filter(business=business).count()
    _changed(state, "setup_changed", business)


SERVICE_FIELDS = ("name", "ticket_prefix", "average_service_time", "position", "is_active")
COUNTER_FIELDS = ("name", "is_open", "position")


def service_create(*, business: Business, name: str, ticket_prefix: str,
                   average_service_time: int | None = None, position: int | None = None
                   ) -> Service:
    with transaction.atomic():
        state, business = _lock(business.pk)
        if position is None:
            position = Service.objects.filter(business=business).count()
        service = _valid(Service(business=business, name=(name or "").strip(),
                                 ticket_prefix=(ticket_prefix or "").strip().upper(),
                                 average_service_time=average_service_time,
                                 position=position), ErrorCode.INVALID_SERVICE)
        service.save()
        _setup_changed(state, business)
    return service


def service_update(*, service: Service, **changes) -> Service:
    """Rename, re-prefix (new tickets only: issued ones keep their label), re-time,
    reorder or retire/bring back a service."""
    with transaction.atomic():
        state, business = _lock(service.business_id)
        service = Service.objects.get(pk=service.pk)
        for name, value in changes.items():
            if name not in SERVICE_FIELDS:
                raise TypeError(name)
            if name == "ticket_prefix":
                value = (value or "").strip().upper()
            if name == "name":
                value = (value or "").strip()
            setattr(service, name, value)
        if changes.get("is_active") is False:
            _refuse_retiring(service)
        _valid(service, ErrorCode.INVALID_SERVICE).save()
        _setup_changed(state, business)
    return service


def _refuse_retiring(service: Service) -> None:
    others = Service.objects.filter(business_id=service.business_id, is_active=True
                                    ).exclude(pk=service.pk)
    if not others.exists():
        raise QueueError(_("A business keeps at least one service."), code=ErrorCode.LAST_SERVICE)
    if QueueEntry.objects.live().filter(service=service).exists():
        raise QueueError(_("Customers are waiting for this service: move them to another "
                           "service first."), code=ErrorCode.SERVICE_IN_USE)


def service_delete(*, service: Service) -> None:
    """Removes a service; one that already issued tickets is retired instead (its
    history stays for the statistics). Refused for the last one or while in use."""
    with transaction.atomic():
        state, business = _lock(service.business_id)
        service = Service.objects.filter(pk=service.pk).first()
        if service is None:
            return
        _refuse_retiring(service)
        if QueueEntry.objects.filter(service=service).exists():
            Service.objects.filter(pk=service.pk).update(is_active=False)
        else:
            service.delete()
        _setup_changed(state, business)


def _services_of(business: Business, services) -> list[Service]:
    ids = [getattr(item, "pk", item) for item in (services or [])]
    try:
        found = list(Service.objects.filter(business=business, pk__in=ids))
    except (ValueError, ValidationError):
        found = []
    if len(found) != len(set(map(str, ids))):
        raise QueueError(_("Choose among this business's services."),
                         code=ErrorCode.INVALID_SERVICE)
    return found


def counter_create(*, business: Business, name: str, is_open: bool = True,
                   services=(), position: int | None = None) -> Counter:
    """A new counter; the owner's plan caps how many a business has (403 with the
    upgrade path). `services`: the services it serves (empty: all)."""
    with transaction.atomic():
        state, business = _lock(business.pk)
        count = Counter.objects.filter(business=business).count()
        plan = business.owner.plan
        if plan is not None and not plan.allows_counters(count + 1):
            raise CounterLimitReached(plan)
        counter = _valid(Counter(business=business, name=(name or "").strip(),
                                 is_open=is_open,
                                 position=count if position is None else position),
                         ErrorCode.INVALID_COUNTER)
        chosen = _services_of(business, services)
        counter.save()
        counter.services.set(chosen)
        _setup_changed(state, business)
    return counter


def counter_update(*, counter: Counter, services=None, **changes) -> Counter:
    """Rename, open/close, reorder a counter, or change the services it serves
    (`services=[]`: all of them; None: unchanged)."""
    with transaction.atomic():
        state, business = _lock(counter.business_id)
        counter = Counter.objects.get(pk=counter.pk)
        for name, value in changes.items():
            if name not in COUNTER_FIELDS:
                raise TypeError(name)
            setattr(counter, name, (value or "").strip() if name == "name" else value)
        _valid(counter, ErrorCode.INVALID_COUNTER).save()
        if services is not None:
            counter.services.set(_services_of(business, services))
        _setup_changed(state, business)
    return counter


def counter_delete(*, counter: Counter) -> None:
    """Refused for the business's last counter and while a customer is called there."""
    with transaction.atomic():
        state, business = _lock(counter.business_id)
        counter = Counter.objects.filter(pk=counter.pk).first()
        if counter is None:
            return
        if not Counter.objects.filter(business=business).exclude(pk=counter.pk).exists():
            raise QueueError(_("A business keeps at least one counter."),
                             code=ErrorCode.LAST_COUNTER)
        if QueueEntry.objects.filter(counter=counter, status=EntryStatus.CALLED).exists():
            raise QueueError(_("A customer is called at this counter: serve them first."),
                             code=ErrorCode.COUNTER_IN_USE)
        counter.delete()
        _setup_changed(state, business)


# --- Helpers ----------------------------------------------------------------------------------

def entry_refresh(entry: QueueEntry) -> QueueEntry:
    entry.refresh_from_db()
    return entry


def _cannot(entry: QueueEntry) -> QueueError:
    return QueueError(
        _("This ticket is %(status)s: that action is no longer possible.")
        % {"status": entry.get_status_display()},
        code=ErrorCode.INVALID_TRANSITION,
    )


def queue_state_create(sender, *, instance: Business, created: bool, **kwargs) -> None:
    """`post_save` receiver of Business: a new business gets its queue state, its first
    service and its first counter at once.

    Pages read the state (the shop display's link, the version polls compare) before
    the queue is ever opened; created with the business, in its transaction, whichever
    way the business was made (the merchant's form, the API, the admin).
    """
    if created:
        QueueState.objects.bulk_create([QueueState(business_id=instance.pk)],
                                       ignore_conflicts=True)
        if not Service.objects.filter(business_id=instance.pk).exists():
            Service.objects.create(business_id=instance.pk, ticket_prefix="A",
                                   name=str(pgettext_lazy("first service", "General")))
        if not Counter.objects.filter(business_id=instance.pk).exists():
            Counter.objects.create(business_id=instance.pk,
                                   name=str(pgettext_lazy("first counter", "Counter 1")))


def display_regenerate_token(*, business: Business) -> QueueState:
    """A new read-only link for the shop's screen; the old one stops working."""
    with transaction.atomic():
        state, _ = _lock(business.pk)
        old_key = _link_key("display", state.display_token)
        state.display_token = new_display_token()
        state.save(update_fields=["display_token", "updated_at"])
        # robust: the new link is saved; the old one, still remembered if the cache fails
        # now, only answers "unchanged" (nothing shown) until the queue changes.
        transaction.on_commit(lambda: cache.delete(old_key), robust=True)
    return state

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
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from businesses.models import Business
from queues.events import queue_event
from queues.models import (
    LIVE_STATUSES,
    CancelledBy,
    EntryStatus,
    QueueEntry,
    QueueState,
    new_display_token,
)
from waitify.lib.errors import WaitifyError
from waitify.lib.opening_hours import closing_at, is_open_at, next_opening
from waitify.lib.phones import InvalidPhone, has_allowed_prefix, mask_phone, normalize_phone

logger = logging.getLogger("waitify.queue")

QUEUE_CLOSED, QUEUE_FULL, ALREADY_IN_QUEUE, BUSINESS_SUSPENDED = 4001, 4002, 4003, 4004
KEY_STEP = 1 << 20
MAX_SNOOZES = 2
REJOIN_WINDOW = timedelta(minutes=15)
# How long the merchant can take back a "remove" or "missed" click.
UNDO_WINDOW = timedelta(seconds=20)
VERSION_CACHE_KEY = "queue-version:{}"
ENTRY_BUSINESS_CACHE_KEY = "entry-business:{}"
ENTRY_BUSINESS_TIMEOUT = 24 * 3600


class QueueError(WaitifyError):
    pass


@dataclass(frozen=True)
class WaitEstimate:
    minutes: int
    low: int
    high: int

    @property
    def is_range(self) -> bool:
        return self.low != self.high


# --- Reading -------------------------------------------------------------------------

def waiting_ahead(business_id, sort_key):
    """The waiting entries ahead of a place in line (values, or `OuterRef`s in a
    subquery): the one definition of a position, counted by `entry_position` here and
    by the customer's status read."""
    return QueueEntry.objects.waiting().filter(business_id=business_id, sort_key__lt=sort_key)


def entry_position(entry: QueueEntry) -> int | None:
    """1 for the next customer to be called; None once the entry is not waiting."""
    if entry.status != EntryStatus.WAITING:
        return None
    return waiting_ahead(entry.business_id, entry.sort_key).count() + 1


def service_estimate_seconds(business: Business, state: QueueState | None) -> int:
    if state is not None and state.service_estimate_seconds:
        return state.service_estimate_seconds
    return business.average_service_time


def wait_estimate(business: Business, state: QueueState | None, position: int) -> WaitEstimate:
    """Expected wait for the customer at `position`, as a range while we know little."""
    per_customer = service_estimate_seconds(business, state)
    minutes = round(position * per_customer / 60)
    samples = state.served_samples if state else 0
    spread = 0.5 if samples < 5 else 0.25 if samples < 20 else 0.0
    low = max(0, int(minutes * (1 - spread)))
    high = int(round(minutes * (1 + spread)))
    return WaitEstimate(minutes=minutes, low=low, high=high)


def queue_version(business_id) -> int | None:
    return cache.get(VERSION_CACHE_KEY.format(business_id))


def _entry_business_key(secret: str) -> str:
    # Hashed: the cache holds no status link.
    return ENTRY_BUSINESS_CACHE_KEY.format(hashlib.sha256(secret.encode()).hexdigest()[:32])


def entry_business_id(secret: str) -> str | None:
    """The business of the entry behind a status link already opened (None: not known,
    or the cache is unreachable: the poll then reads the database)."""
    try:
        return cache.get(_entry_business_key(secret))
    except Exception:
        logger.warning("cache unavailable: status poll read from the database")
        return None


def remember_entry_business(secret: str, business_id) -> None:
    """An entry never changes business: its link's business can be cached as is."""
    try:
        cache.set(_entry_business_key(secret), str(business_id),
                  timeout=ENTRY_BUSINESS_TIMEOUT)
    except Exception:
        logger.warning("cache unavailable: status link not remembered")


def version_stamp(state: QueueState | None, *, prime: bool = True) -> str:
    """"<business id>:<version>" for pages that poll; primes the cache when it was lost
    (`prime=False`: the caller has just seen the cache hold a version)."""
    if state is None:
        return ""
    if prime:
        cache.add(VERSION_CACHE_KEY.format(state.business_id), state.version, timeout=None)
    return f"{state.business_id}:{state.version}"


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
    """Bump the version the status pages poll against and announce the event."""
    state.version += 1
    state.save(update_fields=["version", "service_day", "last_ticket", "next_sort_key",
                              "service_estimate_seconds", "served_samples", "updated_at"])
    version, business_id = state.version, state.business_id
    # robust: the change is committed; a cache that fails now must not turn it into
    # an error (the polls read the database until the next change sets the version).
    transaction.on_commit(
        lambda: cache.set(VERSION_CACHE_KEY.format(business_id), version, timeout=None),
        robust=True,
    )
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


def _announce_two_ahead(state: QueueState, business: Business) -> None:
    """After someone left the waiting line, the third in line has exactly two ahead."""
    third = (QueueEntry.objects.filter(business=business, status=EntryStatus.WAITING)
             .order_by("sort_key")[2:3].first())
    if third is not None:
        queue_event.send(sender=QueueEntry, event="two_ahead", entry=third, business=business)


def _refuse_if_suspended(business: Business) -> None:
    owner = business.owner
    if not business.is_active or owner.is_suspended:
        raise QueueError(
            _("This business is not taking customers through Waitify at the moment."),
            code=BUSINESS_SUSPENDED, error="business_suspended", status=403,
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
        raise QueueError(_("The queue is closed right now."), code=QUEUE_CLOSED,
                         error="queue_closed", status=409)
    hours, zone = business.opening_hours, ZoneInfo(business.timezone)
    # The hours come before the merchant's switch: a customer at the door at night
    # learns when the shop reopens, whether or not the queue was closed for the night.
    if not is_open_at(hours, now, zone):
        opening = next_opening(hours, now, zone)
        raise QueueError(_("The shop is closed at this hour."), code=QUEUE_CLOSED,
                         error="outside_opening_hours", status=409,
                         extra={"next_opening": opening.isoformat()} if opening else {})
    if not business.is_queue_open:
        raise QueueError(_("The queue is closed right now."), code=QUEUE_CLOSED,
                         error="queue_closed", status=409)
    if business.is_queue_paused:
        raise QueueError(_("The queue is paused for a moment. Try again in a few minutes."),
                         code=QUEUE_CLOSED, error="queue_paused", status=409)
    closes = closing_at(hours, now, zone)
    if closes is not None and business.last_call_minutes:
        last_call = closes - timedelta(minutes=business.last_call_minutes)
        if now >= last_call:
            opening = next_opening(hours, closes, zone)
            raise QueueError(
                _("Last call has passed: the shop closes at %(time)s and takes no new "
                  "customers before then.") % {"time": closes.strftime("%H:%M")},
                code=QUEUE_CLOSED, error="last_call", status=409,
                extra={"closes_at": closes.isoformat(), "last_call_at": last_call.isoformat(),
                       **({"next_opening": opening.isoformat()} if opening else {})})


def _next_ticket(state: QueueState, today) -> int:
    if state.service_day != today:
        state.service_day, state.last_ticket = today, 0
    state.last_ticket += 1
    return state.last_ticket


def _append_key(state: QueueState) -> int:
    state.next_sort_key += KEY_STEP
    return state.next_sort_key


def _key_after(business: Business, state: QueueState, index: int,
               exclude: QueueEntry | None = None) -> int:
    """A key that places an entry right after the `index`-th waiting entry (0-based)."""
    waiting = QueueEntry.objects.waiting().filter(business=business).order_by("sort_key")
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
        return _key_after(business, state, index, exclude)
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
                         code=400, error="invalid_phone", status=400) from exc
    # The public form texts whatever number it is given: only allowed
    # destinations (French mobiles by default) are texted, against SMS pumping.
    # Other valid numbers may join without SMS (the status page only).
    if for_sms and not has_allowed_prefix(phone, settings.SMS_ALLOWED_PREFIXES):
        raise QueueError(_("We only send SMS to French mobiles (06 or 07). You can still "
                           "join without SMS and follow your turn on this page."),
                         code=400, error="destination_not_allowed", status=400)
    return phone


def entry_join(*, business: Business, phone: str, name: str = "", language: str = "fr",
               walk_in: bool = False, sms: bool = True) -> QueueEntry:
    """A customer joins the queue (or the merchant adds a walk-in without phone).

    `sms=False`: page-only mode, for a number we do not text or a customer who wants
    no SMS. The number is still required: one live place per number, limits per number.
    """
    phone = "" if walk_in and not phone else _normalized_phone(phone, for_sms=sms)
    name = (name or "").strip()[:60]
    if "\x00" in name:
        raise QueueError(_("This name contains characters we cannot store."), code=400,
                         error="invalid_name", status=400)
    try:
        with transaction.atomic():
            state, business = _lock(business.pk)
            now = timezone.now()
            if walk_in:
                _refuse_if_suspended(business)
            else:
                _ensure_accepting_joins(business, now)
            waiting = _waiting_with_room_for(business, phone)
            estimate = wait_estimate(business, state, waiting + 1)
            today = timezone.localdate(now)
            entry = QueueEntry.objects.create(
                business=business, phone=phone, customer_name=name, service_day=today,
                ticket_number=_next_ticket(state, today), sort_key=_append_key(state),
                estimated_wait_seconds=estimate.minutes * 60, language=language[:8],
                notify_by_sms=sms,
            )
            entry.position = waiting + 1
            _changed(state, "joined", business, entry)
    except IntegrityError:
        # The partial unique index backs the check made under the lock.
        if phone and QueueEntry.objects.live().filter(business_id=business.pk,
                                                      phone=phone).exists():
            raise _already_in_queue() from None
        raise
    return entry


def _waiting_with_room_for(business: Business, phone: str) -> int:
    """How many wait; refuses (4003, 4002) when the phone already has a live entry or
    the queue is full. One query, whatever the queue length."""
    counts = {"waiting": Count("pk", filter=Q(status=EntryStatus.WAITING))}
    if phone:  # a walk-in's "" is no one's phone
        counts["same_phone"] = Count("pk", filter=Q(phone=phone))
    counts = QueueEntry.objects.live().filter(business=business).aggregate(**counts)
    if counts.get("same_phone"):
        raise _already_in_queue()
    if counts["waiting"] >= business.max_queue_size:
        raise QueueError(_("The queue is full. Try again a little later."), code=QUEUE_FULL,
                         error="queue_full", status=409)
    return counts["waiting"]


def _already_in_queue() -> QueueError:
    """4003. It carries nothing about the entry (no link, ticket or position): anyone can
    type any number. The refusal itself cannot be avoided; the per-number and per-IP join
    limits bound how many numbers can be tried. The rightful customer gets back to their
    ticket from the device that joined, or by having the link texted to that number."""
    return QueueError(_("This number already has a place in this queue."),
                      code=ALREADY_IN_QUEUE, error="already_in_queue", status=409)


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
                   then=_announce_two_ahead, cancelled_by=CancelledBy.CUSTOMER)


def entry_remove(*, entry: QueueEntry) -> QueueEntry:
    """The merchant takes a waiting customer off the list (undoable for a moment)."""
    return _finish(entry, EntryStatus.WAITING, EntryStatus.CANCELLED, "cancelled",
                   then=_announce_two_ahead, cancelled_by=CancelledBy.MERCHANT)


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
            raise QueueError(_("You have already let people pass twice."), code=409,
                             error="snooze_limit", status=409)
        position = entry_position(entry)
        behind = QueueEntry.objects.waiting().filter(business=business,
                                                     sort_key__gt=entry.sort_key).exists()
        if not behind:
            raise QueueError(_("Nobody is behind you: you keep your place."), code=409,
                             error="nobody_behind", status=409)
        # Move right after the person who was behind: index `position` in 0-based
        # order once this entry is out of the way.
        new_key = _key_after(business, state, position - 1, exclude=entry)
        QueueEntry.objects.filter(pk=entry.pk).update(sort_key=new_key,
                                                      snooze_count=entry.snooze_count + 1,
                                                      updated_at=timezone.now())
        entry.sort_key, entry.snooze_count = new_key, entry.snooze_count + 1
        _changed(state, "snoozed", business, entry)
        if position <= 3:
            _announce_two_ahead(state, business)
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
                             code=409, error="rejoin_expired", status=409)
        _ensure_accepting_joins(business, now)
        waiting = _waiting_with_room_for(business, entry.phone)
        today = timezone.localdate(now)
        new_entry = QueueEntry.objects.create(
            business=business, phone=entry.phone, customer_name=entry.customer_name,
            service_day=today, ticket_number=_next_ticket(state, today),
            sort_key=_key_after(business, state, 0),
            estimated_wait_seconds=wait_estimate(business, state, min(2, waiting + 1)).minutes
            * 60, language=entry.language, rejoined_from=entry,
            notify_by_sms=entry.notify_by_sms,
        )
        _changed(state, "rejoined", business, new_entry)
    return new_entry


# --- Merchant operations ---------------------------------------------------------------------

def queue_call_next(*, business: Business) -> QueueEntry:
    """The oldest waiting entry becomes called. Concurrent clicks call different people."""
    with transaction.atomic():
        state, business = _lock(business.pk)
        _refuse_if_suspended(business)
        entry = (QueueEntry.objects.filter(business=business, status=EntryStatus.WAITING)
                 .order_by("sort_key").first())
        if entry is None:
            raise QueueError(_("Nobody is waiting."), code=409, error="queue_empty", status=409)
        _call(entry)
        _changed(state, "called", business, entry)
        _announce_two_ahead(state, business)
    return entry


def _call(entry: QueueEntry) -> None:
    now = timezone.now()
    _transition(entry, (EntryStatus.WAITING,), status=EntryStatus.CALLED, called_at=now,
                actual_wait_seconds=max(0, int((now - entry.created_at).total_seconds())))


def entry_mark_arrived(*, entry: QueueEntry) -> QueueEntry:
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


def entry_serve(*, entry: QueueEntry) -> QueueEntry:
    """The called customer has been served; their service time teaches the estimate."""
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
                    finished_at=now, actual_service_seconds=seconds)
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


def entry_miss(*, entry: QueueEntry) -> QueueEntry:
    """The called customer did not come. Idempotent."""
    return _finish(entry, EntryStatus.CALLED, EntryStatus.MISSED, "missed")


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
    return QueueError(_("It is too late to undo this."), code=409, error="undo_expired",
                      status=409)


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
        if (business.auto_advance_enabled and business.is_queue_open
                and not business.is_queue_paused):
            following = (QueueEntry.objects.filter(business=business, status=EntryStatus.WAITING)
                         .order_by("sort_key").first())
            if following is not None:
                _call(following)
                _changed(state, "called", business, following)
                _announce_two_ahead(state, business)
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
                code=403, error="account_read_only", status=403,
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


# --- Helpers ----------------------------------------------------------------------------------

def entry_refresh(entry: QueueEntry) -> QueueEntry:
    entry.refresh_from_db()
    return entry


def _cannot(entry: QueueEntry) -> QueueError:
    return QueueError(
        _("This ticket is %(status)s: that action is no longer possible.")
        % {"status": entry.get_status_display()},
        code=409, error="invalid_transition", status=409,
    )


def queue_state_create(sender, *, instance: Business, created: bool, **kwargs) -> None:
    """`post_save` receiver of Business: a new business gets its queue state at once.

    Pages read the state (the shop display's link, the version polls compare) before
    the queue is ever opened; created with the business, in its transaction, whichever
    way the business was made (the merchant's form, the API, the admin).
    """
    if created:
        QueueState.objects.bulk_create([QueueState(business_id=instance.pk)],
                                       ignore_conflicts=True)


def display_regenerate_token(*, business: Business) -> QueueState:
    """A new read-only link for the shop's screen; the old one stops working."""
    with transaction.atomic():
        state, _ = _lock(business.pk)
        state.display_token = new_display_token()
        state.save(update_fields=["display_token", "updated_at"])
    return state

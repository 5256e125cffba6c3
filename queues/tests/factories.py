from __future__ import annotations

import itertools

from businesses.models import Business
from queues import services
from queues.models import QueueEntry

_numbers = itertools.count(10_000_000)


def french_mobile() -> str:
    return f"06{next(_numbers) % 100_000_000:08d}"


def open_queue(business: Business) -> Business:
    return services.queue_open(business=business)


def join(business: Business, phone: str | None = None, name: str = "") -> QueueEntry:
    return services.entry_join(business=business, phone=phone or french_mobile(), name=name)


def fill(business: Business, count: int) -> list[QueueEntry]:
    return [join(business) for _ in range(count)]

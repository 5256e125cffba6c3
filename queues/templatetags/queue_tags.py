from datetime import timedelta

from django import template

from businesses.models import Business
from queues.models import QueueEntry
from waitify.lib.phones import mask_phone as mask

register = template.Library()


@register.filter
def mask_phone(phone: str) -> str:
    return mask(phone)


@register.filter
def deadline(entry: QueueEntry, business: Business) -> str:
    """When a called customer times out, as ISO 8601 for the countdown."""
    if not entry.called_at:
        return ""
    return (entry.called_at + timedelta(minutes=business.client_timeout_minutes)).isoformat()

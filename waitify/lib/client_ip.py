"""Who is asking: the one client address every limit in the product counts by.

The join limits, the API throttles and allauth's failed-login limits all call
`client_ip`, so a limit cannot be dodged on one door that holds on another.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the address the outermost trusted proxy saw.

    X-Forwarded-For is read only when `NUM_PROXIES` says how many proxies of ours
    append to it: anything to the left of theirs was written by the client and
    could change with every request. With the default 0 no forwarded header is
    trusted.
    """
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not (proxies and forwarded):
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    candidate = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:  # garbage in the header: our proxy would not have written it
        return remote

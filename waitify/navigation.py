"""Which section of the main menu a page belongs to, decided in one place for every page."""

from __future__ import annotations

from django.http import HttpRequest

# By view name ("namespace:name"); pages not listed here fall back on their app.
SECTIONS_BY_VIEW = {
    "queues:overview": "businesses",
    "queues:live": "businesses",
    "businesses:create": "businesses",
    "businesses:detail": "businesses",
    "businesses:staff": "staff",
    "analytics:comparison": "statistics",
    "analytics:business": "statistics",
    # The account's own data belongs with the account, whatever app serves it.
    "analytics:account_delete": "account",
    "analytics:account_export": "account",
    "businesses:account": "account",
    "account_change_password": "account",
    "account_set_password": "account",
    "account_email": "account",
    "account_reauthenticate": "account",
    "socialaccount_connections": "account",
    "account_login": "login",
}
SECTIONS_BY_APP = {"billing": "billing", "businesses": "businesses", "analytics": "statistics"}


def nav_section(request: HttpRequest) -> dict[str, str]:
    """Context processor: `nav_section`, the menu entry the page marks as current."""
    match = request.resolver_match
    if match is None:  # error pages
        return {"nav_section": ""}
    section = SECTIONS_BY_VIEW.get(match.view_name) or SECTIONS_BY_APP.get(match.app_name, "")
    return {"nav_section": section}

"""Seeds rush-hour shops in the tree being measured (run by bench/rush.py, one process per slice).

Run with the measured tree as the working directory: its own code seeds its own database
(this file is also run against an export of an older commit, so it uses only the few
service calls both share). Prints one JSON line per shop: ids, secrets and the merchant's
session cookie, which is all a browser holds.

    python /path/to/bench/rush_seed.py FIRST LAST WAITING
"""

from __future__ import annotations

import json
import os
import sys

# The measured tree, not this file's folder (whose bench modules would shadow the apps).
sys.path[0] = os.getcwd()


def main(first: int, last: int, waiting: int) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from businesses import services as business_services
    from businesses.models import Plan, User
    from queues import services

    business_services.ensure_default_plans()
    plan = Plan.objects.get(name="enterprise")
    for index in range(first, last):
        owner = User.objects.create_user(
            f"rush-{index:05d}@bench.invalid", None, plan=plan,
            subscription_status=User.Status.ACTIVE, first_name=f"Rush {index}")
        business = business_services.business_create(
            owner=owner, name=f"Rush {index:05d}", business_type="bakery", max_queue_size=200)
        services.queue_open(business=business)
        secrets = [services.entry_join(business=business, phone=f"+337500{k:05d}").secret
                   for k in range(waiting)]
        browser = Client()
        browser.force_login(owner)
        business.refresh_from_db()
        print(json.dumps({
            "index": index, "id": str(business.pk), "qr_token": business.qr_token,
            "display_token": business.queue_state_row.display_token, "secrets": secrets,
            "session": browser.cookies[settings.SESSION_COOKIE_NAME].value,
            "session_cookie": settings.SESSION_COOKIE_NAME,
            "csrf_cookie": settings.CSRF_COOKIE_NAME,
        }), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))

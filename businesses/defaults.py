"""Default plans of the platform. Plain data: the data migration and
`ensure_default_plans` read it."""

DEFAULT_PLANS = [
    {"name": "basic", "title": "Basic", "price_cents": 1900, "max_businesses": 1,
     "sms_quota_monthly": 1000, "analytics_level": "basic", "api_access": False,
     "custom_branding": False, "max_counters": 1},
    {"name": "pro", "title": "Pro", "price_cents": 4900, "max_businesses": 5,
     "sms_quota_monthly": 2500, "analytics_level": "advanced", "api_access": True,
     "custom_branding": True, "max_counters": 5},
    {"name": "enterprise", "title": "Enterprise", "price_cents": 9900, "max_businesses": -1,
     "sms_quota_monthly": 5000, "analytics_level": "advanced", "api_access": True,
     "custom_branding": True, "max_counters": None},
]

# Staff seats per plan, the owner included (None: unlimited); staff change them in the
# admin.
DEFAULT_MAX_STAFF = {"basic": 1, "pro": 10, "enterprise": None}

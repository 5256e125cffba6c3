from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from waitify import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("waitify.api_urls")),
    path("health", health.health, name="health"),
    # Browsers ask for /favicon.ico on pages that name no icon (the Django admin's).
    path("favicon.ico", lambda request: redirect(static("img/favicon.svg"), permanent=True)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("businesses.urls")),
    path("", include("queues.urls")),
    path("", include("analytics.urls")),
    path("billing/", include("billing.urls")),
]

if settings.BENCH_VIEWS:  # `make bench` only: the machine's ceiling, see waitify/bench_views.py
    from waitify import bench_views

    urlpatterns += [
        path("bench/trivial", bench_views.trivial, name="bench-trivial"),
        path("bench/insert", bench_views.single_insert, name="bench-insert"),
        path("bench/bare-join/<uuid:business_id>", bench_views.bare_join,
             name="bench-bare-join"),
    ]

from django.contrib import admin
from django.urls import include, path

from waitify import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("waitify.api_urls")),
    path("health", health.health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("businesses.urls")),
    path("", include("queues.urls")),
    path("", include("analytics.urls")),
    path("billing/", include("billing.urls")),
]

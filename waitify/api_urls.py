from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from businesses import api as businesses_api
from waitify.lib.api import not_found

urlpatterns = [
    path("auth/token", businesses_api.AuthTokenView.as_view(), name="api-auth-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("", include("businesses.api")),
    path("", include("businesses.staff_api")),
    path("", include("queues.api")),
    path("", include("analytics.api")),
    path("", include("billing.api")),
    # Keep last: any other path under /api/v1/ (a malformed id included) is a JSON 404.
    re_path(r"", not_found),
]

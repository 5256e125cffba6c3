from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from businesses import api as businesses_api

urlpatterns = [
    path("auth/token", businesses_api.AuthTokenView.as_view(), name="api-auth-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("", include("businesses.api")),
]

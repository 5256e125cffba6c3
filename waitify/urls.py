from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_safe

from waitify import health

# Staff sign in through the site's login: its failed-login limits (per account and per
# address) then guard the admin too, and a signed-in non-staff account gets a 403.
admin.site.login = secure_admin_login(admin.site.login)


@require_safe
def favicon(request):
    # Browsers ask for /favicon.ico on pages that name no icon (the Django admin's).
    return redirect(static("img/favicon.svg"), permanent=True)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("waitify.api_urls")),
    path("health", health.health, name="health"),
    path("favicon.ico", favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("businesses.urls")),
    path("", include("queues.urls")),
    path("", include("analytics.urls")),
    path("billing/", include("billing.urls")),
]

# Under /api/ it answers in the API's JSON error shape, elsewhere with Django's page.
handler500 = "waitify.lib.api.server_error"

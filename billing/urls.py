from django.urls import path

from billing import views, webhooks

app_name = "billing"

urlpatterns = [
    path("", views.billing_page, name="page"),
    path("plans/<slug:plan_name>/choose", views.plan_choose, name="choose"),
    path("portal", views.portal, name="portal"),
    path("webhooks", webhooks.stripe_webhook, name="webhooks"),
]

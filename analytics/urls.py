from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("analytics/", views.comparison, name="comparison"),
    path("businesses/<uuid:business_id>/analytics/", views.business_analytics, name="business"),
    path("businesses/<uuid:business_id>/analytics/export.csv", views.business_export_csv,
         name="business_export"),
    path("account/export.json", views.account_export, name="account_export"),
    path("account/delete/", views.account_delete, name="account_delete"),
]

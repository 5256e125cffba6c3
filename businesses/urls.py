from django.urls import path

from businesses import staff_views, views

app_name = "businesses"

urlpatterns = [
    path("businesses/new/", views.business_create, name="create"),
    path("businesses/<uuid:business_id>/", views.business_detail, name="detail"),
    path("businesses/<uuid:business_id>/deactivate/", views.business_deactivate,
         name="deactivate"),
    path("businesses/<uuid:business_id>/activate/", views.business_activate, name="activate"),
    path("businesses/<uuid:business_id>/qr/regenerate/", views.business_regenerate_qr,
         name="regenerate_qr"),
    path("businesses/<uuid:business_id>/qr.png", views.business_qr_png, name="qr_png"),
    path("businesses/<uuid:business_id>/qr.svg", views.business_qr_svg, name="qr_svg"),
    path("businesses/<uuid:business_id>/poster.pdf", views.business_poster_pdf, name="poster"),
    path("account/", views.account_profile, name="account"),
    path("staff/", staff_views.staff_page, name="staff"),
    path("staff/<uuid:membership_id>/", staff_views.staff_member_update, name="staff_update"),
    path("staff/<uuid:membership_id>/remove/", staff_views.staff_member_remove,
         name="staff_remove"),
    path("staff/join/<str:token>/", staff_views.staff_join, name="staff_join"),
    path("legal/<slug:slug>/", views.legal_page, name="legal"),
]

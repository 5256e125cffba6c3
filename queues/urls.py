from django.urls import path

from queues import views

app_name = "queues"

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.overview, name="overview"),
    # Customer (public)
    path("q/<str:token>", views.join_page, name="join"),
    path("q/<str:token>/state", views.join_state, name="join_state"),
    path("q/s/<str:secret>", views.entry_status, name="status"),
    path("q/s/<str:secret>/cancel", views.entry_cancel, name="cancel"),
    path("q/s/<str:secret>/snooze", views.entry_snooze, name="snooze"),
    path("q/s/<str:secret>/rejoin", views.entry_rejoin, name="rejoin"),
    path("q/<str:token>/link", views.resend_link, name="resend_link"),
    # Merchant
    path("businesses/<uuid:business_id>/queue/", views.live_queue, name="live"),
    path("businesses/<uuid:business_id>/queue/walk-in/", views.walk_in, name="walk_in"),
    path("businesses/<uuid:business_id>/queue/display-link/", views.display_regenerate,
         name="display_regenerate"),
    path("businesses/<uuid:business_id>/queue/<slug:action>/", views.queue_action,
         name="queue_action"),
    path("businesses/<uuid:business_id>/queue/entries/<uuid:entry_id>/ticket/",
         views.entry_ticket, name="ticket"),
    path("businesses/<uuid:business_id>/queue/entries/<uuid:entry_id>/<slug:action>/",
         views.entry_action, name="entry_action"),
    # Shop display (its own read-only link)
    path("display/<str:token>", views.display_screen, name="display"),
]

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
    path("businesses/<uuid:business_id>/queue/counters/<uuid:counter_id>/switch/",
         views.counter_switch, name="counter_switch"),
    path("businesses/<uuid:business_id>/counters-and-services/", views.setup, name="setup"),
    path("businesses/<uuid:business_id>/services/add/", views.service_save, name="service_add"),
    path("businesses/<uuid:business_id>/services/<uuid:service_id>/", views.service_save,
         name="service_save"),
    path("businesses/<uuid:business_id>/services/<uuid:service_id>/delete/",
         views.service_delete, name="service_delete"),
    path("businesses/<uuid:business_id>/counters/add/", views.counter_save, name="counter_add"),
    path("businesses/<uuid:business_id>/counters/<uuid:counter_id>/", views.counter_save,
         name="counter_save"),
    path("businesses/<uuid:business_id>/counters/<uuid:counter_id>/delete/",
         views.counter_delete, name="counter_delete"),
    path("businesses/<uuid:business_id>/queue/<slug:action>/", views.queue_action,
         name="queue_action"),
    path("businesses/<uuid:business_id>/queue/entries/<uuid:entry_id>/ticket/",
         views.entry_ticket, name="ticket"),
    path("businesses/<uuid:business_id>/queue/entries/<uuid:entry_id>/<slug:action>/",
         views.entry_action, name="entry_action"),
    # Shop display (its own read-only link)
    path("display/<str:token>", views.display_screen, name="display"),
]

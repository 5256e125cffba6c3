"""The app's URLs plus the benchmark's reference views (bench/views.py)."""

from django.urls import path

from bench import views
from waitify.urls import urlpatterns as app_urlpatterns

urlpatterns = [
    *app_urlpatterns,
    path("bench/trivial", views.trivial, name="bench-trivial"),
    path("bench/insert", views.single_insert, name="bench-insert"),
    path("bench/bare-join/<uuid:business_id>", views.bare_join, name="bench-bare-join"),
]

from django.urls import path

from queues import views

app_name = "queues"

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.overview, name="overview"),
    path("q/<str:token>", views.join_page, name="join"),
]

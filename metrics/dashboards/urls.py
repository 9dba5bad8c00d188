from django.urls import path

from metrics.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.team_dashboard_view, name="team"),
    path("me/", views.my_dashboard_view, name="me"),
    path("members/<int:pk>/", views.member_dashboard_view, name="member"),
    path("stores/", views.store_overview_view, name="stores"),
]

from django.urls import path

from metrics.pipeline import views

app_name = "pipeline"

urlpatterns = [
    path("", views.stuck_list_view, name="stuck_list"),
    path("stuck/<int:pk>/", views.stuck_detail_view, name="stuck_detail"),
    path("stuck/<int:pk>/plan/", views.stuck_plan_view, name="stuck_plan"),
    path("stuck/<int:pk>/respond/", views.stuck_respond_view, name="stuck_respond"),
    path("health/", views.health_view, name="health"),
    path("best-hours/", views.best_hours_view, name="best_hours"),
]

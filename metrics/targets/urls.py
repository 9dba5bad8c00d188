from django.urls import path

from metrics.targets import views

app_name = "targets"

urlpatterns = [
    path("", views.target_list_view, name="list"),
    path("new/", views.target_create_view, name="create"),
    path("<int:pk>/", views.target_detail_view, name="detail"),
    path("<int:pk>/edit/", views.target_edit_view, name="edit"),
    path("<int:pk>/delete/", views.target_delete_view, name="delete"),
    path("decompose/", views.decompose_view, name="decompose"),
    path("promotions/", views.promotion_list_view, name="promotions"),
    path("promotions/new/", views.promotion_create_view, name="promotion_create"),
    path("record/", views.record_view, name="record"),
    path("alerts/", views.alert_list_view, name="alerts"),
    path("alerts/read/", views.alert_read_view, name="alert_read"),
]

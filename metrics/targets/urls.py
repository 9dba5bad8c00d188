from django.urls import path

from metrics.targets.views import alerts, decompose, promotions, records, targets

app_name = "targets"

urlpatterns = [
    path("", targets.target_list_view, name="list"),
    path("new/", targets.target_create_view, name="create"),
    path("<int:pk>/", targets.target_detail_view, name="detail"),
    path("<int:pk>/edit/", targets.target_edit_view, name="edit"),
    path("<int:pk>/delete/", targets.target_delete_view, name="delete"),
    path("decompose/", decompose.decompose_view, name="decompose"),
    path("promotions/", promotions.promotion_list_view, name="promotions"),
    path("promotions/new/", promotions.promotion_create_view, name="promotion_create"),
    path("record/", records.record_view, name="record"),
    path("alerts/", alerts.alert_list_view, name="alerts"),
    path("alerts/read/", alerts.alert_read_view, name="alert_read"),
]

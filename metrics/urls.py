from django.urls import path

from metrics import views

app_name = "metrics"

urlpatterns = [
    path("kpis/", views.kpi_definitions_view, name="kpi_definitions"),
    path("imports/", views.batch_list_view, name="batch_list"),
    path("imports/new/", views.upload_view, name="upload"),
    path("imports/<int:pk>/", views.batch_detail_view, name="batch_detail"),
    path("imports/<int:pk>/map/", views.batch_map_view, name="batch_map"),
    path("imports/<int:pk>/import-valid/", views.batch_import_valid_view, name="batch_import_valid"),
    path("imports/<int:pk>/run-again/", views.batch_run_again_view, name="batch_run_again"),
    path("imports/<int:pk>/errors.csv", views.batch_errors_csv_view, name="batch_errors_csv"),
    path("imports/<int:pk>/file/", views.batch_file_view, name="batch_file"),
]

"""The metrics app's pages under /data/: the KPI definitions and the import pages (one URL
namespace, "metrics", for both, as links and bookmarks have always used it)."""

from django.urls import path

from metrics.importing import views as importing
from metrics.kpis import views as kpis

app_name = "metrics"

urlpatterns = [
    path("kpis/", kpis.kpi_definitions_view, name="kpi_definitions"),
    path("imports/", importing.batch_list_view, name="batch_list"),
    path("imports/new/", importing.upload_view, name="upload"),
    path("imports/<int:pk>/", importing.batch_detail_view, name="batch_detail"),
    path("imports/<int:pk>/map/", importing.batch_map_view, name="batch_map"),
    path("imports/<int:pk>/import-valid/", importing.batch_import_valid_view, name="batch_import_valid"),
    path("imports/<int:pk>/run-again/", importing.batch_run_again_view, name="batch_run_again"),
    path("imports/<int:pk>/errors.csv", importing.batch_errors_csv_view, name="batch_errors_csv"),
    path("imports/<int:pk>/file/", importing.batch_file_view, name="batch_file"),
]

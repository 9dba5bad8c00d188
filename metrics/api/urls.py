from django.urls import path
from rest_framework.routers import DefaultRouter

from metrics.api.kpis import KpiView
from metrics.api.views import ImportBatchViewSet

router = DefaultRouter()
router.register("imports/batches", ImportBatchViewSet, basename="import-batch")

urlpatterns = [path("kpis/", KpiView.as_view(), name="kpis"), *router.urls]

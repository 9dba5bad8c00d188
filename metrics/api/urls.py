from rest_framework.routers import DefaultRouter

from metrics.api.views import ImportBatchViewSet

router = DefaultRouter()
router.register("imports/batches", ImportBatchViewSet, basename="import-batch")

urlpatterns = router.urls

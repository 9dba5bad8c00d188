from rest_framework.routers import DefaultRouter

from incentives.api.views import PlanViewSet

# No root of its own: perfmgmt/urls.py serves one API root listing every app's collections.
router = DefaultRouter()
router.include_root_view = False
router.register("plans", PlanViewSet, basename="plan")

urlpatterns = router.urls

from django.urls import path
from rest_framework.routers import DefaultRouter

from metrics.dashboards.api import MemberDashboardApi, MyDashboardApi, StoreOverviewApi, TeamDashboardApi
from metrics.importing.api import ImportBatchViewSet
from metrics.kpis.api import KpiView
from metrics.pipeline.api import StuckDealViewSet
from metrics.targets.api.decompose import DecomposeApi
from metrics.targets.api.promotions import PromotionViewSet
from metrics.targets.api.records import BehaviourRecordViewSet
from metrics.targets.api.targets import TargetViewSet

# No root of its own: perfmgmt/urls.py serves one API root listing every app's collections.
router = DefaultRouter()
router.include_root_view = False
router.register("imports/batches", ImportBatchViewSet, basename="import-batch")
router.register("targets", TargetViewSet, basename="target")
router.register("behaviour-records", BehaviourRecordViewSet, basename="behaviour-record")
router.register("promotions", PromotionViewSet, basename="promotion")
router.register("pipeline/stuck-deals", StuckDealViewSet, basename="stuck-deal")

urlpatterns = [
    path("kpis/", KpiView.as_view(), name="kpis"),
    path("dashboards/team/", TeamDashboardApi.as_view(), name="api_dashboard_team"),
    path("dashboards/me/", MyDashboardApi.as_view(), name="api_dashboard_me"),
    path("dashboards/members/<int:pk>/", MemberDashboardApi.as_view(), name="api_dashboard_member"),
    path("dashboards/stores/", StoreOverviewApi.as_view(), name="api_dashboard_stores"),
    path("targets/decompose/", DecomposeApi.as_view(), name="api_target_decompose"),
    *router.urls,
]

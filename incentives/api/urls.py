from django.urls import path
from rest_framework.routers import DefaultRouter

from incentives.api.plans import PlanViewSet
from incentives.api.statements import ManualLineViewSet, StatementViewSet

# No root of its own: perfmgmt/urls.py serves one API root listing every app's collections.
router = DefaultRouter()
router.include_root_view = False
router.register("plans", PlanViewSet, basename="plan")
router.register("statements", StatementViewSet, basename="statement")

# A statement's manual lines, under it (plain paths: a router prefix with the statement's id
# could not be listed in the API root).
manual_lines = ManualLineViewSet.as_view({"get": "list", "post": "create"})
manual_line = ManualLineViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})

urlpatterns = [
    *router.urls,
    path("statements/<int:statement_pk>/manual-lines/", manual_lines, name="statement-manual-line-list"),
    path("statements/<int:statement_pk>/manual-lines/<int:pk>/", manual_line, name="statement-manual-line-detail"),
]

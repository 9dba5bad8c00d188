from rest_framework.routers import DefaultRouter

from reviews.api.views import AppraisalTemplateViewSet

# No root of its own: perfmgmt/urls.py serves one API root listing every app's collections.
router = DefaultRouter()
router.include_root_view = False
router.register("appraisal-templates", AppraisalTemplateViewSet, basename="appraisal-template")

urlpatterns = router.urls

from rest_framework.routers import DefaultRouter

from teams.api.views import MemberViewSet, PlatformAccountViewSet, StoreViewSet, TeamViewSet

router = DefaultRouter()
router.register("stores", StoreViewSet, basename="store")
router.register("teams", TeamViewSet, basename="team")
router.register("members", MemberViewSet, basename="member")
router.register("platform-accounts", PlatformAccountViewSet, basename="platform-account")

urlpatterns = router.urls

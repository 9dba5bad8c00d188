from rest_framework.routers import DefaultRouter

from teams.api.views import (
    MemberViewSet,
    PlatformAccountViewSet,
    RoleGrantViewSet,
    StoreViewSet,
    TeamViewSet,
    UserViewSet,
)

# No root of its own: perfmgmt/urls.py serves one API root listing every app's collections.
router = DefaultRouter()
router.include_root_view = False
router.register("stores", StoreViewSet, basename="store")
router.register("teams", TeamViewSet, basename="team")
router.register("members", MemberViewSet, basename="member")
router.register("platform-accounts", PlatformAccountViewSet, basename="platform-account")
router.register("users", UserViewSet, basename="user")
router.register("role-grants", RoleGrantViewSet, basename="role-grant")

urlpatterns = router.urls

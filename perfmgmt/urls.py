from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import APIRootView
from rest_framework.urlpatterns import format_suffix_patterns

from incentives.api.urls import router as incentives_router
from metrics.api.urls import router as metrics_router
from perfmgmt.schema import ApiNotFoundView
from perfmgmt.views import TokenObtainView, favicon, healthz
from reviews.api.urls import router as reviews_router
from teams.access_views import PasswordSetDoneView, PasswordSetView, setup_view
from teams.api.urls import router as teams_router
from teams.views import home

account_urls = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    # The one-time link of an invitation or of a new password link (teams/services/users.py).
    path("set-password/<uidb64>/<token>/", PasswordSetView.as_view(), name="password_set"),
    path("set-password/done/", PasswordSetDoneView.as_view(), name="password_set_done"),
]

# The API's root lists the collections of every app's router (each router alone would list its own).
api_root = APIRootView.as_view(
    api_root_dict={
        prefix: f"{basename}-list"
        for router in (teams_router, metrics_router, reviews_router, incentives_router)
        for prefix, _viewset, basename in router.registry
    }
)

api_urls = [
    *format_suffix_patterns([path("", api_root, name="api-root")]),
    path("", include("teams.api.urls")),
    path("", include("metrics.api.urls")),
    path("", include("reviews.api.urls")),
    path("", include("incentives.api.urls")),
    path("auth/token/", TokenObtainView.as_view(), name="api_token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script as a file (?script): the CSP allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger_ui"),
    # Last: any other address under /api/ answers a JSON 404, not the site's HTML page.
    re_path(r"^.*/$", ApiNotFoundView.as_view(), name="api_not_found"),
]

urlpatterns = [
    path("", home, name="home"),
    path("setup/", setup_view, name="setup"),
    path("accounts/", include(account_urls)),
    path("org/", include("teams.urls")),
    path("data/", include("metrics.urls")),
    path("dashboard/", include("metrics.dashboards.urls")),
    path("targets/", include("metrics.targets.urls")),
    path("pipeline/", include("metrics.pipeline.urls")),
    path("appraisals/", include("reviews.urls")),
    path("pay/", include("incentives.urls")),
    path("api/", include(api_urls)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
]

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_safe
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.throttling import ScopedRateThrottle

from perfmgmt.health import dependencies_check


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Each dependency's state, for monitoring: 200 when the database, the cache, the broker and a
    worker (seen within the last 100 s) are all up, else 503; the body names each one, "ok" or why
    not. With `?live`, only this web process and its database, for container health checks and load
    balancers: a web process keeps serving while Redis or the workers are away (docs/deploy.md)."""
    answers = dependencies_check(live="live" in request.GET)
    down = [name for name, problem in answers.items() if problem]
    body = {"status": "error" if down else "ok", "down": down}
    body.update({name: problem or "ok" for name, problem in answers.items()})
    return JsonResponse(body, status=503 if down else 200)


@require_safe
@cache_control(public=True, max_age=24 * 3600)  # seconds: a changed icon reaches browsers within a day
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """/favicon.ico, which browsers ask for on pages that link no icon (the Django admin's, a JSON
    answer): the site's icon, a static file like every other (whitenoise serves it)."""
    return HttpResponseRedirect(static("img/favicon.ico"))


class TokenObtainView(ObtainAuthToken):
    """POST username and password, get the API token. Throttled, and subject to login lockout."""

    # Signing in needs no credentials: a stale token or a session without its CSRF token must not
    # stand in the way (and the schema then shows the operation as open to anyone).
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token_obtain"

    @extend_schema(
        responses={
            200: AuthTokenSerializer,
            400: OpenApiResponse(description="Unknown username or wrong password (or a field missing)."),
            429: OpenApiResponse(
                description="Too many requests from this address (throttle), or this username is locked "
                "out from this address after repeated failures (django-axes); Retry-After says how long."
            ),
        }
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            # django-axes marks the request it was given, here DRF's, not the Django request its
            # middleware reads: without this a locked-out pair would only read "unable to log in".
            if getattr(request, "axes_locked_out", False):
                # Every attempt during a lockout restarts it (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT),
                # so the whole cool-off lies ahead; seconds.
                cool_off = get_cool_off(request)
                raise Throttled(
                    wait=cool_off.total_seconds() if cool_off else None,
                    detail=_("Too many failed sign-ins with this username from this address."),
                ) from None
            raise

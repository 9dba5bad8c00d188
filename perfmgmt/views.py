from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for container health checks and load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return JsonResponse({"status": "error", "database": str(error.__class__.__name__)}, status=503)
    return JsonResponse({"status": "ok"})


class TokenObtainView(ObtainAuthToken):
    """POST username and password, get the API token. Throttled, and subject to login lockout."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token_obtain"

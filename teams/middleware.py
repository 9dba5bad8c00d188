"""An installation with no user at all leads every visitor to the set-up page (teams/access_views.py).

Only anonymous requests can meet an empty installation (a signed-in one proves a user exists),
so they alone pay the one-row query that asks; once the first user exists, nothing changes for
anybody. Static files, the health check, the language switch and the API (which answers 401 as
always) are left alone."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from teams.services.setup import installation_is_empty

_LEFT_ALONE = ("/api/", "/i18n/", "/healthz", "/favicon.ico")


class SetupRedirectMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and self._applies(request.path_info) and installation_is_empty():
            return redirect("setup")
        return self.get_response(request)

    @staticmethod
    def _applies(path: str) -> bool:
        left_alone = (*_LEFT_ALONE, reverse("setup"), f"/{settings.STATIC_URL.lstrip('/')}",
                      f"/{settings.MEDIA_URL.lstrip('/')}")  # fmt: skip
        return not path.startswith(left_alone)

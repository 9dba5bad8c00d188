"""What every HTML page of every app needs of its request, written once."""

from __future__ import annotations

from django.http import HttpRequest

from teams.selectors.scoping import Viewer, viewer_get


def viewer_for_request(*, request: HttpRequest) -> Viewer:
    """The viewer of a page's request (resolved once, then cached on its user for the request)."""
    return viewer_get(user=request.user)

from django.http import HttpRequest

from teams.selectors.scoping import viewer_get


def viewer(request: HttpRequest) -> dict:
    """`viewer` in every template: the roles that decide the navigation."""
    user = getattr(request, "user", None)
    return {"viewer": viewer_get(user=user) if user is not None else None}

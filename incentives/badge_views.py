"""The team badge wall: the badges a team's members earned in the last 30 days. Team leads,
managers, HR and administrators open the walls of the teams they oversee; every member opens
their own team's wall too (badges are public praise), and nothing else. Thin: parse, check who
asks, read the wall."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from incentives.services.badges import WALL_DAYS, badge_wall, badge_wall_teams
from perfmgmt.common.periods import store_today
from teams.models import TeamMembership
from teams.web import viewer_for_request


@login_required
@require_GET
def badge_wall_view(request: HttpRequest) -> HttpResponse:
    """?team=<id>: that team's wall (one the viewer may open); without it, the viewer's own team's
    or the first they oversee."""
    viewer = viewer_for_request(request=request)
    teams = list(badge_wall_teams(viewer=viewer, today=store_today(None)))
    chosen = request.GET.get("team", "").strip()
    team = None
    if chosen:
        # Not a number, no such team and a team the viewer may not open get the same answer.
        team = next((t for t in teams if chosen.isdigit() and t.pk == int(chosen)), None)
        if team is None:
            raise Http404(_("No such team."))
    elif teams:
        own = set()
        if viewer.member_id:
            own = set(TeamMembership.objects.filter(member_id=viewer.member_id, end_date__isnull=True)
                      .values_list("team_id", flat=True))  # fmt: skip
        team = next((t for t in teams if t.pk in own), teams[0])
    wall = badge_wall(team=team, today=store_today(team.store)) if team else None
    return render(request, "incentives/badges.html", {"teams": teams, "team": team, "wall": wall, "days": WALL_DAYS})

"""The reads of the target pages that follow the targets' tree (a target's parent and children):
the list's roots, the tree below them, one target's children and its recent alerts, each among
the targets the viewer sees (metrics.targets.selectors.target_list). The pages draw the rows
(metrics.targets.views.rows)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Case, IntegerField, QuerySet, Value, When

from metrics.models import Target, TargetAlert, TargetTier
from metrics.targets.selectors import target_list, target_list_filtered
from teams.selectors.scoping import Viewer

TIER_ORDER = {TargetTier.STRATEGY: 0, TargetTier.TACTIC: 1, TargetTier.EXECUTION: 2}
MAX_DEPTH = 6  # levels read below the roots
EXECUTION_SHOWN = 6  # more execution targets of several members under one parent: folded into one row
ALERTS_SHOWN = 50  # a target's latest alerts on its page

# A node of the tree: a target, or the execution targets of several members under one parent
# (to be folded into one row), with its depth below the roots.
TreeNode = tuple[Target | list[Target], int]


def target_list_for_page(
    *,
    viewer: Viewer,
    today: dt.date,
    period: str,
    store_id: int | None,
    team_id: int | None,
    tier: str,
    roots_only: bool,
) -> QuerySet[Target]:
    """The targets of the list page, filtered (target_list_filtered) and annotated with
    `tier_order` (strategy, tactic, execution) to sort on; `roots_only`: only those whose parent
    is not listed, the roots of the tree."""
    targets = target_list_filtered(
        viewer=viewer, today=today, period=period, store_id=store_id, team_id=team_id, tier=tier
    )
    if roots_only:
        targets = targets.exclude(parent__in=targets.values("pk"))
    return targets.annotate(
        tier_order=Case(*(When(tier=t, then=Value(n)) for t, n in TIER_ORDER.items()), output_field=IntegerField())
    )


def target_child_key(target: Target) -> tuple:
    """The order of targets under one parent: by tier, start, team, member, name."""
    member = target.member.display_name if target.member_id else ""
    return (TIER_ORDER.get(target.tier, 9), target.start, target.team_id or 0, member, target.name_text, target.pk)


def target_tree_get(*, viewer: Viewer, roots: list[Target]) -> list[TreeNode]:
    """The roots with the descendants the viewer sees below them (up to MAX_DEPTH levels), depth
    first. Many execution targets under one parent (every member's weeks) come as one list, to
    be folded into one row."""
    visible = target_list(viewer=viewer)
    children: dict[int, list[Target]] = defaultdict(list)
    seen = {root.pk for root in roots}
    frontier = list(seen)
    for _depth in range(MAX_DEPTH):
        if not frontier:
            break
        found = [t for t in visible.filter(parent_id__in=frontier) if t.pk not in seen]
        for target in found:
            children[target.parent_id].append(target)
            seen.add(target.pk)
        frontier = [t.pk for t in found]
    ordered: list[TreeNode] = []

    def walk(node: Target, depth: int) -> None:
        ordered.append((node, depth))
        below = sorted(children[node.pk], key=target_child_key)
        execution = [c for c in below if c.tier == TargetTier.EXECUTION]
        fold = len(execution) > EXECUTION_SHOWN and len({c.member_id for c in execution}) > 1  # one's own: shown
        for child in below:
            if not (fold and child.tier == TargetTier.EXECUTION):
                walk(child, depth + 1)
        if fold:
            ordered.append((execution, depth + 1))

    for root in roots:
        walk(root, 0)
    return ordered


def target_children_list(*, viewer: Viewer, target: Target) -> list[Target]:
    """The targets right below this one that the viewer sees, in the tree's order."""
    return sorted(target_list(viewer=viewer).filter(parent=target), key=target_child_key)


def target_alert_list_of_target(*, target: Target, limit: int = ALERTS_SHOWN) -> list[TargetAlert]:
    """The target's latest alerts (the alerts' own order), at most `limit`."""
    return list(target.alerts.all()[:limit])


def target_get(*, viewer: Viewer, pk: int | None) -> Target | None:
    """The target if the viewer sees it, else None."""
    return target_list(viewer=viewer).filter(pk=pk).first() if pk is not None else None

"""The pages of appraisal cycles as data: the month's overview (progress and grades of each
cycle, the teams without one), a cycle (members, moves, calibration guide, data changed since
finalisation, the audit trail) and the member's own list. Views render these; the services
decide what may change."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy

from metrics.formatting import EMPTY, kpi_display, share_display
from metrics.messages import message_render
from metrics.registry import KPI_BY_KEY
from perfmgmt.common.listing import PAGE_SIZE
from reviews import scoring
from reviews.models import (
    CYCLE_ORDER,
    Appraisal,
    AuditEntry,
    Cycle,
    CycleState,
    Dimension,
    Item,
    ItemKind,
    RaterRole,
    Rating,
)
from reviews.selectors.appraisals import (
    DECISION_AUDIT_SUFFIX,
    MANAGER_EDITABLE,
    PEER_EDITABLE,
    appraisal_dimension_scores,
    appraisal_list,
    appraisals_pending,
    cycle_data_changes,
    cycle_list,
    viewer_decides_items,
    viewer_moves_cycle,
)
from reviews.selectors.insights import cycle_insights
from reviews.selectors.sheets import cycle_items  # one _percent for sheet and guide (issue 21)
from teams.models import Store, Team
from teams.selectors.scoping import Viewer, team_list_for_cycles, viewer_runs_appraisals, viewer_sees_cycle

AUDIT_PAGE_SIZE = 20
GUIDE_TOLERANCE = Decimal("0.10")  # a grade's share further than this from the guide is flagged

# What moving a cycle to a state is called on its button, and what it means.
MOVES = {
    CycleState.SELF_REVIEW: (gettext_lazy("Start self review"),
                             gettext_lazy("Members rate themselves and write their self-assessment.")),
    CycleState.MANAGER_REVIEW: (gettext_lazy("Close self review, start manager review"),
                                gettext_lazy("Self ratings are closed; managers rate each member.")),
    CycleState.CALIBRATION: (gettext_lazy("Start calibration"),
                             gettext_lazy("Managers and HR compare grades across the team; every change needs "
                                          "a reason.")),
    CycleState.FINALISED: (gettext_lazy("Finalise"),
                           gettext_lazy("Scores and KPI values are frozen; nothing can change any more.")),
    CycleState.PUBLISHED: (gettext_lazy("Publish to members"),
                           gettext_lazy("Each member sees their appraisal, scores and comments.")),
}  # fmt: skip
CONFIRM = {
    CycleState.FINALISED: gettext_lazy("Finalise the cycle? Scores and KPI values are frozen; only HR can reopen it."),
    CycleState.PUBLISHED: gettext_lazy("Publish the cycle? Every member will see their appraisal."),
}
DECISION_EXCLUDED = gettext_lazy("Excluded for this member")
FIELD_LABELS = {
    "state": gettext_lazy("State"),
    "self_comment": gettext_lazy("Self-assessment"),
    "manager_comment": gettext_lazy("Manager's comment"),
}


# --- progress and grades of cycles ---------------------------------------------------------------


@dataclass
class Progress:
    members: int = 0
    self_done: int = 0
    manager_done: int = 0
    grades: Counter = field(default_factory=Counter)
    letters: list[str] = field(default_factory=list)  # the grades of the cycle's template, best first

    @property
    def grade_counts(self) -> list[tuple[str, int]]:
        letters = self.letters + [g for g in self.grades if g not in self.letters]
        return [(g, self.grades[g]) for g in letters if self.grades[g]]

    @property
    def ungraded(self) -> int:
        return self.members - sum(self.grades.values())

    @property
    def self_bar(self) -> int:
        return round(100 * self.self_done / self.members) if self.members else 0

    @property
    def manager_bar(self) -> int:
        return round(100 * self.manager_done / self.members) if self.members else 0


def _rating_item_counts(template_ids) -> dict[int, int]:
    rows = (
        Item.objects.filter(kind=ItemKind.RATING, dimension__template_id__in=template_ids)
        .values("dimension__template_id")
        .annotate(n=Count("id"))
    )
    return {r["dimension__template_id"]: r["n"] for r in rows}


def _appraisal_progress(cycles: list[Cycle]) -> tuple[dict[int, Progress], dict[int, tuple[bool, bool]]]:
    """Per cycle: members, self reviews done, manager reviews done, grades; per appraisal: (self
    done, manager done). A review is done when every rating item is rated in that role (or, for a
    template without rating items, when the comment is written)."""
    counts = _rating_item_counts({c.template_id for c in cycles})
    appraisals = (
        Appraisal.objects.filter(cycle__in=cycles)
        .annotate(
            self_rated=Count("ratings__item", filter=Q(ratings__role=RaterRole.SELF), distinct=True),
            manager_rated=Count("ratings__item", filter=Q(ratings__role=RaterRole.MANAGER), distinct=True),
        )
        .values("id", "cycle_id", "cycle__template_id", "grade", "self_rated", "manager_rated", "self_comment",
                "manager_comment")
    )  # fmt: skip
    per_cycle: dict[int, Progress] = {c.pk: Progress(letters=c.template.grade_letters) for c in cycles}
    per_appraisal: dict[int, tuple[bool, bool]] = {}
    for a in appraisals:
        n = counts.get(a["cycle__template_id"], 0)
        self_done = a["self_rated"] >= n if n else bool(a["self_comment"])
        manager_done = a["manager_rated"] >= n if n else bool(a["manager_comment"])
        progress = per_cycle[a["cycle_id"]]
        progress.members += 1
        progress.self_done += self_done
        progress.manager_done += manager_done
        if a["grade"]:
            progress.grades[a["grade"]] += 1
        per_appraisal[a["id"]] = (self_done, manager_done)
    return per_cycle, per_appraisal


# --- the overview ------------------------------------------------------------------------------------


@dataclass
class OverviewRow:
    store: Store
    team: Team | None
    cycle: Cycle | None = None
    progress: Progress | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.store.name, self.team is not None, self.team.name if self.team else "")


def _overview_rows(viewer: Viewer, month: dt.date, store: Store | None) -> list[OverviewRow]:
    """Every cycle of the month the viewer oversees, and the teams they oversee that have none."""
    cycles = cycle_list(viewer=viewer).filter(month=month)
    if store is not None:
        cycles = cycles.filter(store=store)
    cycles = [c for c in cycles if viewer_sees_cycle(viewer=viewer, store_id=c.store_id, team_id=c.team_id)]
    progress, _per_appraisal = _appraisal_progress(cycles)
    rows = [OverviewRow(c.store, c.team, c, progress[c.pk]) for c in cycles]
    covered_teams = {c.team_id for c in cycles if c.team_id}
    whole_stores = {c.store_id for c in cycles if c.team_id is None}
    teams = team_list_for_cycles(viewer=viewer)
    if store is not None:
        teams = teams.filter(store=store)
    rows += [OverviewRow(t.store, t) for t in teams if t.pk not in covered_teams and t.store_id not in whole_stores]
    return sorted(rows, key=lambda r: r.sort_key)


def _summary(rows: list[OverviewRow]) -> dict:
    opened = [r for r in rows if r.cycle]
    members = sum(r.progress.members for r in opened)
    return {
        "cycles": len(opened),
        "not_opened": len(rows) - len(opened),
        "members": members,
        "self_done": sum(r.progress.self_done for r in opened),
        "manager_done": sum(r.progress.manager_done for r in opened),
        "published": sum(1 for r in opened if r.cycle.state == CycleState.PUBLISHED),
    }


# --- a cycle ------------------------------------------------------------------------------------------


@dataclass
class MemberRow:
    appraisal: Appraisal
    dimensions: list[Decimal | None]
    self_done: bool
    manager_done: bool
    pending: list[Item] = field(default_factory=list)  # KPI items without data awaiting HR's decision


@dataclass
class Move:
    to: str
    label: str
    hint: str
    confirm: str = ""  # asked in the browser before a step that cannot be undone by the managers


def cycle_moves(*, viewer: Viewer, cycle: Cycle) -> list[Move]:
    """The buttons the viewer may use: the next state, when the workflow lets them move the cycle
    there (the service decides again, by the same rule)."""
    at = CYCLE_ORDER.index(cycle.state)
    moves = []
    if at + 1 < len(CYCLE_ORDER):
        to = CYCLE_ORDER[at + 1]
        if viewer_moves_cycle(viewer=viewer, cycle=cycle, to=to):
            label, hint = MOVES[to]
            confirm = CONFIRM.get(to, "")
            moves.append(Move(to, str(label), str(hint), str(confirm)))
    return moves


@dataclass
class GuideRow:
    grade: str
    count: int
    share: Decimal
    guide: Decimal
    guide_count: Decimal

    @property
    def status(self) -> str:
        if self.share > self.guide + GUIDE_TOLERANCE:
            return "over"
        if self.share < self.guide - GUIDE_TOLERANCE:
            return "under"
        return "ok"

    @property
    def share_text(self) -> str:
        return share_display(self.share, places=0)

    @property
    def guide_text(self) -> str:
        return share_display(self.guide, places=0)

    @property
    def bar(self) -> int:
        return int(self.share * 100)

    @property
    def guide_bar(self) -> int:
        return int(self.guide * 100)


def _guide(appraisals: list[Appraisal], bands: tuple[scoring.Band, ...]) -> list[GuideRow]:
    """The calibration guide of the cycle's template beside the team's grades."""
    graded = [a.grade for a in appraisals if a.grade]
    counts = Counter(graded)
    n = len(graded)
    return [
        GuideRow(b.grade, counts[b.grade], Decimal(counts[b.grade]) / n if n else Decimal(0), b.guide,
                 (b.guide * n).quantize(Decimal("0.1")))
        for b in bands
    ]  # fmt: skip


def guide_text(*, bands: tuple[scoring.Band, ...]) -> str:
    """The calibration guide as a sentence's part: "10% S, 20% A, …"."""
    return ", ".join(f"{share_display(b.guide, places=0)} {b.grade}" for b in bands)


def _change_rows(cycle: Cycle, items: list[Item]) -> list[dict]:
    kpis = {item.name: KPI_BY_KEY.get(item.kpi_key) for item in items if item.kind == ItemKind.KPI}
    rows = []
    for change in cycle_data_changes(cycle=cycle):
        kpi = kpis.get(change.item)

        def shown(value, kpi=kpi):
            if value is None:
                return EMPTY
            return kpi_display(kpi, Decimal(value)) if kpi else value

        rows.append({"member": change.member, "item": change.item, "frozen": shown(change.frozen),
                     "now": shown(change.now)})  # fmt: skip
    return rows


def _decision_shown(text: str) -> str:
    """A decision as the audit trail keeps it ("exclude", a value, "") in the viewer's words."""
    return str(DECISION_EXCLUDED) if text == "exclude" else text


def _audit_label(entry: AuditEntry) -> dict:
    label = message_render(message=entry.field_msg, fallback=str(FIELD_LABELS.get(entry.field, entry.field)))
    old, new = entry.old, entry.new
    if entry.field == "state":
        states = dict(CycleState.choices)
        old, new = states.get(old, old), states.get(new, new)
    if entry.field.endswith(DECISION_AUDIT_SUFFIX):  # labelled by its message: "HR's decision: <item>"
        old, new = _decision_shown(old), _decision_shown(new)
    return {"entry": entry, "field": label, "old": old, "new": new}


# --- the pages ---------------------------------------------------------------------------------------


@dataclass
class Overview:
    rows: list[OverviewRow]
    summary: dict


def cycle_overview(*, viewer: Viewer, month: dt.date, store: Store | None) -> Overview:
    """The overview of a month: every cycle the viewer oversees with its progress and grades, and
    the teams they oversee that have none yet (of one store, or all)."""
    rows = _overview_rows(viewer, month, store)
    return Overview(rows=rows, summary=_summary(rows))


@dataclass
class CyclePage:
    """What the cycle page shows besides the cycle (its keys are the template's names)."""

    dimensions: list[Dimension]
    members: list[MemberRow]
    sort: str
    progress: Progress
    moves: list[Move]
    can_reopen: bool
    guide: list[GuideRow] | None
    guide_text: str
    changes: list[dict]
    page: Page
    audit: list[dict]
    states: list[tuple[str, str, bool]]
    manager_editable: bool
    insights: object
    pending: list[MemberRow]
    hr_decides: bool

    def as_context(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def cycle_page(*, viewer: Viewer, cycle: Cycle, sort: str, audit_page: str | None) -> CyclePage:
    """A cycle as its managers and HR see it: each member's dimension scores, reviews done and
    KPI items without data; the moves the viewer may make; in calibration the guide beside the
    grades; once locked, the data changed since; the audit trail (one page of it)."""
    items = cycle_items(cycle=cycle)
    dimensions = list(Dimension.objects.filter(template_id=cycle.template_id))
    appraisals = list(cycle.appraisals.select_related("member").prefetch_related("item_scores"))
    progress, per_appraisal = _appraisal_progress([cycle])
    members = []
    pending = appraisals_pending(appraisals=appraisals)
    for appraisal in appraisals:
        stored = {s.item_id: s for s in appraisal.item_scores.all()}
        scores = appraisal_dimension_scores(items=items, item_scores=stored)
        self_done, manager_done = per_appraisal.get(appraisal.pk, (False, False))
        members.append(MemberRow(appraisal, [scores.get(d.pk) for d in dimensions], self_done, manager_done,
                                 pending.get(appraisal.pk, [])))  # fmt: skip
    if sort == "total":
        members.sort(key=lambda r: (r.appraisal.total is None, -(r.appraisal.total or 0)))
    audit = Paginator(
        AuditEntry.objects.filter(cycle=cycle).select_related("user", "appraisal__member"), AUDIT_PAGE_SIZE
    ).get_page(audit_page)
    return CyclePage(
        dimensions=dimensions, members=members, sort=sort, progress=progress[cycle.pk],
        moves=cycle_moves(viewer=viewer, cycle=cycle),
        can_reopen=cycle.locked and viewer_runs_appraisals(viewer=viewer),
        guide=_guide(appraisals, cycle.template.bands) if cycle.state == CycleState.CALIBRATION else None,
        guide_text=guide_text(bands=cycle.template.bands),
        changes=_change_rows(cycle, items) if cycle.locked else [],
        page=audit, audit=[_audit_label(e) for e in audit],
        states=[(value, label, CYCLE_ORDER.index(value) <= CYCLE_ORDER.index(cycle.state))
                for value, label in CycleState.choices],
        manager_editable=cycle.state in MANAGER_EDITABLE,
        insights=cycle_insights(cycle=cycle),
        pending=[row for row in members if row.pending],
        hr_decides=viewer_decides_items(viewer=viewer, cycle=cycle),
    )  # fmt: skip


@dataclass
class Mine:
    """The member's own appraisals: to do (self review open, with (rated, rating items)), waiting,
    one page of the published ones; and the teammates they may rate."""

    to_do: list[tuple[Appraisal, int, int]]
    waiting: list[Appraisal]
    page: Page
    peers: list[Appraisal]


def appraisal_mine(*, viewer: Viewer, page: str | None) -> Mine:
    if viewer.member_id is None:
        appraisals = Appraisal.objects.none()
    else:
        appraisals = appraisal_list(viewer=viewer).filter(member_id=viewer.member_id).order_by("-cycle__month")
    to_do = list(appraisals.filter(cycle__state=CycleState.SELF_REVIEW))
    waiting = list(appraisals.filter(cycle__state__in=[CycleState.DRAFT, CycleState.MANAGER_REVIEW,
                                                        CycleState.CALIBRATION, CycleState.FINALISED]))  # fmt: skip
    published = Paginator(appraisals.filter(cycle__state=CycleState.PUBLISHED), PAGE_SIZE).get_page(page)
    listed = [*to_do, *waiting, *published.object_list]
    pending = appraisals_pending(appraisals=[a.pk for a in listed])
    for appraisal in listed:
        appraisal.pending_count = len(pending.get(appraisal.pk, []))  # KPI items without data, undecided
    rated = set(Rating.objects.filter(appraisal__in=to_do, role=RaterRole.SELF).values_list("appraisal_id", "item_id"))
    counts = _rating_item_counts({a.cycle.template_id for a in to_do})
    progress = {a.pk: (sum(1 for pk, _i in rated if pk == a.pk), counts.get(a.cycle.template_id, 0)) for a in to_do}
    # Teammates to rate: members of the viewer's cycles open for peers, on templates that ask peers.
    peers = []
    if viewer.member_id is not None:
        peers = list(
            Appraisal.objects.filter(cycle__appraisals__member_id=viewer.member_id, cycle__state__in=PEER_EDITABLE,
                                     cycle__template__dimensions__items__peer_weight__gt=0)
            .exclude(member_id=viewer.member_id).select_related("member", "cycle").distinct()
        )  # fmt: skip
    return Mine(to_do=[(a, *progress[a.pk]) for a in to_do], waiting=waiting, page=published, peers=peers)

"""Appraisal pages: the overview of a month's cycles, a cycle (members, state, calibration guide,
data changes since finalisation, audit trail), the manager's review, the member's self review,
the appraisal itself and its printable sheet, and the member's own list.

Thin: parse the query or the form, call the appraisal selectors or services, render. What a viewer
may not see answers 404; what their role may never do answers 403. The services decide what may
change in which state; their refusals are shown on the page."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from metrics.formatting import EMPTY, kpi_display
from metrics.messages import message_render
from metrics.registry import KPI_BY_KEY, Direction
from perfmgmt.common.listing import PAGE_SIZE
from reviews import scoring
from reviews.forms import (
    WITHDRAW,
    AdvanceForm,
    CycleForm,
    DecisionForm,
    OverviewFilterForm,
    RatingsForm,
    can_open_cycles,
    cycle_stores,
    cycle_teams,
    month_previous,
)
from reviews.models import (
    CYCLE_ORDER,
    Appraisal,
    AppraisalTemplate,
    AuditEntry,
    Cycle,
    CycleState,
    DecisionKind,
    Dimension,
    Item,
    ItemDecision,
    ItemKind,
    ItemStatus,
    RaterRole,
    Rating,
    ScoringRule,
)
from reviews.selectors.appraisals import (
    DECISION_AUDIT_SUFFIX,
    DECISION_EDITABLE,
    MANAGER_EDITABLE,
    PEER_EDITABLE,
    SELF_EDITABLE,
    appraisal_dimension_scores,
    appraisal_list,
    appraisals_pending,
    cycle_list,
    month_end,
    viewer_manages_cycle,
)
from reviews.selectors.insights import cycle_insights
from reviews.services.cycles import (
    comment_set,
    cycle_advance,
    cycle_create,
    cycle_data_changes,
    item_decision_set,
    item_decision_withdraw,
    rating_set,
)
from reviews.services.templates import appraisal_templates_ensure
from teams.models import Store, Team
from teams.selectors.scoping import Viewer, viewer_get

AUDIT_PAGE_SIZE = 20
GUIDE_TOLERANCE = Decimal("0.10")  # a grade's share further than this from the guide is flagged
HUNDRED = Decimal(100)

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
MOVED = {
    CycleState.SELF_REVIEW: gettext_lazy("Self review started: members can rate themselves now."),
    CycleState.MANAGER_REVIEW: gettext_lazy("Manager review started: self ratings are closed."),
    CycleState.CALIBRATION: gettext_lazy("Calibration started: changes now need a reason."),
    CycleState.FINALISED: gettext_lazy("The cycle is finalised: scores and KPI values are frozen."),
    CycleState.PUBLISHED: gettext_lazy("The cycle is published: members can see their appraisals."),
}
DECISION_EXCLUDED = gettext_lazy("Excluded for this member")
FIELD_LABELS = {
    "state": gettext_lazy("State"),
    "self_comment": gettext_lazy("Self-assessment"),
    "manager_comment": gettext_lazy("Manager's comment"),
}


def _viewer(request: HttpRequest) -> Viewer:
    return viewer_get(user=request.user)


def _sees_cycle(viewer: Viewer, cycle: Cycle) -> bool:
    """HR, admins and the cycle's managers see the whole cycle; members only their own appraisal."""
    return viewer.sees_everything or viewer_manages_cycle(viewer=viewer, cycle=cycle)


def _percent(share: Decimal | None) -> str:
    if share is None:
        return EMPTY
    return f"{number_format(round(share * HUNDRED, 0), 0, use_l10n=True)}%"


def _errors_of(error: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(error, ValidationError):
        return list(error.messages)
    return [str(error)] if str(error) else [_("You may not do this.")]


# --- page reads: progress and grades of cycles ------------------------------------------------------


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


# --- page reads: one appraisal, as a sheet of dimensions and items -----------------------------------


@dataclass
class KpiRow:
    item: Item
    kpi: object
    value: str
    target: str
    score: Decimal | None
    rule: str
    status: str = ItemStatus.SCORED
    decision: ItemDecision | None = None  # HR's, when the month has no data for the item

    @property
    def insufficient(self) -> bool:
        return self.status == ItemStatus.INSUFFICIENT

    @property
    def decided(self) -> bool:
        return self.status in (ItemStatus.HR_VALUE, ItemStatus.EXCLUDED)

    @property
    def excluded(self) -> bool:
        return self.status == ItemStatus.EXCLUDED

    @property
    def hr_value(self) -> bool:
        return self.status == ItemStatus.HR_VALUE

    @property
    def superseded(self) -> bool:
        """HR decided while the month had no data; it has some now, and the data is used."""
        return self.decision is not None and not self.decided


@dataclass
class RatingRow:
    item: Item
    self_rating: Rating | None
    manager_rating: Rating | None
    peers: list[Rating]
    score: Decimal | None

    @property
    def peer_mean(self) -> Decimal | None:
        if not self.peers:
            return None
        return (Decimal(sum(r.score for r in self.peers)) / len(self.peers)).quantize(Decimal("0.1"))


@dataclass
class DimensionRow:
    dimension: Dimension
    score: Decimal | None
    kpis: list[KpiRow]
    ratings: list[RatingRow]

    @property
    def weight_percent(self) -> str:
        return _percent(self.dimension.weight)


@dataclass
class Sheet:
    appraisal: Appraisal
    cycle: Cycle
    dimensions: list[DimensionRow]
    rating_items: list[Item]

    @property
    def kpi_rows(self) -> list[KpiRow]:
        return [row for d in self.dimensions for row in d.kpis]

    @property
    def rating_rows(self) -> list[RatingRow]:
        return [row for d in self.dimensions for row in d.ratings]

    @property
    def pending(self) -> list[KpiRow]:
        """KPI items without data that await HR's decision: the total and grade wait for them."""
        return [row for row in self.kpi_rows if row.insufficient]

    @property
    def without_data(self) -> list[KpiRow]:
        """KPI items the month has no data for (decided or not), and decisions the data overtook."""
        return [row for row in self.kpi_rows if row.insufficient or row.decided or row.superseded]

    @property
    def notes(self) -> list[RatingRow]:
        """Rating items with a comment from the member or the manager."""
        return [
            row for row in self.rating_rows
            if (row.self_rating and row.self_rating.comment) or (row.manager_rating and row.manager_rating.comment)
        ]  # fmt: skip


def rule_text(item: Item, kpi) -> str:
    """How a KPI item is scored, in words."""
    if item.rule == ScoringRule.RANK:
        return _("Rank within the team: the best scores 100, the last 0.")
    if item.rule == ScoringRule.THRESHOLDS:
        sign = "≤" if kpi.direction == Direction.LOWER else "≥"
        steps = "; ".join(
            f"{sign} {kpi_display(kpi, Decimal(str(limit)))} → {score}" for limit, score in item.thresholds or []
        )
        return _("Thresholds: %(steps)s") % {"steps": steps}
    floor = kpi_display(kpi, item.floor if item.floor is not None else Decimal(0))
    if item.target is None:
        return _("Linear: %(floor)s scores 0, the member's target of the month scores 100.") % {"floor": floor}
    return _("Linear: %(floor)s scores 0, %(target)s scores 100.") % {
        "floor": floor, "target": kpi_display(kpi, item.target)
    }  # fmt: skip


def _items_of(cycle: Cycle) -> list[Item]:
    return list(Item.objects.filter(dimension__template_id=cycle.template_id).select_related("dimension"))


def _sheet(appraisal: Appraisal) -> Sheet:
    cycle = appraisal.cycle
    items = _items_of(cycle)
    item_scores = {s.item_id: s for s in appraisal.item_scores.all()}
    ratings = list(appraisal.ratings.select_related("rater"))
    decisions = {d.item_id: d for d in appraisal.decisions.select_related("decided_by")}
    dimension_scores = appraisal_dimension_scores(items=items, item_scores=item_scores)
    rows: dict[int, DimensionRow] = {}
    for dimension in Dimension.objects.filter(template_id=cycle.template_id):
        rows[dimension.pk] = DimensionRow(dimension, dimension_scores.get(dimension.pk), [], [])
    for item in items:
        stored = item_scores.get(item.pk)
        if item.kind == ItemKind.KPI:
            kpi = KPI_BY_KEY.get(item.kpi_key)
            if kpi is None:
                continue
            rows[item.dimension_id].kpis.append(KpiRow(
                item=item, kpi=kpi,
                value=kpi_display(kpi, stored.value if stored else None),
                target=kpi_display(kpi, stored.target if stored else None),
                score=stored.score if stored else None, rule=rule_text(item, kpi),
                status=stored.status if stored else ItemStatus.SCORED, decision=decisions.get(item.pk),
            ))  # fmt: skip
        else:
            mine = [r for r in ratings if r.item_id == item.pk]
            rows[item.dimension_id].ratings.append(RatingRow(
                item=item,
                self_rating=next((r for r in mine if r.role == RaterRole.SELF), None),
                manager_rating=next((r for r in mine if r.role == RaterRole.MANAGER), None),
                peers=[r for r in mine if r.role == RaterRole.PEER],
                score=stored.score if stored else None,
            ))  # fmt: skip
    rating_items = [i for i in items if i.kind == ItemKind.RATING]
    return Sheet(appraisal, cycle, list(rows.values()), rating_items)


def _appraisal_get(request: HttpRequest, pk: int) -> Appraisal:
    viewer = _viewer(request)
    return get_object_or_404(
        appraisal_list(viewer=viewer).select_related("cycle__template", "cycle__store", "cycle__team", "member"),
        pk=pk,
    )


def _neighbours(appraisal: Appraisal) -> tuple[Appraisal | None, Appraisal | None]:
    """The previous and the next member of the cycle (by name), for moving through a review."""
    ids = list(Appraisal.objects.filter(cycle_id=appraisal.cycle_id).values_list("pk", flat=True))
    at = ids.index(appraisal.pk)
    previous = Appraisal.objects.select_related("member").get(pk=ids[at - 1]) if at > 0 else None
    following = Appraisal.objects.select_related("member").get(pk=ids[at + 1]) if at + 1 < len(ids) else None
    return previous, following


def _dashboard_query(cycle: Cycle) -> str:
    return f"preset=custom&start={cycle.month:%Y-%m-%d}&end={month_end(cycle.month):%Y-%m-%d}"


# --- the overview -----------------------------------------------------------------------------------


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
    cycles = [c for c in cycles if _sees_cycle(viewer, c)]
    progress, _per_appraisal = _appraisal_progress(cycles)
    rows = [OverviewRow(c.store, c.team, c, progress[c.pk]) for c in cycles]
    covered_teams = {c.team_id for c in cycles if c.team_id}
    whole_stores = {c.store_id for c in cycles if c.team_id is None}
    teams = cycle_teams(viewer)
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


def _cycle_form(viewer: Viewer, *, month: dt.date, request: HttpRequest | None = None, data=None,
                store: Store | None = None) -> CycleForm:  # fmt: skip
    """The "Open a cycle" form; the built-in templates are made the first time it is shown."""
    if not AppraisalTemplate.objects.exists():
        appraisal_templates_ensure()
    if data is not None:
        return CycleForm(data, viewer=viewer)
    team = None
    if request is not None:
        team = cycle_teams(viewer).filter(pk=_int(request.GET.get("new_team"))).first()
        store = cycle_stores(viewer).filter(pk=_int(request.GET.get("new_store"))).first() or store
    return CycleForm(viewer=viewer, initial=CycleForm.initial_for(month=month, store=store, team=team))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
def overview_view(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not can_open_cycles(viewer):
        return redirect("reviews:mine")
    stores = cycle_stores(viewer)
    filters = OverviewFilterForm(request.GET or None, stores=stores)
    month = store = None
    if filters.is_bound:
        if filters.is_valid():
            month, store = filters.cleaned_data["month"], filters.cleaned_data["store"]
        else:
            messages.warning(request, _("That month or store could not be used; the defaults are shown."))
    month = month or month_previous(timezone.localdate())
    if store is None and len(stores) == 1 and not request.GET.get("store"):
        store = stores[0]
    rows = _overview_rows(viewer, month, store)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = OverviewFilterForm(initial={"month": month, "store": store}, stores=stores)
    form = _cycle_form(viewer, month=month, request=request, store=store)
    return render(request, "reviews/overview.html", {
        "filters": shown, "month": month, "store": store, "page": page, "summary": _summary(rows),
        "form": form, "open_form": any(request.GET.get(k) for k in ("new", "new_team", "new_store")),
        "language": get_language(), "previous_month": month_previous(month), "today": timezone.localdate(),
        "next_month": (month_end(month) + dt.timedelta(days=1)),
    })  # fmt: skip


@login_required
def cycle_create_view(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if not can_open_cycles(viewer):
        raise PermissionDenied(_("Appraisal cycles are opened by HR, the store's managers or the team's lead."))
    month = month_previous(timezone.localdate())
    if request.method != "POST":
        return render(request, "reviews/cycle_form.html", {"form": _cycle_form(viewer, month=month, request=request)})
    form = _cycle_form(viewer, month=month, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            cycle = cycle_create(
                viewer=viewer, user=request.user, store=data["store"], team=data["team"], month=data["month"],
                template=data["template"], deadlines=form.deadlines(),
            )  # fmt: skip
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, errors in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, error.messages)
        except PermissionDenied as error:
            form.add_error(None, _errors_of(error))
        else:
            count = cycle.appraisals.count()
            if count:
                messages.success(request, _("The cycle is open with %(count)s members. Start self review when "
                                            "you are ready.") % {"count": count})  # fmt: skip
            else:
                messages.warning(request, _("The cycle is open but nobody was in the team that month: check the "
                                            "team's members."))  # fmt: skip
            return redirect("reviews:cycle", pk=cycle.pk)
    return render(request, "reviews/cycle_form.html", {"form": form}, status=400)


# --- a cycle ----------------------------------------------------------------------------------------


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


def _moves(viewer: Viewer, cycle: Cycle) -> list[Move]:
    """The buttons the viewer may use (the service decides again)."""
    manages, hr = viewer_manages_cycle(viewer=viewer, cycle=cycle), viewer.is_hr or viewer.is_admin
    at = CYCLE_ORDER.index(cycle.state)
    moves = []
    if at + 1 < len(CYCLE_ORDER):
        to = CYCLE_ORDER[at + 1]
        allowed = (manages or hr) if to in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW,
                                            CycleState.CALIBRATION) else hr  # fmt: skip
        if allowed:
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
        return _percent(self.share)

    @property
    def guide_text(self) -> str:
        return _percent(self.guide)

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


def bands_text(bands: tuple[scoring.Band, ...]) -> str:
    """The bands as a sentence's part: "S ≥ 90, A ≥ 80, B ≥ 70, C ≥ 60, D ≥ 0"."""
    return ", ".join(f"{b.grade} ≥ {number_format(b.lower.normalize(), use_l10n=True)}" for b in bands)


def guide_text(bands: tuple[scoring.Band, ...]) -> str:
    """The calibration guide as a sentence's part: "10% S, 20% A, …"."""
    return ", ".join(f"{_percent(b.guide)} {b.grade}" for b in bands)


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


@login_required
def cycle_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer(request)
    cycle = get_object_or_404(cycle_list(viewer=viewer), pk=pk)
    if not _sees_cycle(viewer, cycle):
        raise PermissionDenied(_("Only HR and the team's managers see the whole cycle."))
    items = _items_of(cycle)
    dimensions = list(Dimension.objects.filter(template_id=cycle.template_id))
    appraisals = list(cycle.appraisals.select_related("member").prefetch_related("item_scores"))
    _progress, per_appraisal = _appraisal_progress([cycle])
    members = []
    pending = appraisals_pending(appraisals=appraisals)
    for appraisal in appraisals:
        stored = {s.item_id: s for s in appraisal.item_scores.all()}
        scores = appraisal_dimension_scores(items=items, item_scores=stored)
        self_done, manager_done = per_appraisal.get(appraisal.pk, (False, False))
        members.append(MemberRow(appraisal, [scores.get(d.pk) for d in dimensions], self_done, manager_done,
                                 pending.get(appraisal.pk, [])))  # fmt: skip
    sort = request.GET.get("sort", "name")
    if sort == "total":
        members.sort(key=lambda r: (r.appraisal.total is None, -(r.appraisal.total or 0)))
    hr = viewer.is_hr or viewer.is_admin
    audit = Paginator(
        AuditEntry.objects.filter(cycle=cycle).select_related("user", "appraisal__member"), AUDIT_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(request, "reviews/cycle.html", {
        "cycle": cycle, "dimensions": dimensions, "members": members, "sort": sort,
        "progress": _progress[cycle.pk], "moves": _moves(viewer, cycle),
        "can_reopen": cycle.locked and hr,
        "reopen_form": AdvanceForm(initial={"to": CycleState.CALIBRATION}),
        "guide": _guide(appraisals, cycle.template.bands) if cycle.state == CycleState.CALIBRATION else None,
        "guide_text": guide_text(cycle.template.bands),
        "changes": _change_rows(cycle, items) if cycle.locked else [],
        "page": audit, "audit": [_audit_label(e) for e in audit],
        "states": [(value, label, CYCLE_ORDER.index(value) <= CYCLE_ORDER.index(cycle.state))
                   for value, label in CycleState.choices],
        "manager_editable": cycle.state in MANAGER_EDITABLE,
        "insights": cycle_insights(cycle=cycle),
        "pending": [row for row in members if row.pending],
        "hr_decides": _hr_decides(viewer, cycle),
    })  # fmt: skip


@login_required
@require_POST
def cycle_advance_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer(request)
    cycle = get_object_or_404(cycle_list(viewer=viewer), pk=pk)
    if not _sees_cycle(viewer, cycle):
        raise PermissionDenied(_("Only HR and the team's managers move a cycle on."))
    form = AdvanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a state to move the cycle to."))
        return redirect("reviews:cycle", pk=cycle.pk)
    to, reason = form.cleaned_data["to"], form.cleaned_data["reason"]
    reopening = cycle.locked and to == CycleState.CALIBRATION
    try:
        cycle = cycle_advance(viewer=viewer, user=request.user, cycle=cycle, to=to, reason=reason)
    except (ValidationError, PermissionDenied) as error:
        for text in _errors_of(error):
            messages.error(request, text)
        return redirect(reverse("reviews:cycle", args=[cycle.pk]) + ("#reopen" if reopening else "#actions"))
    if reopening:
        messages.success(request, _("The cycle is back in calibration; scores follow the data again until it is "
                                    "finalised."))  # fmt: skip
    else:
        messages.success(request, str(MOVED[to]))
    return redirect("reviews:cycle", pk=cycle.pk)


# --- the manager's review and the self review -------------------------------------------------------


def _save_ratings(form: RatingsForm, *, viewer: Viewer, user, appraisal: Appraisal, role: str) -> None:
    """Save what changed in one transaction: all of it or nothing. Service errors are put on the form."""
    reason = form.cleaned_data.get("reason", "") or ""
    current: Item | None = None
    try:
        with transaction.atomic():
            for item in form.changed_items():
                current = item
                score = form.cleaned_data[f"score_{item.pk}"]
                if score is None:
                    continue
                rating_set(viewer=viewer, user=user, appraisal=appraisal, item=item, role=role, score=score,
                           comment=form.cleaned_data[f"note_{item.pk}"], reason=reason)  # fmt: skip
            current = None
            if "comment" in form.changed_data:
                comment_set(viewer=viewer, user=user, appraisal=appraisal, text=form.cleaned_data["comment"],
                            reason=reason)  # fmt: skip
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for name, errors in error.message_dict.items():
                if name in ("score", "item") and current is not None:
                    name = f"score_{current.pk}"
                form.add_error(name if name in form.fields else None, errors)
        else:
            form.add_error(None, error.messages)


def _ratings_of(appraisal: Appraisal, role: str, *, rater=None) -> dict[int, Rating]:
    ratings = Rating.objects.filter(appraisal=appraisal, role=role)
    if role != RaterRole.MANAGER and rater is not None:
        ratings = ratings.filter(rater=rater)
    return {r.item_id: r for r in ratings}


@login_required
def review_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer(request)
    appraisal = _appraisal_get(request, pk)
    cycle = appraisal.cycle
    manages = viewer_manages_cycle(viewer=viewer, cycle=cycle)
    if not (manages or viewer.sees_everything):
        raise PermissionDenied(_("Only the team's managers and HR review an appraisal."))
    can_rate = (manages and cycle.state in MANAGER_EDITABLE) or (viewer.is_hr and cycle.state == CycleState.CALIBRATION)
    can_comment = manages and cycle.state in MANAGER_EDITABLE
    sheet = _sheet(appraisal)

    def make_form(data=None) -> RatingsForm:
        form = RatingsForm(data, items=sheet.rating_items, ratings=_ratings_of(appraisal, RaterRole.MANAGER),
                           comment=appraisal.manager_comment, editable=data is not None or can_rate,
                           comment_label=_("Manager's comment"),
                           reason_required=cycle.state == CycleState.CALIBRATION)  # fmt: skip
        form.fields["comment"].disabled = not can_comment
        return form

    status = 200
    if request.method == "POST":
        form = make_form(request.POST)
        if form.is_valid():
            try:
                _save_ratings(form, viewer=viewer, user=request.user, appraisal=appraisal, role=RaterRole.MANAGER)
            except PermissionDenied:
                form.add_error(None, _("The cycle is %(state)s: the manager's ratings cannot change now.")
                               % {"state": cycle.get_state_display()})  # fmt: skip
                status = 403
            if form.is_valid() and status == 200:
                messages.success(request, _("The review of %(member)s is saved.") % {
                    "member": appraisal.member.display_name})  # fmt: skip
                _previous, following = _neighbours(appraisal)
                if "next" in request.POST and following is not None:
                    return redirect("reviews:review", pk=following.pk)
                return redirect("reviews:review", pk=appraisal.pk)
        if status == 200:
            status = 400
    else:
        form = make_form()
    previous, following = _neighbours(appraisal)
    return render(request, "reviews/review.html", {
        "appraisal": appraisal, "cycle": cycle, "sheet": sheet, "form": form, "can_rate": can_rate,
        "rows": form.rows(sheet.rating_rows),
        "can_comment": can_comment, "previous": previous, "following": following,
        "dashboard_query": _dashboard_query(cycle), "manages": manages, "hr_decides": _hr_decides(viewer, cycle),
    }, status=status)  # fmt: skip


@login_required
def self_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _viewer(request)
    appraisal = _appraisal_get(request, pk)
    cycle = appraisal.cycle
    own = viewer.member_id == appraisal.member_id
    if not (own or _sees_cycle(viewer, cycle)):
        raise Http404
    editable = own and cycle.state in SELF_EDITABLE
    sheet = _sheet(appraisal)

    def make_form(data=None) -> RatingsForm:
        return RatingsForm(data, items=sheet.rating_items,
                           ratings=_ratings_of(appraisal, RaterRole.SELF, rater=appraisal.member.user),
                           comment=appraisal.self_comment, editable=(data is not None and own) or editable,
                           comment_label=_("Self-assessment"))  # fmt: skip

    status = 200
    if request.method == "POST":
        if not own:
            raise PermissionDenied(_("Only the member writes their self review."))
        form = make_form(request.POST)
        if form.is_valid():
            try:
                _save_ratings(form, viewer=viewer, user=request.user, appraisal=appraisal, role=RaterRole.SELF)
            except PermissionDenied:
                form.add_error(None, _("Self review is not open (the cycle is %(state)s): your ratings cannot "
                                       "change now.") % {"state": cycle.get_state_display()})  # fmt: skip
                status = 403
            if form.is_valid() and status == 200:
                messages.success(request, _("Your self review is saved. You can change it until self review "
                                            "closes."))  # fmt: skip
                return redirect("reviews:self", pk=appraisal.pk)
        if status == 200:
            status = 400
    else:
        form = make_form()
    return render(request, "reviews/self.html", {
        "appraisal": appraisal, "cycle": cycle, "sheet": sheet, "form": form, "editable": editable, "own": own,
        "rows": form.rows(sheet.rating_rows),
    }, status=status)  # fmt: skip


def _peer_items(sheet) -> list:
    return [item for item in sheet.rating_items if item.peer_weight > 0]


@login_required
def peer_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A teammate rates a member on the items the template asks peers about (peer weight > 0),
    while self review and manager review are open. Each peer's ratings are their own."""
    viewer = _viewer(request)
    appraisal = get_object_or_404(Appraisal.objects.select_related("cycle", "member"), pk=pk)
    cycle = appraisal.cycle
    teammate = (viewer.member_id is not None and viewer.member_id != appraisal.member_id
                and cycle.appraisals.filter(member_id=viewer.member_id).exists())  # fmt: skip
    if not teammate:
        raise Http404
    sheet = _sheet(appraisal)
    items = _peer_items(sheet)
    editable = cycle.state in PEER_EDITABLE and bool(items)

    def make_form(data=None) -> RatingsForm:
        form = RatingsForm(data, items=items, ratings=_ratings_of(appraisal, RaterRole.PEER, rater=request.user),
                           comment="", editable=editable, comment_label=_("Comment"))  # fmt: skip
        form.fields["comment"].disabled = True  # peers rate; the comments are the member's and the manager's
        return form

    status = 200
    if request.method == "POST":
        if not editable:
            raise PermissionDenied(_("Peer ratings are closed (the cycle is %(state)s).")
                                   % {"state": cycle.get_state_display()})  # fmt: skip
        form = make_form(request.POST)
        if form.is_valid():
            try:
                _save_ratings(form, viewer=viewer, user=request.user, appraisal=appraisal, role=RaterRole.PEER)
            except PermissionDenied:
                form.add_error(None, _("Peer ratings are closed (the cycle is %(state)s).")
                               % {"state": cycle.get_state_display()})  # fmt: skip
                status = 403
            if form.is_valid() and status == 200:
                messages.success(request, _("Your ratings of %(member)s are saved.")
                                 % {"member": appraisal.member.display_name})  # fmt: skip
                return redirect("reviews:mine")
        if status == 200:
            status = 400
    else:
        form = make_form()
    rows = form.rows([row for row in sheet.rating_rows if row.item in items])
    return render(request, "reviews/peer.html", {
        "appraisal": appraisal, "cycle": cycle, "form": form, "rows": rows, "editable": editable, "items": items,
    }, status=status)  # fmt: skip


# --- the appraisal, its printable sheet, the member's list ----------------------------------------


def _published_or_managed(request: HttpRequest, pk: int) -> tuple[Appraisal, bool]:
    """The appraisal and whether the viewer may read it in full now: managers and HR anytime, the
    member once it is published."""
    viewer = _viewer(request)
    appraisal = _appraisal_get(request, pk)
    if _sees_cycle(viewer, appraisal.cycle):
        return appraisal, True
    if viewer.member_id != appraisal.member_id:
        raise Http404
    return appraisal, appraisal.cycle.state == CycleState.PUBLISHED


def _hr_decides(viewer: Viewer, cycle: Cycle) -> bool:
    """HR (and admins) decide on KPI items without data while the cycle is in a state for it."""
    return (viewer.is_hr or viewer.is_admin) and cycle.state in DECISION_EDITABLE


def _appraisal_page(request: HttpRequest, viewer: Viewer, appraisal: Appraisal, *, bound: DecisionForm | None = None,
                    status: int = 200) -> HttpResponse:  # fmt: skip
    """The appraisal; for HR while it may decide, a form for each KPI item without data (`bound`:
    the one just posted, with its errors)."""
    sheet = _sheet(appraisal)
    decision_forms = []
    if _hr_decides(viewer, appraisal.cycle):
        for row in sheet.without_data:
            form = bound if bound is not None and bound.item.pk == row.item.pk else None
            decision_forms.append((row, form or DecisionForm(item=row.item, decision=row.decision)))
    return render(request, "reviews/appraisal.html", {
        "appraisal": appraisal, "cycle": appraisal.cycle, "sheet": sheet, "decision_forms": decision_forms,
        "manages": _sees_cycle(viewer, appraisal.cycle), "own": viewer.member_id == appraisal.member_id,
    }, status=status)  # fmt: skip


@login_required
def appraisal_view(request: HttpRequest, pk: int) -> HttpResponse:
    appraisal, readable = _published_or_managed(request, pk)
    viewer = _viewer(request)
    if not readable:
        return render(request, "reviews/not_published.html", {"appraisal": appraisal, "cycle": appraisal.cycle})
    return _appraisal_page(request, viewer, appraisal)


@login_required
@require_POST
def decision_view(request: HttpRequest, pk: int) -> HttpResponse:
    """HR enters a value for a KPI item without data, excludes it for this member, or withdraws
    its decision; always with a reason (the service checks the state and writes the audit trail)."""
    viewer = _viewer(request)
    appraisal = _appraisal_get(request, pk)
    if not (viewer.is_hr or viewer.is_admin):
        raise PermissionDenied(_("Only HR decides on KPI items without data."))
    item = get_object_or_404(Item.objects.select_related("dimension"), pk=_int(request.POST.get("item")),
                             kind=ItemKind.KPI, dimension__template_id=appraisal.cycle.template_id)  # fmt: skip
    form = DecisionForm(request.POST, item=item)
    status = 400
    if form.is_valid():
        action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
        try:
            if action == WITHDRAW:
                item_decision_withdraw(viewer=viewer, user=request.user, appraisal=appraisal, item=item, reason=reason)
            else:
                item_decision_set(viewer=viewer, user=request.user, appraisal=appraisal, item=item, kind=action,
                                  value=form.cleaned_data["value"], reason=reason)  # fmt: skip
        except (ValidationError, PermissionDenied) as error:
            for text in _errors_of(error):  # a message: the form is not shown when the state refuses
                messages.error(request, text)
            if isinstance(error, PermissionDenied):
                status = 403  # not in this state (as the ratings of a locked cycle)
        else:
            done = {
                DecisionKind.VALUE: _("%(item)s is scored from the value you entered."),
                DecisionKind.EXCLUDE: _("%(item)s is excluded for %(member)s; the rest of its dimension carries it."),
                WITHDRAW: _("Your decision on %(item)s is withdrawn."),
            }[action]
            messages.success(request, done % {"item": item.name, "member": appraisal.member.display_name})
            return redirect(reverse("reviews:appraisal", args=[appraisal.pk]) + "#decisions")
    return _appraisal_page(request, viewer, appraisal, bound=form, status=status)


@login_required
def print_view(request: HttpRequest, pk: int) -> HttpResponse:
    appraisal, readable = _published_or_managed(request, pk)
    if not readable:
        raise Http404
    return render(request, "reviews/print.html", {
        "appraisal": appraisal, "cycle": appraisal.cycle, "sheet": _sheet(appraisal),
        "printed_at": timezone.localtime(), "bands_text": bands_text(appraisal.cycle.template.bands),
    })  # fmt: skip


@login_required
def mine_view(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if viewer.member_id is None:
        appraisals = Appraisal.objects.none()
    else:
        appraisals = appraisal_list(viewer=viewer).filter(member_id=viewer.member_id).order_by("-cycle__month")
    to_do = list(appraisals.filter(cycle__state=CycleState.SELF_REVIEW))
    waiting = list(appraisals.filter(cycle__state__in=[CycleState.DRAFT, CycleState.MANAGER_REVIEW,
                                                        CycleState.CALIBRATION, CycleState.FINALISED]))  # fmt: skip
    published = Paginator(appraisals.filter(cycle__state=CycleState.PUBLISHED), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
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
    return render(request, "reviews/mine.html", {
        "peers": peers,
        "to_do": [(a, *progress[a.pk]) for a in to_do], "waiting": waiting, "page": published,
        "can_overview": can_open_cycles(viewer), "today": timezone.localdate(),
    })  # fmt: skip

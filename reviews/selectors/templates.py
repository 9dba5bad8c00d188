"""Reading appraisal templates: who may read which, where each is used, its versions, and the
editor's preview (a draft template scored on a past month of one team, nothing written)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet

from metrics.formatting import kpi_display
from metrics.registry import KPI_BY_KEY, Kpi
from reviews import scoring
from reviews.models import AppraisalTemplate, Cycle, CycleState, Dimension, Item, ItemKind, ItemStatus
from reviews.selectors.appraisals import cycle_compute, members_of_cycle
from reviews.template_spec import TemplateSpec, json_number, template_spec_cleaned, template_spec_validate
from teams.models import Member, Team
from teams.selectors.scoping import Viewer, viewer_manages_cycle, viewer_reads_appraisal_templates

FINAL_STATES = (CycleState.FINALISED, CycleState.PUBLISHED)


def template_list(*, viewer: Viewer) -> QuerySet[AppraisalTemplate]:
    """Templates the viewer may read: all for HR and admins; for managers and leads those every
    store may use and those of their stores (retired versions included: their cycles show them)."""
    templates = AppraisalTemplate.objects.select_related("store", "replaces").annotate(
        cycle_count=Count("cycles", distinct=True)
    )
    if viewer.sees_everything:
        return templates
    if not viewer_reads_appraisal_templates(viewer=viewer):
        return templates.none()
    stores = set(viewer.managed_store_ids) | set(
        Team.objects.filter(pk__in=viewer.led_team_ids).values_list("store_id", flat=True)
    )
    return templates.filter(Q(store__isnull=True) | Q(store_id__in=stores))


def template_in_final_use(*, template: AppraisalTemplate) -> bool:
    """A finalised or published cycle used the template: it may never change."""
    return Cycle.objects.filter(template=template, state__in=FINAL_STATES).exists()


def template_cycles(*, viewer: Viewer, template: AppraisalTemplate) -> QuerySet[Cycle]:
    """The cycles that use this version of the template that the viewer may see (their whole
    cycles: HR and admins all, managers and leads theirs), newest month first."""
    from reviews.selectors.appraisals import cycle_list

    cycles = cycle_list(viewer=viewer).filter(template=template).order_by("-month", "store__name")
    if viewer.sees_everything:
        return cycles
    managed = [c.pk for c in cycles if viewer_manages_cycle(viewer=viewer, store_id=c.store_id, team_id=c.team_id)]
    return cycles.filter(pk__in=managed)


def template_versions(*, template: AppraisalTemplate) -> list[AppraisalTemplate]:
    """Every version of the template's line (the first one, the ones it replaced, the ones that
    replaced it), oldest first."""
    first = template
    while first.replaces_id is not None:
        first = AppraisalTemplate.objects.get(pk=first.replaces_id)
    line, current = [first], first
    while (following := AppraisalTemplate.objects.filter(replaces=current).first()) is not None:
        line.append(following)
        current = following
    return line


def template_current(*, template: AppraisalTemplate) -> AppraisalTemplate:
    """The version that replaced this one last (itself when nothing did)."""
    return template_versions(template=template)[-1]


# --- the preview ------------------------------------------------------------------------------


@dataclass
class PreviewItem:
    item: Item
    kpi: Kpi | None
    value: str  # as shown, in the KPI's unit
    target: str
    score: Decimal | None
    status: str
    raw_value: Decimal | None = None  # as stored (rates as fractions)
    raw_target: Decimal | None = None

    @property
    def insufficient(self) -> bool:
        return self.status == ItemStatus.INSUFFICIENT


@dataclass
class PreviewMember:
    member: Member
    items: list[PreviewItem]
    dimensions: list[Decimal | None]  # in the template's order, rounded
    total: Decimal | None
    grade: str

    @property
    def insufficient(self) -> list[PreviewItem]:
        return [row for row in self.items if row.insufficient]


@dataclass
class Preview:
    team: Team
    month: dt.date
    dimensions: list[Dimension]
    items: list[Item]
    members: list[PreviewMember] = field(default_factory=list)
    bands: tuple[scoring.Band, ...] = scoring.DEFAULT_BANDS

    @property
    def grades(self) -> list[tuple[str, int]]:
        """(grade, members) for each grade of the draft's bands, best first."""
        return [(b.grade, sum(1 for m in self.members if m.grade == b.grade)) for b in self.bands]


def template_unsaved(*, spec: TemplateSpec) -> tuple[list[Dimension], list[Item]]:
    """The spec's dimensions and items as unsaved rows with stand-in ids (negative: never a saved
    row's), which the scoring reads as it reads saved ones."""
    dimensions, items = [], []
    for d, d_spec in enumerate(spec.dimensions):
        dimension = Dimension(pk=-(d + 1), name_zh=d_spec.name_zh, name_en=d_spec.name_en, weight=d_spec.weight,
                              order=d)  # fmt: skip
        dimensions.append(dimension)
        for i, i_spec in enumerate(d_spec.items):
            thresholds = [[json_number(v), json_number(s)] for v, s in i_spec.thresholds]
            item = Item(pk=-(len(items) + 1), name_zh=i_spec.name_zh, name_en=i_spec.name_en, kind=i_spec.kind,
                        weight=i_spec.weight, order=i, kpi_key=i_spec.kpi_key, rule=i_spec.rule, floor=i_spec.floor,
                        target=i_spec.target, thresholds=thresholds, rubric_levels=i_spec.rubric_levels,
                        manager_weight=i_spec.manager_weight, self_weight=i_spec.self_weight,
                        peer_weight=i_spec.peer_weight)  # fmt: skip
            item.dimension = dimension
            items.append(item)
    return dimensions, items


def template_preview(*, spec: TemplateSpec, team: Team, month: dt.date) -> Preview:
    """The spec (validated first: a ValidationError as saving would give) scored on the month's
    data of the team's members, exactly as a cycle of that team and month with the template saved
    would score now: the same members, evidence and scoring (reviews.selectors.appraisals
    `cycle_compute`), no ratings yet (rating items are left out, as in a new cycle) and no HR
    decisions (KPI items without data are insufficient). Writes nothing."""
    spec = template_spec_cleaned(spec=spec)
    template_spec_validate(spec=spec)
    dimensions, items = template_unsaved(spec=spec)
    cycle = Cycle(store=team.store, team=team, month=month.replace(day=1))  # never saved
    members = list(members_of_cycle(cycle=cycle))
    bands = tuple(spec.bands)
    computed = cycle_compute(cycle=cycle, items=items, bands=bands, member_ids=[m.pk for m in members], ratings=[],
                             decisions={})  # fmt: skip
    preview = Preview(team=team, month=cycle.month, dimensions=dimensions, items=items, bands=bands)
    for member in members:
        result = computed[member.pk]
        rows = []
        for item in items:
            scored = result.items[item.pk]
            kpi = KPI_BY_KEY.get(item.kpi_key) if item.kind == ItemKind.KPI else None
            rows.append(PreviewItem(
                item=item, kpi=kpi, value=kpi_display(kpi, scored.value) if kpi else "",
                target=kpi_display(kpi, scored.target) if kpi else "", score=scoring.rounded(scored.score),
                status=scored.status, raw_value=scored.value, raw_target=scored.target,
            ))  # fmt: skip
        preview.members.append(PreviewMember(
            member=member, items=rows, dimensions=[scoring.rounded(result.dimensions.get(d.pk)) for d in dimensions],
            total=scoring.rounded(result.total), grade=result.grade,
        ))  # fmt: skip
    return preview

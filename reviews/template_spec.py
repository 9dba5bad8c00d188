"""An appraisal template as plain data (a "spec"): what the editor page, the API, a copy and the
preview exchange, and the rules it must keep. Pure: nothing here reads or writes the database
but `template_spec_of`, which reads a saved template.

Units are the stored ones: weights and guide shares are fractions (0–1; the pages show
percentages), grade cut-offs totals 0–100, KPI values in the KPI's unit (rates as fractions).
Validation errors are keyed by the field's path ("dimensions.0.items.1.weight"), each message in
the active language, so that a page can put it beside its field and the API return it as is."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from metrics.formatting import percent_display
from metrics.registry import KPI_BY_KEY, Direction, Level, kpis_for
from reviews import scoring
from reviews.models import AppraisalTemplate, ItemKind, ScoringRule

LEVELS = 5  # a rating is 1 to 5; the rubric describes each level
NAME_MAX = 120
GRADE_MAX = 8  # Appraisal.grade's length
BANDS_MIN, BANDS_MAX = 2, 10
ZERO, ONE, HUNDRED = Decimal(0), Decimal(1), Decimal(100)
WEIGHT_PLACES = Decimal("0.0001")  # Dimension.weight and Item.weight keep 4 decimals (0.01%)
RATER_PLACES = Decimal("0.001")  # the rater weights keep 3 (0.1%)


def json_number(value: Decimal) -> int | float:
    """A number as a template's JSON keeps it (thresholds): whole numbers as integers."""
    return int(value) if value == value.to_integral_value() else float(value)


def rubric_empty() -> list[dict[str, str]]:
    return [{"zh": "", "en": ""} for _level in range(LEVELS)]


@dataclass
class ItemSpec:
    name_zh: str
    kind: str
    weight: Decimal  # share of its dimension, 0–1
    name_en: str = ""
    id: int | None = None  # the saved item it edits (None: a new item)
    # KPI items
    kpi_key: str = ""
    rule: str = ""
    floor: Decimal | None = None  # linear: scores 0 (empty: 0)
    target: Decimal | None = None  # linear: scores 100; None: the member's target of the month
    thresholds: list[list[Decimal]] = field(default_factory=list)  # [[value, score 0–100], …]
    # Rating items
    rubric_levels: list[dict[str, str]] = field(default_factory=rubric_empty)  # level 1…5: {"zh", "en"}
    rubric_zh: str = ""  # a general note
    rubric_en: str = ""
    manager_weight: Decimal = Decimal("0.7")
    self_weight: Decimal = Decimal("0.3")
    peer_weight: Decimal = ZERO


@dataclass
class DimensionSpec:
    name_zh: str
    weight: Decimal  # share of the total, 0–1
    items: list[ItemSpec] = field(default_factory=list)
    name_en: str = ""
    id: int | None = None


@dataclass
class TemplateSpec:
    name_zh: str
    name_en: str = ""
    description: str = ""  # Chinese
    description_en: str = ""
    store_id: int | None = None  # None: every store may use it
    bands: list[scoring.Band] = field(default_factory=lambda: list(scoring.DEFAULT_BANDS))
    dimensions: list[DimensionSpec] = field(default_factory=list)


def template_spec_of(*, template: AppraisalTemplate) -> TemplateSpec:
    """A saved template as a spec (with the ids of its dimensions and items)."""
    dimensions = []
    for dimension in template.dimensions.order_by("order", "pk").prefetch_related("items"):
        items = [
            ItemSpec(
                id=item.pk,
                name_zh=item.name_zh,
                name_en=item.name_en,
                kind=item.kind,
                weight=item.weight,
                kpi_key=item.kpi_key,
                rule=item.rule,
                floor=item.floor,
                target=item.target,
                thresholds=[[Decimal(str(v)), Decimal(str(s))] for v, s in item.thresholds or []],
                rubric_levels=rubric_normalised(item.rubric_levels),
                rubric_zh=item.rubric_zh,
                rubric_en=item.rubric_en,
                manager_weight=item.manager_weight,
                self_weight=item.self_weight,
                peer_weight=item.peer_weight,
            )
            for item in sorted(dimension.items.all(), key=lambda i: (i.order, i.pk))
        ]
        dimensions.append(DimensionSpec(id=dimension.pk, name_zh=dimension.name_zh, name_en=dimension.name_en,
                                        weight=dimension.weight, items=items))  # fmt: skip
    return TemplateSpec(
        name_zh=template.name_zh, name_en=template.name_en, description=template.description,
        description_en=template.description_en, store_id=template.store_id, bands=list(template.bands),
        dimensions=dimensions,
    )  # fmt: skip


def rubric_normalised(levels: list | None) -> list[dict[str, str]]:
    """Exactly five levels, each {"zh": …, "en": …} (missing ones empty)."""
    shown = rubric_empty()
    for n, texts in enumerate((levels or [])[:LEVELS]):
        if isinstance(texts, dict):
            shown[n] = {"zh": str(texts.get("zh") or "").strip(), "en": str(texts.get("en") or "").strip()}
    return shown


def member_kpis() -> list:
    """The KPIs an item may score: those the registry measures per member."""
    return kpis_for(Level.MEMBER)


class _Errors:
    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        found = self.found.setdefault(path, [])
        if message not in found:
            found.append(message)


def _weight_ok(weight: Decimal | None) -> bool:
    return weight is not None and ZERO < weight <= ONE


def _weight(errors: _Errors, path: str, weight: Decimal | None) -> None:
    if weight is None:
        errors.add(path, _("Enter a number."))
    elif not _weight_ok(weight):
        errors.add(path, _("A weight is above 0 and at most 100%."))


def _name(errors: _Errors, path: str, zh: str, en: str) -> None:
    if not (zh or "").strip():
        errors.add(f"{path}name_zh", _("Give the name in Chinese."))
    if len(zh or "") > NAME_MAX:
        errors.add(f"{path}name_zh", _("At most %(count)s characters.") % {"count": NAME_MAX})
    if len(en or "") > NAME_MAX:
        errors.add(f"{path}name_en", _("At most %(count)s characters.") % {"count": NAME_MAX})


def _bands(errors: _Errors, bands: list[scoring.Band]) -> None:
    if not BANDS_MIN <= len(bands) <= BANDS_MAX:
        errors.add("bands", _("Give between %(min)s and %(max)s grades.") % {"min": BANDS_MIN, "max": BANDS_MAX})
        return
    seen: set[str] = set()
    for n, band in enumerate(bands):
        grade = (band.grade or "").strip()
        if not grade or len(grade) > GRADE_MAX:
            errors.add(f"bands.{n}.grade", _("A grade is 1 to %(count)s letters or characters.") % {"count": GRADE_MAX})
        elif grade in seen:
            errors.add(f"bands.{n}.grade", _("Grade %(grade)s appears twice.") % {"grade": grade})
        seen.add(grade)
        if band.lower is None:
            errors.add(f"bands.{n}.lower", _("Enter a number."))
        elif not ZERO <= band.lower <= HUNDRED:
            errors.add(f"bands.{n}.lower", _("A cut-off is a total from 0 to 100."))
        elif n and bands[n - 1].lower is not None and band.lower >= bands[n - 1].lower:
            errors.add(f"bands.{n}.lower", _("Cut-offs go down from the first grade to the last: this one must be "
                                             "lower than the one above it."))  # fmt: skip
        if band.guide is None:
            errors.add(f"bands.{n}.guide", _("Enter a number."))
        elif not ZERO <= band.guide <= ONE:
            errors.add(f"bands.{n}.guide", _("A share is from 0 to 100%."))
    last = bands[-1].lower
    if last is not None and last != ZERO:
        errors.add(f"bands.{len(bands) - 1}.lower", _("The last grade starts at 0, so that every total has a grade."))
    shares = [b.guide for b in bands]
    if all(s is not None for s in shares) and sum(shares) != ONE:
        errors.add("bands", _("The calibration guide's shares add up to %(sum)s, not 100%%.")
                   % {"sum": percent_display(sum(shares), places=2)})  # fmt: skip


def _kpi_item(errors: _Errors, path: str, item: ItemSpec) -> None:
    kpi = KPI_BY_KEY.get(item.kpi_key or "")
    if not item.kpi_key:
        errors.add(f"{path}kpi_key", _("Choose a KPI."))
    elif kpi is None or kpi not in member_kpis():
        errors.add(f"{path}kpi_key", _("%(key)s is not a KPI that members are measured by.") % {"key": item.kpi_key})
    if item.rule not in ScoringRule.values:
        errors.add(f"{path}rule", _("Choose a scoring rule."))
        return
    if item.rule == ScoringRule.LINEAR:
        floor = item.floor if item.floor is not None else ZERO
        if item.target is not None and kpi is not None:
            if floor == item.target:
                errors.add(f"{path}target", _("The target (100 points) must differ from the floor (0 points)."))
            elif kpi.direction == Direction.HIGHER and floor > item.target:
                errors.add(f"{path}floor", _("Higher is better for %(kpi)s: the floor (0 points) must be below the "
                                             "target (100 points).") % {"kpi": kpi.label})  # fmt: skip
            elif kpi.direction == Direction.LOWER and floor < item.target:
                errors.add(f"{path}floor", _("Lower is better for %(kpi)s: the floor (0 points) is the worst "
                                             "acceptable value, above the target (100 points).")
                           % {"kpi": kpi.label})  # fmt: skip
    elif item.rule == ScoringRule.THRESHOLDS:
        if not item.thresholds:
            errors.add(f"{path}thresholds", _("Give at least one threshold: a value and the score it earns."))
        values = []
        for row in item.thresholds:
            if len(row) != 2 or row[0] is None or row[1] is None or not ZERO <= row[1] <= HUNDRED:
                errors.add(f"{path}thresholds", _("Each threshold is a value and a score from 0 to 100."))
                break
            values.append(row[0])
        if len(values) != len(set(values)):
            errors.add(f"{path}thresholds", _("Two thresholds have the same value."))


def _rating_item(errors: _Errors, path: str, item: ItemSpec) -> None:
    raters = [item.manager_weight, item.self_weight, item.peer_weight]
    if any(w is None or not ZERO <= w <= ONE for w in raters):
        errors.add(f"{path}raters", _("A rater's weight is from 0 to 100%."))
    elif sum(raters) != ONE:
        errors.add(
            f"{path}raters",
            _("The raters' weights add up to %(sum)s, not 100%%.") % {"sum": percent_display(sum(raters), places=2)},
        )
    levels = rubric_normalised(item.rubric_levels)
    for level in (1, LEVELS):
        texts = levels[level - 1]
        if not (texts["zh"] or texts["en"]):
            errors.add(
                f"{path}rubric_levels.{level - 1}", _("Say what a rating of %(level)s means.") % {"level": level}
            )


def template_spec_validate(*, spec: TemplateSpec) -> None:
    """Raise ValidationError (keyed by path) unless the spec is a template that scores: names,
    grade bands, dimensions adding up to 100%, each with items adding up to 100%, each item whole."""
    errors = _Errors()
    _name(errors, "", spec.name_zh, spec.name_en)
    _bands(errors, spec.bands)
    if not spec.dimensions:
        errors.add("dimensions", _("Add at least one dimension."))
    for d, dimension in enumerate(spec.dimensions):
        path = f"dimensions.{d}."
        _name(errors, path, dimension.name_zh, dimension.name_en)
        _weight(errors, f"{path}weight", dimension.weight)
        if not dimension.items:
            errors.add(f"{path}items", _("Add at least one item to this dimension."))
        for i, item in enumerate(dimension.items):
            item_path = f"{path}items.{i}."
            _name(errors, item_path, item.name_zh, item.name_en)
            _weight(errors, f"{item_path}weight", item.weight)
            if item.kind == ItemKind.KPI:
                _kpi_item(errors, item_path, item)
            elif item.kind == ItemKind.RATING:
                _rating_item(errors, item_path, item)
            else:
                errors.add(f"{item_path}kind", _("Choose a KPI item or a rating item."))
        weights = [i.weight for i in dimension.items]
        if dimension.items and all(_weight_ok(w) for w in weights) and sum(weights) != ONE:
            errors.add(f"{path}items", _("The weights of this dimension's items add up to %(sum)s, not 100%%.")
                       % {"sum": percent_display(sum(weights), places=2)})  # fmt: skip
    weights = [d.weight for d in spec.dimensions]
    if spec.dimensions and all(_weight_ok(w) for w in weights) and sum(weights) != ONE:
        errors.add("dimensions", _("The dimensions' weights add up to %(sum)s, not 100%%.")
                   % {"sum": percent_display(sum(weights), places=2)})  # fmt: skip
    if errors.found:
        raise ValidationError(errors.found)


def _quantized(value: Decimal | None, places: Decimal) -> Decimal | None:
    return None if value is None else value.quantize(places)


def template_spec_cleaned(*, spec: TemplateSpec) -> TemplateSpec:
    """The spec as it is saved: names trimmed, weights at the stored precision, and the fields of
    the other kind of item emptied (a rating item has no KPI, a KPI item no rubric)."""
    for dimension in spec.dimensions:
        dimension.name_zh, dimension.name_en = dimension.name_zh.strip(), dimension.name_en.strip()
        dimension.weight = _quantized(dimension.weight, WEIGHT_PLACES)
        for item in dimension.items:
            item.name_zh, item.name_en = item.name_zh.strip(), item.name_en.strip()
            item.weight = _quantized(item.weight, WEIGHT_PLACES)
            if item.kind == ItemKind.KPI:
                item.rubric_levels, item.rubric_zh, item.rubric_en = [], "", ""
                if item.rule != ScoringRule.LINEAR:
                    item.floor = item.target = None
                if item.rule != ScoringRule.THRESHOLDS:
                    item.thresholds = []
            else:
                item.kpi_key, item.rule, item.floor, item.target, item.thresholds = "", "", None, None, []
                item.rubric_levels = rubric_normalised(item.rubric_levels)
                for name in ("manager_weight", "self_weight", "peer_weight"):
                    setattr(item, name, _quantized(getattr(item, name), RATER_PLACES))
    spec.name_zh, spec.name_en = spec.name_zh.strip(), spec.name_en.strip()
    spec.bands = [scoring.Band((b.grade or "").strip(), b.lower, b.guide) for b in spec.bands]
    return spec

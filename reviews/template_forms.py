"""The template editor's form: one page with the template, its grade bands, its dimensions and
their items, rows added and removed in the browser (static/js/template_editor.js).

Field names carry the row's index as the page numbered it: `band-<b>-grade`, `dim-<d>-weight`,
`dim-<d>-item-<i>-kpi_key`, `dim-<d>-item-<i>-th-<t>-value`, `dim-<d>-item-<i>-rubric-<level>-zh`.
Rows keep the page's order (indices ascending); a removed row is simply absent.

People type percentages (weights, guide shares, a rate KPI's floor, target and thresholds: 12.5
for 12.5%); the spec keeps fractions. This module only parses and shows values: the rules are
`reviews.template_spec.template_spec_validate`'s, whose errors (keyed by the spec's paths) are put
back beside the fields they concern."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metrics.registry import KPI_BY_KEY, Direction, Unit
from perfmgmt.common.forms import MonthField
from perfmgmt.common.numbers import decimal_plain, percent_plain
from reviews import scoring
from reviews.forms import TeamChoiceField
from reviews.models import ItemKind, ScoringRule
from reviews.template_spec import LEVELS, DimensionSpec, ItemSpec, TemplateSpec, member_kpis, rubric_empty
from teams.models import Store, Team

HUNDRED = Decimal(100)
MEMBER_TARGET, FIXED_TARGET = "member", "fixed"
TEMPLATE_FIELDS = ("name_zh", "name_en", "description", "description_en", "store")
DIRECTIONS = {
    Direction.HIGHER: gettext_lazy("Higher is better"),
    Direction.LOWER: gettext_lazy("Lower is better"),
    Direction.NEUTRAL: gettext_lazy("Neither higher nor lower is better"),
}
UNITS = {
    Unit.MONEY: gettext_lazy("in yuan"),
    Unit.RATE: gettext_lazy("as a percentage"),
    Unit.SECONDS: gettext_lazy("in seconds"),
    Unit.DAYS: gettext_lazy("in days"),
    Unit.COUNT: gettext_lazy("a count"),
}

_INDEX = re.compile(r"^(?:band-(\d+)|dim-(\d+)(?:-item-(\d+)(?:-th-(\d+))?)?)-")


@dataclass
class Row:
    """A row of the page: its index in the field names, what was typed (or saved) as text, and the
    errors of its fields (by field: "weight", "name_zh"…; "" for the row as a whole)."""

    index: int | str
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    prefix: str = ""  # of its fields' names: "dim-0-item-2-"

    def add_error(self, name: str, message: str) -> None:
        found = self.errors.setdefault(name, [])
        if message not in found:  # parsing and validation may both say "Enter a number."
            found.append(message)


@dataclass
class ItemRow(Row):
    thresholds: list[Row] = field(default_factory=list)
    rubric: list[tuple[int, str, str]] = field(default_factory=list)  # (level, zh, en)

    @property
    def kpi(self):
        return KPI_BY_KEY.get(self.values.get("kpi_key", ""))

    @property
    def direction(self) -> str:
        return str(DIRECTIONS.get(self.kpi.direction, "")) if self.kpi else ""


@dataclass
class DimensionRow(Row):
    items: list[ItemRow] = field(default_factory=list)


@dataclass
class Editor:
    """The whole page's rows and errors ("" in `errors`: the template as a whole)."""

    values: dict[str, str] = field(default_factory=dict)
    bands: list[Row] = field(default_factory=list)
    dimensions: list[DimensionRow] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add_error(self, name: str, message: str) -> None:
        found = self.errors.setdefault(name, [])
        if message not in found:
            found.append(message)

    @property
    def has_errors(self) -> bool:
        rows = [*self.bands, *self.dimensions, *(i for d in self.dimensions for i in d.items),
                *(t for d in self.dimensions for i in d.items for t in i.thresholds)]  # fmt: skip
        return bool(self.errors) or any(r.errors for r in rows)

    @property
    def messages(self) -> list[str]:
        """Every error on the page, for the summary above it."""
        found = [m for ms in self.errors.values() for m in ms]
        for row in self.bands:
            found += [m for ms in row.errors.values() for m in ms]
        for d in self.dimensions:
            found += [m for ms in d.errors.values() for m in ms]
            for i in d.items:
                found += [m for ms in i.errors.values() for m in ms]
                found += [m for t in i.thresholds for ms in t.errors.values() for m in ms]
        return list(dict.fromkeys(found))


def editor_numbered(editor: Editor) -> Editor:
    """Give every row the prefix of its fields' names."""
    for band in editor.bands:
        band.prefix = f"band-{band.index}-"
    for d in editor.dimensions:
        d.prefix = f"dim-{d.index}-"
        for i in d.items:
            i.prefix = f"{d.prefix}item-{i.index}-"
            for t in i.thresholds:
                t.prefix = f"{i.prefix}th-{t.index}-"
    return editor


def editor_prototypes() -> dict[str, Row]:
    """Blank rows for the page to copy when a row is added (static/js/template_editor.js puts the
    new indices in place of __B__, __D__, __I__ and __T__)."""
    item = editor_blank_item("__I__")
    item.thresholds = [Row("__T__")]
    dimension = DimensionRow("__D__", {}, items=[item])
    editor_numbered(Editor(bands=[Row("__B__")], dimensions=[dimension]))
    band = Row("__B__", prefix="band-__B__-")
    return {"band": band, "dimension": dimension, "item": item, "threshold": item.thresholds[0]}


# --- showing: spec → rows -------------------------------------------------------------------------


def _kpi_text(key: str, value: Decimal | None) -> str:
    kpi = KPI_BY_KEY.get(key)
    return percent_plain(value) if kpi and kpi.unit == Unit.RATE else decimal_plain(value)


def editor_from_spec(*, spec: TemplateSpec) -> Editor:
    editor = Editor(values={"name_zh": spec.name_zh, "name_en": spec.name_en, "description": spec.description,
                            "description_en": spec.description_en, "store": str(spec.store_id or "")})  # fmt: skip
    editor.bands = [Row(n, {"grade": b.grade, "lower": decimal_plain(b.lower), "guide": percent_plain(b.guide)})
                    for n, b in enumerate(spec.bands)]  # fmt: skip
    for d, dimension in enumerate(spec.dimensions):
        row = DimensionRow(d, {"id": str(dimension.id or ""), "name_zh": dimension.name_zh,
                               "name_en": dimension.name_en, "weight": percent_plain(dimension.weight)})  # fmt: skip
        for i, item in enumerate(dimension.items):
            item_row = ItemRow(i, {
                "id": str(item.id or ""), "name_zh": item.name_zh, "name_en": item.name_en, "kind": item.kind,
                "weight": percent_plain(item.weight), "kpi_key": item.kpi_key, "rule": item.rule,
                "floor": _kpi_text(item.kpi_key, item.floor),
                "target_source": FIXED_TARGET if item.target is not None else MEMBER_TARGET,
                "target": _kpi_text(item.kpi_key, item.target),
                "manager_weight": percent_plain(item.manager_weight), "self_weight": percent_plain(item.self_weight),
                "peer_weight": percent_plain(item.peer_weight), "rubric_zh": item.rubric_zh,
                "rubric_en": item.rubric_en,
            })  # fmt: skip
            item_row.thresholds = [Row(t, {"value": _kpi_text(item.kpi_key, v), "score": decimal_plain(s)})
                                   for t, (v, s) in enumerate(item.thresholds)]  # fmt: skip
            levels = item.rubric_levels or rubric_empty()
            item_row.rubric = [(n + 1, levels[n].get("zh", ""), levels[n].get("en", "")) for n in range(LEVELS)]
            row.items.append(item_row)
        editor.dimensions.append(row)
    return editor_numbered(editor)


def editor_blank_item(index: int | str) -> ItemRow:
    """A new item's row: a KPI item, linear to the member's target; raters 70% manager, 30% self."""
    row = ItemRow(index, {"kind": ItemKind.KPI, "rule": ScoringRule.LINEAR, "target_source": MEMBER_TARGET,
                          "manager_weight": "70", "self_weight": "30", "peer_weight": "0"})  # fmt: skip
    row.rubric = [(n + 1, "", "") for n in range(LEVELS)]
    return row


def editor_blank() -> Editor:
    """A new template: the default grade bands, one dimension of one item."""
    editor = editor_from_spec(spec=TemplateSpec(name_zh=""))
    editor.dimensions = [DimensionRow(0, {"weight": "100"}, items=[editor_blank_item(0)])]
    editor.dimensions[0].items[0].values["weight"] = "100"
    return editor_numbered(editor)


# --- reading: POST → rows → spec -----------------------------------------------------------------


def editor_from_post(*, data) -> Editor:
    """The rows as the page sent them, in the page's order."""
    editor = Editor(values={name: (data.get(name) or "").strip() for name in TEMPLATE_FIELDS})
    bands: dict[int, Row] = {}
    dimensions: dict[int, DimensionRow] = {}
    items: dict[tuple[int, int], ItemRow] = {}
    thresholds: dict[tuple[int, int, int], Row] = {}
    for name in data:
        found = _INDEX.match(name)
        if not found:
            continue
        band, d, i, t = (None if g is None else int(g) for g in found.groups())
        rest = name[found.end() :]
        value = (data.get(name) or "").strip()
        if band is not None:
            bands.setdefault(band, Row(band)).values[rest] = value
        elif i is None:
            dimensions.setdefault(d, DimensionRow(d)).values[rest] = value
        elif t is None:
            dimensions.setdefault(d, DimensionRow(d))
            items.setdefault((d, i), ItemRow(i)).values[rest] = value
        else:
            dimensions.setdefault(d, DimensionRow(d))
            items.setdefault((d, i), ItemRow(i))
            thresholds.setdefault((d, i, t), Row(t)).values[rest] = value
    editor.bands = [bands[n] for n in sorted(bands)]
    for (d, i), row in sorted(items.items()):
        row.thresholds = [thresholds[key] for key in sorted(k for k in thresholds if k[:2] == (d, i))]
        row.rubric = [(n, row.values.get(f"rubric-{n}-zh", ""), row.values.get(f"rubric-{n}-en", ""))
                      for n in range(1, LEVELS + 1)]  # fmt: skip
        dimensions[d].items.append(row)
    editor.dimensions = [dimensions[n] for n in sorted(dimensions)]
    return editor_numbered(editor)


def _decimal(row: Row | Editor, name: str, text: str, *, required: bool = True) -> Decimal | None:
    if not text:
        if required:
            row.add_error(name, _("Enter a number."))
        return None
    try:
        value = Decimal(text.replace(",", "").replace("%", "").strip())
    except InvalidOperation:
        row.add_error(name, _("Enter a number."))
        return None
    if not value.is_finite():
        row.add_error(name, _("Enter a number."))
        return None
    return value


def _fraction(row: Row, name: str, *, blank: Decimal | None = None) -> Decimal | None:
    """A percentage typed → a fraction; `blank`: what an empty field means (else it is required)."""
    text = row.values.get(name, "")
    if not text and blank is not None:
        return blank
    value = _decimal(row, name, text)
    return None if value is None else value / HUNDRED


def _kpi_value(row: ItemRow, holder: Row, name: str, *, required: bool = True) -> Decimal | None:
    """A value of the item's KPI as typed: a rate as a percentage."""
    value = _decimal(holder, name, holder.values.get(name, ""), required=required)
    if value is not None and row.kpi is not None and row.kpi.unit == Unit.RATE:
        value /= HUNDRED
    return value


def _id(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def editor_spec(*, editor: Editor) -> TemplateSpec:
    """The spec the rows describe; a value that is not a number is an error on its field (the
    spec then holds None there, which validation reports no further)."""
    values = editor.values
    spec = TemplateSpec(name_zh=values.get("name_zh", ""), name_en=values.get("name_en", ""),
                        description=values.get("description", ""), description_en=values.get("description_en", ""),
                        store_id=_id(values.get("store", "")), bands=[])  # fmt: skip
    for row in editor.bands:
        spec.bands.append(scoring.Band(row.values.get("grade", ""), _decimal(row, "lower", row.values.get("lower", "")),
                                       _fraction(row, "guide")))  # fmt: skip
    for d_row in editor.dimensions:
        values = d_row.values
        dimension = DimensionSpec(id=_id(values.get("id", "")), name_zh=values.get("name_zh", ""),
                                  name_en=values.get("name_en", ""), weight=_fraction(d_row, "weight"))  # fmt: skip
        for row in d_row.items:
            kind = row.values.get("kind", "")
            values = row.values
            item = ItemSpec(id=_id(values.get("id", "")), name_zh=values.get("name_zh", ""),
                            name_en=values.get("name_en", ""), kind=kind, weight=_fraction(row, "weight"))  # fmt: skip
            if kind == ItemKind.KPI:
                item.kpi_key, item.rule = row.values.get("kpi_key", ""), row.values.get("rule", "")
                if item.rule == ScoringRule.LINEAR:
                    item.floor = _kpi_value(row, row, "floor", required=False)
                    if row.values.get("target_source") == FIXED_TARGET:
                        item.target = _kpi_value(row, row, "target")
                elif item.rule == ScoringRule.THRESHOLDS:
                    item.thresholds = [[_kpi_value(row, t, "value"), _decimal(t, "score", t.values.get("score", ""))]
                                       for t in row.thresholds]  # fmt: skip
            elif kind == ItemKind.RATING:
                zero = Decimal(0)  # a rater left empty does not rate
                item.manager_weight = _fraction(row, "manager_weight", blank=zero)
                item.self_weight = _fraction(row, "self_weight", blank=zero)
                item.peer_weight = _fraction(row, "peer_weight", blank=zero)
                item.rubric_levels = [{"zh": zh, "en": en} for _n, zh, en in row.rubric]
                item.rubric_zh, item.rubric_en = row.values.get("rubric_zh", ""), row.values.get("rubric_en", "")
            dimension.items.append(item)
        spec.dimensions.append(dimension)
    return spec


def editor_errors(*, editor: Editor, error: ValidationError) -> None:
    """Put the validation's errors (keyed by the spec's paths) beside the rows they concern. The
    spec's lists are the rows in the page's order, so a position finds its row."""
    for path, messages in error.message_dict.items():
        parts = path.split(".")
        target: Row | Editor = editor
        name = parts[0]
        try:
            if parts[0] == "bands" and len(parts) > 1:
                target, name = editor.bands[int(parts[1])], parts[2]
            elif parts[0] == "dimensions" and len(parts) > 1:
                target, name = editor.dimensions[int(parts[1])], parts[2]
                if name == "items" and len(parts) > 3:
                    target, name = target.items[int(parts[3])], ".".join(parts[4:])
        except (IndexError, ValueError):
            target, name = editor, NON_FIELD
        name = name or NON_FIELD
        if name.startswith("rubric_levels."):
            name = "rubric"  # the rubric's levels are one block
        for message in messages:
            target.add_error(name if name != "__all__" else NON_FIELD, message)


NON_FIELD = "all"  # an error of a row (or of the template) as a whole


# --- choices and the preview's team ---------------------------------------------------------------


@dataclass(frozen=True)
class KpiChoice:
    key: str
    label: str
    direction: str  # higher, lower, neutral
    direction_text: str
    unit: str
    unit_text: str


def kpi_choices() -> list[KpiChoice]:
    """The KPIs an item may score, labelled in the reader's language."""
    return [KpiChoice(k.key, k.label, str(k.direction), str(DIRECTIONS[k.direction]), str(k.unit),
                      str(UNITS[k.unit])) for k in member_kpis()]  # fmt: skip


class PreviewForm(forms.Form):
    """Which team and month the draft is scored on (last month by default)."""

    team = TeamChoiceField(label=gettext_lazy("Team"), queryset=Team.objects.none(),
                           empty_label=gettext_lazy("Choose a team"))  # fmt: skip
    month = MonthField(label=gettext_lazy("Month"))

    def __init__(self, *args, teams: QuerySet[Team], month: dt.date, **kwargs):
        kwargs.setdefault("initial", {"month": month})
        super().__init__(*args, prefix="preview", **kwargs)
        self.fields["team"].queryset = teams


def store_choices(stores: QuerySet[Store]) -> list[tuple[str, str]]:
    return [("", _("Every store")), *((str(s.pk), s.name) for s in stores)]

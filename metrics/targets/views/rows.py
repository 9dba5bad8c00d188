"""What the target pages show of a target and its progress: a row, a folded row of many members'
execution targets (the tree they stand in: metrics.targets.tree); and the small parsing helpers
the pages share."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.forms import Form
from django.utils.formats import number_format

from metrics.formatting import EMPTY, kpi_display
from metrics.models import Target
from metrics.targets.forms.fields import HUNDRED
from metrics.targets.selectors import (
    NOT_STARTED,
    STATUSES,
    Progress,
    target_kpi,
)

ROOTS_PER_PAGE = 10


def int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def service_errors(form: Form, error: ValidationError) -> None:
    """A service's ValidationError on the form's fields (the rest above the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


# --- progress rows ----------------------------------------------------------------------------


def value_shown(target: Target, value: Decimal | None) -> str:
    """A target's value (or actual, expected, forecast) in its KPI's unit, or a behaviour count."""
    if value is None:
        return EMPTY
    kpi = target_kpi(target)
    if kpi is not None:
        return kpi_display(kpi, value)
    places = 0 if Decimal(value) == Decimal(value).to_integral_value() else 1
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-places))
    count = number_format(rounded, places, use_l10n=True, force_grouping=True)
    unit = target.behaviour.unit_text if target.behaviour_id else ""
    return f"{count} {unit}".strip()


@dataclass
class Row:
    target: Target
    depth: int
    progress: Progress | None
    measure: str  # the KPI's label or the behaviour's name
    value: str
    actual: str
    expected: str
    forecast: str
    completion: str
    bar: int  # 0–100, the width of the progress bar
    status: str
    status_label: str
    badge: str
    folded: bool = False


def progress_row(target: Target, progress: Progress | None, depth: int = 0) -> Row:
    status = progress.status if progress else NOT_STARTED
    label, badge = STATUSES.get(status, (status, ""))
    completion = progress.completion if progress else None
    return Row(
        target=target,
        depth=min(depth, 4),
        progress=progress,
        measure=kpi.label if (kpi := target_kpi(target)) else (target.behaviour.name if target.behaviour_id else ""),
        value=value_shown(target, target.value),
        actual=value_shown(target, progress.actual) if progress else EMPTY,
        expected=value_shown(target, progress.expected) if progress else EMPTY,
        forecast=value_shown(target, progress.forecast) if progress else EMPTY,
        completion=EMPTY
        if completion is None
        else f"{number_format(round(completion * HUNDRED, 1), 1, use_l10n=True, force_grouping=True)}%",
        bar=0 if completion is None else int(max(0, min(completion, Decimal(1))) * 100),
        status=status,
        status_label=str(label),
        badge=badge,
    )


@dataclass
class Folded:
    """Execution targets under one parent, shown as one row: how many, and how they stand."""

    parent: Target
    depth: int
    count: int
    statuses: list[tuple[str, str, int]]  # label, badge, how many
    folded: bool = True


def folded_row(parent: Target, targets: list[Target], progress: dict[int, Progress], depth: int) -> Folded:
    counts: dict[str, int] = defaultdict(int)
    for target in targets:
        counts[progress[target.pk].status] += 1
    order = list(STATUSES)
    statuses = []
    for key in sorted(counts, key=lambda k: order.index(k) if k in order else len(order)):
        label, badge = STATUSES.get(key, (key, ""))
        statuses.append((str(label), badge, counts[key]))
    return Folded(parent=parent, depth=min(depth, 4), count=len(targets), statuses=statuses)

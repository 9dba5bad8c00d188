"""Generated target names and notes, and import errors, written before messages, turned into
messages (metrics/messages.py) by the data migration 0012: see metrics/legacy_messages.py.

A target's name is converted only when it is exactly what the product generated for that target
(its own member, KPI, behaviour, promotion phase or scope in it); a name a person wrote, even
one that looks alike, is left as written."""

from __future__ import annotations

import re

from metrics.legacy_messages import (
    INT,
    MONEY,
    NUMBER,
    TEXT,
    Kind,
    _in_languages,
    legacy_match,
    number_of,
)
from metrics.messages import MessageData, choice, kpi_label, message, message_keys
from metrics.models import PhaseKind
from metrics.registry import KPI_BY_KEY

BATCH = 2000
TACTICS = {  # name key → the KPI (or, for leads, a behaviour) of the tactic target it names
    "metrics.target_paid_orders_needed": {"paid_orders"},
    "metrics.target_paying_buyers_needed": {"paying_buyers", "paid_buyers"},
    "metrics.target_inquiring_buyers_needed": {"inquiring_buyers"},
    "metrics.target_visitors_needed": {"uv"},
    "metrics.target_new_leads": {""},
}
# Words the decomposition and the demo wrote for a member's KPI targets, besides the KPI's labels.
MEASURE_WORDS = {"gmv": ("GMV",), "inquiring_buyers": ("Inquiring buyers",), "new_customers": ("新客户",)}
_MEMBER_PERIOD = r"(?P<period>\d{2}-\d{2}–\d{2}-\d{2}|\d{4}-\d{2})"


def _words(kpi_key: str) -> set[str]:
    """What a generated name may call the KPI: its labels, and the decomposition's words, in both
    languages."""
    kpi = KPI_BY_KEY[kpi_key]
    words = {kpi.label_zh, kpi.label_en}
    for word in MEASURE_WORDS.get(kpi_key, ()):
        words.update(_in_languages(lambda word=word: _gettext(word)))
    return words


def _gettext(text: str) -> str:
    from django.utils.translation import gettext

    return gettext(text)


def target_name_message(target, *, member_name: str | None, behaviour_name: str | None, scope: str,
                        phase: tuple[str, str] | None) -> MessageData | None:  # fmt: skip
    """The message of a generated name; None for a name a person wrote. `phase`: the promotion's
    name and the phase's kind, for a promotion's focus target."""
    name = target.name
    templates = message_keys()
    if target.tier == "tactic" and target.parent_id:
        for key, kpis in TACTICS.items():
            if (target.kpi_key or "") in kpis and name in _in_languages(lambda key=key: templates[key]):
                return message(key)
    if member_name and name.startswith(member_name + " "):
        found = re.fullmatch(rf"{_MEMBER_PERIOD} · (?P<measure>.+)", name[len(member_name) + 1 :])
        if found and target.kpi_key in KPI_BY_KEY and found["measure"] in _words(target.kpi_key):
            measure = kpi_label(target.kpi_key)
        elif found and behaviour_name and found["measure"] == behaviour_name:
            measure = behaviour_name
        else:
            found = None
        if found:
            return message("metrics.target_member_period", member=member_name, period=found["period"], measure=measure)
    if phase and target.kpi_key in KPI_BY_KEY:
        campaign, kind = phase
        labels = _in_languages(lambda: dict(PhaseKind.choices)[kind])
        if any(name == f"{campaign} · {label} · {word}" for label in labels for word in _words(target.kpi_key)):
            return message("metrics.target_focus", campaign=campaign, phase=choice("phase", kind),
                           kpi=kpi_label(target.kpi_key))  # fmt: skip
    if target.tier == "strategy":
        found = legacy_match(text=name, keys=["metrics.target_revenue"], kinds=_NO_KINDS)
        if found and found["params"]["scope"] == scope:
            return found
    return None


_NO_KINDS: dict = {}
NOTES_KINDS = {"metrics.target_returning_new": {"returning": MONEY, "new": MONEY}}


def targets_convert(apps, schema_editor) -> None:
    """Generated target names and notes: their messages."""
    Target = apps.get_model("metrics", "Target")
    changed = []
    targets = Target.objects.select_related("member", "behaviour", "team", "store", "phase__campaign")
    for target in targets.iterator(chunk_size=BATCH):
        phase = (target.phase.campaign.name, target.phase.kind) if target.phase_id else None
        target.name_msg = target_name_message(
            target, member_name=target.member.display_name if target.member_id else None,
            behaviour_name=target.behaviour.name if target.behaviour_id else None,
            scope=target.team.name if target.team_id else target.store.name, phase=phase,
        ) or {}  # fmt: skip
        notes = legacy_match(text=target.notes, keys=list(NOTES_KINDS), kinds=NOTES_KINDS) if target.notes else None
        target.notes_msg = notes or {}
        if target.name_msg or target.notes_msg:
            changed.append(target)
        if len(changed) >= BATCH:
            Target.objects.bulk_update(changed, ["name_msg", "notes_msg"])
            changed = []
    Target.objects.bulk_update(changed, ["name_msg", "notes_msg"])


# --- imports -------------------------------------------------------------------------------------

SIZE = Kind(lambda: NUMBER, lambda text, _g: number_of(text))
IMPORT_KINDS = {
    "metrics.import_too_big": {"size": SIZE, "limit": INT},
    "metrics.import_xlsx_bomb": {"size": SIZE},
    "metrics.import_column_no_header": {"position": INT},
    "metrics.import_sheet_rows": {"rows": INT, "limit": INT},
    "metrics.import_sheet_too_many": {"limit": INT},
    "metrics.import_rows_invalid": {"count": INT},
    "metrics.import_row_too_long": {"n": INT},
}
_ROW_TEXT = {"metrics.import_row_split": {"detail": TEXT}}
_ROW_KINDS = {**IMPORT_KINDS, **_ROW_TEXT}


def _import_keys(*, rows: bool) -> list[str]:
    row = "metrics.import_row_"
    return [k for k in message_keys() if k.startswith("metrics.import_") and k.startswith(row) == rows]


def imports_convert(apps, schema_editor) -> None:
    """Why imports failed and rows were rejected: their messages."""
    ImportBatch = apps.get_model("metrics", "ImportBatch")
    ImportRowError = apps.get_model("metrics", "ImportRowError")
    for batch in ImportBatch.objects.exclude(error_message="").iterator(chunk_size=BATCH):
        found = legacy_match(text=batch.error_message, keys=_import_keys(rows=False), kinds=IMPORT_KINDS)
        if found:
            ImportBatch.objects.filter(pk=batch.pk).update(error_msg=found)
    reasons = ImportRowError.objects.values_list("reason", flat=True).distinct()
    for reason in list(reasons):  # a few distinct texts over many rows: one update each
        found = legacy_match(text=reason, keys=_import_keys(rows=True), kinds=_ROW_KINDS)
        if found:
            ImportRowError.objects.filter(reason=reason).update(reason_msg=found)

"""Audit entries and built-in template descriptions written before messages: the data migration
0003 turns them into messages and plain descriptions in both languages."""

from __future__ import annotations

import re

from metrics.messages import bilingual, choice, message
from reviews.services.templates import BUILT_IN_DESCRIPTIONS

_RATING = re.compile(r"^(?P<item>.+) \((?P<role>self|manager|peer)\)$")
KEYED_FIELDS = ("state", "self_comment", "manager_comment")  # labelled by the page from the key


def audit_convert(apps, schema_editor) -> None:
    """A rating's audit label ("<item's Chinese name> (<role>)"): the item's names in both
    languages (from the cycle's template; the Chinese one alone if the item is gone) and the role."""
    AuditEntry = apps.get_model("reviews", "AuditEntry")
    Item = apps.get_model("reviews", "Item")
    names: dict[tuple[int, str], str] = {}
    for template_id, zh, en in Item.objects.values_list("dimension__template_id", "name_zh", "name_en"):
        names.setdefault((template_id, zh), en)
    for entry in AuditEntry.objects.exclude(field__in=KEYED_FIELDS).select_related("cycle"):
        found = _RATING.match(entry.field)
        if not found:
            continue
        english = names.get((entry.cycle.template_id, found["item"]), "")
        entry.field_msg = message("reviews.audit_rating", item=bilingual(zh=found["item"], en=english),
                                  role=choice("rater_role", found["role"]))  # fmt: skip
        entry.save(update_fields=["field_msg"])


def descriptions_convert(apps, schema_editor) -> None:
    """The built-in templates' descriptions named internal documents ("Seed 003: …"): plain
    descriptions in both languages, unless someone has rewritten them."""
    AppraisalTemplate = apps.get_model("reviews", "AppraisalTemplate")
    for key, (zh, en) in BUILT_IN_DESCRIPTIONS.items():
        AppraisalTemplate.objects.filter(key=key, description__startswith="Seed 0").update(
            description=zh, description_en=en
        )


def rubric_levels_convert(apps, schema_editor) -> None:
    """A rating item's rubric was one text per language, "1 …；3 …；5 …": each level becomes its own
    text (levels 2 and 4 stay empty, "between"). A text not of that form stays the item's note, so
    nothing written is lost."""
    from reviews.services.templates import rubric_levels_from_text, rubric_levels_join

    Item = apps.get_model("reviews", "Item")
    changed = []
    for item in Item.objects.filter(kind="rating", rubric_levels=[]):
        zh, en = rubric_levels_from_text(item.rubric_zh), rubric_levels_from_text(item.rubric_en)
        if zh is None and en is None:
            continue
        item.rubric_levels = rubric_levels_join(zh, en)
        item.rubric_zh = "" if zh is not None else item.rubric_zh
        item.rubric_en = "" if en is not None else item.rubric_en
        changed.append(item)
    Item.objects.bulk_update(changed, ["rubric_levels", "rubric_zh", "rubric_en"])

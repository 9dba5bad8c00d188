"""Generated sentences as messages (metrics/messages.py): every key renders in both languages,
each typed parameter is formatted by its one formatter in the reader's language, and a message
that cannot be rendered falls back to the row's text instead of breaking a page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.functional import Promise

from metrics.formatting import percent_display
from metrics.messages import (
    bilingual,
    choice,
    joined,
    kpi_label,
    kpi_value,
    literal,
    message,
    message_keys,
    message_render,
    money,
    nested,
    number,
    percent,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
PARAM = re.compile(r"%\((\w+)\)s")


def render(msg, language: str) -> str:
    with translation.override(language):
        return message_render(message=msg)


class _Asked(dict):
    """The parameters a template asks for when formatted, each given as 2 (a count, by which a
    plural template picks its form)."""

    def __missing__(self, key):
        self[key] = 2
        return 2


def _source(template) -> tuple[str, dict]:
    """The template's English source and the parameters it asks for. A plural template
    (ngettext_lazy keyed by a parameter) reads as empty until formatted: formatted, it shows them."""
    if str(template):
        return str(template), dict.fromkeys(PARAM.findall(str(template)), "X")
    asked = _Asked()
    with translation.override("en"):
        text = template % asked
    return PARAM.sub("", text), dict(asked)


@pytest.mark.parametrize("key", sorted(message_keys()))
def test_every_key_renders_in_both_languages(key):
    template = message_keys()[key]
    source, params = _source(template)
    english, chinese = render(message(key, **params), "en"), render(message(key, **params), "zh-hans")
    assert english and chinese and key not in (english, chinese)
    words = re.sub(PARAM, "", source)
    if re.search(r"[A-Za-z]{2}", words):  # words to translate: a gettext_lazy template, and translated
        assert isinstance(template, Promise), f"{key}: wrap the template in gettext_lazy"
        assert CJK.search(chinese), f"{key}: no Chinese translation ({chinese!r})"


def test_typed_parameters_are_formatted_in_the_readers_language():
    line = message(
        "incentives.modifier", kpi=kpi_label("inquiry_to_payment_rate"), value=kpi_value("inquiry_to_payment_rate", 0.556),
        cmp=choice("comparison", "ge"), threshold=percent(Decimal("0.400000"), places=2), multiplier="1.1",
    )  # fmt: skip
    assert render(line, "en") == "Inquiry-to-payment rate 55.6% ≥ 40%: commission × 1.1."
    assert render(line, "zh-hans") == "询单转化率 55.6% ≥ 40%：提成 × 1.1。"
    seconds = message("incentives.value", value=kpi_value("avg_first_response_s", Decimal("12.34")))
    assert (render(seconds, "en"), render(seconds, "zh-hans")) == ("12.3 s", "12.3 秒")
    assert render(message("incentives.value", value=kpi_value("gmv", None)), "en") == "—"
    capped = message("incentives.commission_capped", cap=money(Decimal("12345.5")))
    assert render(capped, "en") == "Commission capped at ¥12,345.50."
    assert render(message("incentives.value", value=number(Decimal("1500"), places=0)), "en") == "1,500"


def test_a_plural_message_picks_its_form_by_its_count():
    one = message("incentives.performance_pending", month="2026-08", count=1)
    two = message("incentives.performance_pending", month="2026-08", count=2)
    assert "lacks data for 1 KPI item," in render(one, "en") and "lacks data for 2 KPI items," in render(two, "en")
    assert render(two, "zh-hans").startswith("2026-08 的考核有 2 个指标项缺少数据")


def test_choices_names_nested_and_joined_messages():
    mode = message("incentives.value", value=choice("tier_mode", "marginal"))
    assert render(mode, "en") == "Marginal: each tier's rate on its part"
    assert CJK.search(render(mode, "zh-hans"))
    item = message("reviews.audit_rating", item=bilingual(zh="产品知识", en="Product knowledge"),
                   role=choice("rater_role", "manager"))  # fmt: skip
    assert (render(item, "en"), render(item, "zh-hans")) == ("Product knowledge (Manager)", "产品知识 (主管)")
    only_chinese = message("reviews.audit_rating", item=bilingual(zh="服务", en=""), role="x")
    assert render(only_chinese, "en") == "服务 (x)"  # a name without English: the one people wrote
    how = joined([nested(message("incentives.tier_part", rate=percent(Decimal("0.015"), places=2),
                                 base=money(Decimal(600)))), "—"], separator="; ")  # fmt: skip
    assert render(message("incentives.value", value=how), "en") == "1.5% × ¥600.00; —"
    tie = message("incentives.value", value=nested(message("incentives.pk_tie")))
    assert render(tie, "en") == " (a tie: the title is shared)" and CJK.search(render(tie, "zh-hans"))


def test_a_literal_is_shown_as_written_and_a_broken_message_falls_back_to_the_rows_text():
    assert render(literal("Bonus as agreed with 王芳."), "zh-hans") == "Bonus as agreed with 王芳."
    assert message_render(message={}, fallback="old text") == "old text"
    assert message_render(message={"key": "incentives.gone"}, fallback="old text") == "old text"
    missing_param = {"key": "incentives.base_salary", "params": {}}
    assert message_render(message=missing_param, fallback="方案的底薪。") == "方案的底薪。"
    with pytest.raises(KeyError):
        message("incentives.no_such_key")
    with pytest.raises(KeyError):
        choice("no_such_choices", "x")


@pytest.mark.parametrize(
    ("fraction", "places", "shown"),
    [("0.4", 2, "40%"), ("0.400000", 2, "40%"), ("0.015", 2, "1.5%"), ("1", 1, "100%"), ("0.01882", 3, "1.882%"),
     ("1.2667", 1, "126.7%"), ("0.00004", 1, "0%"), ("12.5", 1, "1,250%")],
)  # fmt: skip
def test_percent_display_has_at_most_the_places_asked_and_no_trailing_zeros(fraction, places, shown):
    assert percent_display(Decimal(fraction), places=places) == shown

"""The data migrations turn rows written before messages into messages (issue 18, point 8): every
generated pattern, written in Chinese or in English, is recognised; anything else is left as
written."""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import translation

from incentives.legacy_texts import (
    LINE_KEYS,
    badge_detail_message,
    explanation_message,
    kpi_value_message,
    statement_lines_convert,
)
from incentives.models import StatementLine
from incentives.services.statements import statement_refresh
from metrics.importing.services import orders_import
from metrics.legacy_texts import imports_convert, targets_convert
from metrics.messages import (
    choice,
    joined,
    kpi_label,
    kpi_value,
    message,
    message_render,
    money,
    nested,
    number,
    percent,
)
from metrics.models import ImportBatch, ImportRowError, Target
from reviews.legacy_texts import audit_convert, descriptions_convert
from reviews.models import AppraisalTemplate, AuditEntry, Cycle
from tests.incentives.test_statement_languages import rules  # noqa: F401 - the fixture
from tests.incentives.test_statements import AUGUST, paid  # noqa: F401 - the fixture
from tests.metrics.helpers import ORDER_HEADER, write
from tests.metrics.test_target_languages import tree  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
LANGUAGES = ("zh-hans", "en")


def render(msg, language: str) -> str:
    with translation.override(language):
        return message_render(message=msg)


def _part(rate: str, base: str):
    return nested(message("incentives.tier_part", rate=percent(Decimal(rate), places=2), base=money(Decimal(base))))


def _minutes(value: str, places: int):
    return nested(message("incentives.minutes", minutes=number(Decimal(value), places=places)))


CALLS = {"kpi": nested(message("incentives.outbound_talk_time")), "value": _minutes("2160.9", 1),
         "target": _minutes("1500", 0), "done": percent(Decimal("1.441")), "counted": percent(Decimal(1)),
         "weight": percent(Decimal("0.5")), "pay": money(1000), "amount": money(500)}  # fmt: skip
# One line of every key a statement line can hold, with realistic parameters.
LINES = [
    message("incentives.base_salary", plan="客服标准方案"),
    message("incentives.no_appraisal", month="2026-11"),
    message("incentives.performance_by_score", pay=money(2000), score="78.5", amount=money(1570)),
    message("incentives.performance_by_grade", pay=money(2000), coefficient="1.2", grade="A", amount=money(2400)),
    message("incentives.calls_capped", **CALLS),
    message("incentives.calls", **{**CALLS, "kpi": kpi_label("connected_dials"), "value": number(Decimal(412)),
                                   "target": number(Decimal(600)), "done": percent(Decimal("0.687"))}),
    message("incentives.calls_below_floor", **{**CALLS, "done": percent(Decimal("0.282"))},
            floor=percent(Decimal("0.6"))),
    message("incentives.flat_on_deals", rate=percent(Decimal("0.02"), places=2), base=money("39467.85"), count=2),
    message("incentives.flat_on_gmv", rate=percent(Decimal("0.015"), places=2), base=money("900"), count=3),
    message("incentives.tiered_on_gmv", done=percent(Decimal("1.267")), mode=choice("tier_mode", "marginal"),
            how=joined([_part("0.015", "91988.57"), _part("0.025", "24538.17")], separator="; "),
            base=money("116526.74"), count=393),
    message("incentives.tiered_on_deals", done=nested(message("incentives.completion_won", done=percent(
            Decimal("0.186")), reached=money("39467.85"), target=money("211998"))),
            mode=choice("tier_mode", "cumulative"), how=joined([_part("0.015", "39467.85")], separator="; "),
            base=money("39467.85"), count=2),
    message("incentives.tiered_on_gmv", done=nested(message("incentives.no_gmv_target")),
            mode=choice("tier_mode", "cumulative"), how=joined(["—"], separator="; "), base=money(0), count=0),
    message("incentives.commission_capped", cap=money(5000)),
    message("incentives.modifier", kpi=kpi_label("inquiry_to_payment_rate"),
            value=kpi_value("inquiry_to_payment_rate", Decimal("0.556")), cmp=choice("comparison", "ge"),
            threshold=percent(Decimal("0.4"), places=2), multiplier="1.1"),
    message("incentives.milestone", kpi=kpi_label("avg_first_response_s"),
            value=kpi_value("avg_first_response_s", Decimal("12.3")), cmp=choice("comparison", "le"),
            threshold=kpi_value("avg_first_response_s", Decimal(20)), amount=money(300)),
    message("incentives.pk", team="售前客服一组", week="10-26", kpi=kpi_label("gmv"),
            shared=nested(message("incentives.pk_tie")), rate=percent(Decimal("0.05"), places=2),
            commission=money("105.75"), base=money("5620"), effective=percent(Decimal("0.01882"), places=3)),
    message("incentives.ranking", rank=1, count=7, team="Team (1)", kpi=kpi_label("won_amount"), amount=money(800)),
    message("incentives.clawback", order="TB-2026-0001", month="2026-09", refund=money(300),
            rate=percent(Decimal("0.02"), places=3)),
]  # fmt: skip


def test_every_kind_of_line_is_covered():
    assert {line["key"] for line in LINES} == set(LINE_KEYS)


@pytest.mark.parametrize("line", LINES, ids=[f"{n}-{line['key']}" for n, line in enumerate(LINES)])
@pytest.mark.parametrize("language", LANGUAGES)
def test_an_explanation_written_in_either_language_becomes_its_message(line, language):
    converted = explanation_message(render(line, language))
    assert converted is not None, render(line, language)
    for reader in LANGUAGES:
        assert render(converted, reader) == render(line, reader)


@pytest.mark.parametrize(
    ("old", "english"),
    [
        ("2000.00 × 等级 D 的系数 0.5 = 1000.00。", "¥2,000.00 × coefficient 0.5 of grade D = ¥1,000.00."),
        ("询单转化率 55.6% ≥ 0.400000：提成 × 1.1000。", "Inquiry-to-payment rate 55.6% ≥ 40%: commission × 1.1."),
        ("Inquiry-to-payment rate 30.2% ≥ 0.100000: bonus 500.00.", "Inquiry-to-payment rate 30.2% ≥ 10%: bonus ¥500.00."),
        ("目标完成率 126.7%（超额累进：各阶梯比例只适用于各自部分）：1.50% × 91988.57; 2.50% × 24538.17，按归属销售额（扣除退款）"
         "116526.74 计算（393 笔已付款订单）。",
         "Target completion 126.7% (Marginal: each tier's rate on its part tiers): 1.5% × ¥91,988.57; 2.5% × "
         "¥24,538.17, on ¥116,526.74 credited GMV net of refunds (393 paid orders)."),
        ("团队 售前客服一组 在 10-26 当周按 销售额 夺冠：当周提成 105.75（5620.00 × 1.882%）的 +5.00%。",
         "Team 售前客服一组 won the week of 10-26 by GMV: +5% of that week's commission ¥105.75 (¥5,620.00 × 1.882%)."),
        ("呼出通话时长 2,160.9 分钟 / 目标 1,500 分钟（144.1%，最多按 100% 计）→ 100% × 50% × ¥1,000.00 = ¥500.00。",
         "Outbound talk time 2,160.9 min / target 1,500 min (144.1%, counted as at most 100%) → 100% × 50% × "
         "¥1,000.00 = ¥500.00."),
    ],
)  # fmt: skip
def test_explanations_as_they_were_written_before_messages(old, english):
    """Money without ¥, thresholds as stored (0.400000), rates with two decimals: still recognised."""
    assert render(explanation_message(old), "en") == english


def test_kpi_values_as_they_were_written():
    assert render(kpi_value_message("talk_time", "2,160.9 分钟"), "en") == "2,160.9 min"
    assert render(kpi_value_message("inquiry_to_payment_rate", "55.6%"), "en") == "55.6%"
    assert render(kpi_value_message("avg_first_response_s", "12.3 秒"), "en") == "12.3 s"
    assert render(kpi_value_message("gmv", "¥116,526.74"), "zh-hans") == "¥116,526.74"
    assert kpi_value_message("gmv", "") is None and explanation_message("A bonus HR wrote by hand.") is None


def test_the_migration_converts_stored_lines_and_leaves_the_rest(org, rules):  # noqa: F811 - the fixture
    with translation.override("zh-hans"):
        statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    originals = {line.pk: (line.explanation_msg, line.kpi_value_msg) for line in statement.lines.all()}
    written = statement.lines.create(order=99, kind="base", amount=Decimal(1), explanation="人事手写的补贴。")
    StatementLine.objects.update(explanation_msg={}, kpi_value_msg={})  # as before the migration
    statement_lines_convert(apps, None)
    for line in StatementLine.objects.exclude(pk=written.pk):
        for language in LANGUAGES:
            assert render(line.explanation_msg, language) == render(originals[line.pk][0], language)
            assert render(line.kpi_value_msg, language) == render(originals[line.pk][1], language)
    assert StatementLine.objects.get(pk=written.pk).explanation_msg == {}


def test_generated_target_names_and_notes_are_converted_and_written_ones_kept(org, tree):  # noqa: F811
    hand = Target.objects.create(tier="execution", name="Alice 王 02-01–02-07 · 冲刺", kpi_key="gmv", store=org.s1,
                                 team=org.x, member=org.a, period_kind="week", start=dt.date(2027, 2, 1),
                                 end=dt.date(2027, 2, 7), value=Decimal(1), direction="at_least")  # fmt: skip
    demo = Target.objects.create(tier="execution", name="Alice 王 2027-02 · 新客户", kpi_key="new_customers",
                                 store=org.s1, team=org.x, member=org.a, period_kind="month",
                                 start=dt.date(2027, 2, 1), end=dt.date(2027, 2, 28), value=Decimal(3),
                                 direction="at_least")  # fmt: skip
    originals = {t.pk: (t.name_msg, t.notes_msg) for t in Target.objects.all()}
    Target.objects.update(name_msg={}, notes_msg={})
    targets_convert(apps, None)
    for target in Target.objects.exclude(pk__in=[hand.pk, demo.pk]):
        assert target.name_msg, target.name
        for language in LANGUAGES:
            assert render(target.name_msg, language) == render(originals[target.pk][0], language)
            assert render(target.notes_msg, language) == render(originals[target.pk][1], language)
    assert Target.objects.get(pk=hand.pk).name_msg == {}
    assert render(Target.objects.get(pk=demo.pk).name_msg, "en") == "Alice 王 2027-02 · New customers"


def test_badge_details_as_they_were_written():
    assert render(badge_detail_message("lightning_deal", "O123 · 0:12 (+2)", None), "en") == "O123 · 0:12 (+2)"
    assert render(badge_detail_message("weekly_sprint", "¥1,234.00 > ¥1,000.00", None), "zh-hans") == (
        "¥1,234.00 > ¥1,000.00"
    )
    assert render(badge_detail_message("perfect_response", "50/50 ≤ 30 s", None), "zh-hans") == "50/50 个会话 ≤ 30 秒"
    rule = badge_detail_message("conversion_star", "55.6% ≥ 40%", "inquiry_to_payment_rate")
    assert render(rule, "en") == "55.6% ≥ 40%"
    seconds = badge_detail_message("fast", "12.3 秒 ≤ 20", "avg_first_response_s")
    assert render(seconds, "en") == "12.3 s ≤ 20"
    assert badge_detail_message("fast", "great work", "avg_first_response_s") is None


def test_import_errors_written_in_chinese_are_converted(org, tmp_path):
    bad = [ORDER_HEADER, f"X1,买家,12.345,12.345,交易成功,2026-08-01 10:00:00,,裙子,1,1,0.00,{org.s1.name}"]
    with translation.override("zh-hans"):
        batch = orders_import(store=org.s1, file=write(tmp_path / "bad.csv", bad), user=None)
        refused = orders_import(store=org.s1, file=write(tmp_path / "one.csv", ["只有一列"]), user=None)
    originals = {b.pk: b.error_msg for b in (batch, refused)}
    reasons = {e.pk: e.reason_msg for e in ImportRowError.objects.all()}
    assert reasons and all(originals.values())
    ImportBatch.objects.update(error_msg={})
    ImportRowError.objects.update(reason_msg={})
    imports_convert(apps, None)
    for b in ImportBatch.objects.filter(pk__in=originals):
        assert render(b.error_msg, "en") == render(originals[b.pk], "en")
    for e in ImportRowError.objects.all():
        assert render(e.reason_msg, "en") == render(reasons[e.pk], "en")


def test_audit_labels_and_built_in_descriptions(org):
    from reviews.services.templates import appraisal_templates_ensure

    appraisal_templates_ensure()
    template = AppraisalTemplate.objects.get(key="sales-ability-attitude")
    AppraisalTemplate.objects.filter(pk=template.pk).update(description="Seed 003: 销售业绩 80%，能力 15%，态度 5%。",
                                                            description_en="")  # fmt: skip
    cycle = Cycle.objects.create(store=org.s1, team=org.x, month=AUGUST, template=template)
    rated = AuditEntry.objects.create(cycle=cycle, field="产品知识 (manager)", old="3", new="4")
    kept = AuditEntry.objects.create(cycle=cycle, field="manager_comment", old="", new="好")
    audit_convert(apps, None)
    descriptions_convert(apps, None)
    with translation.override("en"):
        assert message_render(message=AuditEntry.objects.get(pk=rated.pk).field_msg) == "Product knowledge (Manager)"
        assert AppraisalTemplate.objects.get(pk=template.pk).description_text.startswith("Sales results 80%")
    assert AuditEntry.objects.get(pk=kept.pk).field_msg == {}
    assert "Seed" not in AppraisalTemplate.objects.get(pk=template.pk).description


def test_the_demos_plan_description_loses_its_internal_reference(db):
    from incentives.legacy_texts import DEMO_TELESALES_DESCRIPTION, demo_plan_description_convert
    from incentives.models import Plan

    old, new = DEMO_TELESALES_DESCRIPTION
    demo = Plan.objects.create(name="电销方案", description=old)
    rewritten = Plan.objects.create(name="HR's", description=old.replace("3500", "3800"))
    demo_plan_description_convert(apps, None)
    assert Plan.objects.get(pk=demo.pk).description == new and "种子" not in new
    assert Plan.objects.get(pk=rewritten.pk).description == rewritten.description  # someone's text: kept

"""A statement's lines are messages: computed while the site speaks one language, each reader (page,
export) reads them in theirs; thresholds read as percentages."""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from incentives.models import CommissionTier, Milestone, Modifier, RankingAward, Statement
from incentives.services.export import payouts_export
from incentives.services.statements import statement_approve, statement_refresh
from metrics.models import Order, Target
from teams.selectors.scoping import viewer_get
from tests.incentives.test_statements import AUGUST, paid, plan  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def rules(org, paid):  # noqa: F811 - the fixture imported above
    """A plan with every rule a shop statement explains: tiers, a multiplier, a milestone, PK, ranking."""
    p = plan(org, base_salary=Decimal(3000), commission_mode="tiered", tier_mode="marginal", pk_kpi_key="gmv",
             pk_bonus_rate=Decimal("0.05"))  # fmt: skip
    for start, rate in ((0, "0.015"), ("1.0", "0.025")):
        CommissionTier.objects.create(plan=p, from_completion=Decimal(start), rate=Decimal(rate))
    Modifier.objects.create(plan=p, kpi_key="inquiry_to_payment_rate", comparison="ge", threshold=Decimal("0.4"),
                            multiplier=Decimal("1.1"))  # fmt: skip
    Milestone.objects.create(plan=p, kpi_key="inquiry_to_payment_rate", comparison="ge", threshold=Decimal("0.10"),
                             amount=Decimal(500))  # fmt: skip
    RankingAward.objects.create(plan=p, kpi_key="gmv", amounts=[800, 500])
    Target.objects.create(tier="execution", name="A Aug", kpi_key="gmv", store=org.s1, team=org.x, member=org.a,
                          period_kind="month", start=AUGUST, end=dt.date(2026, 8, 31), value=Decimal(600),
                          direction="at_least")  # fmt: skip
    return p


def page_lines(client, user, statement, language: str) -> str:
    client.force_login(user)
    client.cookies["django_language"] = language
    html = client.get(reverse("incentives:statement", args=[statement.pk])).content.decode()
    return re.search(r'<table class="data statement-lines".*?</table>', html, re.S).group(0)


def test_computed_in_chinese_read_in_english_and_in_chinese(org, rules, client):
    with translation.override("zh-hans"):  # the site's language
        statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    assert {line.kind for line in statement.lines.all()} == {"base", "commission", "modifier", "milestone", "pk",
                                                            "ranking"}  # fmt: skip
    assert all(CJK.search(line.explanation) for line in statement.lines.all())  # the text kept: Chinese
    english = page_lines(client, org.users["hr"], statement, "en")
    assert not CJK.search(english.replace("售前X", "").replace("未来衣橱旗舰店", ""))
    assert "Inquiry-to-payment rate 100.0% ≥ 40%: commission × 1.1." in english  # not "≥ 0.400000"
    assert "Inquiry-to-payment rate 100.0% ≥ 10%: bonus ¥500.00." in english
    assert (
        "Target completion 150% (Marginal: each tier&#x27;s rate on its part tiers): 1.5% × ¥600.00; 2.5% × ¥300.00"
        in english
    )
    assert "Rank 1 of 2 in 售前X by GMV: award ¥800.00." in english
    chinese = page_lines(client, org.users["hr"], statement, "zh-hans")
    assert "询单转化率 100.0% ≥ 40%：提成 × 1.1。" in chinese and "Inquiry-to-payment" not in chinese


def test_computed_in_english_read_in_chinese(org, rules, settings, client):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    assert statement.lines.get(kind="base").explanation == "Base salary of plan CS."  # the text kept: English
    with translation.override("zh-hans"):
        assert statement.lines.get(kind="base").explanation_text == "方案 CS 的底薪。"
        assert statement.lines.get(kind="milestone").explanation_text == "询单转化率 100.0% ≥ 10%：奖金 ¥500.00。"
        assert statement.lines.get(kind="commission").kpi_value_text == "¥900.00"


def test_the_payout_workbook_reads_in_the_language_asked(org, rules):
    with translation.override("zh-hans"):
        statement_refresh(member=org.a, store=org.s1, month=AUGUST)

    def explanations(lang: str) -> list[str]:
        book = load_workbook(io.BytesIO(payouts_export(month=AUGUST, lang=lang)), read_only=True)
        rows = list(book["Lines" if lang == "en" else "明细"].iter_rows(values_only=True))
        column = rows[0].index("Explanation" if lang == "en" else "说明")
        return [row[column] for row in rows[1:]]

    english, chinese = explanations("en"), explanations("zh-hans")
    assert "Base salary of plan CS." in english and "方案 CS 的底薪。" in chinese
    assert not any(CJK.search(text.replace("售前X", "")) for text in english)


def test_a_proposed_adjustment_reads_in_the_readers_language(org, rules, client):
    manager = viewer_get(user=org.users["manager_s1"])
    statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    statement_approve(viewer=manager, user=org.users["manager_s1"], statement=statement)
    Order.objects.filter(credited_member_id=org.a.pk).update(refund_cents=10000)
    with translation.override("zh-hans"):
        statement = statement_refresh(member=org.a, store=org.s1, month=AUGUST)
    assert Statement.objects.get(pk=statement.pk).proposed_lines[0]["message"]["key"] == "incentives.base_salary"
    client.force_login(org.users["hr"])
    client.cookies["django_language"] = "en"
    html = client.get(reverse("incentives:statement", args=[statement.pk])).content.decode()
    adjustment = re.search(r'data-testid="proposed-adjustment".*?</section>', html, re.S).group(0)
    assert "Base salary of plan CS." in adjustment and "的底薪" not in adjustment

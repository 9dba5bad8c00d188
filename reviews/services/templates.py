"""The built-in appraisal templates, created once (idempotent)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from reviews.models import AppraisalTemplate, Dimension, Item, ItemKind, ScoringRule

D = Decimal
# Rubrics for the 1–5 ratings: what 1, 3 and 5 look like.
RUBRICS = {
    "responsibility": ("1 推诿问题；3 按要求完成本职；5 主动对结果负责并跟进到底。",
                       "1 passes problems on; 3 does what the job asks; 5 owns results and follows through."),
    "initiative": ("1 需要反复督促；3 按计划推进；5 主动发现机会并提出改进。",
                   "1 needs reminding; 3 keeps to the plan; 5 spots chances and proposes improvements."),
    "cooperation": ("1 只顾自己；3 配合同事；5 主动支援团队、分享经验。",
                    "1 works alone; 3 helps when asked; 5 supports the team and shares what works."),
    "discipline": ("1 经常违反纪律；3 遵守制度；5 以身作则。",
                   "1 often breaks the rules; 3 keeps them; 5 sets the example."),
    "product_knowledge": ("1 常答错产品问题；3 熟悉主推产品；5 精通全店产品并能搭配推荐。",
                          "1 often wrong on products; 3 knows the main ones; 5 masters the range and cross-sells."),
    "communication": ("1 回复生硬、易引发投诉；3 礼貌清楚；5 善于挖掘需求、化解异议。",
                      "1 curt, draws complaints; 3 polite and clear; 5 draws out needs and handles objections."),
    "coordination": ("1 问题卡在自己这里；3 及时转交相关部门；5 推动跨部门解决并回访。",
                     "1 problems stall with them; 3 hands over in time; 5 drives fixes across teams and follows up."),
    "mentoring": ("1 不愿带新人；3 能解答新人问题；5 系统带教并提升新人业绩。",
                  "1 avoids newcomers; 3 answers their questions; 5 coaches them to better results."),
}  # fmt: skip
NAMES = {
    "responsibility": ("责任心", "Responsibility"), "initiative": ("主动性", "Initiative"),
    "cooperation": ("团队合作", "Cooperation"), "discipline": ("纪律性", "Discipline"),
    "product_knowledge": ("产品知识", "Product knowledge"), "communication": ("沟通能力", "Communication"),
    "coordination": ("协调能力", "Coordination"), "mentoring": ("传帮带", "Mentoring"),
}  # fmt: skip

# What each built-in template weighs, in Chinese and English (people read these in the admin).
BUILT_IN_DESCRIPTIONS = {
    "sales-ability-attitude": (
        "销售业绩 80%（销售额完成率、询单转化率、客单价、首次响应、退款订单率），能力 15%，态度 5%。",
        "Sales results 80% (GMV against target, inquiry conversion, order value, first response, refunds), "
        "ability 15%, attitude 5%.",
    ),
    "results-behaviour-growth": (
        "三个维度：结果 60%，行为过程 25%，能力成长 15%。",
        "Three dimensions: results 60%, behaviour and process 25%, capability growth 15%.",
    ),
    "pipeline-calls": (
        "线上销售和电销：业绩 70%（成单、回款、赢单率、价格控制），过程 20%（新客户、呼出接通、谈判天数），态度 10%。",
        "Online sales and telesales: results 70% (amount won and collected, win rate, price control), process 20% "
        "(new customers, connected calls, days in negotiation), attitude 10%.",
    ),
}


def _rating(dimension: Dimension, key: str, weight: Decimal, order: int) -> Item:
    zh, en = NAMES[key]
    rubric_zh, rubric_en = RUBRICS[key]
    return Item(dimension=dimension, kind=ItemKind.RATING, name_zh=zh, name_en=en, weight=weight, order=order,
                rubric_zh=rubric_zh, rubric_en=rubric_en)  # fmt: skip


def _kpi(dimension: Dimension, zh: str, en: str, key: str, weight: Decimal, order: int, **rule) -> Item:
    return Item(dimension=dimension, kind=ItemKind.KPI, name_zh=zh, name_en=en, kpi_key=key, weight=weight,
                order=order, **rule)  # fmt: skip


@transaction.atomic
def appraisal_templates_ensure() -> list[AppraisalTemplate]:
    """The three built-in templates (sales/ability/attitude, results/behaviour/growth, and the
    sales teams' pipeline and calls); left as they are if they exist."""
    made = []
    if not AppraisalTemplate.objects.filter(key="sales-ability-attitude").exists():
        t = AppraisalTemplate.objects.create(
            key="sales-ability-attitude", name_zh="销售业绩·能力·态度（80/15/5）",
            name_en="Sales results, ability, attitude (80/15/5)",
            description=BUILT_IN_DESCRIPTIONS["sales-ability-attitude"][0],
            description_en=BUILT_IN_DESCRIPTIONS["sales-ability-attitude"][1],
        )  # fmt: skip
        results = Dimension.objects.create(template=t, name_zh="销售业绩", name_en="Sales results", weight=D("0.80"))
        ability = Dimension.objects.create(template=t, name_zh="能力", name_en="Ability", weight=D("0.15"), order=1)
        attitude = Dimension.objects.create(template=t, name_zh="态度", name_en="Attitude", weight=D("0.05"), order=2)
        Item.objects.bulk_create([
            _kpi(results, "销售额完成率", "GMV against target", "gmv", D("0.40"), 0, rule=ScoringRule.LINEAR,
                 floor=D(0)),
            _kpi(results, "询单转化率", "Inquiry-to-payment rate", "inquiry_to_payment_rate", D("0.25"), 1,
                 rule=ScoringRule.LINEAR, floor=D("0.10"), target=D("0.40")),
            _kpi(results, "客单价排名", "AOV rank in the team", "aov", D("0.15"), 2, rule=ScoringRule.RANK),
            _kpi(results, "平均首次响应", "Average first response", "avg_first_response_s", D("0.10"), 3,
                 rule=ScoringRule.THRESHOLDS, thresholds=[[60, 40], [30, 70], [20, 85], [15, 100]]),
            _kpi(results, "退款订单率", "Refunded order rate", "refund_order_rate", D("0.10"), 4,
                 rule=ScoringRule.LINEAR, floor=D("0.20"), target=D("0.05")),
            _rating(ability, "product_knowledge", D("0.40"), 0),
            _rating(ability, "communication", D("0.35"), 1),
            _rating(ability, "coordination", D("0.25"), 2),
            _rating(attitude, "responsibility", D("0.25"), 0),
            _rating(attitude, "initiative", D("0.25"), 1),
            _rating(attitude, "cooperation", D("0.25"), 2),
            _rating(attitude, "discipline", D("0.25"), 3),
        ])  # fmt: skip
        made.append(t)
    if not AppraisalTemplate.objects.filter(key="results-behaviour-growth").exists():
        t = AppraisalTemplate.objects.create(
            key="results-behaviour-growth", name_zh="结果·行为过程·能力成长", name_en="Results, behaviour, growth",
            description=BUILT_IN_DESCRIPTIONS["results-behaviour-growth"][0],
            description_en=BUILT_IN_DESCRIPTIONS["results-behaviour-growth"][1],
        )  # fmt: skip
        results = Dimension.objects.create(template=t, name_zh="结果", name_en="Results", weight=D("0.60"))
        process = Dimension.objects.create(template=t, name_zh="行为过程", name_en="Behaviour process",
                                           weight=D("0.25"), order=1)  # fmt: skip
        growth = Dimension.objects.create(template=t, name_zh="能力成长", name_en="Capability growth",
                                          weight=D("0.15"), order=2)  # fmt: skip
        Item.objects.bulk_create([
            _kpi(results, "销售额完成率", "GMV against target", "gmv", D("0.60"), 0, rule=ScoringRule.LINEAR,
                 floor=D(0)),
            _kpi(results, "成交订单数排名", "Paid orders rank", "paid_orders", D("0.40"), 1, rule=ScoringRule.RANK),
            _kpi(process, "询单人数排名", "Inquiring buyers rank", "inquiring_buyers", D("0.30"), 0,
                 rule=ScoringRule.RANK),
            _kpi(process, "15秒响应率", "Answered within 15 s", "answered_15s_rate", D("0.30"), 1,
                 rule=ScoringRule.LINEAR, floor=D("0.30"), target=D("0.80")),
            _rating(process, "responsibility", D("0.20"), 2),
            _rating(process, "cooperation", D("0.20"), 3),
            _rating(growth, "product_knowledge", D("0.40"), 0),
            _rating(growth, "communication", D("0.30"), 1),
            _rating(growth, "mentoring", D("0.30"), 2),
        ])  # fmt: skip
        made.append(t)
    if not AppraisalTemplate.objects.filter(key="pipeline-calls").exists():
        t = AppraisalTemplate.objects.create(
            key="pipeline-calls", name_zh="线上销售·电销（业绩·过程·态度）",
            name_en="Online sales and telesales (results, process, attitude)",
            description=BUILT_IN_DESCRIPTIONS["pipeline-calls"][0],
            description_en=BUILT_IN_DESCRIPTIONS["pipeline-calls"][1],
        )  # fmt: skip
        results = Dimension.objects.create(template=t, name_zh="业绩", name_en="Results", weight=D("0.70"))
        process = Dimension.objects.create(template=t, name_zh="过程", name_en="Process", weight=D("0.20"), order=1)
        attitude = Dimension.objects.create(template=t, name_zh="态度", name_en="Attitude", weight=D("0.10"), order=2)
        Item.objects.bulk_create([
            # Linear from 0 to the member's month target of the KPI (the targets' page sets it).
            _kpi(results, "销售任务完成率", "Amount won against target", "won_amount", D("0.45"), 0,
                 rule=ScoringRule.LINEAR, floor=D(0)),
            _kpi(results, "销售回款", "Amount collected against target", "collected_amount", D("0.20"), 1,
                 rule=ScoringRule.LINEAR, floor=D(0)),
            _kpi(results, "赢单率", "Win rate", "win_rate", D("0.20"), 2, rule=ScoringRule.LINEAR, floor=D("0.20"),
                 target=D("0.60")),
            _kpi(results, "销售价格控制率", "Price control rate", "price_control_rate", D("0.15"), 3,
                 rule=ScoringRule.THRESHOLDS, thresholds=[[0.85, 40], [0.9, 70], [0.95, 85], [1.0, 100]]),
            _kpi(process, "新开发客户数排名", "New customers rank", "new_customers", D("0.40"), 0,
                 rule=ScoringRule.RANK),
            _kpi(process, "呼出接通数排名", "Connected outbound calls rank", "connected_dials", D("0.30"), 1,
                 rule=ScoringRule.RANK),
            _kpi(process, "谈判阶段平均天数", "Average days in negotiation", "avg_days_negotiation", D("0.30"), 2,
                 rule=ScoringRule.LINEAR, floor=D(14), target=D(5)),
            _rating(attitude, "responsibility", D("0.35"), 0),
            _rating(attitude, "initiative", D("0.35"), 1),
            _rating(attitude, "cooperation", D("0.30"), 2),
        ])  # fmt: skip
        made.append(t)
    return made

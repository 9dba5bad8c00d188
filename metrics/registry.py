"""The KPI registry: every KPI of `shared/spec/kpi-definitions.md`, defined once.

Dashboards, targets, appraisals, incentive rules and exports refer to KPIs by key only. A KPI's
value at a level (member, team, store) is one measure, or a ratio of two measures, or their
difference; measures are what the rollups store or count (see metrics/kpis/selectors.py). No
other module writes a KPI formula.

Levels: "member" KPIs belong to the period in which the chat session started (cohort by
inquiry) and roll up to teams by membership on the day; "store" KPIs belong to the period of the
order's creation (traffic: its date). The same key can exist at both levels with the level's
meaning, as in the spec (gmv, paid_orders, aov, refund_amount, inquiring_buyers).
"""

# The registry below is a table, one KPI per entry: its lines are long on purpose.
# ruff: noqa: E501

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.utils.translation import get_language


class Unit(StrEnum):
    COUNT = "count"
    MONEY = "money"  # measures in cents, values in yuan with two decimals
    RATE = "rate"  # a fraction 0…1, shown as a percentage
    SECONDS = "seconds"
    DAYS = "days"


class Direction(StrEnum):
    HIGHER = "higher"  # higher is better
    LOWER = "lower"  # lower is better
    NEUTRAL = "neutral"  # a share or size, neither good nor bad in itself


class Family(StrEnum):
    """Which kind of team a KPI describes: pages show a team the families of its kind."""

    SERVICE = "service"  # shop chats and orders (pre- and after-sales service)
    PIPELINE = "pipeline"  # leads and deals (online sales, telesales)
    CALLS = "calls"  # phone calls (telesales)


class Level(StrEnum):
    MEMBER = "member"
    TEAM = "team"
    STORE = "store"


@dataclass(frozen=True)
class Formula:
    """measure, numerator/denominator, or minuend − subtrahend; names of measures.

    Money measures end in `_cents` (integers); a measure is never named like a KPI key."""

    measure: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    minus: str | None = None  # value = measure − minus
    scale: float = 1.0  # the value is multiplied by it (seconds → days: 1 / 86400)

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(m for m in (self.measure, self.numerator, self.denominator, self.minus) if m)


@dataclass(frozen=True)
class Kpi:
    key: str
    label_zh: str
    label_en: str
    unit: Unit
    direction: Direction
    member: Formula | None = None  # also the team level
    store: Formula | None = None
    definition_zh: str = ""
    definition_en: str = ""
    decimals: int = 0  # for display; rates are shown as percentages with one decimal
    tags: tuple[str, ...] = field(default=())
    # False for the few KPIs the product adds to the spec (promotion focus targets); exports keep
    # to the spec's keys.
    in_spec: bool = True
    family: str = Family.SERVICE

    @property
    def label(self) -> str:
        return self.label_zh if (get_language() or "").startswith("zh") else self.label_en

    @property
    def definition(self) -> str:
        return self.definition_zh if (get_language() or "").startswith("zh") else self.definition_en

    def formula(self, level: str) -> Formula | None:
        return self.store if level == Level.STORE else self.member

    @property
    def is_rate(self) -> bool:
        return self.unit == Unit.RATE


def _ratio(numerator: str, denominator: str, scale: float = 1.0) -> Formula:
    return Formula(numerator=numerator, denominator=denominator, scale=scale)


_DAY = 1 / 86400  # seconds → days


M, S = Formula, Formula  # readability below: M(...) member formula, S(...) store formula

KPIS: tuple[Kpi, ...] = (
    # --- agent KPIs (member and team level; cohort by the session's start) -------------------
    Kpi("sessions", "接待会话数", "Chat sessions", Unit.COUNT, Direction.HIGHER, member=M("sessions"),
        definition_zh="期间内开始的接待会话数。", definition_en="Chat sessions started in the period."),
    Kpi("inquiring_buyers", "询单人数", "Inquiring buyers", Unit.COUNT, Direction.HIGHER,
        member=M("inquiring_buyers"), store=S("store_inquiring_buyers"),
        definition_zh="这些会话中的去重买家数（整个期间、整个群体内去重）；店铺级：在店铺有会话的去重买家数。",
        definition_en="Distinct buyers among those sessions (distinct over the whole period and group); "
        "store level: distinct buyers with a session in the store."),
    Kpi("unanswered_sessions", "未回复会话数", "Unanswered sessions", Unit.COUNT, Direction.LOWER,
        member=M("unanswered_sessions"),
        definition_zh="没有首次响应的会话数。", definition_en="Sessions with no first response."),
    Kpi("avg_first_response_s", "平均首次响应时长(秒)", "Average first response (s)", Unit.SECONDS,
        Direction.LOWER, member=_ratio("response_seconds", "answered_sessions"), decimals=1,
        definition_zh="已回复会话的(首次响应时间 − 开始时间)的平均值。",
        definition_en="Mean of (first response − start) over answered sessions."),
    Kpi("ordered_buyers", "下单人数", "Ordering buyers", Unit.COUNT, Direction.HIGHER, member=M("ordered_buyers"),
        definition_zh="至少有一笔订单归属于这些会话的去重买家数。",
        definition_en="Distinct buyers with at least one order credited to one of those sessions."),
    Kpi("paid_buyers", "付款人数", "Paying buyers (inquiry)", Unit.COUNT, Direction.HIGHER, member=M("paid_buyers"),
        definition_zh="至少有一笔已付款订单归属于这些会话的去重买家数。",
        definition_en="Distinct buyers with at least one paid order credited to one of those sessions."),
    Kpi("paid_orders", "成交订单数", "Paid orders", Unit.COUNT, Direction.HIGHER,
        member=M("paid_orders"), store=S("store_paid_orders"),
        definition_zh="归属于这些会话的已付款订单数；店铺级：期间内创建的已付款订单数。",
        definition_en="Paid orders credited to those sessions; store level: paid orders created in the period."),
    Kpi("gmv", "销售额", "GMV", Unit.MONEY, Direction.HIGHER, member=M("gmv_cents"), store=S("store_gmv_cents"), decimals=2,
        definition_zh="归属于这些会话的已付款订单的实付金额合计；店铺级：期间内创建的已付款订单实付金额合计。",
        definition_en="Amount paid of the paid orders credited to those sessions; "
        "store level: of the paid orders created in the period."),
    Kpi("refund_amount", "退款金额", "Refunds", Unit.MONEY, Direction.LOWER,
        member=M("refund_cents"), store=S("store_refund_cents"), decimals=2,
        definition_zh="这些已付款订单的退款金额合计。", definition_en="Refund amount of those paid orders."),
    Kpi("inquiry_to_order_rate", "询单→下单转化率", "Inquiry-to-order rate", Unit.RATE, Direction.HIGHER,
        member=_ratio("ordered_buyers", "inquiring_buyers"),
        definition_zh="下单人数 / 询单人数。", definition_en="ordered_buyers / inquiring_buyers."),
    Kpi("inquiry_to_payment_rate", "询单转化率", "Inquiry-to-payment rate", Unit.RATE, Direction.HIGHER,
        member=_ratio("paid_buyers", "inquiring_buyers"),
        definition_zh="付款人数 / 询单人数。", definition_en="paid_buyers / inquiring_buyers."),
    Kpi("aov", "客单价", "Average order value", Unit.MONEY, Direction.HIGHER,
        member=_ratio("gmv_cents", "paid_orders"), store=_ratio("store_gmv_cents", "store_paid_orders"), decimals=2,
        definition_zh="销售额 / 成交订单数。", definition_en="gmv / paid_orders."),
    Kpi("per_buyer_value", "人均成交额", "Value per paying buyer", Unit.MONEY, Direction.HIGHER,
        member=_ratio("gmv_cents", "paid_buyers"), decimals=2,
        definition_zh="销售额 / 付款人数。", definition_en="gmv / paid_buyers."),
    Kpi("refund_order_rate", "退款订单率", "Refunded order rate", Unit.RATE, Direction.LOWER,
        member=_ratio("refunded_orders", "paid_orders"),
        definition_zh="退款金额 > 0 的已付款订单数 / 成交订单数。",
        definition_en="Paid orders with a refund > 0 / paid_orders."),
    Kpi("items_per_order", "连带率", "Items per order", Unit.COUNT, Direction.HIGHER,
        member=_ratio("items", "paid_orders"), decimals=2,
        definition_zh="宝贝数量合计 / 成交订单数。", definition_en="Sum of item count / paid_orders."),
    Kpi("sales_share", "销售比重", "Share of store sales", Unit.RATE, Direction.NEUTRAL,
        member=_ratio("gmv_cents", "store_gmv_cents"),
        definition_zh="销售额 / 同期店铺销售额（按订单创建时间）。",
        definition_en="gmv / the store's GMV in the same period (by order creation)."),
    Kpi("working_days", "上班天数", "Working days", Unit.DAYS, Direction.NEUTRAL, member=M("working_days"),
        definition_zh="至少有一个会话的天数。", definition_en="Days with at least one session."),
    Kpi("orders_per_working_day", "平均成单数", "Paid orders per working day", Unit.COUNT, Direction.HIGHER,
        member=_ratio("paid_orders", "working_days"), decimals=2,
        definition_zh="成交订单数 / 上班天数。", definition_en="paid_orders / working_days."),
    Kpi("gmv_per_working_day", "日均销售额", "GMV per working day", Unit.MONEY, Direction.HIGHER,
        member=_ratio("gmv_cents", "working_days"), decimals=2,
        definition_zh="销售额 / 上班天数。", definition_en="gmv / working_days."),
    # --- store KPIs (by order creation; traffic by its date) ----------------------------------
    Kpi("uv", "访客数", "Visitors (UV)", Unit.COUNT, Direction.HIGHER, store=S("uv"),
        definition_zh="各渠道访客数之和。", definition_en="Visitors, summed over channels."),
    Kpi("pv", "浏览量", "Page views (PV)", Unit.COUNT, Direction.HIGHER, store=S("pv"),
        definition_zh="各渠道浏览量之和。", definition_en="Page views, summed over channels."),
    Kpi("cart_adds", "加购人数", "Add-to-cart buyers", Unit.COUNT, Direction.HIGHER, store=S("cart_adds"),
        definition_zh="各渠道加购人数之和。", definition_en="Add-to-cart buyers, summed over channels."),
    Kpi("orders_placed", "下单数", "Orders placed", Unit.COUNT, Direction.HIGHER, store=S("orders_placed"),
        definition_zh="期间内创建的订单数（含未付款）。", definition_en="Orders created in the period, paid or not."),
    Kpi("paying_buyers", "支付买家数", "Paying buyers", Unit.COUNT, Direction.HIGHER, store=S("paying_buyers"),
        definition_zh="期间内有已付款订单的去重买家数。",
        definition_en="Distinct buyers with a paid order created in the period."),
    Kpi("net_sales", "净销售额", "Net sales", Unit.MONEY, Direction.HIGHER,
        store=Formula(measure="store_gmv_cents", minus="store_refund_cents"), decimals=2,
        definition_zh="销售额 − 退款金额。", definition_en="GMV − refund amount."),
    Kpi("silent_gmv_share", "静默销售占比", "Silent sales share", Unit.RATE, Direction.NEUTRAL,
        store=_ratio("silent_gmv_cents", "store_gmv_cents"),
        definition_zh="未归属任何会话的已付款订单销售额 / 销售额。",
        definition_en="GMV of paid orders credited to no session / gmv."),
    Kpi("inquiry_rate", "咨询率", "Inquiry rate", Unit.RATE, Direction.HIGHER,
        store=_ratio("store_inquiring_buyers", "uv"),
        definition_zh="询单人数 / 访客数。", definition_en="inquiring_buyers / uv."),
    Kpi("uv_to_paid_conversion", "全店转化率", "Store conversion", Unit.RATE, Direction.HIGHER,
        store=_ratio("paying_buyers", "uv"),
        definition_zh="支付买家数 / 访客数。", definition_en="paying_buyers / uv."),
    Kpi("repeat_buyers", "复购人数", "Repeat buyers", Unit.COUNT, Direction.HIGHER, store=S("repeat_buyers"),
        definition_zh="期间内有至少 2 笔已付款订单的支付买家数。",
        definition_en="Paying buyers with at least two paid orders in the period."),
    Kpi("repeat_rate", "复购率", "Repeat rate", Unit.RATE, Direction.HIGHER,
        store=_ratio("repeat_buyers", "paying_buyers"),
        definition_zh="复购人数 / 支付买家数。", definition_en="repeat_buyers / paying_buyers."),
    Kpi("returning_buyers", "老客人数", "Returning buyers", Unit.COUNT, Direction.HIGHER,
        store=S("returning_buyers"),
        definition_zh="期间内的支付买家中，首笔已付款订单（全部导入历史内）早于期间开始的人数。",
        definition_en="Paying buyers of the period whose first paid order in the store "
        "(over all imported history) is before the period."),
    Kpi("returning_rate", "老客占比", "Returning share", Unit.RATE, Direction.NEUTRAL,
        store=_ratio("returning_buyers", "paying_buyers"),
        definition_zh="老客人数 / 支付买家数。", definition_en="returning_buyers / paying_buyers."),
    # --- beyond the spec: the focus KPIs of promotion phases ----------------------------------
    Kpi("answered_15s_rate", "15秒响应率", "Answered within 15 s", Unit.RATE, Direction.HIGHER,
        member=_ratio("answered_15s", "sessions"), in_spec=False,
        definition_zh="首次响应在 15 秒内的会话数 / 接待会话数（预热期重点）。",
        definition_en="Sessions first answered within 15 s / sessions (the pre-heat focus)."),
    Kpi("cart_to_pay_rate", "加购支付转化率", "Cart-to-pay conversion", Unit.RATE, Direction.HIGHER,
        store=_ratio("paying_buyers", "cart_adds"), in_spec=False,
        definition_zh="支付买家数 / 加购人数（爆发期重点）。",
        definition_en="paying_buyers / cart_adds (the peak's focus)."),
    Kpi("repurchase_7d_rate", "7天回购率", "7-day repurchase rate", Unit.RATE, Direction.HIGHER,
        store=_ratio("repurchase_7d_buyers", "paying_buyers"), in_spec=False,
        definition_zh="期间内的支付买家中，首笔已付款订单后 7 天内再次付款的人数 / 支付买家数（返场期重点）。",
        definition_en="Paying buyers of the period who paid again within 7 days after their first paid order "
        "in it / paying_buyers (the after-phase focus)."),
    # --- beyond the spec: online sales and telesales (issue 9; docs/sales-kpis.md) -----------
    # Pipeline events count for the lead owner's member on the event's local day.
    Kpi("new_leads", "新增线索数", "New leads", Unit.COUNT, Direction.HIGHER, member=M("new_leads"),
        in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内创建的线索数（按创建时的负责人）。",
        definition_en="Leads created in the period, by the owner at creation."),
    Kpi("leads_touched", "跟进线索数", "Leads touched", Unit.COUNT, Direction.HIGHER, member=M("leads_touched"),
        in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内有阶段变更记录的去重线索数。",
        definition_en="Distinct leads with a stage change recorded in the period."),
    Kpi("lead_to_intent_rate", "线索→意向转化率", "Lead-to-intent rate", Unit.RATE, Direction.HIGHER,
        member=_ratio("leads_to_intent", "new_leads"), in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内创建的线索中，至今已进入意向或之后阶段的比例。",
        definition_en="Of the leads created in the period, the share that has since reached intent or beyond."),
    Kpi("intent_to_negotiation_rate", "意向→谈判转化率", "Intent-to-negotiation rate", Unit.RATE, Direction.HIGHER,
        member=_ratio("intents_to_negotiation", "intent_entries"), in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内进入意向的线索中，至今已进入谈判或成单的比例。",
        definition_en="Of the leads entering intent in the period, the share that has since reached negotiation or won."),
    Kpi("negotiation_to_won_rate", "谈判→成单转化率", "Negotiation-to-won rate", Unit.RATE, Direction.HIGHER,
        member=_ratio("negotiations_won", "negotiation_entries"), in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内进入谈判的线索中，至今已成单的比例。",
        definition_en="Of the leads entering negotiation in the period, the share that has since been won."),
    Kpi("avg_days_lead", "线索阶段平均天数", "Average days as a lead", Unit.DAYS, Direction.LOWER,
        member=_ratio("lead_stage_seconds", "lead_stage_exits", _DAY), decimals=1, in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内离开线索阶段的线索在该阶段停留的平均天数。",
        definition_en="Mean days spent in the lead stage by the leads that left it in the period."),
    Kpi("avg_days_intent", "意向阶段平均天数", "Average days in intent", Unit.DAYS, Direction.LOWER,
        member=_ratio("intent_stage_seconds", "intent_stage_exits", _DAY), decimals=1, in_spec=False,
        family=Family.PIPELINE,
        definition_zh="期间内离开意向阶段的线索在该阶段停留的平均天数。",
        definition_en="Mean days spent in intent by the leads that left it in the period."),
    Kpi("avg_days_negotiation", "谈判阶段平均天数", "Average days in negotiation", Unit.DAYS, Direction.LOWER,
        member=_ratio("negotiation_stage_seconds", "negotiation_stage_exits", _DAY), decimals=1, in_spec=False,
        family=Family.PIPELINE,
        definition_zh="期间内离开谈判阶段的线索在该阶段停留的平均天数。",
        definition_en="Mean days spent in negotiation by the leads that left it in the period."),
    Kpi("won_deals", "成单数", "Deals won", Unit.COUNT, Direction.HIGHER, member=M("won_deals"),
        in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内成单的线索数。", definition_en="Leads won in the period."),
    Kpi("win_rate", "赢单率", "Win rate", Unit.RATE, Direction.HIGHER, member=_ratio("won_deals", "closed_deals"),
        in_spec=False, family=Family.PIPELINE,
        definition_zh="成单数 / 期间内成单或丢单的线索数。", definition_en="won_deals / leads won or lost in the period."),
    Kpi("won_amount", "成单金额", "Amount won", Unit.MONEY, Direction.HIGHER, member=M("won_cents"), decimals=2,
        in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内成单线索的金额合计。", definition_en="Amount of the leads won in the period."),
    Kpi("sales_cycle_days", "销售周期(天)", "Sales cycle (days)", Unit.DAYS, Direction.LOWER,
        member=_ratio("cycle_seconds", "won_deals", _DAY), decimals=1, in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内成单线索从创建到成单的平均天数。",
        definition_en="Mean days from creation to win of the leads won in the period."),
    Kpi("pipeline_value", "在途商机金额", "Pipeline value", Unit.MONEY, Direction.HIGHER, member=M("pipeline_cents"),
        decimals=2, in_spec=False, family=Family.PIPELINE,
        definition_zh="期末处于意向或谈判阶段的线索金额合计（按期末负责人）。",
        definition_en="Amount of the leads in intent or negotiation at the end of the period (by owner then)."),
    Kpi("collected_amount", "回款金额", "Amount collected", Unit.MONEY, Direction.HIGHER,
        member=M("collected_cents"), decimals=2, in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内成单线索的已回款金额合计。",
        definition_en="Amount collected on the leads won in the period."),
    Kpi("new_customers", "新开发客户数", "New customers", Unit.COUNT, Direction.HIGHER, member=M("new_customers"),
        in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内成单、且此前在本店没有成单记录的客户数。",
        definition_en="Customers won in the period with no earlier won deal in the store."),
    Kpi("new_product_amount", "新品销售额", "New-product sales", Unit.MONEY, Direction.HIGHER,
        member=M("new_product_cents"), decimals=2, in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内成单的新品线索金额合计。", definition_en="Amount won in the period on new-product deals."),
    Kpi("sales_target_completion", "销售任务完成率", "Sales target completion", Unit.RATE, Direction.HIGHER,
        member=_ratio("won_cents", "target_won_cents"), in_spec=False, family=Family.PIPELINE,
        definition_zh="成单金额 / 成单金额目标（实际完成的销售收入 / 目标销售收入）。",
        definition_en="won_amount / its target (sales achieved / sales target)."),
    Kpi("collection_rate", "销售回款率", "Collection rate", Unit.RATE, Direction.HIGHER,
        member=_ratio("collected_cents", "target_collected_cents"), in_spec=False, family=Family.PIPELINE,
        definition_zh="回款金额 / 回款目标。", definition_en="collected_amount / its target."),
    Kpi("new_customer_completion", "新客户开发计划完成率", "New-customer plan completion", Unit.RATE,
        Direction.HIGHER, member=_ratio("new_customers", "target_new_customers"), in_spec=False, family=Family.PIPELINE,
        definition_zh="新开发客户数 / 计划开发客户数。", definition_en="new_customers / its target."),
    Kpi("new_product_completion", "新产品销售任务完成率", "New-product target completion", Unit.RATE,
        Direction.HIGHER, member=_ratio("new_product_cents", "target_new_product_cents"), in_spec=False,
        family=Family.PIPELINE,
        definition_zh="新品销售额 / 新品销售目标。", definition_en="new_product_amount / its target."),
    Kpi("price_control_rate", "销售价格控制率", "Price control rate", Unit.RATE, Direction.HIGHER,
        member=_ratio("priced_cents", "guide_price_cents"), in_spec=False, family=Family.PIPELINE,
        definition_zh="有指导价的成单线索：成交金额合计 / 公司指导价合计。",
        definition_en="Won deals with a guide price: amount won / the sum of their guide prices."),
    Kpi("new_hire_qualification_rate", "新进销售人员培养合格率", "New-hire qualification rate", Unit.RATE,
        Direction.HIGHER, member=_ratio("qualified_new_hires", "new_hires"), in_spec=False, family=Family.PIPELINE,
        definition_zh="期间内试用期满的新人中，期末前已转正的比例（成员的入职和转正日期；试用期默认 3 个月）。",
        definition_en="Of the new hires whose probation ended in the period, the share confirmed by the period's end (hire and confirmation dates; probation 3 months by default)."),
    Kpi("dials", "呼出数", "Outbound calls", Unit.COUNT, Direction.HIGHER, member=M("dials"),
        in_spec=False, family=Family.CALLS,
        definition_zh="期间内的呼出电话数。", definition_en="Outbound calls in the period."),
    Kpi("connected_dials", "呼出接通数", "Connected outbound calls", Unit.COUNT, Direction.HIGHER,
        member=M("connected_dials"), in_spec=False, family=Family.CALLS,
        definition_zh="接通的呼出电话数。", definition_en="Outbound calls that connected."),
    Kpi("connect_rate", "接通率", "Connect rate", Unit.RATE, Direction.HIGHER,
        member=_ratio("connected_dials", "dials"), in_spec=False, family=Family.CALLS,
        definition_zh="呼出接通数 / 呼出数。", definition_en="connected_dials / dials."),
    Kpi("talk_time", "呼出接通时长", "Outbound talk time", Unit.SECONDS, Direction.HIGHER,
        member=M("talk_seconds"), in_spec=False, family=Family.CALLS,
        definition_zh="接通的呼出电话的通话时长合计。", definition_en="Talk time of the connected outbound calls."),
    Kpi("avg_talk_s", "平均通话时长(秒)", "Average talk time (s)", Unit.SECONDS, Direction.HIGHER,
        member=_ratio("talk_seconds", "connected_dials"), decimals=1, in_spec=False, family=Family.CALLS,
        definition_zh="呼出接通时长 / 呼出接通数。", definition_en="talk_time / connected_dials."),
    Kpi("inbound_calls", "呼入数", "Inbound calls", Unit.COUNT, Direction.NEUTRAL, member=M("inbound_calls"),
        in_spec=False, family=Family.CALLS,
        definition_zh="期间内的呼入电话数。", definition_en="Inbound calls in the period."),
)  # fmt: skip

KPI_BY_KEY: dict[str, Kpi] = {kpi.key: kpi for kpi in KPIS}


def kpis_for(level: str, *, spec_only: bool = False, families: tuple[str, ...] | None = None) -> list[Kpi]:
    """The KPIs defined at a level, in registry order (team = member KPIs); `spec_only`: only
    those of the spec (the exports' columns); `families`: only those families."""
    return [
        kpi
        for kpi in KPIS
        if kpi.formula(level) is not None
        and (kpi.in_spec or not spec_only)
        and (families is None or kpi.family in families)
    ]


def kpi_get(key: str) -> Kpi:
    return KPI_BY_KEY[key]

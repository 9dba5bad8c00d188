"""What each kind of export contains: canonical fields, their types, and the headers shops use.

Aliases are compared after folding (case, spaces, full-width brackets), so `买家实际支付金额`,
`Paid Amount` and `paid_amount` all find the same field.
"""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from metrics.models import ImportKind


class FieldType(StrEnum):
    TEXT = "text"
    MONEY = "money"  # Decimal, two places, never negative; empty reads as 0 where a default is given
    DATETIME = "datetime"  # local time of the store's zone; empty allowed only where optional
    DATE = "date"
    INT = "int"  # whole number >= 0
    STATUS = "status"  # order status text, normalised through ORDER_STATUSES
    STAGE = "stage"  # lead stage text, normalised through LEAD_STAGES; unknown text is an error
    DIRECTION = "direction"  # call direction text, through CALL_DIRECTIONS; unknown text is an error
    BOOL = "bool"  # yes/no text through YES_NO (是/否, Y/N, true/false, 1/0)
    DURATION = "duration"  # whole seconds from "83", "1:23", "0:01:23" or "1分23秒"
    TEAM_KIND = "team_kind"  # team kind text, through TEAM_KINDS; unknown text is an error


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    label: str
    aliases: tuple[str, ...]
    required: bool = True  # the column must be in the file
    nullable: bool = False  # an empty cell is allowed (stored as NULL, or `default`)
    default: str | None = None  # value stored for an empty cell, or for a new row when the column is absent
    max_length: int | None = None


STORE_FIELD = Field(
    "store",
    FieldType.TEXT,
    _("store"),
    ("店铺名称", "店铺", "店铺名", "store", "shop", "shop name", "store name"),
    required=False,
    max_length=120,
)

FIELDS: dict[str, tuple[Field, ...]] = {
    ImportKind.ORDERS: (
        Field(
            "order_id",
            FieldType.TEXT,
            _("order id"),
            ("订单编号", "订单号", "主订单编号", "order id", "order no", "order number"),
            max_length=64,
        ),
        Field(
            "buyer",
            FieldType.TEXT,
            _("buyer"),
            ("买家会员名", "买家昵称", "买家账号", "buyer", "buyer nick", "customer"),
            max_length=128,
        ),
        Field(
            "payable_amount",
            FieldType.MONEY,
            _("amount payable"),
            ("买家应付货款", "应付金额", "总金额", "payable amount", "amount payable"),
            required=False,
            nullable=True,
        ),
        Field(
            "paid_amount",
            FieldType.MONEY,
            _("amount paid"),
            (
                "买家实际支付金额",
                "实付金额",
                "实际支付金额",
                "支付金额",
                "paid amount",
                "amount paid",
                "payment",
            ),
            nullable=True,
            default="0",
        ),
        Field(
            "status",
            FieldType.STATUS,
            _("status"),
            ("订单状态", "交易状态", "status", "order status"),
            max_length=64,
        ),
        Field(
            "created_at",
            FieldType.DATETIME,
            _("created at"),
            ("订单创建时间", "创建时间", "下单时间", "created at", "created", "order time"),
        ),
        Field(
            "paid_at",
            FieldType.DATETIME,
            _("paid at"),
            ("订单付款时间", "付款时间", "支付时间", "paid at", "payment time"),
            nullable=True,
        ),
        Field(
            "title",
            FieldType.TEXT,
            _("item title"),
            ("宝贝标题", "商品标题", "商品名称", "title", "item title"),
            required=False,
            nullable=True,
            default="",
            max_length=300,
        ),
        Field(
            "item_count",
            FieldType.INT,
            _("items"),
            ("宝贝总数量", "商品数量", "购买数量", "item count", "quantity", "items"),
            required=False,
            nullable=True,
            default="1",
        ),
        Field(
            "refund_amount",
            FieldType.MONEY,
            _("refund"),
            ("退款金额", "退款", "refund amount", "refund"),
            required=False,
            nullable=True,
            default="0",
        ),
        STORE_FIELD,
    ),
    ImportKind.CHATS: (
        Field(
            "session_id",
            FieldType.TEXT,
            _("session id"),
            ("会话ID", "会话编号", "会话id", "session id", "chat id"),
            max_length=64,
        ),
        STORE_FIELD,
        Field(
            "account",
            FieldType.TEXT,
            _("agent account"),
            ("客服", "客服昵称", "客服账号", "接待客服", "agent", "account", "agent account"),
            max_length=120,
        ),
        Field(
            "buyer",
            FieldType.TEXT,
            _("buyer"),
            ("买家会员名", "买家昵称", "顾客", "buyer", "customer"),
            max_length=128,
        ),
        Field(
            "started_at",
            FieldType.DATETIME,
            _("started at"),
            ("咨询时间", "接待时间", "开始时间", "会话开始时间", "started at", "start time"),
        ),
        Field(
            "first_response_at",
            FieldType.DATETIME,
            _("first response at"),
            ("首次响应时间", "首次回复时间", "first response at", "first response time"),
            nullable=True,
        ),
        Field(
            "ended_at",
            FieldType.DATETIME,
            _("ended at"),
            ("结束时间", "会话结束时间", "ended at", "end time"),
            required=False,
            nullable=True,
        ),
        Field(
            "buyer_messages",
            FieldType.INT,
            _("buyer messages"),
            ("买家消息数", "buyer messages"),
            required=False,
            nullable=True,
        ),
        Field(
            "agent_messages",
            FieldType.INT,
            _("agent messages"),
            ("客服消息数", "agent messages"),
            required=False,
            nullable=True,
        ),
    ),
    ImportKind.TRAFFIC: (
        Field("date", FieldType.DATE, _("date"), ("日期", "统计日期", "date")),
        STORE_FIELD,
        Field(
            "channel",
            FieldType.TEXT,
            _("channel"),
            ("流量来源", "来源", "渠道", "channel", "source"),
            max_length=64,
        ),
        Field("uv", FieldType.INT, _("visitors (UV)"), ("访客数", "uv", "visitors")),
        Field("pv", FieldType.INT, _("page views (PV)"), ("浏览量", "pv", "page views")),
        Field(
            "cart_adds",
            FieldType.INT,
            _("add-to-cart buyers"),
            ("加购人数", "cart adds", "add to cart"),
            required=False,
            nullable=True,
            default="0",
        ),
    ),
    # A CRM's lead or deal list (线索/商机列表): one row per lead as it stands at export time.
    # Several exports over time give the stage history (metrics.models.LeadStageChange).
    ImportKind.LEADS: (
        Field(
            "lead_id",
            FieldType.TEXT,
            _("lead id"),
            ("线索编号", "线索ID", "商机编号", "商机ID", "lead id", "deal id"),
            max_length=64,
        ),
        STORE_FIELD,
        Field(
            "account",
            FieldType.TEXT,
            _("owner"),
            ("负责人", "归属人", "销售", "跟进人", "owner", "sales rep", "account"),
            max_length=120,
        ),
        Field("customer", FieldType.TEXT, _("customer"), ("客户名称", "客户", "customer"), max_length=128),
        Field(
            "source",
            FieldType.TEXT,
            _("lead source"),
            ("线索来源", "来源", "渠道", "source"),
            required=False,
            nullable=True,
            default="",
            max_length=64,
        ),
        Field("stage", FieldType.STAGE, _("stage"), ("阶段", "销售阶段", "商机阶段", "stage"), max_length=64),
        Field(
            "stage_changed_at",
            FieldType.DATETIME,
            _("stage changed at"),
            ("阶段变更时间", "阶段更新时间", "更新时间", "stage changed at"),
        ),
        Field(
            "amount",
            FieldType.MONEY,
            _("amount"),
            ("金额", "商机金额", "预计金额", "amount"),
            required=False,
            nullable=True,
        ),
        Field(
            "expected_close",
            FieldType.DATE,
            _("expected close"),
            ("预计成交日期", "预计签单日期", "expected close"),
            required=False,
            nullable=True,
        ),
        Field(
            "lost_reason",
            FieldType.TEXT,
            _("lost reason"),
            ("丢单原因", "输单原因", "lost reason"),
            required=False,
            nullable=True,
            default="",
            max_length=200,
        ),
        # Empty or absent: the earliest stage change known for the lead stands in (see merge.py).
        Field(
            "created_at",
            FieldType.DATETIME,
            _("created at"),
            ("创建时间", "线索创建时间", "created at"),
            required=False,
            nullable=True,
        ),
        Field(
            "guide_price",
            FieldType.MONEY,
            _("guide price"),
            ("指导价", "公司指导价", "guide price"),
            required=False,
            nullable=True,
        ),
        Field(
            "collected",
            FieldType.MONEY,
            _("collected"),
            ("回款金额", "已回款", "collected"),
            required=False,
            nullable=True,
        ),
        Field(
            "product",
            FieldType.TEXT,
            _("product"),
            ("产品", "产品名称", "product"),
            required=False,
            nullable=True,
            default="",
            max_length=120,
        ),
        Field(
            "new_product",
            FieldType.BOOL,
            _("new product"),
            ("是否新品", "新品", "new product"),
            required=False,
            nullable=True,
            default="0",
        ),
    ),
    # A call-centre or CRM call record (通话记录/话单): one row per call.
    ImportKind.CALLS: (
        # Optional: without it the key is derived from account, start time, number and direction.
        Field(
            "call_id",
            FieldType.TEXT,
            _("call id"),
            ("通话ID", "呼叫ID", "话单ID", "call id"),
            required=False,
            nullable=True,
            max_length=160,
        ),
        STORE_FIELD,
        Field(
            "account",
            FieldType.TEXT,
            _("agent account"),
            ("坐席", "坐席工号", "坐席账号", "员工", "agent", "agent account"),
            max_length=120,
        ),
        Field(
            "started_at",
            FieldType.DATETIME,
            _("call time"),
            ("呼叫时间", "通话开始时间", "开始时间", "call time", "started at"),
        ),
        # Masked on import when it arrives in full (138****1234); empty for withheld numbers.
        Field(
            "number",
            FieldType.TEXT,
            _("phone number"),
            ("客户号码", "对方号码", "被叫号码", "号码", "number", "phone"),
            nullable=True,
            default="",
            max_length=32,
        ),
        Field("direction", FieldType.DIRECTION, _("direction"), ("呼叫类型", "呼叫方向", "方向", "direction")),
        # Empty or absent: connected when the talk time is above 0.
        Field(
            "connected",
            FieldType.BOOL,
            _("connected"),
            ("是否接通", "接通状态", "connected"),
            required=False,
            nullable=True,
        ),
        Field(
            "duration",
            FieldType.DURATION,
            _("talk time (seconds)"),
            ("通话时长", "通话时长(秒)", "时长", "duration", "talk time"),
            nullable=True,
            default="0",
        ),
    ),
    # A roster (花名册) as HR keeps it: one row per member. Not a fact table: the rows are applied
    # to the organisation by teams.services.roster (metrics.importing.services).
    ImportKind.ROSTER: (
        Field(
            "employee_number",
            FieldType.TEXT,
            _("employee number"),
            ("工号", "员工编号", "员工工号", "职工号", "employee number", "employee no", "employee id", "staff id"),
            max_length=40,
        ),
        Field(
            "name",
            FieldType.TEXT,
            _("full name"),
            ("姓名", "员工姓名", "名字", "name", "employee name", "full name"),
            max_length=120,
        ),
        STORE_FIELD,
        Field(
            "team",
            FieldType.TEXT,
            _("team"),
            ("团队", "团队名称", "小组", "组别", "team", "team name", "group"),
            max_length=120,
        ),
        # Empty or absent: a team the roster creates is a pre-sales team; a known team keeps its kind.
        Field(
            "team_kind",
            FieldType.TEAM_KIND,
            _("team kind"),
            ("团队类型", "团队性质", "岗位类型", "team kind", "team type"),
            required=False,
            nullable=True,
        ),
        # Absent: accounts are left as they are. Empty: the member uses none (from the move date).
        Field(
            "accounts",
            FieldType.TEXT,
            _("platform accounts"),
            ("子账号", "平台账号", "客服账号", "旺旺子账号", "sub-accounts", "accounts", "platform accounts"),
            required=False,
            nullable=True,
            max_length=2000,
        ),
        Field("hire_date", FieldType.DATE, _("hire date"), ("入职日期", "入职时间", "hire date", "hired on")),
        Field(
            "leave_date",
            FieldType.DATE,
            _("leave date"),
            ("离职日期", "离职时间", "leave date", "last day", "left on"),
            required=False,
            nullable=True,
        ),
        Field(
            "leader",
            FieldType.BOOL,
            _("team lead"),
            ("组长", "是否组长", "team lead", "leader", "is lead"),
            required=False,
            nullable=True,
        ),
        Field(
            "login",
            FieldType.TEXT,
            _("login name"),
            ("登录名", "用户名", "登录账号", "login", "login name", "username"),
            required=False,
            nullable=True,
            default="",
            max_length=150,
        ),
        Field(
            "email",
            FieldType.TEXT,
            _("e-mail"),
            ("邮箱", "电子邮箱", "邮件地址", "email", "e-mail", "email address"),
            required=False,
            nullable=True,
            default="",
            max_length=254,
        ),
        # The day a change of team or accounts takes effect; empty or absent: the day of the import.
        Field(
            "move_date",
            FieldType.DATE,
            _("move date"),
            ("调动日期", "调岗日期", "变动日期", "生效日期", "move date", "effective date", "moved on"),
            required=False,
            nullable=True,
        ),
        Field(
            "from_first_activity",
            FieldType.BOOL,
            _("from first activity"),
            ("按首次活动起算", "从首次活动起算", "from first activity"),
            required=False,
            nullable=True,
            default="0",
        ),
    ),
}

# The unique key of each kind's fact (besides the store).
KEYS: dict[str, tuple[str, ...]] = {
    ImportKind.ORDERS: ("order_id",),
    ImportKind.CHATS: ("session_id",),
    ImportKind.TRAFFIC: ("date", "channel"),
    ImportKind.LEADS: ("lead_id",),
    ImportKind.CALLS: ("call_id",),
    ImportKind.ROSTER: ("employee_number",),
}


def fold_header(header: str) -> str:
    """Header text folded for matching: NFKC (full-width → ASCII), lower case, no spaces or _ - ( )."""
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    return re.sub(r"[\s_\-()（）:：]+", "", text)


def fields_for(kind: str) -> tuple[Field, ...]:
    return FIELDS[kind]


def field_by_name(kind: str, name: str) -> Field:
    return next(field for field in FIELDS[kind] if field.name == name)


def mapping_propose(*, kind: str, headers: list[str], saved: dict[str, str] | None = None) -> dict[str, str]:
    """{canonical field: file header} from a saved mapping first, then the known aliases."""
    folded = {fold_header(h): h for h in headers}
    proposal: dict[str, str] = {}
    for field in FIELDS[kind]:
        if saved and saved.get(field.name) in headers:
            proposal[field.name] = saved[field.name]
            continue
        for alias in (field.name, *field.aliases):
            if fold_header(alias) in folded:
                proposal[field.name] = folded[fold_header(alias)]
                break
    return proposal


def kind_detect(headers: list[str]) -> str | None:
    """The kind whose required fields the headers cover best; None when no kind has all of them."""
    best, best_score = None, 0.0
    for kind, fields in FIELDS.items():
        required = [f for f in fields if f.required]
        found = mapping_propose(kind=kind, headers=headers)
        if all(f.name in found for f in required):
            score = len(found) / len(fields)
            if score > best_score:
                best, best_score = kind, score
    return best


def missing_required(*, kind: str, mapping: dict[str, str]) -> list[Field]:
    return [f for f in FIELDS[kind] if f.required and f.name not in mapping]


def formats_describe() -> list[dict]:
    """Each kind's expected columns for the upload page: label, a Chinese and an English header,
    and whether the column must be in the file."""
    described = []
    for kind, label in ImportKind.choices:
        columns = []
        for spec in FIELDS[kind]:
            chinese = next((a for a in spec.aliases if not a.isascii()), spec.aliases[0])
            english = next((a for a in spec.aliases if a.isascii()), spec.name)
            columns.append({"label": spec.label, "chinese": chinese, "english": english, "required": spec.required})
        described.append({"kind": kind, "label": label, "columns": columns})
    return described

"""What each kind of export contains: canonical fields, their types, and the headers shops use.

Aliases are compared after folding (case, spaces, full-width brackets), so `买家实际支付金额`,
`Paid Amount` and `paid_amount` all find the same field.
"""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from metrics.models import ImportKind, OrderStatus


class FieldType(StrEnum):
    TEXT = "text"
    MONEY = "money"  # Decimal, two places, never negative; empty reads as 0 where a default is given
    DATETIME = "datetime"  # local time of the store's zone; empty allowed only where optional
    DATE = "date"
    INT = "int"  # whole number >= 0
    STATUS = "status"  # order status text, normalised through ORDER_STATUSES


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
}

# The unique key of each kind's fact (besides the store).
KEYS: dict[str, tuple[str, ...]] = {
    ImportKind.ORDERS: ("order_id",),
    ImportKind.CHATS: ("session_id",),
    ImportKind.TRAFFIC: ("date", "channel"),
}

# Platform status texts, Chinese (Taobao/Tmall wording) and English (API codes and plain words).
ORDER_STATUSES: dict[str, str] = {
    "等待买家付款": OrderStatus.PENDING_PAYMENT,
    "待付款": OrderStatus.PENDING_PAYMENT,
    "买家已付款，等待卖家发货": OrderStatus.PAID,
    "买家已付款,等待卖家发货": OrderStatus.PAID,
    "等待卖家发货": OrderStatus.PAID,
    "待发货": OrderStatus.PAID,
    "卖家已发货，等待买家确认": OrderStatus.SHIPPED,
    "卖家已发货,等待买家确认": OrderStatus.SHIPPED,
    "等待买家确认收货": OrderStatus.SHIPPED,
    "已发货": OrderStatus.SHIPPED,
    "交易成功": OrderStatus.COMPLETED,
    "已完成": OrderStatus.COMPLETED,
    "交易关闭": OrderStatus.CLOSED,
    "已关闭": OrderStatus.CLOSED,
    "wait_buyer_pay": OrderStatus.PENDING_PAYMENT,
    "pending payment": OrderStatus.PENDING_PAYMENT,
    "awaiting payment": OrderStatus.PENDING_PAYMENT,
    "wait_seller_send_goods": OrderStatus.PAID,
    "paid": OrderStatus.PAID,
    "awaiting shipment": OrderStatus.PAID,
    "wait_buyer_confirm_goods": OrderStatus.SHIPPED,
    "shipped": OrderStatus.SHIPPED,
    "trade_finished": OrderStatus.COMPLETED,
    "completed": OrderStatus.COMPLETED,
    "finished": OrderStatus.COMPLETED,
    "trade_closed": OrderStatus.CLOSED,
    "trade_closed_by_taobao": OrderStatus.CLOSED,
    "closed": OrderStatus.CLOSED,
    "cancelled": OrderStatus.CLOSED,
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

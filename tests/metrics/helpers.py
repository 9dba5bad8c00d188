"""Small export files for the import tests."""

from pathlib import Path

ORDER_HEADER = "订单编号,买家会员名,买家应付货款,买家实际支付金额,订单状态,订单创建时间,订单付款时间,宝贝标题,宝贝种类,宝贝总数量,退款金额,店铺名称"
CHAT_HEADER = "会话ID,店铺名称,客服,买家会员名,咨询时间,首次响应时间,结束时间,买家消息数,客服消息数"


def write(path: Path, lines: list[str], encoding: str = "utf-8-sig") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def order_line(order_id, buyer="tb_1", paid="100.00", status="交易成功", created="2026-08-01 10:00:00",
               paid_at="2026-08-01 10:05:00", refund="0.00", store="未来衣橱旗舰店", items="1") -> str:  # fmt: skip
    return f"{order_id},{buyer},{paid},{paid},{status},{created},{paid_at},连衣裙,1,{items},{refund},{store}"

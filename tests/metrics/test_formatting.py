"""KPI values as people read them."""

from decimal import Decimal

from django.utils import translation

from metrics.formatting import EMPTY, d3_format, kpi_display
from metrics.registry import kpi_get


def test_days_keep_the_registry_decimals():
    with translation.override("en"):
        assert kpi_display(kpi_get("avg_days_negotiation"), 2.26) == "2.3"  # one decimal (sales KPIs)
        assert kpi_display(kpi_get("working_days"), 5.0) == "5"  # whole days
        assert d3_format(kpi_get("sales_cycle_days")) == ",.1f"
        assert d3_format(kpi_get("working_days")) == ",d"


def test_money_rates_and_undefined():
    with translation.override("en"):
        assert kpi_display(kpi_get("won_amount"), Decimal("1234567.5")) == "¥1,234,567.50"
        assert kpi_display(kpi_get("connect_rate"), 0.3333) == "33.3%"
        assert kpi_display(kpi_get("win_rate"), None) == EMPTY

"""KPI values as people read them."""

from decimal import Decimal

from django.utils import translation

from metrics.formatting import (
    EMPTY,
    d3_format,
    kpi_display,
    kpi_label_text,
    kpi_value_text,
    rate_display,
    share_display,
)
from metrics.registry import kpi_get
from perfmgmt.common.numbers import decimal_plain, percent_plain


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
        # Money is rounded to the cent as pay is (half up), not cut: a prorated target of 100,000 ×
        # 11 / 30 reads the same on the card as in the API.
        assert kpi_display(kpi_get("gmv"), Decimal(100000) * 11 / 30) == "¥36,666.67"
        assert kpi_display(kpi_get("gmv"), Decimal("0.005")) == "¥0.01"


def test_long_durations_read_in_hours():
    with translation.override("en"):
        assert kpi_display(kpi_get("talk_time"), 493903) == "137.2 h"  # 493,903 s / 3,600
        assert kpi_display(kpi_get("talk_time"), 3599) == "3599.0 s"
        assert kpi_display(kpi_get("avg_first_response_s"), 12.34) == "12.3 s"
    with translation.override("zh-hans"):
        assert kpi_display(kpi_get("talk_time"), 7200) == "2.0 小时"


def test_plain_numbers_and_percentages_as_typed_into_a_form():
    assert [decimal_plain(v) for v in (Decimal("100.00"), Decimal("1.50"), Decimal("0.0250"), 3000)] == [
        "100", "1.5", "0.025", "3000"
    ]  # fmt: skip
    assert [percent_plain(v) for v in (Decimal("0.025"), Decimal("0.5000"), Decimal("1.5"))] == ["2.5", "50", "150"]
    # One rule with a precision for forms' first values (perfmgmt.common.numbers); the targets' and
    # the pay estimate's copy (perfmgmt.common.forms.plain) rounded half to even: 0.06125 → "6.12".
    assert percent_plain(Decimal("0.06125"), places="0.01") == "6.13"
    assert decimal_plain(Decimal("2.345"), places="0.01") == "2.35"
    assert decimal_plain(None) == percent_plain(None) == ""


def test_a_share_looks_the_same_on_every_page_in_each_language():
    """One formatter for a share or a KPI rate (metrics.formatting.share_display): the template
    filter and the pipeline pages call it; fixed decimals, half up, grouped, a dash when empty.
    Before, the filter printed 1234.6% ungrouped and the pipeline pages rounded half to even."""
    from metrics.pipeline import views as pipeline_views
    from metrics.templatetags.kpis import percent

    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert percent(12.3456) == share_display(12.3456) == "1,234.6%"
            assert percent(Decimal("0.125"), 0) == share_display(Decimal("0.125"), places=0) == "13%"
            assert percent(None) == share_display(None) == EMPTY
            assert share_display(float("nan")) == EMPTY
    assert not hasattr(pipeline_views, "_percent")


def test_rates_people_set_and_kpi_names_read_the_same_on_every_page():
    """One formatter each for a rate people set (rate_display: exactly as set, up to 3 decimals),
    a KPI's name and a KPI's value with a key the registry may have lost. Before, the pay estimate
    showed a commission rate of 0.025 as "2.50%" and the plan page as "2.5%"."""
    from incentives import plan_views
    from incentives.selectors import estimate
    from incentives.services import export

    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert rate_display(Decimal("0.025")) == "2.5%"
            assert rate_display(Decimal("0.01255")) == "1.255%"
            assert rate_display(Decimal("0.4")) == "40%"
            assert kpi_label_text("gmv") == str(kpi_get("gmv").label)
            assert kpi_label_text("retired_kpi") == "retired_kpi"
            assert kpi_value_text("inquiry_to_payment_rate", 0.4567) == "45.7%"
            assert kpi_value_text("retired_kpi", 3) == "3"
    for module in (plan_views, estimate, export):
        assert not {"_percent", "_kpi_label", "_shown", "_label"} & set(vars(module))

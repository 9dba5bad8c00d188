"""The dashboards' plotly figures, written out as plain dicts: plotly takes every one of them as
it is (each property name and value validated), and they hold what the charts show."""

import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from django.utils import translation

from metrics.dashboards import figures
from metrics.registry import kpi_get

DAYS = [dt.date(2026, 8, 1), dt.date(2026, 8, 2), dt.date(2026, 8, 3)]
LINKS = ["/d/1", "/d/2", "/d/3"]
NAN = float("nan")


def plotly_json(figure: dict) -> dict:
    """The figure through plotly: validated (a wrong name or value raises), then its JSON."""
    return json.loads(pio.to_json(go.Figure(figure), validate=True))


def assert_plain(value, path="figure"):
    """Only what JSON holds: no numpy, Decimal, NaN or tuples left for `json_script`."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, path
            assert_plain(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_plain(item, f"{path}[{i}]")
    else:
        assert value is None or type(value) in (str, int, float, bool), f"{path}: {value!r}"
        assert value == value, f"{path}: NaN"


def assert_as_plotly_makes_it(figure: dict):
    """Plotly accepts the dict and, through its JSON, gives back exactly the same figure."""
    assert_plain(figure)
    assert plotly_json(figure) == figure
    assert figure["layout"]["template"] is figures.TEMPLATE


def trend(**more):
    arguments = {
        "kpi": kpi_get("gmv"),
        "days": DAYS,
        "values": [Decimal("1200.50"), None, np.float64(NAN)],
        "links": LINKS,
    }
    return figures.trend_figure(**{**arguments, **more})


def test_the_template_is_plotlys_default_taken_once_and_shared():
    default = json.loads(pio.to_json(go.Figure()))["layout"]["template"]
    assert default == figures.TEMPLATE
    assert default["layout"]["colorway"][0] == "#636efa"  # plotly's own, not an empty stand-in
    first, second = trend(), figures.funnel_figure(steps=[("UV", 10)])
    assert first["layout"]["template"] is second["layout"]["template"] is figures.TEMPLATE


def test_trend_is_the_kpi_by_day_linked_to_each_day():
    with translation.override("zh-hans"):
        figure = trend()
    assert_as_plotly_makes_it(figure)
    (line,) = figure["data"]
    assert line["type"] == "scatter"
    assert line["x"] == ["2026-08-01", "2026-08-02", "2026-08-03"]
    assert line["y"] == [1200.5, None, None]  # Decimal as a float; NaN as a gap (null)
    assert type(line["y"][0]) is float
    assert line["customdata"] == LINKS
    assert line["name"] == "销售额"
    assert line["hovertemplate"] == "%{x|%Y-%m-%d}<br>%{y:,.2f}<extra></extra>"
    layout = figure["layout"]
    assert layout["showlegend"] is False
    assert layout["yaxis"] == {"automargin": True, "tickformat": ",.0f", "rangemode": "tozero"}
    assert layout["xaxis"] == {"automargin": True, "type": "date", "tickformat": "%m-%d"}
    assert "shapes" not in layout and "annotations" not in layout


def test_trend_of_a_rate_with_the_team_median_and_a_target_labelled_at_its_last_day():
    with translation.override("en"):
        figure = trend(
            kpi=kpi_get("inquiry_to_payment_rate"),
            values=[0.25, np.float64(0.5), 0.125],
            medians=[np.int64(0), 0.3, None],
            targets=[None, Decimal("0.4"), None],
            target_label="Month 40%",
        )
    assert_as_plotly_makes_it(figure)
    assert [(t["type"], t["name"]) for t in figure["data"]] == [
        ("scatter", "Inquiry-to-payment rate"),
        ("scatter", "Team median"),
        ("scatter", "Target"),
    ]
    median, target = figure["data"][1], figure["data"][2]
    assert median["y"] == [0.0, 0.3, None]
    assert median["line"] == {"color": "#94a3b8", "dash": "dot"}
    assert target["y"] == [None, 0.4, None]
    assert target["line"]["shape"] == "hv"
    assert target["hovertemplate"] == "%{x|%Y-%m-%d}<br>Target: %{y:.1%}<extra></extra>"
    (label,) = figure["layout"]["annotations"]
    assert (label["x"], label["y"], label["text"]) == ("2026-08-02", 0.4, "Month 40%")
    assert figure["layout"]["showlegend"] is True
    assert figure["layout"]["yaxis"]["tickformat"] == ".1%"


def test_trend_without_any_target_has_no_target_line():
    figure = trend(targets=[None, None, None])
    assert [t.get("name") for t in figure["data"]] == [kpi_get("gmv").label]
    assert figure["layout"]["showlegend"] is False


def test_trend_shades_promotion_phases_clipped_to_its_days():
    bands = [
        figures.Band(dt.date(2026, 7, 20), dt.date(2026, 8, 1), "preheat", "预热", "双十一 · 预热"),
        figures.Band(dt.date(2026, 8, 2), dt.date(2026, 8, 9), "peak", "爆发", "双十一 · 爆发"),
        figures.Band(dt.date(2026, 9, 1), dt.date(2026, 9, 3), "after", "返场", "outside the days"),
    ]
    figure = trend(bands=bands)
    assert_as_plotly_makes_it(figure)
    layout = figure["layout"]
    assert [(s["type"], s["x0"], s["x1"], s["fillcolor"]) for s in layout["shapes"]] == [
        ("rect", "2026-07-31 12:00:00", "2026-08-01 12:00:00", "#f59e0b"),
        ("rect", "2026-08-01 12:00:00", "2026-08-03 12:00:00", "#ef4444"),
    ]
    assert [(a["text"], a["hovertext"], a["x"]) for a in layout["annotations"]] == [
        ("预热", "双十一 · 预热", "2026-08-01 00:00:00"),
        ("爆发", "双十一 · 爆发", "2026-08-02 12:00:00"),
    ]
    assert layout["margin"]["t"] == 28  # room for the labels


def test_trend_of_no_days_is_an_empty_line():
    figure = trend(days=[], values=[], links=[], medians=[], bands=[figures.Band(DAYS[0], DAYS[1], "peak", "P", "P")])
    assert_as_plotly_makes_it(figure)
    assert [(t["x"], t["y"]) for t in figure["data"]] == [([], []), ([], [])]
    assert "shapes" not in figure["layout"]


STORE_FUNNEL = [("访客", np.int64(152396)), ("咨询", 3844), ("下单", Decimal(3074)), ("付款", 2895), ("复购", 0)]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_funnel_labels_are_whole_numbers_grouped_in_the_pages_language(language):
    with translation.override(language):
        figure = figures.funnel_figure(steps=STORE_FUNNEL)
    assert_as_plotly_makes_it(figure)
    (bars,) = figure["data"]
    assert (bars["type"], bars["orientation"], bars["textposition"]) == ("bar", "h", "outside")
    assert bars["y"] == ["访客", "咨询", "下单", "付款", "复购"]
    assert figure["layout"]["yaxis"]["autorange"] == "reversed"  # the first step on top
    # Whole numbers grouped by thousands (not plotly's 152.396k), and the share of the step before.
    assert bars["text"] == ["152,396", "3,844 · 2.5%", "3,074 · 80.0%", "2,895 · 94.2%", "0 · 0.0%"]
    assert "%{x" not in bars["hovertemplate"] and "%{customdata}" in bars["hovertemplate"]
    # The hover says the same in words.
    share = "占上一步的 2.5%" if language == "zh-hans" else "2.5% of the step before"
    assert bars["customdata"][:2] == ["152,396", f"3,844 · {share}"]


def test_funnel_of_40_visitors_to_an_inquiry_is_on_a_log_axis_where_every_step_has_a_length():
    figure = figures.funnel_figure(steps=STORE_FUNNEL)
    assert_as_plotly_makes_it(figure)
    axis = figure["layout"]["xaxis"]
    assert axis["type"] == "log" and axis["visible"] is False and figures.funnel_is_log(figure)
    low, high = axis["range"]
    assert low == 2  # from the decade below the smallest step with a count (2,895: 100): it keeps a length
    bars = figure["data"][0]
    # Each bar runs from the axis's start (its base, not 0: minus infinity on a log axis) to its count.
    assert bars["base"] == 100 and [bars["base"] + x for x in bars["x"]] == [152396, 3844, 3074, 2895, 100]
    assert bars["x"][4] == 0  # a step of 0: no length, and its label "0"
    lengths = [np.log10(bars["base"] + x) - low for x in bars["x"]]
    # On a linear axis the smallest count was 1.9 % of the first's length; here over a third,
    # and the labels (text outside the bars) fit in the range.
    assert min(lengths[:4]) / max(lengths) > 1 / 3 and lengths[4] == 0
    assert high > np.log10(152396) + 1


def test_a_funnel_of_close_steps_keeps_a_linear_axis():
    figure = figures.funnel_figure(steps=[("Leads created", 179), ("Reached intent", 80), ("Won", 19)])
    assert_as_plotly_makes_it(figure)
    assert figure["data"][0]["x"] == [179, 80, 19]  # the counts themselves
    assert figure["layout"]["xaxis"].get("type") is None and not figures.funnel_is_log(figure)
    assert figure["layout"]["xaxis"]["range"][0] == 0
    assert figures.funnel_figure(steps=[])["data"][0]["x"] == []


def plotly_lines(*, x=None, y=None) -> list[dict]:
    """The shapes plotly's own add_vline / add_hline make, to hold the written ones against."""
    figure = go.Figure(go.Scatter(x=[1], y=[1]))
    if x is not None:
        figure.add_vline(x=x, line={"color": "#94a3b8", "dash": "dash"})
    if y is not None:
        figure.add_hline(y=y, line={"color": "#94a3b8", "dash": "dash"})
    return json.loads(pio.to_json(figure))["layout"]["shapes"]


def test_scatter_links_members_and_draws_the_team_medians_as_plotly_would():
    with translation.override("en"):
        figure = figures.scatter_figure(
            names=["Alice 王", "Bob 李"],
            paid_orders=[np.int64(3), 12],
            aov=[Decimal("300.00"), np.float64(99.5)],
            links=["/m/1/", "/m/2/"],
            median_orders=np.float64(7.5),
            median_aov=Decimal("199.75"),
        )
    assert_as_plotly_makes_it(figure)
    (points,) = figure["data"]
    assert (points["type"], points["mode"]) == ("scatter", "markers+text")
    assert points["x"] == [3, 12] and points["y"] == [300.0, 99.5]
    assert points["text"] == ["Alice 王", "Bob 李"]
    assert points["customdata"] == ["/m/1/", "/m/2/"]
    vline, hline = figure["layout"]["shapes"]
    assert vline == {
        "line": {"color": "#94a3b8", "dash": "dash"},
        "type": "line",
        "x0": 7.5,
        "x1": 7.5,
        "xref": "x",
        "y0": 0,
        "y1": 1,
        "yref": "y domain",
    }
    assert (hline["xref"], hline["x0"], hline["x1"], hline["yref"], hline["y0"]) == ("x domain", 0, 1, "y", 199.75)
    assert [vline, hline] == plotly_lines(x=7.5, y=199.75)
    assert figure["layout"]["xaxis"]["title"] == {"text": "Paid orders"}


def test_scatter_without_medians_has_no_lines():
    figure = figures.scatter_figure(names=[], paid_orders=[], aov=[], links=[], median_orders=None, median_aov=None)
    assert_as_plotly_makes_it(figure)
    assert "shapes" not in figure["layout"]
    only_aov = figures.scatter_figure(
        names=["A"], paid_orders=[1], aov=[10], links=["/a"], median_orders=None, median_aov=10
    )
    assert only_aov["layout"]["shapes"] == plotly_lines(y=10)


def test_heatmap_has_a_gap_where_nobody_inquired():
    grid = pd.DataFrame(np.full((7, 24), 0.25), index=range(7), columns=range(24))
    grid.iloc[0, 0] = np.nan
    grid.iloc[6, 23] = 1.0
    with translation.override("zh-hans"):
        figure = figures.heatmap_figure(grid=grid)
    assert_as_plotly_makes_it(figure)
    (heatmap,) = figure["data"]
    assert heatmap["type"] == "heatmap"
    assert len(heatmap["z"]) == 7 and {len(row) for row in heatmap["z"]} == {24}
    assert heatmap["z"][0][:2] == [None, 0.25]
    assert heatmap["z"][6][23] == 1.0
    assert heatmap["x"][:2] == ["00", "01"] and heatmap["x"][-1] == "23"
    assert heatmap["y"] == ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert heatmap["colorscale"][0] == [0.0, "rgb(247,251,255)"]  # plotly's Blues
    assert figure["layout"]["yaxis"] == {"automargin": True, "autorange": "reversed"}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_heatmap_cells_of_too_few_buyers_show_their_count_not_a_rate(language):
    grid = pd.DataFrame(np.full((7, 24), np.nan), index=range(7), columns=range(24))
    counts = pd.DataFrame(np.zeros((7, 24), dtype=np.int64), index=range(7), columns=range(24))
    grid.iloc[2, 3], counts.iloc[2, 3] = 1.0, 1  # Wednesday 03:00: one buyer, who paid: not "100 %"
    grid.iloc[2, 4], counts.iloc[2, 4] = 0.25, 4
    grid.iloc[4, 14], counts.iloc[4, 14] = 0.4, 5  # Friday 14:00: 5 buyers, enough to rate
    grid.iloc[4, 15], counts.iloc[4, 15] = 0.5, 1234
    with translation.override(language):
        figure = figures.heatmap_figure(grid=grid, inquiring=counts, minimum=5)
    assert_as_plotly_makes_it(figure)
    rates, few = figure["data"]
    assert (rates["type"], few["type"]) == ("heatmap", "heatmap")
    assert rates["z"][2][3] is None and rates["z"][2][4] is None  # no rate from 1 or 4 buyers
    assert rates["z"][4][14] == 0.4 and rates["z"][4][15] == 0.5
    assert few["z"][2][3] == few["z"][2][4] == 1 and few["z"][4][14] is None and few["z"][0][0] is None
    assert few["showscale"] is False and few["colorscale"][0][1] == few["colorscale"][1][1]  # one grey
    assert few["hovertemplate"] == "%{y} %{x}:00<br>%{hovertext}<extra></extra>"
    if language == "en":
        assert few["hovertext"][2][3] == "Too few to rate: 1 inquiring buyer (a rate needs 5)"
        assert few["hovertext"][2][4] == "Too few to rate: 4 inquiring buyers (a rate needs 5)"
        assert rates["customdata"][4][15] == "1,234 inquiring buyers"
    else:
        assert few["hovertext"][2][3] == "样本太少，不计转化率：询单 1 人（至少需要 5 人）"
        assert rates["customdata"][4][15] == "询单 1,234 人"
    assert few["hovertext"][0][0] is None
    assert rates["hovertemplate"].endswith("<br>%{customdata}<extra></extra>")


def test_heatmap_where_every_cell_has_enough_buyers_has_no_grey_layer():
    grid = pd.DataFrame(np.full((7, 24), 0.5), index=range(7), columns=range(24))
    counts = pd.DataFrame(np.full((7, 24), 9), index=range(7), columns=range(24))
    figure = figures.heatmap_figure(grid=grid, inquiring=counts, minimum=5)
    assert_as_plotly_makes_it(figure)
    assert len(figure["data"]) == 1 and figure["data"][0]["z"][6][23] == 0.5


def every_figure() -> dict[str, dict]:
    """One of each figure the dashboards draw, with a legend wherever they have one."""
    grid = pd.DataFrame(np.full((7, 24), 0.5), index=range(7), columns=range(24))
    return {
        "trend": trend(medians=[1, 2, 3], targets=[None, 5, 5], target_label="T"),
        "funnel": figures.funnel_figure(steps=STORE_FUNNEL),
        "scatter": figures.scatter_figure(
            names=["A"], paid_orders=[1], aov=[10], links=["/a"], median_orders=1, median_aov=10
        ),
        "heatmap": figures.heatmap_figure(grid=grid),
        "response": figures.response_figure(shares={"within_15s": 0.5}),
        "stores": figures.stores_figure(names=["S"], gmv=[1], staff=[2], links=["/s"]),
        "ageing": figures.ageing_figure(
            stages=[("lead", "Lead"), ("intent", "Intent")], buckets=["0–3"], counts={"lead": [1], "intent": [2]},
            stuck_position=0.5, stuck_label="stuck",
        ),
        "calls": figures.calls_hour_figure(hours=[9], dials=[3], connected=[1], rates=[1 / 3]),
    }  # fmt: skip


def test_legends_sit_in_their_own_strip_at_the_bottom_below_the_axes():
    for key, figure in every_figure().items():
        assert_as_plotly_makes_it(figure)
        layout = figure["layout"]
        # The legend is placed in the figure's coordinates: plotly keeps its strip of the bottom
        # margin for it, and every axis grows the margin above that strip for its labels and title
        # (placed at y = -0.18 of the plot, it landed on the titles of the ageing and calls charts).
        assert layout["legend"] == {
            "orientation": "h", "x": 0, "xanchor": "left", "y": 0, "yanchor": "bottom", "yref": "container",
        }, key  # fmt: skip
        axes = [value for axis, value in layout.items() if axis.startswith(("xaxis", "yaxis"))]
        assert axes and all(axis["automargin"] is True for axis in axes), key


def test_response_shares_as_bars_with_their_percentages():
    with translation.override("en"):
        figure = figures.response_figure(
            shares={"within_15s": 0.5, "within_30s": np.float64(0.75), "within_3min": None, "unanswered": 0.125}
        )
    assert_as_plotly_makes_it(figure)
    (bars,) = figure["data"]
    assert bars["type"] == "bar"
    assert bars["x"] == ["Within 15 s", "Within 30 s", "Within 3 min", "Unanswered"]
    assert bars["y"] == [0.5, 0.75, None, 0.125]
    assert bars["text"] == ["50.0%", "75.0%", None, "12.5%"]


@pytest.mark.parametrize(("staff", "dtick"), [([0, 0], 1), ([37, 3], 8), ([5, np.int64(4)], 1)])
def test_stores_gmv_beside_staff_on_whole_number_ticks(staff, dtick):
    figure = figures.stores_figure(
        names=["未来衣橱", "Mirror"], gmv=[Decimal("12345.67"), None], staff=staff, links=["/s/1/", "/s/2/"]
    )
    assert_as_plotly_makes_it(figure)
    gmv, people = figure["data"]
    assert (gmv["type"], people["type"], people["yaxis"]) == ("bar", "scatter", "y2")
    assert gmv["y"] == [12345.67, None]
    assert people["y"] == [int(n) for n in staff]
    assert gmv["customdata"] == people["customdata"] == ["/s/1/", "/s/2/"]
    assert figure["layout"]["yaxis2"]["dtick"] == dtick


def test_ageing_groups_stages_and_marks_where_deals_get_stuck():
    stages = [("lead", "线索"), ("intent", "意向"), ("negotiation", "谈判")]
    figure = figures.ageing_figure(
        stages=stages,
        buckets=["0–3", "4–7", "8–14", "15+"],
        counts={"lead": [5, 3, 1, 0], "intent": [np.int64(2), 2, 2, 2], "negotiation": [0, 1, 0, 4]},
        stuck_position=2.5,
        stuck_label="谈判超过 14 天即为停滞",
    )
    assert_as_plotly_makes_it(figure)
    assert [(t["type"], t["name"], t["marker"]["color"]) for t in figure["data"]] == [
        ("bar", "线索", "#93c5fd"),
        ("bar", "意向", "#2563eb"),
        ("bar", "谈判", "#f97316"),
    ]
    assert figure["data"][1]["y"] == [2, 2, 2, 2]
    layout = figure["layout"]
    assert layout["barmode"] == "group"
    (stuck,) = layout["shapes"]
    assert (stuck["type"], stuck["x0"], stuck["x1"], stuck["yref"]) == ("line", 2.5, 2.5, "y domain")
    assert stuck["line"] == {"color": "#ef4444", "dash": "dash", "width": 2}
    (label,) = layout["annotations"]
    assert (label["x"], label["text"]) == (2.5, "谈判超过 14 天即为停滞")


def test_ageing_without_stages_still_marks_the_stuck_line():
    figure = figures.ageing_figure(stages=[], buckets=[], counts={}, stuck_position=0.5, stuck_label="stuck")
    assert_as_plotly_makes_it(figure)
    assert figure["data"] == []
    assert [s["x0"] for s in figure["layout"]["shapes"]] == [0.5]


def test_calls_by_hour_with_the_connect_rate_on_the_right_axis():
    with translation.override("en"):
        figure = figures.calls_hour_figure(
            hours=[9, np.int64(10), 14], dials=[10, 0, 4], connected=[4, 0, np.int64(1)], rates=[0.4, None, 0.25]
        )
    assert_as_plotly_makes_it(figure)
    dials, connected, rate = figure["data"]
    assert [t["type"] for t in figure["data"]] == ["bar", "bar", "scatter"]
    assert dials["x"] == connected["x"] == rate["x"] == ["09", "10", "14"]
    assert connected["y"] == [4, 0, 1]
    assert rate["y"] == [0.4, None, 0.25]
    assert rate["yaxis"] == "y2" and rate["name"] == "Connect rate"
    assert figure["layout"]["yaxis2"]["range"] == [0, 1.05]

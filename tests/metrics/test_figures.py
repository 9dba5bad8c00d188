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

from metrics.registry import kpi_get
from metrics.selectors import figures

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
    assert layout["yaxis"] == {"tickformat": ",.0f", "rangemode": "tozero"}
    assert layout["xaxis"] == {"type": "date", "tickformat": "%m-%d"}
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


def test_funnel_steps():
    figure = figures.funnel_figure(steps=[("访客", np.int64(1000)), ("咨询", 300), ("付款", Decimal(120))])
    assert_as_plotly_makes_it(figure)
    (funnel,) = figure["data"]
    assert funnel["type"] == "funnel"
    assert funnel["y"] == ["访客", "咨询", "付款"]
    assert funnel["x"] == [1000, 300, 120.0]
    assert type(funnel["x"][0]) is int
    assert figure["layout"]["margin"]["l"] == 120


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
    assert figure["layout"]["yaxis"] == {"autorange": "reversed"}


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

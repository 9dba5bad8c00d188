"""Template tags that render in Python what the template engine was too slow for: the filter
form's selects and the leaderboard's rows mean the same markup, escaped."""

from decimal import Decimal

import pytest
from django.test.html import parse_html
from django.utils import translation

from metrics.dashboards.forms import DashboardFilterForm
from metrics.dashboards.selectors.team import LeaderRow
from metrics.formatting import kpi_display
from metrics.kpis.families import kpi_choices
from metrics.registry import kpi_get
from metrics.templatetags.kpis import leaderboard_rows, sparkline
from perfmgmt.templatetags.formatting import select_field
from teams.models import Member, Store, Team
from tests.factories import MemberFactory, StoreFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def choices():
    store = StoreFactory(name="<script>alert(1)</script>店")
    other = StoreFactory(name="Mirror & Home")
    team = TeamFactory(store=store, name='售前 "A"')
    TeamFactory(store=other, name="After-sales")
    MemberFactory(display_name="=cmd|' /C calc'!A0")
    MemberFactory(display_name="小王")
    return store, team


def _form(data=None, initial=None):
    return DashboardFilterForm(
        data,
        initial=initial,
        stores=Store.objects.order_by("pk"),
        teams=Team.objects.order_by("pk"),
        members=Member.objects.order_by("pk"),
        kpis=kpi_choices("team"),
    )


@pytest.mark.parametrize("name", ["store", "team", "member", "kpi"])
def test_a_select_means_the_same_as_djangos_widget(choices, name):
    store, team = choices
    shown = _form(initial={"store": store, "team": team, "kpi": "aov"})
    assert parse_html(select_field(shown[name])) == parse_html(str(shown[name]))
    invalid = _form({"store": str(store.pk), "team": "999999", "member": "x", "kpi": "no_such_kpi"})
    assert not invalid.is_valid()
    assert parse_html(select_field(invalid[name])) == parse_html(str(invalid[name]))  # aria-invalid and all


def test_a_select_escapes_names_and_marks_the_chosen_one(choices):
    store, _team = choices
    html = select_field(_form(initial={"store": store})["store"])
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;店" in html
    assert f'<option value="{store.pk}" selected>' in html
    assert html.count(" selected") == 1


def test_leaderboard_rows_show_each_kpi_as_the_kpi_filter_would(choices):
    class Dashboard:
        columns = [kpi_get("gmv"), kpi_get("inquiry_to_payment_rate"), kpi_get("avg_first_response_s")]
        leaderboard = [
            LeaderRow(
                7,
                "<b>小王</b>",
                1,
                {"gmv": Decimal("1234567.80"), "inquiry_to_payment_rate": 0.4567, "avg_first_response_s": 12.34},
                [1.0, 2.0, None, 3.0],
            ),
            LeaderRow(
                8,
                "=cmd|' /C calc'!A0",
                None,
                {"gmv": None, "inquiry_to_payment_rate": None, "avg_first_response_s": None},
                [None, None],
            ),
        ]

    with translation.override("zh-hans"):  # whatever language an earlier test left active
        html = leaderboard_rows(Dashboard(), "preset=custom&start=2026-09-01&end=2026-09-30")
        shown = {
            key: kpi_display(kpi_get(key), Dashboard.leaderboard[0].values[key])
            for key in ("gmv", "inquiry_to_payment_rate", "avg_first_response_s")
        }
    rows = html.split("</tr>")
    assert "<b>" not in html and "&lt;b&gt;小王&lt;/b&gt;" in rows[0]
    assert '/dashboard/members/7/?preset=custom&amp;start=2026-09-01&amp;end=2026-09-30"' in rows[0]
    for value in shown.values():
        assert f'<td class="num">{value}</td>' in rows[0]
    assert '<td class="num rank">1</td>' in rows[0] and str(sparkline([1.0, 2.0, None, 3.0])) in rows[0]
    assert '<td class="name"><a href="/dashboard/members/7/' in rows[0]  # the frozen name column
    # No rank: a dash that says "unranked" (here in Chinese); no values: dashes, never 0.
    assert '<td class="num rank"><span class="unranked" title="' in rows[1] and "未排名</span>" in rows[1]
    assert rows[1].count('<td class="num">—</td>') == 3
    assert "=cmd|&#x27; /C calc&#x27;!A0" in rows[1]

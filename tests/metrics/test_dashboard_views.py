"""Dashboard pages and their API: who sees what, filters in the URL, exports, empty states."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from metrics.importing.services import chats_import, orders_import
from metrics.kpis.services import kpis_after_import
from teams.models import StaffCost
from tests.metrics.helpers import CHAT_HEADER, ORDER_HEADER, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(org, tmp_path):
    """Chats and paid orders of A, B (team X) and C (team Y) in store S1, D in S2: yesterday and
    ten days ago (inside the last 30 days) and 45 days ago (outside)."""
    today = timezone.localdate()
    chats, orders = [], []
    serial = 0
    for days_ago, amount in ((1, "100.00"), (10, "200.00"), (45, "999.00")):
        day = today - dt.timedelta(days=days_ago)
        for key, store in (("a", org.s1), ("b", org.s1), ("c", org.s1), ("d", org.s2)):
            serial += 1
            account = getattr(org, f"account_{key}")
            buyer = f"buyer_{key}_{days_ago}"
            started = dt.datetime.combine(day, dt.time(10, 0))
            chats.append(f"S{serial},{store.name},{account.name},{buyer},{started:%Y-%m-%d %H:%M:%S},"
                         f"{started + dt.timedelta(seconds=12):%Y-%m-%d %H:%M:%S},,2,2")  # fmt: skip
            paid = amount if key != "b" else "50.00"
            created = started + dt.timedelta(minutes=30)
            orders.append(f"O{serial},{buyer},{paid},{paid},交易成功,{created:%Y-%m-%d %H:%M:%S},"
                          f"{created + dt.timedelta(minutes=2):%Y-%m-%d %H:%M:%S},连衣裙,1,1,0.00,{store.name}")  # fmt: skip
    for importer, header, lines in ((chats_import, CHAT_HEADER, chats), (orders_import, ORDER_HEADER, orders)):
        batch = importer(store=None, file=write(tmp_path / f"{header[:4]}.csv", [header, *lines]), user=None)
        assert batch.status == "succeeded", batch.error_message
        kpis_after_import(batch=batch)
    return today


def card_value(html: str, key: str) -> str:
    start = html.index(f'data-kpi="{key}"')
    value = html.index('class="value">', start) + len('class="value">')
    return html[value : html.index("</div>", value)]


def test_manager_sees_their_team_dashboard_with_figures_of_the_period(org, sales, client_for):
    client = client_for(org.users["manager_s1"])
    page = client.get("/dashboard/", {"team": org.x.pk, "preset": "last30"}, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert card_value(html, "gmv") == "¥400.00"  # A 100 + 200, B 50 + 50; 45 days ago is outside
    assert card_value(html, "paid_orders") == "4"
    board = html[html.index('data-testid="leaderboard"') :]
    assert "Alice 王" in board and "Bob 李" in board and "Carol 张" not in board  # C is in team Y
    for figure in ("fig-trend", "fig-funnel", "fig-scatter", "fig-heatmap", "fig-response"):
        assert f'id="{figure}-data"' in html
    assert "/static/vendor/plotly.min.js" in html
    # Another date filter, other numbers: yesterday only.
    html = client.get("/dashboard/", {"team": org.x.pk, "preset": "yesterday"}).content.decode()
    assert card_value(html, "gmv") == "¥150.00"


def test_the_dashboard_stays_in_the_managers_stores(org, sales, client_for):
    client = client_for(org.users["manager_s1"])
    html = client.get("/dashboard/", {"team": org.z.pk}).content.decode()
    assert "Dan 刘" not in html  # team Z of store S2 is not offered: the default team is shown
    assert page_team(html) != org.z.name
    assert client.get("/dashboard/stores/").content.decode().count("Mirror Home Store") == 0


def page_team(html: str) -> str:
    start = html.index("<h1>")
    return html[start : html.index("</h1>", start)].rsplit("/", 1)[-1].strip()


def test_staff_see_only_their_own_page(org, sales, client_for):
    client = client_for(org.users["staff_a"])
    assert client.get("/dashboard/").url.endswith("/dashboard/me/")
    html = client.get("/dashboard/me/").content.decode()
    assert "Alice 王" in html
    for other in ("Bob 李", "Carol 张", "Dan 刘", "Lead 赵"):
        assert other not in html
    assert client.get(f"/dashboard/members/{org.b.pk}/").status_code == 404
    assert client.get("/dashboard/stores/").status_code == 403
    assert client.get(f"/dashboard/members/{org.a.pk}/").status_code == 200


def test_lead_drills_down_to_a_member_of_their_team_only(org, sales, client_for):
    client = client_for(org.users["lead_x"])
    html = client.get("/dashboard/", {"preset": "last7"}).content.decode()
    assert f"/dashboard/members/{org.a.pk}/?preset=last7" in html
    assert client.get(f"/dashboard/members/{org.a.pk}/", {"preset": "last7"}).status_code == 200
    assert client.get(f"/dashboard/members/{org.d.pk}/").status_code == 404
    # Choosing a member in the filter opens their page for the same period.
    response = client.get("/dashboard/", {"member": org.b.pk, "preset": "last7"})
    assert response.url == f"/dashboard/members/{org.b.pk}/?preset=last7"


def test_exports_carry_what_is_on_screen(org, sales, client_for):
    client = client_for(org.users["manager_s1"])
    response = client.get("/dashboard/", {"team": org.x.pk, "export": "csv"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Disposition"].startswith("attachment") and ".csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Rank", "Member", "Chat sessions"]
    assert [row[1] for row in rows[1:]] == ["Alice 王", "Bob 李"]
    assert rows[1][rows[0].index("GMV")] == "300.00"
    response = client.get("/dashboard/stores/", {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[1][0] == "未来衣橱旗舰店" and float(values[1][4]) == 700.0  # S1 over 30 days: A 300, B 100, C 300


def test_empty_period_leads_to_the_import_page(org, client_for):
    html = client_for(org.users["manager_s1"]).get("/dashboard/").content.decode()
    assert 'data-testid="empty-state"' in html and "/data/imports/new/" in html


def test_a_bad_filter_falls_back_with_a_message(org, sales, client_for):
    client = client_for(org.users["manager_s1"])
    response = client.get("/dashboard/", {"preset": "custom", "start": "not-a-date"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "The default was used instead." in response.content.decode()


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/stores/", "/dashboard/me/"])
def test_days_near_year_one_fall_back_instead_of_overflowing(org, sales, client_for, path):
    """Subtracting a period's length from 0001-01-05 overflowed (a 500); out-of-range days now fall back."""
    client = client_for(org.users["manager_s1"] if path != "/dashboard/me/" else org.users["staff_a"])
    query = {"preset": "custom", "start": "0001-01-01", "end": "0001-01-05"}
    response = client.get(path, query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "The default was used instead." in response.content.decode()


def test_manager_enters_staff_cost_and_hr_cannot(org, sales, client_for):
    month = sales.replace(day=1)
    client = client_for(org.users["manager_s1"])
    response = client.post(
        "/dashboard/stores/", {"store": org.s1.pk, "month": month.strftime("%Y-%m"), "amount": "9000", "note": ""}
    )
    assert response.status_code == 302
    assert StaffCost.objects.get(store=org.s1, month=month).amount == Decimal("9000")
    html = client.get("/dashboard/stores/", {"preset": "last_month"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "¥9,000.00" not in html  # last month has no cost entered
    html = client.get("/dashboard/stores/", {"preset": "this_month"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    days_in_month = ((month + dt.timedelta(days=32)).replace(day=1) - month).days
    expected = (Decimal(9000) * sales.day / days_in_month).quantize(Decimal("0.01"))  # spread over the month's days
    assert f"¥{expected:,.2f}" in html
    hr = client_for(org.users["hr"])
    assert hr.get("/dashboard/stores/").status_code == 200
    assert hr.post("/dashboard/stores/", {"store": org.s1.pk, "month": "2026-01", "amount": "1"}).status_code == 403


def test_the_api_returns_the_same_figures_scoped_by_role(org, sales, api_for):
    api = api_for(org.users["manager_s1"])
    body = api.get("/api/dashboards/team/", {"team": org.x.pk}).json()
    cards = {card["kpi"]: card for card in body["cards"]}
    assert cards["gmv"]["value"] == "400.00" and cards["paid_orders"]["value"] == 4
    assert [row["member"]["name"] for row in body["leaderboard"]["rows"]] == ["Alice 王", "Bob 李"]
    stores = api.get("/api/dashboards/stores/").json()["stores"]
    assert [s["name"] for s in stores] == ["未来衣橱旗舰店"] and stores[0]["gmv"] == "700.00"
    staff = api_for(org.users["staff_a"])
    assert staff.get("/api/dashboards/team/").status_code == 403
    assert staff.get(f"/api/dashboards/members/{org.b.pk}/").status_code == 404
    mine = staff.get("/api/dashboards/me/").json()
    assert mine["member"]["name"] == "Alice 王" and "Bob" not in str(mine)


def test_warmed_default_views_are_served_without_computing(org, sales, client_for, monkeypatch):
    from metrics.dashboards.warmup import dashboards_warm

    # Two teams of S1 and their three members today (A, B, the lead in X; C in Y), in both languages.
    assert dashboards_warm(store=org.s1) == 2 * (2 + 4)

    def refuse(**kwargs):
        raise AssertionError("computed on request although warmed")

    monkeypatch.setattr("metrics.dashboards.selectors.team.team_dashboard_get", refuse)
    monkeypatch.setattr("metrics.dashboards.selectors.member.member_dashboard_get", refuse)
    monkeypatch.setattr("metrics.dashboards.pages.team_dashboard_get", refuse)
    monkeypatch.setattr("metrics.dashboards.pages.member_dashboard_get", refuse)
    manager = client_for(org.users["manager_s1"])
    for team in (org.x, org.y):
        assert manager.get("/dashboard/", {"team": team.pk}, HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    assert manager.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="zh-hans").status_code == 200
    # Another period is not warmed: computing it is refused here.
    with pytest.raises(AssertionError, match="computed on request"):
        manager.get("/dashboard/", {"team": org.x.pk, "preset": "last7"})
    assert client_for(org.users["staff_a"]).get("/dashboard/me/").status_code == 200  # (the same client, now A)


def test_during_an_imports_refresh_the_pages_say_their_figures_are_updating(org, sales, client_for, api_for):
    from metrics.dashboards.services import dashboards_refresh_begin, dashboards_refresh_end

    api = api_for(org.users["manager_s1"])
    answers = ["/api/dashboards/team/", f"/api/dashboards/members/{org.a.pk}/", "/api/dashboards/stores/"]
    assert [api.get(url).json()["updating"] for url in answers] == [False, False, False]

    notice = 'data-testid="refreshing"'
    manager = client_for(org.users["manager_s1"])
    pages = [("/dashboard/", {"team": org.x.pk}), (f"/dashboard/members/{org.a.pk}/", {}), ("/dashboard/stores/", {})]
    for path, params in pages:
        assert notice not in manager.get(path, params).content.decode(), path
    dashboards_refresh_begin(store_ids=[org.s2.pk])  # another store's refresh: not these pages'
    assert notice not in manager.get("/dashboard/", {"team": org.x.pk}).content.decode()
    dashboards_refresh_begin(store_ids=[org.s1.pk])
    for path, params in pages:
        html = manager.get(path, params, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert notice in html and "may be from before the latest import" in html, path
    zh = manager.get("/dashboard/", {"team": org.x.pk}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert notice in zh and "may be from before" not in zh  # translated
    assert [api.get(url).json()["updating"] for url in answers] == [True, True, True]
    dashboards_refresh_end(store_id=org.s1.pk)
    assert notice not in manager.get("/dashboard/", {"team": org.x.pk}).content.decode()
    assert [api.get(url).json()["updating"] for url in answers] == [False, False, False]


def test_targets_show_on_the_cards_and_on_the_members_own_page_and_api(org, sales, client_for, api_for):
    from metrics.targets.services import campaign_create, target_create
    from teams.selectors.scoping import viewer_get

    manager = org.users["manager_s1"]
    viewer = viewer_get(user=manager)
    # Thirty days around the sales (yesterday and ten days ago), whatever day the test runs.
    start, end = sales - dt.timedelta(days=20), sales + dt.timedelta(days=9)
    target_create(viewer=viewer, user=manager, tier="strategy", name="Team X these 30 days", kpi_key="gmv",
                  store=org.s1, team=org.x, period_kind="custom", start=start, end=end,
                  value=Decimal("100000"))  # fmt: skip
    monday = sales - dt.timedelta(days=sales.weekday())
    week = {"tier": "execution", "kpi_key": "gmv", "store": org.s1, "team": org.x, "period_kind": "week",
            "start": monday, "end": monday + dt.timedelta(days=6), "value": Decimal("5000")}  # fmt: skip
    target_create(viewer=viewer, user=manager, name="Alice week GMV", member=org.a, **week)
    target_create(viewer=viewer, user=manager, name="Bob week GMV", member=org.b, **week)
    campaign_create(viewer=viewer, user=manager, store=org.s1, kind="custom", name="Demo sale",
                    phases={"peak": (sales - dt.timedelta(days=3), sales)})  # fmt: skip

    html = client_for(manager).get("/dashboard/", {"team": org.x.pk}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    card = html[html.index('data-kpi="gmv"') : html.index('data-kpi="paid_orders"')]
    assert 'data-testid="card-target"' in card and "¥100,000.00" in card
    assert "Shaded: promotion phases." in html and "Dashed line" in html

    page = client_for(org.users["staff_a"]).get("/dashboard/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    panel = page[page.index('data-testid="my-targets"') : page.index('data-testid="personal-kpis"')]
    assert "My targets" in panel and "Alice week GMV" in panel and "¥5,000.00" in panel
    assert "Bob" not in page

    body = api_for(org.users["staff_a"]).get("/api/dashboards/me/").json()
    assert [t["name"] for t in body["targets"]] == ["Alice week GMV"] and body["targets"][0]["value"] == "5000.00"
    assert body["trend"]["promotions"][0]["phase"] == "peak"
    team = api_for(manager).get("/api/dashboards/team/", {"team": org.x.pk}).json()
    gmv = next(card for card in team["cards"] if card["kpi"] == "gmv")
    assert gmv["target"]["value"] == "100000.00" and gmv["target"]["level"] == "team"
    assert gmv["target"]["actual"] == "400.00" and gmv["target"]["completion"] == pytest.approx(0.004)
    assert gmv["target"]["status"] == "behind"
    assert team["trend"]["target"][-1] == "3333.33" and team["trend"]["target"][0] is None  # 100,000 over 30 days
    # The last 30 days begin before the target: its own dates are said. Eleven days inside it: its
    # value prorated to them, said in both languages.
    assert gmv["target"]["prorated"] is False and gmv["target"]["start"] == start.isoformat()
    assert f"Target for {start:%m-%d} – {end:%m-%d}" in card
    inside = {"team": org.x.pk, "preset": "custom", "start": sales - dt.timedelta(days=10), "end": sales}
    for language, label, source in (("en", "Target for these 11 days", "prorated from"),
                                    ("zh-hans", "这 11 天的目标", "按进度折算自")):  # fmt: skip
        html = client_for(manager).get("/dashboard/", inside, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        card = html[html.index('data-kpi="gmv"') : html.index('data-kpi="paid_orders"')]
        assert label in card and source in card and "¥36,666.67" in card and 'data-prorated="1"' in card
        assert 'data-testid="card-target-help"' in html
    prorated = api_for(manager).get("/api/dashboards/team/", inside).json()
    gmv = next(card for card in prorated["cards"] if card["kpi"] == "gmv")
    assert gmv["target"]["prorated"] is True and gmv["target"]["value"] == "36666.67"
    assert gmv["target"]["sources"][0]["value"] == "100000.00" and gmv["target"]["days"] == 11

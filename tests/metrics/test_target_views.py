"""Target pages and their API: who sees and sets which targets, the revenue decomposition (seed
001's example), promotions with their focus targets, staff's counts and the alerts."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from metrics.models import (
    Behaviour,
    BehaviourRecord,
    Campaign,
    PeriodKind,
    StoreDay,
    Target,
    TargetAlert,
    TargetAlertKind,
    TargetTier,
)
from perfmgmt.common.periods import store_today
from teams.models import TeamKind

pytestmark = pytest.mark.django_db

# Seed 001: four whole weeks, Monday 2 March to Sunday 29 March 2026, six working days a week.
SEED_START, SEED_END = dt.date(2026, 3, 2), dt.date(2026, 3, 29)


@pytest.fixture
def client_for(client_for):
    """Page clients in English, so the assertions read the source strings whatever the catalogue."""

    def login(user):
        client = client_for(user)
        client.cookies["django_language"] = "en"
        return client

    return login


def _target(store, *, name, team=None, member=None, kpi_key="gmv", value="1000", tier=TargetTier.STRATEGY, **extra):
    today = store_today(store)
    defaults = {
        "period_kind": PeriodKind.MONTH,
        "start": today.replace(day=1),
        "end": today + dt.timedelta(days=20),
        "direction": "at_least",
    }
    return Target.objects.create(
        store=store, team=team, member=member, name=name, kpi_key=kpi_key, value=Decimal(value), tier=tier,
        **{**defaults, **extra},
    )  # fmt: skip


@pytest.fixture
def targets(org):
    """A store target of S1, team targets of X and Y, member targets of A, B and C, one of D in S2."""
    return {
        "store": _target(org.s1, name="S1 revenue"),
        "x": _target(org.s1, name="X revenue", team=org.x, tier=TargetTier.TACTIC),
        "y": _target(org.s1, name="Y revenue", team=org.y, tier=TargetTier.TACTIC),
        "a": _target(org.s1, name="A revenue", team=org.x, member=org.a, tier=TargetTier.EXECUTION),
        "b": _target(org.s1, name="B revenue", team=org.x, member=org.b, tier=TargetTier.EXECUTION),
        "c": _target(org.s1, name="C revenue", team=org.y, member=org.c, tier=TargetTier.EXECUTION),
        "d": _target(org.s2, name="D revenue", team=org.z, member=org.d, tier=TargetTier.EXECUTION),
    }


def listed(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'<tr data-target="(\d+)"', html)}


def _form(store, **changes) -> dict:
    today = store_today(store)
    data = {
        "name": "Weekly GMV",
        "tier": TargetTier.EXECUTION,
        "kpi_key": "gmv",
        "store": store.pk,
        "period_kind": PeriodKind.WEEK,
        "start": f"{today:%Y-%m-%d}",
        "end": "",
        "value": "5000",
        "pace": "linear",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- the list and who sees what ---------------------------------------------------------------


def test_staff_see_their_own_their_teams_and_their_stores_targets_only(org, targets, client_for):
    html = client_for(org.users["staff_a"]).get(reverse("targets:list"), {"period": "all"}).content.decode()
    ids = {name: t.pk for name, t in targets.items()}
    assert listed(html) == {ids["store"], ids["x"], ids["a"]}
    # not the other member's of the same team, not another team's, not another store's
    assert not listed(html) & {ids["b"], ids["y"], ids["c"], ids["d"]}
    assert "New target" not in html and "Decompose a revenue target" not in html


def test_team_lead_sees_their_team_and_its_members_and_manager_their_store(org, targets, client_for):
    ids = {name: t.pk for name, t in targets.items()}
    lead = client_for(org.users["lead_x"]).get(reverse("targets:list"), {"period": "all"}).content.decode()
    assert listed(lead) == {ids["store"], ids["x"], ids["a"], ids["b"]}
    manager = client_for(org.users["manager_s1"]).get(reverse("targets:list"), {"period": "all"}).content.decode()
    assert listed(manager) == {ids[k] for k in ("store", "x", "y", "a", "b", "c")}
    assert "Decompose a revenue target" in manager


def test_the_list_shows_children_indented_under_their_parent_and_filters(org, targets, client_for):
    targets["a"].parent = targets["x"]
    targets["a"].save()
    client = client_for(org.users["manager_s1"])
    html = client.get(reverse("targets:list"), {"period": "all", "team": org.x.pk}).content.decode()
    assert re.search(rf'<tr data-target="{targets["x"].pk}" class="depth-0">', html)
    assert re.search(rf'<tr data-target="{targets["a"].pk}" class="depth-1">', html)
    assert html.index(f'data-target="{targets["x"].pk}"') < html.index(f'data-target="{targets["a"].pk}"')
    execution = client.get(reverse("targets:list"), {"period": "all", "tier": "execution"}).content.decode()
    assert listed(execution) == {targets[k].pk for k in ("a", "b", "c")}
    upcoming = client.get(reverse("targets:list"), {"period": "upcoming"}).content.decode()
    assert listed(upcoming) == set() and 'data-testid="empty-state"' in upcoming


def test_many_execution_targets_are_folded_in_the_list_and_listed_by_member_on_the_parent(org, client_for):
    parent = _target(org.s1, name="X month", team=org.x)
    weeks = [
        _target(org.s1, name=f"Week {n}", team=org.x, member=m, parent=parent, tier=TargetTier.EXECUTION)
        for n in range(4)
        for m in (org.a, org.b)
    ]
    client = client_for(org.users["manager_s1"])
    html = client.get(reverse("targets:list")).content.decode()
    assert listed(html) == {parent.pk}
    assert f'data-folded="{parent.pk}"' in html and "8 execution targets below" in html
    detail = client.get(reverse("targets:detail", args=[parent.pk])).content.decode()
    assert listed(detail) == {w.pk for w in weeks} and "Alice 王" in detail and "Bob 李" in detail
    # a member's own targets are never folded away from them
    own = client_for(org.users["staff_a"]).get(reverse("targets:list")).content.decode()
    assert listed(own) == {parent.pk} | {w.pk for w in weeks if w.member == org.a}


def test_the_list_filters_by_status(org, targets, client_for):
    later = store_today(org.s1) + dt.timedelta(days=40)
    _target(org.s1, name="Next quarter", start=later, end=later + dt.timedelta(days=30))
    client = client_for(org.users["manager_s1"])
    html = client.get(reverse("targets:list"), {"period": "all", "status": "not_started"}).content.decode()
    assert [t.name for t in Target.objects.filter(pk__in=listed(html))] == ["Next quarter"]


def test_empty_list_explains_how_to_add_or_decompose(org, client_for):
    html = client_for(org.users["manager_s1"]).get(reverse("targets:list")).content.decode()
    assert 'data-testid="empty-state"' in html
    assert reverse("targets:decompose") in html and reverse("targets:create") in html


def test_detail_shows_progress_children_and_alerts_and_hides_others_targets(org, targets, client_for):
    targets["a"].parent = targets["x"]
    targets["a"].save()
    TargetAlert.objects.create(target=targets["x"], kind=TargetAlertKind.BEHIND, day=store_today(org.s1))
    html = client_for(org.users["lead_x"]).get(reverse("targets:detail", args=[targets["x"].pk])).content.decode()
    assert f'data-target="{targets["a"].pk}"' in html
    assert 'data-testid="target-alerts"' in html and "Behind pace" in html
    staff_b = client_for(org.users["staff_b"])
    assert staff_b.get(reverse("targets:detail", args=[targets["a"].pk])).status_code == 404


# --- who may set targets ----------------------------------------------------------------------


@pytest.mark.parametrize("username", ["staff_a", "hr"])
def test_staff_and_hr_may_not_create_edit_or_delete(org, targets, client_for, username):
    client = client_for(org.users[username])
    target = targets["a"]  # visible to both
    assert client.get(reverse("targets:detail", args=[target.pk])).status_code == 200
    assert client.get(reverse("targets:create")).status_code == 403
    assert client.post(reverse("targets:create"), _form(org.s1, member=org.a.pk)).status_code == 403
    assert client.get(reverse("targets:edit", args=[target.pk])).status_code == 403
    assert client.post(reverse("targets:edit", args=[target.pk]), _form(org.s1, value="1")).status_code == 403
    assert client.post(reverse("targets:delete", args=[target.pk])).status_code == 403
    assert client.get(reverse("targets:decompose")).status_code == 403
    target.refresh_from_db()
    assert target.value == Decimal(1000) and Target.objects.count() == len(targets)


def test_team_lead_sets_targets_for_their_teams_members_only(org, client_for):
    client = client_for(org.users["lead_x"])
    ok = client.post(reverse("targets:create"), _form(org.s1, team=org.x.pk, member=org.a.pk, name="A this week"))
    target = Target.objects.get(name="A this week")
    assert ok.status_code == 302 and ok.url == reverse("targets:detail", args=[target.pk])
    assert (target.member, target.owner, target.end - target.start) == (org.a, org.users["lead_x"], dt.timedelta(6))
    other = client.post(reverse("targets:create"), _form(org.s1, member=org.c.pk, name="C this week"))
    assert other.status_code == 200 and "Select a valid choice" in other.content.decode()
    store_level = client.post(reverse("targets:create"), _form(org.s1, name="Whole store"))
    assert store_level.status_code == 200 and "You may not set targets" in store_level.content.decode()
    assert not Target.objects.filter(name__in=["C this week", "Whole store"]).exists()


def test_manager_sets_targets_in_their_store_only(org, client_for):
    client = client_for(org.users["manager_s1"])
    assert client.post(reverse("targets:create"), _form(org.s1, name="S1 week")).status_code == 302
    refused = client.post(reverse("targets:create"), _form(org.s2, name="S2 week"))
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert list(Target.objects.values_list("name", flat=True)) == ["S1 week"]


def test_service_errors_are_shown_on_the_fields_and_rates_are_typed_in_percent(org, client_for):
    client = client_for(org.users["manager_s1"])
    # visitors (UV) are a store KPI: the service refuses it for a member
    response = client.post(reverse("targets:create"), _form(org.s1, member=org.a.pk, kpi_key="uv", name="UV of A"))
    html = response.content.decode()
    assert response.status_code == 200 and "is not measured at this level" in html
    assert re.search(r'class="field has-error">\s*<label for="id_kpi_key">', html)
    rate = _form(org.s1, team=org.x.pk, kpi_key="inquiry_to_payment_rate", value="35")
    assert client.post(reverse("targets:create"), rate).status_code == 302
    assert Target.objects.get().value == Decimal("0.35")


def test_edit_and_delete_with_confirmation(org, targets, client_for):
    client = client_for(org.users["manager_s1"])
    target = targets["x"]
    edit = client.get(reverse("targets:edit", args=[target.pk])).content.decode()
    assert 'value="X revenue"' in edit
    data = _form(org.s1, team=org.x.pk, name="X revenue, raised", value="2000", tier="tactic",
                 start=f"{target.start:%Y-%m-%d}", end=f"{target.end:%Y-%m-%d}", period_kind="month")  # fmt: skip
    assert client.post(reverse("targets:edit", args=[target.pk]), data).status_code == 302
    target.refresh_from_db()
    assert (target.name, target.value) == ("X revenue, raised", Decimal(2000))
    confirm = client.get(reverse("targets:delete", args=[target.pk]))
    assert confirm.status_code == 200 and Target.objects.filter(pk=target.pk).exists()
    assert client.post(reverse("targets:delete", args=[target.pk])).status_code == 302
    assert not Target.objects.filter(pk=target.pk).exists()
    # another store's target is not there for this manager
    assert client.post(reverse("targets:delete", args=[targets["d"].pk])).status_code == 404


# --- the revenue decomposition ----------------------------------------------------------------


def _works_leads(org) -> None:
    """Seed 001 is an online-sales team's story: leads, deals and lead conversion."""
    org.x.kind = TeamKind.ONLINE_SALES
    org.x.save(update_fields=["kind"])


def _seed_form(org, **changes) -> dict:
    data = {
        "store": org.s1.pk,
        "team": org.x.pk,
        "period": "custom",
        "start": f"{SEED_START:%Y-%m-%d}",
        "end": f"{SEED_END:%Y-%m-%d}",
        "revenue": "1000000",
        "returning_share": "40",
        "new_value_per_deal": "10000",
        "lead_conversion": "6",
        "returning_order_value": "500",
        "orders_per_buyer": "1",
        "working_weekdays": ["0", "1", "2", "3", "4", "5"],
        "split": "equal",
    }
    data.update(changes)
    return data


def _testid(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</", start)]


def test_decompose_page_reproduces_seed_001(org, client_for):
    _works_leads(org)
    client = client_for(org.users["manager_s1"])
    response = client.post(reverse("targets:decompose"), _seed_form(org))
    html = response.content.decode()
    assert response.status_code == 200
    assert _testid(html, "leads").endswith(">1,000")
    assert _testid(html, "leads-per-day").endswith(">41.7")
    start = html.index('data-testid="plan-weeks"')
    weeks = html[start : html.index("</table>", start)]
    assert weeks.count('<td class="num strong">250</td>') == 4
    assert "¥400,000.00" in html and "¥600,000.00" in html  # returning 40%, new 60%
    assert not Target.objects.exists()  # calculating saves nothing


def test_decompose_page_prefills_from_the_period_before(org, client_for):
    client = client_for(org.users["manager_s1"])
    query = {"store": org.s1.pk, "team": org.x.pk, "period": "month", "month": "2026-03"}
    html = client.get(reverse("targets:decompose"), query).content.decode()
    assert 'name="revenue"' in html and 'id="decompose-form"' in html
    assert "2026-02-01 – 2026-02-28" in html  # the month before is where the figures come from
    # equal shares of the team's three members as the manual split's starting point
    assert html.count('value="33.3"') == 3


def test_decompose_save_creates_the_tree(org, client_for):
    _works_leads(org)
    leads = Behaviour.objects.create(store=org.s1, name="新客线索", unit="个")
    client = client_for(org.users["manager_s1"])
    data = _seed_form(org, save="1", name="March revenue", leads_behaviour=leads.pk)
    response = client.post(reverse("targets:decompose"), data)
    root = Target.objects.get(parent__isnull=True)
    assert response.status_code == 302 and response.url == reverse("targets:detail", args=[root.pk])
    assert (root.tier, root.name, root.value, root.team) == ("strategy", "March revenue", Decimal(1000000), org.x)
    tactics = Target.objects.filter(tier=TargetTier.TACTIC, parent=root)
    leads_target = tactics.get(behaviour=leads)
    assert leads_target.value == 1000 and tactics.count() == 3  # paid orders, paying buyers, leads
    execution = Target.objects.filter(tier=TargetTier.EXECUTION, parent=root)
    members = {org.a, org.b, org.lead_x}
    assert {t.member for t in execution} == members
    assert execution.count() == len(members) * 4 * 2  # each member, each week: GMV and leads
    assert {(t.start, t.end) for t in execution}.issuperset({(SEED_START, SEED_START + dt.timedelta(days=6))})
    assert all(t.period_kind == PeriodKind.WEEK for t in execution)
    page = client.get(response.url).content.decode()
    assert "March revenue" in page and page.count("<tr data-target=") == 3 + execution.count()


def test_team_lead_decomposes_only_their_team(org, client_for):
    _works_leads(org)
    client = client_for(org.users["lead_x"])
    store_wide = client.post(reverse("targets:decompose"), _seed_form(org, team="", save="1"))
    assert store_wide.status_code == 200 and "choose your team" in store_wide.content.decode()
    other = client.post(reverse("targets:decompose"), _seed_form(org, team=org.y.pk, save="1"))
    assert other.status_code == 200 and "Select a valid choice" in other.content.decode()
    assert not Target.objects.exists()
    assert client.post(reverse("targets:decompose"), _seed_form(org, save="1")).status_code == 302


def test_decompose_refuses_bad_figures_with_messages(org, client_for):
    _works_leads(org)
    client = client_for(org.users["manager_s1"])
    html = client.post(
        reverse("targets:decompose"), _seed_form(org, lead_conversion="0", working_weekdays=[])
    ).content.decode()
    assert "Must be more than 0%." in html and "Choose at least one working day." in html
    assert 'data-testid="plan-totals"' not in html


def _seed_json(org, **changes) -> dict:
    data = {
        "store": org.s1.pk,
        "team": org.x.pk,
        "start": f"{SEED_START:%Y-%m-%d}",
        "end": f"{SEED_END:%Y-%m-%d}",
        "revenue": "1000000",
        "returning_share": "0.40",
        "new_value_per_deal": "10000",
        "lead_conversion": "0.06",
        "returning_order_value": "500",
    }
    data.update(changes)
    return data


def test_api_decompose_returns_the_plan_and_saves_it(org, api_for):
    _works_leads(org)
    api = api_for(org.users["manager_s1"])
    response = api.post(reverse("api_target_decompose"), _seed_json(org), format="json")
    assert response.status_code == 200, response.content
    plan = response.json()
    assert plan["totals"]["leads"] == 1000 and plan["totals"]["leads_per_working_day"] == 41.7
    assert (plan["totals"]["returning_revenue"], plan["totals"]["new_revenue"]) == ("400000.00", "600000.00")
    assert [w["leads"] for w in plan["weeks"]] == [250, 250, 250, 250]
    assert plan["working_days"] == 24 and len(plan["days"]) == 24 and len(plan["members"]) == 3
    assert not Target.objects.exists()
    saved = api.post(reverse("api_target_decompose"), _seed_json(org, save=True), format="json")
    assert saved.status_code == 201, saved.content
    root = Target.objects.get(pk=saved.json()["root_target"])
    assert root.parent is None and root.children.filter(tier=TargetTier.EXECUTION).count() == 3 * 4


@pytest.mark.parametrize("username", ["staff_a", "hr"])
def test_api_decompose_is_forbidden_to_staff_and_hr(org, api_for, username):
    response = api_for(org.users[username]).post(
        reverse("api_target_decompose"), _seed_json(org, save=True), format="json"
    )
    assert response.status_code == 403
    assert not Target.objects.exists()


# --- a customer-service team (issue 18, point 12) ---------------------------------------------


def _service_form(org, **changes) -> dict:
    """Seed 001's figures for service team X: no lead conversion, 40% of inquiring buyers pay."""
    data = {k: v for k, v in _seed_form(org, inquiry_conversion="40").items() if k != "lead_conversion"}
    data.update(changes)
    return data


def _saturdays_double(store) -> None:
    """The store's eight weeks before seed 001's March: Saturdays sell twice a weekday, Sundays nothing."""
    days = [SEED_START - dt.timedelta(days=n) for n in range(1, 57)]
    StoreDay.objects.bulk_create(
        StoreDay(store=store, date=day, gmv_cents=(20_000 if day.weekday() == 5 else 10_000))
        for day in days
        if day.weekday() != 6
    )


def test_a_service_teams_form_has_no_leads_and_is_prefilled_from_the_last_complete_month(org, client_for):
    client = client_for(org.users["lead_x"])
    today = store_today(org.s1)
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    last_complete_end = today.replace(day=1) - dt.timedelta(days=1)
    query = {"store": org.s1.pk, "team": org.x.pk, "period": "month", "month": f"{next_month:%Y-%m}"}
    html = client.get(reverse("targets:decompose"), query).content.decode()
    assert 'name="revenue"' in html and 'name="lead_conversion"' not in html
    assert 'name="leads_behaviour"' not in html
    assert re.search(r'name="inquiry_conversion"[^>]*required', html)
    # The month before the running one, whole: not the days of this month so far.
    assert (
        f"Prefilled from {last_complete_end:%Y-%m}-01 – {last_complete_end:%Y-%m-%d}, the last complete month" in html
    )
    _works_leads(org)  # the same team, working leads: lead conversion is asked for
    html = client.get(reverse("targets:decompose"), query).content.decode()
    assert 'name="lead_conversion"' in html and 'name="leads_behaviour"' in html


def test_a_service_team_decomposes_through_inquiries_weighed_by_the_stores_weekdays(org, client_for):
    _saturdays_double(org.s1)
    client = client_for(org.users["lead_x"])
    response = client.post(reverse("targets:decompose"), _service_form(org, pace_by_weights="on"))
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="plan-totals"' in html, html
    assert 'data-testid="leads"' not in html and " leads<" not in html
    assert _testid(html, "inquiries").endswith(">2,150")  # 860 paying buyers ÷ 40%
    # Weighed: a Saturday carries twice a weekday's share, and the page says from which days.
    start = html.index('data-testid="plan-days"')
    days = html[start : html.index("</table>", start)]
    assert days.count(">3.57%<") == 20 and days.count(">7.14%<") == 4  # 1/28 and 2/28
    # The last eight weeks with data: the shop is shut on Sundays, so they end on Saturday 28 February.
    assert "The store's sales per weekday from 2026-01-05 to 2026-02-28: Mon 14.3% · " in html
    saved = client.post(reverse("targets:decompose"), _service_form(org, pace_by_weights="on", save="1"))
    assert saved.status_code == 302
    root = Target.objects.get(parent__isnull=True)
    assert set(root.children.filter(tier=TargetTier.EXECUTION).values_list("kpi_key", flat=True)) == {
        "gmv", "inquiring_buyers",
    }  # fmt: skip
    assert set(Target.objects.values_list("pace", flat=True)) == {"weekdays"}


def test_api_decompose_a_service_team_through_inquiries(org, api_for):
    api = api_for(org.users["manager_s1"])
    body = {k: v for k, v in _seed_json(org, inquiry_conversion="0.40").items() if k != "lead_conversion"}
    response = api.post(reverse("api_target_decompose"), body, format="json")
    assert response.status_code == 200, response.content
    plan = response.json()
    assert plan["chain"] == "inquiries" and plan["totals"]["leads"] is None and plan["totals"]["inquiries"] == 2150
    assert [w["inquiries"] for w in plan["weeks"]] == [537.5] * 4 and not plan["weighted"]
    refused = api.post(reverse("api_target_decompose"), {**body, "lead_conversion": "0.06"}, format="json")
    assert refused.status_code == 400 and "lead_conversion" in refused.json()
    assert api.post(reverse("api_target_decompose"), {**body, "inquiry_conversion": None},
                    format="json").status_code == 400  # fmt: skip
    _works_leads(org)
    assert api.post(reverse("api_target_decompose"), body, format="json").json().keys() == {"lead_conversion"}


# --- the targets API --------------------------------------------------------------------------


def test_api_lists_targets_in_scope_with_progress_and_staff_read_only(org, targets, api_for):
    api = api_for(org.users["staff_a"])
    rows = api.get(reverse("target-list")).json()["results"]
    assert {r["id"] for r in rows} == {targets[k].pk for k in ("store", "x", "a")}
    assert {r["progress"]["status"] for r in rows} == {"no_data"}  # running, nothing imported yet
    assert api.get(reverse("target-list"), {"member": org.a.pk}).json()["results"][0]["id"] == targets["a"].pk
    payload = {"tier": "execution", "name": "Mine", "kpi_key": "gmv", "store": org.s1.pk, "member": org.a.pk,
               "period_kind": "week", "start": "2026-03-02", "end": "2026-03-08", "value": "100"}  # fmt: skip
    assert api.post(reverse("target-list"), payload, format="json").status_code == 403
    assert api.delete(reverse("target-detail", args=[targets["a"].pk])).status_code == 403
    assert api.get(reverse("target-detail", args=[targets["b"].pk])).status_code == 404
    lead = api_for(org.users["lead_x"])
    created = lead.post(reverse("target-list"), {**payload, "team": org.x.pk}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["progress"]["status"] == "missed"  # March 2026 is over, with nothing counted
    refused = lead.post(reverse("target-list"), {**payload, "kpi_key": "uv"}, format="json")
    assert refused.status_code == 400 and "kpi_key" in refused.json()


# --- promotions -------------------------------------------------------------------------------


def test_manager_plans_a_promotion_with_phases_and_focus_targets(org, client_for):
    client = client_for(org.users["manager_s1"])
    data = {
        "store": org.s1.pk, "kind": "double11", "name": "双11",
        "preheat_start": "2026-10-20", "preheat_end": "2026-10-31",
        "peak_start": "2026-11-01", "peak_end": "2026-11-11",
        "after_start": "2026-11-12", "after_end": "2026-11-18",
        "focus_answered_15s_rate": "90", "focus_cart_to_pay_rate": "30",
        "focus_inquiry_to_payment_rate": "35", "focus_repurchase_7d_rate": "5",
    }  # fmt: skip
    response = client.post(reverse("targets:promotion_create"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get()
    assert sorted(campaign.phases.values_list("kind", flat=True)) == ["after", "peak", "preheat"]
    focus = Target.objects.filter(phase__campaign=campaign)
    # answered within 15 s: a member KPI, one per team of S1 (X and Y); cart-to-pay and 7-day
    # repurchase: store KPIs; inquiry-to-payment: per team
    assert focus.count() == 2 + 1 + 2 + 1
    assert {t.value for t in focus.filter(kpi_key="answered_15s_rate")} == {Decimal("0.9")}
    html = client.get(reverse("targets:promotions")).content.decode()
    assert "双11" in html and html.count("<tr data-target=") == 6


def test_promotion_form_errors_and_who_may_plan(org, client_for):
    client = client_for(org.users["manager_s1"])
    html = client.post(
        reverse("targets:promotion_create"),
        {"store": org.s1.pk, "kind": "618", "name": "618", "peak_start": "2026-06-18", "peak_end": "2026-06-01"},
    ).content.decode()
    assert "The last day is before the first." in html and not Campaign.objects.exists()
    for username in ("staff_a", "lead_x", "hr"):
        assert client_for(org.users[username]).get(reverse("targets:promotion_create")).status_code == 403


def test_api_promotions_create_for_managers_only(org, api_for):
    payload = {"store": org.s1.pk, "kind": "618", "name": "618",
               "phases": {"peak": {"start": "2026-06-01", "end": "2026-06-18"}}}  # fmt: skip
    assert api_for(org.users["staff_a"]).post(reverse("promotion-list"), payload, format="json").status_code == 403
    response = api_for(org.users["manager_s1"]).post(reverse("promotion-list"), payload, format="json")
    assert response.status_code == 201, response.content
    assert [p["kind"] for p in response.json()["phases"]] == ["peak"]
    assert len(response.json()["phases"][0]["targets"]) == 1 + 2  # cart-to-pay (store), inquiry-to-payment × 2 teams
    listed_ids = [c["id"] for c in api_for(org.users["staff_a"]).get(reverse("promotion-list")).json()["results"]]
    assert listed_ids == [response.json()["id"]]


# --- staff's counts ---------------------------------------------------------------------------


@pytest.fixture
def behaviour(org):
    return Behaviour.objects.create(store=org.s1, name="A类客户成交", unit="个")


def test_staff_record_their_own_count_and_see_their_behaviour_targets(org, behaviour, client_for):
    today = store_today(org.s1)
    goal = _target(org.s1, name="A-class this month", member=org.a, kpi_key="", behaviour=behaviour,
                   value="10", start=today.replace(day=1), end=today + dt.timedelta(days=5))  # fmt: skip
    client = client_for(org.users["staff_a"])
    page = client.get(reverse("targets:record")).content.decode()
    assert behaviour.name in page and goal.name in page
    response = client.post(
        reverse("targets:record"),
        {"member": org.b.pk, "date": f"{today:%Y-%m-%d}", f"count_{behaviour.pk}": "4", "note": "好"},
    )
    assert response.status_code == 302
    record = BehaviourRecord.objects.get()
    assert (record.member, record.count, record.date, record.recorded_by) == (org.a, 4, today, org.users["staff_a"])
    page = client.get(response.url).content.decode()
    assert 'data-testid="recent-records"' in page and 'value="4"' in page  # the day's count, ready to correct


def test_a_future_day_cannot_be_recorded(org, behaviour, client_for):
    tomorrow = store_today(org.s1) + dt.timedelta(days=1)
    client = client_for(org.users["staff_a"])
    response = client.post(reverse("targets:record"), {"date": f"{tomorrow:%Y-%m-%d}", f"count_{behaviour.pk}": "3"})
    assert response.status_code == 200
    assert "A day in the future cannot be recorded yet." in response.content.decode()
    assert not BehaviourRecord.objects.exists()


def test_team_lead_records_for_their_member_and_hr_may_not_record(org, behaviour, client_for):
    lead = client_for(org.users["lead_x"])
    page = lead.get(reverse("targets:record"), {"member": org.b.pk}).content.decode()
    assert "Record counts of Bob 李" in page
    today = store_today(org.s1)
    data = {"member": org.b.pk, "date": f"{today:%Y-%m-%d}", f"count_{behaviour.pk}": "2"}
    assert lead.post(reverse("targets:record"), data).status_code == 302
    assert BehaviourRecord.objects.get().member == org.b
    assert client_for(org.users["hr"]).get(reverse("targets:record")).status_code == 403


def test_api_behaviour_records_own_only(org, behaviour, api_for):
    api = api_for(org.users["staff_a"])
    today = store_today(org.s1)
    created = api.post(reverse("behaviour-record-list"), {"behaviour": behaviour.pk, "date": f"{today:%Y-%m-%d}",
                                                          "count": 7}, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    assert [r["count"] for r in api.get(reverse("behaviour-record-list")).json()["results"]] == [7]
    assert api_for(org.users["staff_b"]).get(reverse("behaviour-record-list")).json()["results"] == []
    future = api.post(reverse("behaviour-record-list"), {"behaviour": behaviour.pk, "count": 1,
                      "date": f"{today + dt.timedelta(days=2):%Y-%m-%d}"}, format="json")  # fmt: skip
    assert future.status_code == 400 and "date" in future.json()
    assert api_for(org.users["hr"]).post(reverse("behaviour-record-list"), {}, format="json").status_code == 403


# --- alerts -----------------------------------------------------------------------------------


def test_alerts_page_lists_the_viewers_alerts_and_marks_them_read(org, targets, client_for):
    day = store_today(org.s1)
    mine = TargetAlert.objects.create(target=targets["a"], kind=TargetAlertKind.HALF, day=day)
    team = TargetAlert.objects.create(target=targets["x"], kind=TargetAlertKind.BEHIND, day=day)
    other = TargetAlert.objects.create(target=targets["b"], kind=TargetAlertKind.ACHIEVED, day=day)
    client = client_for(org.users["staff_a"])
    html = client.get(reverse("targets:alerts")).content.decode()
    shown = {int(pk) for pk in re.findall(r'data-alert="(\d+)"', html)}
    assert shown == {mine.pk, team.pk}
    assert "Half reached" in html and "Behind pace" in html
    assert client.post(reverse("targets:alert_read"), {"alert": [mine.pk, other.pk]}).status_code == 302
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.read_at is not None and other.read_at is None  # not A's to mark
    unread = client.get(reverse("targets:alerts"), {"state": "unread"}).content.decode()
    assert {int(pk) for pk in re.findall(r'data-alert="(\d+)"', unread)} == {team.pk}
    client.post(reverse("targets:alert_read"), {"all": "1"})
    assert not TargetAlert.objects.filter(pk__in=[mine.pk, team.pk], read_at__isnull=True).exists()

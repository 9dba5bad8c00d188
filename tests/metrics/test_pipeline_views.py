"""Pipeline pages and API: scoping (404 for what one may not see), the plan and answer forms,
filters, and every page in both languages with and without data."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from metrics.models import LeadStage, StuckDeal
from metrics.pipeline.services import stuck_deals_detect
from tests.factories import CallFactory, lead_path

DAY = dt.timedelta(days=1)
PLAN = "客户卡在价格: 周五前申请阶梯折扣并约老板面谈, needs the manager's approval."
ANSWER = "同意折扣, 我周五陪同面谈。"
PAGES = ("pipeline:stuck_list", "pipeline:health", "pipeline:best_hours")


@pytest.fixture
def deal(org):
    now = timezone.now()
    lead_path(
        steps=[(LeadStage.LEAD, now - 20 * DAY), (LeadStage.INTENT, now - 12 * DAY),
               (LeadStage.NEGOTIATION, now - 9 * DAY)],
        store=org.s1, account=org.account_a, customer="杭州某公司",
    )  # fmt: skip
    stuck_deals_detect(store=org.s1, now=now)
    return StuckDeal.objects.get()


def page(client_for, user, url, language="en", **params):
    client = client_for(user)
    client.cookies["django_language"] = language
    return client.get(url, params)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("name", PAGES)
def test_pages_render_empty(org, client_for, name, language):
    response = page(client_for, org.users["manager_s1"], reverse(name), language)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'lang="{language}"' in html
    if name == "pipeline:stuck_list":
        assert 'data-testid="empty-state"' in html
    if name == "pipeline:best_hours":
        assert 'data-testid="calls-grid"' not in html and 'data-testid="advances-grid"' not in html


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_pages_render_with_data(org, client_for, deal, language):
    CallFactory(store=org.s1, account=org.account_a, started_at=timezone.now() - DAY)
    manager = org.users["manager_s1"]
    listing = page(client_for, manager, reverse("pipeline:stuck_list"), language).content.decode()
    assert f'data-deal="{deal.pk}"' in listing and "杭州某公司" in listing
    detail = page(client_for, manager, reverse("pipeline:stuck_detail", args=[deal.pk]), language).content.decode()
    assert detail.count('data-stage="') == 3 and 'data-sla="no_plan"' in detail
    health = page(client_for, manager, reverse("pipeline:health"), language, store=org.s1.pk).content.decode()
    assert f'data-member="{org.a.pk}"' in health and 'data-status="red"' in health  # a stuck deal without a plan
    hours = page(client_for, manager, reverse("pipeline:best_hours"), language, store=org.s1.pk).content.decode()
    assert 'data-testid="calls-grid"' in hours and 'data-testid="advances-grid"' in hours


def test_english_and_chinese_differ(org, client_for, deal):
    en = page(client_for, org.users["manager_s1"], reverse("pipeline:stuck_list"), "en").content.decode()
    assert "Stuck deals" in en
    zh = page(client_for, org.users["manager_s1"], reverse("pipeline:stuck_list"), "zh-hans").content.decode()
    assert 'lang="zh-hans"' in zh
    assert "卡点商机" in zh and "Stuck deals" not in zh  # the page itself is translated, not only its lang


@pytest.mark.parametrize(
    ("name", "status"),
    [("staff_a", 200), ("staff_b", 404), ("lead_x", 200), ("manager_s1", 200), ("manager_s2", 404), ("hr", 200)],
)
def test_deal_page_is_404_outside_scope(org, client_for, deal, name, status):
    assert page(client_for, org.users[name], reverse("pipeline:stuck_detail", args=[deal.pk])).status_code == status


def test_staff_list_shows_only_their_own(org, client_for, deal):
    mine = page(client_for, org.users["staff_a"], reverse("pipeline:stuck_list")).content.decode()
    other = page(client_for, org.users["staff_b"], reverse("pipeline:stuck_list")).content.decode()
    assert f'data-deal="{deal.pk}"' in mine and f'data-deal="{deal.pk}"' not in other


def test_owner_submits_the_plan_and_the_team_lead_answers(org, client_for, deal):
    owner = client_for(org.users["staff_a"])
    form = owner.get(reverse("pipeline:stuck_detail", args=[deal.pk])).content.decode()
    assert reverse("pipeline:stuck_plan", args=[deal.pk]) in form
    too_short = owner.post(reverse("pipeline:stuck_plan", args=[deal.pk]), {"plan": "再跟进"})
    assert too_short.status_code == 400
    assert owner.post(reverse("pipeline:stuck_plan", args=[deal.pk]), {"plan": PLAN}).status_code == 302
    deal.refresh_from_db()
    assert deal.plan == PLAN and deal.plan_by == org.users["staff_a"]

    other = client_for(org.users["staff_b"])
    assert other.post(reverse("pipeline:stuck_respond", args=[deal.pk]), {"response": ANSWER}).status_code == 404
    hr = client_for(org.users["hr"])
    assert hr.post(reverse("pipeline:stuck_respond", args=[deal.pk]), {"response": ANSWER}).status_code == 403
    lead = client_for(org.users["lead_x"])
    assert (
        reverse("pipeline:stuck_respond", args=[deal.pk])
        in lead.get(reverse("pipeline:stuck_detail", args=[deal.pk])).content.decode()
    )
    assert lead.post(reverse("pipeline:stuck_respond", args=[deal.pk]), {"response": ANSWER}).status_code == 302
    deal.refresh_from_db()
    assert deal.response == ANSWER and deal.responded_by == org.users["lead_x"]
    shown = lead.get(reverse("pipeline:stuck_detail", args=[deal.pk])).content.decode()
    assert 'data-sla="on_time"' in shown


def test_a_manager_cannot_submit_the_owners_plan(org, client_for, deal):
    manager = client_for(org.users["manager_s1"])
    assert manager.post(reverse("pipeline:stuck_plan", args=[deal.pk]), {"plan": PLAN}).status_code == 403
    assert StuckDeal.objects.get().plan_submitted_at is None


def test_list_filters(org, client_for, deal):
    manager = org.users["manager_s1"]

    def shown(**params):
        return (
            f'data-deal="{deal.pk}"'
            in page(client_for, manager, reverse("pipeline:stuck_list"), **params).content.decode()
        )

    assert shown(sla="no_plan") and not shown(sla="overdue")
    assert shown(team=org.x.pk) and not shown(team=org.y.pk)
    assert shown(member=org.a.pk) and not shown(member=org.b.pk)
    assert not shown(state="closed") and shown(state="all")
    assert shown(sort="-amount", page="9")  # a page past the end gives the last one


def test_health_staff_see_only_themselves(org, client_for, deal):
    html = page(client_for, org.users["staff_a"], reverse("pipeline:health"), store=org.s1.pk).content.decode()
    assert f'data-member="{org.a.pk}"' in html and f'data-member="{org.b.pk}"' not in html
    lead = page(client_for, org.users["lead_x"], reverse("pipeline:health"), store=org.s1.pk).content.decode()
    assert f'data-member="{org.b.pk}"' in lead and f'data-member="{org.c.pk}"' not in lead


def test_bad_period_is_reported_not_an_error(org, client_for):
    response = page(client_for, org.users["manager_s1"], reverse("pipeline:health"), start="2026-13-40")
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()


def test_user_without_store_gets_empty_reports(org, client_for):
    for name in ("pipeline:health", "pipeline:best_hours"):
        html = page(client_for, org.users["nobody"], reverse(name)).content.decode()
        assert 'data-testid="empty-state"' in html


# --- API ----------------------------------------------------------------------------------------


def test_api_list_is_scoped(org, api_for, deal):
    url = reverse("stuck-deal-list")
    assert [d["id"] for d in api_for(org.users["staff_a"]).get(url).json()["results"]] == [deal.pk]
    assert api_for(org.users["staff_b"]).get(url).json()["results"] == []
    assert api_for(org.users["manager_s2"]).get(url).json()["results"] == []
    row = api_for(org.users["manager_s1"]).get(url, {"sla": "no_plan"}).json()["results"][0]
    assert row["lead_id"] == deal.lead.lead_id and row["sla_status"] == "no_plan" and row["amount"] == "10000.00"
    assert api_for(org.users["manager_s1"]).get(url, {"sla": "soon"}).status_code == 400
    assert api_for(org.users["manager_s2"]).get(reverse("stuck-deal-detail", args=[deal.pk])).status_code == 404


def test_api_plan_and_response(org, api_for, deal):
    plan_url, answer_url = reverse("stuck-deal-plan", args=[deal.pk]), reverse("stuck-deal-response", args=[deal.pk])
    assert api_for(org.users["staff_b"]).post(plan_url, {"plan": PLAN}).status_code == 404
    assert api_for(org.users["manager_s1"]).post(plan_url, {"plan": PLAN}).status_code == 403
    assert api_for(org.users["staff_a"]).post(plan_url, {"plan": "短"}).status_code == 400
    submitted = api_for(org.users["staff_a"]).post(plan_url, {"plan": PLAN})
    assert submitted.status_code == 200 and submitted.json()["sla_status"] == "waiting"
    assert api_for(org.users["staff_a"]).post(plan_url, {"plan": PLAN}).status_code == 400
    assert api_for(org.users["manager_s2"]).post(answer_url, {"response": ANSWER}).status_code == 404
    answered = api_for(org.users["manager_s1"]).post(answer_url, {"response": ANSWER})
    assert answered.status_code == 200
    body = answered.json()
    assert body["sla_status"] == "on_time" and 0 <= body["response_seconds"] < 60


def test_api_schema_builds(org, api_for):
    response = api_for(org.users["admin"]).get(reverse("schema"))
    assert response.status_code == 200 and b"/api/pipeline/stuck-deals/{id}/plan/" in response.content


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_plan_and_answer_whose_authors_have_no_login_show_a_dash(org, client_for, deal, language):
    """The demo's owners mostly have no login (and a user may be deleted): the deal page names
    nobody instead of failing (it answered 500)."""
    StuckDeal.objects.filter(pk=deal.pk).update(plan=PLAN, plan_submitted_at=timezone.now(), plan_by=None,
                                                response=ANSWER, responded_at=timezone.now(), responded_by=None)  # fmt: skip
    response = page(client_for, org.users["manager_s1"], reverse("pipeline:stuck_detail", args=[deal.pk]), language)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("—") >= 2 and ANSWER in html

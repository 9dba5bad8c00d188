"""No data, no grade (issue 18, point 1): a KPI item without data for the member in the month is
insufficient, never left out silently; the total and grade wait for HR's decision (a value with a
reason, or the item excluded with a reason, both audited); finalising is refused until then.

August 2026, team X with the small template (results 80%: GMV against 1,000 and the paid orders
rank; attitude 20%: one rating). A sells 3 × 300 in August (and on 31 July and 1 September,
outside the month); B chats in August but sells nothing (zero sales are data); the lead's account
only chatted in July: no activity in August."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from reviews.models import (
    AppraisalTemplate,
    AuditEntry,
    CycleState,
    DecisionKind,
    Item,
    ItemDecision,
    ItemScore,
    ItemStatus,
)
from reviews.selectors.appraisals import cycle_data_changes
from reviews.services.cycles import (
    cycle_advance,
    cycle_create,
    cycle_scores_refresh,
    item_decision_set,
    item_decision_withdraw,
)
from reviews.services.templates import appraisal_templates_ensure
from teams.selectors.scoping import viewer_get
from tests.reviews.helpers import at, august_without_data_for_the_lead, chats_and_orders, small_template

pytestmark = pytest.mark.django_db
AUGUST = dt.date(2026, 8, 1)


@pytest.fixture
def month(org, tmp_path):
    return august_without_data_for_the_lead(org, tmp_path)


def open_cycle(org, template=None):
    hr = org.users["hr"]
    return cycle_create(viewer=viewer_get(user=hr), user=hr, store=org.s1, team=org.x, month=AUGUST,
                        template=template or small_template())  # fmt: skip


def to(org, cycle, state, who="hr", reason=""):
    return cycle_advance(viewer=viewer_get(user=org.users[who]), user=org.users[who], cycle=cycle, to=state,
                         reason=reason)  # fmt: skip


def scores(cycle, member) -> dict[str, ItemScore]:
    return {s.item.name_en: s for s in ItemScore.objects.filter(appraisal__cycle=cycle, appraisal__member=member)
            .select_related("item")}  # fmt: skip


def item(cycle, name) -> Item:
    return Item.objects.get(dimension__template=cycle.template, name_en=name)


def decide(org, cycle, member, name, kind, value=None, reason="No account this month", who="hr"):
    return item_decision_set(viewer=viewer_get(user=org.users[who]), user=org.users[who],
                             appraisal=cycle.appraisals.get(member=member), item=item(cycle, name), kind=kind,
                             value=value, reason=reason)  # fmt: skip


def manager_rates(org, cycle, member, score):
    from reviews.services.cycles import rating_set

    viewer = viewer_get(user=org.users["manager_s1"])
    rating_set(viewer=viewer, user=org.users["manager_s1"], appraisal=cycle.appraisals.get(member=member),
               item=item(cycle, "Responsibility"), role="manager", score=score,
               reason="calibrated" if cycle.state == CycleState.CALIBRATION else "")  # fmt: skip


def test_items_without_data_leave_the_total_and_grade_empty_and_zero_sales_are_data(month):
    org = month
    cycle = open_cycle(org)
    cycle = to(org, cycle, CycleState.SELF_REVIEW, "lead_x")
    cycle = to(org, cycle, CycleState.MANAGER_REVIEW, "lead_x")
    for member in (org.a, org.b, org.lead_x):
        manager_rates(org, cycle, member, 5)  # attitude 100 for everyone
    a, b, lead = (scores(cycle, m) for m in (org.a, org.b, org.lead_x))
    # A: August only (900, not the orders of 31 July and 1 September): 90 points; first in paid orders.
    assert (a["GMV"].value, a["GMV"].score, a["Paid orders rank"].score) == (Decimal(900), 90, 100)
    # B chatted and sold nothing: zero is data, scored 0 (last in paid orders), not insufficient.
    assert (b["GMV"].value, b["GMV"].score, b["GMV"].status) == (Decimal(0), 0, ItemStatus.SCORED)
    assert (b["Paid orders rank"].score, b["Paid orders rank"].status) == (0, ItemStatus.SCORED)
    appraisals = {x.member_id: x for x in cycle.appraisals.all()}
    assert appraisals[org.b.pk].total == Decimal(20) and appraisals[org.b.pk].grade == "D"  # 0 × 0.8 + 100 × 0.2
    # The lead's account chatted in July only: both KPI items are insufficient, and the total and
    # grade stay empty instead of coming from the rating alone (100, an S).
    assert {s.status for s in (lead["GMV"], lead["Paid orders rank"])} == {ItemStatus.INSUFFICIENT}
    assert lead["GMV"].score is None and lead["Responsibility"].score == 100
    assert appraisals[org.lead_x.pk].total is None and appraisals[org.lead_x.pk].grade == ""
    assert appraisals[org.a.pk].total == Decimal(96)  # (90 + 100) / 2 × 0.8 + 100 × 0.2


def test_a_ratio_with_nothing_to_measure_is_insufficient_too(month):
    """Seed 003's template: B has no orders, so no AOV and no refund rate; those items are not
    silently left out either (HR may exclude them)."""
    appraisal_templates_ensure()
    cycle = open_cycle(month, AppraisalTemplate.objects.get(key="sales-ability-attitude"))
    b = scores(cycle, month.b)
    assert b["AOV rank in the team"].status == b["Refunded order rate"].status == ItemStatus.INSUFFICIENT
    assert b["GMV against target"].status == ItemStatus.SCORED
    assert cycle.appraisals.get(member=month.b).total is None


def test_a_value_entered_by_hr_is_scored_by_the_rule_survives_a_refresh_and_is_audited(month):
    org = month
    cycle = open_cycle(org)
    cycle = to(org, cycle, CycleState.SELF_REVIEW, "lead_x")
    cycle = to(org, cycle, CycleState.MANAGER_REVIEW, "lead_x")
    manager_rates(org, cycle, org.lead_x, 3)  # attitude 50
    decide(org, cycle, org.lead_x, "GMV", DecisionKind.VALUE, Decimal(500), reason="Sold on A's account: 500")
    lead = scores(cycle, org.lead_x)
    assert (lead["GMV"].status, lead["GMV"].value, lead["GMV"].score) == (ItemStatus.HR_VALUE, Decimal(500), 50)
    assert cycle.appraisals.get(member=org.lead_x).total is None  # the paid orders rank still waits
    # A value entered for a rank item is ranked with the team as if it came from the data: A 3, the lead 1, B 0.
    decide(org, cycle, org.lead_x, "Paid orders rank", DecisionKind.VALUE, Decimal(1), reason="One order on A's")
    cycle_scores_refresh(cycle=cycle)  # every refresh rewrites the item scores: the decisions are kept apart
    lead, b = scores(cycle, org.lead_x), scores(cycle, org.b)
    assert lead["Paid orders rank"].score == 50 and b["Paid orders rank"].score == 0
    lead_appraisal = cycle.appraisals.get(member=org.lead_x)
    assert lead_appraisal.total == Decimal(50) and lead_appraisal.grade == "D"  # 50 × 0.8 + 50 × 0.2
    decide(org, cycle, org.lead_x, "GMV", DecisionKind.VALUE, Decimal(1000), reason="Corrected: 1,000")
    assert scores(cycle, org.lead_x)["GMV"].score == 100
    entries = list(AuditEntry.objects.filter(cycle=cycle, field__endswith="(decision)").order_by("pk"))
    assert [(e.field, e.old, e.new, e.reason, e.user) for e in entries] == [
        ("销售额 (decision)", "", "500", "Sold on A's account: 500", org.users["hr"]),
        ("付款订单排名 (decision)", "", "1", "One order on A's", org.users["hr"]),
        ("销售额 (decision)", "500", "1000", "Corrected: 1,000", org.users["hr"]),
    ]
    assert all(e.appraisal.member == org.lead_x for e in entries)


def test_excluding_lets_the_rest_carry_the_weight_a_whole_dimension_too_and_withdrawing_is_audited(month):
    org = month
    cycle = open_cycle(org)
    cycle = to(org, cycle, CycleState.SELF_REVIEW, "lead_x")
    cycle = to(org, cycle, CycleState.MANAGER_REVIEW, "lead_x")
    manager_rates(org, cycle, org.lead_x, 4)  # attitude 75
    decide(org, cycle, org.lead_x, "GMV", DecisionKind.VALUE, Decimal(800), reason="Sold 800 on the shop account")
    decide(org, cycle, org.lead_x, "Paid orders rank", DecisionKind.EXCLUDE, reason="No orders of their own")
    lead = scores(cycle, org.lead_x)
    assert lead["Paid orders rank"].status == ItemStatus.EXCLUDED and lead["Paid orders rank"].score is None
    # GMV carries the whole results dimension: 80 × 0.8 + 75 × 0.2.
    assert cycle.appraisals.get(member=org.lead_x).total == Decimal(79)
    decide(org, cycle, org.lead_x, "GMV", DecisionKind.EXCLUDE, reason="In training all month")
    appraisal = cycle.appraisals.get(member=org.lead_x)
    assert appraisal.total == Decimal(75) and appraisal.grade == "B"  # attitude carries the total
    viewer = viewer_get(user=org.users["hr"])
    with pytest.raises(ValidationError):  # a withdrawal needs a reason too
        item_decision_withdraw(viewer=viewer, user=org.users["hr"], appraisal=appraisal, item=item(cycle, "GMV"),
                               reason=" ")  # fmt: skip
    item_decision_withdraw(viewer=viewer, user=org.users["hr"], appraisal=appraisal, item=item(cycle, "GMV"),
                           reason="Decided too early")  # fmt: skip
    appraisal.refresh_from_db()
    assert scores(cycle, org.lead_x)["GMV"].status == ItemStatus.INSUFFICIENT and appraisal.total is None
    last = AuditEntry.objects.filter(cycle=cycle, field="销售额 (decision)").order_by("pk").last()
    assert (last.old, last.new, last.reason, last.user) == ("exclude", "", "Decided too early", org.users["hr"])


def test_only_hr_and_admins_decide_in_manager_review_and_calibration_with_a_reason_on_items_without_data(month):
    org = month
    cycle = open_cycle(org)
    cycle = to(org, cycle, CycleState.SELF_REVIEW, "lead_x")
    with pytest.raises(PermissionDenied):  # self review: the month's data may not be complete
        decide(org, cycle, org.lead_x, "GMV", DecisionKind.EXCLUDE)
    cycle = to(org, cycle, CycleState.MANAGER_REVIEW, "lead_x")
    for who in ("lead_x", "manager_s1", "staff_a"):  # the team's lead and the store's manager may not decide
        with pytest.raises(PermissionDenied):
            decide(org, cycle, org.lead_x, "GMV", DecisionKind.EXCLUDE, who=who)
    with pytest.raises(ValidationError):
        decide(org, cycle, org.lead_x, "GMV", DecisionKind.EXCLUDE, reason="  ")
    with pytest.raises(ValidationError):
        decide(org, cycle, org.lead_x, "GMV", DecisionKind.VALUE, None)
    with pytest.raises(ValidationError):  # B's zero is data: nothing to decide
        decide(org, cycle, org.b, "GMV", DecisionKind.VALUE, Decimal(100))
    with pytest.raises(ValidationError):  # a rating item is the managers'
        decide(org, cycle, org.lead_x, "Responsibility", DecisionKind.EXCLUDE)
    assert not ItemDecision.objects.exists() and not AuditEntry.objects.filter(field__endswith="(decision)").exists()
    admin = org.users["admin"]
    item_decision_set(viewer=viewer_get(user=admin), user=admin, appraisal=cycle.appraisals.get(member=org.lead_x),
                      item=item(cycle, "GMV"), kind=DecisionKind.EXCLUDE, reason="Admin, as HR")  # fmt: skip
    cycle = to(org, cycle, CycleState.CALIBRATION, "lead_x")
    decide(org, cycle, org.lead_x, "Paid orders rank", DecisionKind.EXCLUDE)  # calibration: allowed
    assert ItemDecision.objects.count() == 2


def test_finalising_is_refused_naming_the_members_then_allowed_and_the_decisions_are_frozen(month):
    org = month
    cycle = open_cycle(org)
    for state in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW, CycleState.CALIBRATION):
        cycle = to(org, cycle, state, "lead_x")
    with pytest.raises(ValidationError) as refused:
        to(org, cycle, CycleState.FINALISED)
    assert "Lead 赵" in refused.value.messages[0] and "Alice" not in refused.value.messages[0]
    cycle.refresh_from_db()
    assert cycle.state == CycleState.CALIBRATION and cycle.finalised_at is None
    assert not cycle.appraisals.filter(frozen_at__isnull=False).exists()
    decide(org, cycle, org.lead_x, "GMV", DecisionKind.VALUE, Decimal(0), reason="Nothing credited this month")
    with pytest.raises(ValidationError):  # one item still waits
        to(org, cycle, CycleState.FINALISED)
    decide(org, cycle, org.lead_x, "Paid orders rank", DecisionKind.EXCLUDE, reason="No orders to rank")
    cycle = to(org, cycle, CycleState.FINALISED)
    assert cycle.state == CycleState.FINALISED
    lead = cycle.appraisals.get(member=org.lead_x)
    gmv, rank = (str(item(cycle, n).pk) for n in ("GMV", "Paid orders rank"))
    assert lead.frozen[gmv]["status"] == ItemStatus.HR_VALUE and lead.frozen[gmv]["decision"]["kind"] == "value"
    assert lead.frozen[rank]["decision"]["reason"] == "No orders to rank" and lead.frozen["total"] == "0.00"
    assert cycle_data_changes(cycle=cycle) == []  # HR's value is not mistaken for a change of the data
    with pytest.raises(PermissionDenied):  # locked
        decide(org, cycle, org.lead_x, "GMV", DecisionKind.VALUE, Decimal(5), reason="late")


def test_data_that_arrives_later_wins_over_the_decision(month, tmp_path):
    org = month
    cycle = open_cycle(org)
    cycle = to(org, cycle, CycleState.SELF_REVIEW, "lead_x")
    cycle = to(org, cycle, CycleState.MANAGER_REVIEW, "lead_x")
    decide(org, cycle, org.lead_x, "GMV", DecisionKind.EXCLUDE)
    chats_and_orders(org, tmp_path, [("unassigned", at(8, 25), "200.00")], tag="late")  # a late export
    cycle_scores_refresh(cycle=cycle)
    gmv = scores(cycle, org.lead_x)["GMV"]
    assert (gmv.status, gmv.value, gmv.score) == (ItemStatus.SCORED, Decimal(200), 20)
    assert ItemDecision.objects.filter(appraisal__member=org.lead_x).exists()  # kept, shown as no longer used


# --- the pages ----------------------------------------------------------------------------------------


def page(client, name, pk, language="en", **params) -> str:
    from django.urls import reverse

    response = client.get(reverse(f"reviews:{name}", args=[pk]), params, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, (name, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize(("language", "words"), [("en", "Insufficient data"), ("zh-hans", "数据不足")])
def test_every_page_of_the_appraisal_says_insufficient_data(month, client_for, language, words):
    org = month
    cycle = open_cycle(org)
    for state in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW):
        cycle = to(org, cycle, state, "lead_x")
    lead = cycle.appraisals.get(member=org.lead_x)
    hr = client_for(org.users["hr"])
    html = page(hr, "cycle", cycle.pk, language)
    assert 'data-testid="insufficient-data"' in html and words in html
    panel = html.split('data-testid="insufficient-data"')[1].split("</div>")[0]
    assert "Lead 赵" in panel and "Alice" not in panel and "Bob" not in panel
    assert ("GMV" in panel and "Paid orders rank" in panel) if language == "en" else ("销售额" in panel)
    assert html.count('data-testid="insufficient-badge"') == 1  # the lead's total
    ordered = [r.appraisal.member_id for r in hr.get(f"/appraisals/cycles/{cycle.pk}/", {"sort": "total"})
               .context["members"]]  # fmt: skip
    assert ordered[-1] == org.lead_x.pk  # not ranked among the team
    appraisal = page(hr, "appraisal", lead.pk, language)
    assert 'data-testid="decisions"' in appraisal and appraisal.count('class="decision"') == 2
    assert 'data-status="insufficient"' in appraisal and words in appraisal
    review = page(hr, "review", lead.pk, language)
    assert words in review and f"#decision-{item(cycle, 'GMV').pk}" in review
    printed = page(hr, "print", lead.pk, language)
    assert 'data-testid="print-insufficient"' in printed and words in printed
    # The lead, as a member: the self review and "My appraisals" say it too.
    member = client_for(org.users["lead_x"])
    assert words in page(member, "self", lead.pk, language)
    from django.urls import reverse

    mine = member.get(reverse("reviews:mine"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'data-testid="mine-insufficient"' in mine and words in mine
    # A, with data, sees none of it.
    assert words not in page(client_for(org.users["staff_a"]), "self", cycle.appraisals.get(member=org.a).pk,
                             language)  # fmt: skip


def test_hr_decides_on_the_page_managers_and_staff_may_not(month, client_for):
    from django.urls import reverse

    org = month
    cycle = open_cycle(org)
    for state in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW):
        cycle = to(org, cycle, state, "lead_x")
    lead = cycle.appraisals.get(member=org.lead_x)
    gmv, rank = item(cycle, "GMV"), item(cycle, "Paid orders rank")
    url = reverse("reviews:decision", args=[lead.pk])

    def post(client, target, action, value="", reason="No account this month"):
        return client.post(url, {"item": target.pk, f"d{target.pk}-action": action, f"d{target.pk}-value": value,
                                 f"d{target.pk}-reason": reason}, HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip

    # The team's lead and the store's manager see the appraisal but may never decide; staff neither.
    assert post(client_for(org.users["lead_x"]), gmv, "exclude").status_code == 403
    assert post(client_for(org.users["manager_s1"]), gmv, "exclude").status_code == 403
    assert post(client_for(org.users["staff_a"]), gmv, "exclude").status_code == 404  # not her appraisal
    assert post(client_for(org.users["manager_s2"]), gmv, "exclude").status_code == 404  # another store
    manager_page = page(client_for(org.users["manager_s1"]), "appraisal", lead.pk)
    assert 'data-testid="decisions"' in manager_page and 'class="decision"' not in manager_page  # read only
    hr = client_for(org.users["hr"])
    missing = post(hr, gmv, "value", value="", reason="")
    assert missing.status_code == 400 and "value" in missing.context["decision_forms"][0][1].errors
    assert not ItemDecision.objects.exists()
    # A rate is typed as a percentage; GMV in yuan.
    done = post(hr, gmv, "value", value="450", reason="Sold 450 on the shop account")
    assert done.status_code == 302 and done["Location"].endswith("#decisions")
    assert scores(cycle, org.lead_x)["GMV"].score == 45
    assert post(hr, rank, "exclude", reason="No orders to rank").status_code == 302
    lead.refresh_from_db()
    # Nothing waits for HR now; the attitude rating not given yet is left out, as before (45 from results).
    assert lead.total == Decimal(45)
    html = page(hr, "appraisal", lead.pk)
    assert "Value entered by HR" in html and "Sold 450 on the shop account" in html and "Excluded by HR" in html
    audit = page(hr, "cycle", cycle.pk)
    # The item in the reader's language (the English page names the GMV item, not 销售额).
    assert "HR&#x27;s decision: GMV" in audit and "Excluded for this member" in audit
    assert post(hr, rank, "withdraw", reason="Asked the lead again").status_code == 302
    assert scores(cycle, org.lead_x)["Paid orders rank"].status == ItemStatus.INSUFFICIENT


def test_the_cycle_page_shows_the_finalise_refusal(month, client_for):
    from django.urls import reverse

    org = month
    cycle = open_cycle(org)
    for state in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW, CycleState.CALIBRATION):
        cycle = to(org, cycle, state, "lead_x")
    hr = client_for(org.users["hr"])
    response = hr.post(reverse("reviews:cycle_advance", args=[cycle.pk]), {"to": CycleState.FINALISED},
                       HTTP_ACCEPT_LANGUAGE="en", follow=True)  # fmt: skip
    html = response.content.decode()
    assert "The cycle cannot be finalised: 1 member has KPI items without data for the month (Lead 赵)." in html
    cycle.refresh_from_db()
    assert cycle.state == CycleState.CALIBRATION


def test_hrs_workbook_shows_insufficient_data_and_the_decisions(month):
    import io

    from openpyxl import load_workbook

    from reviews.services.export import appraisals_export

    org = month
    cycle = open_cycle(org)
    for state in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW):
        cycle = to(org, cycle, state, "lead_x")

    def rows(lang):
        book = load_workbook(io.BytesIO(appraisals_export(month=AUGUST, lang=lang)))
        sheet = [list(r) for r in book["售前X"].iter_rows(values_only=True)]
        summary = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        return {r[1]: dict(zip(sheet[0], r, strict=True)) for r in sheet[1:]}, dict(zip(*summary, strict=True))

    members, summary = rows("en")
    lead = members["Lead 赵"]
    assert lead["GMV"] == "Insufficient data" and lead["Paid orders"] == "Insufficient data"
    assert lead["Total"] is None and lead["Grade"] is None and lead["Results · Score"] is None
    assert lead["KPI items without data"] == (
        "GMV: insufficient data, awaiting HR's decision; Paid orders rank: insufficient data, awaiting HR's decision"
    )
    bob = members["Bob 李"]
    assert bob["GMV"] == 0 and bob["KPI items without data"] is None  # zero sales are data
    assert summary["Awaiting HR's decision on missing data"] == 1
    decide(org, cycle, org.lead_x, "GMV", DecisionKind.VALUE, Decimal(300), reason="Sold 300 on A's account")
    decide(org, cycle, org.lead_x, "Paid orders rank", DecisionKind.EXCLUDE, reason="No orders of their own")
    members, summary = rows("en")
    lead = members["Lead 赵"]
    assert lead["GMV"] == 300 and lead["Paid orders"] == "Excluded by HR" and lead["Results · Score"] == 30
    assert lead["KPI items without data"] == ("GMV: value entered by HR (Sold 300 on A's account); "
                                              "Paid orders rank: excluded by HR (No orders of their own)")  # fmt: skip
    assert summary["Awaiting HR's decision on missing data"] == 0
    zh, _summary = rows("zh-hans")
    assert zh["Lead 赵"]["缺少数据的指标项"].startswith("销售额：按人事填写的数值计分")

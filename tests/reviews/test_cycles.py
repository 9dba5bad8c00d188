"""The appraisal workflow: who may do what in every state, scores and weights, the audit trail,
the lock at finalisation and the data changes seen after it."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from metrics.importing.services import chats_import, orders_import
from metrics.kpis.services import kpis_after_import
from metrics.messages import message_render
from metrics.models import Target
from reviews import scoring
from reviews.models import AuditEntry, CycleState, Item, ItemKind, ItemScore
from reviews.selectors.appraisals import cycle_data_changes
from reviews.services.cycles import comment_set, cycle_advance, cycle_create, rating_set
from reviews.services.templates import appraisal_templates_ensure
from teams.selectors.scoping import viewer_get
from tests.metrics.helpers import CHAT_HEADER, ORDER_HEADER, write
from tests.reviews.helpers import exclude_without_data

pytestmark = pytest.mark.django_db
AUGUST = dt.date(2026, 8, 1)


def sell(org, tmp_path, sales: list[tuple[str, int, str]], tag: str = "") -> None:
    """(account key, day of August, amount): a chat and its paid order, through the importers."""
    chats, orders = [], []
    for n, (key, day, amount) in enumerate(sales):
        account = getattr(org, f"account_{key}")
        at = dt.datetime(2026, 8, day, 10, n)
        buyer = f"{tag}{key}{day}-{n}"
        chats.append(f"S{tag}{n},{org.s1.name},{account.name},{buyer},{at:%Y-%m-%d %H:%M:%S},"
                     f"{at + dt.timedelta(seconds=10 + 20 * n):%Y-%m-%d %H:%M:%S},,2,2")  # fmt: skip
        created = at + dt.timedelta(minutes=20)
        orders.append(f"O{tag}{n},{buyer},{amount},{amount},交易成功,{created:%Y-%m-%d %H:%M:%S},"
                      f"{created + dt.timedelta(minutes=1):%Y-%m-%d %H:%M:%S},连衣裙,1,1,0.00,{org.s1.name}")  # fmt: skip
    for importer, header, lines in ((chats_import, CHAT_HEADER, chats), (orders_import, ORDER_HEADER, orders)):
        batch = importer(store=None, file=write(tmp_path / f"{tag}{header[:2]}.csv", [header, *lines]), user=None)
        assert batch.status == "succeeded", batch.error_message
        kpis_after_import(batch=batch)


def chat_only(org, tmp_path, key: str, day: int) -> None:
    """A chat of the account's member on a day of August, and no order: GMV 0, not empty."""
    account = getattr(org, f"account_{key}")
    at = dt.datetime(2026, 8, day, 9, 0)
    line = (f"Sonly{key}{day},{org.s1.name},{account.name},only_{key}_{day},{at:%Y-%m-%d %H:%M:%S},"
            f"{at + dt.timedelta(seconds=15):%Y-%m-%d %H:%M:%S},,2,2")  # fmt: skip
    batch = chats_import(store=None, file=write(tmp_path / f"only{key}{day}.csv", [CHAT_HEADER, line]), user=None)
    assert batch.status == "succeeded", batch.error_message
    kpis_after_import(batch=batch)


@pytest.fixture
def cycle(org, tmp_path):
    """August for team X (A, B, the lead): A sold 3 × 300, B 1 × 100; targets of 1,000 each."""
    sell(org, tmp_path, [("a", 3, "300.00"), ("a", 10, "300.00"), ("a", 20, "300.00"), ("b", 5, "100.00")])
    for member in (org.a, org.b):
        Target.objects.create(tier="execution", name="August GMV", kpi_key="gmv", store=org.s1, team=org.x,
                              member=member, period_kind="month", start=AUGUST, end=dt.date(2026, 8, 31),
                              value=Decimal(1000), direction="at_least")  # fmt: skip
    appraisal_templates_ensure()
    from reviews.models import AppraisalTemplate

    template = AppraisalTemplate.objects.get(key="sales-ability-attitude")
    hr = viewer_get(user=org.users["hr"])
    return cycle_create(viewer=hr, user=org.users["hr"], store=org.s1, team=org.x, month=AUGUST, template=template)


def viewers(org):
    return {name: (viewer_get(user=org.users[name]), org.users[name])
            for name in ("staff_a", "staff_b", "lead_x", "manager_s1", "hr")}  # fmt: skip


def rate(org, who, cycle, member, key, role, score, reason=""):
    viewer, user = viewers(org)[who]
    appraisal = cycle.appraisals.get(member=member)
    item = Item.objects.get(dimension__template=cycle.template, name_en=key)
    return rating_set(viewer=viewer, user=user, appraisal=appraisal, item=item, role=role, score=score, reason=reason)


def advance(org, who, cycle, to, reason=""):
    viewer, user = viewers(org)[who]
    return cycle_advance(viewer=viewer, user=user, cycle=cycle, to=to, reason=reason)


def test_a_cycle_has_an_appraisal_for_each_member_of_the_month_and_only_hr_managers_leads_open_it(org, cycle):
    assert sorted(a.member.display_name for a in cycle.appraisals.all()) == ["Alice 王", "Bob 李", "Lead 赵"]
    with pytest.raises(PermissionDenied):
        cycle_create(viewer=viewer_get(user=org.users["staff_a"]), user=None, store=org.s1, team=org.y,
                     month=AUGUST, template=cycle.template)  # fmt: skip
    with pytest.raises(ValidationError):  # one cycle per team and month
        cycle_create(viewer=viewer_get(user=org.users["hr"]), user=None, store=org.s1, team=org.x, month=AUGUST,
                     template=cycle.template)  # fmt: skip


def test_kpi_items_are_scored_from_the_rollups_with_each_rule_and_weighted(org, cycle):
    a = cycle.appraisals.get(member=org.a)
    scores = {s.item.name_en: s for s in ItemScore.objects.filter(appraisal=a).select_related("item")}
    gmv = scores["GMV against target"]
    assert gmv.value == Decimal("900.00") and gmv.target == Decimal(1000) and gmv.score == Decimal("90.00")  # linear
    assert scores["AOV rank in the team"].score == Decimal("100.00")  # A 300 against B 100: first of two
    b = {s.item.name_en: s for s in ItemScore.objects.filter(appraisal__member=org.b).select_related("item")}
    assert b["AOV rank in the team"].score == Decimal("0.00")
    # First response: A's sessions were answered in 10, 30 and 50 s (mean 30 s): the 30 s threshold, 70.
    assert scores["Average first response"].score == Decimal("70.00")
    # No ratings yet: the total is the results dimension alone (the others have no score).
    results = [(s.score, s.item.weight) for s in scores.values() if s.item.dimension.name_en == "Sales results"]
    assert a.total == scoring.rounded(scoring.weighted(results)) and a.grade == scoring.grade_for(a.total)


def test_a_zero_in_a_rank_item_is_the_last_place_even_as_the_teams_only_value(org, tmp_path):
    chat_only(org, tmp_path, "b", 4)  # B chatted and sold nothing (0 paid orders); nobody else worked
    appraisal_templates_ensure()
    from reviews.models import AppraisalTemplate

    template = AppraisalTemplate.objects.get(key="sales-ability-attitude")
    Item.objects.filter(dimension__template=template, name_en="AOV rank in the team").update(kpi_key="paid_orders")
    hr = viewer_get(user=org.users["hr"])
    cycle = cycle_create(viewer=hr, user=org.users["hr"], store=org.s1, team=org.x, month=AUGUST, template=template)
    b = ItemScore.objects.get(appraisal__cycle=cycle, appraisal__member=org.b, item__name_en="AOV rank in the team")
    # No rank among zeros: not "1 of 1" (100 points for nothing done); a zero is data, the last place.
    assert (b.value, b.score) == (Decimal(0), Decimal("0.00"))


def test_who_may_rate_in_each_state(org, cycle):
    # Draft: nobody rates yet.
    with pytest.raises(PermissionDenied):
        rate(org, "staff_a", cycle, org.a, "Responsibility", "self", 4)
    advance(org, "lead_x", cycle, CycleState.SELF_REVIEW)
    cycle.refresh_from_db()
    rate(org, "staff_a", cycle, org.a, "Responsibility", "self", 4)
    with pytest.raises(PermissionDenied):  # not one's own
        rate(org, "staff_a", cycle, org.b, "Responsibility", "self", 4)
    with pytest.raises(PermissionDenied):  # the manager waits for manager review
        rate(org, "lead_x", cycle, org.a, "Responsibility", "manager", 5)
    rate(org, "staff_b", cycle, org.a, "Cooperation", "peer", 5)  # a teammate as peer
    with pytest.raises(PermissionDenied):  # staff move nothing
        advance(org, "staff_a", cycle, CycleState.MANAGER_REVIEW)
    advance(org, "lead_x", cycle, CycleState.MANAGER_REVIEW)
    cycle.refresh_from_db()
    with pytest.raises(PermissionDenied):  # self review is over
        rate(org, "staff_a", cycle, org.a, "Responsibility", "self", 5)
    rate(org, "lead_x", cycle, org.a, "Responsibility", "manager", 5)
    with pytest.raises(PermissionDenied):  # the lead is in the team too, but not their own manager
        rate(org, "lead_x", cycle, org.lead_x, "Responsibility", "manager", 5)
    with pytest.raises(PermissionDenied):
        comment_set(viewer=viewers(org)["lead_x"][0], user=org.users["lead_x"],
                    appraisal=cycle.appraisals.get(member=org.lead_x), text="Great me")  # fmt: skip
    comment_set(viewer=viewers(org)["lead_x"][0], user=org.users["lead_x"], appraisal=cycle.appraisals.get(member=org.a),
                text="Good month")  # fmt: skip
    with pytest.raises(PermissionDenied):  # the manager may not finalise
        advance(org, "manager_s1", cycle, CycleState.FINALISED)
    advance(org, "manager_s1", cycle, CycleState.CALIBRATION)
    cycle.refresh_from_db()
    with pytest.raises(ValidationError):  # calibration changes need a reason
        rate(org, "manager_s1", cycle, org.a, "Responsibility", "manager", 4)
    rate(org, "manager_s1", cycle, org.a, "Responsibility", "manager", 4, reason="calibrated against the team")
    rate(org, "hr", cycle, org.b, "Discipline", "manager", 3, reason="HR calibration")
    exclude_without_data(cycle, org.users["hr"], reason="The lead has no account")
    advance(org, "hr", cycle, CycleState.FINALISED)
    cycle.refresh_from_db()
    with pytest.raises(PermissionDenied):  # locked
        rate(org, "manager_s1", cycle, org.a, "Responsibility", "manager", 5, reason="late")
    with pytest.raises(PermissionDenied):
        advance(org, "manager_s1", cycle, CycleState.PUBLISHED)
    advance(org, "hr", cycle, CycleState.PUBLISHED)


def test_the_audit_trail_keeps_changes_after_self_review(org, cycle):
    advance(org, "lead_x", cycle, CycleState.SELF_REVIEW)
    cycle.refresh_from_db()
    rate(org, "staff_a", cycle, org.a, "Initiative", "self", 3)
    advance(org, "lead_x", cycle, CycleState.MANAGER_REVIEW)
    cycle.refresh_from_db()
    rate(org, "lead_x", cycle, org.a, "Initiative", "manager", 2)
    advance(org, "lead_x", cycle, CycleState.CALIBRATION)
    cycle.refresh_from_db()
    rate(org, "manager_s1", cycle, org.a, "Initiative", "manager", 3, reason="evidence of the new campaign")
    entries = list(AuditEntry.objects.filter(cycle=cycle).order_by("pk"))
    changes = [(e.field, e.old, e.new, e.reason) for e in entries if e.field != "state"]
    assert changes == [
        ("主动性 (manager)", "", "2", ""),  # the self rating was given in self review: not audited
        ("主动性 (manager)", "2", "3", "evidence of the new campaign"),
    ]
    assert [e.new for e in entries if e.field == "state"] == ["self_review", "manager_review", "calibration"]
    assert all(e.user is not None for e in entries)
    # What changed reads in the reader's language: the item's name and the role (issue 18, point 8).
    rated = next(e for e in entries if e.field != "state")
    with translation.override("en"):
        assert message_render(message=rated.field_msg) == "Initiative (Manager)"
    with translation.override("zh-hans"):
        assert message_render(message=rated.field_msg) == "主动性 (主管)"


def test_finalised_scores_are_frozen_a_reimport_shows_as_a_change_and_hr_may_reopen(org, cycle, tmp_path):
    for state, who in ((CycleState.SELF_REVIEW, "lead_x"), (CycleState.MANAGER_REVIEW, "lead_x"),
                       (CycleState.CALIBRATION, "lead_x"), (CycleState.FINALISED, "hr")):  # fmt: skip
        if state == CycleState.FINALISED:
            exclude_without_data(cycle, org.users["hr"], reason="The lead has no account")
        advance(org, who, cycle, state)
        cycle.refresh_from_db()
    a = cycle.appraisals.get(member=org.a)
    assert (
        a.frozen_at is not None
        and a.frozen[str(Item.objects.get(name_en="GMV against target", dimension__template=cycle.template).pk)][
            "value"
        ]
    )
    total_before = a.total
    assert cycle_data_changes(cycle=cycle) == []
    sell(org, tmp_path, [("a", 25, "500.00")], tag="late")  # a re-export brings one more August order
    a.refresh_from_db()
    assert a.total == total_before  # frozen: not silently changed
    gmv_score = ItemScore.objects.get(appraisal=a, item__name_en="GMV against target")
    assert gmv_score.value == Decimal("900.00")
    changes = cycle_data_changes(cycle=cycle)
    assert any(c.member == "Alice 王" and c.frozen.startswith("900") and c.now.startswith("1400") for c in changes)
    with pytest.raises(ValidationError):  # reopening needs a reason
        advance(org, "hr", cycle, CycleState.CALIBRATION)
    with pytest.raises(PermissionDenied):
        advance(org, "manager_s1", cycle, CycleState.CALIBRATION, reason="re-import")
    advance(org, "hr", cycle, CycleState.CALIBRATION, reason="late orders re-imported")
    gmv_score = ItemScore.objects.get(
        appraisal__member=org.a, appraisal__cycle=cycle, item__name_en="GMV against target"
    )
    assert gmv_score.value == Decimal("1400.00") and gmv_score.score == Decimal("100.00")


def test_rating_items_only_and_one_to_five(org, cycle):
    advance(org, "lead_x", cycle, CycleState.SELF_REVIEW)
    cycle.refresh_from_db()
    with pytest.raises(ValidationError):
        rate(org, "staff_a", cycle, org.a, "Responsibility", "self", 6)
    viewer, user = viewers(org)["staff_a"]
    kpi_item = Item.objects.filter(dimension__template=cycle.template, kind=ItemKind.KPI).first()
    with pytest.raises(ValidationError):
        rating_set(viewer=viewer, user=user, appraisal=cycle.appraisals.get(member=org.a), item=kpi_item,
                   role="self", score=3)  # fmt: skip

"""The appraisal pages: who sees what, and what each role may change in each state of a cycle.

Team X of the org fixture (store S1) has staff A and B and its lead; manager_s1 manages S1; HR and
admin see everything. Each test opens an August 2026 cycle for team X with the built-in 80/15/5
template and moves it on through the services, then acts through the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from reviews.models import (
    Appraisal,
    AppraisalTemplate,
    AuditEntry,
    Cycle,
    CycleState,
    Item,
    ItemKind,
    RaterRole,
    Rating,
)
from reviews.services.cycles import cycle_advance, cycle_create
from reviews.services.templates import appraisal_templates_ensure
from teams.selectors.scoping import viewer_get
from tests.reviews.helpers import exclude_without_data

AUGUST = dt.date(2026, 8, 1)
STEPS = [CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW, CycleState.CALIBRATION, CycleState.FINALISED,
         CycleState.PUBLISHED]  # fmt: skip


def _hr(org):
    return org.users["hr"]


def open_cycle(org, *, team=None, month=AUGUST) -> Cycle:
    appraisal_templates_ensure()
    hr = _hr(org)
    team = team or org.x
    return cycle_create(viewer=viewer_get(user=hr), user=hr, store=team.store, team=team, month=month,
                        template=AppraisalTemplate.objects.get(key="sales-ability-attitude"),
                        deadlines={"self_review_due": dt.date(2026, 9, 5)})  # fmt: skip


def move(org, cycle: Cycle, to: str) -> Cycle:
    """Advance the cycle step by step (as HR) until it is in `to`. These tests import no KPI data:
    before finalising, HR excludes the KPI items without data, as it must."""
    hr = _hr(org)
    cycle.refresh_from_db()
    while CycleState(cycle.state) != to:
        following = STEPS[STEPS.index(cycle.state) + 1] if cycle.state in STEPS else STEPS[0]
        if following == CycleState.FINALISED:
            exclude_without_data(cycle, hr)
        cycle = cycle_advance(viewer=viewer_get(user=hr), user=hr, cycle=cycle, to=following)
    return cycle


def rating_items(cycle: Cycle) -> list[Item]:
    return list(Item.objects.filter(dimension__template=cycle.template, kind=ItemKind.RATING))


def appraisal_of(cycle: Cycle, member) -> Appraisal:
    return Appraisal.objects.get(cycle=cycle, member=member)


def ratings_post(items: list[Item], score: int, **extra) -> dict:
    data = {f"score_{item.pk}": str(score) for item in items}
    data.update({f"note_{item.pk}": "" for item in items})
    data.setdefault("comment", "")
    data.update(extra)
    return data


@pytest.fixture
def cycle(org) -> Cycle:
    return open_cycle(org)


# --- the overview ------------------------------------------------------------------------------------


def test_hr_overview_lists_the_months_cycles_and_the_teams_without_one(org, client_for, cycle):
    response = client_for(org.users["hr"]).get(reverse("reviews:overview"), {"month": "2026-08"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-cycle="{cycle.pk}"' in html
    assert reverse("reviews:cycle", args=[cycle.pk]) in html
    assert f'data-team="{org.y.pk}"' in html  # no cycle yet: offered to be opened
    assert f'data-team="{org.x.pk}"' not in html
    assert 'data-testid="export"' in html and "month=2026-08" in html
    progress = next(r.progress for r in response.context["page"].object_list if r.cycle)
    assert (progress.members, progress.self_done, progress.manager_done) == (3, 0, 0)

    other_month = client_for(org.users["hr"]).get(reverse("reviews:overview"), {"month": "2026-07"})
    assert f'data-cycle="{cycle.pk}"' not in other_month.content.decode()


def test_the_overview_counts_finished_self_reviews(org, client_for, cycle):
    move(org, cycle, CycleState.SELF_REVIEW)
    a = appraisal_of(cycle, org.a)
    client_for(org.users["staff_a"]).post(reverse("reviews:self", args=[a.pk]), ratings_post(rating_items(cycle), 4))
    response = client_for(org.users["hr"]).get(reverse("reviews:overview"), {"month": "2026-08"})
    progress = next(r.progress for r in response.context["page"].object_list if r.cycle)
    assert (progress.self_done, progress.manager_done) == (1, 0)


def test_staff_are_sent_to_their_own_appraisals(org, client_for, cycle):
    response = client_for(org.users["staff_a"]).get(reverse("reviews:overview"))
    assert response.status_code == 302 and response["Location"] == reverse("reviews:mine")


def test_a_manager_opens_a_cycle_from_the_form_and_a_second_one_is_refused(org, client_for):
    appraisal_templates_ensure()
    client = client_for(org.users["manager_s1"])
    data = {"team": org.y.pk, "month": "2026-08", "template": AppraisalTemplate.objects.first().pk,
            "self_review_due": "2026-09-05", "manager_review_due": "2026-09-10", "calibration_due": "2026-09-15"}  # fmt: skip
    response = client.post(reverse("reviews:cycle_create"), data)
    cycle = Cycle.objects.get(team=org.y, month=AUGUST)
    assert response.status_code == 302 and response["Location"] == reverse("reviews:cycle", args=[cycle.pk])
    assert cycle.store == org.s1  # taken from the team
    assert list(cycle.appraisals.values_list("member", flat=True)) == [org.c.pk]

    again = client.post(reverse("reviews:cycle_create"), data)
    assert again.status_code == 400
    assert "month" in again.context["form"].errors
    assert Cycle.objects.filter(team=org.y).count() == 1


def test_staff_cannot_open_a_cycle(org, client_for):
    appraisal_templates_ensure()
    response = client_for(org.users["staff_a"]).post(reverse("reviews:cycle_create"), {
        "team": org.x.pk, "month": "2026-08", "template": AppraisalTemplate.objects.first().pk})  # fmt: skip
    assert response.status_code == 403
    assert not Cycle.objects.exists()


# --- who sees what -----------------------------------------------------------------------------------


def test_staff_cannot_open_another_members_appraisal_nor_the_cycle(org, client_for, cycle):
    move(org, cycle, CycleState.PUBLISHED)
    client = client_for(org.users["staff_a"])
    bobs = appraisal_of(cycle, org.b)
    for name in ("appraisal", "print", "self", "review"):
        assert client.get(reverse(f"reviews:{name}", args=[bobs.pk])).status_code == 404, name
    # Her own cycle's page is HR's and the managers': refused; another team's does not exist for her.
    assert client.get(reverse("reviews:cycle", args=[cycle.pk])).status_code == 403
    other = open_cycle(org, team=org.z)
    assert client.get(reverse("reviews:cycle", args=[other.pk])).status_code == 404
    assert client.get(reverse("reviews:review", args=[appraisal_of(cycle, org.a).pk])).status_code == 403


def test_a_member_sees_her_appraisal_only_once_published(org, client_for, cycle):
    move(org, cycle, CycleState.FINALISED)
    mine = appraisal_of(cycle, org.a)
    client = client_for(org.users["staff_a"])
    before = client.get(reverse("reviews:appraisal", args=[mine.pk]))
    assert before.status_code == 200
    assert 'data-testid="not-published"' in before.content.decode()
    assert 'data-testid="sheet"' not in before.content.decode()
    assert client.get(reverse("reviews:print", args=[mine.pk])).status_code == 404

    move(org, cycle, CycleState.PUBLISHED)
    after = client.get(reverse("reviews:appraisal", args=[mine.pk]))
    assert 'data-testid="sheet"' in after.content.decode()
    mine_page = client.get(reverse("reviews:mine"))
    assert f'data-appraisal="{mine.pk}"' in mine_page.content.decode()


def test_the_manager_sees_the_cycle_and_any_appraisal_before_publication(org, client_for, cycle):
    client = client_for(org.users["manager_s1"])
    response = client.get(reverse("reviews:cycle", args=[cycle.pk]))
    assert response.status_code == 200
    assert all(f'data-appraisal="{a.pk}"' in response.content.decode() for a in cycle.appraisals.all())
    assert client.get(reverse("reviews:appraisal", args=[appraisal_of(cycle, org.b).pk])).status_code == 200
    # Another store's manager does not see it.
    assert client_for(org.users["manager_s2"]).get(reverse("reviews:cycle", args=[cycle.pk])).status_code == 404


# --- the self review ---------------------------------------------------------------------------------


def test_staff_rate_themselves_during_self_review_and_not_after(org, client_for, cycle):
    move(org, cycle, CycleState.SELF_REVIEW)
    mine = appraisal_of(cycle, org.a)
    items = rating_items(cycle)
    client = client_for(org.users["staff_a"])
    url = reverse("reviews:self", args=[mine.pk])

    response = client.post(url, ratings_post(items, 4, comment="A good month."))
    assert response.status_code == 302
    assert Rating.objects.filter(appraisal=mine, role=RaterRole.SELF, score=4).count() == len(items)
    mine.refresh_from_db()
    assert mine.self_comment == "A good month."

    move(org, cycle, CycleState.MANAGER_REVIEW)
    late = client.post(url, ratings_post(items, 2, comment="A better month."))
    assert late.status_code == 403
    assert 'data-testid="form-errors"' in late.content.decode()
    assert set(Rating.objects.filter(appraisal=mine, role=RaterRole.SELF).values_list("score", flat=True)) == {4}
    mine.refresh_from_db()
    assert mine.self_comment == "A good month."
    shown = client.get(url)
    assert 'data-testid="read-only"' in shown.content.decode()
    assert all(shown.context["form"].fields[f"score_{i.pk}"].disabled for i in items)


def test_a_comment_on_an_item_without_a_rating_is_an_error(org, client_for, cycle):
    move(org, cycle, CycleState.SELF_REVIEW)
    mine = appraisal_of(cycle, org.a)
    item = rating_items(cycle)[0]
    response = client_for(org.users["staff_a"]).post(
        reverse("reviews:self", args=[mine.pk]), {f"note_{item.pk}": "I helped a lot", "comment": ""}
    )
    assert response.status_code == 400
    assert f"score_{item.pk}" in response.context["form"].errors
    assert not Rating.objects.filter(appraisal=mine).exists()


# --- the manager's review ----------------------------------------------------------------------------


def test_the_manager_rates_during_manager_review(org, client_for, cycle):
    bobs = appraisal_of(cycle, org.b)
    items = rating_items(cycle)
    client = client_for(org.users["manager_s1"])
    url = reverse("reviews:review", args=[bobs.pk])

    move(org, cycle, CycleState.SELF_REVIEW)
    early = client.post(url, ratings_post(items, 5))
    assert early.status_code == 403
    assert not Rating.objects.filter(appraisal=bobs, role=RaterRole.MANAGER).exists()

    move(org, cycle, CycleState.MANAGER_REVIEW)
    response = client.post(url, ratings_post(items, 5, comment="Reliable."))
    assert response.status_code == 302
    assert Rating.objects.filter(appraisal=bobs, role=RaterRole.MANAGER, score=5).count() == len(items)
    bobs.refresh_from_db()
    assert bobs.manager_comment == "Reliable."
    # The rating items are scored now; the total waits, as this test's month has no KPI data.
    assert all(s.score is not None for s in bobs.item_scores.filter(item__kind=ItemKind.RATING))
    assert bobs.total is None and bobs.grade == ""
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="evidence"' in page.content.decode()


def test_a_change_in_calibration_needs_a_reason(org, client_for, cycle):
    bobs = appraisal_of(cycle, org.b)
    items = rating_items(cycle)
    client = client_for(org.users["manager_s1"])
    url = reverse("reviews:review", args=[bobs.pk])
    move(org, cycle, CycleState.MANAGER_REVIEW)
    client.post(url, ratings_post(items, 3))
    move(org, cycle, CycleState.CALIBRATION)

    refused = client.post(url, ratings_post(items, 3) | {f"score_{items[0].pk}": "5", "reason": ""})
    assert refused.status_code == 400
    assert "reason" in refused.context["form"].errors
    assert 'data-testid="form-errors"' in refused.content.decode()
    assert Rating.objects.get(appraisal=bobs, item=items[0], role=RaterRole.MANAGER).score == 3

    accepted = client.post(url, ratings_post(items, 3) | {f"score_{items[0].pk}": "5", "reason": "Led the launch"})
    assert accepted.status_code == 302
    assert Rating.objects.get(appraisal=bobs, item=items[0], role=RaterRole.MANAGER).score == 5
    entry = AuditEntry.objects.filter(appraisal=bobs).first()
    assert (entry.old, entry.new, entry.reason) == ("3", "5", "Led the launch")
    assert "Led the launch" in client.get(reverse("reviews:cycle", args=[cycle.pk])).content.decode()


def test_the_calibration_guide_shows_the_grade_shares(org, client_for, cycle):
    client = client_for(org.users["hr"])
    assert 'data-testid="distribution"' not in client.get(reverse("reviews:cycle", args=[cycle.pk])).content.decode()
    move(org, cycle, CycleState.CALIBRATION)
    Appraisal.objects.filter(cycle=cycle).update(grade="A")
    response = client.get(reverse("reviews:cycle", args=[cycle.pk]))
    assert 'data-testid="distribution"' in response.content.decode()
    a_row = next(row for row in response.context["guide"] if row.grade == "A")
    assert (a_row.count, a_row.status) == (3, "over")


# --- finalisation, data changes, reopening -----------------------------------------------------------


def test_finalising_by_hr_locks_the_ratings(org, client_for, cycle):
    bobs = appraisal_of(cycle, org.b)
    items = rating_items(cycle)
    manager = client_for(org.users["manager_s1"])
    move(org, cycle, CycleState.MANAGER_REVIEW)
    manager.post(reverse("reviews:review", args=[bobs.pk]), ratings_post(items, 3))
    move(org, cycle, CycleState.CALIBRATION)

    # The manager may not finalise; HR may.
    manager.post(reverse("reviews:cycle_advance", args=[cycle.pk]), {"to": CycleState.FINALISED})
    cycle.refresh_from_db()
    assert cycle.state == CycleState.CALIBRATION
    exclude_without_data(cycle, org.users["hr"])  # no KPI data in this test
    hr = client_for(org.users["hr"])
    response = hr.post(reverse("reviews:cycle_advance", args=[cycle.pk]), {"to": CycleState.FINALISED})
    assert response.status_code == 302
    cycle.refresh_from_db()
    bobs.refresh_from_db()
    assert cycle.state == CycleState.FINALISED and cycle.locked
    assert bobs.frozen_at is not None

    manager = client_for(org.users["manager_s1"])
    refused = manager.post(reverse("reviews:review", args=[bobs.pk]),
                           ratings_post(items, 5, reason="Too late"))  # fmt: skip
    assert refused.status_code == 403
    assert set(Rating.objects.filter(appraisal=bobs, role=RaterRole.MANAGER).values_list("score", flat=True)) == {3}


def test_data_changed_since_finalised_is_shown_and_hr_reopens_with_a_reason(org, client_for, cycle):
    move(org, cycle, CycleState.FINALISED)
    client = client_for(org.users["hr"])
    url = reverse("reviews:cycle", args=[cycle.pk])
    assert 'data-testid="data-changed"' not in client.get(url).content.decode()

    # A later import changed a KPI value of the month: here, the frozen value differs from the data.
    bobs = appraisal_of(cycle, org.b)
    gmv = Item.objects.get(dimension__template=cycle.template, kpi_key="gmv")
    bobs.frozen[str(gmv.pk)] = {"value": "1234.5", "target": None, "score": None}
    bobs.save()
    response = client.get(url)
    html = response.content.decode()
    assert 'data-testid="data-changed"' in html
    assert org.b.display_name in html and 'data-testid="reopen"' in html
    assert [c["member"] for c in response.context["changes"]] == [org.b.display_name]

    client.post(reverse("reviews:cycle_advance", args=[cycle.pk]), {"to": CycleState.CALIBRATION, "reason": " "})
    cycle.refresh_from_db()
    assert cycle.state == CycleState.FINALISED  # no reason: refused
    client.post(reverse("reviews:cycle_advance", args=[cycle.pk]),
                {"to": CycleState.CALIBRATION, "reason": "Refunds re-imported"})  # fmt: skip
    cycle.refresh_from_db()
    assert cycle.state == CycleState.CALIBRATION
    assert 'data-testid="data-changed"' not in client.get(url).content.decode()


# --- the printable sheet -----------------------------------------------------------------------------


def test_the_print_view_renders_one_sheet(org, client_for, cycle):
    move(org, cycle, CycleState.MANAGER_REVIEW)
    mine = appraisal_of(cycle, org.a)
    client_for(org.users["manager_s1"]).post(reverse("reviews:review", args=[mine.pk]),
                                             ratings_post(rating_items(cycle), 4, comment="Keep it up"))  # fmt: skip
    manager_view = client_for(org.users["manager_s1"]).get(reverse("reviews:print", args=[mine.pk]))
    assert manager_view.status_code == 200  # managers anytime

    move(org, cycle, CycleState.PUBLISHED)
    response = client_for(org.users["staff_a"]).get(reverse("reviews:print", args=[mine.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="print-sheet"' in html
    assert org.a.display_name in html and "2026-08" in html and org.x.name in html
    assert "Keep it up" in html
    assert html.count('class="line"') == 3  # member, manager and HR sign
    mine.refresh_from_db()
    assert f"{mine.total:.1f}" in html


def test_the_cycle_page_shows_the_five_insights(org, client_for):
    from reviews.models import AppraisalTemplate
    from reviews.services.cycles import cycle_create
    from reviews.services.templates import appraisal_templates_ensure
    from teams.selectors.scoping import viewer_get

    appraisal_templates_ensure()
    hr = org.users["hr"]
    cycle = cycle_create(viewer=viewer_get(user=hr), user=hr, store=org.s1, team=org.x, month=dt.date(2026, 8, 1),
                         template=AppraisalTemplate.objects.get(key="sales-ability-attitude"))  # fmt: skip
    html = client_for(hr).get(f"/appraisals/cycles/{cycle.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    section = html[html.index('data-testid="insights"') :]
    for heading in ("Below target", "Volume vs price", "Inquiries and conversion", "After-sales quality",
                    "Suggested training focus"):  # fmt: skip
        assert heading in section
    assert "Alice 王" in section


def test_teammates_rate_each_other_when_the_template_asks_peers(org, client_for):
    from reviews.models import AppraisalTemplate, Item, Rating
    from reviews.services.cycles import cycle_advance, cycle_create
    from reviews.services.templates import appraisal_templates_ensure
    from teams.selectors.scoping import viewer_get

    appraisal_templates_ensure()
    template = AppraisalTemplate.objects.get(key="sales-ability-attitude")
    cooperation = Item.objects.get(dimension__template=template, name_en="Cooperation")
    cooperation.peer_weight = cooperation.manager_weight = 1
    cooperation.save()
    hr = org.users["hr"]
    cycle = cycle_create(viewer=viewer_get(user=hr), user=hr, store=org.s1, team=org.x, month=dt.date(2026, 8, 1),
                         template=template)  # fmt: skip
    alice = cycle.appraisals.get(member=org.a)
    bob = client_for(org.users["staff_b"])
    assert bob.get(f"/appraisals/{alice.pk}/peer/").status_code == 200
    assert bob.post(f"/appraisals/{alice.pk}/peer/", {f"score_{cooperation.pk}": "5"}).status_code == 403  # draft
    cycle_advance(viewer=viewer_get(user=hr), user=hr, cycle=cycle, to="self_review")
    assert f"/appraisals/{alice.pk}/peer/" in bob.get("/appraisals/mine/").content.decode()
    response = bob.post(f"/appraisals/{alice.pk}/peer/", {f"score_{cooperation.pk}": "5"})
    assert response.status_code == 302
    assert Rating.objects.get(appraisal=alice, role="peer").score == 5
    own = cycle.appraisals.get(member=org.b)
    assert bob.get(f"/appraisals/{own.pk}/peer/").status_code == 404  # not one's own
    carol_team = client_for(org.users["staff_a"])
    assert carol_team.get(f"/appraisals/{own.pk}/peer/").status_code == 200  # Alice may rate Bob

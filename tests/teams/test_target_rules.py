"""The rules of the targets room (who sets targets, records counts, plans promotions), written once
in teams.selectors.scoping and asked by the target pages, the API and the services."""

from teams.selectors.scoping import (
    member_list_recordable,
    member_list_target_editable,
    store_list_promotable,
    store_list_target_editable,
    team_list_target_editable,
    viewer_acting,
    viewer_edits_target,
    viewer_get,
    viewer_plans_promotions,
    viewer_records_counts,
    viewer_sets_targets,
)


def test_who_sets_targets_and_where(org):
    viewers = {name: viewer_get(user=user) for name, user in org.users.items()}
    assert [name for name, viewer in viewers.items() if viewer_sets_targets(viewer=viewer)] == [
        "lead_x",
        "manager_s1",
        "manager_s2",
        "admin",
    ]
    lead, manager = viewers["lead_x"], viewers["manager_s1"]
    # A team lead: their team and its members, never the whole store nor another team.
    assert viewer_edits_target(viewer=lead, store_id=org.s1.pk, team_id=org.x.pk, member_id=None)
    assert viewer_edits_target(viewer=lead, store_id=org.s1.pk, team_id=None, member_id=org.a.pk)
    assert not viewer_edits_target(viewer=lead, store_id=org.s1.pk, team_id=None, member_id=None)
    assert not viewer_edits_target(viewer=lead, store_id=org.s1.pk, team_id=org.y.pk, member_id=None)
    assert not viewer_edits_target(viewer=lead, store_id=org.s1.pk, team_id=None, member_id=org.c.pk)
    # A manager: anything of their stores only.
    assert viewer_edits_target(viewer=manager, store_id=org.s1.pk, team_id=None, member_id=None)
    assert not viewer_edits_target(viewer=manager, store_id=org.s2.pk, team_id=None, member_id=None)
    assert not viewer_edits_target(viewer=viewers["hr"], store_id=org.s1.pk, team_id=None, member_id=None)
    assert list(store_list_target_editable(viewer=lead)) == [org.s1]
    assert list(team_list_target_editable(viewer=lead)) == [org.x]
    assert set(member_list_target_editable(viewer=lead)) == {org.a, org.b, org.lead_x}
    assert set(team_list_target_editable(viewer=manager)) == {org.x, org.y}


def test_who_records_counts_and_plans_promotions(org):
    staff, lead = viewer_get(user=org.users["staff_a"]), viewer_get(user=org.users["lead_x"])
    manager, hr = viewer_get(user=org.users["manager_s1"]), viewer_get(user=org.users["hr"])
    assert list(member_list_recordable(viewer=staff)) == [org.a]
    assert set(member_list_recordable(viewer=lead)) == {org.a, org.b, org.lead_x}
    assert not member_list_recordable(viewer=hr).exists()
    assert viewer_records_counts(viewer=staff, member_id=org.a.pk, store_id=org.s1.pk)
    assert not viewer_records_counts(viewer=staff, member_id=org.b.pk, store_id=org.s1.pk)
    assert viewer_records_counts(viewer=lead, member_id=org.b.pk, store_id=org.s1.pk)
    assert [viewer_plans_promotions(viewer=v) for v in (staff, lead, manager, hr)] == [False, False, True, False]
    assert viewer_plans_promotions(viewer=manager, store_id=org.s1.pk)
    assert not viewer_plans_promotions(viewer=manager, store_id=org.s2.pk)
    assert list(store_list_promotable(viewer=manager)) == [org.s1]
    assert not store_list_promotable(viewer=lead).exists()
    # HR reads everyone's alerts but marks them read only through their other roles.
    assert hr.sees_everything and not viewer_acting(viewer=hr).sees_everything

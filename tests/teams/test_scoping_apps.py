"""The rules the apps above teams read from the scoping module (appraisal cycles, pay plans):
each role's answer, pinned once here; the pages, the API and the services all ask these."""

import pytest

from teams.selectors.scoping import (
    store_list_for_cycles,
    team_list_for_cycles,
    viewer_approves_statements,
    viewer_edits_appraisal_templates,
    viewer_edits_plans,
    viewer_exports_store,
    viewer_exports_workbooks,
    viewer_get,
    viewer_locks_statements,
    viewer_manages_cycle,
    viewer_opens_cycles,
    viewer_reads_appraisal_templates,
    viewer_runs_appraisals,
    viewer_sees_cycle,
)

pytestmark = pytest.mark.django_db

# role → (stores and teams they open cycles for, opens cycles, runs appraisals, edits plans)
EXPECTED = {
    "staff_a": (set(), set(), False, False, False),
    "lead_x": ({"s1"}, {"x"}, True, False, False),
    "manager_s1": ({"s1"}, {"x", "y"}, True, False, False),
    "manager_s2": ({"s2"}, {"z"}, True, False, False),
    "hr": ({"s1", "s2"}, {"x", "y", "z"}, True, True, True),
    "admin": ({"s1", "s2"}, {"x", "y", "z"}, True, True, True),
    "nobody": (set(), set(), False, False, False),
}


def _names(org, objects) -> set[str]:
    index = {(type(getattr(org, n)), getattr(org, n).pk): n for n in ("x", "y", "z", "s1", "s2")}
    return {index[(type(obj), obj.pk)] for obj in objects}


@pytest.mark.parametrize("username", EXPECTED)
def test_each_role_opens_cycles_runs_appraisals_and_edits_plans_as_pinned(org, username):
    stores, teams, opens, runs, edits = EXPECTED[username]
    viewer = viewer_get(user=org.users[username])
    assert _names(org, store_list_for_cycles(viewer=viewer)) == stores
    assert _names(org, team_list_for_cycles(viewer=viewer)) == teams
    assert viewer_opens_cycles(viewer=viewer) is opens
    assert viewer_runs_appraisals(viewer=viewer) is runs
    assert viewer_edits_plans(viewer=viewer) is edits


@pytest.mark.parametrize(
    ("username", "scope", "manages", "sees"),
    [
        ("lead_x", "x", True, True),  # the team's lead: its cycle
        ("lead_x", "s1", False, False),  # … not the whole store's
        ("manager_s1", "x", True, True),
        ("manager_s1", "s1", True, True),
        ("manager_s2", "x", False, False),
        ("hr", "x", False, True),  # HR sees every cycle without managing it
        ("admin", "s1", True, True),
        ("staff_a", "x", False, False),
    ],
)
def test_a_cycles_managers_and_who_sees_it_whole(org, username, scope, manages, sees):
    team = getattr(org, scope) if scope in ("x", "y", "z") else None
    store_id = team.store_id if team is not None else getattr(org, scope).pk
    viewer = viewer_get(user=org.users[username])
    team_id = team.pk if team is not None else None
    assert viewer_manages_cycle(viewer=viewer, store_id=store_id, team_id=team_id) is manages
    assert viewer_sees_cycle(viewer=viewer, store_id=store_id, team_id=team_id) is sees


# role → (reads templates, edits templates, approves, locks, exports, exports s1, exports every store)
EXPECTED_MORE = {
    "staff_a": (False, False, False, False, False, False, False),
    "lead_x": (True, False, False, False, False, False, False),
    "manager_s1": (True, False, True, False, True, True, False),
    "manager_s2": (True, False, True, False, True, False, False),
    "hr": (True, True, False, True, True, True, True),
    "admin": (True, True, True, True, True, True, True),
}


@pytest.mark.parametrize("username", EXPECTED_MORE)
def test_each_role_reads_and_edits_templates_approves_locks_and_exports_as_pinned(org, username):
    reads, edits, approves, locks, exports, exports_s1, exports_all = EXPECTED_MORE[username]
    viewer = viewer_get(user=org.users[username])
    assert viewer_reads_appraisal_templates(viewer=viewer) is reads
    assert viewer_edits_appraisal_templates(viewer=viewer) is edits
    assert viewer_approves_statements(viewer=viewer) is approves
    assert viewer_locks_statements(viewer=viewer) is locks
    assert viewer_exports_workbooks(viewer=viewer) is exports
    assert viewer_exports_store(viewer=viewer, store_id=org.s1.pk) is exports_s1
    assert viewer_exports_store(viewer=viewer, store_id=None) is exports_all

"""The permission matrix (issue 10): what every page and API endpoint answers each role, and which
rows each role sees in the lists. Read by tests/perfmgmt/test_permission_matrix.py, which walks the
URLconf: a pattern without an entry here fails, and so does an entry without a pattern.

The roles (the world is built by `world_build` in the test module, on the layout of the `org`
fixture): anonymous; staff A and staff B (team X of store S1); lead_y, the lead of team Y (the
*other* team of store S1, so a lead of another team in the same store); manager_s2, the manager of
store S2 (another store: S1's things are not theirs); HR; admin (a superuser with staff status, as
`createsuperuser` makes it). Every `<pk>` points at something of staff A / team X / store S1.

Expectations come from the product rules (docs/roles.md, teams/selectors/scoping.py): something
outside a user's scope answers 404, something their role may never do answers 403.

Status tokens, one per role in ROLES order:
    200, 400, 403, 404, 405 …   that status;
    L                            302 to the login page (admin URLs: to the admin's login page);
    302                          a redirect, anywhere but the login page;
    302>name                     a redirect to reverse(name) (the query string is not compared).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ROLES = ("anonymous", "staff_a", "staff_b", "lead_y", "manager_s2", "hr", "admin")

# Row keys per kind of marker (the world maps each key to a text in the page and an id in the API).
KEYS = {
    "member": ("A", "B", "C", "D", "LX", "LY"),
    "store": ("S1", "S2"),
    "team": ("X", "Y", "Z"),
    "account": ("a", "b", "c", "d", "u1", "u2"),
    "batch": ("S1", "S2"),
    "target": ("TX", "TA", "TY", "TZ", "TS1"),
    "campaign": ("S1", "S2"),
    "plan": ("PA", "PX", "PZ"),
    "deal": ("A1", "A2", "B", "C", "D"),
    "cycle": ("X",),
    "appraisal": ("A", "B", "LX"),
    "statement": ("A", "A2", "B", "C", "D"),
    "record": ("A", "B"),
}

# Never shown to a role, on any page or in any answer (unless the case says `leaks_ok`): the members,
# stores and teams outside its scope. Team X's lead is shown to X's members (the team list names
# the lead); HR and admins see everything.
HIDDEN: dict[str, dict[str, tuple[str, ...]]] = {
    "anonymous": {"member": KEYS["member"], "store": KEYS["store"], "team": KEYS["team"]},
    "staff_a": {"member": ("B", "C", "D", "LY"), "store": ("S2",), "team": ("Y", "Z")},
    "staff_b": {"member": ("A", "C", "D", "LY"), "store": ("S2",), "team": ("Y", "Z")},
    "lead_y": {"member": ("A", "B", "D", "LX"), "store": ("S2",), "team": ("X", "Z")},
    "manager_s2": {"member": ("A", "B", "C", "LX", "LY"), "store": ("S1",), "team": ("X", "Y")},
    "hr": {},
    "admin": {},
}

World = Any  # the test module's World; kept loose here so that this table imports nothing of Django


def S(spec: str) -> dict[str, str]:
    """'L 200 404 …': one status token per role, in ROLES order."""
    tokens = spec.split()
    if len(tokens) != len(ROLES):
        raise ValueError(f"{spec!r}: {len(tokens)} tokens for {len(ROLES)} roles")
    return dict(zip(ROLES, tokens, strict=True))


def _results(data: Any) -> set[int]:
    return {row["id"] for row in data["results"]}


@dataclass(frozen=True)
class Rows:
    """The rows of a list: for each role whose answer is 200, exactly these keys of `kind` appear
    (every other key of the kind must not). "*" is every key of the kind, "" none."""

    kind: str
    seen: dict[str, str]
    # API answers: the ids of the rows in the JSON (default: the "id" of each paginated result).
    ids: Callable[[Any], set[int]] = _results

    def expected(self, role: str) -> set[str] | None:
        if role not in self.seen:
            return None
        spec = self.seen[role]
        return set(KEYS[self.kind]) if spec == "*" else set(spec.split())


def R(kind: str, ids: Callable[[Any], set[int]] = _results, **seen: str) -> Rows:
    return Rows(kind=kind, seen=seen, ids=ids)


@dataclass(frozen=True)
class Effect:
    """What a write changes, and the roles for which it must happen (for all others it must not)."""

    what: str
    happened: Callable[[World], bool]
    roles: frozenset[str]


def E(what: str, happened: Callable[[World], bool], roles: str) -> Effect:
    return Effect(what=what, happened=happened, roles=frozenset(roles.split()))


@dataclass(frozen=True)
class Case:
    """One way of asking a URL (a method, its kwargs, query and body), and what each role gets."""

    expect: dict[str, str]
    method: str = "get"
    kwargs: Callable[[World], dict] | None = None
    query: Callable[[World], dict] | None = None
    data: Callable[[World], dict] | None = None
    rows: Rows | None = None
    effect: Effect | None = None
    leaks_ok: dict[str, str] = field(default_factory=dict)  # role → member keys it may see here by design
    api: bool = False  # token authentication and JSON bodies
    path: str = ""  # a literal URL, for patterns that take anything (a catch-all)
    note: str = ""


def pk(attr: str) -> Callable[[World], dict]:
    return lambda w: {"pk": getattr(w, attr).pk}


def manual_line(w: World) -> dict:
    return {"pk": w.statement_a.pk, "line_pk": w.manual_a.pk}


def api_manual_line(w: World) -> dict:
    return {"statement_pk": w.statement_a.pk, "pk": w.manual_a.pk}


def user(name: str) -> Callable[[World], dict]:
    """The URL kwargs of a user's pages (users are the world's `users[name]`)."""
    return lambda w: {"pk": w.user_pk(name)}


def store_form(w: World, **overrides) -> dict:
    data = {
        "platform": "tmall",
        "time_zone": "Asia/Shanghai",
        "attribution_window_hours": "48",
        "stuck_deal_days": "7",
        "stuck_deal_response_hours": "12",
    }
    return {**data, **overrides}


def month(w: World) -> str:
    return f"{w.month:%Y-%m}"


def _column(name: str) -> Callable[[Any], set[int]]:
    return lambda data: {row[name] for row in data["results"]}


def plan_form(w: World, name: str) -> dict:
    """The plan editor's form as a browser sends it: plan PA's fields under another name, no rows."""
    data = {
        "name": name,
        "store": w.s1.pk,
        "kind": "general",
        "description": "",
        "base_salary": "3000",
        "performance_pay": "0",
        "commission_mode": "none",
        "commission_base": "gmv",
        "flat_rate": "",
        "tier_mode": "cumulative",
        "commission_cap": "",
        "pk_kpi_key": "",
        "pk_bonus_rate": "",
        "call_pay": "0",
        "call_connected_weight": "50",
        "call_talk_weight": "50",
        "call_floor": "0",
        "save": "1",
    }
    for prefix in ("grades", "tiers", "modifiers", "milestones", "ranking", "allowances"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data


PLAN_TEXT = "The buyer waits for the 618 price; offer the bundle with free installation by Friday."
ANSWER_TEXT = "Good plan: offer the bundle, and I will approve the extra free-installation voucher."

# fmt: off
MATRIX: dict[str, list[Case]] = {
    # --- accounts, home, infrastructure ---------------------------------------------------------
    "home": [Case(S("L 200 200 200 200 200 200"))],
    "login": [Case(S("200 302>home 302>home 302>home 302>home 302>home 302>home"))],
    "logout": [
        Case(S("405 405 405 405 405 405 405"), note="log out by POST only"),
        Case(S("302>login 302>login 302>login 302>login 302>login 302>login 302>login"), method="post"),
    ],
    "password_change": [Case(S("L 200 200 200 200 200 200"))],
    "password_change_done": [Case(S("L 200 200 200 200 200 200"))],
    # Liveness (the container health check); the full /healthz also needs a worker, which none runs here.
    "healthz": [Case(S("200 200 200 200 200 200 200"), query=lambda w: {"live": ""})],
    "favicon": [Case(S("302 302 302 302 302 302 302"), note="to the static icon")],
    "set_language": [Case(S("302 302 302 302 302 302 302"), method="post", data=lambda w: {"language": "en"})],
    # --- organisation -----------------------------------------------------------------------------
    "teams:store_list": [Case(S("L 200 200 200 200 200 200"), rows=R(
        "store", staff_a="S1", staff_b="S1", lead_y="S1", manager_s2="S2", hr="*", admin="*"))],
    "teams:team_list": [Case(S("L 200 200 200 200 200 200"), rows=R(
        "team", staff_a="X", staff_b="X", lead_y="Y", manager_s2="Z", hr="*", admin="*"))],
    "teams:member_list": [Case(S("L 200 200 200 200 200 200"), rows=R(
        "member", staff_a="A", staff_b="B", lead_y="C LY", manager_s2="D", hr="*", admin="*"))],
    "teams:member_detail": [Case(S("L 200 404 404 404 200 200"), kwargs=pk("a"), rows=R(
        "member", staff_a="A", hr="A", admin="A"))],
    "teams:account_list": [Case(
        S("L 200 200 200 200 200 200"), query=lambda w: {"status": ""}, rows=R(
            "account", staff_a="a", staff_b="b", lead_y="c", manager_s2="d u2", hr="*", admin="*"))],
    "teams:account_assign": [Case(
        S("L 403 403 403 404 403 302>teams:account_list"), method="post", kwargs=pk("account_a"),
        data=lambda w: {f"a{w.account_a.pk}-member": w.b.pk, f"a{w.account_a.pk}-start_date": w.today.isoformat()},
        effect=E("account A now belongs to B", lambda w: w.account_holder(w.account_a) == w.b.pk, "admin"))],
    "teams:change_list": [Case(S("L 403 403 403 403 200 200")), Case(S("L 403 403 403 403 200 200"),
                                                                      query=lambda w: {"export": "xlsx"})],
    # --- organisation: creating and changing it (issue 19): administrators everywhere, managers in
    # their stores (manager_s2 runs S2: S1's things are 404 to them), HR, leads and staff never (403).
    "setup": [
        Case(S("404 404 404 404 404 404 404"), note="gone once the installation has a user"),
        Case(S("404 404 404 404 404 404 404"), method="post", data=lambda w: {"user-username": "x"},
             effect=E("a second administrator", lambda w: w.store_named("矩阵店"), "")),
    ],
    "password_set": [Case(S("200 200 200 200 200 200 200"), kwargs=lambda w: {"uidb64": "MQ", "token": "bad-token"},
                          note="an invalid link says so, to anyone")],
    "password_set_done": [Case(S("200 200 200 200 200 200 200"))],
    "teams:getting_started": [Case(S("L 403 403 403 200 403 200"))],
    "teams:store_create": [
        Case(S("L 403 403 403 403 403 200")),
        Case(S("L 403 403 403 403 403 302>teams:team_list"), method="post",
             data=lambda w: store_form(w, name="矩阵店"),
             effect=E("a store created", lambda w: w.store_named("矩阵店"), "admin")),
    ],
    "teams:store_edit": [
        Case(S("L 403 403 403 404 403 200"), kwargs=pk("s1")),
        Case(S("L 403 403 403 404 403 302>teams:store_list"), method="post", kwargs=pk("s1"),
             data=lambda w: store_form(w, name=w.s1.name),
             effect=E("S1's window is 48 hours", lambda w: w.store_setting(w.s1, "attribution_window_hours") == 48,
                      "admin")),
        Case(S("L 403 403 403 302>teams:store_list 403 302>teams:store_list"), method="post", kwargs=pk("s2"),
             data=lambda w: store_form(w, name=w.s2.name), note="a manager changes their own store's settings",
             effect=E("S2's window is 48 hours", lambda w: w.store_setting(w.s2, "attribution_window_hours") == 48,
                      "manager_s2 admin")),
    ],
    "teams:team_create": [
        Case(S("L 403 403 403 200 403 200")),
        Case(S("L 403 403 403 404 403 302>teams:member_create"), method="post",
             data=lambda w: {"store": w.s1.pk, "name": "矩阵组", "kind": "presales"},
             effect=E("a team of S1 created", lambda w: w.team_named(w.s1, "矩阵组"), "admin")),
        Case(S("L 403 403 403 302>teams:member_create 403 302>teams:member_create"), method="post",
             data=lambda w: {"store": w.s2.pk, "name": "矩阵组", "kind": "presales"},
             note="a manager creates a team in their own store",
             effect=E("a team of S2 created", lambda w: w.team_named(w.s2, "矩阵组"), "manager_s2 admin")),
    ],
    "teams:team_edit": [
        Case(S("L 403 403 403 404 403 200"), kwargs=pk("x")),
        Case(S("L 403 403 403 404 403 302>teams:team_list"), method="post", kwargs=pk("x"),
             data=lambda w: {"name": "售前X二", "kind": "presales", "lead": w.lead_x.pk},
             effect=E("team X renamed", lambda w: w.team_named(w.s1, "售前X二"), "admin")),
    ],
    "teams:member_create": [
        Case(S("L 403 403 403 200 403 200")),
        Case(S("L 403 403 403 404 403 302"), method="post", data=lambda w: {"display_name": "矩阵成员", "team": w.x.pk},
             effect=E("a member added to team X", lambda w: w.member_in("矩阵成员", w.x), "admin")),
        Case(S("L 403 403 403 302 403 302"), method="post", data=lambda w: {"display_name": "矩阵成员", "team": w.z.pk},
             effect=E("a member added to team Z", lambda w: w.member_in("矩阵成员", w.z), "manager_s2 admin")),
    ],
    "teams:member_edit": [
        Case(S("L 403 403 403 404 403 200"), kwargs=pk("a")),
        Case(S("L 403 403 403 404 403 302>teams:member_detail"), method="post", kwargs=pk("a"),
             data=lambda w: {"display_name": w.a.display_name, "employee_number": w.a.employee_number,
                             "hire_date": "2025-01-01", "confirmed_date": "2025-04-01", "active": "on"},
             effect=E("A's probation ended", lambda w: w.member_field(w.a, "confirmed_date") is not None, "admin")),
    ],
    "teams:member_move": [
        Case(S("L 403 403 403 404 403 200"), kwargs=pk("a")),
        Case(S("L 403 403 403 404 403 302>teams:member_detail"), method="post", kwargs=pk("a"),
             data=lambda w: {"team": w.y.pk, "start_date": w.today.isoformat()},
             effect=E("A moved to team Y", lambda w: w.team_now(w.a) == w.y.pk, "admin")),
    ],
    "teams:account_create": [
        Case(S("L 403 403 403 200 403 200")),
        Case(S("L 403 403 403 404 403 302>teams:account_list"), method="post",
             data=lambda w: {"store": w.s1.pk, "name": "未来衣橱:矩阵"},
             effect=E("an account of S1 created", lambda w: w.account_named(w.s1, "未来衣橱:矩阵"), "admin")),
    ],
    # --- logins and roles (issue 19): managers their members' logins without a role, administrators
    # every login and every role; HR reads.
    "teams:user_list": [Case(S("L 403 403 403 200 200 200"), rows=R(
        "member", manager_s2="", hr="A B LX LY", admin="A B LX LY"))],
    "teams:user_detail": [Case(S("L 403 403 403 404 200 200"), kwargs=user("staff_a"),
                               rows=R("member", hr="A", admin="A"))],
    "teams:user_invite": [
        Case(S("L 403 403 403 200 403 200")),
        Case(S("L 403 403 403 404 403 200"), method="post", data=lambda w: {"member": w.c.pk, "username": "carol"},
             note="the link is shown on the answer",
             effect=E("C has a login", lambda w: w.has_login(w.c), "admin")),
        Case(S("L 403 403 403 200 403 200"), method="post", data=lambda w: {"member": w.d.pk, "username": "dan"},
             note="a manager invites a member of their store",
             effect=E("D has a login", lambda w: w.has_login(w.d), "manager_s2 admin")),
    ],
    "teams:user_password_link": [Case(
        S("L 403 403 403 404 403 200"), method="post", kwargs=user("staff_a"),
        effect=E("staff_a's password stopped", lambda w: not w.password_usable("staff_a"), "admin"))],
    "teams:user_active": [Case(
        S("L 403 403 403 404 403 302>teams:user_detail"), method="post", kwargs=user("staff_a"),
        data=lambda w: {"active": "0"},
        effect=E("staff_a deactivated", lambda w: not w.login_active("staff_a"), "admin"))],
    "teams:role_grant_create": [Case(
        S("L 403 403 403 403 403 302>teams:user_detail"), method="post", kwargs=user("staff_b"),
        data=lambda w: {"role": "hr"}, effect=E("staff_b is HR", lambda w: w.has_grant("staff_b", "hr"), "admin"))],
    "teams:role_grant_delete": [Case(
        S("L 403 403 403 403 403 302"), method="post", kwargs=lambda w: {"pk": w.grant_pk("hr")},
        effect=E("HR's grant revoked", lambda w: not w.has_grant("hr", "hr"), "admin"))],
    # --- imports and KPI definitions ----------------------------------------------------------------
    "metrics:kpi_definitions": [Case(S("L 200 200 200 200 200 200"))],
    "metrics:batch_list": [Case(S("L 403 403 403 200 403 200"), rows=R("batch", manager_s2="S2", admin="*"))],
    "metrics:upload": [
        Case(S("L 403 403 403 200 403 200")),
        Case(S("L 403 403 403 200 403 200"), method="post", data=lambda w: {}, note="empty form: shown again"),
    ],
    "metrics:batch_detail": [Case(S("L 403 403 403 404 403 200"), kwargs=pk("batch_s1"))],
    "metrics:batch_map": [Case(S("L 403 403 403 404 403 302>metrics:batch_detail"), kwargs=pk("batch_s1"),
                               note="an imported batch needs no mapping: sent to its page")],
    "metrics:batch_import_valid": [
        Case(S("L 405 405 405 405 405 405"), kwargs=pk("batch_s1"), note="a POST button only"),
        Case(S("L 403 403 403 404 403 302>metrics:batch_detail"), method="post", kwargs=pk("batch_s1"),
             note="an imported batch has no valid rows left to import: sent back to its page, with the reason"),
    ],
    "metrics:batch_run_again": [
        Case(S("L 405 405 405 405 405 405"), kwargs=pk("batch_s1"), note="a POST button only"),
        Case(S("L 403 403 403 404 403 302>metrics:batch_detail"), method="post", kwargs=pk("batch_s1"),
             note="an imported batch with current figures has nothing to run again: sent back to its page"),
    ],
    "metrics:batch_errors_csv": [Case(S("L 403 403 403 404 403 200"), kwargs=pk("batch_s1"))],
    "metrics:batch_file": [Case(S("L 403 403 403 404 403 200"), kwargs=pk("batch_s1"))],
    # --- dashboards -------------------------------------------------------------------------------
    "dashboards:team": [Case(
        S("L 302>dashboards:me 302>dashboards:me 200 200 200 200"), query=lambda w: {"team": w.x.pk},
        note="a team the viewer may not open falls back to their own (the filter is not an object URL)",
        rows=R("member", lead_y="C LY", manager_s2="D", hr="*", admin="*"))],
    "dashboards:me": [Case(
        S("L 200 200 200 302>dashboards:team 302>dashboards:team 302>dashboards:team"),
        rows=R("member", staff_a="A", staff_b="B", lead_y="LY"))],
    "dashboards:member": [Case(S("L 200 404 404 404 200 200"), kwargs=pk("a"), rows=R(
        "member", staff_a="A", hr="A", admin="A"))],
    "dashboards:stores": [
        Case(S("L 403 403 403 200 200 200"), rows=R("store", manager_s2="S2", hr="*", admin="*")),
        Case(S("L 403 403 403 200 403 302"), method="post",
             data=lambda w: {"store": w.s1.pk, "month": month(w), "amount": "8800.00", "note": ""},
             note="S1's staff cost: S1's managers and admins only; another store's manager gets the form back",
             effect=E("S1's staff cost entered", lambda w: w.staff_cost_entered(), "admin")),
    ],
    # --- targets ----------------------------------------------------------------------------------
    "targets:list": [Case(S("L 200 200 200 200 200 200"), rows=R(
        "target", staff_a="TX TA TS1", staff_b="TX TS1", lead_y="TY TS1", manager_s2="TZ", hr="*", admin="*"))],
    "targets:create": [
        Case(S("L 403 403 200 200 403 200")),
        Case(S("L 403 403 200 200 403 302"), method="post", data=lambda w: {
            "name": "Matrix target", "tier": "tactic", "kpi_key": "gmv", "store": w.s1.pk, "team": w.x.pk,
            "period_kind": "month", "start": w.first.isoformat(), "end": w.last.isoformat(), "value": "1000",
            "direction": "at_least", "pace": "linear"},
            note="team X of store S1: another team's lead and another store's manager get the form back",
            effect=E("a target set for team X", lambda w: w.target_named("Matrix target"), "admin")),
    ],
    "targets:detail": [Case(S("L 200 200 404 404 200 200"), kwargs=pk("t_x"))],
    "targets:edit": [Case(S("L 403 403 404 404 403 200"), kwargs=pk("t_x"))],
    "targets:delete": [
        Case(S("L 403 403 404 404 403 200"), kwargs=pk("t_x")),
        Case(S("L 403 403 404 404 403 302>targets:list"), method="post", kwargs=pk("t_x"), data=lambda w: {},
             effect=E("team X's target deleted", lambda w: not w.exists(w.t_x), "admin")),
    ],
    "targets:decompose": [Case(
        S("L 403 403 200 200 403 200"),
        query=lambda w: {"store": w.s1.pk, "team": w.x.pk, "period": "month", "month": f"{w.today:%Y-%m}"},
        rows=R("member", lead_y="", manager_s2="", admin="A B LX"))],
    "targets:promotions": [Case(S("L 200 200 200 200 200 200"), rows=R(
        "campaign", staff_a="S1", staff_b="S1", lead_y="S1", manager_s2="S2", hr="*", admin="*"))],
    "targets:promotion_create": [Case(S("L 403 403 403 200 403 200"))],
    "targets:record": [
        Case(S("L 200 200 200 200 403 200"), query=lambda w: {"member": w.a.pk},
             note="someone else's member falls back to the viewer's own (or first) member",
             rows=R("member", lead_y="C LY", manager_s2="D", admin="*")),  # one's own page does not name oneself
        Case(S("L 302 302 302 302 403 302"), method="post", data=lambda w: {
            "member": w.a.pk, "date": w.yesterday.isoformat(), "note": "", f"count_{w.behaviour.pk}": "7"},
            note="A's count: A and admins; the others record their own (or their first member's)",
            effect=E("A's count recorded", lambda w: w.count_of(w.a) == 7, "staff_a admin")),
    ],
    "targets:alerts": [Case(
        S("L 200 200 200 200 200 200"), query=lambda w: {"scope": "all"},
        rows=R("target", staff_a="TA", staff_b="", lead_y="", manager_s2="TZ", hr="TA TZ", admin="TA TZ"))],
    "targets:alert_read": [Case(
        S("L 302>targets:alerts 302>targets:alerts 302>targets:alerts 302>targets:alerts 302>targets:alerts "
          "302>targets:alerts"), method="post", data=lambda w: {"all": "1"},
        note="alerts the viewer may not see are ignored; HR's reach is read-only",
        effect=E("the alert of A's target marked read", lambda w: w.alert_read(), "staff_a admin"))],
    # --- pipeline ---------------------------------------------------------------------------------
    "pipeline:stuck_list": [Case(S("L 200 200 200 200 200 200"), rows=R(
        "deal", staff_a="A1 A2", staff_b="B", lead_y="C", manager_s2="D", hr="*", admin="*"))],
    "pipeline:stuck_detail": [Case(S("L 200 404 404 404 200 200"), kwargs=pk("deal_a"))],
    "pipeline:stuck_plan": [Case(
        S("L 302>pipeline:stuck_detail 404 404 404 403 403"), method="post", kwargs=pk("deal_a"),
        data=lambda w: {"plan": PLAN_TEXT},
        effect=E("A's plan submitted", lambda w: w.deal_planned(), "staff_a"))],
    "pipeline:stuck_respond": [Case(
        S("L 403 404 404 404 403 302>pipeline:stuck_detail"), method="post", kwargs=pk("deal_a_planned"),
        data=lambda w: {"response": ANSWER_TEXT},
        effect=E("A's plan answered", lambda w: w.deal_answered(), "admin"))],
    "pipeline:health": [Case(
        S("L 200 200 200 200 200 200"), query=lambda w: {"store": w.s1.pk},
        note="a store the viewer may not see falls back to their first",
        rows=R("member", staff_a="A", staff_b="B", lead_y="C LY", manager_s2="D", hr="A B C LX LY",
               admin="A B C LX LY"))],
    "pipeline:best_hours": [Case(
        S("L 200 200 200 200 200 200"), query=lambda w: {"store": w.s1.pk},
        # The member picker (names) is shown when there is more than one member to pick.
        rows=R("member", lead_y="C LY", hr="A B C LX LY", admin="A B C LX LY"))],
    # --- appraisals -------------------------------------------------------------------------------
    "reviews:overview": [Case(
        S("L 302>reviews:mine 302>reviews:mine 200 200 200 200"), query=lambda w: {"month": month(w)},
        rows=R("cycle", lead_y="", manager_s2="", hr="X", admin="X"))],
    "reviews:mine": [Case(S("L 200 200 200 200 200 200"), rows=R(
        "appraisal", staff_a="A", staff_b="B", lead_y="", manager_s2="", hr="", admin=""))],
    "reviews:export": [
        Case(S("L 403 403 403 404 200 200"), query=lambda w: {"month": month(w), "store": w.s1.pk},
             note="a store the manager does not manage: 404 (teams/export_views.py), existing or not",
             rows=R("member", hr="A B LX", admin="A B LX")),
        Case(S("L 403 403 403 200 200 200"), query=lambda w: {"month": month(w)},
             note="a manager's own store is chosen for them",
             rows=R("member", manager_s2="", hr="A B LX", admin="A B LX")),
    ],
    "reviews:cycle_create": [
        Case(S("L 403 403 200 200 200 200")),
        Case(S("L 403 403 400 400 302 302"), method="post", data=lambda w: {
            "team": w.x.pk, "month": f"{w.month2:%Y-%m}", "template": w.template.pk,
            "self_review_due": w.today.isoformat(), "manager_review_due": w.today.isoformat(),
            "calibration_due": w.today.isoformat()},
            note="a cycle of team X: its lead, S1's managers and HR; others get the form back",
            effect=E("a cycle opened for team X", lambda w: w.cycle_opened(w.month2), "hr admin")),
    ],
    "reviews:cycle": [Case(S("L 403 403 404 404 200 200"), kwargs=pk("cycle"), rows=R(
        "member", hr="A B LX", admin="A B LX"))],
    "reviews:cycle_advance": [Case(
        S("L 403 403 404 404 302>reviews:cycle 302>reviews:cycle"), method="post", kwargs=pk("cycle"),
        data=lambda w: {"to": "calibration", "reason": "Matrix test: reopened to recheck a score."},
        effect=E("the published cycle reopened", lambda w: w.cycle_state() == "calibration", "hr admin"))],
    "reviews:appraisal": [Case(S("L 200 404 404 404 200 200"), kwargs=pk("appraisal_a"))],
    "reviews:review": [Case(S("L 403 404 404 404 200 200"), kwargs=pk("appraisal_a"))],
    "reviews:decision": [Case(
        S("L 403 404 404 404 403 403"), method="post", kwargs=pk("appraisal_a"),
        data=lambda w: {"item": w.kpi_item_pk, f"d{w.kpi_item_pk}-action": "exclude",
                        f"d{w.kpi_item_pk}-reason": "Matrix test: no account this month."},
        note="HR's decision on a KPI item without data: HR and admins only; the published cycle refuses it (403)")],
    "reviews:self": [Case(S("L 200 404 404 404 200 200"), kwargs=pk("appraisal_a"))],
    "reviews:peer": [Case(S("L 404 200 404 404 404 404"), kwargs=pk("appraisal_a"), leaks_ok={"staff_b": "A"},
                          note="teammates in the cycle rate each other")],
    "reviews:print": [Case(S("L 200 404 404 404 200 200"), kwargs=pk("appraisal_a"))],
    # Templates: HR and admins write; leads and managers read those they may use; staff never.
    "reviews:template_list": [Case(S("L 403 403 200 200 200 200"))],
    "reviews:template_detail": [Case(S("L 403 403 200 200 200 200"), kwargs=pk("template"),
                                     note="a template every store may use")],
    "reviews:template_create": [
        Case(S("L 403 403 403 403 200 200")),
        Case(S("L 403 403 403 403 302 302"), method="post",
             data=lambda w: {"action": "save", "name_zh": "矩阵模板", "dim-0-name_zh": "业绩", "dim-0-weight": "100",
                             "dim-0-item-0-name_zh": "销售额", "dim-0-item-0-kind": "kpi", "dim-0-item-0-weight": "100",
                             "dim-0-item-0-kpi_key": "gmv", "dim-0-item-0-rule": "rank",
                             **{f"band-{n}-{k}": v for n, band in enumerate((("A", "50", "50"), ("B", "0", "50")))
                                for k, v in zip(("grade", "lower", "guide"), band, strict=True)}},
             effect=E("a template created", lambda w: w.template_named("矩阵模板"), "hr admin")),
    ],
    "reviews:template_edit": [
        Case(S("L 403 403 403 403 200 200"), kwargs=pk("template")),
        Case(S("L 403 403 403 403 302 302"), method="post",
             kwargs=pk("template"), data=lambda w: w.template_form(name_en="Edited by the matrix"),
             note="the published cycle used it: the edit is a new version (its page)",
             effect=E("the template's version 2 saved", lambda w: w.template_new_version(), "hr admin")),
    ],
    "reviews:template_copy": [
        Case(S("L 405 405 405 405 405 405"), kwargs=pk("template"), note="a POST button only"),
        Case(S("L 403 403 403 403 302 302"), method="post", kwargs=pk("template"), data=lambda w: {},
             note="to the copy's editor",
             effect=E("a copy of the template made", lambda w: w.template_named(w.template.name_zh + "（副本）"),
                      "hr admin")),
    ],
    "reviews:template_retire": [
        Case(S("L 405 405 405 405 405 405"), kwargs=pk("template"), note="a POST button only"),
        Case(S("L 403 403 403 403 302>reviews:template_detail 302>reviews:template_detail"), method="post",
             kwargs=pk("template"), data=lambda w: {},
             effect=E("the template retired", lambda w: w.template_retired(), "hr admin")),
    ],
    # --- pay --------------------------------------------------------------------------------------
    "incentives:statements": [Case(
        S("L 302>incentives:mine 302>incentives:mine 200 200 200 200"), query=lambda w: {"month": month(w)},
        rows=R("member", lead_y="C", manager_s2="D", hr="A B C D", admin="A B C D"))],
    "incentives:mine": [Case(S("L 200 200 200 200 200 200"), rows=R(
        "statement", staff_a="A A2", staff_b="B", lead_y="", manager_s2="", hr="", admin=""))],
    "incentives:plans": [Case(S("L 200 200 200 200 200 200"), rows=R(
        "plan", staff_a="PA PX", staff_b="PX", lead_y="", manager_s2="PZ", hr="*", admin="*"))],
    "incentives:plan_create": [
        Case(S("L 403 403 403 403 200 200")),
        Case(S("L 403 403 403 403 302 302"), method="post", data=lambda w: plan_form(w, "Matrix plan"),
             note="to the new plan's page",
             effect=E("a plan created", lambda w: w.plan_named("Matrix plan"), "hr admin")),
    ],
    "incentives:plan_detail": [Case(S("L 200 404 404 404 200 200"), kwargs=pk("plan_a"))],
    "incentives:plan_edit": [
        Case(S("L 403 404 404 404 200 200"), kwargs=pk("plan_a")),
        Case(S("L 403 404 404 404 302>incentives:plan_detail 302>incentives:plan_detail"), method="post",
             kwargs=pk("plan_a"), data=lambda w: plan_form(w, "方案-Alice 改"),
             effect=E("plan PA renamed", lambda w: w.plan_named("方案-Alice 改"), "hr admin")),
    ],
    "incentives:plan_copy": [Case(
        S("L 403 404 404 404 302 302"), method="post", kwargs=pk("plan_a"), data=lambda w: {},
        note="to the copy's editor", effect=E("plan PA copied", lambda w: w.plan_copies(w.plan_a) == 1, "hr admin"))],
    "incentives:plan_retire": [Case(
        S("L 404 404 404 404 302>incentives:plan_detail 302>incentives:plan_detail"), method="post",
        kwargs=pk("plan_unused"), data=lambda w: {},
        effect=E("the unused plan retired", lambda w: w.plan_retired(w.plan_unused), "hr admin"))],
    "incentives:plan_simulate": [
        Case(S("L 403 404 404 404 200 200"), kwargs=pk("plan_a")),
        Case(S("L 403 403 404 404 200 200"), kwargs=pk("plan_x"),
             query=lambda w: {"sim-month": month(w), "sim-scope": f"team-{w.x.pk}"},
             rows=R("member", hr="A B LX", admin="A B LX")),
    ],
    "incentives:plan_assign": [Case(
        S("L 403 404 404 404 302>incentives:plan_detail 302>incentives:plan_detail"), method="post",
        kwargs=pk("plan_a"), data=lambda w: {"assign-member": w.b.pk, "assign-start_date": w.today.isoformat()},
        effect=E("plan PA given to B", lambda w: w.plan_assigned(w.plan_a, w.b), "hr admin"))],
    "incentives:plan_assignment_edit": [Case(
        S("L 403 403 404 404 302 302"), method="post", kwargs=pk("assignment_x"), note="to its plan's page",
        data=lambda w: {f"a{w.assignment_x.pk}-start_date": "2020-01-01", f"a{w.assignment_x.pk}-end_date": "2030-12-31"},
        effect=E("team X's plan ends in 2030", lambda w: w.assignment_end(w.assignment_x) == dt.date(2030, 12, 31),
                 "hr admin"))],
    "incentives:plan_assignment_delete": [Case(
        S("L 404 404 404 403 302 302"), method="post", kwargs=pk("assignment_z"), data=lambda w: {},
        note="to its plan's page; another store's manager sees it, but may not change it",
        effect=E("team Z's plan assignment removed", lambda w: not w.exists(w.assignment_z), "hr admin"))],
    "incentives:recompute": [Case(
        S("L 403 403 403 302>incentives:statements 302>incentives:statements 302>incentives:statements"),
        method="post", data=lambda w: {"store": w.s1.pk, "month": month(w)},
        effect=E("S1's statements recomputed", lambda w: w.statements_recomputed(), "hr admin"))],
    "incentives:bulk": [Case(
        S("L 302>incentives:statements 302>incentives:statements 302>incentives:statements "
          "302>incentives:statements 302>incentives:statements 302>incentives:statements"),
        method="post", data=lambda w: {"action": "approve", "ids": [w.statement_a.pk]},
        effect=E("A's statement approved", lambda w: w.statement_state(w.statement_a) == "approved", "admin"))],
    "incentives:statement": [Case(S("L 200 404 404 404 200 200"), kwargs=pk("statement_a"))],
    "incentives:approve": [Case(
        S("L 302>incentives:statement 404 404 404 302>incentives:statement 302>incentives:statement"),
        method="post", kwargs=pk("statement_a"), data=lambda w: {},
        note="a role the service refuses is sent back to the statement with the refusal as a message",
        effect=E("A's statement approved", lambda w: w.statement_state(w.statement_a) == "approved", "admin"))],
    "incentives:lock": [Case(
        S("L 302>incentives:statement 404 404 404 302>incentives:statement 302>incentives:statement"),
        method="post", kwargs=pk("statement_a2"), data=lambda w: {},
        note="as approve: a refusal is a message on the statement's page",
        effect=E("A's approved statement locked", lambda w: w.statement_state(w.statement_a2) == "locked",
                 "hr admin"))],
    "incentives:manual_line_add": [
        Case(S("L 403 404 404 404 200 200"), kwargs=pk("statement_a"),
             note="staff (their own statement) and team leads never add manual lines: 403"),
        Case(S("L 403 404 404 404 302 302"), method="post", kwargs=pk("statement_a"), data=lambda w: {
            "kind": "manual_award", "title": "矩阵奖", "amount": "100.00", "reason": "矩阵测试"},
            note="to the statement's manual lines (#manual-lines)",
            effect=E("a manual line added to A's statement", lambda w: w.manual_line_titled("矩阵奖"), "hr admin")),
    ],
    "incentives:manual_line_edit": [
        Case(S("L 403 404 404 404 200 200"), kwargs=manual_line),
        Case(S("L 403 404 404 404 302 302"), method="post", kwargs=manual_line, data=lambda w: {
            "kind": "manual_award", "title": "矩阵原奖", "amount": "80.00", "reason": "矩阵测试",
            "change_reason": "矩阵测试：复核"},
            effect=E("A's manual line changed", lambda w: w.manual_line_amount(w.manual_a) == Decimal("80.00"),
                     "hr admin")),
    ],
    "incentives:manual_line_remove": [
        Case(S("L 405 405 405 405 405 405"), kwargs=manual_line, note="a POST button only"),
        Case(S("L 403 404 404 404 302 302"), method="post", kwargs=manual_line, data=lambda w: {"reason": "矩阵测试"},
             effect=E("A's manual line removed", lambda w: not w.exists(w.manual_a), "hr admin")),
    ],
    "incentives:export": [
        Case(S("L 403 403 403 404 200 200"), query=lambda w: {"month": month(w), "store": w.s1.pk},
             note="a store the manager does not manage: 404, as a store that does not exist",
             rows=R("member", hr="A B C", admin="A B C")),
        Case(S("L 403 403 403 200 200 200"), query=lambda w: {"month": month(w)},
             rows=R("member", manager_s2="D", hr="A B C D", admin="A B C D")),
    ],
    "incentives:badges": [Case(
        S("L 200 200 404 404 200 200"), query=lambda w: {"team": w.x.pk}, leaks_ok={"staff_b": "A"},
        note="a team's members see its wall: badges are public praise",
        rows=R("member", staff_a="A", staff_b="A", hr="A", admin="A"))],
    # --- API: organisation --------------------------------------------------------------------------
    "api-root": [Case(S("401 200 200 200 200 200 200"), api=True)],
    "store-list": [
        Case(S("401 200 200 200 200 200 200"), api=True, rows=R(
            "store", staff_a="S1", staff_b="S1", lead_y="S1", manager_s2="S2", hr="*", admin="*")),
        Case(S("401 403 403 403 403 403 201"), api=True, method="post", data=lambda w: {"name": "矩阵店"},
             effect=E("a store created", lambda w: w.store_named("矩阵店"), "admin")),
    ],
    "store-detail": [
        Case(S("401 200 200 200 404 200 200"), api=True, kwargs=pk("s1")),
        Case(S("401 403 403 403 404 403 200"), api=True, method="patch", kwargs=pk("s1"),
             data=lambda w: {"stuck_deal_days": 9},
             effect=E("S1's deals stuck after 9 days", lambda w: w.store_setting(w.s1, "stuck_deal_days") == 9,
                      "admin")),
        Case(S("401 403 403 403 200 403 200"), api=True, method="patch", kwargs=pk("s2"),
             data=lambda w: {"stuck_deal_days": 9}, note="a manager changes their own store's settings",
             effect=E("S2's deals stuck after 9 days", lambda w: w.store_setting(w.s2, "stuck_deal_days") == 9,
                      "manager_s2 admin")),
    ],
    "team-list": [
        Case(S("401 200 200 200 200 200 200"), api=True, rows=R(
            "team", staff_a="X", staff_b="X", lead_y="Y", manager_s2="Z", hr="*", admin="*")),
        Case(S("401 403 403 403 404 403 201"), api=True, method="post",
             data=lambda w: {"store": w.s1.pk, "name": "矩阵组"},
             effect=E("a team of S1 created", lambda w: w.team_named(w.s1, "矩阵组"), "admin")),
        Case(S("401 403 403 403 201 403 201"), api=True, method="post",
             data=lambda w: {"store": w.s2.pk, "name": "矩阵组"}, note="a manager creates a team in their own store",
             effect=E("a team of S2 created", lambda w: w.team_named(w.s2, "矩阵组"), "manager_s2 admin")),
    ],
    "team-detail": [
        Case(S("401 200 200 404 404 200 200"), api=True, kwargs=pk("x")),
        Case(S("401 403 403 403 404 403 200"), api=True, method="patch", kwargs=pk("x"),
             data=lambda w: {"name": "售前X二"},
             effect=E("team X renamed", lambda w: w.team_named(w.s1, "售前X二"), "admin")),
    ],
    "member-list": [
        Case(S("401 200 200 200 200 200 200"), api=True, rows=R(
            "member", staff_a="A", staff_b="B", lead_y="C LY", manager_s2="D", hr="*", admin="*")),
        Case(S("401 403 403 403 404 403 201"), api=True, method="post",
             data=lambda w: {"display_name": "矩阵成员", "team": w.x.pk},
             effect=E("a member added to team X", lambda w: w.member_in("矩阵成员", w.x), "admin")),
    ],
    "member-detail": [
        Case(S("401 200 404 404 404 200 200"), api=True, kwargs=pk("a")),
        Case(S("401 403 403 403 404 403 200"), api=True, method="patch", kwargs=pk("a"),
             data=lambda w: {"confirmed_date": "2025-04-01"},
             effect=E("A's probation ended", lambda w: w.member_field(w.a, "confirmed_date") is not None, "admin")),
    ],
    "member-moves": [Case(
        S("401 403 403 403 404 403 201"), api=True, method="post", kwargs=pk("a"),
        data=lambda w: {"team": w.y.pk, "start_date": w.today.isoformat()},
        effect=E("A moved to team Y", lambda w: w.team_now(w.a) == w.y.pk, "admin"))],
    "platform-account-list": [
        Case(S("401 200 200 200 200 200 200"), api=True, rows=R(
            "account", staff_a="a", staff_b="b", lead_y="c", manager_s2="d u2", hr="*", admin="*")),
        Case(S("401 403 403 403 404 403 201"), api=True, method="post",
             data=lambda w: {"store": w.s1.pk, "name": "未来衣橱:矩阵"},
             effect=E("an account of S1 created", lambda w: w.account_named(w.s1, "未来衣橱:矩阵"), "admin")),
    ],
    "platform-account-detail": [Case(S("401 200 404 404 404 200 200"), api=True, kwargs=pk("account_a"))],
    "platform-account-assign": [Case(
        S("401 403 403 403 404 403 201"), api=True, method="post", kwargs=pk("account_a"),
        data=lambda w: {"member": w.b.pk, "start_date": w.today.isoformat()},
        effect=E("account A now belongs to B", lambda w: w.account_holder(w.account_a) == w.b.pk, "admin"))],
    # --- API: pay plans -----------------------------------------------------------------------------
    "plan-list": [
        Case(S("401 200 200 200 200 200 200"), api=True, rows=R(
            "plan", staff_a="PA PX", staff_b="PX", lead_y="", manager_s2="PZ", hr="*", admin="*")),
        Case(S("401 403 403 403 403 201 201"), api=True, method="post",
             data=lambda w: {"name": "Matrix API plan", "base_salary": "2800.00"},
             effect=E("a plan created", lambda w: w.plan_named("Matrix API plan"), "hr admin")),
    ],
    "plan-detail": [
        Case(S("401 200 404 404 404 200 200"), api=True, kwargs=pk("plan_a")),
        Case(S("401 403 404 404 404 200 200"), api=True, method="patch", kwargs=pk("plan_a"),
             data=lambda w: {"name": "方案-Alice API"},
             effect=E("plan PA renamed", lambda w: w.plan_named("方案-Alice API"), "hr admin")),
    ],
    # --- API: logins and roles ------------------------------------------------------------------------
    "user-list": [
        Case(S("401 403 403 403 200 200 200"), api=True),
        Case(S("401 403 403 403 404 403 201"), api=True, method="post",
             data=lambda w: {"member": w.c.pk, "username": "carol"},
             effect=E("C has a login", lambda w: w.has_login(w.c), "admin")),
        Case(S("401 403 403 403 201 403 201"), api=True, method="post",
             data=lambda w: {"member": w.d.pk, "username": "dan"}, note="a manager invites a member of their store",
             effect=E("D has a login", lambda w: w.has_login(w.d), "manager_s2 admin")),
    ],
    "user-detail": [Case(S("401 403 403 403 404 200 200"), api=True, kwargs=user("staff_a"))],
    "user-password-link": [Case(
        S("401 403 403 403 404 403 200"), api=True, method="post", kwargs=user("staff_a"),
        effect=E("staff_a's password stopped", lambda w: not w.password_usable("staff_a"), "admin"))],
    "user-deactivate": [Case(
        S("401 403 403 403 404 403 200"), api=True, method="post", kwargs=user("staff_a"),
        effect=E("staff_a deactivated", lambda w: not w.login_active("staff_a"), "admin"))],
    "user-reactivate": [Case(S("401 403 403 403 404 403 200"), api=True, method="post", kwargs=user("staff_a"),
                             note="an active login stays active")],
    "role-grant-list": [
        Case(S("401 403 403 403 200 200 200"), api=True),
        Case(S("401 403 403 403 403 403 201"), api=True, method="post",
             data=lambda w: {"user": w.user_pk("staff_b"), "role": "hr"},
             effect=E("staff_b is HR", lambda w: w.has_grant("staff_b", "hr"), "admin")),
    ],
    "role-grant-detail": [
        Case(S("401 403 403 403 404 200 200"), api=True, kwargs=lambda w: {"pk": w.grant_pk("hr")}),
        Case(S("401 403 403 403 403 403 204"), api=True, method="delete", kwargs=lambda w: {"pk": w.grant_pk("hr")},
             effect=E("HR's grant revoked", lambda w: not w.has_grant("hr", "hr"), "admin")),
    ],
    # --- API: KPIs and dashboards -------------------------------------------------------------------
    "kpis": [
        Case(S("401 200 200 200 200 200 200"), api=True, query=lambda w: {"level": "member"},
             rows=R("member", _column("member_id"), staff_a="A", staff_b="B", lead_y="C LY", manager_s2="D",
                    hr="*", admin="*")),
        Case(S("401 403 403 200 200 200 200"), api=True, query=lambda w: {"level": "team"},
             rows=R("team", _column("team_id"), lead_y="Y", manager_s2="Z", hr="*", admin="*")),
        Case(S("401 403 403 403 200 200 200"), api=True, query=lambda w: {"level": "store"},
             rows=R("store", _column("store_id"), manager_s2="S2", hr="*", admin="*")),
    ],
    "api_dashboard_team": [
        Case(S("401 403 403 200 200 200 200"), api=True,
             rows=R("team", lambda d: {d["team"]["id"]}, lead_y="Y", manager_s2="Z")),
        Case(S("401 403 403 404 404 200 200"), api=True, query=lambda w: {"team": w.x.pk},
             rows=R("team", lambda d: {d["team"]["id"]}, hr="X", admin="X")),
    ],
    "api_dashboard_me": [Case(S("401 200 200 200 404 404 404"), api=True, rows=R(
        "member", lambda d: {d["member"]["id"]}, staff_a="A", staff_b="B", lead_y="LY"))],
    "api_dashboard_member": [Case(S("401 200 404 404 404 200 200"), api=True, kwargs=pk("a"))],
    "api_dashboard_stores": [
        Case(S("401 403 403 403 200 200 200"), api=True, rows=R(
            "store", lambda d: {s["id"] for s in d["stores"]}, manager_s2="S2", hr="*", admin="*")),
        Case(S("401 403 403 403 404 200 200"), api=True, query=lambda w: {"store": w.s1.pk}, rows=R(
            "store", lambda d: {s["id"] for s in d["stores"]}, hr="S1", admin="S1")),
    ],
    # --- API: imports -------------------------------------------------------------------------------
    "import-batch-list": [
        Case(S("401 403 403 403 200 403 200"), api=True, rows=R("batch", manager_s2="S2", admin="*")),
        Case(S("401 403 403 403 400 403 400"), api=True, method="post", data=lambda w: {},
             note="no file: refused by validation, after the role check"),
    ],
    "import-batch-detail": [Case(S("401 403 403 403 404 403 200"), api=True, kwargs=pk("batch_s1"))],
    "import-batch-errors": [Case(S("401 403 403 403 404 403 200"), api=True, kwargs=pk("batch_s1"))],
    "import-batch-import-valid": [Case(S("401 403 403 403 404 403 409"), api=True, method="post",
                                       kwargs=pk("batch_s1"), note="an imported batch has no valid rows left to import")],
    "import-batch-run-again": [Case(S("401 403 403 403 404 403 409"), api=True, method="post",
                                    kwargs=pk("batch_s1"), note="an imported batch has nothing to run again")],
    "import-batch-mapping": [Case(S("401 403 403 403 404 403 400"), api=True, method="post", kwargs=pk("batch_s1"),
                                  data=lambda w: {}, note="an imported batch needs no mapping")],
    # --- API: targets, counts, promotions -----------------------------------------------------------
    "target-list": [
        Case(S("401 200 200 200 200 200 200"), api=True, rows=R(
            "target", staff_a="TX TA TS1", staff_b="TX TS1", lead_y="TY TS1", manager_s2="TZ", hr="*", admin="*")),
        Case(S("401 403 403 400 400 403 400"), api=True, method="post", data=lambda w: {}),
    ],
    "target-detail": [
        Case(S("401 200 200 404 404 200 200"), api=True, kwargs=pk("t_x")),
        Case(S("401 403 403 404 404 403 200"), api=True, method="patch", kwargs=pk("t_x"),
             data=lambda w: {"name": "Renamed by the matrix"},
             effect=E("team X's target renamed", lambda w: w.target_name(w.t_x) == "Renamed by the matrix",
                      "admin")),
        Case(S("401 403 403 404 404 403 204"), api=True, method="delete", kwargs=pk("t_x"),
             effect=E("team X's target deleted", lambda w: not w.exists(w.t_x), "admin")),
    ],
    "api_target_decompose": [Case(S("401 403 403 400 400 403 400"), api=True, method="post", data=lambda w: {})],
    "behaviour-record-list": [
        Case(S("401 200 200 200 200 200 200"), api=True, rows=R(
            "record", staff_a="A", staff_b="B", lead_y="", manager_s2="", hr="", admin="")),
        Case(S("401 400 400 400 403 403 403"), api=True, method="post", data=lambda w: {},
             note="one's own counts only: users without a member are refused"),
    ],
    "promotion-list": [
        Case(S("401 200 200 200 200 200 200"), api=True, rows=R(
            "campaign", staff_a="S1", staff_b="S1", lead_y="S1", manager_s2="S2", hr="*", admin="*")),
        Case(S("401 403 403 403 400 403 400"), api=True, method="post", data=lambda w: {}),
    ],
    # --- API: pipeline ------------------------------------------------------------------------------
    "stuck-deal-list": [Case(S("401 200 200 200 200 200 200"), api=True, rows=R(
        "deal", staff_a="A1 A2", staff_b="B", lead_y="C", manager_s2="D", hr="*", admin="*"))],
    "stuck-deal-detail": [Case(S("401 200 404 404 404 200 200"), api=True, kwargs=pk("deal_a"))],
    "stuck-deal-plan": [Case(
        S("401 200 404 404 404 403 403"), api=True, method="post", kwargs=pk("deal_a"),
        data=lambda w: {"plan": PLAN_TEXT}, effect=E("A's plan submitted", lambda w: w.deal_planned(), "staff_a"))],
    "stuck-deal-response": [Case(
        S("401 403 404 404 404 403 200"), api=True, method="post", kwargs=pk("deal_a_planned"),
        data=lambda w: {"response": ANSWER_TEXT},
        effect=E("A's plan answered", lambda w: w.deal_answered(), "admin"))],
    # --- API: pay statements ------------------------------------------------------------------------
    "statement-list": [Case(S("401 200 200 200 200 200 200"), api=True, rows=R(
        "statement", staff_a="A A2", staff_b="B", lead_y="C", manager_s2="D", hr="*", admin="*"))],
    "statement-detail": [Case(S("401 200 404 404 404 200 200"), api=True, kwargs=pk("statement_a"))],
    "statement-manual-line-list": [
        Case(S("401 200 404 404 404 200 200"), api=True, kwargs=lambda w: {"statement_pk": w.statement_a.pk}),
        Case(S("401 403 404 404 404 201 201"), api=True, method="post",
             kwargs=lambda w: {"statement_pk": w.statement_a.pk},
             data=lambda w: {"kind": "manual_award", "title": "矩阵奖", "amount": "100.00", "reason": "矩阵测试"},
             effect=E("a manual line added to A's statement", lambda w: w.manual_line_titled("矩阵奖"), "hr admin")),
    ],
    "statement-manual-line-detail": [
        Case(S("401 200 404 404 404 200 200"), api=True, kwargs=api_manual_line),
        Case(S("401 403 404 404 404 200 200"), api=True, method="patch", kwargs=api_manual_line,
             data=lambda w: {"amount": "80.00", "change_reason": "矩阵测试：复核"},
             effect=E("A's manual line changed", lambda w: w.manual_line_amount(w.manual_a) == Decimal("80.00"),
                      "hr admin")),
        Case(S("401 403 404 404 404 204 204"), api=True, method="delete", kwargs=api_manual_line,
             query=lambda w: {"reason": "矩阵测试"},
             effect=E("A's manual line removed", lambda w: not w.exists(w.manual_a), "hr admin")),
    ],
    # --- API: appraisal templates (as the pages: HR and admins write, leads and managers read) --------
    "appraisal-template-list": [
        Case(S("401 403 403 200 200 200 200"), api=True),
        Case(S("401 403 403 403 403 400 400"), api=True, method="post", data=lambda w: {},
             note="an empty template: refused by validation, after the role check"),
    ],
    "appraisal-template-detail": [
        Case(S("401 403 403 200 200 200 200"), api=True, kwargs=pk("template")),
        Case(S("401 403 403 403 403 200 200"), api=True, method="patch", kwargs=pk("template"),
             data=lambda w: {"name_en": "Edited by the matrix"},
             note="the published cycle used it: the answer is the new version",
             effect=E("the template's version 2 saved", lambda w: w.template_new_version(), "hr admin")),
    ],
    "appraisal-template-copy": [Case(
        S("401 403 403 403 403 201 201"), api=True, method="post", kwargs=pk("template"),
        effect=E("a copy of the template made", lambda w: w.template_named(w.template.name_zh + "（副本）"),
                 "hr admin"))],
    "appraisal-template-retire": [Case(
        S("401 403 403 403 403 200 200"), api=True, method="post", kwargs=pk("template"),
        effect=E("the template retired", lambda w: w.template_retired(), "hr admin"))],
    "appraisal-template-preview": [Case(S("401 403 403 403 403 400 400"), api=True, method="post",
                                        data=lambda w: {}, note="no draft: refused by validation")],
    # --- API: authentication and documentation ------------------------------------------------------
    "api_token": [
        Case(S("405 405 405 405 405 405 405"), api=True),
        Case(S("400 400 400 400 400 400 400"), api=True, method="post", data=lambda w: {},
             note="open to all: no credentials, no token"),
    ],
    "api_not_found": [Case(S("401 404 404 404 404 404 404"), api=True, path="/api/no-such-endpoint/",
                           note="any other address under /api/: a JSON 404, after authentication")],
    "schema": [Case(S("200 200 200 200 200 200 200"), api=True,
                    note="drf-spectacular serves the schema to anyone (SERVE_PERMISSIONS default)")],
    "swagger_ui": [Case(S("200 200 200 200 200 200 200"), api=True)],
}
# fmt: on

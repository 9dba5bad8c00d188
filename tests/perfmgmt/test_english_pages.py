"""Issue 18, points 8 and 9: in English, no page and no workbook shows Chinese but names; no page
shows an internal reference ("seed 001", "docs/….md").

The world is the permission matrix's (tests/perfmgmt/permission_matrix.py: every URL and what
each role gets), computed while the site's language is Chinese (the default), with every kind of
generated sentence in it: statement lines of every rule (performance pay, call assessment, tiered
commission, multiplier, milestone, team PK, ranking, clawback) and a proposed adjustment; a
decomposed target tree (tactics, members' weeks of GMV and of a counted behaviour with a Chinese
unit) and a promotion's focus targets, with their alerts; badges; a refused import and a failed
one with rejected rows; a rating changed in calibration (the audit trail). Every page a role may
open (200 in the matrix) is read in English, both workbooks are written in English, and what is
left after taking out the names people wrote must have no CJK character.

Taken out, from the database: the names of stores, teams, members, users, plans, promotions,
platform accounts, behaviours, badge rules and buyers; targets people named; what people wrote
(comments, breakthrough plans and answers, plan descriptions, notes, manual pay lines' titles and
reasons, the change log's reasons and the names of what it records); imported data shown as it
was exported (item titles, traffic channels, a rejected row's column and value, file names).
From the code: the platform's Chinese column names an import expects (the importer's aliases),
English sources that quote a platform's Chinese term on purpose ("Double 11 (双11)"), and the
language switch's "简体中文".
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode

from tests.metrics.helpers import CHAT_HEADER, ORDER_HEADER, write
from tests.perfmgmt.permission_matrix import MATRIX, ROLES
from tests.perfmgmt.test_permission_matrix import World, _body_text, world_build

pytestmark = pytest.mark.django_db
ZH = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES"

CJK = re.compile(r"[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
# Internal references: seeds of the specification, documents of the repository.
INTERNAL = re.compile(r"seed\s*0\d\d|种子\s*0\d\d|docs/[\w./-]*\.md", re.IGNORECASE)
_SCRIPT = re.compile(r"<script(?![^>]*application/json)[^>]*>.*?</script>|<style[^>]*>.*?</style>", re.S | re.I)
_TAG_NAME = re.compile(r"</?[a-zA-Z][\w-]*")


# --- the world ---------------------------------------------------------------------------------


def _month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def _sell(w: World, tmp_path, month: dt.date, sales: list[tuple[str, int, str]], tag: str) -> None:
    """(account key, day of `month`, yuan): a chat answered in seconds and its order paid 20 minutes
    later, through the importers (so the KPIs, badges and statements have real data)."""
    from metrics.importing.services import chats_import, orders_import
    from metrics.kpis.services import kpis_after_import

    chats, orders = [], []
    for n, (key, day, amount) in enumerate(sales):
        account = w.accounts[key]
        at = dt.datetime(month.year, month.month, day, 10, n)
        buyer = f"买家{tag}{key}{day}-{n}"
        chats.append(f"S{tag}{n},{w.s1.name},{account.name},{buyer},{at:%Y-%m-%d %H:%M:%S},"
                     f"{at + dt.timedelta(seconds=10 + n):%Y-%m-%d %H:%M:%S},,2,2")  # fmt: skip
        created = at + dt.timedelta(minutes=20)
        orders.append(f"O{tag}{n},{buyer},{amount},{amount},交易成功,{created:%Y-%m-%d %H:%M:%S},"
                      f"{created + dt.timedelta(minutes=1):%Y-%m-%d %H:%M:%S},连衣裙,1,1,0.00,{w.s1.name}")  # fmt: skip
    for importer, header, lines in ((chats_import, CHAT_HEADER, chats), (orders_import, ORDER_HEADER, orders)):
        batch = importer(store=None, file=write(tmp_path / f"{tag}{header[:2]}.csv", [header, *lines]), user=None)
        assert batch.status == "succeeded", batch.error_text
        kpis_after_import(batch=batch)


def _generate(w: World, tmp_path) -> None:
    """Every kind of generated sentence, computed in the site's language (Chinese)."""
    from incentives.models import (
        CommissionedOrder,
        CommissionTier,
        Milestone,
        Modifier,
        Plan,
        RankingAward,
        Statement,
    )
    from incentives.services.badges import badges_award
    from incentives.services.statements import statement_refresh
    from metrics.importing.services import orders_import
    from metrics.models import Order, PeriodKind, PhaseKind, Target
    from metrics.targets.selectors import member_list_active as period_members
    from metrics.targets.services import DecompositionFigures as DecomposeFigures
    from metrics.targets.services import (
        DecompositionSave,
        campaign_create,
        decomposition_save,
        target_alerts_check,
    )
    from metrics.targets.services import decomposition_plan as decompose_plan
    from perfmgmt.common.periods import Period
    from reviews.models import Appraisal, CycleState, Item, ItemKind
    from reviews.services.cycles import cycle_advance, rating_set
    from teams.models import TeamKind
    from teams.selectors.scoping import viewer_get
    from tests.factories import MemberFactory, TeamFactory, TeamMembershipFactory

    assert translation.get_language() == "zh-hans"
    hr, admin = w.users["hr"], w.users["admin"]
    # Sales in the statements' month (A, B, C) and the month before (A, refunded later).
    _sell(w, tmp_path, w.month2, [("a", 5, "400.00")], "m2")
    _sell(w, tmp_path, w.month, [("a", 3, "300.00"), ("a", 10, "500.00"), ("a", 20, "300.00"),
                                 ("b", 5, "100.00"), ("c", 6, "50.00")], "m1")  # fmt: skip
    # A's plan: every rule of a shop plan; team X's: a call assessment (no calls: below the floor).
    pa = Plan.objects.get(name="方案-Alice")
    for field, value in (("performance_pay", Decimal(2000)), ("grade_coefficients", dict.fromkeys("SABCD", 1)),
                         ("commission_mode", "tiered"), ("tier_mode", "marginal"), ("commission_cap", Decimal(20)),
                         ("pk_kpi_key", "gmv"), ("pk_bonus_rate", Decimal("0.05"))):  # fmt: skip
        setattr(pa, field, value)
    pa.save()
    for start, rate in ((0, "0.015"), ("1.0", "0.025")):
        CommissionTier.objects.create(plan=pa, from_completion=Decimal(start), rate=Decimal(rate))
    Modifier.objects.create(plan=pa, kpi_key="inquiry_to_payment_rate", comparison="ge", threshold=Decimal("0.4"),
                            multiplier=Decimal("1.1"))  # fmt: skip
    Milestone.objects.create(plan=pa, kpi_key="inquiry_to_payment_rate", comparison="ge", threshold=Decimal("0.1"),
                             amount=Decimal(500))  # fmt: skip
    RankingAward.objects.create(plan=pa, kpi_key="gmv", amounts=[800, 500])
    Target.objects.create(tier="execution", name="Alice 月目标", kpi_key="gmv", store=w.s1, team=w.x, member=w.a,
                          period_kind="month", start=w.month, end=_month_end(w.month), value=Decimal(800),
                          direction="at_least")  # fmt: skip
    px = Plan.objects.get(name="方案-团队X")
    px.call_pay, px.call_connected_target, px.call_talk_target_minutes = Decimal(1000), 600, 1500
    px.save()
    # A's order of the month before was paid out on a locked statement, then refunded: clawed back.
    order = Order.objects.get(order_id="Om20")
    locked = Statement.objects.get(pk=w.statement_a2.pk)
    locked.state = "locked"
    locked.save()
    CommissionedOrder.objects.create(statement=locked, order=order, order_ref=order.order_id,
                                     paid_cents=order.paid_cents, refund_cents=0, rate=Decimal("0.02"))  # fmt: skip
    Order.objects.filter(pk=order.pk).update(refund_cents=10000)
    for member in (w.a, w.b, w.d):
        statement_refresh(member=member, store=member.memberships.first().team.store, month=w.month)
    statement_refresh(member=w.a, store=w.s1, month=w.month2)  # locked: a proposed adjustment
    assert Statement.objects.get(pk=locked.pk).proposed_lines
    # Targets: a decomposed tree with a counted behaviour of a Chinese unit, a store's tree, a promotion.
    viewer = viewer_get(user=admin)
    period = Period(w.first, w.last)
    figures = DecomposeFigures(
        revenue=Decimal(100_000), returning_share=Decimal("0.4"), new_value_per_deal=Decimal(1000),
        lead_conversion=Decimal("0.06"), returning_order_value=Decimal(300), orders_per_buyer=Decimal(1),
        inquiry_conversion=Decimal("0.3"), uv_conversion=Decimal("0.05"), working_weekdays=(0, 1, 2, 3, 4, 5),
        pace_by_weights=False, split="equal", manual_shares={},
    )  # fmt: skip
    # A team that works leads decomposes through new leads, counted as a behaviour; a service team
    # through inquiring buyers; the store as a whole.
    sellers = TeamFactory(store=w.s1, kind=TeamKind.ONLINE_SALES, name="线上销售组")
    TeamMembershipFactory(member=MemberFactory(display_name="线上小王"), team=sellers, start_date=w.first)
    for team, behaviour in ((sellers, w.behaviour), (w.x, None), (None, None)):
        members = period_members(store=w.s1, team=team, period=period)
        plan, _history = decompose_plan(store=w.s1, team=team, period=period, figures=figures, members=members)
        w.tree = decomposition_save(viewer=viewer, user=admin, plan=plan, how=DecompositionSave(
            store=w.s1, team=team, name="", period_kind=PeriodKind.MONTH, leads_behaviour=behaviour))  # fmt: skip
    phases = {PhaseKind.PREHEAT: (w.first, w.first + dt.timedelta(days=2)),
              PhaseKind.PEAK: (w.first + dt.timedelta(days=3), w.last - dt.timedelta(days=3)),
              PhaseKind.AFTER: (w.last - dt.timedelta(days=2), w.last)}  # fmt: skip
    campaign_create(viewer=viewer, user=admin, store=w.s1, kind="double11", name="双11大促", phases=phases)
    target_alerts_check(store=w.s1, today=w.today)
    badges_award(store=w.s1, start=w.month, end=_month_end(w.month))
    # Imports: a refused file and one whose rows are invalid.
    manager = w.users["manager_s1"]
    w.refused = orders_import(store=w.s1, file=write(tmp_path / "refused.csv", ["只有一列"]), user=manager)
    bad = [ORDER_HEADER, f"X1,买家,12.345,12.345,交易成功,2026-08-01 10:00:00,,裙子,1,1,0.00,{w.s1.name}"]
    w.failed = orders_import(store=w.s1, file=write(tmp_path / "bad.csv", bad), user=manager)
    assert (w.refused.status, w.failed.status) == ("refused", "failed")
    # The published cycle reopened for calibration: HR changes a rating with a reason (the audit trail).
    cycle_advance(viewer=viewer_get(user=hr), user=hr, cycle=w.cycle, to=CycleState.CALIBRATION,
                  reason="重新核对评分。")  # fmt: skip
    item = Item.objects.filter(dimension__template=w.template, kind=ItemKind.RATING).first()
    appraisal = Appraisal.objects.get(pk=w.appraisal_a.pk)  # of the reopened cycle
    rating_set(viewer=viewer_get(user=hr), user=hr, appraisal=appraisal, item=item, role="manager", score=4,
               reason="校准后调整。")  # fmt: skip
    for state in (CycleState.FINALISED, CycleState.PUBLISHED):
        w.cycle = cycle_advance(viewer=viewer_get(user=hr), user=hr, cycle=w.cycle, to=state)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    cache.clear()
    with django_db_blocker.unblock(), transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        w = world_build()
        w.accounts = {key: a.account for key, a in _accounts(w).items()}
        _generate(w, tmp_path_factory.mktemp("english"))
        w.names = _names_pattern(_names())
        yield w
        transaction.set_rollback(True)
    cache.clear()


def _accounts(w: World) -> dict:
    from teams.models import AccountAssignment

    keys = {w.a.pk: "a", w.b.pk: "b", w.c.pk: "c", w.d.pk: "d"}
    return {
        keys[a.member_id]: a for a in AccountAssignment.objects.filter(member_id__in=keys).select_related("account")
    }


def _names() -> list[str]:
    """What people wrote or the platforms exported, longest first (see the module's docstring)."""
    from incentives.models import BadgeRule, ManualLine, Plan
    from metrics.importing.schema import FIELDS, STORE_FIELD
    from metrics.models import (
        Behaviour,
        BehaviourRecord,
        Campaign,
        ChatSession,
        ImportBatch,
        ImportRowError,
        Lead,
        Order,
        StuckDeal,
        Target,
        TrafficDay,
    )
    from reviews.models import Appraisal, AppraisalTemplate, AuditEntry, Dimension, Item, Rating
    from teams.models import ChangeRecord, Member, PlatformAccount, Store, Team

    columns = [
        (Store, "name"), (Team, "name"), (Member, "display_name"), (Plan, "name"), (Plan, "description"),
        (Campaign, "name"), (PlatformAccount, "name"), (Behaviour, "name"), (Behaviour, "description"),
        (BadgeRule, "name"), (Lead, "customer"), (Order, "buyer"), (Order, "title"), (ChatSession, "buyer"),
        (TrafficDay, "channel"), (Appraisal, "manager_comment"), (Appraisal, "self_comment"), (Rating, "comment"),
        (AuditEntry, "reason"), (StuckDeal, "plan"), (StuckDeal, "response"), (BehaviourRecord, "note"),
        (ImportBatch, "file_name"), (ImportRowError, "column"), (ImportRowError, "value"),
        (get_user_model(), "first_name"), (get_user_model(), "last_name"),
        (ManualLine, "title"), (ManualLine, "reason"), (ChangeRecord, "label"), (ChangeRecord, "reason"),
        # The Chinese side of names and texts people write in both languages (an editor and the API
        # show both sides to every reader).
        (AppraisalTemplate, "name_zh"), (AppraisalTemplate, "description"), (Dimension, "name_zh"),
        (Item, "name_zh"), (Item, "rubric_zh"),
    ]  # fmt: skip
    names = {value for model, field in columns for value in model.objects.values_list(field, flat=True) if value}
    names |= set(Target.objects.filter(name_msg={}).values_list("name", flat=True))  # named by people
    names |= {
        level.get("zh", "") for levels in Item.objects.values_list("rubric_levels", flat=True) for level in levels
    }
    names |= set(Target.objects.exclude(notes="").filter(notes_msg={}).values_list("notes", flat=True))
    names |= {alias for fields in (*FIELDS.values(), [STORE_FIELD]) for field in fields for alias in field.aliases}
    names |= _quoted_platform_terms()
    names.add("简体中文")  # the language switch names each language in itself
    return sorted((n for n in names if CJK.search(n)), key=len, reverse=True)


def _quoted_platform_terms() -> set[str]:
    """English sources that quote a platform's Chinese term on purpose ("Double 11 (双11)",
    "(店铺名称)"): their Chinese parts, as the English page shows them."""
    terms = set()
    for entry in polib.pofile(str(ZH / "django.po")):
        terms.update(re.findall(rf"(?:{CJK.pattern}|[/\w])*{CJK.pattern}(?:{CJK.pattern}|[/\w])*", entry.msgid))
    return {t for t in terms if CJK.search(t)}


# --- reading -------------------------------------------------------------------------------------


def _visible(body: str) -> str:
    """The text and attribute values of a page (scripts and styles out; JSON data kept), unescaped."""
    return html.unescape(_SCRIPT.sub(" ", body))


def _names_pattern(names: list[str]) -> re.Pattern:
    """The names as whole words: not inside a longer run of CJK ("销售", a column's name, is taken
    out of "销售 (sales)" but not out of "销售额", which would be a sentence left in Chinese)."""
    words = "|".join(re.escape(name) for name in names)
    return re.compile(rf"(?<!{CJK.pattern})(?:{words})(?!{CJK.pattern})")


def _leftover(text: str, names: re.Pattern) -> list[str]:
    """What is left in CJK once the names are taken out: each run with some context."""
    text = names.sub("«»", text)
    runs = re.finditer(rf"{CJK.pattern}+", text)
    return [text[max(0, m.start() - 60) : m.end() + 60].replace("\n", " ") for m in runs][:5]


def _pages(w: World) -> list[tuple[str, str, dict]]:
    """(role, url, headers) of every GET a role may make (200 in the matrix), and the pages of the
    generated rows the matrix does not point at."""
    pages = []
    for name, cases in MATRIX.items():
        for case in cases:
            if case.method != "get" or case.path or name in ("schema", "swagger_ui", "metrics:batch_file"):
                continue  # the API's own description; the file someone uploaded, as it was
            url = reverse(name, kwargs=case.kwargs(w) if case.kwargs else None)
            if case.query:
                url = f"{url}?{urlencode(case.query(w), doseq=True)}"
            pages += [(role, url, {"api": case.api}) for role in ROLES if case.expect[role] == "200"]
    extra = [reverse("targets:detail", args=[w.tree.pk]), reverse("targets:list") + "?period=all",
             reverse("metrics:batch_detail", args=[w.refused.pk]), reverse("metrics:batch_detail", args=[w.failed.pk]),
             reverse("metrics:batch_errors_csv", args=[w.failed.pk]),
             reverse("incentives:statement", args=[w.statement_a2.pk]), reverse("targets:promotions")]  # fmt: skip
    pages += [("admin", url, {"api": False}) for url in extra]
    pages += [("admin", reverse("target-list"), {"api": True}), ("admin", reverse("import-batch-list"), {"api": True})]
    return pages


def _get(w: World, role: str, url: str, *, api: bool, language: str):
    client = w.client
    client.cookies = SimpleCookie()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    headers = {"accept-language": language}
    if role != "anonymous":
        if api:
            headers["authorization"] = f"Token {w.tokens[role]}"
        else:
            client.cookies[settings.SESSION_COOKIE_NAME] = w.sessions[role]
    return client.get(url, headers=headers)


@pytest.fixture(scope="module")
def english(world, django_db_blocker) -> list[tuple[str, str, bool, str]]:
    """(role, url, api, text) of every page read in English: read once for the tests below."""
    read = []
    with django_db_blocker.unblock():
        for role, url, how in _pages(world):
            response = _get(world, role, url, api=how["api"], language="en")
            assert response.status_code == 200, (role, url, response.status_code)
            read.append((role, url, how["api"], _visible(_body_text(response))))
    return read


def test_every_page_a_role_may_open_shows_no_chinese_in_english_but_names(world, english):
    assert len({url for _role, url, _api, _text in english}) > 60  # every page of the matrix, not a few
    problems = []
    for role, url, _api, text in english:
        left = _leftover(text, world.names)
        if left:
            problems.append(f"{role} {url}:\n    " + "\n    ".join(left))
    assert not problems, "Chinese on English pages:\n" + "\n".join(problems)


def test_no_page_names_an_internal_document_or_seed_in_either_language(world, english):
    problems = [f"en {role} {url}: {INTERNAL.findall(text)}" for role, url, _api, text in english
                if INTERNAL.search(text)]  # fmt: skip
    # In Chinese: the references are in the pages' own words, so each page once, as the role that
    # sees the most of it (the last of ROLES allowed: admin, HR, …).
    widest = {url: role for role, url, api, _text in english if not api}
    for url, role in widest.items():
        found = INTERNAL.findall(_visible(_body_text(_get(world, role, url, api=False, language="zh-hans"))))
        if found:
            problems.append(f"zh-hans {role} {url}: {found}")
    assert not problems


def test_both_workbooks_in_english_show_no_chinese_but_names(world):
    from openpyxl import load_workbook

    from incentives.services.export import payouts_export
    from reviews.services.export import appraisals_export

    problems = []
    for title, data in (("payouts", payouts_export(month=world.month, lang="en")),
                        ("appraisals", appraisals_export(month=world.month, lang="en"))):  # fmt: skip
        book = load_workbook(io.BytesIO(data), read_only=True)
        cells = 0
        for sheet in book.worksheets:
            for row in sheet.iter_rows(values_only=True):
                for value in row:
                    if isinstance(value, str):
                        cells += 1
                        left = _leftover(value, world.names)
                        if left:
                            problems.append(f"{title} / {sheet.title}: {left}")
        assert cells > 50, f"{title} has almost nothing in it"
    assert not problems, "Chinese in English workbooks:\n" + "\n".join(problems)


def test_the_world_has_every_kind_of_generated_sentence(world):
    """Else the tests above would prove little: each kind exists, as a message."""
    from incentives.models import Badge, StatementLine
    from metrics.models import ImportRowError, Target
    from reviews.models import AuditEntry

    kinds = set(StatementLine.objects.exclude(explanation_msg={}).values_list("kind", flat=True))
    assert kinds >= {"base", "performance", "calls", "commission", "modifier", "pk", "milestone", "ranking",
                     "clawback"}  # fmt: skip
    keys = {m["key"] for m in Target.objects.exclude(name_msg={}).values_list("name_msg", flat=True)}
    assert keys >= {"metrics.target_paid_orders_needed", "metrics.target_visitors_needed", "metrics.target_new_leads",
                    "metrics.target_member_period", "metrics.target_focus", "metrics.target_revenue"}  # fmt: skip
    assert Target.objects.filter(behaviour__unit="个").exists() and Target.objects.exclude(notes_msg={}).exists()
    assert world.failed.error_msg and ImportRowError.objects.filter(batch=world.failed).exclude(reason_msg={}).exists()
    assert world.refused.error_msg and Badge.objects.exclude(detail_msg={}).exists()
    assert AuditEntry.objects.exclude(field_msg={}).exists()
    assert CJK.search(StatementLine.objects.get(kind="clawback").explanation)  # computed in Chinese

"""Roster import (花名册): headers in both languages, CSV and XLSX, accounts, leads, leavers,
logins, idempotence, moves from a date, row errors, the CLI, page and API, and who may import."""

import datetime as dt

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import translation

from metrics.importing.schema import kind_detect
from metrics.importing.services import roster_import
from metrics.models import ImportBatch, ImportKind, ImportStatus
from teams.models import (
    AccountAssignment,
    ChangeRecord,
    Member,
    PlatformAccount,
    Role,
    Store,
    Team,
    TeamKind,
    TeamMembership,
)
from tests.factories import (
    AccountAssignmentFactory,
    MemberFactory,
    PlatformAccountFactory,
    RoleGrantFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
)
from tests.metrics.helpers import write

pytestmark = pytest.mark.django_db
D = dt.date

HEADER = "工号,姓名,店铺,团队,子账号,入职日期,离职日期,组长,登录名,邮箱"
ENGLISH_HEADER = "employee number,name,store,team,accounts,hire date,leave date,team lead,login,email"
STORE = "未来衣橱旗舰店"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def store(db) -> Store:
    return Store.objects.create(name=STORE)


def _roster(tmp_path, lines, name="roster.csv", header=HEADER):
    return write(tmp_path / name, [header, *lines])


def _import(path, **options):
    return roster_import(store=None, file=path, user=options.pop("user", None), **options)


def _counts(batch) -> tuple[int, int, int, int]:
    return batch.inserted, batch.updated, batch.unchanged, batch.rejected


def _errors(batch) -> list[tuple[int, str, str, str]]:
    return [(e.line, e.column, e.value, e.reason_text) for e in batch.row_errors.order_by("line", "id")]


def _periods(model, **filters) -> list[tuple]:
    rows = model.objects.filter(**filters).order_by("start_date")
    if model is TeamMembership:
        return [(r.team.name, r.start_date, r.end_date) for r in rows]
    return [(r.account.name, r.member.display_name, r.start_date, r.end_date) for r in rows]


def test_a_first_roster_creates_teams_members_memberships_and_accounts(tmp_path, store):
    path = _roster(
        tmp_path,
        [
            f"E001,王芳,{STORE},售前一组,未来衣橱:客服01、未来衣橱:客服02,2026-07-01,,是,,",
            f"E002,李娜,{STORE},售前一组,未来衣橱:客服03，未来衣橱:客服04; 未来衣橱:客服05,2026-07-15,,否,,",
            f"E003,张伟,{STORE},售后组,未来衣橱:客服06 未来衣橱:客服07,2026/7/1,2026-07-31,,,",
        ],
    )
    batch = _import(path)
    assert batch.status == ImportStatus.SUCCEEDED, _errors(batch)
    assert _counts(batch) == (3, 0, 0, 0)
    assert list(batch.stores.values_list("name", flat=True)) == [STORE]
    wang = Member.objects.get(employee_number="E001")
    assert (wang.display_name, wang.hire_date, wang.leave_date, wang.active) == ("王芳", D(2026, 7, 1), None, True)
    assert _periods(TeamMembership, member=wang) == [("售前一组", D(2026, 7, 1), None)]
    # Every separator: 、 ， ; and spaces.
    assert _periods(AccountAssignment, member__employee_number="E002") == [
        (f"未来衣橱:客服0{n}", "李娜", D(2026, 7, 15), None) for n in (3, 4, 5)
    ]
    assert Team.objects.get(name="售前一组").lead == wang
    assert Team.objects.get(name="售后组").lead is None
    # A leaver's team and accounts end on the leave date; the member is inactive once it passed.
    zhang = Member.objects.get(employee_number="E003")
    assert (zhang.leave_date, zhang.active) == (D(2026, 7, 31), False)
    assert _periods(TeamMembership, member=zhang) == [("售后组", D(2026, 7, 1), D(2026, 7, 31))]
    assert [p[3] for p in _periods(AccountAssignment, member=zhang)] == [D(2026, 7, 31)] * 2
    assert PlatformAccount.objects.filter(store=store).count() == 7


# --- headers, formats -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        HEADER,
        ENGLISH_HEADER,
        "员工编号,员工姓名,店铺名称,团队名称,平台账号,入职时间",
        "Employee No,Full Name,Shop,Team Name,Sub-accounts,Hired on",
    ],
)
def test_a_roster_is_recognised_by_its_headers_in_either_language(headers):
    assert kind_detect(headers.split(",")) == ImportKind.ROSTER


def test_english_headers_in_an_xlsx_workbook(tmp_path, store):
    """Excel keeps dates as date cells and employee numbers as numbers: both read as written."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(ENGLISH_HEADER.split(","))
    sheet.append([1001, "Emma Clark", STORE, "Customer Service", "未来衣橱:客服01 , 未来衣橱:客服02",
                  dt.datetime(2026, 7, 1), None, "yes", "emma", "emma@example.com"])  # fmt: skip
    sheet.append([1002, "Liam Wong", STORE, "Customer Service", "未来衣橱:客服03", dt.datetime(2026, 7, 2), None, "no",
                  None, None])  # fmt: skip
    path = tmp_path / "roster.xlsx"
    book.save(path)
    batch = _import(path)
    assert (batch.status, _counts(batch)) == (ImportStatus.SUCCEEDED, (2, 0, 0, 0)), _errors(batch)
    emma = Member.objects.get(employee_number="1001")
    assert (emma.display_name, emma.hire_date, emma.user.username) == ("Emma Clark", D(2026, 7, 1), "emma")
    assert Team.objects.get(name="Customer Service").lead == emma
    assert _periods(AccountAssignment, member=emma) == [
        ("未来衣橱:客服01", "Emma Clark", D(2026, 7, 1), None),
        ("未来衣橱:客服02", "Emma Clark", D(2026, 7, 1), None),
    ]
    assert _counts(_import(path)) == (0, 0, 2, 0)


def test_unusual_headers_are_mapped_once_and_remembered_for_the_store(tmp_path, store):
    from metrics.importing.services import import_batch_create, import_batch_map, import_batch_run

    header = "员工号码,员工,所属团队,使用账号,到岗日"
    path = write(tmp_path / "hr.csv", [header, "E001,王芳,售前组,未来衣橱:客服01,2026-07-01"])
    batch = import_batch_create(file=path, user=None, kind=ImportKind.ROSTER, store=store)
    assert batch.status == ImportStatus.NEEDS_MAPPING
    mapping = {"employee_number": "员工号码", "name": "员工", "team": "所属团队", "accounts": "使用账号",
               "hire_date": "到岗日"}  # fmt: skip
    batch = import_batch_run(batch=import_batch_map(batch=batch, mapping=mapping))
    assert (batch.status, _counts(batch)) == (ImportStatus.SUCCEEDED, (1, 0, 0, 0))
    # The next file of the store with the same headers needs no mapping.
    again = import_batch_create(file=path, user=None, kind=ImportKind.ROSTER, store=store)
    assert again.status == ImportStatus.QUEUED and _counts(import_batch_run(batch=again)) == (0, 0, 1, 0)


# --- idempotence and later rosters ------------------------------------------------------------

CHAT_HEADER = "会话ID,店铺名称,客服,买家会员名,咨询时间,首次响应时间,结束时间,买家消息数,客服消息数"


def _chats(tmp_path, store: Store, sessions: list[tuple[str, str]]):
    """One answered chat per (account, local day), imported through the importer."""
    from metrics.importing.services import chats_import

    lines = [
        f"S{n:05d},{store.name},{account},tb_{n},{day} 10:00:00,{day} 10:00:20,{day} 10:05:00,3,3"
        for n, (account, day) in enumerate(sessions)
    ]
    batch = chats_import(store=store, file=write(tmp_path / "chats.csv", [CHAT_HEADER, *lines]), user=None)
    assert batch.status == ImportStatus.SUCCEEDED


FIRST = [
    f"E001,王芳,{STORE},售前一组,未来衣橱:客服01,2026-07-01,,是,,",
    f"E002,李娜,{STORE},售前一组,未来衣橱:客服02,2026-07-01,,,,",
    f"E003,张伟,{STORE},售后组,未来衣橱:客服03,2026-07-01,,,,",
]


def test_the_same_roster_twice_changes_nothing(tmp_path, store, task_queue):
    path = _roster(tmp_path, FIRST)
    assert _counts(_import(path)) == (3, 0, 0, 0)
    records = ChangeRecord.objects.count()
    _chats(tmp_path, store, [("未来衣橱:客服01", "2026-08-03")])
    task_queue.calls.clear()
    with task_queue._capture(execute=True):
        batch = _import(path)
    assert _counts(batch) == (0, 0, 3, 0)
    assert ChangeRecord.objects.count() == records
    assert task_queue.of("kpis_recompute_range_task") == []


def test_a_later_roster_moves_a_member_from_the_move_date_and_keeps_the_past(tmp_path, store, task_queue):
    assert _counts(_import(_roster(tmp_path, FIRST))) == (3, 0, 0, 0)
    _chats(tmp_path, store, [(f"未来衣橱:客服0{n}", f"2026-08-{day:02d}") for n in (1, 2, 3) for day in (1, 10, 20)])
    task_queue.calls.clear()
    later = [
        FIRST[0],
        f"E002,李娜,{STORE},售后组,未来衣橱:客服02,2026-07-01,,,,",  # moves to 售后组 …
        FIRST[2],
    ]
    header = HEADER + ",调动日期"
    path = _roster(tmp_path, [line + ",2026-08-10" for line in later], name="later.csv", header=header)
    with task_queue._capture(execute=True):
        batch = _import(path)
    assert _counts(batch) == (0, 1, 2, 0), _errors(batch)
    li = Member.objects.get(employee_number="E002")
    assert _periods(TeamMembership, member=li) == [
        ("售前一组", D(2026, 7, 1), D(2026, 8, 9)),
        ("售后组", D(2026, 8, 10), None),
    ]
    # … from 10 August: only those days are recomputed (the team a day row carries; no re-credit).
    assert task_queue.of("kpis_recompute_range_task") == [(store.pk, "2026-08-10", "2026-08-20", False)]
    # The same later roster again: nothing.
    task_queue.calls.clear()
    with task_queue._capture(execute=True):
        assert _counts(_import(path)) == (0, 0, 3, 0)
    assert task_queue.of("kpis_recompute_range_task") == []


def test_an_account_passes_from_one_member_to_another_on_the_move_date(tmp_path, store, task_queue):
    _import(_roster(tmp_path, FIRST))
    _chats(tmp_path, store, [("未来衣橱:客服03", "2026-08-01"), ("未来衣橱:客服03", "2026-08-20")])
    task_queue.calls.clear()
    header = HEADER + ",调动日期"
    lines = [
        f"E001,王芳,{STORE},售前一组,未来衣橱:客服01 未来衣橱:客服03,2026-07-01,,是,,,2026-08-15",
        FIRST[1] + ",",
        f"E003,张伟,{STORE},售后组,,2026-07-01,,,,,2026-08-15",
    ]
    with task_queue._capture(execute=True):
        batch = _import(_roster(tmp_path, lines, name="later.csv", header=header))
    assert _counts(batch) == (0, 2, 1, 0), _errors(batch)
    assert _periods(AccountAssignment, account__name="未来衣橱:客服03") == [
        ("未来衣橱:客服03", "张伟", D(2026, 7, 1), D(2026, 8, 14)),
        ("未来衣橱:客服03", "王芳", D(2026, 8, 15), None),
    ]
    assert task_queue.of("kpis_recompute_range_task") == [(store.pk, "2026-08-15", "2026-08-20", True)]


def test_a_leave_date_ends_the_team_and_accounts_and_clearing_it_reopens_them(tmp_path, store):
    _import(_roster(tmp_path, FIRST))
    left = [FIRST[0], FIRST[1], f"E003,张伟,{STORE},售后组,未来衣橱:客服03,2026-07-01,2026-08-31,,,"]
    assert _counts(_import(_roster(tmp_path, left, name="left.csv"))) == (0, 1, 2, 0)
    zhang = Member.objects.get(employee_number="E003")
    assert (zhang.leave_date, zhang.active) == (D(2026, 8, 31), False)
    assert _periods(TeamMembership, member=zhang) == [("售后组", D(2026, 7, 1), D(2026, 8, 31))]
    assert _periods(AccountAssignment, member=zhang) == [("未来衣橱:客服03", "张伟", D(2026, 7, 1), D(2026, 8, 31))]
    assert _counts(_import(_roster(tmp_path, left, name="left2.csv"))) == (0, 0, 3, 0)
    # Back (the leave date was a mistake): the periods that ended on it are open again.
    assert _counts(_import(_roster(tmp_path, FIRST, name="back.csv"))) == (0, 1, 2, 0)
    zhang.refresh_from_db()
    assert (zhang.leave_date, zhang.active) == (None, True)
    assert _periods(TeamMembership, member=zhang) == [("售后组", D(2026, 7, 1), None)]


def test_columns_the_file_does_not_have_change_nothing(tmp_path, store):
    _import(_roster(tmp_path, FIRST))
    header = "工号,姓名,店铺,团队,入职日期"
    lines = [f"E001,王芳,{STORE},售前一组,2026-07-01", f"E003,张伟,{STORE},售后组,2026-07-01"]
    assert _counts(_import(_roster(tmp_path, lines, name="short.csv", header=header))) == (0, 0, 2, 0)
    assert AccountAssignment.objects.filter(end_date__isnull=True).count() == 3
    assert Team.objects.get(name="售前一组").lead.employee_number == "E001"


def test_the_lead_flag_sets_and_removes_a_teams_lead(tmp_path, store):
    _import(_roster(tmp_path, FIRST))
    lines = [
        f"E001,王芳,{STORE},售前一组,未来衣橱:客服01,2026-07-01,,否,,",
        f"E002,李娜,{STORE},售前一组,未来衣橱:客服02,2026-07-01,,是,,",
        f"E003,张伟,{STORE},售后组,未来衣橱:客服03,2026-07-01,,否,,",
    ]
    assert _counts(_import(_roster(tmp_path, lines, name="leads.csv"))) == (0, 2, 1, 0)
    assert Team.objects.get(name="售前一组").lead.employee_number == "E002"
    lines[1] = lines[1].replace(",是,", ",否,")
    _import(_roster(tmp_path, lines, name="none.csv"))
    assert Team.objects.get(name="售前一组").lead is None


def test_a_team_kind_column_sets_the_kind_of_new_and_known_teams(tmp_path, store):
    header = HEADER + ",团队类型"
    lines = [FIRST[0] + ",售前", FIRST[1] + ",", FIRST[2] + ",售后客服"]
    assert _counts(_import(_roster(tmp_path, lines, header=header))) == (3, 0, 0, 0)
    assert dict(Team.objects.values_list("name", "kind")) == {
        "售前一组": TeamKind.PRESALES,
        "售后组": TeamKind.AFTERSALES,
    }
    lines[0] = FIRST[0] + ",电销"
    assert _counts(_import(_roster(tmp_path, lines, name="kind.csv", header=header))) == (0, 1, 2, 0)
    assert Team.objects.get(name="售前一组").kind == TeamKind.TELESALES


def test_from_first_activity_starts_a_never_held_account_on_its_first_chat(tmp_path, store):
    _chats(tmp_path, store, [("未来衣橱:客服01", "2026-06-20"), ("未来衣橱:客服02", "2026-06-25")])
    header = HEADER + ",按首次活动起算"
    lines = [
        f"E001,王芳,{STORE},售前一组,未来衣橱:客服01,2026-07-01,,,,,是",
        f"E002,李娜,{STORE},售前一组,未来衣橱:客服02,2026-07-01,,,,,否",
    ]
    assert _counts(_import(_roster(tmp_path, lines, header=header))) == (2, 0, 0, 0)
    assert _periods(AccountAssignment, account__name="未来衣橱:客服01")[0][2] == D(2026, 6, 20)
    assert _periods(TeamMembership, member__employee_number="E001") == [("售前一组", D(2026, 6, 20), None)]
    assert _periods(AccountAssignment, account__name="未来衣橱:客服02")[0][2] == D(2026, 7, 1)


# --- users ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("site_url", ["https://perfmgmt.example.com", ""])
def test_the_logins_a_roster_creates_get_their_invitation_by_e_mail_once_it_commits(
    tmp_path, store, settings, site_url, django_capture_on_commit_callbacks
):
    """With e-mail set up and the site's address known, each new login with an e-mail address is
    sent its one-time link after the import commits; without the address no link can be built in
    a worker, and nothing is sent (the manager sends it from the users page)."""
    from django.core import mail

    settings.EMAIL_CONFIGURED, settings.SITE_URL = True, site_url
    lines = [
        f"E001,王芳,{STORE},售前一组,未来衣橱:客服01,2026-07-01,,,wangfang,wang@example.com",
        f"E002,张伟,{STORE},售后组,未来衣橱:客服03,2026-07-01,,,zhangwei,",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert _counts(_import(_roster(tmp_path, lines))) == (2, 0, 0, 0)
    if not site_url:
        assert mail.outbox == []
        return
    assert [m.to for m in mail.outbox] == [["wang@example.com"]]  # 张伟 has no address
    assert "https://perfmgmt.example.com/accounts/set-password/" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        _import(_roster(tmp_path, lines, name="again.csv"))  # nothing new: nobody invited again
    assert len(mail.outbox) == 1


def test_a_login_creates_a_user_with_no_password_and_hands_it_to_the_invitation(tmp_path, store, monkeypatch):
    invited = []
    monkeypatch.setattr("teams.services.roster.writing.roster_invitations_send",
                        lambda *, users, actor: invited.extend(u.username for u in users))  # fmt: skip
    lines = [
        f"E001,王芳,{STORE},售前一组,未来衣橱:客服01,2026-07-01,,,wangfang,wang@example.com",
        f"E002,李娜,{STORE},售前一组,未来衣橱:客服02,2026-07-01,,,,li@example.com",
        f"E003,张伟,{STORE},售后组,未来衣橱:客服03,2026-07-01,,,,",
    ]
    path = _roster(tmp_path, lines)
    assert _counts(_import(path)) == (3, 0, 0, 0)
    wang = Member.objects.get(employee_number="E001").user
    assert (wang.username, wang.email, wang.has_usable_password()) == ("wangfang", "wang@example.com", False)
    assert Member.objects.get(employee_number="E002").user.username == "li@example.com"
    assert Member.objects.get(employee_number="E003").user is None
    assert invited == ["wangfang", "li@example.com"]
    assert _counts(_import(path)) == (0, 0, 3, 0) and len(invited) == 2
    # A login added later links the known member; a changed e-mail is updated.
    lines[2] = lines[2][: -len(",,")] + ",zhangwei,"
    lines[0] = lines[0].replace("wang@example.com", "fang@example.com")
    assert _counts(_import(_roster(tmp_path, lines, name="users.csv"))) == (0, 2, 1, 0)
    assert Member.objects.get(employee_number="E003").user.username == "zhangwei"
    assert get_user_model().objects.get(username="wangfang").email == "fang@example.com"
    assert invited == ["wangfang", "li@example.com", "zhangwei"]


# --- row errors -----------------------------------------------------------------------------------


def test_row_errors_name_the_line_column_value_and_reason_and_nothing_is_written(tmp_path, store):
    other = MemberFactory(display_name="赵磊", employee_number="X9")
    TeamMembershipFactory(member=other, team=TeamFactory(store=store, name="老团队"), start_date=D(2026, 1, 1))
    AccountAssignmentFactory(account=PlatformAccountFactory(store=store, name="未来衣橱:客服09"), member=other,
                             start_date=D(2026, 1, 1))  # fmt: skip
    header = HEADER + ",团队类型"
    lines = [
        f"E001,王芳,{STORE},售前一组,未来衣橱:客服01,2026-07-01,,,,,售前",  # line 2: fine
        f"E002,李娜,{STORE},售前一组,未来衣橱:客服02,2026-13-01,,,,,",  # 3: not a date
        f"E003,张伟,{STORE},售后组,未来衣橱:客服03,2026-07-01,2026-06-30,,,,",  # 4: leaves before hired
        f"E004,刘洋,{STORE},售后组,未来衣橱:客服09,2026-07-01,,,,,",  # 5: 赵磊 holds 客服09
        f"E005,陈静,{STORE},售后组,未来衣橱:客服05,2026-07-01,,,,,客服部",  # 6: unknown kind
        f"E001,王芳,{STORE},售前一组,,2026-07-01,,,,,",  # 7: employee number twice
        f"E006,杨敏,{STORE},售前一组,未来衣橱:客服01,2026-07-01,,,,,",  # 8: account on line 2 too
        f"E007,黄丽,{STORE},售前一组,,2026-07-01,,,,bad mail,",  # 9: not an e-mail
    ]
    batch = _import(_roster(tmp_path, lines, header=header))
    assert batch.status == ImportStatus.FAILED
    assert _counts(batch) == (0, 0, 0, 7)
    assert _errors(batch) == [
        (3, "入职日期", "2026-13-01", "Not a date (like 2026-08-01 or 2026/8/1)."),
        (4, "离职日期", "2026-06-30", "The leave date is before the hire date."),
        (5, "子账号", "未来衣橱:客服09",
         "赵磊 holds the account 未来衣橱:客服09 on some of these days (from 2026-01-01): an account belongs to one "
         "member at a time. Leave it off their row, or give a move date after their last day."),
        (6, "团队类型", "客服部",
         "Unknown team kind. Use 售前/pre-sales, 售后/after-sales, 网销/online sales, 电销/telesales or 运营/operations."),
        (7, "工号", "E001", "This employee number is already on line 2."),
        (8, "子账号", "未来衣橱:客服01",
         "The account 未来衣橱:客服01 is also listed on line 2: an account belongs to one member at a time."),
        (9, "邮箱", "bad mail", "Not a valid e-mail address."),
    ]  # fmt: skip
    with translation.override("zh-hans"):
        reasons = [e.reason_text for e in batch.row_errors.order_by("line")]
    assert (
        reasons[1] == "离职日期早于入职日期。"
        and "赵磊" in reasons[2]
        and "一个账号同一时间只属于一名成员" in reasons[2]
    )
    assert not Member.objects.filter(employee_number__startswith="E").exists()
    assert not Team.objects.filter(name="售前一组").exists() and not ChangeRecord.objects.exists()
    # Importing the valid rows writes line 2 only.
    batch = _import(_roster(tmp_path, lines, name="again.csv", header=header), skip_invalid=True)
    assert (batch.status, _counts(batch)) == (ImportStatus.SUCCEEDED, (1, 0, 0, 7))
    assert list(Member.objects.filter(employee_number__startswith="E").values_list("employee_number", flat=True)) == [
        "E001"
    ]


def test_moves_that_would_rewrite_history_are_refused(tmp_path, store):
    _import(_roster(tmp_path, FIRST))
    header = HEADER + ",调动日期"
    lines = [
        f"E001,王芳,{STORE},售后组,未来衣橱:客服01,2026-07-01,,,,,2026-07-01",  # team began that day
        f"E002,李娜,{STORE},售前一组,,2026-07-01,,,,,2026-06-15",  # drops 客服02, held from 07-01
        f"E003,张伟,{STORE},售前一组,未来衣橱:客服03,2026-07-01,2026-08-31,,,,2026-09-10",  # moves after leaving
    ]
    batch = _import(_roster(tmp_path, lines, name="bad.csv", header=header))
    assert _errors(batch) == [
        (2, "调动日期", "2026-07-01", "The member is in 售前一组 from 2026-07-01: a change of team takes effect "
                                      "after that. Give a later move date (调动日期)."),
        (3, "子账号", "未来衣橱:客服02", "The member has held 未来衣橱:客服02 since 2026-07-01, so it cannot end "
                                       "before that: give a later move date."),
        (4, "离职日期", "2026-08-31", "The change would take effect on 2026-09-10, after the leave date: give a "
                                      "move date on or before it."),
    ]  # fmt: skip


def test_logins_taken_or_different_and_two_leads_are_refused(tmp_path, store):
    UserFactory(username="manager")
    _import(_roster(tmp_path, [FIRST[0][:-1] + "wangfang,", FIRST[1], FIRST[2]]))
    lines = [
        f"E001,王芳,{STORE},售前一组,未来衣橱:客服01,2026-07-01,,是,fang,",  # already logs in as wangfang
        f"E002,李娜,{STORE},售前一组,未来衣橱:客服02,2026-07-01,,是,manager,",  # someone else's login
        f"E003,张伟,{STORE},售后组,未来衣橱:客服03,2026-07-01,,,,",
        f"E004,刘洋,{STORE},售后组,,2026-07-01,,是,,",
        f"E005,陈静,{STORE},售后组,,2026-07-01,,是,,",  # a second lead for 售后组
    ]
    batch = _import(_roster(tmp_path, lines, name="bad.csv"))
    assert [(line, column, reason) for line, column, _value, reason in _errors(batch)] == [
        (2, "登录名", "The member already logs in as wangfang."),
        (3, "登录名", "The login name manager is already someone else's."),
        (6, "组长", "Line 5 already names the lead of this team."),
    ]


def test_an_account_held_by_a_member_whose_row_is_rejected_stays_theirs(tmp_path, store):
    """A row that gives up an account but is itself rejected keeps it: the row that takes it
    over is rejected in turn (with "skip invalid rows", the others are imported)."""
    _import(_roster(tmp_path, FIRST))
    header = HEADER + ",调动日期"
    lines = [
        f"E001,王芳,{STORE},售前一组,未来衣橱:客服01 未来衣橱:客服03,2026-07-01,,是,,,2026-08-15",
        FIRST[1] + ",",
        f"E003,张伟,{STORE},售后组,,2026-07-01,,,,,2026-06-01",  # drops 客服03 before it began
    ]
    batch = _import(_roster(tmp_path, lines, name="later.csv", header=header), skip_invalid=True)
    assert [(line, column) for line, column, _value, _reason in _errors(batch)] == [(2, "子账号"), (4, "子账号")]
    assert _counts(batch) == (0, 0, 1, 2)
    assert _periods(AccountAssignment, account__name="未来衣橱:客服03") == [
        ("未来衣橱:客服03", "张伟", D(2026, 7, 1), None)
    ]


# --- the command line, the page, the API, and who may import ---------------------------------------


def test_the_command_prints_the_summary_line(tmp_path, store, capsys):
    path = _roster(tmp_path, FIRST)
    call_command("import_data", "roster", str(path))
    assert capsys.readouterr().out.strip() == "inserted=3 updated=0 unchanged=0 rejected=0"
    call_command("import_data", "roster", str(path))
    assert capsys.readouterr().out.strip() == "inserted=0 updated=0 unchanged=3 rejected=0"
    bad = _roster(tmp_path, [f"E009,某人,{STORE},售前一组,,2026-07-01,2026-06-01,,,"], name="bad.csv")
    with pytest.raises(CommandError, match="1 rows are invalid"):
        call_command("import_data", "roster", str(bad))
    assert capsys.readouterr().out.strip() == "inserted=0 updated=0 unchanged=0 rejected=1"


def _upload(name: str, *lines: str, header: str = HEADER) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join([header, *lines]) + "\n").encode("utf-8-sig"), content_type="text/csv")


def test_a_manager_uploads_a_roster_on_the_page_into_their_store_only(
    client_for, org, task_queue, django_capture_on_commit_callbacks
):
    client = client_for(org.users["manager_s1"])
    s1, s2 = org.s1.name, org.s2.name
    upload = _upload(
        "花名册.csv",
        f"N001,新人甲,{s1},{org.x.name},{s1[:4]}:客服n1,2026-07-01,,,newbie,",
        f"N002,新人乙,{s2},{org.z.name},,2026-07-01,,,,",  # a store the manager does not manage
        f"{org.d.employee_number},{org.d.display_name},{s1},{org.x.name},,2026-07-01,,,,",  # D is of store 2
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/data/imports/new/", {"files": [upload], "kind": "roster", "skip_invalid": "on"})
    batch = ImportBatch.objects.get()
    assert response.url == f"/data/imports/{batch.pk}/"
    task_queue.run_all()
    batch.refresh_from_db()
    assert (batch.kind, batch.status, _counts(batch)) == ("roster", ImportStatus.SUCCEEDED, (1, 0, 0, 2))
    with translation.override("en"):
        assert [(line, reason) for line, _column, _value, reason in _errors(batch)] == [
            (3, "This row belongs to another store than the one chosen for the import."),
            (4, "This employee number belongs to a member of a store you do not manage."),
        ]
    newbie = Member.objects.get(employee_number="N001")
    assert newbie.user.username == "newbie" and _periods(TeamMembership, member=newbie)[0][0] == org.x.name
    assert ChangeRecord.objects.filter(actor=org.users["manager_s1"]).exists()
    assert not ChangeRecord.objects.exclude(actor=org.users["manager_s1"]).exists()
    page = client.get(f"/data/imports/{batch.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Roster (people)" in page and "This employee number belongs to a member" in page


def test_an_admin_uploads_a_roster_through_the_api_and_creates_stores(
    api_for, org, task_queue, django_capture_on_commit_callbacks
):
    api = api_for(org.users["admin"])
    upload = _upload("roster.csv", "N001,新人甲,新开的店,售前组,新开:客服01,2026-07-01,,是,,")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/imports/batches/", {"file": upload, "kind": "roster"}, format="multipart")
    assert response.status_code == 201, response.content
    task_queue.run_all()
    batch = api.get(f"/api/imports/batches/{response.json()['id']}/").json()
    assert (batch["status"], batch["kind"], batch["inserted"], batch["rejected"]) == ("succeeded", "roster", 1, 0)
    store = Store.objects.get(name="新开的店")
    assert batch["stores"] == [store.pk]
    assert Team.objects.get(store=store, name="售前组").lead.employee_number == "N001"
    # The change log holds each object, by the importing user, with the file as the reason.
    kinds = set(ChangeRecord.objects.values_list("object_type", "action", "actor__username", "reason"))
    assert kinds == {
        (f"teams.{model}", "created", "admin", "roster.csv")
        for model in ("store", "team", "member", "teammembership", "platformaccount", "accountassignment")
    }


def test_hr_may_not_import_a_roster(client_for, api_for, org):
    assert client_for(org.users["hr"]).get("/data/imports/new/").status_code == 403
    upload = _upload("roster.csv", f"N001,新人甲,{org.s1.name},X,,2026-07-01,,,,")
    response = api_for(org.users["hr"]).post("/api/imports/batches/", {"file": upload, "kind": "roster"},
                                            format="multipart")  # fmt: skip
    assert response.status_code == 403 and not ImportBatch.objects.exists()


def test_the_change_log_page_shows_the_roster_to_hr(tmp_path, client_for, org):
    path = _roster(tmp_path, [f"N001,新人甲,{org.s1.name},{org.x.name},,2026-07-01,,,,"])
    roster_import(store=None, file=path, user=org.users["admin"])
    page = client_for(org.users["hr"]).get("/org/changes/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "新人甲" in page and "roster.csv" in page


def test_a_cleared_leave_date_does_not_reopen_an_account_someone_else_took_over(tmp_path, store):
    left = [FIRST[0], FIRST[1], f"E003,张伟,{STORE},售后组,未来衣橱:客服03,2026-07-01,2026-08-31,,,"]
    _import(_roster(tmp_path, left))
    header = HEADER + ",调动日期"
    taken = [line + "," for line in left[:2]] + [
        left[2] + ",",
        f"E004,刘洋,{STORE},售后组,未来衣橱:客服03,2026-09-01,,,,,",
    ]
    batch = _import(_roster(tmp_path, taken, name="taken.csv", header=header))
    assert _counts(batch) == (1, 0, 3, 0), _errors(batch)
    # Without the 子账号 column, 张伟's row still keeps his account: clearing his leave date would
    # give it back to him from 1 September, when 刘洋 has it.
    short = "工号,姓名,店铺,团队,入职日期,离职日期"
    batch = _import(_roster(tmp_path, [f"E003,张伟,{STORE},售后组,2026-07-01,"], name="back.csv", header=short))
    assert [(line, column, value) for line, column, value, _reason in _errors(batch)] == [
        (2, "platform accounts", "未来衣橱:客服03")  # the file has no such column: the field's name
    ]
    assert "刘洋 holds the account 未来衣橱:客服03" in _errors(batch)[0][3]
    assert Member.objects.get(employee_number="E003").leave_date == D(2026, 8, 31)


def test_a_manager_cannot_change_the_e_mail_of_a_login_with_roles(tmp_path, org):
    manager = org.users["manager_s1"]
    org.users["lead_x"].email = "lead@example.com"
    org.users["lead_x"].save()
    RoleGrantFactory(user=org.users["lead_x"], role=Role.MANAGER, store=org.s1)
    number, name = org.lead_x.employee_number, org.lead_x.display_name
    line = f"{number},{name},{org.s1.name},{org.x.name},,2025-01-01,,,,mine@example.com"
    path = _roster(tmp_path, [line], header="工号,姓名,店铺,团队,子账号,入职日期,离职日期,组长,登录名,邮箱")
    batch = roster_import(store=org.s1, file=path, user=manager)
    assert [(column, reason) for _line, column, _value, reason in _errors(batch)] == [
        ("邮箱", "lead_x holds roles of its own: only an administrator can change its e-mail address.")
    ]
    assert _counts(roster_import(store=org.s1, file=path, user=org.users["admin"])) == (0, 1, 0, 0)
    assert get_user_model().objects.get(username="lead_x").email == "mine@example.com"


def test_the_sample_roster_imports_as_documented(capsys):
    """docs/samples/roster.csv (docs/imports.md) into an empty database, by the command line."""
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "docs" / "samples" / "roster.csv"
    call_command("import_data", "roster", str(sample))
    assert capsys.readouterr().out.strip() == "inserted=5 updated=0 unchanged=0 rejected=0"
    assert set(Store.objects.values_list("name", flat=True)) == {"衣衣风尚专营店", "Mirror Home Store"}
    assert Team.objects.get(name="售后客服组").kind == TeamKind.AFTERSALES
    assert Member.objects.get(employee_number="E2003").account_assignments.count() == 2
    assert get_user_model().objects.filter(member__isnull=False).count() == 3

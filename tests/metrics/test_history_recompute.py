"""A change of who held an account, of a member's team or a departure recomputes exactly the
store-days it moves, on commit: the pages say their figures are updating until the warm-up, then
show the new ones."""

import datetime as dt
from decimal import Decimal

import pytest

from metrics.kpis.cache import stores_refreshing
from metrics.kpis.services import kpis_history_recompute_queue
from metrics.models import MemberDay, Order
from teams.models import Role
from teams.services.accounts import account_assign
from teams.services.history import StoreDays
from teams.services.members import members_deactivate_departed, membership_move
from tests.factories import PlatformAccountFactory, RoleGrantFactory, TeamFactory, UserFactory
from tests.metrics.helpers import Shop
from tests.metrics.test_dashboard_views import card_value

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def shop(tmp_path) -> Shop:
    """A sells on 3 and 20 August; the unassigned account E chats and sells on 5 and 15 August
    (buyers e5, e15: 400 and 500)."""
    shop = Shop(tmp_path)
    shop.accounts["E"] = PlatformAccountFactory(store=shop.store, name="衣衣风尚:客服E")
    for day, amount in ((3, "100.00"), (20, "200.00")):
        shop.chat("A", f"a{day}", dt.datetime(2026, 8, day, 10))
        shop.order(f"a{day}", dt.datetime(2026, 8, day, 11), amount)
    for day, amount in ((5, "400.00"), (15, "500.00")):
        shop.chat("E", f"e{day}", dt.datetime(2026, 8, day, 10))
        shop.order(f"e{day}", dt.datetime(2026, 8, day, 11), amount)
    shop.load()
    return shop


def test_the_queue_cuts_each_span_to_the_days_with_data(shop, task_queue, django_capture_on_commit_callbacks):
    other = TeamFactory().store  # a store without data
    with django_capture_on_commit_callbacks(execute=True):  # recorded, then sent on commit
        queued = kpis_history_recompute_queue(
            spans=[
                StoreDays(shop.store.pk, D(2026, 8, 10), None, True),
                StoreDays(other.pk, D(2026, 8, 10), None, True),
            ]
        )
    # Open: to the store's last day with data (the order of the 20th); no data, nothing queued.
    assert queued == [(shop.store.pk, D(2026, 8, 10), D(2026, 8, 20))]
    assert task_queue.of("kpis_recompute_range_task") == [(shop.store.pk, "2026-08-10", "2026-08-20", True)]
    assert stores_refreshing(store_ids=[shop.store.pk]) and not stores_refreshing(store_ids=[other.pk])
    # Before the first day with data, and after the last: nothing.
    assert kpis_history_recompute_queue(spans=[StoreDays(shop.store.pk, D(2026, 1, 1), D(2026, 7, 31), False)]) == []
    assert kpis_history_recompute_queue(spans=[StoreDays(shop.store.pk, D(2026, 8, 21), None, True)]) == []
    # Bounded on both sides by the data.
    with django_capture_on_commit_callbacks(execute=True):
        kpis_history_recompute_queue(spans=[StoreDays(shop.store.pk, D(2026, 7, 1), D(2026, 12, 31), False)])
    assert task_queue.of("kpis_recompute_range_task")[1] == (shop.store.pk, "2026-08-03", "2026-08-20", False)


def test_an_assignment_from_a_past_day_updates_the_figures(
    shop, task_queue, client, django_capture_on_commit_callbacks
):
    manager = UserFactory(username="manager")
    RoleGrantFactory(user=manager, role=Role.MANAGER, store=shop.store)
    client.force_login(manager)
    a = shop.members["A"]
    page = "/dashboard/"  # the team's: A is its only seller
    august = {"team": shop.team.pk, "preset": "custom", "start": "2026-08-01", "end": "2026-08-31"}
    assert card_value(client.get(page, august, HTTP_ACCEPT_LANGUAGE="en").content.decode(), "gmv") == "¥300.00"
    assert shop.row("A")["gmv"] == Decimal("300.00")

    account = shop.accounts["E"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/org/accounts/{account.pk}/assign/",
            {f"a{account.pk}-member": a.pk, f"a{account.pk}-start_date": "2026-08-10"},
        )
    assert response.status_code == 302
    # Exactly the account's store, from the first day A held it to the store's last day with data.
    assert task_queue.of("kpis_recompute_range_task") == [(shop.store.pk, "2026-08-10", "2026-08-20", True)]
    # Until the warm-up, the pages say so (and show what they showed before).
    html = client.get(page, august, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="refreshing"' in html and card_value(html, "gmv") == "¥300.00"
    assert client.get("/api/dashboards/team/", {"team": shop.team.pk}).json()["updating"] is True

    assert task_queue.run_all() == ["kpis_recompute_range_task", "dashboards_warm_task", "appraisals_follow_data_task"]
    html = client.get(page, august, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="refreshing"' not in html
    # The 15th's order is A's now; the 5th's, before A held the account, is still nobody's.
    assert card_value(html, "gmv") == "¥800.00" and shop.row("A")["gmv"] == Decimal("800.00")
    assert Order.objects.get(buyer="e15").credited_member_id == a.pk
    assert Order.objects.get(buyer="e5").credited_member_id is None


def test_a_team_move_rebuilds_the_days_without_re_crediting(shop, task_queue, monkeypatch,
                                                             django_capture_on_commit_callbacks):  # fmt: skip
    a, other = shop.members["A"], TeamFactory(store=shop.store, name="售后")
    with django_capture_on_commit_callbacks(execute=True):
        membership_move(member=a, team=other, start_date=D(2026, 8, 10))
    assert task_queue.of("kpis_recompute_range_task") == [(shop.store.pk, "2026-08-10", "2026-08-20", False)]
    # A team does not move an order's credit: the recompute does not read the orders again.
    monkeypatch.setattr("metrics.kpis.services.attribution_recompute", lambda **kw: 1 / 0)
    task_queue.run_all()
    teams = dict(MemberDay.objects.filter(member=a).values_list("date", "team_id"))
    assert teams == {D(2026, 8, 3): shop.team.pk, D(2026, 8, 20): other.pk}


def test_a_departure_moves_the_days_after_the_leave_date_to_nobody(shop, task_queue,
                                                                   django_capture_on_commit_callbacks):  # fmt: skip
    a = shop.members["A"]
    a.leave_date = D(2026, 8, 15)
    a.save()
    with django_capture_on_commit_callbacks(execute=True):
        members_deactivate_departed(today=D(2026, 8, 16))
    assert task_queue.of("kpis_recompute_range_task") == [(shop.store.pk, "2026-08-16", "2026-08-20", True)]
    task_queue.run_all()
    assert shop.row("A")["gmv"] == Decimal("100.00")  # the 20th's order is nobody's now
    assert Order.objects.get(buyer="a20").credited_member_id is None


def test_nothing_is_queued_for_a_change_that_changes_nothing_or_is_rolled_back(shop, task_queue,
                                                                               django_capture_on_commit_callbacks):  # fmt: skip
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True):
        account_assign(account=shop.accounts["A"], member=shop.members["A"], start_date=D(2026, 8, 1))
        with pytest.raises(RuntimeError), transaction.atomic():
            account_assign(account=shop.accounts["E"], member=shop.members["A"], start_date=D(2026, 8, 10))
            raise RuntimeError("rolled back")
    assert task_queue.calls == [] and not stores_refreshing(store_ids=[shop.store.pk])

"""The rollup months behind every KPI table: read once, cached by the store's data version, never
stale, never cached from a transaction that may roll back, the same rows as the database holds."""

import datetime as dt

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from metrics.db import store_months_bump
from metrics.kpis import frames as rollup_frames
from metrics.kpis.frames import month_versions, piece_key, rollup_frames_get, rollup_memory_clear
from metrics.kpis.rollups import rollup_partition_recompute
from metrics.models import ChatSession, InquiryBuyerDay, MemberDay, StoreBuyerDay
from teams.models import TeamMembership
from tests.factories import MemberFactory, StoreFactory, TeamFactory
from tests.metrics.helpers import AUGUST, Shop

pytestmark = pytest.mark.django_db
SEPTEMBER = (dt.date(2026, 9, 1), dt.date(2026, 9, 30))


def _version(store_id: int, month: dt.date) -> int:
    return month_versions([store_id], [month]).get((store_id, month), 0)


def _key(store_id: int, month: dt.date, table: str = "buyers") -> str:
    return piece_key(store_id, month, _version(store_id, month), table)


@pytest.fixture
def shop(tmp_path) -> Shop:
    """Chats across the end of August (two rollup months), one buyer in both, one order."""
    shop = Shop(tmp_path)
    shop.chat("A", "tb_both", dt.datetime(2026, 8, 31, 10))
    shop.chat("A", "tb_both", dt.datetime(2026, 9, 1, 10))
    shop.chat("A", "tb 空格 ＝cmd", dt.datetime(2026, 8, 15, 9))
    shop.chat("B", "买家小王", dt.datetime(2026, 9, 2, 23, 30))
    shop.order("tb_both", dt.datetime(2026, 9, 1, 11), "120.00")
    shop.load()
    return shop


def _rollup_queries(queries) -> list[str]:
    tables = ("metrics_memberday", "metrics_inquirybuyerday", "metrics_storeday", "metrics_storebuyerday")
    return [q["sql"] for q in queries if any(table in q["sql"] for table in tables)]


def test_a_month_is_read_once_then_from_memory_then_from_the_shared_cache(shop):
    store = shop.store.pk
    with CaptureQueriesContext(connection) as first:
        rollup_frames_get(store_ids=[store], start=AUGUST[0], end=SEPTEMBER[1])
    assert len(_rollup_queries(first)) == 8  # two months × four tables
    with CaptureQueriesContext(connection) as again:
        frames = rollup_frames_get(store_ids=[store], start=AUGUST[0], end=SEPTEMBER[1])
    assert _rollup_queries(again) == [] and len(again) == 1  # only the months' versions
    assert cache.get(_key(store, dt.date(2026, 8, 1))) is not None
    rollup_memory_clear()  # another process: the shared cache has the months
    with CaptureQueriesContext(connection) as shared:
        from_cache = rollup_frames_get(store_ids=[store], start=AUGUST[0], end=SEPTEMBER[1])
    assert _rollup_queries(shared) == []
    for name in frames:
        assert from_cache[name].names == frames[name].names
        for column in frames[name].names:
            assert np.array_equal(from_cache[name][column], frames[name][column])


def test_the_rows_are_the_databases_and_a_buyer_has_one_code_across_months(shop):
    frames = rollup_frames_get(store_ids=[shop.store.pk], start=dt.date(2026, 8, 15), end=dt.date(2026, 9, 1))
    buyers = frames["buyers"]
    expected = InquiryBuyerDay.objects.filter(
        store=shop.store, date__range=(dt.date(2026, 8, 15), dt.date(2026, 9, 1))
    ).order_by("date")
    assert [d.astype("datetime64[D]").item() for d in buyers["date"]] == [row.date for row in expected]
    assert buyers["member_id"].tolist() == [row.member_id for row in expected]
    assert buyers["hour"].tolist() == [row.hour for row in expected]
    assert buyers["paid"].tolist() == [row.paid for row in expected]
    names = [row.buyer for row in expected]
    assert "tb 空格 ＝cmd" in names
    codes = buyers["buyer"].tolist()
    # The same name, one code (31 Aug and 1 Sep are two cached months); different names, different codes.
    assert len(set(codes)) == len(set(names))
    assert {code for code, name in zip(codes, names, strict=True) if name == "tb_both"} == {
        codes[names.index("tb_both")]
    }
    # The range's edges: 15 Aug and 1 Sep are in it, 2 Sep is not.
    assert frames["buyers"]["date"].min() == np.datetime64("2026-08-15") and len(codes) == 3
    store_buyers = frames["store_buyers"]
    assert store_buyers["paid_orders"].tolist() == [1] and store_buyers["gmv_cents"].tolist() == [12000]
    kpis = shop.table(start=dt.date(2026, 8, 31), end=dt.date(2026, 9, 1))
    row = kpis.loc[kpis["entity_id"] == shop.members["A"].pk].iloc[0]
    assert (row["sessions"], row["inquiring_buyers"], row["paid_buyers"]) == (2, 1, 1)  # one buyer on two days


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's; SQLite reads rows")
def test_copy_and_fetched_rows_are_the_same_chunk(shop):
    # A buyer-day without a member (an account nobody was assigned): a NULL the CSV must keep; an
    # empty name and one with a quote and a comma, which CSV must carry through as they are.
    for buyer in ("", 'tb_"quoted, comma"', "two\nlines\r\n"):
        InquiryBuyerDay.objects.create(store=shop.store, date=dt.date(2026, 8, 20), hour=8, buyer=buyer)
    for name, table in rollup_frames.ROLLUP_TABLES.items():
        copied = rollup_frames._read_postgresql(table, shop.store.pk, AUGUST[0], SEPTEMBER[1])
        fetched = rollup_frames._read_other(table, shop.store.pk, AUGUST[0], SEPTEMBER[1])
        assert copied.num_rows == fetched.num_rows > 0, name
        assert sorted(copied.to_pylist(), key=repr) == sorted(fetched.to_pylist(), key=repr), name
    names = rollup_frames._read_postgresql(rollup_frames.ROLLUP_TABLES["buyers"], shop.store.pk, *AUGUST)["buyer"]
    assert {"", 'tb_"quoted, comma"', "two\nlines\r\n"} <= set(names.to_pylist())


def test_a_rebuild_makes_its_own_months_stale_and_only_those(shop):
    before = shop.row("A", start=AUGUST[0], end=SEPTEMBER[1])
    august = _version(shop.store.pk, dt.date(2026, 8, 1))
    shop.chat("A", "tb_new", dt.datetime(2026, 9, 5, 10))
    shop.load()  # import and recompute of the days touched: September's version moves
    assert _version(shop.store.pk, dt.date(2026, 8, 1)) == august
    with CaptureQueriesContext(connection) as queries:
        after = shop.row("A", start=AUGUST[0], end=SEPTEMBER[1])
    read = _rollup_queries(queries)
    assert read and all("2026-09-01" in sql for sql in read)  # September read again, August cached
    assert (before["sessions"], after["sessions"]) == (3, 4)
    assert after["inquiring_buyers"] == before["inquiring_buyers"] + 1


def test_rows_of_a_transaction_that_rolls_back_never_reach_the_cache(shop):
    store = shop.store
    september = _version(store.pk, SEPTEMBER[0])
    august_days = MemberDay.objects.filter(store=store, date__range=AUGUST).count()
    assert august_days == 2  # A on 15 and 31 August
    rollup_memory_clear()
    cache.clear()

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        MemberDay.objects.filter(store=store).delete()
        ChatSession.objects.filter(store=store, started_date__range=AUGUST).delete()
        rollup_partition_recompute(store=store, start=AUGUST[0], end=SEPTEMBER[1])  # August's rows gone
        assert _version(store.pk, SEPTEMBER[0]) not in (0, september)
        frames = rollup_frames_get(store_ids=[store.pk], start=AUGUST[0], end=AUGUST[1])
        assert frames["days"].empty  # this transaction's own view
        assert cache.get(_key(store.pk, dt.date(2026, 8, 1), "days")) is None
        raise Rollback
    assert _version(store.pk, SEPTEMBER[0]) == september
    assert len(rollup_frames_get(store_ids=[store.pk], start=AUGUST[0], end=AUGUST[1])["days"]) == august_days


def test_rows_never_rebuilt_by_the_service_are_read_fresh():
    """Rows written by hand have no data version: nothing would tell the cache they changed."""
    store = StoreFactory()
    team = TeamFactory(store=store)
    member = MemberFactory()
    MemberDay.objects.create(store=store, date=dt.date(2026, 8, 3), member=member, team=team, sessions=4)
    assert rollup_frames_get(store_ids=[store.pk], start=AUGUST[0], end=AUGUST[1])["days"]["sessions"].tolist() == [4]
    MemberDay.objects.filter(store=store).update(sessions=9)
    StoreBuyerDay.objects.create(store=store, date=dt.date(2026, 8, 4), buyer="tb_1", paid_orders=1, gmv_cents=100)
    frames = rollup_frames_get(store_ids=[store.pk], start=AUGUST[0], end=AUGUST[1])
    assert frames["days"]["sessions"].tolist() == [9] and len(frames["store_buyers"]) == 1


def test_the_memory_keeps_the_most_recently_used_months_within_its_budget(shop):
    store = shop.store.pk
    rollup_frames_get(store_ids=[store], start=AUGUST[0], end=SEPTEMBER[1], tables=("buyers",))
    memory = rollup_frames._memory
    sizes = [memory.get(_key(store, month)).nbytes for month in (AUGUST[0], SEPTEMBER[0])]
    rollup_memory_clear()
    budget_mb = (max(sizes) + min(sizes) // 2) / 1024 / 1024  # room for one month, not two
    with override_settings(ROLLUP_MEMORY_MB=budget_mb):
        rollup_frames_get(store_ids=[store], start=AUGUST[0], end=SEPTEMBER[1], tables=("buyers",))
        assert memory.get(_key(store, AUGUST[0])) is None  # used first, dropped
        assert memory.get(_key(store, SEPTEMBER[0])) is not None


def test_only_the_tables_asked_for_are_read(shop):
    rollup_memory_clear()
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        rollup_frames_get(store_ids=[shop.store.pk], start=AUGUST[0], end=AUGUST[1], tables=("days", "buyers"))
    read = _rollup_queries(queries)
    assert len(read) == 2 and not any("storebuyerday" in sql or "metrics_storeday" in sql for sql in read)


def test_cached_rows_cannot_be_written_into(shop):
    """Every reader shares the cached arrays: a write into one would change every later page."""
    frames = rollup_frames_get(store_ids=[shop.store.pk], start=AUGUST[0], end=AUGUST[1])
    with pytest.raises(ValueError, match="read-only"):
        frames["days"]["sessions"][0] = 99
    assert rollup_frames_get(store_ids=[shop.store.pk], start=AUGUST[0], end=AUGUST[1])["days"]["sessions"][0] != 99


def test_buyer_codes_follow_the_names_order_not_the_rows(shop):
    """A piece read again (evicted, expired) must give the same codes: the unified codes of a set
    of pieces are kept by the pieces' keys."""
    shop.chat("C", "aaa_last_to_chat", dt.datetime(2026, 9, 20, 10))  # first by name, last by day
    shop.load()
    table = rollup_frames._rows_read(shop.store.pk, AUGUST[0], SEPTEMBER[1], "buyers")
    assert table.column("buyer").to_pylist()[-1] == "aaa_last_to_chat"  # the rows are in date order
    dictionary = table.column("buyer").combine_chunks().dictionary.to_pylist()
    assert dictionary == sorted(set(dictionary)) and len(dictionary) == 4


def test_a_range_of_centuries_costs_a_few_queries(shop):
    with CaptureQueriesContext(connection) as queries:
        wide = shop.table(level="store", grain="month", start=dt.date(1900, 1, 1), end=dt.date(2999, 12, 31))
    # Two versioned months (four tables each) and, per table, the two runs of months without data.
    assert len(_rollup_queries(queries)) <= 2 * 4 + 2 * 4
    narrow = shop.table(level="store", grain="month", start=AUGUST[0], end=SEPTEMBER[1])
    assert wide.to_dict("records") == narrow.to_dict("records")


def test_deleting_a_team_or_a_member_makes_their_stores_months_stale(shop):
    store = shop.store.pk
    before = rollup_frames_get(store_ids=[store], start=AUGUST[0], end=SEPTEMBER[1], tables=("days",))["days"]
    assert set(before["team_id"].tolist()) == {shop.team.pk}
    versions = month_versions([store], [AUGUST[0], SEPTEMBER[0]])
    TeamMembership.objects.filter(team=shop.team).delete()  # memberships protect a team
    shop.team.delete()  # the rollups keep their rows, without a team
    assert month_versions([store], [AUGUST[0], SEPTEMBER[0]]).keys() == versions.keys()
    assert all(month_versions([store], [m])[store, m] != versions[store, m] for m in (AUGUST[0], SEPTEMBER[0]))
    after = rollup_frames_get(store_ids=[store], start=AUGUST[0], end=SEPTEMBER[1], tables=("days",))["days"]
    assert len(after) == len(before) and np.isnan(after["team_id"]).all()
    shop.members["B"].delete()  # their rollup rows go with them
    left = rollup_frames_get(store_ids=[store], start=AUGUST[0], end=SEPTEMBER[1], tables=("days",))["days"]
    assert shop.members["B"].pk not in set(left["member_id"].tolist()) and len(left) == len(before) - 1


def test_a_rebuild_of_no_days_changes_no_version(shop):
    versions = month_versions([shop.store.pk], [AUGUST[0], SEPTEMBER[0]])
    store_months_bump(shop.store.pk, SEPTEMBER[0], AUGUST[1])  # end before start: no month
    assert month_versions([shop.store.pk], [AUGUST[0], SEPTEMBER[0]]) == versions

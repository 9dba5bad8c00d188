"""What the dashboards show, read from the day rollups only.

Each dashboard reads its rollup rows once (metrics.kpis.selectors.MemberRows) for the widest
range it needs and computes every table from them with the registry formulas: the cards, the
trend, the leaderboard and its sparklines, the volume vs price points, the conversion heatmap's
cells, the response distribution and the alerts. The store funnel and the RFM summary are two
more small reads; the targets come from metrics.targets.progress, the sales teams' pipeline and
calls from metrics.pipeline.reports. No figure and no link here: the presentation
(metrics.dashboards.presenters) draws them from these data.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Min, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from metrics.kpis.analytics import (
    HEATMAP_MIN_INQUIRIES,
    SEGMENTS,
    Alert,
    alerts_from_rows,
    conversion_cells,
    funnel_get,
    response_shares,
)
from metrics.kpis.families import SERVICE_FAMILIES, family_kpis, team_families
from metrics.kpis.ranking import ranks
from metrics.kpis.selectors import MemberRows, kpi_table, member_rows_load
from metrics.models import BuyerSegmentCount, CampaignPhase, MemberDay, StoreDay
from metrics.pipeline.reports import (
    Ageing,
    FunnelStep,
    HourRow,
    calls_by_hour_get,
    pipeline_funnel_get,
    stage_ageing_get,
)
from metrics.registry import KPI_BY_KEY, Direction, Family, Kpi, Level, kpi_get
from metrics.targets.progress import TargetRow, card_targets_get, trend_targets_get
from perfmgmt.common.periods import Period, store_today
from teams.models import Member, Store, Team
from teams.selectors.scoping import Viewer, team_list_overseen

# The cards of the team dashboard, in the order of the issue: what a manager checks first.
CARD_KPIS = (
    "gmv",
    "paid_orders",
    "aov",
    "inquiry_to_payment_rate",
    "avg_first_response_s",
    "refund_order_rate",
    "items_per_order",
)
# The personal page's table: the same, plus the volume a member controls.
PERSONAL_KPIS = (*CARD_KPIS, "sessions", "inquiring_buyers", "gmv_per_working_day")
DEFAULT_TREND_KPI = "gmv"
DEFAULT_SORT = "gmv"
SEGMENT_LABELS = {
    "champions": _("Champions"),
    "loyal": _("Loyal"),
    "new": _("New"),
    "at_risk": _("At risk"),
    "lost": _("Lost"),
    "needs_attention": _("Needs attention"),
}
ALERT_LABELS = {
    "conversion_drop": _("Conversion dropped"),
    "slower_response": _("Slower first response"),
    "unanswered": _("Unanswered sessions"),
}
ALERT_WINDOW_DAYS = 35  # member_alerts: the last 7 days against the 28 before


@dataclass(frozen=True)
class Band:
    """A promotion phase on a trend chart: a shaded band over its days, labelled at the top."""

    start: dt.date
    end: dt.date  # inclusive
    kind: str  # preheat, peak or after: the band's colour
    label: str  # short, on the chart
    title: str  # on hover: the promotion, the phase and its days


def promotion_bands_get(*, store_id: int | None, start: dt.date, end: dt.date) -> list[Band]:
    """Phases of the store's promotions and of those of every store overlapping the days, as
    chart bands; the first band of each promotion names it."""
    scope = Q(campaign__store__isnull=True) | (Q(campaign__store_id=store_id) if store_id else Q(pk__in=[]))
    phases = (
        CampaignPhase.objects.filter(scope, start__lte=end, end__gte=start)
        .select_related("campaign")
        .order_by("start", "pk")
    )
    bands, named = [], set()
    for phase in phases:
        kind = phase.get_kind_display()
        label = kind if phase.campaign_id in named else f"{phase.campaign.name} · {kind}"
        named.add(phase.campaign_id)
        title = f"{phase.campaign.name} · {kind} · {phase.start:%m-%d} – {phase.end:%m-%d}"
        bands.append(Band(start=phase.start, end=phase.end, kind=phase.kind, label=label, title=title))
    return bands


@dataclass(frozen=True)
class Card:
    kpi: Kpi
    value: object
    previous: object
    change: float | None  # relative change, or the difference of two rates (then `points`)
    points: bool
    good: bool | None  # the change is good (True), bad (False) or neither / unknown (None)
    target: TargetRow | None = None  # the card's days' target, or the one covering the period's end

    @property
    def target_value(self) -> Decimal | None:
        return self.target.value if self.target else None

    @property
    def completion(self) -> Decimal | None:
        return self.target.completion if self.target else None

    @property
    def status(self) -> str | None:
        return self.target.status if self.target else None


@dataclass(frozen=True)
class LeaderRow:
    member_id: int
    name: str
    rank: int | None
    values: dict[str, object]
    spark: list[float | None]


@dataclass(frozen=True)
class AlertRow:
    member_id: int
    name: str
    kind: str
    label: str
    recent: float
    baseline: float | None


@dataclass
class TeamDashboard:
    team: Team
    period: Period
    previous: Period
    has_data: bool
    last_day: dt.date | None  # the team's last day with data, for the empty state
    cards: list[Card]
    trend_kpi: Kpi
    trend_days: list[dt.date]
    trend_values: list  # the team's value of each day (None: no value)
    columns: list[Kpi]
    sort: str
    descending: bool
    leaderboard: list[LeaderRow]
    families: tuple[str, ...] = SERVICE_FAMILIES  # the KPI families shown (team_families)
    # Service teams (empty for sales teams): the store funnel, volume vs price, the chat
    # conversion heatmap, the first response, alerts and the RFM summary.
    funnel_steps: list[tuple[str, int]] = field(default_factory=list)
    uv_by_channel: list[tuple[str, int]] = field(default_factory=list)
    # Inquiry-to-payment rate and inquiring buyers by weekday (rows) and hour (columns); None
    # for sales teams.
    conversion: tuple[pd.DataFrame, pd.DataFrame] | None = None
    response: dict[str, float | None] = field(default_factory=dict)
    alerts: list[AlertRow] = field(default_factory=list)
    segments: list[tuple[str, str, int, int]] = field(default_factory=list)  # key, label, buyers, churn risk
    segments_as_of: dt.date | None = None
    targets_as_of: dt.date | None = None  # the day the cards' targets' progress is taken on
    trend_targets: list[Decimal | None] = field(default_factory=list)  # per day of the period
    trend_target_label: str = ""  # the target line's label, at its last day
    bands: list[Band] = field(default_factory=list)  # promotion phases in the period
    sales: SalesFigures | None = None  # sales teams: the pipeline and calls figures

    @property
    def is_service(self) -> bool:
        return Family.SERVICE in self.families

    @property
    def churn_risk(self) -> int:
        return sum(row[3] for row in self.segments)

    @property
    def heatmap_minimum(self) -> int:
        """The inquiring buyers a heatmap cell needs before its rate is shown."""
        return HEATMAP_MIN_INQUIRIES

    @property
    def has_trend_target(self) -> bool:
        return any(value is not None for value in self.trend_targets)

    @property
    def has_card_target(self) -> bool:
        return any(card.target is not None for card in self.cards)


def _change(kpi: Kpi, value, previous) -> tuple[float | None, bool, bool | None]:
    if value is None or previous is None:
        return None, kpi.is_rate, None
    if kpi.is_rate:
        change = float(value) - float(previous)
    elif float(previous) == 0:
        return None, False, None
    else:
        change = (float(value) - float(previous)) / float(previous)
    if change == 0 or kpi.direction == Direction.NEUTRAL:
        return change, kpi.is_rate, None
    return change, kpi.is_rate, (change > 0) == (kpi.direction == Direction.HIGHER)


def _only_row(table: pd.DataFrame) -> dict:
    return table.iloc[0].to_dict() if len(table) else {}


def values_median(values) -> float | None:
    """The median of the values present (None where nothing is)."""
    present = [float(v) for v in values if v is not None]
    return statistics.median(present) if present else None


def _team_last_day(team: Team, *, service: bool = True) -> dt.date | None:
    """For the empty state: the store's last day with shop data; a sales team's last day with
    figures of its own."""
    if not service:
        return MemberDay.objects.filter(team=team).aggregate(last=Max("date"))["last"]
    return StoreDay.objects.filter(store_id=team.store_id).aggregate(last=Max("date"))["last"]


def segments_get(*, store_id: int, as_of: dt.date) -> tuple[list[tuple[str, str, int, int]], dt.date | None]:
    """The RFM summary of the store written last on or before `as_of` (or the earliest after it)."""
    snapshots = BuyerSegmentCount.objects.filter(store_id=store_id)
    day = snapshots.filter(as_of__lte=as_of).aggregate(day=Max("as_of"))["day"]
    if day is None:
        day = snapshots.aggregate(day=Min("as_of"))["day"]
    if day is None:
        return [], None
    counts = {row.segment: row for row in snapshots.filter(as_of=day)}
    rows = [
        (key, str(SEGMENT_LABELS[key]), counts[key].buyers, counts[key].churn_risk) for key in SEGMENTS if key in counts
    ]
    return rows, day


# --- sales teams: KPI families, the pipeline funnel, stage ageing, calls by hour --------------
#
# A team's kind decides which KPI families its pages show (metrics.kpis.families). The KPI
# figures come from the rollups like every other; the pipeline funnel, the stage ageing and the
# calls by hour read the leads and calls facts (metrics.pipeline.reports), cached with the page by
# the store's data version.

FAMILY_CARDS: dict[str, tuple[str, ...]] = {
    Family.SERVICE: CARD_KPIS,
    Family.PIPELINE: ("new_leads", "won_deals", "won_amount", "win_rate", "pipeline_value", "sales_target_completion"),
    Family.CALLS: ("dials", "connected_dials", "connect_rate", "talk_time"),
}
# The personal page's table: the cards plus what a sales member controls day to day.
FAMILY_PERSONAL: dict[str, tuple[str, ...]] = {
    Family.SERVICE: PERSONAL_KPIS,
    Family.PIPELINE: (
        *FAMILY_CARDS[Family.PIPELINE],
        "leads_touched",
        "lead_to_intent_rate",
        "sales_cycle_days",
        "collected_amount",
    ),
    Family.CALLS: (*FAMILY_CARDS[Family.CALLS], "avg_talk_s", "inbound_calls"),
}
# The default trend and leaderboard order: the first family's.
FAMILY_DEFAULT_KPI: dict[str, str] = {
    Family.SERVICE: DEFAULT_TREND_KPI,
    Family.PIPELINE: "won_amount",
    Family.CALLS: "connected_dials",
}


def family_default_kpi(*, families: tuple[str, ...]) -> str:
    return FAMILY_DEFAULT_KPI[families[0]]


def family_keys(table: dict[str, tuple[str, ...]], families: tuple[str, ...]) -> list[str]:
    return [key for family in families for key in table[family]]


@dataclass
class SalesFigures:
    """The pipeline and calls figures of a team's or member's page (None: not the page's family)."""

    funnel: list[FunnelStep] | None = None
    ageing: Ageing | None = None
    calls: list[HourRow] | None = None

    @property
    def has_funnel(self) -> bool:
        return bool(self.funnel and self.funnel[0].count)

    @property
    def has_ageing(self) -> bool:
        return self.ageing is not None and self.ageing.total > 0

    @property
    def has_calls(self) -> bool:
        return bool(self.calls and any(row.dials for row in self.calls))

    @property
    def any(self) -> bool:
        return self.has_funnel or self.has_ageing or self.has_calls


def sales_figures_get(
    *,
    families: tuple[str, ...],
    store: Store,
    period: Period,
    as_of: dt.date,
    team_id: int | None = None,
    member_id: int | None = None,
) -> SalesFigures:
    """The sales figures of the families: pipeline (funnel of the period's leads, ageing of the
    open ones as of `as_of`) and calls (by hour over the period)."""
    result = SalesFigures()
    owner = {"team_id": team_id, "member_id": member_id}
    if Family.PIPELINE in families:
        result.funnel = pipeline_funnel_get(store_id=store.pk, start=period.start, end=period.end, **owner)
        result.ageing = stage_ageing_get(store=store, as_of=as_of, **owner)
    if Family.CALLS in families:
        result.calls = calls_by_hour_get(store_id=store.pk, start=period.start, end=period.end, **owner)
    return result


def team_dashboard_get(
    *,
    team: Team,
    period: Period,
    trend_kpi: str = DEFAULT_TREND_KPI,
    sort: str = DEFAULT_SORT,
    descending: bool | None = None,
    today: dt.date | None = None,
) -> TeamDashboard:
    """Everything the team dashboard shows for one team and period (local days, inclusive).

    Targets: a card shows the target of its own days, prorated from the team's targets covering
    them, else the one target covering the period's end (at most today: the store's local day
    unless given) with its own period and progress (card_targets_get); the trend draws the team's
    target per day."""
    previous = period.previous()
    families = team_families(team=team)
    service = Family.SERVICE in families
    default_kpi = family_default_kpi(families=families)
    team_kpis = {k.key: k for k in family_kpis(families=families, level=Level.TEAM)}
    trend = team_kpis.get(trend_kpi) or team_kpis[default_kpi]
    sort_kpi = team_kpis.get(sort) or team_kpis[default_kpi]
    if sort_kpi.key != sort and sort in KPI_BY_KEY:
        descending = None  # another family's KPI: the team's default order
    first = min(previous.start, period.end - dt.timedelta(days=ALERT_WINDOW_DAYS - 1))
    rows = member_rows_load(start=first, end=period.end, store_ids=[team.store_id], team_ids=[team.pk])
    current = rows.between(period.start, period.end)

    def table(level: str, grain: str, span: Period, only: list[str] | None = None) -> pd.DataFrame:
        return kpi_table(level=level, grain=grain, start=span.start, end=span.end, rows=rows, only=only)

    now, before = _only_row(table(Level.TEAM, "range", period)), _only_row(table(Level.TEAM, "range", previous))
    today = today or store_today(team.store)
    targets_as_of = min(period.end, today)
    card_keys = tuple(family_keys(FAMILY_CARDS, families))

    def actual_of(start: dt.date, end: dt.date) -> dict:
        """The team's KPI row over some of the period's days (a card's target compares with it)."""
        if (start, end) == (period.start, period.end):
            return now
        return _only_row(table(Level.TEAM, "range", Period(start, end)))

    card_targets = card_targets_get(team=team, period=period, today=today, actual_of=actual_of, keys=card_keys)
    cards = []
    for key in card_keys:
        kpi = kpi_get(key)
        change, points, good = _change(kpi, now.get(key), before.get(key))
        cards.append(Card(kpi, now.get(key), before.get(key), change, points, good, card_targets.get(key)))

    team_days = table(Level.TEAM, "day", period, only=[trend.key]).set_index("period_start")
    dates = period.dates()
    trend_values = [team_days[trend.key].get(day) if trend.key in team_days else None for day in dates]
    trend_targets, target_label = trend_targets_get(team=team, kpi=trend, days=dates)
    bands = promotion_bands_get(store_id=team.store_id, start=period.start, end=period.end)

    # Leaderboard: every member KPI of the period, ranked by the sort KPI; a sparkline of it.
    members = table(Level.MEMBER, "range", period)
    member_days = table(Level.MEMBER, "day", period, only=[sort_kpi.key])  # the sparklines
    names = dict(Member.objects.filter(pk__in=members["entity_id"].tolist()).values_list("id", "display_name"))
    columns = family_kpis(families=families, level=Level.MEMBER)
    values_by_member = {int(r["entity_id"]): r for r in members.to_dict("records")}
    member_ranks = ranks({m: r[sort_kpi.key] for m, r in values_by_member.items()}, sort_kpi)
    sparks: dict[int, dict[dt.date, object]] = {}
    for record in member_days[["entity_id", "period_start", sort_kpi.key]].itertuples(index=False):
        sparks.setdefault(int(record[0]), {})[record[1]] = record[2]
    leaderboard = [
        LeaderRow(
            member_id=m,
            name=names.get(m, f"#{m}"),
            rank=member_ranks.get(m),
            values={k.key: r[k.key] for k in columns},
            spark=[None if sparks.get(m, {}).get(d) is None else float(sparks[m][d]) for d in dates],
        )
        for m, r in values_by_member.items()
    ]
    wanted_descending = (sort_kpi.direction != Direction.LOWER) if descending is None else descending
    # The ranked in the order asked for, then the unranked (an empty value, or a zero that ranks
    # nobody: see `ranks`) by name, whichever the direction.
    present = [row for row in leaderboard if row.rank is not None]
    missing = [row for row in leaderboard if row.rank is None]
    present.sort(key=lambda row: float(row.values[sort_kpi.key]), reverse=wanted_descending)
    leaderboard = present + sorted(missing, key=lambda row: row.name)

    # Sales teams: the pipeline and calls figures from the facts; the ageing is of today (the
    # leads as the latest export shows them), whatever the period.
    sales = sales_figures_get(families=families, store=team.store, period=period, as_of=today, team_id=team.pk)
    has_data = not current.days.empty or sales.any
    service_parts = (
        _service_parts(
            team=team,
            period=period,
            rows=rows,
            current=current,
            names=names,
            leaderboard=leaderboard,
        )
        if service
        else {}
    )
    return TeamDashboard(
        team=team,
        period=period,
        previous=previous,
        has_data=has_data,
        last_day=None if has_data else _team_last_day(team, service=service),
        cards=cards,
        trend_kpi=trend,
        trend_days=dates,
        trend_values=trend_values,
        columns=columns,
        sort=sort_kpi.key,
        descending=wanted_descending,
        leaderboard=leaderboard,
        targets_as_of=targets_as_of,
        trend_targets=trend_targets,
        trend_target_label=target_label,
        bands=bands,
        families=families,
        sales=sales,
        **service_parts,
    )


def _service_parts(
    *,
    team: Team,
    period: Period,
    rows: MemberRows,
    current: MemberRows,
    names: dict[int, str],
    leaderboard: list[LeaderRow],
) -> dict:
    """The service teams' parts: the chat conversion cells, the first response, the store
    funnel, alerts and the RFM summary (volume vs price is drawn from the leaderboard)."""
    response = response_shares(current.days)
    funnel = funnel_get(store_id=team.store_id, start=period.start, end=period.end)
    funnel_labels = {
        "uv": _("Visitors (UV)"),
        "inquiring_buyers": _("Inquiring buyers"),
        "ordered_buyers": _("Ordering buyers"),
        "paying_buyers": _("Paying buyers"),
        "repeat_buyers": _("Repeat buyers"),
    }
    funnel_steps = [(str(funnel_labels[key]), value) for key, value in funnel["steps"]]
    # The rows are the team's days only: every member alerted on was in the team then.
    alerts = [alert_row(alert, names) for alert in alerts_from_rows(rows.days, rows.buyers, as_of=period.end)]
    segments, segments_as_of = segments_get(store_id=team.store_id, as_of=period.end)
    rates, inquiring = conversion_cells(current.buyers)
    return {
        "funnel_steps": funnel_steps,
        "uv_by_channel": funnel["uv_by_channel"],
        "conversion": (rates, inquiring),
        "response": response,
        "alerts": alerts,
        "segments": segments,
        "segments_as_of": segments_as_of,
    }


def alert_row(alert: Alert, names: dict[int, str]) -> AlertRow:
    if alert.member_id not in names:
        names[alert.member_id] = (
            Member.objects.filter(pk=alert.member_id).values_list("display_name", flat=True).first() or ""
        )
    return AlertRow(
        member_id=alert.member_id,
        name=names[alert.member_id],
        kind=alert.kind,
        label=str(ALERT_LABELS[alert.kind]),
        recent=alert.recent,
        baseline=alert.baseline,
    )


# --- which team a viewer's team dashboard shows ------------------------------------------------


def store_list_of_teams_overseen(*, viewer: Viewer) -> QuerySet[Store]:
    """The stores of the teams whose dashboard the viewer may open (the filter's stores), by name."""
    return Store.objects.filter(pk__in=team_list_overseen(viewer=viewer).values("store_id")).order_by("name")


@dataclass(frozen=True)
class TeamScope:
    """The team dashboard's team, as a viewer asked for it."""

    store: Store | None  # the store asked for (None: any)
    team: Team


def team_scope_get(*, viewer: Viewer, store_id: int | None = None, team_id: int | None = None) -> TeamScope | None:
    """The team a viewer's team dashboard shows: the one asked for, else the first they oversee
    in the store asked for, else the first they oversee (by store name, then team name); a team
    of another store than the one asked for gives way to the store's first.

    None for a member who oversees no team (their own page is theirs); PermissionDenied for
    anyone else overseeing none; Http404 for a store or team not among those overseen (the same
    answer as one that does not exist)."""
    teams = team_list_overseen(viewer=viewer).select_related("store").order_by("store__name", "name")
    if not teams.exists():
        if viewer.member_id:
            return None
        raise PermissionDenied(gettext("The team dashboard is for managers, team leads and HR."))
    store = team = None
    if store_id is not None:
        store = Store.objects.filter(pk=store_id, pk__in=teams.values("store_id")).first()
    if team_id is not None:
        team = teams.filter(pk=team_id).first()
    if (store_id is not None and store is None) or (team_id is not None and team is None):
        raise Http404(gettext("No such store or team among those you oversee."))
    team = team or (teams.filter(store=store).first() if store else None) or teams.first()
    if store and team.store_id != store.pk:
        team = teams.filter(store=store).first() or team
    return TeamScope(store=store, team=team)

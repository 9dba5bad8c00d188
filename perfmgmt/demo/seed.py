"""Load the demo's 90 days of shop data through the importers (the organisation, targets,
appraisals, pay and follow-ups: perfmgmt.demo's other modules)."""

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.utils import timezone

from metrics.followups.services import followups_done, followups_held
from metrics.importing.services import calls_import, chats_import, leads_import, orders_import, traffic_import
from metrics.kpis.services import kpis_recompute_store_full
from metrics.models import (
    ImportStatus,
)
from perfmgmt.demo.exports import demo_exports_write, demo_pipeline_exports_write
from teams.models import PlatformAccount, Store, TeamKind


def quiet(line: str) -> None:
    """The default `progress` of the demo's steps: say nothing."""


def demo_data_import(*, orders: int = 50_000, days: int = 90, progress: Callable[[str], None] = quiet) -> list[str]:
    """Write the demo exports for the stores and accounts that exist, import them, report counts.

    Each step is told to `progress` as it starts ("…") and when it is done (with its counts), so
    that `seed_demo` is never silent for long; returns the lines of the steps done.

    The data ends yesterday. Besides the known accounts, each store has one newcomer account the
    organisation does not know yet: its chats arrive unassigned, as a real new hire's would.
    Accounts of online-sales and telesales teams chat with no one: they get the CRM's leads and
    the call centre's calls instead.
    """
    sales_kinds = (TeamKind.ONLINE_SALES, TeamKind.TELESALES)
    sales_accounts = PlatformAccount.objects.filter(assignments__member__memberships__team__kind__in=sales_kinds)
    accounts = {
        store.name: [
            *PlatformAccount.objects.filter(store=store)
            .exclude(pk__in=sales_accounts.values("pk"))
            .order_by("name")
            .values_list("name", flat=True),
            f"{store.name[:4]}:客服新人",
        ]
        for store in Store.objects.order_by("id")
    }
    last_day = timezone.localdate() - dt.timedelta(days=1)
    report = []
    batches = []

    def done(line: str) -> None:
        report.append(line)
        progress(line)

    with tempfile.TemporaryDirectory(prefix="perfmgmt-demo-") as folder:
        progress(f"  writing the shops' exports: {orders:,} orders with their chats and traffic over {days} days…")
        files = demo_exports_write(
            out_dir=Path(folder), accounts_by_store=accounts, last_day=last_day, days=days, orders=orders
        )
        imports = [
            ("orders", orders_import, files.orders),
            ("chats", chats_import, files.chats),
            ("traffic", traffic_import, files.traffic),
        ]
        for store in Store.objects.filter(teams__kind__in=sales_kinds).distinct().order_by("id"):
            owners = {
                kind: list(
                    sales_accounts.filter(store=store, assignments__member__memberships__team__kind=kind)
                    .order_by("name")
                    .values_list("name", flat=True)
                    .distinct()
                )
                for kind in sales_kinds
            }
            progress(f"  writing the leads and calls of {store.name}…")
            pipeline = demo_pipeline_exports_write(
                out_dir=Path(folder) / f"store-{store.pk}", store=store.name, owners=owners, last_day=last_day,
                days=days, call_share=min(1.0, max(0.05, orders / 50_000)),  # calls follow the demo's size
            )  # fmt: skip
            imports += [("leads", leads_import, pipeline.leads), ("calls", calls_import, pipeline.calls)]
        for number, (label, importer, path) in enumerate(imports, start=1):
            progress(f"  importing {label} ({number}/{len(imports)})…")
            # The KPIs are computed below, in full: the imports' KPI updates are not sent to a worker.
            with followups_held():
                batch = importer(store=None, file=path, user=None)
            if batch.status != ImportStatus.SUCCEEDED:
                raise RuntimeError(f"demo {label} import failed: {batch.error_message}")
            batches.append(batch)
            done(f"  imported {batch.inserted:>7} {label} ({batch.duration_ms} ms)")
    stores = list(Store.objects.order_by("id"))
    for number, store in enumerate(stores, start=1):
        progress(f"  computing the KPIs of {store.name} ({number}/{len(stores)})…")
        computed = kpis_recompute_store_full(store=store)
        done(f"  KPIs of {store.name}: {computed.partitions} months, {computed.orders_recredited} orders credited")
    for batch in batches:
        followups_done(batch=batch)
    return report

"""Load the demo's 90 days of shop data through the importers."""

import datetime as dt
import tempfile
from pathlib import Path

from django.utils import timezone

from metrics.models import ImportStatus
from metrics.services.demo import demo_exports_write
from metrics.services.imports import chats_import, orders_import, traffic_import
from metrics.services.kpis import kpis_recompute_store_full
from teams.models import PlatformAccount, Store


def demo_data_import(*, orders: int = 50_000, days: int = 90) -> list[str]:
    """Write the demo exports for the stores and accounts that exist, import them, report counts.

    The data ends yesterday. Besides the known accounts, each store has one newcomer account the
    organisation does not know yet: its chats arrive unassigned, as a real new hire's would.
    """
    accounts = {
        store.name: [
            *PlatformAccount.objects.filter(store=store).order_by("name").values_list("name", flat=True),
            f"{store.name[:4]}:客服新人",
        ]
        for store in Store.objects.order_by("id")
    }
    report = []
    with tempfile.TemporaryDirectory(prefix="perfmgmt-demo-") as folder:
        files = demo_exports_write(
            out_dir=Path(folder),
            accounts_by_store=accounts,
            last_day=timezone.localdate() - dt.timedelta(days=1),
            days=days,
            orders=orders,
        )
        for label, importer, path in (
            ("orders", orders_import, files.orders),
            ("chats", chats_import, files.chats),
            ("traffic", traffic_import, files.traffic),
        ):
            batch = importer(store=None, file=path, user=None)
            if batch.status != ImportStatus.SUCCEEDED:
                raise RuntimeError(f"demo {label} import failed: {batch.error_message}")
            report.append(f"  imported {batch.inserted:>7} {label} ({batch.duration_ms} ms)")
    for store in Store.objects.order_by("id"):
        done = kpis_recompute_store_full(store=store)
        report.append(f"  KPIs of {store.name}: {done.partitions} months, {done.orders_recredited} orders credited")
    return report

import datetime as dt
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from metrics.kpis.grouping import GRAINS
from metrics.registry import Level


class Command(BaseCommand):
    help = "Export KPIs: one row per entity and period, every KPI of the level (rates as fractions, money 0.00)."

    def add_arguments(self, parser):
        parser.add_argument("--level", choices=[Level.MEMBER, Level.TEAM, Level.STORE], required=True)
        parser.add_argument("--grain", choices=GRAINS, required=True)
        parser.add_argument("--start", type=dt.date.fromisoformat, help="First local day (default: 30 days ago).")
        parser.add_argument("--end", type=dt.date.fromisoformat, help="Last local day, inclusive (default: yesterday).")
        parser.add_argument("--store", help="Only this store (its name).")
        parser.add_argument("--format", choices=["csv", "json", "xlsx"], default="csv")
        parser.add_argument("--out", type=Path, help="File to write (default: standard output; not for xlsx).")

    def handle(self, *args, level, grain, start, end, store, format, out, **options):
        from django.utils import timezone

        from metrics.kpis.exports import kpi_export_columns, kpi_export_rows
        from perfmgmt.common.exports import csv_bytes, json_bytes, xlsx_bytes
        from teams.models import Store

        # call_command passes options as given, without the parser's type: accept ISO strings too.
        start, end = (dt.date.fromisoformat(day) if isinstance(day, str) else day for day in (start, end))
        end = end or timezone.localdate() - dt.timedelta(days=1)
        start = start or end - dt.timedelta(days=29)
        if start > end:
            raise CommandError("--start is after --end.")
        stores = Store.objects.all()
        if store:
            stores = stores.filter(name=store)
            if not stores.exists():
                raise CommandError(f"No store named {store!r}.")
        if format == "xlsx" and not out:
            raise CommandError("XLSX needs --out FILE.")
        columns = kpi_export_columns(level=level)
        rows = kpi_export_rows(
            level=level, grain=grain, start=start, end=end, store_ids=list(stores.values_list("id", flat=True))
        )
        writer = {"csv": csv_bytes, "json": json_bytes, "xlsx": xlsx_bytes}[format]
        data = writer(columns, rows)
        if out:
            out.write_bytes(data)
            self.stderr.write(f"{len(rows)} rows written to {out}")
        else:
            sys.stdout.buffer.write(data)

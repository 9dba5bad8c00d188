import contextlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from metrics.models import ImportKind, ImportStatus


class Command(BaseCommand):
    help = (
        "Import a shop export or a roster (CSV in UTF-8/GBK or XLSX) now, in this process. Prints one summary line "
        "'inserted=N updated=N unchanged=N rejected=N'; exits non-zero when the file was refused or rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ImportKind.values)
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--store", help="Store the file belongs to (created if new). Omit when the file names its stores."
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=HEADER",
            help="Map a field to a column of the file, e.g. --map order_id=订单号 (repeatable).",
        )
        parser.add_argument("--sheet", help="Sheet of an XLSX workbook (default: the first).")
        parser.add_argument("--skip-invalid", action="store_true", help="Import the valid rows, report the others.")

    def handle(self, *args, kind: str, file: Path, store: str | None, map: list[str], sheet, skip_invalid, **options):
        from metrics.followups.services import followups_held
        from metrics.importing.schema import missing_required
        from metrics.importing.services import import_batch_create, import_batch_run
        from metrics.kpis.services import kpis_after_import
        from teams.models import Store

        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        mapping = {}
        for item in map:
            field, sep, header = item.partition("=")
            if not sep or not field or not header:
                raise CommandError(f"--map takes FIELD=HEADER, not {item!r}")
            mapping[field.strip()] = header
        store_obj = Store.objects.get_or_create(name=store)[0] if store else None
        batch = import_batch_create(
            file=file,
            user=None,
            kind=kind,
            store=store_obj,
            mapping=mapping,
            skip_invalid=skip_invalid,
            sheet=sheet,
        )
        if batch.status == ImportStatus.NEEDS_MAPPING:
            missing = "; ".join(
                f"{field.name} (e.g. {' / '.join(field.aliases[:2])})"
                for field in missing_required(kind=batch.kind, mapping=batch.column_mapping)
            )
            raise CommandError(
                f"refused: required columns are missing: {missing}. The file's columns: "
                f"{', '.join(batch.column_mapping.values()) or '(none recognised)'}; pass --map FIELD=HEADER"
            )
        # The KPIs of facts are updated below, in this process: not sent to a worker as well. A
        # roster's recomputes are (they are a worker's job, as for an upload).
        with followups_held() if batch.kind != ImportKind.ROSTER else contextlib.nullcontext():
            batch = import_batch_run(batch=batch)
        counts = ("inserted", "updated", "unchanged", "rejected")
        self.stdout.write(" ".join(f"{name}={getattr(batch, name)}" for name in counts))
        if batch.encoding or batch.sheet:
            self.stderr.write(f"read as {batch.encoding or 'XLSX sheet ' + batch.sheet}; {batch.rows_total} rows")
        for error in batch.row_errors.all()[:20]:
            self.stderr.write(f"line {error.line} [{error.column}] {error.value!r}: {error.reason_text}")
        if batch.rejected > 20:
            self.stderr.write(f"… {batch.rejected} rejected rows in all (see the batch page for the full list)")
        if batch.status != ImportStatus.SUCCEEDED:
            raise CommandError(f"{batch.get_status_display()}: {batch.error_text}")
        if batch.kind == ImportKind.ROSTER:
            # No facts: the days whose account holder or team changed were queued for a worker.
            if batch.inserted or batch.updated:
                self.stderr.write("organisation updated; a worker recomputes the KPIs of the days with data it changed")
            return
        report = kpis_after_import(batch=batch)  # its recorded follow-up is then done
        self.stderr.write(
            f"KPIs updated: {report.partitions} day ranges, {report.orders_recredited} orders re-credited"
        )

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from perfmgmt.common.exports import LANGUAGES
from reviews.models import Cycle
from reviews.services.export import appraisals_export
from teams.commands import month_and_store_parse, out_folder_check


class Command(BaseCommand):
    help = "Write a month's appraisals (every team, or one store's) to an xlsx workbook for HR."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="The month, YYYY-MM.")
        parser.add_argument("--store", help="Only this store (its name).")
        parser.add_argument("--lang", default=LANGUAGES[0], choices=LANGUAGES, help="Language of the headers.")
        parser.add_argument("--out", required=True, type=Path, help="The .xlsx file to write.")

    def handle(self, *args, month: str, store: str | None, lang: str, out: Path, **options):
        first, chosen = month_and_store_parse(month=month, store=store)
        cycles = Cycle.objects.filter(month=first, **({"store": chosen} if chosen else {}))
        if not cycles.exists():
            where = f" in {chosen.name}" if chosen else ""
            raise CommandError(f"No appraisal cycles for {first:%Y-%m}{where}: nothing to export.")
        out_folder_check(out)
        out.write_bytes(appraisals_export(month=first, store=chosen, lang=lang))
        members = sum(c.appraisals.count() for c in cycles)
        self.stdout.write(f"Wrote {out}: {cycles.count()} cycles, {members} appraisals ({first:%Y-%m}, {lang}).")

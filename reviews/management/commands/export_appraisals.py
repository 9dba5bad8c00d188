from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviews.models import Cycle
from reviews.services.export import LANGUAGES, appraisals_export, month_parse
from teams.models import Store


class Command(BaseCommand):
    help = "Write a month's appraisals (every team, or one store's) to an xlsx workbook for HR."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="The month, YYYY-MM.")
        parser.add_argument("--store", help="Only this store (its name).")
        parser.add_argument("--lang", default=LANGUAGES[0], choices=LANGUAGES, help="Language of the headers.")
        parser.add_argument("--out", required=True, type=Path, help="The .xlsx file to write.")

    def handle(self, *args, month: str, store: str | None, lang: str, out: Path, **options):
        try:
            first = month_parse(month)
        except ValueError:
            raise CommandError(f"--month must be YYYY-MM (e.g. 2026-08), not {month!r}.") from None
        chosen = None
        if store is not None:
            chosen = Store.objects.filter(name=store).first()
            if chosen is None:
                names = ", ".join(Store.objects.order_by("name").values_list("name", flat=True)) or "none"
                raise CommandError(f"Unknown store {store!r}. Stores: {names}.")
        cycles = Cycle.objects.filter(month=first, **({"store": chosen} if chosen else {}))
        if not cycles.exists():
            where = f" in {chosen.name}" if chosen else ""
            raise CommandError(f"No appraisal cycles for {first:%Y-%m}{where}: nothing to export.")
        if out.parent and not out.parent.exists():
            raise CommandError(f"The folder {out.parent} does not exist.")
        out.write_bytes(appraisals_export(month=first, store=chosen, lang=lang))
        members = sum(c.appraisals.count() for c in cycles)
        self.stdout.write(f"Wrote {out}: {cycles.count()} cycles, {members} appraisals ({first:%Y-%m}, {lang}).")

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from incentives.models import Statement, StatementLine
from incentives.services.export import LANGUAGES, month_parse, payouts_export
from teams.models import Store


class Command(BaseCommand):
    help = "Write a month's payout statements (every store, or one) to an xlsx workbook for HR and payroll."

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
        statements = Statement.objects.filter(month=first, **({"store": chosen} if chosen else {}))
        if not statements.exists():
            where = f" in {chosen.name}" if chosen else ""
            raise CommandError(
                f"No payout statements for {first:%Y-%m}{where}: nothing to export "
                "(statements are computed nightly for the current month, or from the statements page)."
            )
        if out.suffix.lower() != ".xlsx":
            raise CommandError(f"--out must name an .xlsx file, not {str(out)!r}.")
        if out.parent and not out.parent.exists():
            raise CommandError(f"The folder {out.parent} does not exist.")
        out.write_bytes(payouts_export(month=first, store=chosen, lang=lang))
        states = dict.fromkeys(("draft", "approved", "locked"), 0)
        for state in statements.values_list("state", flat=True):
            states[state] = states.get(state, 0) + 1
        lines = StatementLine.objects.filter(statement__in=statements).count()
        summary = ", ".join(f"{count} {state}" for state, count in states.items() if count)
        self.stdout.write(
            f"Wrote {out}: {statements.count()} statements ({summary}), {lines} lines ({first:%Y-%m}, {lang})."
        )

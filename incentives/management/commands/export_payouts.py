from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from incentives.models import Statement, StatementLine
from incentives.services.export import payouts_export
from perfmgmt.common.exports import LANGUAGES
from teams.commands import month_and_store_parse, out_folder_check


class Command(BaseCommand):
    help = "Write a month's payout statements (every store, or one) to an xlsx workbook for HR and payroll."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="The month, YYYY-MM.")
        parser.add_argument("--store", help="Only this store (its name).")
        parser.add_argument("--lang", default=LANGUAGES[0], choices=LANGUAGES, help="Language of the headers.")
        parser.add_argument("--out", required=True, type=Path, help="The .xlsx file to write.")

    def handle(self, *args, month: str, store: str | None, lang: str, out: Path, **options):
        first, chosen = month_and_store_parse(month=month, store=store)
        statements = Statement.objects.filter(month=first, **({"store": chosen} if chosen else {}))
        if not statements.exists():
            where = f" in {chosen.name}" if chosen else ""
            raise CommandError(
                f"No payout statements for {first:%Y-%m}{where}: nothing to export "
                "(statements are computed nightly for the current month, or from the statements page)."
            )
        if out.suffix.lower() != ".xlsx":
            raise CommandError(f"--out must name an .xlsx file, not {str(out)!r}.")
        out_folder_check(out)
        out.write_bytes(payouts_export(month=first, store=chosen, lang=lang))
        states = dict.fromkeys(("draft", "approved", "locked"), 0)
        for state in statements.values_list("state", flat=True):
            states[state] = states.get(state, 0) + 1
        lines = StatementLine.objects.filter(statement__in=statements).count()
        summary = ", ".join(f"{count} {state}" for state, count in states.items() if count)
        self.stdout.write(
            f"Wrote {out}: {statements.count()} statements ({summary}), {lines} lines ({first:%Y-%m}, {lang})."
        )

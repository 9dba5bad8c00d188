from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from teams.models import Store


class Command(BaseCommand):
    help = (
        "Create the demo organisation, 90 days of shop data (and of leads and calls for an online-sales and a "
        "telesales team), targets and a promotion, stuck deals with plans and answers, last month's appraisals "
        "(finalised by HR) and this month's (in self review), an incentive plan with last month's pay statements "
        "(locked) and this month's (drafts), the badges of the 90 days, and one login per role "
        "(manager, lead, staff1, staff2, sales1, tele1, hr, admin)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo12345", help="Password of every demo user.")
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off (never on real data).")
        parser.add_argument(
            "--orders",
            type=int,
            default=50_000,
            help="Orders over the 90 days (chats are about 1.4 per order).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing, successfully, when the database has any user.",
        )

    def handle(self, *args, password: str, force: bool, if_empty: bool, **options):
        from perfmgmt.demo.appraisals import demo_appraisals_create
        from perfmgmt.demo.incentives import demo_incentives_create
        from perfmgmt.demo.organisation import DEMO_USERNAMES, demo_organisation_create
        from perfmgmt.demo.pipeline import demo_pipeline_followups_create
        from perfmgmt.demo.seed import demo_data_import
        from perfmgmt.demo.targets import demo_plans_create

        if if_empty and get_user_model().objects.exists():
            existing = get_user_model().objects.filter(username__in=DEMO_USERNAMES).values_list("username", flat=True)
            self.stdout.write("Database already has users: demo data not loaded again.")
            if existing:
                self.stdout.write(
                    f"Demo logins: {', '.join(existing)} (password as when the demo was loaded; default demo12345)."
                )
            return
        if not settings.DEBUG and not force:
            raise CommandError("DEBUG is off: this looks like a real installation. Use --force to seed anyway.")
        if Store.objects.exists():
            raise CommandError("Stores already exist: the demo is only loaded into an empty database.")
        say = self._say
        say("Loading the demo data into the empty database; each step is listed as it starts:")
        say("  creating the stores, teams, members and logins…")
        logins = demo_organisation_create(password=password)
        demo_data_import(orders=options["orders"], progress=say)
        say("  setting targets, a counted behaviour and a promotion…")
        plans = demo_plans_create()
        say(
            f"  targets: {plans.targets} in {plans.trees} quarter and month trees, {plans.campaigns} promotion, "
            f"{plans.behaviour_records} behaviour counts, {plans.alerts} alerts"
        )
        say("  replaying three weeks of stuck-deal alerts, plans and answers…")
        pipeline = demo_pipeline_followups_create()
        say(
            f"  stuck deals: {pipeline.stuck} recorded ({pipeline.open} still in negotiation), "
            f"{pipeline.plans} breakthrough plans, {pipeline.answers} answered"
        )
        say("  rating last month's appraisals and finalising them as HR…")
        reviews = demo_appraisals_create()
        grades = " ".join(f"{grade} {count}" for grade, count in reviews.grades.items())
        say(
            f"  appraisals: {reviews.finalised} cycles of {reviews.last_month:%Y-%m} finalised by HR "
            f"({reviews.appraisals} appraisals; grades {grades}), {reviews.open} cycles of "
            f"{reviews.this_month:%Y-%m} in self review"
        )
        pay = demo_incentives_create(progress=say)
        badges = ", ".join(f"{key} {count}" for key, count in pay.badges.items()) or "none"
        say(
            f"  incentives: {pay.plans} plans for {pay.teams} teams; {pay.locked} statements of "
            f"{pay.last_month:%Y-%m} approved and locked (¥{pay.locked_total:,.2f} in all), {pay.drafts} drafts of "
            f"{pay.this_month:%Y-%m}; {sum(pay.badges.values())} badges ({badges})"
        )
        say(self.style.SUCCESS(f"Demo data loaded. Logins (password: {password}):"))
        for login in logins:
            say(f"  {login.username:<8} {login.role:<14} sees {login.sees}")

    def _say(self, line: str) -> None:
        """One line, shown at once: on a terminal Python writes each line as it comes, but into a
        file or a pipe (a log, `make run | tee`, the smoke test) lines wait in a buffer until
        several steps later."""
        self.stdout.write(line)
        self.stdout.flush()

import datetime as dt

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Re-credit orders and rebuild KPI rollups. Default: the last 35 days of every store, in this "
        "process. --start/--end: that range. --full: everything; with --queue, fanned out to Celery "
        "workers by store and month (and waited for)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", help="Only this store (its name).")
        parser.add_argument("--start", type=dt.date.fromisoformat, help="First local day, YYYY-MM-DD.")
        parser.add_argument("--end", type=dt.date.fromisoformat, help="Last local day, YYYY-MM-DD (inclusive).")
        parser.add_argument("--full", action="store_true", help="All history of the store(s).")
        parser.add_argument("--queue", action="store_true", help="Run on Celery workers and wait for them.")
        parser.add_argument("--timeout", type=int, default=3600, help="Seconds to wait for --queue (default 3600).")

    def handle(self, *args, store, start, end, full, queue, timeout, **options):
        from django.utils import timezone

        from metrics.kpis.services import kpis_recompute_range, kpis_recompute_store_full
        from metrics.tasks import kpis_full_recompute_signature, kpis_recompute_range_task
        from teams.models import Store

        stores = Store.objects.order_by("id")
        if store:
            stores = stores.filter(name=store)
            if not stores.exists():
                raise CommandError(f"No store named {store!r}.")
        if full and (start or end):
            raise CommandError("--full recomputes everything; leave out --start and --end.")
        if bool(start) != bool(end) and not full:
            end = end or timezone.localdate()
            start = start or end - dt.timedelta(days=35)
        if not full:
            end = end or timezone.localdate()
            start = start or end - dt.timedelta(days=35)
            if start > end:
                raise CommandError("--start is after --end.")
        started = timezone.now()
        if queue:
            if full:
                result = kpis_full_recompute_signature(list(stores.values_list("id", flat=True))).apply_async()
            else:
                from celery import group

                result = group(
                    kpis_recompute_range_task.s(s.pk, start.isoformat(), end.isoformat()) for s in stores
                ).apply_async()
            self.stdout.write(f"queued; waiting up to {timeout} s for the workers …")
            result.get(timeout=timeout, propagate=True)
        else:
            for one in stores:
                report = (
                    kpis_recompute_store_full(store=one)
                    if full
                    else kpis_recompute_range(store=one, start=start, end=end)
                )
                self.stdout.write(
                    f"{one.name}: {report.partitions} partitions, {report.orders_recredited} orders re-credited"
                )
        seconds = (timezone.now() - started).total_seconds()
        self.stdout.write(self.style.SUCCESS(f"done in {seconds:.1f} s"))

"""The Celery application. Broker and result backend come from Django settings (CELERY_*).

Periodic jobs are declared here, in one place; django-celery-beat's DatabaseScheduler loads
this schedule into the database at start, where admins can see and pause them. The scheduler is
perfmgmt.beat.LockedDatabaseScheduler (CELERY_BEAT_SCHEDULER): of several beat processes only the
holder of a leader lock sends, so no job is sent twice (docs/faults.md).
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "perfmgmt.settings.local")

app = Celery("perfmgmt")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Just after midnight in TIME_ZONE (the stores' default zone): a member whose leave date
    # was yesterday stops being active from the first minute of the new day (their accounts'
    # days after it are recomputed at once, not at 02:00: teams/services/history.py).
    "members-deactivate-departed": {
        "task": "teams.tasks.members_deactivate_departed_task",
        "schedule": crontab(hour=0, minute=5),
    },
    # At 02:00 in TIME_ZONE, after the day has closed everywhere: the last 35 days of every store
    # are re-credited and rebuilt, catching late refunds and status changes of re-exports that
    # arrived without a new import touching those days. 35 days covers a month and its returns.
    "kpis-recompute-nightly": {
        "task": "metrics.tasks.kpis_recompute_nightly_task",
        "schedule": crontab(hour=2, minute=0),
    },
    # At 07:30, before the working day starts and after the nightly recompute has settled: targets
    # behind pace or past a milestone are announced (in the app and by e-mail) when people can act.
    "targets-check": {
        "task": "metrics.tasks.targets_check_all_task",
        "schedule": crontab(hour=7, minute=30),
    },
    # At 04:00, after the nightly KPI recompute (02:00) has settled: each store's statements of the
    # month of its last complete day are recomputed (drafts follow the data; approved and locked
    # ones get a proposed adjustment) and the badges of its last two complete days are awarded.
    "incentives-nightly": {
        "task": "incentives.tasks.incentives_nightly_task",
        "schedule": crontab(hour=4, minute=0),
    },
    # Hourly, at a quarter past: deals in negotiation longer than the store allows are recorded and
    # announced, and those that moved on are closed. Not nightly: the manager has 12 hours
    # (Store.stuck_deal_response_hours) to answer the owner's breakthrough plan, and the owner
    # should hear of the stuck deal within the hour it crosses the line, not the next morning.
    "stuck-deals-detect": {
        "task": "metrics.tasks.stuck_deals_detect_all_task",
        "schedule": crontab(minute=15),
    },
    # In the quiet early morning: uploaded export files past IMPORT_RETENTION_DAYS are deleted
    # (personal data of buyers should not be kept longer than needed); the batch records stay.
    "import-files-purge": {
        "task": "metrics.tasks.import_files_purge_task",
        "schedule": crontab(hour=3, minute=30),
    },
    # Every minute: follow-ups (an import's KPI update, a recompute after a change of accounts or
    # teams) that the broker could not take when their work committed are sent, and imports and
    # KPI updates whose worker stopped beating (WORK_STALE_SECONDS) are marked interrupted and
    # queued again once. A minute keeps a lost worker's work found within about four minutes.
    "followups-deliver": {
        "task": "metrics.tasks.followups_deliver_task",
        "schedule": 60.0,  # seconds
    },
}


@app.on_after_configure.connect
def _ensure_file_broker_folders(sender: Celery, **kwargs) -> None:
    """The embedded file broker needs its folders before the first message is written."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)
    backend = str(sender.conf.result_backend or "")
    if backend.startswith("file://"):
        os.makedirs(backend.removeprefix("file://"), exist_ok=True)

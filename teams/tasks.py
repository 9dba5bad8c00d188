from celery import shared_task


@shared_task
def members_deactivate_departed_task() -> int:
    """Nightly: members past their leave date become inactive (see perfmgmt/celery.py)."""
    from django.utils import timezone

    from teams.services.members import members_deactivate_departed

    return members_deactivate_departed(today=timezone.localdate())

"""The sentences reviews stores (audit trail labels), as message templates.

Keys are stored in the database: never rename one that rows may hold (add a new key instead);
change a template's wording freely. How to add one: metrics/messages.py, docs/architecture.md."""

from django.utils.translation import gettext_lazy as _

from metrics.messages import messages_register
from reviews.models import RaterRole

messages_register(
    templates={
        # A rating changed after self review: "<item> (<role>)", the item in the reader's language.
        "reviews.audit_rating": "%(item)s (%(role)s)",
        # HR decided (or withdrew a decision) on a KPI item without data: the item in the reader's language.
        "reviews.audit_decision": _("HR's decision: %(item)s"),
    },
    choices={"rater_role": RaterRole},
)

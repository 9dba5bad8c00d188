"""The sentences reviews stores (audit trail labels), as message templates.

Keys are stored in the database: never rename one that rows may hold (add a new key instead);
change a template's wording freely. How to add one: metrics/messages.py, docs/architecture.md."""

from metrics.messages import messages_register
from reviews.models import RaterRole

messages_register(
    templates={
        # A rating changed after self review: "<item> (<role>)", the item in the reader's language.
        "reviews.audit_rating": "%(item)s (%(role)s)",
    },
    choices={"rater_role": RaterRole},
)

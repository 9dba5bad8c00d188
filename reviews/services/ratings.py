"""One review saved at once: the ratings a member, a peer or a manager changed on the page and
the overall comment, in one transaction (all of it or nothing). Each rating and the comment go
through the workflow's services (reviews.services.cycles), which decide what may change in which
state and write the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from reviews.models import Appraisal, Item
from reviews.services.cycles import comment_set, rating_set
from teams.selectors.scoping import Viewer


@dataclass(frozen=True)
class RatingInput:
    item: Item
    score: int | None  # 1–5; None: not rated, left as it is
    comment: str


class RatingRefused(ValidationError):
    """The workflow refused a rating or the comment; `item` is the item it was about (None: the
    overall comment), so the page can show the error on that item."""

    def __init__(self, error: ValidationError, *, item: Item | None) -> None:
        super().__init__(error)
        self.item = item


def appraisal_ratings_save(*, viewer: Viewer, user: AbstractBaseUser, appraisal: Appraisal, role: str,
                           ratings: Sequence[RatingInput], comment: str | None, reason: str = "") -> None:  # fmt: skip
    """Save the changed `ratings` in `role` and the overall `comment` (None: unchanged) in one
    transaction. Raises RatingRefused (nothing saved) when the workflow refuses one of them, and
    PermissionDenied when the role may not change them in the cycle's state."""
    current: Item | None = None
    try:
        with transaction.atomic():
            for rating in ratings:
                current = rating.item
                if rating.score is None:
                    continue
                rating_set(viewer=viewer, user=user, appraisal=appraisal, item=rating.item, role=role,
                           score=rating.score, comment=rating.comment, reason=reason)  # fmt: skip
            current = None
            if comment is not None:
                comment_set(viewer=viewer, user=user, appraisal=appraisal, text=comment, reason=reason)
    except ValidationError as error:
        raise RatingRefused(error, item=current) from error

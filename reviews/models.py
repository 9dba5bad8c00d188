"""Monthly three-dimensional appraisals: templates of weighted dimensions and items, cycles
that move from draft to published, and each member's appraisal with its ratings and scores.

Scores are 0–100 (item, dimension, total); a grade comes from score bands. KPI items are scored
from the rollups; when HR finalises a cycle the values used are frozen into the item scores, so
a later re-import cannot silently change a finalised appraisal.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from reviews import scoring
from teams.models import Member, Store, Team


class Bilingual(models.Model):
    """Names written by people (templates, items) in both languages; shown in the active one."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if (get_language() or "").startswith("zh") or not self.name_en:
            return self.name_zh
        return self.name_en


def grade_bands_default() -> list[dict[str, str]]:
    return scoring.bands_json(scoring.DEFAULT_BANDS)


class AppraisalTemplate(Bilingual):
    """A form of appraisal. Versioned: a template a finalised or published cycle used is never
    changed; saving an edit of it makes a new row (`version` + 1, `replaces` the old one) and
    retires the old one, which its cycles keep. A template nothing final uses is edited in place.
    Retired templates are not offered for new cycles."""

    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.CASCADE, related_name="appraisal_templates",
        help_text=_("Empty: a template every store may use."),
    )  # fmt: skip
    key = models.SlugField(max_length=40, blank=True, help_text=_("Built-in templates have a key."))
    description = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    # Grades: [{"grade": "S", "lower": "90", "guide": "0.10"}, …], descending, the last from 0;
    # "lower" is the lowest total (0–100) that earns the grade, "guide" the calibration share (0–1).
    grade_bands = models.JSONField(_("grade bands"), default=grade_bands_default, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by",
                                 verbose_name=_("replaces"))  # fmt: skip
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name_zh", "version"]
        verbose_name = _("appraisal template")
        verbose_name_plural = _("appraisal templates")

    @property
    def bands(self) -> tuple[scoring.Band, ...]:
        return scoring.bands_parse(self.grade_bands)

    @property
    def grade_letters(self) -> list[str]:
        return [band.grade for band in self.bands]

    @property
    def built_in(self) -> bool:
        return bool(self.key)

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    @property
    def description_text(self) -> str:
        """The description in the active language (the other when it has none in it)."""
        if (get_language() or "").startswith("zh") or not self.description_en:
            return self.description or self.description_en
        return self.description_en


class Dimension(Bilingual):
    template = models.ForeignKey(AppraisalTemplate, on_delete=models.CASCADE, related_name="dimensions")
    weight = models.DecimalField(
        _("weight"), max_digits=5, decimal_places=4, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Share of the total, 0–1; a template's dimensions add up to 1."),
    )  # fmt: skip
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["template", "order"]
        verbose_name = _("dimension")
        verbose_name_plural = _("dimensions")


class ItemKind(models.TextChoices):
    KPI = "kpi", _("KPI, scored from the data")
    RATING = "rating", _("Rating, 1–5")


class ScoringRule(models.TextChoices):
    LINEAR = "linear", _("Linear from a floor to the target, capped")
    THRESHOLDS = "thresholds", _("Thresholds")
    RANK = "rank", _("Rank within the team")


class Item(Bilingual):
    dimension = models.ForeignKey(Dimension, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(_("kind"), max_length=10, choices=ItemKind)
    weight = models.DecimalField(
        _("weight"), max_digits=5, decimal_places=4, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Share of its dimension, 0–1; a dimension's items add up to 1."),
    )  # fmt: skip
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    # KPI items
    kpi_key = models.CharField(_("KPI"), max_length=40, blank=True)
    rule = models.CharField(_("scoring rule"), max_length=12, choices=ScoringRule, blank=True)
    floor = models.DecimalField(
        _("floor"), max_digits=16, decimal_places=4, null=True, blank=True,
        help_text=_("Linear: the value that scores 0 (for lower-is-better KPIs, the worst acceptable value)."),
    )  # fmt: skip
    target = models.DecimalField(
        _("target"), max_digits=16, decimal_places=4, null=True, blank=True,
        help_text=_("Linear: the value that scores 100. Empty: the member's target of the month, if any."),
    )  # fmt: skip
    # Thresholds: [[value, score], …]; the best threshold the value reaches gives the score.
    thresholds = models.JSONField(_("thresholds"), default=list, blank=True)
    # Rating items: the rubric, and how much each rater counts (the weights present are rescaled).
    # `rubric_levels`: what each rating means, 1 to 5: [{"zh": …, "en": …}, …] (five entries, a
    # level may be empty: "between"). `rubric_zh`/`rubric_en`: a general note, or the one text of
    # an item written before levels existed.
    rubric_levels = models.JSONField(_("rubric by level"), default=list, blank=True)
    rubric_zh = models.TextField(_("rubric (Chinese)"), blank=True)
    rubric_en = models.TextField(_("rubric (English)"), blank=True)
    manager_weight = models.DecimalField(_("manager's weight"), max_digits=4, decimal_places=3,
                                         default=Decimal("0.7"))  # fmt: skip
    self_weight = models.DecimalField(_("self weight"), max_digits=4, decimal_places=3, default=Decimal("0.3"))
    peer_weight = models.DecimalField(_("peers' weight"), max_digits=4, decimal_places=3, default=Decimal("0"))

    class Meta:
        ordering = ["dimension", "order"]
        verbose_name = _("appraisal item")
        verbose_name_plural = _("appraisal items")

    @property
    def rubric_note(self) -> str:
        """The general note (or an older item's single rubric) in the active language."""
        if (get_language() or "").startswith("zh") or not self.rubric_en:
            return self.rubric_zh
        return self.rubric_en

    @property
    def rubric_by_level(self) -> list[tuple[int, str]]:
        """(level 1–5, what it means) in the active language (the other when it has none), for the
        levels described."""
        zh = (get_language() or "").startswith("zh")
        shown = []
        for level, texts in enumerate(self.rubric_levels or [], start=1):
            first, other = (
                (texts.get("zh", ""), texts.get("en", "")) if zh else (texts.get("en", ""), texts.get("zh", ""))
            )
            if first or other:
                shown.append((level, first or other))
        return shown

    @property
    def rubric(self) -> str:
        """The rubric as one text: each level described, then the note."""
        separator = "；" if (get_language() or "").startswith("zh") else "; "
        levels = separator.join(f"{level} {text}" for level, text in self.rubric_by_level)
        return " ".join(part for part in (levels, self.rubric_note) if part)


class CycleState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SELF_REVIEW = "self_review", _("Self review")
    MANAGER_REVIEW = "manager_review", _("Manager review")
    CALIBRATION = "calibration", _("Calibration")
    FINALISED = "finalised", _("Finalised by HR")
    PUBLISHED = "published", _("Published")


CYCLE_ORDER = [s.value for s in CycleState]


class Cycle(models.Model):
    """One month's appraisal of a team (or of a whole store's members)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="cycles", verbose_name=_("store"))
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="cycles", verbose_name=_("team")
    )
    month = models.DateField(_("month"), help_text=_("Its first day."))
    template = models.ForeignKey(AppraisalTemplate, on_delete=models.PROTECT, related_name="cycles")
    state = models.CharField(_("state"), max_length=16, choices=CycleState, default=CycleState.DRAFT)
    self_review_due = models.DateField(_("self review due"), null=True, blank=True)
    manager_review_due = models.DateField(_("manager review due"), null=True, blank=True)
    calibration_due = models.DateField(_("calibration due"), null=True, blank=True)
    finalised_at = models.DateTimeField(null=True, blank=True)
    finalised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")  # fmt: skip
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "store", "team"]
        verbose_name = _("appraisal cycle")
        verbose_name_plural = _("appraisal cycles")
        constraints = [
            models.UniqueConstraint(
                fields=["team", "month"], condition=models.Q(team__isnull=False), name="cycle_one_per_team_month"
            ),
            models.UniqueConstraint(
                fields=["store", "month"], condition=models.Q(team__isnull=True), name="cycle_one_per_store_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team or self.store} {self.month:%Y-%m}"

    @property
    def locked(self) -> bool:
        return self.state in (CycleState.FINALISED, CycleState.PUBLISHED)


class Appraisal(models.Model):
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="appraisals")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="appraisals")
    total = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)  # 0–100
    # A letter of the cycle's template's bands (S–D by default; a template may have its own).
    grade = models.CharField(max_length=8, blank=True)
    manager_comment = models.TextField(_("manager's comment"), blank=True)
    self_comment = models.TextField(_("self-assessment"), blank=True)
    # The KPI values and target completion used, frozen at finalisation (JSON: item id → values),
    # and the moment; afterwards scores come from here, not from the rollups.
    frozen = models.JSONField(default=dict, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cycle", "member__display_name"]
        constraints = [models.UniqueConstraint(fields=["cycle", "member"], name="appraisal_one_per_member")]

    def __str__(self) -> str:
        return f"{self.member} {self.cycle}"


class ItemStatus(models.TextChoices):
    """Where an item's score comes from. A KPI item without data for the member in the month is
    never left out silently: it is insufficient (the total and grade wait) until HR decides."""

    SCORED = "", _("Scored")  # from the data, or from the ratings (a rating not given yet is left out)
    INSUFFICIENT = "insufficient", _("Insufficient data")
    HR_VALUE = "hr_value", _("Value entered by HR")
    EXCLUDED = "excluded", _("Excluded by HR")


class ItemScore(models.Model):
    """An item's score in one appraisal (KPI value and target for KPI items), kept current until
    finalisation and frozen with it. `value` is the value scored: the data's, or the one HR
    entered (status HR_VALUE)."""

    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="item_scores")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    value = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    target = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=12, choices=ItemStatus, blank=True, default=ItemStatus.SCORED)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["appraisal", "item"], name="item_score_unique")]

    def __str__(self) -> str:
        return f"{self.appraisal_id} {self.item_id}: {self.score}"


class DecisionKind(models.TextChoices):
    VALUE = "value", _("Enter a value")
    EXCLUDE = "exclude", _("Exclude the item for this member")


class ItemDecision(models.Model):
    """HR's decision on a KPI item that has no data for the member in the cycle's month: a value to
    score it from (by the item's rule, as if it came from the data), or the item excluded for this
    member (the rest of its dimension carries its weight). Kept apart from ItemScore, which every
    refresh rewrites; used only while the month has no data for the item (data, once it arrives,
    wins). Changed in manager review and calibration only, each change in the audit trail."""

    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="decisions")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("decision"), max_length=10, choices=DecisionKind)
    value = models.DecimalField(_("value"), max_digits=18, decimal_places=6, null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["appraisal", "item"], name="item_decision_unique"),
            models.CheckConstraint(
                condition=(models.Q(kind="value", value__isnull=False) | models.Q(kind="exclude", value__isnull=True)),
                name="item_decision_value_only_for_value",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appraisal_id} {self.item_id}: {self.kind} {self.value or ''}".strip()


class RaterRole(models.TextChoices):
    SELF = "self", _("Self")
    MANAGER = "manager", _("Manager")
    PEER = "peer", _("Peer")


class Rating(models.Model):
    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="ratings")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=10, choices=RaterRole)
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["appraisal", "item", "role", "rater"], name="rating_one_per_rater"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="rating_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.appraisal_id} {self.item_id} {self.role}: {self.score}"


class AuditEntry(models.Model):
    """A change made after self review: who, when, what it was, what it became, and why."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="audit")
    appraisal = models.ForeignKey(Appraisal, null=True, blank=True, on_delete=models.CASCADE, related_name="audit")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    field = models.CharField(max_length=120)  # a key (state, self_comment…) or, with field_msg, its text
    field_msg = models.JSONField(default=dict, blank=True)  # what changed, as a message in the reader's language
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.field}"

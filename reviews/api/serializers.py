"""Appraisal templates as JSON: the same spec the editor page edits (reviews/template_spec.py), in
the stored units: weights and guide shares are fractions (0.4 for 40%), grade cut-offs totals
0–100, KPI values in the KPI's unit (rates as fractions). Names are as written in both languages;
`name` and each KPI's label and direction are given in the request's language."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from metrics.registry import KPI_BY_KEY
from reviews import scoring
from reviews.models import AppraisalTemplate, ItemKind, ScoringRule
from reviews.template_spec import DimensionSpec, ItemSpec, TemplateSpec, template_spec_of
from teams.api.filters import MonthOrDayField
from teams.models import Store

WEIGHT = {"max_digits": 6, "decimal_places": 4}
VALUE = {"max_digits": 18, "decimal_places": 6}


class BandSerializer(serializers.Serializer):
    grade = serializers.CharField(max_length=8, help_text="Its letter(s): S, A…, or the company's own.")
    lower = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="The lowest total (0–100) earning it.")
    guide = serializers.DecimalField(**WEIGHT, help_text="The share of a team it should roughly take (0–1).")


class ItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True, help_text="On an update: the item it edits.")
    name_zh = serializers.CharField(max_length=120)
    name_en = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=ItemKind.choices)
    weight = serializers.DecimalField(**WEIGHT, help_text="Share of its dimension (0–1); a dimension's add up to 1.")
    kpi_key = serializers.CharField(required=False, allow_blank=True, default="", help_text="KPI items: the KPI's key.")
    kpi_label = serializers.SerializerMethodField(help_text="The KPI's name in the request's language.")
    direction = serializers.SerializerMethodField(help_text="higher, lower or neutral: which way is better.")
    rule = serializers.ChoiceField(choices=ScoringRule.choices, required=False, allow_blank=True, default="")
    floor = serializers.DecimalField(**VALUE, required=False, allow_null=True, default=None,
                                     help_text="Linear: the value scoring 0 (null: 0).")  # fmt: skip
    target = serializers.DecimalField(**VALUE, required=False, allow_null=True, default=None,
                                      help_text="Linear: scores 100; null: the member's month target.")  # fmt: skip
    thresholds = serializers.ListField(
        child=serializers.ListField(child=serializers.DecimalField(**VALUE), min_length=2, max_length=2),
        required=False, default=list, help_text="Thresholds: [[value, score 0–100], …].",
    )  # fmt: skip
    rubric_levels = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True)), required=False, default=list,
        help_text='Rating items: five levels, 1 to 5, each {"zh": …, "en": …}.',
    )  # fmt: skip
    rubric_zh = serializers.CharField(required=False, allow_blank=True, default="")
    rubric_en = serializers.CharField(required=False, allow_blank=True, default="")
    manager_weight = serializers.DecimalField(**WEIGHT, required=False, default=Decimal("0.7"))
    self_weight = serializers.DecimalField(**WEIGHT, required=False, default=Decimal("0.3"))
    peer_weight = serializers.DecimalField(**WEIGHT, required=False, default=Decimal(0))

    def get_kpi_label(self, item) -> str:
        kpi = KPI_BY_KEY.get(item.kpi_key)
        return kpi.label if kpi else ""

    def get_direction(self, item) -> str:
        kpi = KPI_BY_KEY.get(item.kpi_key)
        return str(kpi.direction) if kpi else ""


class DimensionSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True, help_text="On an update: the dimension it edits.")
    name_zh = serializers.CharField(max_length=120)
    name_en = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    weight = serializers.DecimalField(**WEIGHT, help_text="Share of the total (0–1); the dimensions add up to 1.")
    items = ItemSerializer(many=True)


class TemplateSerializer(serializers.Serializer):
    """A template with its grade bands, dimensions and items. Read-only: its version, what it
    replaces, when it was retired, whether it is built in."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True, help_text="In the request's language.")
    name_zh = serializers.CharField(max_length=120)
    name_en = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="", help_text="In Chinese.")
    description_en = serializers.CharField(required=False, allow_blank=True, default="")
    store = serializers.PrimaryKeyRelatedField(queryset=Store.objects.all(), required=False, allow_null=True,
                                               default=None, help_text="null: every store may use it.")  # fmt: skip
    key = serializers.CharField(read_only=True, help_text="Built-in templates' key.")
    version = serializers.IntegerField(read_only=True)
    replaces = serializers.IntegerField(read_only=True, allow_null=True, help_text="The version it replaced.")
    retired_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                           help_text="Retired versions are not offered for new cycles.")  # fmt: skip
    grade_bands = BandSerializer(many=True, required=False, help_text="Best first; the last from 0. Default S–D.")
    dimensions = DimensionSerializer(many=True)

    def __init__(self, *args, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        if stores is not None:
            self.fields["store"].queryset = stores

    def to_representation(self, template: AppraisalTemplate) -> dict:
        spec = template_spec_of(template=template)
        item_fields = ItemSerializer()
        return {
            "id": template.pk, "name": template.name, "name_zh": template.name_zh, "name_en": template.name_en,
            "description": template.description, "description_en": template.description_en,
            "store": template.store_id, "key": template.key, "version": template.version,
            "replaces": template.replaces_id,
            "retired_at": serializers.DateTimeField().to_representation(template.retired_at)
            if template.retired_at else None,
            "grade_bands": BandSerializer(template.bands, many=True).data,
            "dimensions": [
                {"id": d.id, "name_zh": d.name_zh, "name_en": d.name_en, "weight": f"{d.weight:.4f}",
                 "items": [item_fields.to_representation(i) for i in d.items]}
                for d in spec.dimensions
            ],
        }  # fmt: skip

    def spec(self) -> TemplateSpec:
        """The validated request as a spec (the services check the template's rules)."""
        data = self.validated_data
        bands = data.get("grade_bands")
        return TemplateSpec(
            name_zh=data["name_zh"], name_en=data["name_en"], description=data["description"],
            description_en=data["description_en"], store_id=data["store"].pk if data.get("store") else None,
            bands=[scoring.Band(b["grade"], b["lower"], b["guide"]) for b in bands] if bands is not None
            else list(scoring.DEFAULT_BANDS),
            dimensions=[
                DimensionSpec(id=d.get("id"), name_zh=d["name_zh"], name_en=d["name_en"], weight=d["weight"],
                              items=[ItemSpec(**item) for item in d["items"]])
                for d in data["dimensions"]
            ],
        )  # fmt: skip


class PreviewRequestSerializer(serializers.Serializer):
    template = TemplateSerializer(help_text="The draft, as a template's body.")
    team = serializers.IntegerField(help_text="A team the user may see.")
    month = MonthOrDayField(help_text="YYYY-MM: the month scored.")


class PreviewItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField(allow_null=True, help_text="The KPI's value (decimal string; rates as fractions).")
    target = serializers.CharField(allow_null=True)
    score = serializers.CharField(allow_null=True, help_text="0–100, two decimals; null: left out or no data.")
    status = serializers.CharField(help_text='"" scored, or "insufficient": the month has no data for it.')


class PreviewMemberSerializer(serializers.Serializer):
    member = serializers.IntegerField()
    name = serializers.CharField()
    items = PreviewItemSerializer(many=True)
    dimensions = serializers.ListField(child=serializers.CharField(allow_null=True))
    total = serializers.CharField(allow_null=True)
    grade = serializers.CharField(allow_blank=True)


class PreviewSerializer(serializers.Serializer):
    team = serializers.IntegerField()
    month = serializers.DateField()
    members = PreviewMemberSerializer(many=True)

"""Pay plans as JSON. Money is a decimal string in yuan, rates and weights fractions (0.025 =
2.5%), thresholds in the KPI's unit (a rate as a fraction), months their first day."""

from rest_framework import serializers

from incentives.models import CommissionTier, Milestone, Modifier, Plan, PlanAllowance, PlanAssignment, RankingAward


class PayPlanTierSerializer(serializers.ModelSerializer):
    class Meta:
        model = CommissionTier
        fields = ["from_completion", "rate"]


class PayPlanModifierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Modifier
        fields = ["kpi_key", "comparison", "threshold", "multiplier"]


class PayPlanMilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Milestone
        fields = ["kpi_key", "comparison", "threshold", "amount"]


class PayPlanRankingAwardSerializer(serializers.ModelSerializer):
    amounts = serializers.ListField(child=serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0),
                                    help_text="Yuan for 1st, 2nd, …")  # fmt: skip

    class Meta:
        model = RankingAward
        fields = ["kpi_key", "amounts"]


class PayPlanAllowanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanAllowance
        fields = ["name_zh", "name_en", "amount", "start_month", "end_month"]


class PayPlanAssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanAssignment
        fields = ["id", "team", "member", "start_date", "end_date"]


class PayPlanSerializer(serializers.ModelSerializer):
    """A plan with its parts. Writing (HR and administrators): the parts given replace the plan's;
    an edit of a plan a locked statement used answers the new version (another id)."""

    tiers = PayPlanTierSerializer(many=True, required=False)
    modifiers = PayPlanModifierSerializer(many=True, required=False)
    milestones = PayPlanMilestoneSerializer(many=True, required=False)
    ranking_awards = PayPlanRankingAwardSerializer(many=True, required=False)
    allowances = PayPlanAllowanceSerializer(many=True, required=False)
    assignments = serializers.SerializerMethodField(help_text="Its assignments to the teams and members you see.")
    grade_coefficients = serializers.DictField(child=serializers.DecimalField(max_digits=6, decimal_places=3,
                                                                              min_value=0),
                                               required=False, help_text='{"S": 1.5, "A": 1.2, …}')  # fmt: skip

    class Meta:
        model = Plan
        fields = [
            "id", "name", "version", "replaces", "retired_at", "store", "kind", "description", "base_salary",
            "performance_pay", "performance_by_score", "grade_coefficients", "commission_mode", "commission_base",
            "flat_rate", "tier_mode", "commission_cap", "pk_kpi_key", "pk_bonus_rate", "call_pay",
            "call_connected_target", "call_talk_target_minutes", "call_connected_weight", "call_talk_weight",
            "call_floor", "tiers", "modifiers", "milestones", "ranking_awards", "allowances", "assignments",
        ]  # fmt: skip
        read_only_fields = ["version", "replaces", "retired_at"]

    def get_assignments(self, plan: Plan) -> list[dict]:
        visible = self.context.get("assignments", {}).get(plan.pk, [])
        return PayPlanAssignmentSerializer(visible, many=True).data

    def validate(self, attrs):
        # The rules themselves (plan_parts_validate) run in the service, with the parts.
        return attrs

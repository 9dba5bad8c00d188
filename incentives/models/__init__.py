"""Incentive plans, their assignment to members, monthly payout statements line by line, the
orders commission was paid on (for clawback), and badges: one module each (plans, statements,
badges), every name importable from here as before (the app's migrations and every caller use
`incentives.models`)."""

from incentives.models.badges import Badge, BadgeRule
from incentives.models.plans import (
    TELESALES_RATE_MAX,
    TELESALES_RATE_MIN,
    CommissionBase,
    CommissionMode,
    CommissionTier,
    Comparison,
    Milestone,
    Modifier,
    Plan,
    PlanAllowance,
    PlanAssignment,
    PlanKind,
    RankingAward,
    TierMode,
    telesales_rate_error,
)
from incentives.models.statements import (
    MANUAL_LINE_SIGNS,
    CommissionedOrder,
    LineKind,
    ManualLine,
    ManualLineKind,
    Statement,
    StatementLine,
    StatementState,
)

__all__ = [
    "MANUAL_LINE_SIGNS",
    "TELESALES_RATE_MAX",
    "TELESALES_RATE_MIN",
    "Badge",
    "BadgeRule",
    "CommissionBase",
    "CommissionMode",
    "CommissionTier",
    "CommissionedOrder",
    "Comparison",
    "LineKind",
    "ManualLine",
    "ManualLineKind",
    "Milestone",
    "Modifier",
    "Plan",
    "PlanAllowance",
    "PlanAssignment",
    "PlanKind",
    "RankingAward",
    "Statement",
    "StatementLine",
    "StatementState",
    "TierMode",
    "telesales_rate_error",
]

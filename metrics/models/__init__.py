"""The metrics app's models, one module per subject, all importable from here (and the migrations
keep their module path `metrics.models`)."""

from metrics.models.deals import (  # noqa: F401
    StuckDeal,
)
from metrics.models.facts import (  # noqa: F401
    OPEN_STAGES,
    Call,
    CallDirection,
    ChatSession,
    ImportedFact,
    Lead,
    LeadStage,
    LeadStageChange,
    Order,
    OrderStatus,
    TrafficDay,
)
from metrics.models.followups import (  # noqa: F401
    Followup,
    FollowupStatus,
)
from metrics.models.imports import (  # noqa: F401
    ColumnMapping,
    ImportBatch,
    ImportKind,
    ImportRowError,
    ImportStatus,
    KpisStatus,
    _upload_to,
)
from metrics.models.rollups import (  # noqa: F401
    BuyerSegmentCount,
    InquiryBuyerDay,
    MemberDay,
    StoreBuyerDay,
    StoreDataVersion,
    StoreDay,
    StoreMonthVersion,
)
from metrics.models.targets import (  # noqa: F401
    Behaviour,
    BehaviourRecord,
    Campaign,
    CampaignKind,
    CampaignPhase,
    PaceMethod,
    PeriodKind,
    PhaseKind,
    Target,
    TargetAlert,
    TargetAlertKind,
    TargetDirection,
    TargetTier,
)

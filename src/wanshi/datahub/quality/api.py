"""Quality operations' public face: the only module other contexts import for runs, rule sets and scores.

The engine's own names (``check_quality``, ``RuleSet`` ...) stay importable from ``wanshi.datahub.quality``.
Run a resource's check from another context's use case or a script::

    run = quality.run_quality_check(
        uow, platform.datastore, quality.RunQualityCheck(resource_code="101001001/000001"), actor,
        tickets=quality.TicketOptions(platform.files, platform.settings.quality_ticket_days),
    )
    run.score, run.rows
"""

from __future__ import annotations

from wanshi.datahub.quality.consistency import (
    ConsistencyConfig,
    ConsistencyError,
    ConsistencyReport,
    FieldComparison,
    check_consistency,
    load_config,
)
from wanshi.datahub.quality.domain import (
    DEFAULT_TICKET_DAYS,
    TICKET_CATEGORY,
    TICKET_SOURCE_TYPE,
    Point,
    RuleOutcome,
    Run,
    RunKind,
    Series,
    StoredRuleSet,
    Trigger,
    mask_key,
)
from wanshi.datahub.quality.services import (
    SWEEP_JOB,
    CheckConsistency,
    ConsistencyOutcome,
    Dashboard,
    DashboardQuery,
    LinkedTicket,
    RuleSetView,
    RunDetail,
    RunPage,
    RunQualityCheck,
    RunQuery,
    SaveRuleSet,
    Target,
    TicketOptions,
    check_sources,
    get_rule_set,
    get_run,
    list_runs,
    quality_dashboard,
    register_jobs,
    run_quality_check,
    save_rule_set,
    score_history,
    sweep_loads,
)

__all__ = [
    "DEFAULT_TICKET_DAYS",
    "SWEEP_JOB",
    "TICKET_CATEGORY",
    "TICKET_SOURCE_TYPE",
    "CheckConsistency",
    "ConsistencyConfig",
    "ConsistencyError",
    "ConsistencyOutcome",
    "ConsistencyReport",
    "Dashboard",
    "DashboardQuery",
    "FieldComparison",
    "LinkedTicket",
    "Point",
    "RuleOutcome",
    "RuleSetView",
    "Run",
    "RunDetail",
    "RunKind",
    "RunPage",
    "RunQualityCheck",
    "RunQuery",
    "SaveRuleSet",
    "Series",
    "StoredRuleSet",
    "Target",
    "TicketOptions",
    "Trigger",
    "check_consistency",
    "check_sources",
    "get_rule_set",
    "get_run",
    "list_runs",
    "load_config",
    "mask_key",
    "quality_dashboard",
    "register_jobs",
    "run_quality_check",
    "save_rule_set",
    "score_history",
    "sweep_loads",
]

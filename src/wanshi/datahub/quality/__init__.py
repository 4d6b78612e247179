"""Data quality (DC-4, issue #3 item 5): declarative rules, vectorised identifier kernels, one-pass engine."""

from wanshi.datahub.quality.engine import (
    DatasetMetadata,
    QualityError,
    QualityReport,
    RuleResult,
    check_quality,
)
from wanshi.datahub.quality.kernels import credit_code_valid, resident_id_valid
from wanshi.datahub.quality.rules import RuleFileError, RuleSet, load_rules, parse_rules

__all__ = [
    "DatasetMetadata",
    "QualityError",
    "QualityReport",
    "RuleFileError",
    "RuleResult",
    "RuleSet",
    "check_quality",
    "credit_code_valid",
    "load_rules",
    "parse_rules",
    "resident_id_valid",
]

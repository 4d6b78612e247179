"""What other contexts, the web layer, the CLI and the composition root may use from audit."""

from wanshi.audit.domain import KNOWN_OUTCOMES, AuditEntry, AuditPage, ChainProblem, ChainReport
from wanshi.audit.services import (
    PURGE_JOB,
    AuditQuery,
    purge_expired_audit,
    register_jobs,
    search_audit,
    verify_audit,
)

__all__ = [
    "KNOWN_OUTCOMES",
    "PURGE_JOB",
    "AuditEntry",
    "AuditPage",
    "AuditQuery",
    "ChainProblem",
    "ChainReport",
    "purge_expired_audit",
    "register_jobs",
    "search_audit",
    "verify_audit",
]

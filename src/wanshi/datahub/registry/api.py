"""The base registries' public face: the only module other contexts import.

Build a ``Registry`` once from the platform and pass it to the services, like the analytical store::

    registry = api.Registry.build(platform.settings, platform.datastore)
    with platform.uow() as uow:
        answer = api.verify_person(
            uow, registry, api.VerifyPerson(id_number=..., name=..., purpose="不动产登记身份核验"), actor
        )
    if not answer.ok: ...  # answer.result is a stable code, answer.message is for people

Every call is logged (registry_call) with a masked, hashed subject. ``ElicenceIndex`` and
``CreditRegistry`` are the interfaces the e-licence and credit issues implement; until then a store-backed
reader answers from the datasets "elicence_index" and "credit_record" (nothing when they do not exist).
"""

from __future__ import annotations

from wanshi.datahub.registry.domain import (
    ENTERPRISE_FIELDS,
    FIELD_LABELS,
    PERSON_FIELDS,
    Operation,
    Result,
    mask,
)
from wanshi.datahub.registry.gateways import (
    CREDIT_DATASET,
    ELICENCE_DATASET,
    CreditEntry,
    CreditRegistry,
    ElicenceIndex,
    IndexStatus,
    IndexUnavailable,
    Kind,
    LicenceEntry,
    StoreCreditRegistry,
    StoreElicenceIndex,
)
from wanshi.datahub.registry.policies import citizen_may_prefill_own
from wanshi.datahub.registry.services import (
    REINDEX_JOB,
    CallPage,
    CallQuery,
    CreditQuery,
    CreditRecords,
    EnterprisePrefill,
    EnterpriseVerification,
    Grant,
    GrantRegistry,
    LicenceQuery,
    Licences,
    PersonPrefill,
    PersonVerification,
    Prefill,
    Registry,
    RevokeRegistry,
    VerifyEnterprise,
    VerifyPerson,
    credit_records,
    enterprise_prefill,
    find_licences,
    grant_registry,
    index_status,
    list_grants,
    person_prefill,
    register_jobs,
    reindex,
    revoke_registry,
    search_calls,
    verify_enterprise,
    verify_person,
)

__all__ = [
    "CREDIT_DATASET",
    "ELICENCE_DATASET",
    "ENTERPRISE_FIELDS",
    "FIELD_LABELS",
    "PERSON_FIELDS",
    "REINDEX_JOB",
    "CallPage",
    "CallQuery",
    "CreditEntry",
    "CreditQuery",
    "CreditRecords",
    "CreditRegistry",
    "ElicenceIndex",
    "EnterprisePrefill",
    "EnterpriseVerification",
    "Grant",
    "GrantRegistry",
    "IndexStatus",
    "IndexUnavailable",
    "Kind",
    "LicenceEntry",
    "LicenceQuery",
    "Licences",
    "Operation",
    "PersonPrefill",
    "PersonVerification",
    "Prefill",
    "Registry",
    "Result",
    "RevokeRegistry",
    "StoreCreditRegistry",
    "StoreElicenceIndex",
    "VerifyEnterprise",
    "VerifyPerson",
    "citizen_may_prefill_own",
    "credit_records",
    "enterprise_prefill",
    "find_licences",
    "grant_registry",
    "index_status",
    "list_grants",
    "mask",
    "person_prefill",
    "register_jobs",
    "reindex",
    "revoke_registry",
    "search_calls",
    "verify_enterprise",
    "verify_person",
]

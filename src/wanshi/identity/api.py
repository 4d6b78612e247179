"""What other contexts may use from identity."""

from wanshi.identity.domain import Account, StaffUser, password_problems
from wanshi.identity.domain.enterprise import SCOPE_NAMES, ActingFor, Delegation, DelegationScope, LegalPerson
from wanshi.identity.domain.login import OtpRules, SessionTimes
from wanshi.identity.gateways import RealNameAnswer, RealNameRegistry
from wanshi.identity.passwords import Passwords
from wanshi.identity.services import (
    ROLE_NAMES,
    CreateStaffUser,
    GrantRole,
    IdentityRules,
    IdentityService,
    SetPassword,
    StaffQuery,
    StaffUserSpec,
    load_actor,
    staff_user_ids,
)
from wanshi.identity.services.accounts import RecoverPassword, RegisterPerson, SubjectClaims, VerifyInPerson
from wanshi.identity.services.enterprise import (
    ClaimLegalPerson,
    Enterprises,
    GrantDelegation,
    RevokeDelegation,
    legal_person_claims,
)
from wanshi.identity.services.factors import SentCode
from wanshi.identity.services.login import Done, LoginContext, QrRequest, QrStart, SecondFactorOwed
from wanshi.identity.services.oidc import register_jobs as register_oidc_jobs
from wanshi.identity.services.sessions import SessionView, StartedSession
from wanshi.identity.services.upkeep import register_jobs as register_upkeep_jobs

__all__ = [
    "ROLE_NAMES",
    "SCOPE_NAMES",
    "Account",
    "ActingFor",
    "ClaimLegalPerson",
    "CreateStaffUser",
    "Delegation",
    "DelegationScope",
    "Done",
    "Enterprises",
    "GrantDelegation",
    "GrantRole",
    "IdentityRules",
    "IdentityService",
    "LegalPerson",
    "LoginContext",
    "OtpRules",
    "Passwords",
    "QrRequest",
    "QrStart",
    "RealNameAnswer",
    "RealNameRegistry",
    "RecoverPassword",
    "RegisterPerson",
    "RevokeDelegation",
    "SecondFactorOwed",
    "SentCode",
    "SessionTimes",
    "SessionView",
    "SetPassword",
    "StaffQuery",
    "StaffUser",
    "StaffUserSpec",
    "StartedSession",
    "SubjectClaims",
    "VerifyInPerson",
    "legal_person_claims",
    "load_actor",
    "password_problems",
    "register_oidc_jobs",
    "register_upkeep_jobs",
    "staff_user_ids",
]

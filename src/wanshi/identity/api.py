"""What other contexts may use from identity."""

from wanshi.identity.domain import Account, StaffUser, password_problems
from wanshi.identity.domain.login import OtpRules, SessionTimes
from wanshi.identity.gateways import RealNameAnswer, RealNameRegistry
from wanshi.identity.passwords import Passwords
from wanshi.identity.services import (
    ROLE_NAMES,
    CreateStaffUser,
    GrantRole,
    IdentityService,
    LoginRules,
    SetPassword,
    StaffQuery,
    StaffUserSpec,
    load_actor,
    staff_user_ids,
)
from wanshi.identity.services.accounts import RecoverPassword, RegisterPerson, SubjectClaims, VerifyInPerson
from wanshi.identity.services.factors import SentCode
from wanshi.identity.services.login import Done, LoginContext, QrRequest, QrStart, SecondFactorOwed
from wanshi.identity.services.sessions import SessionView, StartedSession

__all__ = [
    "ROLE_NAMES",
    "Account",
    "CreateStaffUser",
    "Done",
    "GrantRole",
    "IdentityService",
    "LoginContext",
    "LoginRules",
    "OtpRules",
    "Passwords",
    "QrRequest",
    "QrStart",
    "RealNameAnswer",
    "RealNameRegistry",
    "RecoverPassword",
    "RegisterPerson",
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
    "load_actor",
    "password_problems",
    "staff_user_ids",
]

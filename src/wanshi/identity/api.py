"""What other contexts may use from identity."""

from wanshi.identity.domain import StaffUser, password_problems
from wanshi.identity.passwords import Passwords
from wanshi.identity.services import (
    ROLE_NAMES,
    CreateStaffUser,
    GrantRole,
    IdentityService,
    SetPassword,
    StaffQuery,
    StaffUserSpec,
    load_actor,
    staff_user_ids,
)

__all__ = [
    "ROLE_NAMES",
    "CreateStaffUser",
    "GrantRole",
    "IdentityService",
    "Passwords",
    "SetPassword",
    "StaffQuery",
    "StaffUser",
    "StaffUserSpec",
    "load_actor",
    "password_problems",
    "staff_user_ids",
]

"""Chinese identifiers: validate, normalise and generate. Pure Python, no framework imports."""

from wanshi.kernel.identifiers.credit_code import (
    CreditCodeInfo,
    credit_code_check_char,
    generate_credit_code,
    validate_credit_code,
)
from wanshi.kernel.identifiers.division_code import (
    DivisionCodeInfo,
    DivisionLevel,
    parent_codes,
    validate_division_code,
)
from wanshi.kernel.identifiers.errors import (
    InvalidCreditCode,
    InvalidDivisionCode,
    InvalidIdentifier,
    InvalidLicenceId,
    InvalidOrgCode,
    InvalidResidentId,
)
from wanshi.kernel.identifiers.licence_id import (
    LicenceIdInfo,
    build_licence_id,
    iso7064_mod37_36_check_char,
    validate_licence_id,
)
from wanshi.kernel.identifiers.org_code import (
    OrgCodeInfo,
    generate_org_code,
    org_code_check_char,
    validate_org_code,
)
from wanshi.kernel.identifiers.resident_id import (
    ResidentIdInfo,
    generate_resident_id,
    resident_id_check_char,
    upgrade_15_to_18,
    validate_resident_id,
)

__all__ = [
    "CreditCodeInfo",
    "DivisionCodeInfo",
    "DivisionLevel",
    "InvalidCreditCode",
    "InvalidDivisionCode",
    "InvalidIdentifier",
    "InvalidLicenceId",
    "InvalidOrgCode",
    "InvalidResidentId",
    "LicenceIdInfo",
    "OrgCodeInfo",
    "ResidentIdInfo",
    "build_licence_id",
    "credit_code_check_char",
    "generate_credit_code",
    "generate_org_code",
    "generate_resident_id",
    "iso7064_mod37_36_check_char",
    "org_code_check_char",
    "parent_codes",
    "resident_id_check_char",
    "upgrade_15_to_18",
    "validate_credit_code",
    "validate_division_code",
    "validate_licence_id",
    "validate_org_code",
    "validate_resident_id",
]

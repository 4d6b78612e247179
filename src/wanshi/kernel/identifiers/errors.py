"""One error per identifier type, so callers can catch all of them or just one.

The message says in Chinese what is wrong; `details["reason"]` says the same for programs.
"""

from __future__ import annotations

from wanshi.kernel.errors import ValidationFailed


class InvalidIdentifier(ValidationFailed):
    code = "invalid_identifier"
    default_message = "证件号码或代码不正确"


class InvalidResidentId(InvalidIdentifier):
    code = "invalid_resident_id"
    default_message = "居民身份证号码不正确"


class InvalidCreditCode(InvalidIdentifier):
    code = "invalid_credit_code"
    default_message = "统一社会信用代码不正确"


class InvalidOrgCode(InvalidIdentifier):
    code = "invalid_org_code"
    default_message = "组织机构代码不正确"


class InvalidDivisionCode(InvalidIdentifier):
    code = "invalid_division_code"
    default_message = "行政区划代码不正确"


class InvalidLicenceId(InvalidIdentifier):
    code = "invalid_licence_id"
    default_message = "电子证照标识不正确"

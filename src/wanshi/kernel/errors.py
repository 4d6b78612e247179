"""Errors with stable codes. The web layer turns them into the JSON envelope or an HTML page.

A code never changes once published; the message is Chinese for people, the code is for programs.
"""

from __future__ import annotations

from typing import Any, ClassVar


class WanshiError(Exception):
    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500
    default_message: ClassVar[str] = "系统内部错误，请稍后再试"

    def __init__(self, message: str | None = None, *, code: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        # A more specific stable code (e.g. "weak_password" for a validation failure) when one helps clients.
        self.error_code = code or self.code
        self.details = details
        super().__init__(self.message)


class ValidationFailed(WanshiError):
    code = "validation_failed"
    http_status = 422
    default_message = "提交的内容有误，请检查后重试"


class NotFound(WanshiError):
    code = "not_found"
    http_status = 404
    default_message = "找不到请求的内容"


class PermissionDenied(WanshiError):
    code = "permission_denied"
    http_status = 403
    default_message = "您没有执行此操作的权限"


class NotAuthenticated(WanshiError):
    code = "not_authenticated"
    http_status = 401
    default_message = "请先登录"


class Conflict(WanshiError):
    code = "conflict"
    http_status = 409
    default_message = "数据已被他人修改或已存在，请刷新后重试"


class CsrfFailed(WanshiError):
    code = "csrf_failed"
    http_status = 403
    default_message = "页面已过期或请求来源无效，请刷新页面后重试"


class FileRejected(WanshiError):
    code = "file_rejected"
    http_status = 422
    default_message = "文件不符合要求"


class TooManyRequests(WanshiError):
    code = "too_many_requests"
    http_status = 429
    default_message = "操作过于频繁，请稍后再试"

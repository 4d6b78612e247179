"""One error envelope for the API and one error page for people, with stable codes.

API: {"error": {"code": "...", "message": "...", "details": {...}, "request_id": "..."}}
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from wanshi.infra.context import current_request
from wanshi.kernel.errors import NotAuthenticated, NotFound, ValidationFailed, WanshiError
from wanshi.web.templating import render

log = logging.getLogger(__name__)

HTTP_CODES = {
    404: ("not_found", "找不到请求的页面"),
    405: ("method_not_allowed", "不支持的请求方式"),
    413: ("payload_too_large", "提交的内容过大"),
}

# Pydantic's error types in plain Chinese; the field name is added by field_errors().
PYDANTIC_MESSAGES = {
    "missing": "必填",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "bool_parsing": "须为是或否",
    "enum": "不是可选的值",
    "literal_error": "不是可选的值",
    "greater_than_equal": "太小",
    "less_than_equal": "太大",
    "extra_forbidden": "不允许的字段",
    "json_invalid": "不是有效的 JSON",
    "date_from_datetime_parsing": "不是有效的日期",
    "date_parsing": "不是有效的日期",
}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def field_errors(errors: list[Any]) -> list[dict[str, str]]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        out.append(
            {
                "field": ".".join(loc),
                "type": err.get("type", ""),
                "message": PYDANTIC_MESSAGES.get(err.get("type", ""), "无效"),
            }
        )
    return out


def envelope(code: str, message: str, status: int, details: dict[str, Any] | None = None) -> JSONResponse:
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "request_id": current_request().request_id,
        }
    }
    return JSONResponse(body, status_code=status)


def error_page(
    request: Request, status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    return render(
        request,
        "error.html",
        {"status": status, "code": code, "message": message, "details": details or {}},
        status_code=status,
    )


def respond(
    request: Request, status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    if is_api(request):
        return envelope(code, message, status, details)
    return error_page(request, status, code, message, details)


async def on_wanshi_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WanshiError)
    if isinstance(exc, NotAuthenticated) and not is_api(request) and request.method == "GET":
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    if exc.http_status >= 500:
        log.error("%s: %s", exc.error_code, exc.message)
    return respond(request, exc.http_status, exc.error_code, exc.message, exc.details)


async def on_request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError | ValidationError)
    errors = field_errors(list(exc.errors()))
    summary = "；".join(f"{e['field']}：{e['message']}" if e["field"] else e["message"] for e in errors)
    return respond(
        request,
        ValidationFailed.http_status,
        ValidationFailed.code,
        f"提交的内容有误：{summary}",
        {"fields": errors},
    )


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, message = HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail)))
    if exc.status_code == 404:
        return respond(request, 404, NotFound.code, message)
    return respond(request, exc.status_code, code, message)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return respond(request, 500, WanshiError.code, WanshiError.default_message)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(WanshiError, on_wanshi_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(ValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    app.add_exception_handler(Exception, on_unexpected)

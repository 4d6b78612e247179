"""Logging: request ids on every line and personal data masked (ID numbers, mobile numbers) before output."""

from __future__ import annotations

import json
import logging
import re
import sys

from wanshi.infra.context import current_request_id

_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


_LONG_NUMBER = re.compile(r"\d{11}")


def mask_personal_data(text: str) -> str:
    # Most lines hold no run of 11 digits: one cheap search spares them both substitutions.
    if not _LONG_NUMBER.search(text):
        return text
    text = _RESIDENT_ID.sub(r"\1********\2", text)
    return _MOBILE.sub(r"\1****\2", text)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        record.msg = mask_personal_data(record.getMessage())
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", ""),
            "message": record.getMessage(),
        }
        if record.exc_info:
            body["exception"] = mask_personal_data(self.formatException(record.exc_info))
        return json.dumps(body, ensure_ascii=False)


def configure_logging(level: str, *, as_json: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic announces its context on every readiness probe; its warnings still come through.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # SpiffWorkflow logs every task state change at INFO: noise in the log and a cost on every process step.
    logging.getLogger("spiff").setLevel(max(logging.WARNING, root.level))

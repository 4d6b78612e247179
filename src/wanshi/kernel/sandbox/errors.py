"""Errors of the script sandbox: one stable code per kind of failure, a Chinese message naming the line."""

from __future__ import annotations

from typing import ClassVar

from wanshi.kernel.errors import WanshiError


class SandboxError(WanshiError):
    """A BPMN script, condition or DMN expression failed; the process data is left as it was."""

    code: ClassVar[str] = "script_failed"
    http_status: ClassVar[int] = 422
    default_message: ClassVar[str] = "流程脚本运行出错"

    def __init__(
        self, reason: str | None = None, *, line: int | None = None, kind: str | None = None
    ) -> None:
        self.reason = reason or self.default_message
        self.line = line
        # The Python exception class behind a runtime failure ("ZeroDivisionError"), for logs and support.
        self.kind = kind
        super().__init__(self._compose())
        self._sync()

    def at_line(self, line: int | None) -> SandboxError:
        """Name the line once it is known: errors deep inside an expression learn it from their statement."""
        if self.line is None and line is not None:
            self.line = line
            self.message = self._compose()
            self.args = (self.message,)
            self._sync()
        return self

    def _compose(self) -> str:
        return self.reason if self.line is None else f"第 {self.line} 行：{self.reason}"

    def _sync(self) -> None:
        self.details = {"line": self.line, "kind": self.kind}


class SandboxViolation(SandboxError):
    """A construct, name or attribute the sandbox does not allow, found before or while running."""

    code: ClassVar[str] = "script_forbidden"
    default_message: ClassVar[str] = "脚本使用了不允许的写法"


class SandboxTimeout(SandboxError):
    """The script used up its step or time budget (an endless loop, or simply too much work)."""

    code: ClassVar[str] = "script_timeout"
    default_message: ClassVar[str] = "脚本运行时间过长，已被中止"


class SandboxMemory(SandboxError):
    """The script built a value too large, used up its memory budget, or nested data too deeply."""

    code: ClassVar[str] = "script_too_large"
    default_message: ClassVar[str] = "脚本产生的数据过大，已被中止"

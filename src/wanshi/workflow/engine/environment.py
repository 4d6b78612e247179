"""SpiffWorkflow integration: ``PythonScriptEngine(environment=SandboxEnvironment(sandbox))``.

SpiffWorkflow hands every script task, pre/post script, sequence-flow condition and DMN entry to its script
engine's *environment*; the stock one calls Python's ``eval``/``exec``. This one sends them to the sandbox,
with the same contract as ``TaskDataEnvironment``: ``execute`` updates the task data with the script's
assignments, ``evaluate`` returns the value, and names of ``external_context`` are visible (task data wins).
"""

from __future__ import annotations

import ast
from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from functools import lru_cache
from typing import Any, Final, cast

from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from wanshi.kernel.sandbox.errors import SandboxViolation
from wanshi.kernel.sandbox.interpreter import Sandbox

DMN_CACHE_SIZE: Final = 1_024


class SandboxEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    def __init__(self, sandbox: Sandbox | None = None) -> None:
        super().__init__()
        self.sandbox = sandbox or Sandbox()

    def evaluate(
        self, expression: str, context: Mapping[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        variables = context
        if external_context:
            # Read only: evaluate never writes, so the external names need not be copied.
            variables = ChainMap(
                cast(MutableMapping[str, Any], context), cast(MutableMapping[str, Any], external_context)
            )
        if "," in expression and "==" in expression and len(expression) <= self.sandbox.limits.max_source:
            expression = dmn_list_of_values(expression)
        return self.sandbox.evaluate(expression, variables)

    def execute(
        self, script: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> bool:
        external = external_context or {}
        clashes = sorted(set(external).intersection(context))
        if clashes:
            raise SandboxViolation(f"任务数据中的变量与平台提供的名称重名：{'、'.join(clashes)}")
        if not external:
            self.sandbox.execute(script, context)
            return True
        self.sandbox.execute(script, ChainMap(context, dict(external)))
        # As TaskDataEnvironment does: external names were visible to the script, never become task data.
        for name in external:
            context.pop(name, None)
        return True

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> Any:
        raise SandboxViolation("流程脚本不能调用外部服务；服务任务由平台执行")


@lru_cache(maxsize=DMN_CACHE_SIZE)
def dmn_list_of_values(expression: str) -> str:
    """Read a DMN input entry ``"A", "B"`` as "one of A, B".

    SpiffWorkflow's DMN engine turns an input entry that parses on its own into ``(input) == (entry)``; for a
    list of values that compares the input with a tuple, which is never true for task data (JSON has no
    tuples). DMN means "the input is one of these", so ``x == (a, b)`` with a tuple display on the right and
    no tuple display on the left is evaluated as ``x in (a, b)``. Anything else is left as it is.
    """
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return expression
    node = tree.body
    if (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.Eq)
        and isinstance(node.comparators[0], ast.Tuple)
        and not isinstance(node.left, ast.Tuple)
    ):
        return ast.unparse(ast.Compare(left=node.left, ops=[ast.In()], comparators=node.comparators))
    return expression

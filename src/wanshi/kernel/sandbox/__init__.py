"""The script sandbox: untrusted expressions and scripts (BPMN scripts, gateway conditions, DMN entries,
form formulas) run in a whitelist interpreter for a safe subset of Python: no imports, no file or network
access, no attribute outside a short list, and bounded steps, time, sizes, memory, integer size and nesting.

Pure Python with no framework: the process centre plugs it into SpiffWorkflow
(``wanshi.workflow.engine.environment``), the forms centre computes fields with it.
"""

from wanshi.kernel.sandbox.errors import SandboxError, SandboxMemory, SandboxTimeout, SandboxViolation
from wanshi.kernel.sandbox.interpreter import Sandbox
from wanshi.kernel.sandbox.limits import Limits

__all__ = ["Limits", "Sandbox", "SandboxError", "SandboxMemory", "SandboxTimeout", "SandboxViolation"]

"""The budgets one sandboxed call may use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Budgets per call of ``Sandbox.evaluate`` or ``Sandbox.execute``.

    ``max_steps`` counts evaluations of statements and of non-leaf expression nodes, loop and comprehension
    rounds, and one step per element for work done in bulk (``sum``, ``sorted``, ``in`` on a list, ...).
    ``max_allocated`` counts the elements and characters of every string and container an operation
    produces, and of the process data the script reads.
    """

    max_steps: int = 200_000
    max_seconds: float = 1.0
    max_size: int = 100_000
    max_allocated: int = 2_000_000
    max_int_bits: int = 4_096
    max_depth: int = 60
    max_source: int = 20_000

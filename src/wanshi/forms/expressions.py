"""Formulas of computed fields (计算字段), run in the platform's script sandbox.

A formula is an expression over the form's field keys (``price * quantity``,
``sum(r["amount"] for r in items)``, ``age(id_number)``); it can read answers and call the functions below,
nothing else. The same sandbox runs process scripts, so a clerk's formula is held to the same limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from wanshi.kernel import clock
from wanshi.kernel.identifiers import InvalidIdentifier, validate_resident_id
from wanshi.kernel.sandbox import Limits, Sandbox

# A formula is a line of arithmetic; these bounds leave room for any honest one.
FORMULA_LIMITS = Limits(max_steps=20_000, max_seconds=0.2, max_size=10_000, max_allocated=200_000)


def _birth_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return validate_resident_id(value).birth_date
        except InvalidIdentifier:
            return None
    return None


def age(value: Any) -> int | None:
    """Full years today of a person born on a date, or of the holder of a resident ID number."""
    born = _birth_date(value)
    if born is None:
        return None
    today = clock.today_in_china()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def days_between(start: Any, end: Any) -> int | None:
    if isinstance(start, date) and isinstance(end, date):
        return (end - start).days
    return None


def today() -> date:
    return clock.today_in_china()


def as_number(value: Any) -> Decimal:
    """An empty answer counts as zero in sums."""
    if value in (None, ""):
        return Decimal(0)
    return Decimal(str(value))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "age": age,
    "days_between": days_between,
    "today": today,
    "num": as_number,
}


class FormExpressions:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def evaluate(self, expression: str, variables: Mapping[str, Any]) -> Any:
        return self._sandbox.evaluate(expression, variables)

    def check(self, expression: str) -> None:
        self._sandbox.check(expression, "eval")


@cache
def form_expressions() -> FormExpressions:
    return FormExpressions(Sandbox(FORMULA_LIMITS, functions=FUNCTIONS))

"""Engine helpers for the process-centre tests (imported by name: test folders are not packages)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from wanshi.workflow.engine.runtime import Deployed, Run, parse_definition
from wanshi.workflow.engine.scripting import PlatformScriptEngine

FILES = Path(__file__).parent / "files"


class WeekCalendar:
    """Monday to Friday: enough for engine tests that do not depend on holidays."""

    def add_working_days(self, start: date, n: int) -> date:
        day = start
        while n > 0:
            day += timedelta(days=1)
            if day.weekday() < 5:
                n -= 1
        return day


def definition(name: str, *dmn: str) -> Deployed:
    return parse_definition(
        (FILES / name).read_text(encoding="utf-8"), [(FILES / d).read_text(encoding="utf-8") for d in dmn]
    )


def engine(actions: Mapping[str, Any] | None = None) -> PlatformScriptEngine:
    def run(name: str, inputs: dict[str, Any]) -> Mapping[str, Any]:
        handler = (actions or {})[name]
        return handler(inputs)  # type: ignore[no-any-return]

    return PlatformScriptEngine(WeekCalendar(), actions=run)


def step(run: Run, element: str, data: dict[str, Any] | None = None) -> Run:
    """Complete the waiting task of an element after a save and reload, as every request does."""
    reloaded = Run.load(run.deployed, run.dump(), run.workflow.script_engine)
    task = next(t for t in reloaded.ready_tasks() if t.element_id == element)
    reloaded.complete(task.id, data or {})
    return reloaded


def waiting(run: Run) -> list[str]:
    return sorted(t.element_id for t in run.ready_tasks())

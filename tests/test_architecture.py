"""Quality gates that keep the house livable (ARCHITECTURE.md rules 1, 2 and 5)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import wanshi
from wanshi.config import get_settings

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint_imports = str(Path(sys.executable).with_name("lint-imports"))
    result = subprocess.run(
        [lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_nothing_reads_settings_at_import_time() -> None:
    get_settings.cache_clear()
    for module in pkgutil.walk_packages(wanshi.__path__, "wanshi."):
        if module.name.startswith("wanshi.migrations"):
            continue  # Alembic's env.py runs migrations by design when Alembic loads it
        importlib.import_module(module.name)
    assert get_settings.cache_info().currsize == 0

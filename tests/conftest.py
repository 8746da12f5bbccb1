"""Shared pytest set-up: ``tests/`` on sys.path (for ``hdl_sim``) and the venv's tools first on PATH."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
_venv_bin = ROOT / ".venv" / "bin"
if _venv_bin.is_dir() and not os.environ.get("PATH", "").startswith(str(_venv_bin)):
    os.environ["PATH"] = f"{_venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture(scope="session")
def records() -> list[dict[str, Any]]:
    """The committed synthesis records (``reports/synth/<target>/*.json``); the test is skipped without any."""
    from plasticore.flows.report import load_records

    recs = load_records(ROOT / "reports")
    if not recs:
        pytest.skip("no measured records (run make synth)")
    return recs


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``slow`` tests run only with PLASTICORE_LONG=1 (or when selected with ``-m slow``)."""
    if os.environ.get("PLASTICORE_LONG", "0") not in ("", "0") or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: set PLASTICORE_LONG=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)

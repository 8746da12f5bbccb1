"""One small real synthesis (``@pytest.mark.synth``): the lane on the iCE40 HX8K through Edalize's
icestorm flow, one placer seed, into a work directory outside ``/tmp`` (YoWASP maps ``/tmp`` privately).

Needs yosys (with Tcl), nextpnr-ice40, icepack and make on PATH; skipped when one is missing. ~15 s.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from plasticore.flows.designs import DesignSpec
from plasticore.flows.synth import TARGETS, build_design

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("yosys", "nextpnr-ice40", "icepack", "make")


@pytest.mark.synth
@pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS), reason=f"needs {', '.join(TOOLS)}")
def test_lane_on_hx8k() -> None:
    pytest.importorskip("edalize")
    pytest.importorskip("myhdl")
    work = ROOT / "build" / "synth" / "pytest"
    shutil.rmtree(work, ignore_errors=True)
    target = TARGETS["ice40-hx8k"]
    rec, rebuilt = build_design(DesignSpec("o1_lane"), target, build_root=work / "build",
                                reports_root=work / "reports", seeds=(1,))
    assert rebuilt
    m = rec["measured"]
    assert m["ffs"] == 52  # W + 3T state bits, nothing else in the lane
    assert m["dsps"] == 0 and m["ram_blocks"] == {"ebr": 0}
    assert 100 < m["luts"] < 2000
    assert 1.0 < m["fmax_mhz"] < 500.0 and list(m["fmax_by_seed"]) == ["1"]
    assert rec["tools"]["yosys"].startswith("Yosys") and "nextpnr" in rec["tools"]["nextpnr"]
    stored = json.loads((work / "reports" / "ice40-hx8k" / "o1_lane-w16t12r8l4s4.json").read_text())
    assert stored == rec
    # unchanged inputs: the digest matches and nothing is rebuilt
    again, rebuilt = build_design(DesignSpec("o1_lane"), target, build_root=work / "build",
                                  reports_root=work / "reports", seeds=(1,))
    assert not rebuilt and again["measured"] == m

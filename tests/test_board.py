"""``plasticore.flows.board``: PLL settings against ``icepll``, the board tops, and real board builds of a small core.

The iCE40 PLL search is checked against the IceStorm tool ``icepll`` (an independent implementation of the same
constraints); the ECP5 one against its equations and ranges (``ecppll`` is not packaged here). The builds run
Yosys, nextpnr and icepack (ecppack with ``PLASTICORE_LONG=1``) for real on a 16 x 4 core behind each board top
and check the record.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from plasticore.flows.board import (
    BOARDS,
    CORE_BUILDS,
    TASK_LIF,
    TASK_O1,
    CoreBuild,
    board_top_verilog,
    build_core,
    ecp5_pll,
    ice40_pll,
)
from plasticore.refmodel.o1_network import FixedLIFConfig
from plasticore.refmodel.online_o1 import OnlineO1Config

ROOT = Path(__file__).resolve().parents[1]


def _icepll(f_out: float) -> dict[str, float]:
    out = subprocess.run(["icepll", "-i", "12", "-o", str(f_out)], capture_output=True, text=True, check=True).stdout
    got = {k: float(re.search(rf"^{k}:\s+([0-9.]+)", out, re.M).group(1))  # type: ignore[union-attr]
           for k in ("DIVR", "DIVF", "DIVQ", "FILTER_RANGE")}
    got["f_out_mhz"] = float(re.findall(r"F_PLLOUT:\s+([0-9.]+) MHz \(achieved\)", out)[0])
    return got


@pytest.mark.skipif(shutil.which("icepll") is None, reason="icepll (fpga-icestorm) not installed")
@pytest.mark.parametrize("f_out", [16.0, 24.0, 33.0, 36.0, 42.0, 48.0, 100.0, 133.0])
def test_ice40_pll_equals_icepll(f_out: float) -> None:
    ours = ice40_pll(f_out)
    ref = _icepll(f_out)
    assert ours["f_out_mhz"] == pytest.approx(ref["f_out_mhz"], abs=1e-3)
    assert {k: ours[k] for k in ("DIVR", "DIVF", "DIVQ", "FILTER_RANGE")} == {
        k: int(ref[k]) for k in ("DIVR", "DIVF", "DIVQ", "FILTER_RANGE")}


@pytest.mark.parametrize("f_out", [25.0, 33.0, 55.0, 60.0, 62.5, 100.0])
def test_ecp5_pll_meets_its_equations(f_out: float) -> None:
    p = ecp5_pll(f_out)
    f = 25.0 * p["CLKFB_DIV"] / p["CLKI_DIV"]
    assert f == pytest.approx(p["f_out_mhz"], abs=1e-3) and abs(f - f_out) < 0.5
    assert 400.0 <= f * p["CLKOP_DIV"] <= 800.0 and 3.125 <= 25.0 / p["CLKI_DIV"] <= 400.0


def test_pll_ranges_are_checked() -> None:
    with pytest.raises(ValueError, match=r"f_out must be in 16..275 MHz for the iCE40 PLL, not 10"):
        ice40_pll(10)
    with pytest.raises(ValueError, match=r"f_out must be in 10..400 MHz for the ECP5 PLL, not 500"):
        ecp5_pll(500)


def test_board_tops_instantiate_the_pll_and_the_core() -> None:
    ice = board_top_verilog("icebreaker", "my_core", 33.0)
    # the icepll settings for 12 -> 33 MHz (DIVR 0, DIVF 87, DIVQ 5, FILTER_RANGE 1)
    pll = "SB_PLL40_PAD #(.FEEDBACK_PATH(\"SIMPLE\"), .DIVR(4'd0), .DIVF(7'd87), .DIVQ(3'd5), .FILTER_RANGE(3'd1))"
    assert pll in ice
    assert "my_core core (" in ice and "SB_IO #(.PIN_TYPE(6'b1010_01)) miso_io" in ice
    ecp = board_top_verilog("ulx3s", "my_core", 55.0)
    assert "EHXPLLL" in ecp and "my_core core (" in ecp and "BB" in ecp
    for b in BOARDS.values():
        assert (ROOT / "constraints" / b.constraint_file).exists()


def test_the_board_builds_carry_the_task_configuration() -> None:
    assert {(b.board, b.n_pre, b.n_post) for b in CORE_BUILDS} == {("icebreaker", 256, 256), ("ulx3s", 256, 192)}
    assert all(b.o1 == TASK_O1 and b.lif == TASK_LIF for b in CORE_BUILDS)


SMALL_O1 = OnlineO1Config(weight_bits=8, trace_bits=8, reward_bits=8, learning_shift=6, trace_decay_shift=1)
SMALL_LIF = FixedLIFConfig(membrane_bits=16, leak_shift=1, threshold=128)


@pytest.mark.hw
@pytest.mark.parametrize(("board", "memory"), [
    ("icebreaker", "spram"),
    pytest.param("ulx3s", "inferred", marks=pytest.mark.skipif(
        os.environ.get("PLASTICORE_LONG", "0") in ("", "0"), reason="the ECP5 build runs with PLASTICORE_LONG=1")),
])
def test_small_core_builds_a_bitstream(board: str, memory: str, tmp_path: Path) -> None:
    build = CoreBuild("core16x4", board, SMALL_O1, SMALL_LIF, 16, 4, 2, memory)
    rec = build_core(build, build_root=ROOT / "build" / "test_board", reports_root=tmp_path, seeds=(1,))
    assert rec == json.loads((tmp_path / "board" / f"{board}-core16x4.json").read_text())
    assert rec["bitstream"]["bytes"] > 10_000, rec["bitstream"]
    m = rec["measured"]
    assert m["luts"] > 300 and m["ffs"] > 300 and m["fmax_min_mhz"] > 20.0, m
    if board == "icebreaker":
        assert m["ram_blocks"]["spram"] == 4, m["ram_blocks"]
    assert rec["timing_met"] == (m["fmax_min_mhz"] >= rec["core_clock_mhz"])
    assert rec["cycles_per_timestep_10pct"] == build.emitter().cycles_per_timestep(2)

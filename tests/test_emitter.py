"""The HDL emitter: deterministic output, exact ports, manifest, lint-clean in Verilator and Icarus, GHDL-clean."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("myhdl")

from plasticore.hw import LANE_PORTS, OnlineO1LearningEmitter, config_tag
from plasticore.hw.build import main as build_main
from plasticore.refmodel.online_o1 import OnlineO1Config

EXTREMES = [
    OnlineO1Config(),
    OnlineO1Config(weight_bits=1, trace_bits=2, reward_bits=1, learning_shift=0, trace_decay_shift=0),
    OnlineO1Config(weight_bits=31, trace_bits=30, reward_bits=30, learning_shift=30, trace_decay_shift=30),
    OnlineO1Config(weight_bits=24, trace_bits=16, reward_bits=12, learning_shift=6, trace_decay_shift=5),
]


def test_generate_is_deterministic_and_self_contained() -> None:
    em = OnlineO1LearningEmitter()
    a = em.generate()
    OnlineO1LearningEmitter(EXTREMES[1]).generate()  # elaborating other designs must not rename anything
    assert em.generate() == a
    assert a.count("module ") == 1 and "endmodule" in a
    assert not re.search(r"\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d|Date|Generated on", a)


def test_ports_are_exactly_the_contract() -> None:
    v = OnlineO1LearningEmitter(module_name="my_lane").generate()
    header = v[v.index("module my_lane (") : v.index(");")]
    ports = re.findall(r"\b([a-z_]+)\b", header.split("(", 1)[1])
    assert tuple(ports) == LANE_PORTS
    assert "input signed [7:0] reward;" in v and "output signed [11:0] eligibility;" in v
    assert "input [15:0] load_weight;" in v and "output [11:0] pre_trace;" in v


def test_vhdl_is_package_then_entity(tmp_path: Path) -> None:
    files = OnlineO1LearningEmitter().write(tmp_path, "vhdl")
    assert [f.name for f in files] == ["pck_myhdl_011.vhd", "o1_lane.vhd"]
    assert "entity o1_lane is" in files[1].read_text()


def test_manifest() -> None:
    m = OnlineO1LearningEmitter(EXTREMES[0]).manifest()
    assert m["module"] == "o1_lane" and m["ports"] == list(LANE_PORTS)
    assert m["per_synapse_state_bits"] == 52 and m["annotation"]["rule_id"] == "o1_lane"
    assert m["datapath_widths"]["eligibility_sum"] == 14 and m["config_tag"] == "w16t12r8l4s4"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="module_name must be an HDL identifier"):
        OnlineO1LearningEmitter(module_name="9lane")
    with pytest.raises(ValueError, match=r"hdl must be one of \['verilog', 'vhdl'\], not 'systemc'"):
        OnlineO1LearningEmitter().generate("systemc")
    with pytest.raises(TypeError, match="config must be an OnlineO1Config"):
        OnlineO1LearningEmitter(config={"weight_bits": 8})  # type: ignore[arg-type]


def test_pipelined_lane() -> None:
    em = OnlineO1LearningEmitter(pipelined=True)
    v = em.generate()
    assert em.module_name == "o1_lane_pipelined" and "module o1_lane_pipelined (" in v
    header = v[v.index("module o1_lane_pipelined (") : v.index(");")]
    assert tuple(re.findall(r"\b([a-z_]+)\b", header.split("(", 1)[1])) == LANE_PORTS
    m = em.manifest()
    assert m["pipelined"] is True and m["pipeline_delay"] == em.pipeline_delay == 4
    assert OnlineO1LearningEmitter().manifest()["pipeline_delay"] == 0
    assert " * " not in v  # the product is a carry-save tree, not a multiplier a tool would map to a DSP
    with pytest.raises(TypeError, match="pipelined must be a bool, not int 1"):
        OnlineO1LearningEmitter(pipelined=1)  # type: ignore[arg-type]


@pytest.mark.hw
@pytest.mark.parametrize("pipelined", [False, True], ids=["o1_lane", "o1_lane_pipelined"])
@pytest.mark.parametrize("config", EXTREMES, ids=config_tag)
def test_lint_clean(config: OnlineO1Config, pipelined: bool, tmp_path: Path) -> None:
    for tool in ("verilator", "iverilog", "ghdl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} missing: run make setup")
    em = OnlineO1LearningEmitter(config, pipelined=pipelined)
    (v,) = em.write(tmp_path / "v", "verilog")
    lint = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-WIDTHTRUNC", str(v)], capture_output=True,
                          text=True)
    warnings = [ln for ln in lint.stderr.splitlines() if ln.startswith("%Warning")]
    assert lint.returncode == 0, lint.stderr
    assert not warnings, warnings
    iv = subprocess.run(["iverilog", "-Wall", "-o", str(tmp_path / "a.out"), str(v)], capture_output=True, text=True)
    assert iv.returncode == 0 and iv.stderr.strip() == "", iv.stderr
    vh = em.write(tmp_path / "vhdl", "vhdl")
    g = subprocess.run(["ghdl", "-a", f"--workdir={tmp_path}", *map(str, vh)], capture_output=True, text=True)
    assert g.returncode == 0 and g.stderr.strip() == "", g.stderr


def test_build_entry_point_writes_both_standard_configs(tmp_path: Path) -> None:
    assert build_main(["--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in (tmp_path / "verilog").iterdir())
    assert names == ["o1_lane.v", "o1_lane_pipelined.v", "o1_lane_pipelined_w8t6r4l3s2.v", "o1_lane_w8t6r4l3s2.v"]
    assert (tmp_path / "vhdl" / "o1_lane_w8t6r4l3s2.vhd").exists() and (tmp_path / "manifest.json").exists()


def test_output_is_identical_across_processes_with_different_hash_seeds(tmp_path: Path) -> None:
    """MyHDL orders sensitivity lists by Python set order; the emitter canonicalizes them."""
    import os
    import sys

    code = (
        "import sys\n"
        "from plasticore.hw import OnlineO1ArrayEmitter, OnlineO1LearningEmitter\n"
        "from plasticore.refmodel import OnlineO1Config\n"
        "c = OnlineO1Config()\n"
        "p = OnlineO1LearningEmitter(c, pipelined=True)\n"
        "sys.stdout.write(OnlineO1LearningEmitter(c).generate('verilog') + OnlineO1LearningEmitter(c).generate('vhdl')"
        " + p.generate('verilog') + p.generate('vhdl')"
        " + OnlineO1ArrayEmitter(c, 5, 7, 2).generate('verilog') + OnlineO1ArrayEmitter(c, 5, 7, 2).generate('vhdl'))\n"
    )
    outs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                check=True).stdout)
    assert len(outs) == 1

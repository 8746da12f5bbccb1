"""Flow configuration without EDA tools: wrapper, Yosys script, EDAM, Edalize Makefiles, constraints,
records and reports, against golden files in ``tests/golden/flows`` (regenerate with
``PLASTICORE_UPDATE_GOLDEN=1``)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from plasticore.flows import icestorm, trellis
from plasticore.flows.designs import DesignSpec, array_sweep, design_ports, lane_sweep
from plasticore.flows.edam import build_edam, canonical_verilog, content_digest, nextpnr_options, yosys_script
from plasticore.flows.report import (
    counts_from_cells,
    fmax_of,
    measured_from_reports,
    misses,
    resources_markdown,
)
from plasticore.flows.synth import TARGETS, _check_target, prepare
from plasticore.flows.wrapper import Port, io_bits, wrapper_verilog

GOLDEN = Path(__file__).resolve().parent / "golden" / "flows"
UPDATE = os.environ.get("PLASTICORE_UPDATE_GOLDEN", "0") not in ("", "0")
ROOT = Path(__file__).resolve().parent.parent


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}: run with PLASTICORE_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from its golden file"


@pytest.fixture(scope="module")
def lane_ports() -> list[Port]:
    pytest.importorskip("myhdl")
    return design_ports(DesignSpec("o1_lane"))


def test_lane_ports_from_the_signals(lane_ports: list[Port]) -> None:
    """Ports in declaration order with the widths of the port signals (W16/T12/R8), outputs found as the
    signals the elaborated lane drives."""
    assert [p.name for p in lane_ports] == ["clk", "rst", "load_en", "load_weight", "step_en", "pre_spike",
                                            "post_spike", "reward", "weight", "pre_trace", "post_trace",
                                            "eligibility"]
    by = {p.name: p for p in lane_ports}
    assert by["clk"] == Port("clk", "input", 1, False)
    assert by["load_weight"] == Port("load_weight", "input", 16, False)
    assert by["reward"] == Port("reward", "input", 8, True)
    assert by["weight"] == Port("weight", "output", 16, False)
    assert by["eligibility"] == Port("eligibility", "output", 12, True)
    assert io_bits(lane_ports) == 6 + 16 + 8 + 16 + 3 * 12  # 82 pins: more than the UP5K sg48's 39


def test_array_ports_from_the_signals() -> None:
    """A 5x7 W8/T6/R4 array: Br = ceil(log2 5) = 3 row bits, Bc = 3 column bits; the outputs are the
    status and read-back ports."""
    pytest.importorskip("myhdl")
    from plasticore.hw.build import SMALL

    ports = {p.name: p for p in design_ports(DesignSpec("o1_array", SMALL, 5, 7, 2))}
    assert ports["row"] == Port("row", "input", 3) and ports["col"] == Port("col", "input", 3)
    assert ports["wr_elig"] == Port("wr_elig", "input", 6, True) and ports["wr_reward"].signed
    assert {p.name for p in ports.values() if p.direction == "output"} == {
        "busy", "done", "rd_weight", "rd_elig", "rd_pre_trace", "rd_post_trace"}
    assert ports["rd_weight"].width == 8 and ports["rd_elig"] == Port("rd_elig", "output", 6, True)


def test_ports_match_the_emitted_verilog_header(lane_ports: list[Port]) -> None:
    """The declared ports are the emitted module's ports, in the same order (a check of the HDL, not a
    source of the widths)."""
    from plasticore.hw.emitter import OnlineO1LearningEmitter

    v = OnlineO1LearningEmitter().generate()
    header = re.search(r"^module o1_lane \((.*?)\);", v, re.S | re.M)
    assert header is not None
    assert [n.strip() for n in header.group(1).split(",")] == [p.name for p in lane_ports]
    assert "input signed [7:0] reward;" in v and "output signed [11:0] eligibility;" in v


def test_wrapper_golden(lane_ports: list[Port]) -> None:
    text = wrapper_verilog("o1_lane", lane_ports)
    check_golden("synth_top_o1_lane.v", text)
    assert "input  wire clk," in text and "output wire sdo" in text
    # every design input but the clock comes from the shift register: rst, load_en, load_weight[16],
    # step_en, pre_spike, post_spike, reward[8] = 29 bits; the 52 output bits are captured
    assert "reg  [28:0] in_sr;" in text and "reg  [51:0] out_sr;" in text


def test_wrapper_widths(lane_ports: list[Port]) -> None:
    text = wrapper_verilog("o1_lane", lane_ports)
    n_in = sum(p.width for p in lane_ports if p.direction == "input") - 1
    n_out = sum(p.width for p in lane_ports if p.direction == "output")
    assert f"reg  [{n_in - 1}:0] in_sr;" in text
    assert f"reg  [{n_out - 1}:0] out_sr;" in text
    assert len(re.findall(r"^\s+\.\w+\(", text, re.M)) == len(lane_ports)


def test_wrapper_errors() -> None:
    ports = [Port("clk", "input", 1), Port("a", "input", 2), Port("y", "output", 2)]
    with pytest.raises(ValueError, match=r"clock must name a 1-bit input of 'm', not 'ck'"):
        wrapper_verilog("m", ports, clock="ck")
    with pytest.raises(ValueError, match=r"'m' needs at least one data input and one output"):
        wrapper_verilog("m", ports[:2])


def test_single_bit_wrapper() -> None:
    text = wrapper_verilog("m", [Port("clk", "input", 1), Port("a", "input", 1), Port("y", "output", 1)])
    assert "in_sr <= sdi;" in text and "out_sr <= 1'b0;" in text


def test_yosys_script_golden() -> None:
    text = yosys_script("o1_lane")
    check_golden("plasticore_yosys.tcl", text)
    assert "setattr -mod -set keep_hierarchy 1 o1_lane" in text
    assert text.index("tee -q -o stat.json stat -json") < text.index("flatten")


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_edam_golden(target: str) -> None:
    t = TARGETS[target]
    edam = build_edam(name="o1_lane_w16t12r8l4s4", target=t, design_module="o1_lane",
                      sources=["o1_lane.v"], seed=2)
    check_golden(f"edam_{target}.json", json.dumps(edam, indent=2, sort_keys=True) + "\n")
    assert edam["toplevel"] == "synth_top"
    opts = edam["flow_options"]["nextpnr_options"]
    assert opts[opts.index("--seed") + 1] == "2" and "--timing-allow-fail" in opts


def _configure(target: str, seed: int, work: Path) -> str:
    pytest.importorskip("edalize")
    t = TARGETS[target]
    family = icestorm if t.flow == "icestorm" else trellis
    edam = build_edam(name="lane", target=t, design_module="o1_lane", sources=["o1_lane.v"], seed=seed)
    work.mkdir(parents=True, exist_ok=True)
    flow = family.make_flow(edam, work)
    flow.configure()
    return (work / "Makefile").read_text()


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_edalize_makefile_golden(target: str, tmp_path: Path) -> None:
    text = _configure(target, 1, tmp_path)
    check_golden(f"Makefile_{target}", text)
    t = TARGETS[target]
    if t.family == "ice40":
        assert f"nextpnr-ice40 -l next.log {' '.join(t.device_args)}" in text
        assert f"--pcf {t.constraint_file}" in text
    else:
        assert f"nextpnr-ecp5 -l next.log {' '.join(t.device_args)}" in text
        assert f"--lpf {t.constraint_file}" in text
    assert "yosys -l yosys.log -p 'tcl plasticore_yosys.tcl'" in text
    assert "synth_" in (tmp_path / "edalize_yosys_procs.tcl").read_text()


def test_flows_do_not_leak_options(tmp_path: Path) -> None:
    """Edalize 0.6.8 keeps tool options in a class-level dict: a second flow must not repeat the first's."""
    _configure("ice40-up5k", 1, tmp_path / "a")
    text = _configure("ice40-up5k", 2, tmp_path / "b")
    assert text.count("--seed") == 2  # the build rule and the GUI rule, both seed 2 only
    assert "--seed 1" not in text and "--seed 2" in text


def test_yosys_options_per_target(tmp_path: Path) -> None:
    _configure("ice40-up5k", 1, tmp_path / "u")
    _configure("ice40-hx8k", 1, tmp_path / "h")
    assert "synth_ice40 -dsp -top" in (tmp_path / "u" / "edalize_yosys_procs.tcl").read_text()
    assert "synth_ice40  -top" in (tmp_path / "h" / "edalize_yosys_procs.tcl").read_text()


def _constraint_pins(target: str) -> set[str]:
    text = TARGETS[target].constraint_path().read_text()
    if TARGETS[target].constraint_type == "PCF":
        return set(re.findall(r"^set_io\s+(\w+)\s", text, re.M))
    return set(re.findall(r'^LOCATE COMP "(\w+)"', text, re.M))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_constraints_cover_the_wrapper(target: str) -> None:
    t = TARGETS[target]
    assert _constraint_pins(target) == {"clk", "sdi", "cap", "sdo"}
    text = t.constraint_path().read_text()
    mhz = t.clock_mhz
    if t.constraint_type == "PCF":
        assert f"set_frequency clk {mhz:g}" in text
    else:
        assert f'FREQUENCY PORT "clk" {mhz:g} MHZ;' in text
    assert 4 <= t.usable_io


def test_nextpnr_seed_error() -> None:
    with pytest.raises(ValueError, match=r"seed must be a positive int, not 0"):
        nextpnr_options(TARGETS["ice40-up5k"], 0)


def test_target_error() -> None:
    with pytest.raises(ValueError, match=r"target must be one of \['ecp5-25f', 'ice40-hx8k', 'ice40-up5k'\], "
                                         r"not 'xc7'"):
        _check_target("xc7")


def test_design_spec_errors() -> None:
    with pytest.raises(ValueError, match=r"design must be one of \['o1_lane', 'o1_array'\], not 'x'"):
        DesignSpec("x")
    with pytest.raises(ValueError, match=r"lanes must be an int >= 1, not 0"):
        DesignSpec("o1_array", n_pre=2, n_post=2, lanes=0)
    with pytest.raises(ValueError, match=r"o1_lane is one synapse"):
        DesignSpec("o1_lane", n_pre=2)
    with pytest.raises(ValueError, match=r"memory must be one of \['inferred', 'spram'\], not 'bram'"):
        DesignSpec("o1_array", n_pre=2, n_post=2, memory="bram")
    assert DesignSpec("o1_lane", pipelined=True).design_id == "o1_lane-w16t12r8l4s4-pipe"
    assert DesignSpec("o1_array", n_pre=2, n_post=4, lanes=2, pipelined=True).design_id == (
        "o1_array-w16t12r8l4s4-2x4-p2-pipe")


def test_sweep_sizes() -> None:
    for target in TARGETS:
        specs = lane_sweep() + array_sweep(target)
        assert len(specs) >= 12
        ids = [s.design_id for s in specs]
        assert len(set(ids)) == len(ids)
        assert {s.design for s in specs} == {"o1_lane", "o1_array"}
        assert len({s.config for s in specs}) == 2 and len({s.lanes for s in specs}) >= 3


def test_digest_changes_with_every_input() -> None:
    files = {"a.v": "module a; endmodule\n", "x.pcf": "set_io clk 35\n"}
    base = content_digest(files, {"seeds": [1, 2, 3]})
    assert base == content_digest(dict(reversed(list(files.items()))), {"seeds": [1, 2, 3]})
    assert base != content_digest({**files, "a.v": "module b; endmodule\n"}, {"seeds": [1, 2, 3]})
    assert base != content_digest(files, {"seeds": [1, 2]})
    assert base != content_digest({**files, "b.v": ""}, {"seeds": [1, 2, 3]})


def test_digest_ignores_sensitivity_order() -> None:
    a = {"m.v": "always @(a, b, c) begin: x\n  y = a;\nend\nalways @(posedge clk) begin\nend\n"}
    b = {"m.v": "always @(c, a, b) begin: x\n  y = a;\nend\nalways @(posedge clk) begin\nend\n"}
    assert content_digest(a, {}) == content_digest(b, {})
    assert canonical_verilog(b["m.v"]).startswith("always @(a, b, c)")
    assert content_digest(a, {}) != content_digest({"m.v": a["m.v"].replace("y = a", "y = b")}, {})


def test_prepare_is_deterministic(tmp_path: Path) -> None:
    pytest.importorskip("myhdl")
    t = TARGETS["ice40-up5k"]
    a = prepare(DesignSpec("o1_lane"), t, tmp_path / "a")
    b = prepare(DesignSpec("o1_lane"), t, tmp_path / "b")
    assert a.files == b.files and a.io_bits == 82
    assert sorted(a.files) == sorted(["o1_lane.v", "synth_top.v", t.constraint_file, "plasticore_yosys.tcl"])


# ---- report schema (synthetic tool outputs) ----
STAT: dict[str, Any] = {
    "modules": {
        "\\o1_lane": {"num_cells_by_type": {"SB_LUT4": 255, "SB_CARRY": 115, "SB_DFFESR": 52, "SB_MAC16": 1,
                                            "\\sub": 2}},
        "\\sub": {"num_cells_by_type": {"SB_LUT4": 3, "SB_RAM40_4K": 1, "SB_DFF": 1}},
        "\\synth_top": {"num_cells_by_type": {"SB_DFF": 80, "SB_LUT4": 52, "o1_lane": 1}},
    },
    "design": {"num_cells_by_type": {"SB_LUT4": 307}},
}


def _report(mhz: float) -> dict[str, Any]:
    return {"fmax": {"clk": {"achieved": mhz, "constraint": 48.0}},
            "utilization": {"ICESTORM_LC": {"used": 300, "available": 5280}}}


def test_measured_record() -> None:
    m = measured_from_reports(TARGETS["ice40-up5k"], STAT, {1: _report(15.0), 2: _report(16.0),
                                                             3: _report(14.0)}, "o1_lane")
    assert (m["luts"], m["ffs"], m["dsps"]) == (255 + 6, 52 + 2, 1)
    assert m["ram_blocks"] == {"ebr": 2, "spram": 0}
    assert (m["fmax_min_mhz"], m["fmax_median_mhz"], m["fmax_mhz"]) == (14.0, 15.0, 15.0)
    assert m["fmax_by_seed"] == {"1": 15.0, "2": 16.0, "3": 14.0}
    with pytest.raises(ValueError, match=r"module 'nope' not in Yosys stat"):
        measured_from_reports(TARGETS["ice40-up5k"], STAT, {1: _report(1.0)}, "nope")


def test_ecp5_counts() -> None:
    c = counts_from_cells("ecp5", {"LUT4": 335, "CCU2C": 62, "TRELLIS_FF": 52, "MULT18X18D": 1, "DP16KD": 3})
    assert c == {"luts": 335 + 124, "ffs": 52, "ram_blocks": {"dp16kd": 3}, "dsps": 1}
    with pytest.raises(ValueError, match=r"family must be 'ice40' or 'ecp5', not 'xilinx'"):
        counts_from_cells("xilinx", {})


def test_fmax_of_needs_a_clock() -> None:
    assert fmax_of(_report(12.5)) == 12.5
    with pytest.raises(ValueError, match=r"no 'fmax' entry"):
        fmax_of({"fmax": {}})


def _record(pred_luts: int, meas_luts: int) -> dict[str, Any]:
    q = {"ffs": 52, "ram_blocks": {"ebr": 0}, "dsps": 0, "fmax_mhz": 20.0, "cycles_per_timestep": 1}
    return {"design": "o1_lane", "design_id": "o1_lane-x", "target": "ice40-hx8k", "lanes": 1,
            "n_synapses": 1,
            "tools": {"yosys": "Y", "nextpnr": "N"},
            "predicted": {**q, "luts": pred_luts},
            "measured": {**q, "luts": meas_luts, "fmax_median_mhz": 20.0, "fmax_min_mhz": 19.0}}


def test_misses_and_markdown_are_deterministic() -> None:
    good, bad = _record(105, 100), _record(120, 100)
    assert misses(good) == [] and misses(bad) == ["luts 120 vs 100 (+20.0%)"]
    md = resources_markdown([good, bad])
    assert md == resources_markdown([good, bad])
    assert "ice40-hx8k o1_lane-x: luts 120 vs 100 (+20.0%)" in md
    assert "| o1_lane-x | 105 | 100 | +5.0% |" in md


# ---- the synth command line ----
def _exit_code(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from plasticore.flows.synth import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0), capsys.readouterr().err


def test_synth_bad_target_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit_code(["--targets", "bogus", "--list"], capsys)
    assert code == 2 and "argument --targets: invalid choice: 'bogus'" in err and "ice40-up5k" in err


def test_synth_missing_reports_parent_is_an_argparse_error(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit_code(["--reports", str(tmp_path / "no" / "such"), "--list"], capsys)
    assert code == 2 and f"its parent folder {tmp_path / 'no'} does not exist" in err


def test_synth_unknown_design_and_bad_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit_code(["--designs", "o1_lane-nope", "--list"], capsys)
    assert code == 2 and "unknown design ids ['o1_lane-nope']" in err
    code, err = _exit_code(["--seeds", "0", "--list"], capsys)
    assert code == 2 and "--seeds must be >= 1, not 0" in err


def test_synth_defaults_follow_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """``--build``/``--reports`` are relative paths, resolved in the working directory (not the package's)."""
    from plasticore.flows.synth import _parser, main

    args = _parser().parse_args([])
    assert args.reports == Path("reports") and args.build == Path("build") / "synth"
    monkeypatch.chdir(tmp_path)
    assert main(["--list", "--targets", "ice40-hx8k"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ice40-hx8k o1_lane-w16t12r8l4s4" and all(ln.startswith("ice40-hx8k ") for ln in lines)
    assert list(tmp_path.iterdir()) == []  # --list writes nothing


def test_progress_is_quiet_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from plasticore.flows import synth

    monkeypatch.setattr(synth.sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("CI", "1")
    assert not synth.progress_enabled()
    monkeypatch.delenv("CI")
    assert synth.progress_enabled()


def test_targets_read_the_device_table() -> None:
    from plasticore.flows.report import RAM_KINDS
    from plasticore.hw.devices import DEVICE_TABLE

    for name, t in TARGETS.items():
        assert (t.family, t.usable_io) == (DEVICE_TABLE[name].family, DEVICE_TABLE[name].usable_io)
        assert RAM_KINDS[name] == tuple(DEVICE_TABLE[name].ram)
    assert TARGETS["ice40-up5k"].constraint_path().is_file()

"""The array's host-port contract and defined values from time 0 (issue: writes lost at time 0 in Icarus).

* cocotb (``tests/cocotb/o1_array_host_tb.py``) in Icarus, Verilator and GHDL, on arrays whose ``row`` and/or
  ``col`` are tied to 0 from time 0 by a wrapper (``n_pre = 1``, ``n_post = 1``, with inferred RAM and SPRAM,
  plain and pipelined update) and on untied arrays: state and timesteps against ``OnlineO1Layer``, the exact
  read latency, read during write, several strobes in one clock and the address a strobe ignores;
* a plain Icarus testbench (no cocotb, ``reg`` inputs initialised at their declaration, compiled as Verilog-2005
  and as SystemVerilog, where such an initialiser is no event) on ``1 x 1`` and ``1 x 5`` SPRAM arrays;
* the emitted Verilog of every swept design has no combinational ``always`` block
  (:func:`plasticore.hw.verilog_comb.time_zero_hazards`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("cocotb")
pytest.importorskip("myhdl")

from hdl_sim import BUILD, SIMULATORS, hdl_for, long_run, run_cocotb

from plasticore.hw.array_emitter import OnlineO1ArrayEmitter
from plasticore.hw.o1_array import addr_bits
from plasticore.hw.verilog_comb import time_zero_hazards
from plasticore.refmodel.online_o1 import OnlineO1Config


def _c(w: int, t: int, r: int, sh: int, s: int) -> OnlineO1Config:
    return OnlineO1Config(weight_bits=w, trace_bits=t, reward_bits=r, learning_shift=sh, trace_decay_shift=s)


DEFAULT, SMALL, TINY = _c(16, 12, 8, 4, 4), _c(8, 6, 4, 3, 2), _c(3, 3, 2, 0, 0)

# (config, n_pre, n_post, lanes, memory[-pipelined], tied inputs)
HostCase = tuple[OnlineO1Config, int, int, int, str, str]
CASES: list[HostCase] = [
    (SMALL, 1, 1, 1, "inferred", "row,col"),
    (DEFAULT, 1, 1, 1, "inferred-pipelined", "row,col"),
    (DEFAULT, 1, 5, 2, "spram", "row"),
    (TINY, 4, 1, 1, "spram-pipelined", "col"),
    (SMALL, 4, 1, 1, "inferred", "col"),
    (DEFAULT, 3, 5, 2, "inferred", ""),
    (SMALL, 3, 5, 1, "spram", ""),
]
# Verilator compiles C++ for every case (~30 s each): by default it runs the two tied single-address cases
QUICK_VERILATOR = ("w8t6r4l3s2-1x1-P1-inferred-tied-row-col", "w3t3r2l0s0-4x1-P1-spram-pipelined-tied-col")


def _case_id(case: HostCase) -> str:
    c, a, b, p, mem, tied = case
    return f"{c.tag}-{a}x{b}-P{p}-{mem}" + (f"-tied-{tied.replace(',', '-')}" if tied else "")


def _emitter(case: HostCase) -> OnlineO1ArrayEmitter:
    c, n_pre, n_post, lanes, memory, _ = case
    mem, _, piped = memory.partition("-")
    return OnlineO1ArrayEmitter(c, n_pre=n_pre, n_post=n_post, lanes=lanes, memory=mem, pipelined_update=bool(piped))


_V_PORT = re.compile(r"^(input|output)\s+(signed\s+)?(\[\d+:0\]\s+)?(\w+);$", re.MULTILINE)
_VHDL_PORT = re.compile(r"^\s+(\w+): (in|out) ([^;]*?);?$", re.MULTILINE)


def tied_wrapper(top: Path, hdl: str, tied: set[str]) -> Path:
    """A wrapper ``o1_array_tied`` around the emitted ``o1_array`` in ``top`` whose ports ``tied`` are the
    constant 0 (a literal in the port map: never an event after time 0), the others passed through."""
    text = top.read_text()
    if hdl == "verilog":
        ports = [(m.group(1), (m.group(2) or "") + (m.group(3) or ""), m.group(4)) for m in _V_PORT.finditer(text)]
        outer = [p for p in ports if p[2] not in tied]
        lines = [f"module o1_array_tied ({', '.join(p[2] for p in outer)});"]
        lines += [f"{d} {w}{n};" for d, w, n in outer]
        # variables initialised at their declaration: under SystemVerilog semantics (cocotb runs Icarus with
        # -g2012) the initialiser runs before every process and is no event, so nothing but time-0 evaluation
        # gives the array's address decoders their value
        lines += [f"reg {w}{n}_tied = 0;" for _, w, n in ports if n in tied]
        conns: list[str] | str = [f".{n}({n + '_tied' if n in tied else n})" for _, _, n in ports]
        lines += [f"o1_array dut ({', '.join(conns)});", "endmodule", ""]
        out = top.with_name("o1_array_tied.v")
    else:
        entity = text[text.index("entity o1_array is"):text.index("end entity o1_array;")]
        ports = [(m.group(1), m.group(2), m.group(3).strip()) for m in _VHDL_PORT.finditer(entity)]
        outer = [p for p in ports if p[0] not in tied]
        decl = ";\n        ".join(f"{n}: {d} {t}" for n, d, t in outer)
        zero = {n: "(others => '0')" if "(" in t else "'0'" for n, _, t in ports}
        consts = "".join(f"    signal {n}_tied: {t} := {zero[n]};\n" for n, _, t in ports if n in tied)
        conns = ", ".join(f"{n} => {n + '_tied' if n in tied else n}" for n, _, _ in ports)
        lines = ["library IEEE;", "use IEEE.std_logic_1164.all;", "use IEEE.numeric_std.all;", "",
                 f"entity o1_array_tied is\n    port (\n        {decl}\n    );\nend entity o1_array_tied;", "",
                 f"architecture wrap of o1_array_tied is\n{consts}begin",
                 f"    dut: entity work.o1_array port map ({conns});", "end architecture wrap;", ""]
        out = top.with_name("o1_array_tied.vhd")
    out.write_text("\n".join(lines))
    return out


@pytest.mark.hw
@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("sim", SIMULATORS)
def test_host_port_contract(sim: str, case: HostCase) -> None:
    if sim == "verilator" and not long_run() and _case_id(case) not in QUICK_VERILATOR:
        pytest.skip("Verilator runs this case only with PLASTICORE_LONG=1 (C++ build time)")
    c, n_pre, n_post, lanes, _, tied = case
    em = _emitter(case)
    build = BUILD / "array_host" / sim / _case_id(case)
    sources = em.write(build / "src", hdl_for(sim), sim_models=True)
    toplevel = "o1_array"
    if tied:
        top = next(f for f in sources if f.stem == "o1_array")
        sources = [*sources, tied_wrapper(top, hdl_for(sim), set(tied.split(",")))]
        toplevel = "o1_array_tied"
    run_cocotb(sim=sim, sources=sources, toplevel=toplevel, test_module="o1_array_host_tb",
               build_dir=build / "sim",
               extra_env={"O1_CONFIG": json.dumps({k: v for k, v in c.as_dict().items() if k != "rule_family"}),
                          "O1_SHAPE": json.dumps([n_pre, n_post, lanes]), "O1_CYCLES": str(em.cycles_per_timestep),
                          "O1_TIED": tied, "O1_STEPS": "60" if long_run() else "12",
                          "O1_SEED": str(n_pre * 100 + n_post)})


_PLAIN_TB = """`timescale 1ns/1ps
module tb;
    reg clk = 0, rst = 1, start = 0;
    reg wr_syn = 0, wr_pre_trace = 0, wr_post_trace = 0, wr_pre_spike = 0, wr_post_spike = 0, wr_spike = 0;
    reg [{rb}:0] row = 0;
    reg [{cb}:0] col = 0;
    reg [{wm}:0] wr_weight = 0;
    reg signed [{tm}:0] wr_elig = 0;
    reg [{tm}:0] wr_trace = 0;
    reg signed [{rm}:0] wr_reward = 0;
    wire busy, done;
    wire [{wm}:0] rd_weight;
    wire signed [{tm}:0] rd_elig;
    wire [{tm}:0] rd_pre_trace, rd_post_trace;
    o1_array dut (.clk(clk), .rst(rst), .start(start), .busy(busy), .done(done), .row(row), .col(col),
        .wr_syn(wr_syn), .wr_pre_trace(wr_pre_trace), .wr_post_trace(wr_post_trace), .wr_pre_spike(wr_pre_spike),
        .wr_post_spike(wr_post_spike), .wr_weight(wr_weight), .wr_elig(wr_elig), .wr_trace(wr_trace),
        .wr_spike(wr_spike), .wr_reward(wr_reward), .rd_weight(rd_weight), .rd_elig(rd_elig),
        .rd_pre_trace(rd_pre_trace), .rd_post_trace(rd_post_trace));
    always #5 clk = ~clk;
    initial begin
        @(negedge clk); @(negedge clk); rst = 0;
        wr_syn = 1; wr_weight = {w}; wr_elig = {e}; @(negedge clk); wr_syn = 0;
        wr_post_trace = 1; wr_pre_trace = 1; wr_trace = {t}; @(negedge clk); wr_post_trace = 0; wr_pre_trace = 0;
        repeat (3) @(negedge clk);
        if (rd_weight === {w} && rd_elig === {e} && rd_pre_trace === {t} && rd_post_trace === {t} && busy === 1'b0)
            $display("PASS");
        else
            $display("FAIL w=%0d e=%0d pre=%0d post=%0d busy=%b", rd_weight, rd_elig, rd_pre_trace,
                     rd_post_trace, busy);
        $finish;
    end
endmodule
"""


@pytest.mark.hw
@pytest.mark.parametrize("case", [(SMALL, 1, 1, 1, "inferred", ""), (DEFAULT, 1, 5, 1, "spram", ""),
                                  (SMALL, 1, 1, 1, "inferred-pipelined", "")], ids=_case_id)
def test_plain_icarus_inputs_constant_from_time_0(case: HostCase) -> None:
    """Synapse (0, 0) and the traces of neuron 0, written with ``row``/``col`` 0 from their declaration, read
    back in a Verilog testbench (no cocotb): the case the time-0 defect lost."""
    if shutil.which("iverilog") is None:
        pytest.fail("iverilog not on PATH; run `make setup`")
    c = case[0]
    em = _emitter(case)
    build = BUILD / "array_host" / "plain" / _case_id(case)
    sources = em.write(build / "src", "verilog", sim_models=True)
    w, e, t = c.max_weight - 1, c.eligibility_min + 1, c.max_trace // 2 + 1
    rb, cb = addr_bits(case[1]) - 1, addr_bits(case[2]) - 1
    tb = build / "tb.v"
    tb.write_text(_PLAIN_TB.format(rb=rb, cb=cb, wm=c.weight_bits - 1, tm=c.trace_bits - 1, rm=c.reward_bits - 1,
                                   w=w, e=e, t=t))
    for generation in ("-g2005", "-g2012"):  # -g2012: initialisers run before every process, no event
        exe = build / f"tb{generation}.vvp"
        comp = subprocess.run(["iverilog", generation, "-o", str(exe), str(tb), *map(str, sources)],
                              capture_output=True, text=True, check=False)
        assert comp.returncode == 0, comp.stderr
        run = subprocess.run(["vvp", "-n", str(exe)], capture_output=True, text=True, check=False, timeout=120)
        assert "PASS" in run.stdout.splitlines(), f"{generation}: {run.stdout}{run.stderr}"


def test_no_emitted_verilog_has_a_combinational_always_block(tmp_path: Path) -> None:
    """Every design of the synthesis sweep (lanes and arrays on every target), with the SPRAM model, passes the
    time-0 check; the check itself flags the constructs it is for."""
    from plasticore.flows.designs import array_sweep, emit_design, lane_sweep

    specs = {s.design_id: s for t in ("ice40-up5k", "ice40-hx8k", "ecp5-25f") for s in (*lane_sweep(), *array_sweep(t))}
    assert len(specs) >= 20
    for design_id, spec in sorted(specs.items()):
        files, _ = emit_design(spec, tmp_path / design_id)
        for name in files:
            text = (tmp_path / design_id / name).read_text()
            assert time_zero_hazards(text) == [], f"{design_id}/{name}"
    spram = OnlineO1ArrayEmitter(DEFAULT, 1, 5, 1, memory="spram").write(tmp_path / "model", "verilog", sim_models=True)
    for f in spram:
        assert time_zero_hazards(f.read_text()) == [], f.name
    assert time_zero_hazards("always @(a, b) begin: blk\n    x = a;\nend\n") == ["blk"]
    assert time_zero_hazards("  always @* x = a;\nalways @(posedge clk) q <= d;\n") == ["always@1"]

"""``plasticore.hw.verilog_comb``: combinational blocks become functions + continuous assignments.

A small MyHDL block with the three shapes MyHDL turns into ``always @(...)`` (a ROM lookup, an ``if`` with a
signed output, several outputs) is converted through the emitters' own :func:`convert_block`; Icarus (as
Verilog-2005 and as SystemVerilog, where an initialised variable is no event at time 0) must show the right
outputs at time 1 ns for inputs that never change, and Verilator ``-Wall`` must be clean (no name hides
another). The rewrite refuses what it does not recognise.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("myhdl")

from myhdl import Signal, always_comb, block, intbv

from plasticore.hw.emitter import convert_block
from plasticore.hw.verilog_comb import comb_always_to_functions, time_zero_hazards

ROM = (5, 3, 7, 1)


@block
def demo(sel: Any, a: Any, b: Any, lut: Any, neg: Any, hi: Any, lo: Any) -> Any:
    @always_comb
    def lookup() -> None:
        lut.next = ROM[sel]

    @always_comb
    def negate() -> None:
        if a < 0:
            neg.next = -a
        else:
            neg.next = a

    @always_comb
    def split() -> None:
        if sel == 2:
            hi.next = b
            lo.next = 0
        else:
            hi.next = 0
            lo.next = b

    return lookup, negate, split


def _ports() -> dict[str, Any]:
    return {"sel": Signal(intbv(0)[2:]), "a": Signal(intbv(0, min=-7, max=8)), "b": Signal(intbv(0)[3:]),
            "lut": Signal(intbv(0)[3:]), "neg": Signal(intbv(0, min=-7, max=8)), "hi": Signal(intbv(0)[3:]),
            "lo": Signal(intbv(0)[3:])}


def _tb(sel: int, a: int, b: int) -> str:
    want = (ROM[sel], abs(a), b if sel == 2 else 0, 0 if sel == 2 else b)
    return f"""module tb;
    reg [1:0] sel = {sel};
    reg signed [3:0] a = {a};
    reg [2:0] b = {b};
    wire [2:0] lut, hi, lo;
    wire signed [3:0] neg;
    demo dut (.sel(sel), .a(a), .b(b), .lut(lut), .neg(neg), .hi(hi), .lo(lo));
    initial begin
        #1;
        if (lut === {want[0]} && neg === {want[1]} && hi === {want[2]} && lo === {want[3]}) $display("PASS");
        else $display("FAIL lut=%0d neg=%0d hi=%0d lo=%0d", lut, neg, hi, lo);
    end
endmodule
"""


@pytest.fixture(scope="module")
def demo_verilog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    (v,) = convert_block(lambda: demo(**_ports()), "verilog", "demo", out)
    return v


def test_rewrite_leaves_no_combinational_always(demo_verilog: Path) -> None:
    text = demo_verilog.read_text()
    assert time_zero_hazards(text) == []
    assert "assign lut = lookup_f(sel);" in text
    assert "assign {hi, lo} = split_f(sel, b);" in text or "assign {hi, lo} = split_f(b, sel);" in text
    assert comb_always_to_functions(text) == text  # idempotent


@pytest.mark.hw
@pytest.mark.parametrize("generation", ["-g2005", "-g2012"])
@pytest.mark.parametrize("inputs", [(0, -5, 6), (1, 7, 1), (2, -7, 5), (3, 0, 7)])
def test_outputs_defined_at_time_0(demo_verilog: Path, generation: str, inputs: tuple[int, int, int],
                                   tmp_path: Path) -> None:
    if shutil.which("iverilog") is None:
        pytest.fail("iverilog not on PATH; run `make setup`")
    tb = tmp_path / "tb.v"
    tb.write_text(_tb(*inputs))
    exe = tmp_path / "tb.vvp"
    subprocess.run(["iverilog", generation, "-o", str(exe), str(tb), str(demo_verilog)], check=True)
    out = subprocess.run(["vvp", "-n", str(exe)], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "PASS", out


@pytest.mark.hw
def test_verilator_wall_clean(demo_verilog: Path) -> None:
    if shutil.which("verilator") is None:
        pytest.fail("verilator not on PATH; run `make setup`")
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-WIDTHTRUNC", str(demo_verilog)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr


_MODULE = """module m (a, b, x);
input [1:0] a;
input [1:0] b;
output [1:0] x;
reg [1:0] x;
reg [1:0] mem [0:3];
{block}
endmodule
"""


def test_rewrite_refuses_what_it_does_not_recognise() -> None:
    hidden = ("always @(a) begin: blk\n    if (b) begin\n        x = a;\n    end\n"
              "    else begin\n        x = 0;\n    end\nend\n")
    with pytest.raises(ValueError, match=r"combinational block 'blk': operands \['b'\] are not in its sensitivity"):
        comb_always_to_functions(_MODULE.format(block=hidden))
    memory = "always @(a, mem) begin: blk\n    x = mem[a];\nend\n"
    with pytest.raises(ValueError, match=r"combinational block 'blk': 'mem' is not a declared scalar or vector"):
        comb_always_to_functions(_MODULE.format(block=memory))
    star = "always @* x = a;\n"
    with pytest.raises(ValueError, match=r"combinational always blocks this rewrite does not recognise"):
        comb_always_to_functions(_MODULE.format(block=star))

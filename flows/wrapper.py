"""Narrow top-level wrapper: any design behind four pins (``clk``, ``sdi``, ``cap``, ``sdo``).

A UP5K in the sg48 package has 39 usable I/O; the O(1) lane alone has 82 port bits. The wrapper
(:func:`wrapper_verilog`) feeds every design input except the clock from a serial-in shift register
(``sdi``) and captures every design output into a parallel-load shift register (``cap`` loads,
otherwise it shifts out on ``sdo``). Both sides of the design are therefore registered, so the
routed Fmax is the design's own register-to-register speed, not an I/O path. The synthesis script
keeps the design as its own hierarchy level (``keep_hierarchy``) so Yosys ``stat`` reports the
design's cells separately from the wrapper's shift registers.

The ports come from the design's port signal declarations (:func:`plasticore.flows.designs.design_ports`,
the emitters' ``ports()``), not from the emitted text. Pure Python, no EDA tools; the output is
deterministic (tested against golden files).
"""

from __future__ import annotations

from typing import TypeAlias

from plasticore.hw.hdl_names import HdlPort

WRAPPER_TOP = "synth_top"
WRAPPER_PINS: tuple[str, ...] = ("clk", "sdi", "cap", "sdo")

Port: TypeAlias = HdlPort  # one port: name, direction ("input"/"output"), width in bits, signedness


def io_bits(ports: list[Port]) -> int:
    """Pins the design would need without a wrapper (every port bit, the clock included)."""
    return sum(p.width for p in ports)


def wrapper_verilog(design_module: str, ports: list[Port], clock: str = "clk") -> str:
    """Verilog of ``synth_top``: ``design_module`` instantiated behind a serial shift-register interface.

    ``clock`` must be a 1-bit input of the design; every other input is a slice of the input shift
    register, every output a slice of the capture register.
    """
    by_name = {p.name: p for p in ports}
    if clock not in by_name or by_name[clock].direction != "input" or by_name[clock].width != 1:
        raise ValueError(f"clock must name a 1-bit input of {design_module!r}, not {clock!r}")
    ins = [p for p in ports if p.direction == "input" and p.name != clock]
    outs = [p for p in ports if p.direction == "output"]
    if not ins or not outs:
        raise ValueError(f"{design_module!r} needs at least one data input and one output to be wrapped")
    n_in = sum(p.width for p in ins)
    n_out = sum(p.width for p in outs)
    lines = [
        f"// {WRAPPER_TOP}: {design_module} behind clk/sdi/cap/sdo (plasticore.flows.wrapper; build product).",
        f"// {n_in} input bits shift in on sdi; cap loads the {n_out} output bits, which then shift out on sdo.",
        f"module {WRAPPER_TOP} (",
        "    input  wire clk,",
        "    input  wire sdi,",
        "    input  wire cap,",
        "    output wire sdo",
        ");",
        f"    reg  [{n_in - 1}:0] in_sr;",
        f"    reg  [{n_out - 1}:0] out_sr;",
        f"    wire [{n_out - 1}:0] out_bus;",
        "    always @(posedge clk) begin",
        "        in_sr <= " + ("sdi;" if n_in == 1 else f"{{in_sr[{n_in - 2}:0], sdi}};"),
        "        if (cap)",
        "            out_sr <= out_bus;",
        "        else",
        "            out_sr <= " + ("1'b0;" if n_out == 1 else f"{{1'b0, out_sr[{n_out - 1}:1]}};"),
        "    end",
        "    assign sdo = out_sr[0];",
        f"    {design_module} dut (",
    ]
    conns = [f"        .{clock}(clk)"]
    lo = 0
    for p in ins:
        conns.append(f"        .{p.name}(in_sr[{lo + p.width - 1}:{lo}])")
        lo += p.width
    lo = 0
    for p in outs:
        conns.append(f"        .{p.name}(out_bus[{lo + p.width - 1}:{lo}])")
        lo += p.width
    lines.append(",\n".join(conns))
    lines += ["    );", "endmodule", ""]
    return "\n".join(lines)

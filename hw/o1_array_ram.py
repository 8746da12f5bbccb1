"""``o1_array_ram``: simple dual-port RAM with a registered read (the RAM idiom Yosys infers as block RAM).

Ports
-----
clk    in   clock; write and read happen on its rising edge
we     in   1 bit: write ``wdata`` to ``mem[waddr]`` on this edge
waddr  in   unsigned, ``ceil(log2(depth))`` bits (at least 1), must be ``< depth`` when ``we`` is high
wdata  in   unsigned, ``len(wdata)`` bits: the word width of the memory
raddr  in   unsigned, same width as ``waddr``, must be ``< depth``
rdata  out  unsigned, ``len(wdata)`` bits: ``mem[raddr]`` sampled on the edge (one clock of latency);
            a read and a write of the same address on the same edge return the OLD word (read-first)

There is no reset: the contents are undefined until written (``X`` in Verilog simulation, ``'U'`` in VHDL).
On iCE40 Yosys maps this to ``SB_RAM40_4K`` (EBR), on ECP5 to ``DP16KD``; small instances may become LUT RAM.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, block, intbv


def ram_check(depth: int, width: int, addr_bits: int) -> None:
    """Raise a named error when the RAM parameters do not fit together."""
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"o1_array_ram depth must be an int >= 1, not {depth!r}")
    if width < 1:
        raise ValueError(f"o1_array_ram word width must be >= 1, not {width}")
    if (1 << addr_bits) < depth:
        raise ValueError(f"o1_array_ram address width {addr_bits} cannot address depth {depth}")


@block
def o1_array_ram(clk: Any, we: Any, waddr: Any, wdata: Any, raddr: Any, rdata: Any, depth: int) -> Any:
    width = len(wdata)
    ram_check(depth, width, len(waddr))
    if len(raddr) != len(waddr) or len(rdata) != width:
        raise ValueError(
            f"o1_array_ram ports disagree: raddr {len(raddr)} vs waddr {len(waddr)} bits, "
            f"rdata {len(rdata)} vs wdata {width} bits"
        )
    mem = [Signal(intbv(0)[width:]) for _ in range(depth)]

    @always(clk.posedge)
    def access() -> None:
        if we:
            mem[waddr].next = wdata
        rdata.next = mem[raddr]

    return access

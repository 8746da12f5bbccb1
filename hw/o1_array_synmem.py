"""``o1_array_synmem``: a lane's synapse memory in iCE40 UltraPlus SPRAM, two banks by address parity.

The SPRAM (:func:`~plasticore.hw.o1_array_spram.o1_array_spram`) is single-port, but the array's
read-modify-write needs a read and a write on every clock. Here even addresses live in bank 0 and odd
addresses in bank 1 (bank address ``addr >> 1``). The array's schedule reads address ``n`` on edge
``n + 1`` and writes it back on edge ``n + 4`` (an odd distance), so on every edge the read and the write
go to different banks: one synapse per clock per lane with single-port RAMs. A word wider than 16 bits is
spread over two SPRAMs side by side (low 16 bits in the first), so the memory is 2 SPRAMs for words of
up to 16 bits and 4 for words of 17..32 bits (wider words are rejected).

Ports (the interface of :func:`~plasticore.hw.o1_array_ram.o1_array_ram`)
-----
clk    in   clock
we     in   1 bit: write ``wdata`` to ``mem[waddr]`` on this edge
waddr  in   unsigned ``A`` bits (``2 <= A <= 15``)
wdata  in   unsigned ``width`` bits, ``width <= 32``
raddr  in   unsigned ``A`` bits
rdata  out  unsigned ``width`` bits: ``mem[raddr]`` of the previous edge

Contract: when ``we`` is high, ``raddr`` and ``waddr`` must differ in bit 0 (different banks) or the read
returns undefined data (the write still happens). ``depth`` words, ``3 <= depth <= 32768``. ``tag``
prefixes the SPRAM instance names (``<tag>_b<bank>_<lo|hi>``): unique per memory in a design.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, concat, intbv

from .o1_array_spram import SPRAM_ADDR_BITS, SPRAM_BITS, SPRAM_WORDS, o1_array_spram

MAX_WIDTH = 2 * SPRAM_BITS


def spram_chunks(width: int) -> int:
    """SPRAMs side by side for one word of ``width`` bits (1 or 2)."""
    return -(-width // SPRAM_BITS)


def spram_count(width: int) -> int:
    """SPRAMs of one parity-banked memory: two banks of :func:`spram_chunks`."""
    return 2 * spram_chunks(width)


def synmem_check(depth: int, width: int, addr_bits: int) -> None:
    """Raise a named error when a parity-banked SPRAM memory cannot hold ``depth`` x ``width``."""
    if not 3 <= depth <= 2 * SPRAM_WORDS:
        raise ValueError(
            f"SPRAM synapse memory depth (n_pre * ceil(n_post / lanes)) must be in 3..{2 * SPRAM_WORDS}, not {depth}"
        )
    if not 1 <= width <= MAX_WIDTH:
        raise ValueError(f"SPRAM synapse word (weight_bits + trace_bits) must be in 1..{MAX_WIDTH} bits, not {width}")
    if not 2 <= addr_bits <= SPRAM_ADDR_BITS + 1:
        raise ValueError(f"SPRAM synapse memory address width must be in 2..{SPRAM_ADDR_BITS + 1}, not {addr_bits}")


@block
def o1_array_synmem(
    clk: Any, we: Any, waddr: Any, wdata: Any, raddr: Any, rdata: Any, depth: int, tag: str = "spram"
) -> Any:
    width = len(wdata)
    ab = len(waddr)
    synmem_check(depth, width, ab)
    nch = spram_chunks(width)
    lo_w = min(width, SPRAM_BITS)
    pad_a = SPRAM_ADDR_BITS - (ab - 1)

    # bank control: bank b writes when we and waddr[0] == b, otherwise it reads raddr >> 1
    we0 = Signal(bool(0))
    we1 = Signal(bool(0))
    addr0 = Signal(intbv(0)[SPRAM_ADDR_BITS:])
    addr1 = Signal(intbv(0)[SPRAM_ADDR_BITS:])
    wa = Signal(intbv(0)[SPRAM_ADDR_BITS:])
    ra = Signal(intbv(0)[SPRAM_ADDR_BITS:])
    wpar = Signal(bool(0))  # the write's bank: a signal, so the bank control reads whole operands
    if pad_a > 0:

        @always_comb
        def bank_addr() -> None:
            wa.next = concat(intbv(0)[pad_a:], waddr[ab:1])
            ra.next = concat(intbv(0)[pad_a:], raddr[ab:1])
            wpar.next = waddr[0]

    else:

        @always_comb
        def bank_addr() -> None:
            wa.next = waddr[ab:1]
            ra.next = raddr[ab:1]
            wpar.next = waddr[0]

    @always_comb
    def bank_ctrl() -> None:
        we0.next = we and not wpar
        we1.next = we and wpar
        if we and not wpar:
            addr0.next = wa
        else:
            addr0.next = ra
        if we and wpar:
            addr1.next = wa
        else:
            addr1.next = ra

    rpar = Signal(bool(0))

    @always(clk.posedge)
    def read_parity() -> None:
        rpar.next = raddr[0]

    din_lo = Signal(intbv(0)[lo_w:])
    out0_lo = Signal(intbv(0)[lo_w:])
    out1_lo = Signal(intbv(0)[lo_w:])

    if nch == 1:

        @always_comb
        def split() -> None:
            din_lo.next = wdata

        ram0_lo = o1_array_spram(clk, we0, addr0, din_lo, out0_lo, f"{tag}_b0_lo")
        ram1_lo = o1_array_spram(clk, we1, addr1, din_lo, out1_lo, f"{tag}_b1_lo")

        @always_comb
        def bank_mux() -> None:
            if rpar:
                rdata.next = out1_lo
            else:
                rdata.next = out0_lo

        return bank_addr, bank_ctrl, read_parity, split, ram0_lo, ram1_lo, bank_mux

    hi_w = width - SPRAM_BITS
    din_hi = Signal(intbv(0)[hi_w:])
    out0_hi = Signal(intbv(0)[hi_w:])
    out1_hi = Signal(intbv(0)[hi_w:])

    @always_comb  # type: ignore[no-redef]  # MyHDL names the generated process after the function
    def split() -> None:
        din_lo.next = wdata[SPRAM_BITS:]
        din_hi.next = wdata[width:SPRAM_BITS]

    ram0_lo = o1_array_spram(clk, we0, addr0, din_lo, out0_lo, f"{tag}_b0_lo")
    ram0_hi = o1_array_spram(clk, we0, addr0, din_hi, out0_hi, f"{tag}_b0_hi")
    ram1_lo = o1_array_spram(clk, we1, addr1, din_lo, out1_lo, f"{tag}_b1_lo")
    ram1_hi = o1_array_spram(clk, we1, addr1, din_hi, out1_hi, f"{tag}_b1_hi")

    @always_comb  # type: ignore[no-redef]  # MyHDL names the generated process after the function
    def bank_mux() -> None:
        if rpar:
            rdata.next = concat(out1_hi, out1_lo)
        else:
            rdata.next = concat(out0_hi, out0_lo)

    return bank_addr, bank_ctrl, read_parity, split, ram0_lo, ram0_hi, ram1_lo, ram1_hi, bank_mux

"""``spi_slave``: an oversampled SPI slave (mode 0, MSB first) in the system clock domain.

The host interface of the closed-loop core (:mod:`plasticore.hw.o1_core`; frame format and registers in
:mod:`plasticore.host.regmap`) is one ``spi_slave`` plus a byte-level frame decoder. There is one clock
domain: ``sck``, ``cs_n`` and ``mosi`` are asynchronous inputs, each passed through a 2-flip-flop
synchroniser (``mosi`` through exactly as many stages as ``sck``, so the bit sampled with a detected SCK
edge is the one the master presented at that edge), and the SCK and ``cs_n`` edges are detected in the
``clk`` domain. SCK therefore has to be slow against ``clk``: period >= :data:`SCK_DIVIDER_MIN` clocks.

Ports
-----
===========  ===  =====  ======================================================================================
port         dir  width  meaning
===========  ===  =====  ======================================================================================
clk          in   1      system clock; everything happens on its rising edge
rst          in   1      synchronous, active high: clears every register (deselected, no frame, MISO 0)
sck          in   1      SPI clock from the master (asynchronous; idles low: mode 0)
cs_n         in   1      chip select, active low (asynchronous); one frame per low period
mosi         in   1      master out (asynchronous), sampled at SCK rising edges
miso         out  1      slave out, a register (``tx`` shift register bit 7)
miso_oe      out  1      high while a frame is active (a board top tri-states ``miso`` with it)
frame_start  out  1      1-clock pulse when the synchronised ``cs_n`` falls
frame_end    out  1      1-clock pulse when the synchronised ``cs_n`` rises; drops a partial byte
rx_valid     out  1      1-clock pulse: ``rx_byte`` holds a new byte (after its 8th SCK rising edge)
rx_byte      out  8      the last complete byte received; holds until the next one
tx_byte      in   8      the next reply byte: SAMPLED in the clock where ``frame_start`` is high (byte 0
                         of the reply) and in each clock where ``rx_valid`` is high (the byte that follows)
===========  ===  =====  ======================================================================================

Timing (edge ``1`` = the first rising ``clk`` edge that samples the new level of an input)
------------------------------------------------------------------------------------------
* ``cs_n`` falls: ``frame_start`` is high in the clock after edge :data:`FRAME_START_EDGE` (2); ``tx_byte``
  is sampled by the edge ending that clock (3), after which ``miso_oe`` is high and ``miso`` shows bit 7.
  ``cs_n`` rises: ``frame_end`` is high in the clock after edge 2, ``miso_oe`` falls after edge 3.
* SCK rises: ``mosi`` is shifted in on edge :data:`SCK_TO_MISO_EDGES` (3), and ``miso`` shows the next bit
  after that edge (so MISO changes 2..3 clock periods after the real SCK edge: valid mode-0 behaviour, the
  master sampled MISO at that SCK edge and samples the new bit at the next one, nearly a full SCK period
  later). After the 8th bit of a byte no bit is shifted; instead ``rx_valid`` is high in the clock after
  edge :data:`SCK_TO_RX_VALID_EDGES` (3) with the byte on ``rx_byte``, ``tx_byte`` is sampled on edge 4,
  and ``miso`` shows bit 7 of the new reply byte after edge :data:`SCK_TO_NEXT_BYTE_EDGES` (4).
* The user therefore presents reply byte ``n + 1`` on ``tx_byte`` by the clock in which ``rx_valid`` of
  byte ``n`` is high; ``rx_byte`` is already valid in that clock, so ``tx_byte`` may be a combinational
  function of ``rx_byte``.

Requirements on the master: SCK period >= :data:`SCK_DIVIDER_MIN` (8) clocks with SCK high and low for at
least 2 clocks each; ``cs_n`` low at least :data:`CS_SETUP_CLOCKS` (8) clocks before the first SCK rising
edge, the last SCK rising edge at least 8 clocks before ``cs_n`` rises, and ``cs_n`` high at least 8 clocks
between frames (the constants are :data:`plasticore.host.regmap.SCK_DIVIDER_MIN` and
:data:`~plasticore.host.regmap.CS_SETUP_CLOCKS`). SCK edges while ``cs_n`` is high are ignored.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, concat, intbv

from plasticore.host.regmap import CS_SETUP_CLOCKS, SCK_DIVIDER_MIN

__all__ = [
    "CS_SETUP_CLOCKS",
    "FRAME_START_EDGE",
    "SCK_DIVIDER_MIN",
    "SCK_TO_MISO_EDGES",
    "SCK_TO_NEXT_BYTE_EDGES",
    "SCK_TO_RX_VALID_EDGES",
    "SYNC_STAGES",
    "spi_slave",
    "spi_slave_check",
]

SYNC_STAGES = 2  # flip-flops of each input synchroniser
FRAME_START_EDGE = 2  # frame_start / frame_end are high in the clock after this edge (edge 1 samples cs_n)
SCK_TO_MISO_EDGES = 3  # the edge (1 = first to sample SCK high) after which MISO shows the next bit
SCK_TO_RX_VALID_EDGES = 3  # the edge after which rx_valid is high (8th bit of a byte)
SCK_TO_NEXT_BYTE_EDGES = 4  # the edge after which MISO shows bit 7 of the next reply byte (8th bit)


def spi_slave_check(rx_byte: Any, tx_byte: Any) -> None:
    """Raise a named ``ValueError`` unless ``rx_byte`` and ``tx_byte`` are 8-bit unsigned signals."""
    for name, sig in (("rx_byte", rx_byte), ("tx_byte", tx_byte)):
        if len(sig) != 8 or (sig.min is not None and sig.min < 0):
            raise ValueError(f"{name} must be an unsigned 8-bit signal, not {len(sig)} bits (min {sig.min})")


@block
def spi_slave(
    clk: Any, rst: Any, sck: Any, cs_n: Any, mosi: Any, miso: Any, miso_oe: Any, frame_start: Any,
    frame_end: Any, rx_valid: Any, rx_byte: Any, tx_byte: Any,
) -> Any:
    """The SPI slave of the module docstring (ports and timing there)."""
    spi_slave_check(rx_byte, tx_byte)

    # synchronisers (reset to the idle levels: SCK low, deselected)
    sck_s1 = Signal(bool(0))
    sck_s2 = Signal(bool(0))
    sck_s3 = Signal(bool(0))  # sck_s2 one clock later: edge detection
    cs_s1 = Signal(bool(1))
    cs_s2 = Signal(bool(1))
    cs_s3 = Signal(bool(1))
    mosi_s1 = Signal(bool(0))
    mosi_s2 = Signal(bool(0))  # aligned with sck_s2

    fs = Signal(bool(0))
    fe = Signal(bool(0))
    rise = Signal(bool(0))
    oe = Signal(bool(0))
    rxv = Signal(bool(0))
    bit_cnt = Signal(intbv(0, min=0, max=8))
    rx_sh = Signal(intbv(0)[7:])
    tx_sh = Signal(intbv(0)[8:])

    @always(clk.posedge)
    def sync() -> None:
        if rst:
            sck_s1.next = 0
            sck_s2.next = 0
            sck_s3.next = 0
            cs_s1.next = 1
            cs_s2.next = 1
            cs_s3.next = 1
            mosi_s1.next = 0
            mosi_s2.next = 0
        else:
            sck_s1.next = sck
            sck_s2.next = sck_s1
            sck_s3.next = sck_s2
            cs_s1.next = cs_n
            cs_s2.next = cs_s1
            cs_s3.next = cs_s2
            mosi_s1.next = mosi
            mosi_s2.next = mosi_s1

    @always_comb
    def edges() -> None:
        fs.next = cs_s3 and not cs_s2
        fe.next = cs_s2 and not cs_s3
        rise.next = sck_s2 and not sck_s3

    @always(clk.posedge)
    def shifter() -> None:
        rxv.next = 0
        if rst:
            oe.next = 0
            bit_cnt.next = 0
            rx_sh.next = 0
            tx_sh.next = 0
            rx_byte.next = 0
        elif fs:
            oe.next = 1
            bit_cnt.next = 0
            tx_sh.next = tx_byte
        elif fe:
            oe.next = 0
            bit_cnt.next = 0
            tx_sh.next = 0
        elif oe and rxv:
            tx_sh.next = tx_byte
        elif oe and rise:
            if bit_cnt == 7:
                rx_byte.next = concat(rx_sh, mosi_s2)
                rxv.next = 1
                bit_cnt.next = 0
            else:
                rx_sh.next = concat(rx_sh[6:0], mosi_s2)
                tx_sh.next = concat(tx_sh[7:0], False)
                bit_cnt.next = bit_cnt + 1

    @always_comb
    def outputs() -> None:
        miso.next = tx_sh[7]
        miso_oe.next = oe
        frame_start.next = fs
        frame_end.next = fe
        rx_valid.next = rxv

    return sync, edges, shifter, outputs

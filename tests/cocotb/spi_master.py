"""A reusable cocotb 2.x SPI master (mode 0, MSB first) clocked by the DUT's system clock.

:class:`SpiMaster` drives ``sck``, ``cs_n`` and ``mosi`` with timings counted in falling edges of the DUT clock
(which the testbench drives from cocotb, e.g. ``Clock(dut.clk, 10, unit="ns").start()``): every change is made
at a falling edge, so it is seen by the next rising edge, and ``miso`` (a register in the slave, changing at
rising edges) is sampled at a falling edge too. One :meth:`SpiMaster.transfer` is one frame::

    cs_n low, MOSI = bit 7 of byte 0
    wait cs_setup clocks
    per bit: sample MISO and raise SCK; wait divider // 2 clocks; lower SCK and present the next MOSI bit;
             wait divider - divider // 2 clocks (the last bit: wait max(divider // 2, cs_hold) after the rise)
    cs_n high; wait cs_gap clocks (the minimum high time before the next frame)

:class:`CocotbTransport` is the synchronous face of it for host code (``transfer(bytes) -> bytes``, one frame per
call, the interface of :class:`plasticore.host.driver.CoreDriver`): call it from a blocking function run with
``cocotb.task.bridge``; each call resumes the simulation through a ``cocotb.task.resume`` wrapper of
:meth:`SpiMaster.transfer` (cocotb 2.x names; 1.x had ``external`` / ``function``).

Both count what they used (:attr:`SpiMaster.clocks`, :attr:`SpiMaster.bytes_transferred`,
:attr:`SpiMaster.frames`) so throughput reports can turn them into rates.
"""

from __future__ import annotations

from typing import Any

from cocotb.simtime import get_sim_time
from cocotb.task import resume
from cocotb.triggers import ClockCycles, FallingEdge


def _bit(value: Any) -> int:
    """A 1-bit handle value as 0/1 (``x``/``z`` are an error: MISO must be driven while selected)."""
    s = str(value)
    if s not in ("0", "1"):
        raise AssertionError(f"MISO is {s!r} while the slave is selected (expected 0 or 1)")
    return int(s)


def frame_overhead_clocks(divider: int = 8, cs_setup: int = 8, cs_hold: int = 8, cs_gap: int = 8) -> int:
    """Clocks of one :meth:`SpiMaster.transfer` beyond ``8 * divider`` per byte: the first edge, the setup, the
    hold after the last rise (instead of its low half) and the gap (17 with the defaults)."""
    high = divider // 2
    return 1 + cs_setup - (divider - high) + max(cs_hold - high, 0) + cs_gap


class SpiMaster:
    """Mode-0 SPI master driving ``sck``, ``cs_n``, ``mosi`` and sampling ``miso``, timed in ``dut_clk`` clocks.

    ``divider`` (>= 2) is the SCK period in clocks (high ``divider // 2``, low the rest); ``cs_setup`` clocks
    from ``cs_n`` falling to the first SCK rising edge; ``cs_hold`` clocks from the last SCK rising edge to
    ``cs_n`` rising (at least the SCK high time); ``cs_gap`` clocks of ``cs_n`` high after each frame.
    Values below the slave's requirements are allowed on purpose (tests of the limits).
    """

    def __init__(self, dut_clk: Any, sck: Any, cs_n: Any, mosi: Any, miso: Any, divider: int = 8,
                 cs_setup: int = 8, cs_hold: int = 8, cs_gap: int = 8) -> None:
        for name, value, lo in (("divider", divider, 2), ("cs_setup", cs_setup, 1), ("cs_hold", cs_hold, 1),
                                ("cs_gap", cs_gap, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < lo:
                raise ValueError(f"{name} must be an int >= {lo}, not {value!r}")
        self.clk, self.sck, self.cs_n, self.mosi, self.miso = dut_clk, sck, cs_n, mosi, miso
        self.divider, self.cs_setup, self.cs_hold, self.cs_gap = divider, cs_setup, cs_hold, cs_gap
        self.clocks = 0  # clocks spent inside transfer() (setup, bits, hold and gap included)
        self.bytes_transferred = 0  # complete bytes clocked (each way)
        self.frames = 0
        # simulation times (ns) of the last frame's edges, for testbenches that check the slave's timing
        self.sck_rise_times: list[float] = []
        self.cs_fall_time = 0.0
        self.cs_rise_time = 0.0

    def idle(self) -> None:
        """Drive the idle levels (``cs_n`` high, ``sck`` and ``mosi`` low); call once before the first frame."""
        self.cs_n.value = 1
        self.sck.value = 0
        self.mosi.value = 0

    async def wait_clocks(self, n: int) -> None:
        """Wait ``n`` falling edges of the DUT clock (counted in :attr:`clocks`)."""
        if n > 0:
            await ClockCycles(self.clk, n, rising=False)  # one trigger, not n: the SPI frames dominate run time
            self.clocks += n

    async def transfer(self, data: bytes, bits: int | None = None) -> bytes:
        """One full-duplex frame: send ``data``, return the bytes sampled on MISO (MSB first).

        ``bits`` (default ``8 * len(data)``) cuts the frame short after that many bits (an aborted frame:
        ``cs_n`` rises inside a byte); the reply then has ``ceil(bits / 8)`` bytes, the last one holding its
        received bits in its top bits and zeros below.
        """
        data = bytes(data)
        nbits = 8 * len(data) if bits is None else bits
        if not 0 <= nbits <= 8 * len(data):
            raise ValueError(f"bits must be in 0..{8 * len(data)} (8 * len(data)), not {nbits}")
        high = self.divider // 2
        low = self.divider - high
        await FallingEdge(self.clk)
        self.clocks += 1
        self.sck_rise_times = []
        self.cs_fall_time = get_sim_time("ns")
        self.cs_n.value = 0
        self.sck.value = 0
        self.mosi.value = (data[0] >> 7) & 1 if nbits else 0
        await self.wait_clocks(self.cs_setup)
        rx = bytearray((nbits + 7) // 8)
        for k in range(nbits):
            rx[k // 8] |= _bit(self.miso.value) << (7 - k % 8)
            self.sck.value = 1
            self.sck_rise_times.append(get_sim_time("ns"))
            await self.wait_clocks(high)
            self.sck.value = 0
            if k + 1 < nbits:
                nxt = k + 1
                self.mosi.value = (data[nxt // 8] >> (7 - nxt % 8)) & 1
                await self.wait_clocks(low)
            else:
                await self.wait_clocks(max(self.cs_hold - high, 0))
        self.cs_n.value = 1
        self.mosi.value = 0
        self.cs_rise_time = get_sim_time("ns")
        await self.wait_clocks(self.cs_gap)
        self.bytes_transferred += nbits // 8
        self.frames += 1
        return bytes(rx)


class CocotbTransport:
    """Synchronous ``transfer(bytes) -> bytes`` over a :class:`SpiMaster`, for host code in a bridge thread.

    Only callable from a function started with ``cocotb.task.bridge`` (``RuntimeError`` otherwise). The
    counters are the master's (:attr:`clocks`, :attr:`bytes_transferred`, :attr:`frames`).
    """

    def __init__(self, master: SpiMaster) -> None:
        self.master = master
        self._transfer = resume(master.transfer)

    def transfer(self, data: bytes) -> bytes:
        """One frame (blocks the bridge thread while the simulation runs it)."""
        return self._transfer(bytes(data))

    @property
    def clocks(self) -> int:
        """DUT clocks spent in frames so far."""
        return self.master.clocks

    @property
    def bytes_transferred(self) -> int:
        """Complete bytes transferred so far."""
        return self.master.bytes_transferred

    @property
    def frames(self) -> int:
        """Frames so far."""
        return self.master.frames

"""cocotb regression of :func:`plasticore.hw.spi_slave.spi_slave` behind the ``spi_loopback`` test top.

Run by ``tests/test_spi_slave.py`` on Icarus, Verilator and GHDL. The top (defined there) replies to each
frame with :func:`loopback_reply`: byte 0 is the number of frames ended since reset (mod 256, aborted ones
included), byte ``n + 1`` is ``rx[n] ^ n`` (``tx_byte`` is a combinational function of ``rx_byte`` in the
``rx_valid`` clock). Its ports are the slave's (``frame_start``, ``frame_end``, ``rx_valid``, ``rx_byte``
brought out).

A monitor samples every output at every falling clock edge, so each check is exact to the clock:
``frame_start`` / ``frame_end`` 2 falling edges after ``cs_n`` changes (one clock wide), ``miso_oe`` and
MISO bit 7 after 3, every MISO bit change exactly :data:`~plasticore.hw.spi_slave.SCK_TO_MISO_EDGES` clocks
after its SCK rising edge (and not one earlier), ``rx_valid`` one clock wide 3 clocks after the 8th rising
edge with the received byte, the next reply byte's bit 7 after 4. Environment: ``SPI_FRAMES`` (random frames
per test), ``SPI_SEED``.
"""

from __future__ import annotations

import os
import random
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.task import bridge
from cocotb.triggers import FallingEdge
from spi_master import CocotbTransport, SpiMaster

from plasticore.hw.spi_slave import (
    CS_SETUP_CLOCKS,
    FRAME_START_EDGE,
    SCK_DIVIDER_MIN,
    SCK_TO_MISO_EDGES,
    SCK_TO_NEXT_BYTE_EDGES,
    SCK_TO_RX_VALID_EDGES,
)

PERIOD = 10  # ns
FRAMES = int(os.environ.get("SPI_FRAMES", "12"))
SEED = int(os.environ.get("SPI_SEED", "1"))


def loopback_reply(data: bytes, frames_before: int) -> bytes:
    """The loopback's ``len(data) + 1`` reply bytes (the last is loaded after the frame's last byte)."""
    return bytes([frames_before & 0xFF, *((b ^ n) & 0xFF for n, b in enumerate(data))])


def _v(value: Any) -> int:
    s = str(value)
    return int(s, 2) if set(s) <= {"0", "1"} else -1  # -1: x/z


class Monitor:
    """Every output at every falling clock edge, keyed by the clock index ``t // PERIOD``."""

    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.samples: dict[int, tuple[int, int, int, int, int, int]] = {}
        self.task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        d = self.dut
        while True:
            await FallingEdge(d.clk)
            k = int(get_sim_time("ns") // PERIOD)
            self.samples[k] = (_v(d.frame_start.value), _v(d.frame_end.value), _v(d.rx_valid.value),
                               _v(d.rx_byte.value), _v(d.miso.value), _v(d.miso_oe.value))

    def at(self, t: float, field: int) -> int:
        """Sample ``field`` (0 frame_start, 1 frame_end, 2 rx_valid, 3 rx_byte, 4 miso, 5 miso_oe) at ``t`` ns."""
        return self.samples[int(t // PERIOD)][field]

    def pulses(self, field: int, t0: float, t1: float) -> list[int]:
        """Clock indices in ``[t0, t1]`` where ``field`` is high."""
        return [k for k in range(int(t0 // PERIOD), int(t1 // PERIOD) + 1) if self.samples.get(k, (0,) * 6)[field]]


class Bench:
    """Clock, reset, monitor and master; :meth:`frame` runs one frame and checks it against the loopback."""

    def __init__(self, dut: Any, divider: int = SCK_DIVIDER_MIN, cs_setup: int = CS_SETUP_CLOCKS,
                 cs_hold: int = CS_SETUP_CLOCKS, cs_gap: int = CS_SETUP_CLOCKS) -> None:
        self.dut = dut
        self.master = SpiMaster(dut.clk, dut.sck, dut.cs_n, dut.mosi, dut.miso, divider=divider,
                                cs_setup=cs_setup, cs_hold=cs_hold, cs_gap=cs_gap)
        self.frames_ended = 0
        self.monitor: Monitor | None = None

    async def start(self) -> None:
        d = self.dut
        self.master.idle()
        d.rst.value = 1
        Clock(d.clk, PERIOD, unit="ns").start()
        self.monitor = Monitor(d)
        for _ in range(3):
            await FallingEdge(d.clk)
        d.rst.value = 0
        await FallingEdge(d.clk)
        assert _v(d.miso_oe.value) == 0, "miso_oe high after reset"

    async def frame(self, data: bytes, bits: int | None = None) -> bytes:
        """Transfer ``data`` (cut after ``bits`` bits), check replies, pulses and the timing of every edge."""
        m, mon = self.master, self.monitor
        assert mon is not None
        nbits = 8 * len(data) if bits is None else bits
        expect = loopback_reply(data, self.frames_ended)
        got = await m.transfer(data, bits)
        await FallingEdge(self.dut.clk)  # the monitor has sampled the last gap clock
        full = nbits // 8
        assert got[:full] == expect[:full], f"reply {got[:full].hex()} != {expect[:full].hex()} for {data.hex()}"
        if nbits % 8:
            mask = (0xFF << (8 - nbits % 8)) & 0xFF
            assert got[full] == expect[full] & mask, f"partial byte {got[full]:02x} != {expect[full] & mask:02x}"
        per = PERIOD
        tf, tr = m.cs_fall_time, m.cs_rise_time
        # frame_start / frame_end: one clock each, FRAME_START_EDGE clocks after cs_n changes
        assert mon.pulses(0, tf - per, tr + 8 * per) == [int(tf // per) + FRAME_START_EDGE]
        assert mon.pulses(1, tf - per, tr + 8 * per) == [int(tr // per) + FRAME_START_EDGE]
        # miso_oe: high from the load (edge 3) to the edge after frame_end
        assert mon.at(tf + FRAME_START_EDGE * per, 5) == 0 and mon.at(tf + 3 * per, 5) == 1
        assert mon.at(tr + FRAME_START_EDGE * per, 5) == 1 and mon.at(tr + 3 * per, 5) == 0
        assert mon.at(tf + 3 * per, 4) == expect[0] >> 7, "bit 7 of reply byte 0 not on MISO after the load"
        # rx_valid: one clock per complete byte, SCK_TO_RX_VALID_EDGES after its 8th rising edge
        rises = m.sck_rise_times
        want_rv = [int(rises[8 * n + 7] // per) + SCK_TO_RX_VALID_EDGES for n in range(full)]
        assert mon.pulses(2, tf, tr + 8 * per) == want_rv, f"rx_valid at {mon.pulses(2, tf, tr + 8 * per)}"
        for n in range(full):
            t = rises[8 * n + 7] + SCK_TO_RX_VALID_EDGES * per
            assert mon.at(t, 3) == data[n], f"rx_byte {mon.at(t, 3):02x} != {data[n]:02x} (byte {n})"
            until = rises[8 * n + 15] + SCK_TO_RX_VALID_EDGES * per if 8 * n + 15 < len(rises) else tr + 8 * per
            assert mon.at(until - per, 3) == data[n], f"rx_byte did not hold byte {n} until the next one"
        # MISO: bit k+1 exactly SCK_TO_MISO_EDGES clocks after rise k; the next byte's bit 7 after 4 clocks
        for k, t in enumerate(rises):
            byte, bit = divmod(k, 8)
            cur = (expect[byte] >> (7 - bit)) & 1
            if bit < 7:
                nxt, edge = (expect[byte] >> (6 - bit)) & 1, SCK_TO_MISO_EDGES
            else:
                nxt, edge = expect[byte + 1] >> 7, SCK_TO_NEXT_BYTE_EDGES
            assert mon.at(t + (edge - 1) * per, 4) == cur, f"MISO changed early after rise {k}"
            assert mon.at(t + edge * per, 4) == nxt, f"MISO wrong {edge} clocks after rise {k}"
        self.frames_ended += 1
        return got


def _rand_frame(rng: random.Random, max_len: int = 6) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, max_len)))


@cocotb.test()
@cocotb.parametrize(divider=[SCK_DIVIDER_MIN, 9, 16, 37])
async def frames_at_divider(dut: Any, divider: int) -> None:
    """Random frames at this SCK divider, minimum cs setup/hold/gap; all bytes and edges exact."""
    b = Bench(dut, divider=divider)
    await b.start()
    rng = random.Random(SEED * 1000 + divider)
    for _ in range(FRAMES):
        await b.frame(_rand_frame(rng))
    await b.frame(bytes([0x00, 0xFF, 0xAA, 0x55, 0x80, 0x01]))


@cocotb.test()
async def aborted_frames(dut: Any) -> None:
    """Frames cut inside a byte (byte 0 and later ones): partial bytes dropped, the next frame starts clean."""
    b = Bench(dut)
    await b.start()
    rng = random.Random(SEED + 7)
    for cut in [1, 7, 9, 15, 23, 8 * 3 + 4, 8 * 5 + 7]:
        data = bytes(rng.randrange(256) for _ in range(6))
        await b.frame(data, bits=cut)
        await b.frame(_rand_frame(rng, 3))  # byte boundaries and the frame count are intact
    await b.frame(bytes(3), bits=0)  # cs_n low and high, no SCK: a frame with no bytes


@cocotb.test()
async def back_to_back_and_long_gaps(dut: Any) -> None:
    """Minimum-gap 1-byte frames back to back, then frames after long idle; SCK toggling while deselected
    is ignored."""
    b = Bench(dut)
    await b.start()
    rng = random.Random(SEED + 11)
    for _ in range(FRAMES):
        await b.frame(bytes([rng.randrange(256)]))
    d = b.dut
    for _ in range(12):  # SCK edges with cs_n high
        d.sck.value = 1
        d.mosi.value = 1
        await b.master.wait_clocks(4)
        d.sck.value = 0
        await b.master.wait_clocks(4)
    d.mosi.value = 0
    await b.master.wait_clocks(50)
    for _ in range(4):
        await b.frame(_rand_frame(rng))
        await b.master.wait_clocks(rng.randint(0, 30))


@cocotb.test()
async def reset_mid_frame(dut: Any) -> None:
    """``rst`` inside a frame clears the slave (and the top's counters); frames after it start from zero."""
    b = Bench(dut)
    await b.start()
    await b.frame(b"\x12\x34")
    d, m = b.dut, b.master
    d.cs_n.value = 0
    await m.wait_clocks(10)
    d.sck.value = 1
    d.mosi.value = 1
    await m.wait_clocks(4)
    d.rst.value = 1
    await m.wait_clocks(3)
    assert (_v(d.miso_oe.value), _v(d.miso.value), _v(d.rx_byte.value), _v(d.rx_valid.value)) == (0, 0, 0, 0)
    d.sck.value = 0
    d.cs_n.value = 1
    await m.wait_clocks(3)
    d.rst.value = 0
    await m.wait_clocks(10)
    b.frames_ended = 0
    await b.frame(b"\xa5\x5a\x00")


@cocotb.test()
async def transport_in_bridge_thread(dut: Any) -> None:
    """Blocking host code in a ``bridge`` thread drives frames through :class:`CocotbTransport`."""
    b = Bench(dut)
    await b.start()
    transport = CocotbTransport(b.master)
    frames = [b"\x01\x02\x03", b"\xff", b"\x10\x20\x30\x40\x50"]

    @bridge
    def host() -> list[bytes]:
        return [transport.transfer(f) for f in frames]

    clocks0 = transport.clocks
    got = await host()
    assert got == [loopback_reply(f, n)[: len(f)] for n, f in enumerate(frames)]
    assert transport.frames == 3 and transport.bytes_transferred == 9
    per_frame = [1 + CS_SETUP_CLOCKS + SCK_DIVIDER_MIN * (8 * len(f) - 1) + CS_SETUP_CLOCKS + CS_SETUP_CLOCKS
                 for f in frames]
    assert transport.clocks - clocks0 == sum(per_frame), (transport.clocks - clocks0, per_frame)

"""cocotb regression of the closed-loop core ``o1_core``, driven through SPI by the host driver.

Run by ``tests/test_core_cocotb.py`` on Icarus, Verilator and GHDL. The host side is the real
:class:`plasticore.host.driver.CoreDriver` over :class:`spi_master.CocotbTransport` (SPI mode 0, SCK = clk / 8),
running in a ``cocotb.task.bridge`` thread; the oracle is :class:`plasticore.refmodel.o1_network.OnlineO1Network`.

Environment: ``CORE_CASE`` (JSON: ``o1``, ``lif`` config fields, ``n_pre``, ``n_post``, ``lanes``, ``memory``,
``pipelined``), ``CORE_STEPS``, ``CORE_SEED``, ``CORE_TASK_TRIALS`` (0: no task test).

Tests (each starts with a reset; the memories keep their contents, every test loads its own state):

* ``identify``: ID, VERSION and every PARAM field equal the emitted configuration;
* ``closed_loop``: a random state is loaded over SPI; random input spikes with scalar and per-neuron rewards
  (including saturating ones); every timestep's output spikes (packed ``OUT_SPIKES`` and the ``OUT_FIFO``
  indices) equal the model's, every timestep's BUSY time
  equals :func:`~plasticore.hw.o1_core.core_cycles_per_timestep` of its active inputs, and at checkpoints every
  weight, eligibility, trace and membrane is read back and compared; halfway the core is reset and the state
  reloaded from the model, and the run continues; at the end eight steps of :meth:`CoreDriver.run` (the traffic
  overlapped with the steps) are compared step by step, with their BUSY times and the final state;
* ``bad_commands``: every documented bad access (unknown register, write to read-only, read of write-only,
  out-of-range addresses and a burst running off the end, state access and TICK while busy) sets its status
  bit and changes no state (the whole state is read back and compared, the next timestep is still exact);
* ``task`` (when ``CORE_TASK_TRIALS`` > 0): the association task of :mod:`plasticore.refmodel.o1_tasks` learned
  on the core from its random initial weights, output spikes bit for bit with the model's run.
"""

from __future__ import annotations

import json
import os
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.task import bridge, resume
from cocotb.triggers import FallingEdge, RisingEdge
from spi_master import CocotbTransport, SpiMaster

from plasticore.host.driver import CoreDriver
from plasticore.host.regmap import PARAM_FIELDS, Control, Reg, Status, command, syn_address
from plasticore.hw.o1_core import core_cycles_per_timestep
from plasticore.refmodel.o1_network import FixedLIFConfig, OnlineO1Network
from plasticore.refmodel.online_o1 import OnlineO1Config

CASE = json.loads(os.environ.get("CORE_CASE", "{}"))
STEPS = int(os.environ.get("CORE_STEPS", "24"))
SEED = int(os.environ.get("CORE_SEED", "1"))
TASK_TRIALS = int(os.environ.get("CORE_TASK_TRIALS", "0"))
CLOCK_NS = 10
REPORT = os.environ.get("CORE_REPORT", "")  # task: write the host loop's SPI counters here (JSON)
# task: then this many steps of the overlapped host loop (CoreDriver.run) at 10% input activity, counted too
STREAM_STEPS = int(os.environ.get("CORE_STREAM_STEPS", "20"))
TESTS = os.environ.get("CORE_TESTS", "identify,closed_loop,bad_commands,task").split(",")


class Bench:
    """Clock, reset, SPI master, driver and a BUSY monitor (the lengths of every BUSY pulse)."""

    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.o1 = OnlineO1Config(**CASE["o1"])
        self.lif = FixedLIFConfig(**CASE["lif"])
        self.n_pre, self.n_post, self.lanes = CASE["n_pre"], CASE["n_post"], CASE["lanes"]
        self.pipelined = bool(CASE.get("pipelined", True))
        self.master = SpiMaster(dut.clk, dut.sck, dut.cs_n, dut.mosi, dut.miso)
        self.driver = CoreDriver(CocotbTransport(self.master))
        self.busy_pulses: list[int] = []
        self.busy_gaps: list[int] = []  # clocks BUSY was low before each pulse (after the first)
        self._last_fall: float | None = None
        self.rng = np.random.default_rng(SEED)

    async def start(self) -> None:
        Clock(self.dut.clk, CLOCK_NS, unit="ns").start()
        self.master.idle()
        cocotb.start_soon(self._monitor())
        await self.reset()

    async def reset(self) -> None:
        self.dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        for _ in range(4):
            await RisingEdge(self.dut.clk)
        while self.dut.busy.value == 1:  # the spike banks are being cleared
            await RisingEdge(self.dut.clk)
        self.busy_pulses.clear()

    async def _monitor(self) -> None:
        """The length of every BUSY pulse in clocks (BUSY is a register: its edges follow clock edges)."""
        while True:
            await RisingEdge(self.dut.busy)
            t0 = get_sim_time("ns")
            if self._last_fall is not None:
                self.busy_gaps.append(round((t0 - self._last_fall) / CLOCK_NS))
            await FallingEdge(self.dut.busy)
            self._last_fall = get_sim_time("ns")
            self.busy_pulses.append(round((self._last_fall - t0) / CLOCK_NS))

    def cycles(self, n_active: int) -> int:
        return core_cycles_per_timestep(n_active, self.n_pre, self.n_post, self.lanes, self.pipelined)

    def random_state(self, net: OnlineO1Network) -> None:
        c, lif, r = self.o1, self.lif, self.rng
        st = net.state_dict()
        st["weight"] = r.integers(0, c.max_weight + 1, (self.n_post, self.n_pre))
        st["eligibility"] = r.integers(c.eligibility_min, c.eligibility_max + 1, (self.n_post, self.n_pre))
        st["pre_trace"] = r.integers(0, c.max_trace + 1, self.n_pre)
        st["post_trace"] = r.integers(0, c.max_trace + 1, self.n_post)
        st["membrane"] = r.integers(lif.membrane_min, lif.membrane_max + 1, self.n_post)
        net.load_state_dict(st)

    def loaded_random_network(self) -> tuple[OnlineO1Network, Any]:
        """A model with a random state and a bridge-thread function that identifies the core and loads it."""
        net = OnlineO1Network(self.o1, self.lif, self.n_pre, self.n_post, lanes=self.lanes)
        self.random_state(net)

        def load() -> CoreDriver:
            self.driver.identify()
            self.driver.load_network(net.state_dict())
            return self.driver

        return net, load

    def random_reward(self, t: int) -> Any:
        c, r = self.o1, self.rng
        lo, hi = c.reward_min, c.reward_max
        if t % 3 == 0:
            return r.integers(lo, hi + 1, self.n_post)
        if t % 5 == 4:
            return int(r.choice([lo - 5, hi + 7]))  # saturates in the core as in the model
        return int(r.integers(lo, hi + 1))


def check_state(drv: CoreDriver, net: OnlineO1Network, where: str) -> None:
    got = drv.read_network()
    want = net.state_dict()
    for key in ("weight", "eligibility", "pre_trace", "post_trace", "membrane"):
        if not np.array_equal(got[key], want[key]):
            bad = np.argwhere(got[key] != want[key])[:4].tolist()
            raise AssertionError(f"{where}: {key} differs at {bad}: core {got[key].tolist()} model "
                                 f"{want[key].tolist()}")


@cocotb.test(skip="identify" not in TESTS)
async def identify(dut: Any) -> None:
    b = Bench(dut)
    await b.start()

    @bridge
    def body() -> None:
        b.driver.flash_power_down()  # what the host sends first on the iCEBreaker: no effect on the core
        info = b.driver.identify()
        assert info["id"] == 0x504C4331 and info["version"] == 3
        b.driver.check_config(b.o1, b.lif, b.n_pre, b.n_post)
        assert info["lanes"] == b.lanes and info["pipelined_update"] == int(b.pipelined)
        assert info["spram"] == int(CASE.get("memory", "inferred") == "spram")
        assert b.driver.status() == Status(0), b.driver.status()
        # REWARD saturates any 32-bit value to the reward range (read back sign-extended)
        lo, hi = b.o1.reward_min, b.o1.reward_max
        for v in (-(1 << 31), -(1 << 31) + 1, -(2 << b.o1.reward_bits), lo - 1, lo, -1, 0, 1, hi, hi + 1,
                  2 << b.o1.reward_bits, (1 << 31) - 1):
            b.driver.write(Reg.REWARD, 0, [v & 0xFFFFFFFF])
            got = b.driver.read(Reg.REWARD)[0]
            got -= (got >> 31) << 32
            assert got == min(max(v, lo), hi), f"REWARD {v} reads back {got}, not {min(max(v, lo), hi)}"
        assert b.driver.status() == Status(0), b.driver.status()

    await body()


@cocotb.test(skip="closed_loop" not in TESTS)
async def closed_loop(dut: Any) -> None:
    b = Bench(dut)
    await b.start()
    reset = resume(b.reset)
    net, load = b.loaded_random_network()

    @bridge
    def body() -> None:
        drv = load()
        check_state(drv, net, "after load")
        spikes_seen = 0
        for t in range(STEPS):
            p = (0.0, 0.15, 0.5, 1.0)[t % 4] if t < 8 else float(b.rng.random())
            s = b.rng.random(b.n_pre) < p
            rew = b.random_reward(t)
            n_before = len(b.busy_pulses)
            z = drv.step(s, rew)  # the packed OUT_SPIKES words
            zm = net.step(s, rew)
            assert np.array_equal(z, zm), f"step {t}: core spikes {np.flatnonzero(z)} model {np.flatnonzero(zm)}"
            fifo = drv.read_outputs()  # the OUT_FIFO indices, in spike (= index) order
            assert np.array_equal(fifo, np.flatnonzero(zm)), f"step {t}: OUT_FIFO {fifo}, model {np.flatnonzero(zm)}"
            spikes_seen += int(zm.sum())
            assert len(b.busy_pulses) == n_before + 1, f"step {t}: {len(b.busy_pulses) - n_before} BUSY pulses"
            assert b.busy_pulses[-1] == b.cycles(int(s.sum())), (
                f"step {t}: BUSY for {b.busy_pulses[-1]} clocks, formula {b.cycles(int(s.sum()))} "
                f"({int(s.sum())} active inputs)")
            if t % 6 == 5 or t == STEPS - 1:
                check_state(drv, net, f"step {t}")
            if t == STEPS // 2:  # reset mid-run: the registers restart, the memories are reloaded by the host
                reset()
                net.reset_lfsr()  # the reset restarts the core's LFSRs (stochastic rounding)
                assert drv.read(Reg.STEP)[0] == 0
                drv.load_network(net.state_dict())
                check_state(drv, net, "after the reset and reload")
        assert drv.read(Reg.STEP)[0] == STEPS - STEPS // 2 - 1
        # the overlapped host loop: step t+1's spikes and reward written and step t-1's outputs read while t runs
        n_run = 8
        xs = b.rng.random((n_run, b.n_pre)) < b.rng.random((n_run, 1))
        rs = b.rng.integers(b.o1.reward_min, b.o1.reward_max + 1, n_run)
        n_before = len(b.busy_pulses)
        zs = drv.run(xs, rs)
        for t in range(n_run):
            zm = net.step(xs[t], int(rs[t]))
            spikes_seen += int(zm.sum())
            assert np.array_equal(zs[t], zm), f"run step {t}: core {np.flatnonzero(zs[t])} model {np.flatnonzero(zm)}"
        pulses = b.busy_pulses[n_before:]
        assert pulses == [b.cycles(int(x.sum())) for x in xs], f"run: BUSY pulses {pulses}"
        check_state(drv, net, "after the overlapped run")
        assert spikes_seen > 0, "the run never produced a post spike: not a closed-loop test"
        assert drv.status() == Status(0)

    await body()


@cocotb.test(skip="bad_commands" not in TESTS)
async def bad_commands(dut: Any) -> None:
    b = Bench(dut)
    await b.start()
    net, load = b.loaded_random_network()

    @bridge
    def body() -> None:
        drv = load()

        def expect(bit: Status, what: str) -> None:
            st = drv.status()
            assert st & bit and not (st & ~(bit | Status.BUSY)), f"{what}: STATUS {st!r}, expected {bit!r}"
            drv.clear_errors()
            assert drv.status() & ~Status.BUSY == Status(0), f"{what}: errors not cleared"

        # unknown register (read and write), write to read-only, read of write-only
        assert drv.read(0x7E)[0] == 0
        expect(Status.ERR_CMD, "read of an unknown register")
        drv.write(0x55, 0, [123])
        expect(Status.ERR_CMD, "write to an unknown register")
        drv.write(Reg.ID, 0, [0])
        expect(Status.ERR_CMD, "write to ID")
        drv.write(Reg.OUT_COUNT, 0, [5])
        expect(Status.ERR_CMD, "write to OUT_COUNT")
        drv.write(Reg.OUT_SPIKES, 0, [5])
        expect(Status.ERR_CMD, "write to OUT_SPIKES")
        assert drv.read(Reg.SPIKES_IN)[0] == 0
        expect(Status.ERR_CMD, "read of SPIKES_IN")
        # out-of-range addresses
        drv.write(Reg.SYN, syn_address(0, b.n_post), [0x7FFF0000])
        expect(Status.ERR_ADDR, "SYN col = n_post")
        drv.write(Reg.SYN, syn_address(b.n_pre, 0), [0x7FFF0000])
        expect(Status.ERR_ADDR, "SYN row = n_pre")
        assert drv.read(Reg.SYN, syn_address(b.n_pre, 0))[0] == 0
        expect(Status.ERR_ADDR, "SYN read row = n_pre")
        drv.write(Reg.MEMBRANE, b.n_post, [1])
        expect(Status.ERR_ADDR, "MEMBRANE address n_post")
        drv.write(Reg.PRE_TRACE, b.n_pre, [1])
        expect(Status.ERR_ADDR, "PRE_TRACE address n_pre")
        assert drv.read(Reg.PARAM, len(PARAM_FIELDS))[0] == 0
        expect(Status.ERR_ADDR, "PARAM len(PARAM_FIELDS)")
        words = -(-b.n_pre // 32)
        drv.write(Reg.SPIKES_IN, words, [0xFFFFFFFF])
        expect(Status.ERR_ADDR, "SPIKES_IN past the words")
        assert drv.read(Reg.OUT_SPIKES, -(-b.n_post // 32))[0] == 0
        expect(Status.ERR_ADDR, "OUT_SPIKES past the words")
        # a burst running off the end: the words in range are written, the rest dropped
        last = drv.read(Reg.POST_TRACE, b.n_post - 1)[0]
        drv.write(Reg.POST_TRACE, b.n_post - 1, [last, 1, 2])
        expect(Status.ERR_ADDR, "POST_TRACE burst off the end")
        # reading exactly up to the end fetches ahead past it but sets no error
        drv.read(Reg.POST_TRACE, 0, b.n_post)
        drv.read(Reg.SYN, syn_address(0, 0), b.n_pre * b.n_post)
        assert drv.status() == Status(0), "reading up to the end set an error"
        check_state(drv, net, "after the bad accesses")

    await body()


@cocotb.test(skip=TASK_TRIALS <= 0 or "task" not in TESTS)
async def task(dut: Any) -> None:
    from plasticore.refmodel.o1_tasks import run_task, small_task_setup

    b = Bench(dut)
    await b.start()
    setup = small_task_setup(SEED)
    n_post = setup.task.n_post
    assert n_post is not None
    model = OnlineO1Network(setup.o1_config, setup.lif_config, setup.task.n_pre, n_post, setup.initial_weights)
    core_net = OnlineO1Network(setup.o1_config, setup.lif_config, setup.task.n_pre, n_post, setup.initial_weights)

    @bridge
    def body() -> None:
        drv = b.driver
        drv.identify()
        drv.check_config(setup.o1_config, setup.lif_config, setup.task.n_pre, n_post)
        drv.load_network(core_net.state_dict())
        m = b.master
        c0, by0, f0, p0, t0 = m.clocks, m.bytes_transferred, m.frames, len(b.busy_pulses), get_sim_time("ns")
        res_core = run_task(drv, setup.task, TASK_TRIALS)  # the driver is a stepper

        def counters() -> dict[str, int]:  # the measured cost of a host loop (tools/core_throughput_benchmark.py)
            return {"steps": len(b.busy_pulses) - p0, "spi_clocks": m.clocks - c0, "bytes": m.bytes_transferred - by0,
                    "frames": m.frames - f0, "busy_clocks": sum(b.busy_pulses[p0:]),
                    "sim_clocks": round((get_sim_time("ns") - t0) / CLOCK_NS)}

        report: dict[str, Any] = counters()
        res_model = run_task(model, setup.task, TASK_TRIALS)
        assert np.array_equal(res_core.post_spikes, res_model.post_spikes), "the core's run differs from the model's"
        assert np.array_equal(res_core.correct, res_model.correct)
        check_state(drv, model, "after the task")
        if STREAM_STEPS > 0:  # the overlapped host loop on the trained core: the same spikes as the model
            rng = np.random.default_rng(SEED)
            xs = rng.random((STREAM_STEPS, setup.task.n_pre)) < 0.1
            rs = rng.integers(-3, 4, STREAM_STEPS)
            c0, by0, f0, p0, t0 = m.clocks, m.bytes_transferred, m.frames, len(b.busy_pulses), get_sim_time("ns")
            zs = drv.run(xs, rs)
            report["stream"] = counters()
            for t in range(STREAM_STEPS):
                assert np.array_equal(zs[t], model.step(xs[t], int(rs[t]))), f"overlapped run: step {t} differs"
            check_state(drv, model, "after the overlapped run")
        if REPORT:
            with open(REPORT, "w") as f:
                json.dump(report, f)
        if TASK_TRIALS >= 200:  # learned on the chip: >= 90% correct over trials 100..199 (the model: 0.98)
            acc = float(np.mean(res_core.correct[100:200]))
            assert acc >= 0.9, f"the core answered {acc:.2f} of trials 100..199 correctly, not >= 0.9"
        dut._log.info("task: %d trials, accuracy of the last 20: %.2f", TASK_TRIALS,
                      float(np.mean(res_core.correct[-20:])))

    await body()


@cocotb.test(skip="busy_accesses" not in TESTS)
async def busy_accesses(dut: Any) -> None:
    """State accesses and TICK while a timestep runs: rejected (ERR_BUSY), nothing changed, one timestep; a
    TICK_NEXT while busy is queued and starts one clock after the step ends, a second one is ERR_BUSY."""
    b = Bench(dut)
    # a write frame is issued 9 bytes (576 clocks at SCK = clk / 8) after it starts: the timestep must outlast it
    assert b.cycles(b.n_pre) >= 700, f"busy_accesses needs a timestep of >= 700 clocks, not {b.cycles(b.n_pre)}"
    await b.start()
    net, load = b.loaded_random_network()
    tick = bytes([command(Reg.CONTROL, True)]) + bytes(4) + (1).to_bytes(4, "big")

    @bridge
    def body() -> None:
        drv = load()
        everything = np.ones(b.n_pre, dtype=bool)  # the longest timestep
        for t, what in enumerate(("SYN write", "MEMBRANE read", "TICK", "REWARD_VEC write")):
            drv.write_spikes(everything)
            drv.set_reward(3 - 2 * t)
            drv.frame(tick)
            if what == "SYN write":
                drv.write(Reg.SYN, syn_address(0, 0), [0])
            elif what == "MEMBRANE read":
                assert drv.read(Reg.MEMBRANE, 0)[0] == 0, "a rejected read returned data"
            elif what == "TICK":
                drv.frame(tick)
            else:
                drv.write(Reg.REWARD_VEC, 0, [1])
            st = drv.status()  # (the timestep may have ended by now: ERR_BUSY is sticky)
            assert st & Status.ERR_BUSY and not st & (Status.ERR_CMD | Status.ERR_ADDR), f"{what}: STATUS {st!r}"
            drv.wait_idle()
            assert drv.read(Reg.STEP)[0] == t + 1, f"{what}: not exactly one timestep"
            drv.clear_errors()
            assert drv.status() == Status(0)
            zm = net.step(everything, 3 - 2 * t)
            z = np.zeros(b.n_post, dtype=bool)
            z[drv.read_outputs()] = True
            assert np.array_equal(z, zm), f"{what}: the timestep with a rejected access differs from the model"
            assert b.busy_pulses[-1] == b.cycles(b.n_pre), f"{what}: BUSY for {b.busy_pulses[-1]} clocks"
        # one frame: TICK, then TICK_NEXT (queued: the step runs), then TICK_NEXT again (one deep: ERR_BUSY)
        drv.write_spikes(everything)
        drv.set_reward(1)
        n0, steps0 = len(b.busy_pulses), drv.read(Reg.STEP)[0]
        drv.frame(bytes([command(Reg.CONTROL, True)]) + bytes(4)
                  + b"".join(int(c).to_bytes(4, "big") for c in (Control.TICK, Control.TICK_NEXT, Control.TICK_NEXT)))
        st = drv.poll()
        assert st & Status.BUSY and st & Status.QUEUED and st & Status.ERR_BUSY, f"queued: STATUS 0x{st:02x}"
        while drv.read(Reg.STEP)[0] != steps0 + 2:
            pass
        drv.wait_idle()
        assert drv.read(Reg.STEP)[0] == steps0 + 2, "TICK, TICK_NEXT, TICK_NEXT: not exactly two timesteps"
        assert drv.status() == Status.ERR_BUSY
        drv.clear_errors()
        net.step(everything, 1)
        zm = net.step(np.zeros(b.n_pre, dtype=bool), 1)  # the queued step: an empty input, the same REWARD
        assert np.array_equal(drv.read_out_spikes(), zm), "the queued timestep differs from the model"
        assert b.busy_pulses[n0:] == [b.cycles(b.n_pre), b.cycles(0)], f"queued: BUSY pulses {b.busy_pulses[n0:]}"
        assert b.busy_gaps[-1] == 1, f"the queued step started {b.busy_gaps[-1]} clocks after the running one ended"
        check_state(drv, net, "after the busy accesses")

    await body()

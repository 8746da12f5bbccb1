"""cocotb regression of a generated lane (``o1_lane`` or ``o1_lane_pipelined``) against :class:`OnlineO1Synapse`.

Environment (set by ``tests/test_lane_cocotb.py``):
``O1_CONFIG`` JSON of the five OnlineO1Config fields, ``O1_STEPS`` random steps, ``O1_SEED``,
``O1_DELAY`` the lane's pipeline delay (0 for ``o1_lane``; see ``tests/lane_oracle.py``).

After every clock edge all four outputs are compared with the model (:class:`lane_oracle.LaneOracle`).
Stimulus runs in phases that
drive the eligibility into both limits (dense pre-then-post pairing, dense post-then-pre), weights into
both limits (extreme rewards of either sign), quiet decay, and fully random traffic; resets, loads and
idle cycles (``step_en`` low) are crossed in. The test also asserts that the limits were reached.
"""

from __future__ import annotations

import json
import os
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import Timer
from lane_oracle import LaneOracle

from plasticore.refmodel.online_o1 import OnlineO1Config


def _config() -> OnlineO1Config:
    return OnlineO1Config(**json.loads(os.environ["O1_CONFIG"]))


def _unsigned(value: Any) -> int:
    """A 1-bit port reads back as ``Logic`` (no ``to_unsigned``), wider ones as ``LogicArray``."""
    return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)


def _read(dut: Any) -> tuple[int, int, int, int]:
    return (
        _unsigned(dut.weight.value),
        _unsigned(dut.pre_trace.value),
        _unsigned(dut.post_trace.value),
        dut.eligibility.value.to_signed(),
    )


class Driver:
    def __init__(self, dut: Any, config: OnlineO1Config) -> None:
        self.dut, self.c = dut, config
        self.oracle = LaneOracle(config, int(os.environ.get("O1_DELAY", "0")))
        self.edges = 0
        self.seen: set[str] = set()

    async def edge(self, *, rst: bool = False, load: int | None = None, step: bool = False,
                   pre: bool = False, post: bool = False, reward: int = 0) -> None:
        d = self.dut
        d.rst.value = int(rst)
        d.load_en.value = int(load is not None)
        d.load_weight.value = 0 if load is None else load
        d.step_en.value = int(step)
        d.pre_spike.value = int(pre)
        d.post_spike.value = int(post)
        d.reward.value = reward & ((1 << self.c.reward_bits) - 1)  # two's-complement pattern (1-bit ports are Logic)
        await Timer(5, unit="ns")
        d.clk.value = 1
        await Timer(5, unit="ns")
        want = tuple(self.oracle.edge(rst=rst, load=load, step=step, pre=pre, post=post, reward=reward))
        got = _read(d)
        assert got == want, (
            f"edge {self.edges}: rst={rst} load={load} step={step} pre={pre} post={post} r={reward}: "
            f"hardware (w, pre, post, e) = {got}, model = {want}"
        )
        c = self.c
        for name, hit in (("e_max", want[3] == c.eligibility_max), ("e_min", want[3] == c.eligibility_min),
                          ("w_max", want[0] == c.max_weight), ("w_min", want[0] == 0 and self.edges > 0)):
            if hit:
                self.seen.add(name)
        self.edges += 1
        d.clk.value = 0


@cocotb.test()
async def directed(dut: Any) -> None:
    """Hand-written sequences: reset, load, pairing both ways, idle cycles, reset mid-stream."""
    c = _config()
    drv = Driver(dut, c)
    dut.clk.value = 0
    await drv.edge(rst=True)
    await drv.edge(load=c.max_weight // 2)
    await drv.edge(step=True, pre=True)  # pre trace to M
    await drv.edge(step=True, post=True, reward=c.reward_max)  # pre-then-post: potentiate
    await drv.edge()  # idle: state holds
    await drv.edge(step=True, pre=True, reward=c.reward_min)  # post-then-pre: depress
    await drv.edge(step=True, pre=True, post=True, reward=c.reward_max)  # coincident
    await drv.edge(rst=True, step=True, pre=True)  # reset wins over step
    await drv.edge(load=c.max_weight, step=True, pre=True)  # load wins over step
    for _ in range(3 * c.trace_bits):
        await drv.edge(step=True)  # traces decay
    await drv.edge(load=0)


@cocotb.test()
async def random_biased(dut: Any) -> None:
    """Random phases biased toward every saturation limit, with resets, loads and idle cycles."""
    c = _config()
    n_steps = int(os.environ.get("O1_STEPS", "2000"))
    rng = np.random.default_rng(int(os.environ.get("O1_SEED", "1")))
    drv = Driver(dut, c)
    dut.clk.value = 0
    await drv.edge(rst=True)
    done = 0
    while done < n_steps:
        phase = rng.integers(0, 5)
        length = int(rng.integers(4, 200))
        sign = 1 if rng.random() < 0.5 else -1
        period = int(rng.integers(3, 12))
        for k in range(length):
            u = rng.random()
            if u < 0.004:
                await drv.edge(rst=True)
                continue
            if u < 0.012:
                await drv.edge(load=int(rng.integers(0, c.max_weight + 1)))
                continue
            if u < 0.05:
                await drv.edge()  # idle cycle
                continue
            r_ext = c.reward_max if sign > 0 else c.reward_min
            if phase == 0:  # pre then post, then a gap for the traces to decay: eligibility up
                pre, post, r = k % period == 0, k % period == 1, r_ext
            elif phase == 1:  # post then pre, then a gap: eligibility down
                pre, post, r = k % period == 1, k % period == 0, r_ext
            elif phase == 2:  # dense random with extreme rewards
                pre, post = bool(rng.random() < 0.7), bool(rng.random() < 0.7)
                r = r_ext if rng.random() < 0.8 else int(rng.integers(c.reward_min, c.reward_max + 1))
            elif phase == 3:  # quiet: decay toward zero
                pre, post, r = False, False, int(rng.integers(c.reward_min, c.reward_max + 1))
            else:  # uniform random
                pre, post = bool(rng.random() < 0.3), bool(rng.random() < 0.3)
                r = int(rng.integers(c.reward_min, c.reward_max + 1))
            await drv.edge(step=True, pre=pre, post=post, reward=r)
            done += 1
    missing = {"e_max", "e_min", "w_max", "w_min"} - drv.seen
    assert not missing, f"stimulus never reached {sorted(missing)} in {n_steps} steps"

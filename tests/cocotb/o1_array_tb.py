"""cocotb regression of the generated ``o1_array`` against :class:`OnlineO1Layer` (the oracle).

Environment (set by ``tests/test_array_cocotb.py``): ``O1_CONFIG`` JSON of the five OnlineO1Config fields,
``O1_SHAPE`` JSON ``[n_pre, n_post, lanes]``, ``O1_CYCLES`` the expected cycles per timestep,
``O1_STEPS`` timesteps, ``O1_SEED``, ``O1_P_SPIKE`` spike
probability, ``O1_REWARD`` reward mode (``uniform``, ``extreme``: mostly the two limits, ``scalar``: one value
for every post neuron; ``extreme`` also asserts that weights and eligibility reached both limits unless
``O1_LIMITS=0``, used by the few-timestep runs of the largest arrays).

The state (random weights, eligibilities and traces) is written through the host port and read back; then
every timestep loads random pre/post spikes and per-post rewards, raises ``start`` (with a write, which must
be dropped; then pokes ``start`` and random host writes while busy, which must be ignored), checks
``busy``/``done`` and the exact cycle count, and reads back and compares every weight, eligibility, pre
trace and post trace with the model.
"""

from __future__ import annotations

import json
import os
from typing import Any

import cocotb
import numpy as np
from array_oracle import DRIVEN, check_array_state, new_limit_counts, rewards_for, seeded_layer
from cocotb.triggers import Timer

from plasticore.refmodel.online_o1 import OnlineO1Config

WRITES = ("wr_syn", "wr_pre_trace", "wr_post_trace", "wr_pre_spike", "wr_post_spike")
READ_LATENCY = 3


def _int(value: Any) -> int:
    return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)


class Host:
    """Drives the host port one clock at a time (inputs while the clock is low, outputs read after the edge)."""

    def __init__(self, dut: Any, c: OnlineO1Config) -> None:
        self.dut, self.c = dut, c
        self.masks = {"wr_elig": (1 << c.trace_bits) - 1, "wr_reward": (1 << c.reward_bits) - 1}
        self.current: dict[str, int] = {}
        self.handles = {name: getattr(dut, name) for name in DRIVEN}

    async def tick(self, **kw: int) -> None:
        for name in DRIVEN:
            v = int(kw.get(name, 0)) & self.masks.get(name, -1)
            if self.current.get(name) != v:
                self.handles[name].value = v
                self.current[name] = v
        await Timer(5, unit="ns")
        self.dut.clk.value = 1
        await Timer(5, unit="ns")
        self.dut.clk.value = 0

    async def read_all(self, n_pre: int, n_post: int) -> dict[str, np.ndarray]:
        d = self.dut
        addrs = [(i, j) for i in range(n_pre) for j in range(n_post)]
        got = {"w": np.zeros((n_pre, n_post), np.int64), "e": np.zeros((n_pre, n_post), np.int64),
               "pre": np.zeros(n_pre, np.int64), "post": np.zeros(n_post, np.int64)}
        lag = READ_LATENCY - 1
        for t in range(len(addrs) + lag):
            if t < len(addrs):
                await self.tick(row=addrs[t][0], col=addrs[t][1])
            else:
                await self.tick()
            if t >= lag:
                i, j = addrs[t - lag]
                got["w"][i, j] = _int(d.rd_weight.value)
                got["e"][i, j] = d.rd_elig.value.to_signed()
                got["pre"][i] = _int(d.rd_pre_trace.value)
                got["post"][j] = _int(d.rd_post_trace.value)
        return got


@cocotb.test()
async def array_matches_layer(dut: Any) -> None:
    c = OnlineO1Config(**json.loads(os.environ["O1_CONFIG"]))
    n_pre, n_post, lanes = json.loads(os.environ["O1_SHAPE"])
    steps = int(os.environ.get("O1_STEPS", "100"))
    rng = np.random.default_rng(int(os.environ.get("O1_SEED", "1")))
    p_spike = float(os.environ.get("O1_P_SPIKE", "0.5"))
    mode = os.environ.get("O1_REWARD", "uniform")
    expected_cycles = int(os.environ["O1_CYCLES"])  # the emitter's cycles_per_timestep
    assert expected_cycles in (n_pre * -(-n_post // lanes) + 4, n_pre * -(-n_post // lanes) + 8)

    model, st = seeded_layer(rng, c, n_pre, n_post, lanes)  # st in the hardware's (row, col) layout
    seen = new_limit_counts()

    host = Host(dut, c)
    dut.clk.value = 0
    dut.rst.value = 1
    await host.tick()
    await host.tick()
    dut.rst.value = 0
    for i in range(n_pre):
        for j in range(n_post):
            await host.tick(row=i, col=j, wr_syn=1, wr_weight=int(st["weight"][i, j]),
                            wr_elig=int(st["eligibility"][i, j]))
    for i in range(n_pre):
        await host.tick(row=i, wr_pre_trace=1, wr_trace=int(st["pre_trace"][i]))
    for j in range(n_post):
        await host.tick(col=j, wr_post_trace=1, wr_trace=int(st["post_trace"][j]))

    async def compare(step: int) -> None:
        got = await host.read_all(n_pre, n_post)
        check_array_state(got, model, c, seen, f"timestep {step}")

    await compare(-1)
    for step in range(steps):
        pre = rng.random(n_pre) < p_spike
        post = rng.random(n_post) < p_spike
        rew = rewards_for(rng, c, n_post, mode)
        for i in range(n_pre):
            await host.tick(row=i, wr_pre_spike=1, wr_spike=int(pre[i]))
        for j in range(n_post):
            await host.tick(col=j, wr_post_spike=1, wr_spike=int(post[j]), wr_reward=int(rew[j]))
            if rng.random() < 0.05:
                await host.tick(col=j)  # idle clock
        # a write presented together with start is dropped too
        await host.tick(start=1, row=0, col=0, wr_syn=1, wr_weight=int(rng.integers(0, c.max_weight + 1)))
        edges = 1
        while True:
            busy, done = _int(dut.busy.value), _int(dut.done.value)
            assert busy or done, f"timestep {step}: busy fell before done after {edges} edges"
            if done:
                assert not busy, f"timestep {step}: busy and done both high"
                break
            # a start, and host writes of random data, while busy are ignored
            poke = {name: int(rng.random() < 0.3) for name in WRITES}
            await host.tick(start=int(rng.random() < 0.2), row=int(rng.integers(0, n_pre)),
                            col=int(rng.integers(0, n_post)), wr_weight=int(rng.integers(0, c.max_weight + 1)),
                            wr_elig=int(rng.integers(c.eligibility_min, c.eligibility_max + 1)),
                            wr_trace=int(rng.integers(0, c.max_trace + 1)), wr_spike=int(rng.random() < 0.5),
                            wr_reward=int(rng.integers(c.reward_min, c.reward_max + 1)), **poke)
            edges += 1
            assert edges <= 4 * expected_cycles, f"timestep {step}: no done after {edges} edges"
        assert edges == expected_cycles, f"timestep {step}: {edges} cycles, expected {expected_cycles}"
        model.step(pre, post, rew)
        await compare(step)
    if mode == "extreme" and os.environ.get("O1_LIMITS", "1") != "0":
        assert min(seen.values()) > 0, f"stimulus did not reach every limit: {seen}"
    dut._log.info(f"{steps} timesteps of {n_pre}x{n_post}, {lanes} lanes: every state field matched; limits {seen}")

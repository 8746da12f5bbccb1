"""cocotb regression of the ``o1_array`` host-port contract (the ``Host rules`` of ``hw/o1_array.py``).

Run by ``tests/test_array_host_port.py`` on Icarus, Verilator and GHDL. The toplevel is ``o1_array`` itself
or, with ``O1_TIED`` naming ``row`` and/or ``col``, a wrapper ``o1_array_tied`` that ties those inputs to the
constant 0 from time 0 (the only legal address of an ``n_pre = 1`` or ``n_post = 1`` array): in an
event-driven simulator a combinational block reading only such an input runs only if the emitted Verilog
makes it run at time 0.

Environment: ``O1_CONFIG`` (JSON of the config fields), ``O1_SHAPE`` (``[n_pre, n_post, lanes]``),
``O1_CYCLES`` (cycles per timestep), ``O1_TIED`` (comma list, may be empty), ``O1_STEPS``, ``O1_SEED``.

Tests (each starts with a reset; the RAMs keep their contents across tests, the model is reloaded):

* ``tied_inputs_state_and_timesteps``: write a random state, run timesteps with random spikes and rewards,
  compare every weight, eligibility and trace with ``OnlineO1Layer`` after each one;
* ``read_latency``: the address sampled by edge ``n`` shows on ``rd_*`` after edge ``n + 2``, not after
  ``n + 1``, and stays until edge ``n + 3``;
* ``read_during_write``: a read presented with a write of the same field returns the written value;
* ``strobes_and_unused_address``: all five write strobes in one clock each write their own memory, with
  random values on the address a strobe does not use, and nothing else changes.
"""

from __future__ import annotations

import json
import os
from typing import Any

import cocotb
import numpy as np
from array_oracle import DRIVEN, check_array_state, new_limit_counts, rewards_for, seeded_layer
from cocotb.triggers import Timer

from plasticore.refmodel.online_o1 import OnlineO1Config, OnlineO1Layer

READ_LATENCY = 3  # edges from the one sampling row/col to the one after which rd_* show the values, both in


def _int(value: Any) -> int:
    return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)


class Setup:
    """The case from the environment and a host driver for its toplevel."""

    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.c = OnlineO1Config(**json.loads(os.environ["O1_CONFIG"]))
        self.n_pre, self.n_post, self.lanes = json.loads(os.environ["O1_SHAPE"])
        self.cycles = int(os.environ["O1_CYCLES"])
        self.tied = {t for t in os.environ.get("O1_TIED", "").split(",") if t}
        self.rng = np.random.default_rng(int(os.environ.get("O1_SEED", "1")))
        self.steps = int(os.environ.get("O1_STEPS", "20"))
        c = self.c
        self.masks = {"wr_elig": (1 << c.trace_bits) - 1, "wr_reward": (1 << c.reward_bits) - 1}
        self.handles = {n: getattr(dut, n) for n in DRIVEN if n not in self.tied}
        self.current: dict[str, int] = {}

    async def tick(self, **kw: int) -> None:
        """One clock: inputs while the clock is low (0 unless given), then the rising edge."""
        for name, handle in self.handles.items():
            v = int(kw.get(name, 0)) & self.masks.get(name, -1)
            if self.current.get(name) != v:
                handle.value = v
                self.current[name] = v
        for name in self.tied:
            assert int(kw.get(name, 0)) == 0, f"{name} is tied to 0 in this case"
        await Timer(5, unit="ns")
        self.dut.clk.value = 1
        await Timer(5, unit="ns")
        self.dut.clk.value = 0

    async def reset(self) -> None:
        self.dut.clk.value = 0
        self.dut.rst.value = 1
        await self.tick()
        await self.tick()
        self.dut.rst.value = 0

    def read(self) -> dict[str, int]:
        d = self.dut
        return {"w": _int(d.rd_weight.value), "e": d.rd_elig.value.to_signed(), "pre": _int(d.rd_pre_trace.value),
                "post": _int(d.rd_post_trace.value)}

    async def read_all(self) -> dict[str, np.ndarray]:
        addrs = [(i, j) for i in range(self.n_pre) for j in range(self.n_post)]
        got = {"w": np.zeros((self.n_pre, self.n_post), np.int64), "e": np.zeros((self.n_pre, self.n_post), np.int64),
               "pre": np.zeros(self.n_pre, np.int64), "post": np.zeros(self.n_post, np.int64)}
        lag = READ_LATENCY - 1
        for t in range(len(addrs) + lag):
            await (self.tick(row=addrs[t][0], col=addrs[t][1]) if t < len(addrs) else self.tick())
            if t >= lag:
                i, j = addrs[t - lag]
                r = self.read()
                got["w"][i, j], got["e"][i, j], got["pre"][i], got["post"][j] = r["w"], r["e"], r["pre"], r["post"]
        return got

    async def load(self) -> tuple[OnlineO1Layer, dict[str, np.ndarray]]:
        """Write a random state through the host port; return the model holding the same state."""
        model, st = seeded_layer(self.rng, self.c, self.n_pre, self.n_post)
        for i in range(self.n_pre):
            for j in range(self.n_post):
                await self.tick(row=i, col=j, wr_syn=1, wr_weight=int(st["weight"][i, j]),
                                wr_elig=int(st["eligibility"][i, j]))
        for i in range(self.n_pre):
            await self.tick(row=i, wr_pre_trace=1, wr_trace=int(st["pre_trace"][i]))
        for j in range(self.n_post):
            await self.tick(col=j, wr_post_trace=1, wr_trace=int(st["post_trace"][j]))
        return model, st

    async def timestep(self, model: OnlineO1Layer, pre: np.ndarray, post: np.ndarray, rew: np.ndarray,
                       load: bool = True) -> None:
        """Load spikes and rewards (unless ``load`` is false: they are in the RAMs already), run one timestep
        with its exact cycle count, step the model."""
        for i in range(self.n_pre if load else 0):
            await self.tick(row=i, wr_pre_spike=1, wr_spike=int(pre[i]))
        for j in range(self.n_post if load else 0):
            await self.tick(col=j, wr_post_spike=1, wr_spike=int(post[j]), wr_reward=int(rew[j]))
        await self.tick(start=1)
        edges = 1
        while not _int(self.dut.done.value):
            assert _int(self.dut.busy.value), f"busy fell before done after {edges} edges"
            await self.tick()
            edges += 1
            assert edges <= 2 * self.cycles, f"no done after {edges} edges"
        assert edges == self.cycles, f"{edges} cycles per timestep, expected {self.cycles}"
        model.step(pre, post, rew)

    def address(self) -> tuple[int, int]:
        """A random legal (row, col) (0 where tied)."""
        i = 0 if "row" in self.tied else int(self.rng.integers(0, self.n_pre))
        j = 0 if "col" in self.tied else int(self.rng.integers(0, self.n_post))
        return i, j


@cocotb.test()
async def tied_inputs_state_and_timesteps(dut: Any) -> None:
    s = Setup(dut)
    await s.reset()
    model, _ = await s.load()
    seen = new_limit_counts()
    check_array_state(await s.read_all(), model, s.c, seen, "after loading")
    for step in range(s.steps):
        pre, post = s.rng.random(s.n_pre) < 0.6, s.rng.random(s.n_post) < 0.6
        await s.timestep(model, pre, post, rewards_for(s.rng, s.c, s.n_post, "extreme"))
        check_array_state(await s.read_all(), model, s.c, seen, f"timestep {step}")


@cocotb.test()
async def read_latency(dut: Any) -> None:
    s = Setup(dut)
    if s.n_pre * s.n_post < 2:
        await s.reset()
        return  # one address: nothing to tell apart (the other cases pin the latency)
    await s.reset()
    _, st = await s.load()
    addrs = [s.address() for _ in range(40)]
    history: list[dict[str, int]] = []
    for n, (i, j) in enumerate(addrs):
        await s.tick(row=i, col=j)
        history.append(s.read())
        if n >= READ_LATENCY - 1:  # after edge n the output shows the address sampled by edge n - 2
            a, b = addrs[n - (READ_LATENCY - 1)]
            want = {"w": int(st["weight"][a, b]), "e": int(st["eligibility"][a, b]), "pre": int(st["pre_trace"][a]),
                    "post": int(st["post_trace"][b])}
            assert history[-1] == want, f"edge {n}: rd_* {history[-1]} != address {(a, b)} {want}"
    # the equalities above pin the latency only where consecutive reads differ: make sure they did
    changed = sum(history[n] != history[n - 1] for n in range(READ_LATENCY, len(history)))
    assert changed >= 10, f"only {changed} of {len(history)} reads differed from the one before"


@cocotb.test()
async def read_during_write(dut: Any) -> None:
    s = Setup(dut)
    await s.reset()
    _, st = await s.load()
    c = s.c
    for _ in range(12):
        i, j = s.address()
        w, e = int(s.rng.integers(0, c.max_weight + 1)), int(s.rng.integers(c.eligibility_min, c.eligibility_max + 1))
        field = str(s.rng.choice(["syn", "pre", "post"]))
        t = int(s.rng.integers(0, c.max_trace + 1))
        await s.tick(row=i, col=j, wr_syn=int(field == "syn"), wr_pre_trace=int(field == "pre"),
                     wr_post_trace=int(field == "post"), wr_weight=w, wr_elig=e, wr_trace=t)
        for _ in range(READ_LATENCY - 1):
            await s.tick(row=i, col=j)
        if field == "syn":
            st["weight"][i, j], st["eligibility"][i, j] = w, e
        elif field == "pre":
            st["pre_trace"][i] = t
        else:
            st["post_trace"][j] = t
        want = {"w": int(st["weight"][i, j]), "e": int(st["eligibility"][i, j]), "pre": int(st["pre_trace"][i]),
                "post": int(st["post_trace"][j])}
        got = s.read()
        assert got == want, f"read during a write of {field} at {(i, j)}: {got} != {want}"


@cocotb.test()
async def strobes_and_unused_address(dut: Any) -> None:
    s = Setup(dut)
    await s.reset()
    model, st = await s.load()
    c = s.c
    state: dict[str, Any] = {"config": c.as_dict(), "weight": st["weight"].T.copy(),
                             "eligibility": st["eligibility"].T.copy(), "pre_trace": st["pre_trace"].copy(),
                             "post_trace": st["post_trace"].copy()}
    pre = s.rng.random(s.n_pre) < 0.5
    post = s.rng.random(s.n_post) < 0.5
    rew = rewards_for(s.rng, c, s.n_post, "uniform")
    for i in range(s.n_pre):
        await s.tick(row=i, wr_pre_spike=1, wr_spike=int(pre[i]))
    for j in range(s.n_post):
        await s.tick(col=j, wr_post_spike=1, wr_spike=int(post[j]), wr_reward=int(rew[j]))
    for _ in range(6):
        # a trace-only write with a random value on the address it does not use
        i, j = s.address()
        t = int(s.rng.integers(0, c.max_trace + 1))
        if s.rng.random() < 0.5:
            await s.tick(row=i, col=s.address()[1], wr_pre_trace=1, wr_trace=t)
            state["pre_trace"][i] = t
        else:
            await s.tick(row=s.address()[0], col=j, wr_post_trace=1, wr_trace=t)
            state["post_trace"][j] = t
        # all five strobes in one clock
        i, j = s.address()
        w, e = int(s.rng.integers(0, c.max_weight + 1)), int(s.rng.integers(c.eligibility_min, c.eligibility_max + 1))
        t, spike = int(s.rng.integers(0, c.max_trace + 1)), int(s.rng.random() < 0.5)
        r = int(s.rng.integers(c.reward_min, c.reward_max + 1))
        await s.tick(row=i, col=j, wr_syn=1, wr_pre_trace=1, wr_post_trace=1, wr_pre_spike=1, wr_post_spike=1,
                     wr_weight=w, wr_elig=e, wr_trace=t, wr_spike=spike, wr_reward=r)
        state["weight"][j, i], state["eligibility"][j, i] = w, e
        state["pre_trace"][i] = state["post_trace"][j] = t
        pre[i], post[j], rew[j] = bool(spike), bool(spike), r
    model.load_state_dict(state)
    seen = new_limit_counts()
    check_array_state(await s.read_all(), model, c, seen, "after the strobes")
    # the spikes and rewards written with the strobes (not rewritten here) act in the next timestep
    await s.timestep(model, pre, post, rew, load=False)
    check_array_state(await s.read_all(), model, c, seen, "after a timestep")

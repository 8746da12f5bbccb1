"""The MyHDL array, simulated by MyHDL itself, against ``OnlineO1Layer``: every weight, eligibility and trace
after every timestep, the exact cycles per timestep, and the host port (state initialisation and read-back)."""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import numpy as np
import pytest

pytest.importorskip("myhdl")
from array_oracle import DRIVEN, check_array_state, new_limit_counts, rewards_for, seeded_layer
from myhdl import Simulation, StopSimulation, always, delay, instance

from plasticore.hw.o1_array import READ_LATENCY, array_port_signals, cycles_per_timestep, o1_array
from plasticore.refmodel.online_o1 import OnlineO1Config

LONG = os.environ.get("PLASTICORE_LONG", "") not in ("", "0")

DEFAULT = OnlineO1Config()
SMALL = OnlineO1Config(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3, trace_decay_shift=2)
TINY = OnlineO1Config(weight_bits=3, trace_bits=3, reward_bits=2, learning_shift=0, trace_decay_shift=0)
ODD = OnlineO1Config(weight_bits=5, trace_bits=4, reward_bits=3, learning_shift=1, trace_decay_shift=1)
STOCH = OnlineO1Config(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3, trace_decay_shift=2,
                       rounding="stochastic", lfsr_seed=11)
STOCH_WIDE = OnlineO1Config(rounding="stochastic", lfsr_seed=2**32 - 1)
NEAREST = OnlineO1Config(weight_bits=5, trace_bits=4, reward_bits=3, learning_shift=1, trace_decay_shift=1,
                         rounding="nearest")

WRITES = ("wr_syn", "wr_pre_trace", "wr_post_trace", "wr_pre_spike", "wr_post_spike")

# (config, n_pre, n_post, lanes, memory[-pipelined], steps, p_spike, reward mode)
CASES = [
    (DEFAULT, 5, 7, 1, "inferred", 60, 0.3, "uniform"),
    (DEFAULT, 5, 7, 3, "inferred", 60, 0.9, "extreme"),
    (SMALL, 3, 13, 2, "inferred", 80, 0.5, "extreme"),
    (SMALL, 4, 4, 4, "inferred", 80, 0.3, "scalar"),
    (TINY, 2, 3, 2, "inferred", 150, 0.7, "extreme"),
    (ODD, 1, 5, 3, "inferred", 100, 0.5, "uniform"),
    (ODD, 6, 1, 1, "inferred", 80, 0.5, "extreme"),
    (DEFAULT, 3, 13, 2, "spram", 60, 0.9, "extreme"),
    (SMALL, 5, 7, 3, "spram", 80, 0.5, "uniform"),
    (TINY, 3, 2, 1, "spram", 100, 0.7, "extreme"),
    (DEFAULT, 5, 7, 3, "inferred-pipelined", 60, 0.9, "extreme"),
    (SMALL, 3, 13, 2, "spram-pipelined", 80, 0.5, "uniform"),
    (ODD, 2, 3, 1, "spram-pipelined", 100, 0.6, "extreme"),
    # rounding: the lanes' LFSRs draw per schedule item (padding included: 13 columns on 2 and 3 lanes)
    (STOCH, 3, 13, 2, "inferred", 60, 0.5, "uniform"),
    (STOCH, 4, 5, 3, "spram-pipelined", 60, 0.5, "extreme"),
    (STOCH_WIDE, 5, 7, 3, "inferred-pipelined", 40, 0.9, "extreme"),
    (NEAREST, 3, 13, 3, "inferred", 60, 0.5, "uniform"),
    (NEAREST, 5, 3, 2, "inferred-pipelined", 60, 0.8, "extreme"),
]


def run_array(c: OnlineO1Config, n_pre: int, n_post: int, lanes: int, memory: str, steps: int, p_spike: float,
              mode: str, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    s = array_port_signals(c, n_pre, n_post)
    mem, _, piped = memory.partition("-")
    dut = o1_array(**s, config=c, n_pre=n_pre, n_post=n_post, lanes=lanes, memory=mem,
                   pipelined_update=bool(piped))
    # random initial state; st in the hardware's (row, col) layout
    model, st = seeded_layer(rng, c, n_pre, n_post, lanes)
    clk = s["clk"]
    stats: dict[str, Any] = {"steps": 0, "cycles": set(), **new_limit_counts()}

    @always(delay(5))
    def clock() -> None:
        clk.next = not clk

    def tick(**kw: int) -> Generator[Any, None, None]:
        for name in DRIVEN:
            s[name].next = int(kw.get(name, 0))
        yield clk.negedge

    def read_all() -> Generator[Any, None, dict[str, np.ndarray]]:
        addrs = [(i, j) for i in range(n_pre) for j in range(n_post)]
        got = {"w": np.zeros((n_pre, n_post), np.int64), "e": np.zeros((n_pre, n_post), np.int64),
               "pre": np.zeros(n_pre, np.int64), "post": np.zeros(n_post, np.int64)}
        lag = READ_LATENCY - 1  # after tick t returns, rd_* show the address presented in tick t - lag
        for t in range(len(addrs) + lag):
            if t < len(addrs):
                yield from tick(row=addrs[t][0], col=addrs[t][1])
            else:
                yield from tick()
            if t >= lag:
                i, j = addrs[t - lag]
                got["w"][i, j] = int(s["rd_weight"].val)
                got["e"][i, j] = int(s["rd_elig"].val)
                got["pre"][i] = int(s["rd_pre_trace"].val)
                got["post"][j] = int(s["rd_post_trace"].val)
        return got

    def compare(step: int) -> Generator[Any, None, None]:
        got = yield from read_all()
        check_array_state(got, model, c, stats, f"step {step}")

    @instance
    def stim() -> Generator[Any, None, None]:
        s["rst"].next = 1
        yield clk.negedge
        yield clk.negedge
        s["rst"].next = 0
        # initialise every synapse and trace through the host port
        for i in range(n_pre):
            for j in range(n_post):
                yield from tick(row=i, col=j, wr_syn=1, wr_weight=int(st["weight"][i, j]),
                                wr_elig=int(st["eligibility"][i, j]))
        for i in range(n_pre):
            yield from tick(row=i, wr_pre_trace=1, wr_trace=int(st["pre_trace"][i]))
        for j in range(n_post):
            yield from tick(col=j, wr_post_trace=1, wr_trace=int(st["post_trace"][j]))
        yield from compare(-1)
        for step in range(steps):
            pre = rng.random(n_pre) < p_spike
            post = rng.random(n_post) < p_spike
            rew = rewards_for(rng, c, n_post, mode)
            for i in range(n_pre):
                yield from tick(row=i, wr_pre_spike=1, wr_spike=int(pre[i]))
                if rng.random() < 0.1:
                    yield from tick(row=i)  # idle cycle
            for j in range(n_post):
                yield from tick(col=j, wr_post_spike=1, wr_spike=int(post[j]), wr_reward=int(rew[j]))
            # a write presented together with start is dropped too
            yield from tick(start=1, row=0, col=0, wr_syn=1, wr_weight=int(rng.integers(0, c.max_weight + 1)))
            edges = 1
            while True:
                assert s["busy"].val or s["done"].val, f"step {step}: busy fell before done"
                if s["done"].val:
                    assert not s["busy"].val
                    break
                # a start, and host writes of random data, while busy must be ignored
                poke = {name: int(rng.random() < 0.3) for name in WRITES}
                yield from tick(start=int(rng.random() < 0.2), row=int(rng.integers(0, n_pre)),
                                col=int(rng.integers(0, n_post)), wr_weight=int(rng.integers(0, c.max_weight + 1)),
                                wr_elig=int(rng.integers(c.eligibility_min, c.eligibility_max + 1)),
                                wr_trace=int(rng.integers(0, c.max_trace + 1)), wr_spike=int(rng.random() < 0.5),
                                wr_reward=int(rng.integers(c.reward_min, c.reward_max + 1)), **poke)
                edges += 1
                assert edges < 10 * cycles_per_timestep(n_pre, n_post, lanes, bool(piped)), "done never came"
            stats["cycles"].add(edges)
            model.step(pre, post, rew)
            yield from compare(step)
            stats["steps"] += 1
        raise StopSimulation

    Simulation(dut, clock, stim).run(quiet=1)
    return stats


@pytest.mark.parametrize(
    ("c", "n_pre", "n_post", "lanes", "memory", "steps", "p", "mode"),
    CASES,
    ids=[f"{c.tag}-{a}x{b}-P{p}-{mem}-{m}" for c, a, b, p, mem, _, _, m in CASES],
)
def test_myhdl_array_matches_layer(c: OnlineO1Config, n_pre: int, n_post: int, lanes: int, memory: str,
                                   steps: int, p: float, mode: str) -> None:
    steps = steps * 10 if LONG else steps
    stats = run_array(c, n_pre, n_post, lanes, memory, steps, p, mode, seed=n_pre * 100 + n_post * 10 + lanes)
    assert stats["steps"] == steps
    assert stats["cycles"] == {cycles_per_timestep(n_pre, n_post, lanes, memory.endswith("pipelined"))}
    if mode == "extreme":  # the stimulus must drive weights and eligibility into both limits
        assert min(stats["w_lo"], stats["w_hi"], stats["e_lo"], stats["e_hi"]) > 0, stats


UPDATE_CONFIGS = [
    DEFAULT, SMALL, TINY, ODD,
    OnlineO1Config(weight_bits=1, trace_bits=2, reward_bits=1, learning_shift=0, trace_decay_shift=0),
    OnlineO1Config(weight_bits=4, trace_bits=2, reward_bits=2, learning_shift=1, trace_decay_shift=1),
    OnlineO1Config(weight_bits=8, trace_bits=5, reward_bits=3, learning_shift=2, trace_decay_shift=4),  # s = T - 1
    OnlineO1Config(weight_bits=8, trace_bits=5, reward_bits=3, learning_shift=2, trace_decay_shift=7),  # s > T
    OnlineO1Config(weight_bits=24, trace_bits=16, reward_bits=12, learning_shift=6, trace_decay_shift=5),
    OnlineO1Config(weight_bits=31, trace_bits=30, reward_bits=30, learning_shift=30, trace_decay_shift=30),
]


@pytest.mark.parametrize("c", UPDATE_CONFIGS, ids=lambda c: f"w{c.weight_bits}t{c.trace_bits}r{c.reward_bits}"
                         f"l{c.learning_shift}s{c.trace_decay_shift}")
def test_pipelined_update_matches_rule(c: OnlineO1Config) -> None:
    """``o1_array_update`` gives ``online_o1_step``'s eligibility and weight, ``UPDATE_LATENCY`` edges later."""
    from myhdl import Signal, intbv

    from plasticore.hw.o1_array_update import UPDATE_LATENCY, o1_array_update
    from plasticore.refmodel.online_o1 import OnlineO1Snapshot, online_o1_step

    n = 8000 if LONG else 1500
    rng = np.random.default_rng(c.trace_bits * 100 + c.trace_decay_shift)
    clk = Signal(bool(0))
    w = Signal(intbv(0, min=0, max=c.max_weight + 1))
    e = Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1))
    pre = Signal(intbv(0, min=0, max=c.max_trace + 1))
    post = Signal(intbv(0, min=0, max=c.max_trace + 1))
    pre_sp, post_sp = Signal(bool(0)), Signal(bool(0))
    r = Signal(intbv(0, min=c.reward_min, max=c.reward_max + 1))
    w_next = Signal(intbv(0, min=0, max=c.max_weight + 1))
    e_next = Signal(intbv(0, min=c.eligibility_min, max=c.eligibility_max + 1))
    dut = o1_array_update(clk, w, e, pre, post, pre_sp, post_sp, r, w_next, e_next, c)
    expected: list[tuple[int, int]] = []
    checked = [0]

    def pick(lo: int, hi: int) -> int:  # limits often, else uniform
        u = rng.random()
        return lo if u < 0.15 else hi if u < 0.3 else int(rng.integers(lo, hi + 1))

    @always(delay(5))
    def clock() -> None:
        clk.next = not clk

    @instance
    def stim() -> Generator[Any, None, None]:
        for _ in range(n):
            st = OnlineO1Snapshot(pick(0, c.max_weight), pick(0, c.max_trace), pick(0, c.max_trace),
                                  pick(c.eligibility_min, c.eligibility_max))
            a, b, rr = bool(rng.random() < 0.5), bool(rng.random() < 0.5), pick(c.reward_min, c.reward_max)
            w.next, e.next, pre.next, post.next = st.weight, st.eligibility, st.pre_trace, st.post_trace
            pre_sp.next, post_sp.next, r.next = a, b, rr
            nxt = online_o1_step(st, pre_spike=a, post_spike=b, reward=rr, config=c)
            expected.append((nxt.weight, nxt.eligibility))
            yield clk.negedge
            if len(expected) >= UPDATE_LATENCY:
                want = expected[-UPDATE_LATENCY]
                assert (int(w_next.val), int(e_next.val)) == want, (len(expected), want)
                checked[0] += 1
        raise StopSimulation

    Simulation(dut, clock, stim).run(quiet=1)
    assert checked[0] == n - UPDATE_LATENCY + 1

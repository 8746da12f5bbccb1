"""The MyHDL lane, simulated by MyHDL itself, against the reference model (every state field, every step)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("myhdl")
from lane_oracle import LaneOracle
from myhdl import Simulation, StopSimulation, delay, instance

from plasticore.hw.o1_lane import lane_port_signals, o1_lane
from plasticore.hw.o1_lane_pipelined import PIPELINE_DELAY, o1_lane_pipelined
from plasticore.refmodel.online_o1 import OnlineO1Config

LANES = {"o1_lane": (o1_lane, 0), "o1_lane_pipelined": (o1_lane_pipelined, PIPELINE_DELAY)}

CONFIGS = [
    OnlineO1Config(),
    OnlineO1Config(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3, trace_decay_shift=2),
    OnlineO1Config(weight_bits=1, trace_bits=2, reward_bits=1, learning_shift=0, trace_decay_shift=0),
    OnlineO1Config(weight_bits=4, trace_bits=3, reward_bits=3, learning_shift=0, trace_decay_shift=1),
    OnlineO1Config(weight_bits=24, trace_bits=16, reward_bits=12, learning_shift=6, trace_decay_shift=5),
    OnlineO1Config(weight_bits=6, trace_bits=3, reward_bits=2, learning_shift=1, trace_decay_shift=5),  # s >= T
    # the rounding modes: nearest and stochastic at the small and the wide widths, L = 1 (one LFSR bit per
    # draw), and L = 0 (every mode is the floor circuit)
    OnlineO1Config(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3, trace_decay_shift=2,
                   rounding="nearest"),
    OnlineO1Config(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3, trace_decay_shift=2,
                   rounding="stochastic", lfsr_seed=5),
    OnlineO1Config(weight_bits=24, trace_bits=16, reward_bits=12, learning_shift=6, trace_decay_shift=5,
                   rounding="stochastic", lfsr_seed=2**32 - 1),
    OnlineO1Config(weight_bits=3, trace_bits=2, reward_bits=2, learning_shift=1, trace_decay_shift=1,
                   rounding="stochastic", lfsr_seed=0),
    OnlineO1Config(weight_bits=4, trace_bits=3, reward_bits=3, learning_shift=0, trace_decay_shift=1,
                   rounding="stochastic"),
]


def _run(lane: str, config: OnlineO1Config, n_steps: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    p = lane_port_signals(config)
    make, lag = LANES[lane]
    dut = make(**p, config=config)
    oracle = LaneOracle(config, lag)
    checked = [0]

    def expect(snap: Any) -> None:
        got = (int(p["weight"].val), int(p["pre_trace"].val), int(p["post_trace"].val), int(p["eligibility"].val))
        assert got == tuple(snap), (checked[0], got, snap)
        checked[0] += 1

    @instance
    def stim() -> Any:
        for _ in range(n_steps):
            op = rng.random()
            p["rst"].next = op < 0.005
            p["load_en"].next = 0.005 <= op < 0.015
            w_load = int(rng.integers(0, config.max_weight + 1))
            p["load_weight"].next = w_load
            step = bool(rng.random() < 0.9)
            p["step_en"].next = step
            pre, post = bool(rng.random() < 0.4), bool(rng.random() < 0.4)
            r = int(rng.integers(config.reward_min, config.reward_max + 1))
            p["pre_spike"].next, p["post_spike"].next, p["reward"].next = pre, post, r
            yield delay(5)
            p["clk"].next = 1
            yield delay(5)
            p["clk"].next = 0
            want = oracle.edge(rst=op < 0.005, load=w_load if 0.005 <= op < 0.015 else None, step=step,
                               pre=pre, post=post, reward=r)
            yield delay(1)
            expect(want)
        raise StopSimulation

    Simulation(dut, stim).run(quiet=1)
    return checked[0]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.tag)
@pytest.mark.parametrize("lane", sorted(LANES))
def test_myhdl_lane_matches_model(lane: str, config: OnlineO1Config) -> None:
    assert _run(lane, config, 1500, seed=config.weight_bits) == 1500

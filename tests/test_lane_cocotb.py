"""Converted lanes, ``o1_lane`` and ``o1_lane_pipelined`` (Verilog in Icarus and Verilator, VHDL in GHDL), against
the reference model.

Each (lane, simulator, config) case builds in its own folder under ``build/cocotb/<lane>/``. Default run:
2,000 biased random steps per case; ``PLASTICORE_LONG=1``: 20,000.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("cocotb")
pytest.importorskip("myhdl")

from hdl_sim import BUILD, SIMULATORS, hdl_for, long_run, run_cocotb

from plasticore.hw.emitter import OnlineO1LearningEmitter, config_tag
from plasticore.refmodel.online_o1 import OnlineO1Config


def _c(w: int, t: int, r: int, sh: int, s: int) -> OnlineO1Config:
    return OnlineO1Config(weight_bits=w, trace_bits=t, reward_bits=r, learning_shift=sh, trace_decay_shift=s)


LANE_CONFIGS: list[OnlineO1Config] = [
    _c(16, 12, 8, 4, 4),  # the default
    _c(8, 6, 4, 3, 2),  # the small standard config
    _c(1, 2, 1, 0, 0),  # every minimum at once: W=1, T=2, R=1, L=0, s=0
    _c(4, 2, 2, 1, 1),  # T=2 with decay
    _c(8, 5, 1, 2, 3),  # R=1: rewards -1 and 0 only
    _c(10, 8, 6, 0, 3),  # L=0: full product reaches the weight
    _c(12, 7, 5, 2, 0),  # s=0: no decay, eligibility integrates
    _c(24, 16, 12, 6, 5),  # wide
    _c(31, 30, 30, 30, 30),  # every maximum: 60-bit product
    # the rounding modes: LFSR draws of 3 bits, of 30 bits (every maximum), and round-half-up
    OnlineO1Config(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3, trace_decay_shift=2,
                   rounding="stochastic", lfsr_seed=5),
    OnlineO1Config(weight_bits=31, trace_bits=30, reward_bits=30, learning_shift=30, trace_decay_shift=30,
                   rounding="stochastic", lfsr_seed=2**32 - 1),
    OnlineO1Config(rounding="nearest"),
]


@pytest.mark.hw
@pytest.mark.parametrize("config", LANE_CONFIGS, ids=config_tag)
@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("pipelined", [False, True], ids=["o1_lane", "o1_lane_pipelined"])
def test_lane_matches_model(pipelined: bool, sim: str, config: OnlineO1Config) -> None:
    emitter = OnlineO1LearningEmitter(config, pipelined=pipelined)
    case = BUILD / ("lane_pipelined" if pipelined else "lane") / sim / config_tag(config)
    src_dir = case / "src"
    sources = emitter.write(src_dir, hdl_for(sim))
    steps = 20_000 if long_run() else 2_000
    run_cocotb(
        sim=sim,
        sources=[Path(s) for s in sources],
        toplevel=emitter.module_name,
        test_module="o1_lane_tb",
        build_dir=case / "sim",
        extra_env={
            "O1_CONFIG": json.dumps({k: v for k, v in config.as_dict().items() if k != "rule_family"}),
            "O1_STEPS": str(steps),
            "O1_SEED": str(config.weight_bits * 1000 + config.trace_bits),
            "O1_DELAY": str(emitter.pipeline_delay),
        },
    )

"""The closed-loop core ``o1_core`` in Icarus, Verilator and GHDL, driven over SPI by the host driver.

Each case emits the core with :class:`~plasticore.hw.core_emitter.OnlineO1CoreEmitter` (``sim_models=True`` for
the SPRAM model) and runs ``tests/cocotb/o1_core_tb.py``: identification, a closed-loop run with random state
compared bit for bit with :class:`~plasticore.refmodel.o1_network.OnlineO1Network` on every output spike, every
BUSY length and, at checkpoints, every state field; every documented bad command; and, for the task case, the
association task learned on the core from random weights (200 trials on Verilator, reaching >= 90% correct;
10 on GHDL; all 300 on every simulator with ``PLASTICORE_LONG=1``). The cases cover the minimum widths
(``W = 1``, ``T = 2``, ``R = 1``, ``L = 0``, ``s = 0``, ``V = 2``, ``k = 0``, ``theta = 1``, the unpipelined
update), the maximum widths (``W = T = R = 16``, ``V = 32``), two input spike words (``n_pre = 40``), lanes equal
to ``n_post``, the subtractive reset with a weight offset, the SPRAM memory, and a core with timesteps long enough
for accesses to arrive while it is BUSY. Verilator and GHDL run every case; Icarus the two width extremes and
8 x 4 by default (all with ``PLASTICORE_LONG=1``, which also runs more steps).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("cocotb")
pytest.importorskip("myhdl")

from hdl_sim import BUILD, SIMULATORS, hdl_for, long_run, run_cocotb

from plasticore.hw.core_emitter import OnlineO1CoreEmitter
from plasticore.refmodel.o1_network import FixedLIFConfig
from plasticore.refmodel.online_o1 import OnlineO1Config


def _case(o1: dict[str, Any], lif: dict[str, Any], n_pre: int, n_post: int, lanes: int, memory: str = "inferred",
          pipelined: bool = True, task: bool = False,
          tests: str = "identify,closed_loop,bad_commands,task") -> dict[str, Any]:
    return {"o1": o1, "lif": lif, "n_pre": n_pre, "n_post": n_post, "lanes": lanes, "memory": memory,
            "pipelined": pipelined, "task": task, "tests": tests}


CASES: dict[str, dict[str, Any]] = {
    # stochastic rounding (two lanes' LFSRs) and round-to-nearest (40x5)
    "8x4_lanes2": _case(dict(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=2, trace_decay_shift=2,
                             rounding="stochastic", lfsr_seed=2**32 - 3),
                        dict(membrane_bits=12, leak_shift=2, threshold=100, reset="subtract", weight_offset=64),
                        8, 4, 2),
    "min_widths": _case(dict(weight_bits=1, trace_bits=2, reward_bits=1, learning_shift=0, trace_decay_shift=0),
                        dict(membrane_bits=2, leak_shift=0, threshold=1, reset="zero", weight_offset=0),
                        3, 2, 1, pipelined=False),
    "max_widths": _case(dict(weight_bits=16, trace_bits=16, reward_bits=16, learning_shift=3, trace_decay_shift=4),
                        dict(membrane_bits=32, leak_shift=5, threshold=300_000, reset="subtract",
                             weight_offset=32_768),
                        5, 3, 3),
    "40x5_two_spike_words": _case(dict(weight_bits=6, trace_bits=5, reward_bits=5, learning_shift=1,
                                       trace_decay_shift=1, rounding="nearest"),
                                  dict(membrane_bits=10, leak_shift=1, threshold=90, reset="zero", weight_offset=20),
                                  40, 5, 2),
    "6x6_lanes6_offset": _case(dict(weight_bits=4, trace_bits=4, reward_bits=4, learning_shift=0,
                                    trace_decay_shift=0),
                               dict(membrane_bits=6, leak_shift=3, threshold=20, reset="subtract", weight_offset=6),
                               6, 6, 6),
    "task_16x4_spram": _case(dict(weight_bits=8, trace_bits=8, reward_bits=8, learning_shift=6, trace_decay_shift=1),
                             dict(membrane_bits=16, leak_shift=1, threshold=128, reset="zero", weight_offset=0),
                             16, 4, 2, memory="spram", task=True),
    # two packed output words, the second holding 8 neurons (OUT_SPIKES' tail shift), and 5 lanes of 8 columns
    "3x40_two_out_words": _case(dict(weight_bits=5, trace_bits=4, reward_bits=3, learning_shift=1,
                                     trace_decay_shift=1),
                                dict(membrane_bits=8, leak_shift=2, threshold=12, reset="zero", weight_offset=10),
                                3, 40, 5, tests="identify,closed_loop,bad_commands"),
    # 832-clock timesteps: long enough for SPI frames to arrive while BUSY (the other cases' steps are shorter)
    "16x24_busy": _case(dict(weight_bits=10, trace_bits=7, reward_bits=5, learning_shift=3, trace_decay_shift=2),
                        dict(membrane_bits=14, leak_shift=3, threshold=400, reset="subtract", weight_offset=300),
                        16, 24, 1, tests="identify,busy_accesses"),
}

# CI budget: Verilator (fast) and GHDL (the VHDL) run every case; Icarus, the second Verilog simulator and the
# slowest, runs the two width extremes and the 8x4 case by default and the rest with PLASTICORE_LONG=1
ICARUS_DEFAULT = ("min_widths", "max_widths", "8x4_lanes2")


def _params() -> list[Any]:
    out = []
    for sim in SIMULATORS:
        for name in CASES:
            marks = [pytest.mark.hw]
            if sim == "icarus" and name not in ICARUS_DEFAULT and not long_run():
                marks.append(pytest.mark.skip(reason="Icarus runs this case only with PLASTICORE_LONG=1 (run time)"))
            out.append(pytest.param(sim, name, id=f"{sim}-{name}", marks=marks))
    return out


def emitter(case: dict[str, Any]) -> OnlineO1CoreEmitter:
    """The core of one case."""
    return OnlineO1CoreEmitter(OnlineO1Config(**case["o1"]), FixedLIFConfig(**case["lif"]), case["n_pre"],
                               case["n_post"], case["lanes"], memory=case["memory"],
                               pipelined_update=case["pipelined"])


@pytest.mark.parametrize(("sim", "name"), _params())
def test_core_cocotb(sim: str, name: str) -> None:
    case = CASES[name]
    build = BUILD / "o1_core" / name / sim
    sources = emitter(case).write(build / "src", hdl_for(sim), sim_models=True)
    # the task: the first 200 trials (from random weights to >= 90% correct) on Verilator, 10 on the slower GHDL;
    # PLASTICORE_LONG=1: the whole 300-trial task on every simulator
    trials = (300 if long_run() else 200 if sim == "verilator" else 10) if case["task"] else 0
    run_cocotb(sim=sim, sources=sources, toplevel="o1_core", test_module="o1_core_tb", build_dir=build / "sim",
               extra_env={"CORE_CASE": json.dumps(case), "CORE_STEPS": "60" if long_run() else "16",
                          "CORE_SEED": "7", "CORE_TASK_TRIALS": str(trials),
                          "CORE_TESTS": case["tests"]})

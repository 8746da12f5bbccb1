"""Converted ``o1_array`` (Verilog in Icarus and Verilator, VHDL in GHDL) against ``OnlineO1Layer``.

Every weight, eligibility and trace is compared after every timestep (``tests/cocotb/o1_array_tb.py``).
Each (simulator, case) builds in its own folder under ``build/cocotb/array/``. Default: a few hundred
timesteps per case (well under three minutes for all simulators); ``PLASTICORE_LONG=1``: thousands.
The generated Verilog is also linted with Verilator ``-Wall`` (only ``WIDTHTRUNC`` waived).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("cocotb")
pytest.importorskip("myhdl")

from hdl_sim import BUILD, SIMULATORS, hdl_for, long_run, run_cocotb

from plasticore.hw.array_emitter import OnlineO1ArrayEmitter
from plasticore.hw.emitter import config_tag
from plasticore.refmodel.online_o1 import OnlineO1Config


def _c(w: int, t: int, r: int, sh: int, s: int) -> OnlineO1Config:
    return OnlineO1Config(weight_bits=w, trace_bits=t, reward_bits=r, learning_shift=sh, trace_decay_shift=s)


DEFAULT = _c(16, 12, 8, 4, 4)
SMALL = _c(8, 6, 4, 3, 2)
TINY = _c(3, 3, 2, 0, 0)
STOCH = OnlineO1Config(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3, trace_decay_shift=2,
                       rounding="stochastic", lfsr_seed=11)
STOCH_MAX = OnlineO1Config(weight_bits=31, trace_bits=30, reward_bits=30, learning_shift=30, trace_decay_shift=30,
                           rounding="stochastic", lfsr_seed=2**32 - 1)
NEAREST = OnlineO1Config(rounding="nearest")

# (config, n_pre, n_post, lanes, memory, steps default, steps long, p_spike, reward mode)
CASES: list[tuple[OnlineO1Config, int, int, int, str, int, int, float, str]] = [
    (DEFAULT, 5, 7, 3, "inferred", 150, 3000, 0.8, "extreme"),
    (SMALL, 3, 13, 2, "inferred", 150, 3000, 0.4, "uniform"),
    (TINY, 4, 3, 1, "spram", 200, 4000, 0.6, "extreme"),
    (DEFAULT, 3, 5, 2, "spram", 150, 3000, 0.5, "scalar"),
    (DEFAULT, 5, 3, 2, "inferred-pipelined", 150, 3000, 0.8, "extreme"),
    (SMALL, 3, 7, 3, "spram-pipelined", 150, 3000, 0.5, "uniform"),
    # rounding: per-lane LFSRs drawing per schedule item (13 columns on 2 lanes: a padding item per row)
    (STOCH, 3, 13, 2, "inferred", 100, 2000, 0.5, "uniform"),
    (STOCH, 3, 7, 3, "spram-pipelined", 100, 2000, 0.6, "extreme"),
    (NEAREST, 5, 3, 2, "inferred-pipelined", 100, 2000, 0.8, "extreme"),
]


# Verilator compiles C++ for every case (~30 s each): by default it runs one inferred and one SPRAM case.
QUICK_VERILATOR = ("w16t12r8l4s4-5x7-P3-inferred-extreme", "w8t6r4l3s2-3x7-P3-spram-pipelined-uniform",
                   "w8t6r4l3s2rs11-3x7-P3-spram-pipelined-extreme")


def _case_id(case: tuple[OnlineO1Config, int, int, int, str, int, int, float, str]) -> str:
    c, a, b, p, mem, _, _, _, mode = case
    return f"{config_tag(c)}-{a}x{b}-P{p}-{mem}-{mode}"


Case = tuple[OnlineO1Config, int, int, int, str, int, int, float, str]


def _run_case(sim: str, case: Case, seed: int, extra_env: dict[str, str] | None = None) -> OnlineO1ArrayEmitter:
    """Emit the case's array for ``sim`` and run ``o1_array_tb`` on it (the layer is the oracle)."""
    c, n_pre, n_post, lanes, memory, steps, steps_long, p_spike, mode = case
    build = BUILD / "array" / sim / _case_id(case)
    mem, _, piped = memory.partition("-")
    em = OnlineO1ArrayEmitter(c, n_pre=n_pre, n_post=n_post, lanes=lanes, memory=mem, pipelined_update=bool(piped))
    sources = em.write(build / "src", hdl_for(sim), sim_models=True)
    run_cocotb(
        sim=sim,
        sources=[Path(s) for s in sources],
        toplevel="o1_array",
        test_module="o1_array_tb",
        build_dir=build / "sim",
        extra_env={
            "O1_CONFIG": json.dumps({k: v for k, v in c.as_dict().items() if k != "rule_family"}),
            "O1_SHAPE": json.dumps([n_pre, n_post, lanes]),
            "O1_STEPS": str(steps_long if long_run() else steps),
            "O1_CYCLES": str(em.cycles_per_timestep),
            "O1_SEED": str(seed),
            "O1_P_SPIKE": str(p_spike),
            "O1_REWARD": mode,
            **(extra_env or {}),
        },
    )
    return em


@pytest.mark.hw
@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("sim", SIMULATORS)
def test_array_matches_layer(sim: str, case: Case) -> None:
    if sim == "verilator" and not long_run() and _case_id(case) not in QUICK_VERILATOR:
        pytest.skip("Verilator runs this case only with PLASTICORE_LONG=1 (C++ build time)")
    _, n_pre, n_post, lanes = case[:4]
    _run_case(sim, case, seed=n_pre * 1000 + n_post * 10 + lanes)


# The largest UP5K arrays (SPRAM): 64k synapses at W8/T6 (2 lanes) and 32k at W16/T12 (1 lane). Each timestep
# is 32,772 clocks plus a 65k/32k-clock read-back of the whole state, so these run only with PLASTICORE_LONG=1.
SCALE_CASES: list[Case] = [
    (SMALL, 256, 256, 2, "spram-pipelined", 2, 4, 0.3, "extreme"),
    (DEFAULT, 128, 256, 1, "spram", 2, 4, 0.3, "uniform"),
]


@pytest.mark.hw
@pytest.mark.slow
@pytest.mark.parametrize("case", SCALE_CASES, ids=_case_id)
@pytest.mark.parametrize("sim", SIMULATORS)
def test_up5k_scale_array_matches_layer(sim: str, case: Case) -> None:
    em = _run_case(sim, case, seed=7, extra_env={"O1_LIMITS": "0"})
    assert em.memory == "spram" and em.manifest()["sprams"] == 4


LINT_CASES = [(DEFAULT, 5, 7, 3, "inferred"), (SMALL, 1, 1, 1, "inferred"), (TINY, 3, 13, 2, "inferred"),
              (DEFAULT, 3, 13, 2, "spram"), (SMALL, 16, 16, 2, "spram"), (_c(31, 30, 30, 30, 30), 2, 3, 3, "inferred"),
              (DEFAULT, 5, 7, 3, "inferred-pipelined"), (SMALL, 16, 16, 2, "spram-pipelined"),
              (_c(31, 30, 30, 30, 30), 2, 3, 3, "inferred-pipelined"), (TINY, 3, 5, 1, "inferred-pipelined"),
              (STOCH, 3, 13, 2, "inferred"), (STOCH_MAX, 2, 3, 3, "inferred-pipelined"), (NEAREST, 5, 7, 3, "spram")]


@pytest.mark.hw
@pytest.mark.parametrize("case", LINT_CASES, ids=lambda k: f"{config_tag(k[0])}-{k[1]}x{k[2]}-P{k[3]}-{k[4]}")
def test_array_verilog_lints_clean(case: tuple[OnlineO1Config, int, int, int, str]) -> None:
    c, n_pre, n_post, lanes, memory = case
    if shutil.which("verilator") is None:
        pytest.fail("verilator not on PATH; run `make setup`")
    out = BUILD / "array" / "lint" / f"{config_tag(c)}-{n_pre}x{n_post}-P{lanes}-{memory}"
    mem, _, piped = memory.partition("-")
    files = OnlineO1ArrayEmitter(c, n_pre=n_pre, n_post=n_post, lanes=lanes, memory=mem,
                                 pipelined_update=bool(piped)).write(out, "verilog", sim_models=True)
    design = [str(f) for f in files if f.name == "o1_array.v"]
    models = [arg for f in files if f.name != "o1_array.v" for arg in ("-v", str(f))]
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-WIDTHTRUNC", "--top-module", "o1_array",
                        *design, *models], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr

"""The resource predictor (:mod:`plasticore.hw.resources`): error messages, RAM geometry, DSP rules,
RTL counts, and agreement with the measured records in ``reports/synth`` where they exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("myhdl")

from plasticore.hw.build import SMALL
from plasticore.hw.emitter import OnlineO1LearningEmitter
from plasticore.hw.resources import (
    TARGETS,
    blocks_for,
    dsps_per_product,
    estimate_resources,
    rtl_counts,
)
from plasticore.refmodel.online_o1 import OnlineO1Config

DEFAULT = OnlineO1Config()
REPORTS = Path(__file__).resolve().parent.parent / "reports" / "synth"
KEYS = {"luts", "ffs", "ram_blocks", "dsps", "cycles_per_timestep", "fmax_mhz", "timesteps_per_second",
        "synapse_updates_per_second"}


def test_targets() -> None:
    assert TARGETS == ("ice40-up5k", "ice40-hx8k", "ecp5-25f", "generic")


@pytest.mark.parametrize("target", ["ice40-up5k", "ice40-hx8k", "ecp5-25f", "generic"])
def test_lane_prediction(target: str) -> None:
    r = estimate_resources(config=DEFAULT, target=target)
    assert KEYS <= set(r)
    assert r["design"] == "o1_lane" and r["ffs"] == DEFAULT.per_synapse_state_bits  # W + 3T registers
    assert r["cycles_per_timestep"] == 1
    assert r["timesteps_per_second"] == pytest.approx(r["fmax_mhz"] * 1e6, rel=1e-6)
    assert r["dsps"] == {"ice40-up5k": 1, "ice40-hx8k": 0, "ecp5-25f": 1, "generic": 0}[target]
    assert sum(r["ram_blocks"].values()) == 0


def test_emitter_delegates() -> None:
    em = OnlineO1LearningEmitter(SMALL)
    assert em.estimate_resources(target="ice40-hx8k") == estimate_resources(config=SMALL, target="ice40-hx8k")


def test_errors_name_the_parameter() -> None:
    with pytest.raises(ValueError, match=r"target must be one of \['ice40-up5k', 'ice40-hx8k', 'ecp5-25f', "
                                         r"'generic'\], not 'xc7a35t'"):
        estimate_resources(config=DEFAULT, target="xc7a35t")
    with pytest.raises(ValueError, match=r"design must be one of \['o1_lane', 'o1_array'\], not 'o2'"):
        estimate_resources(config=DEFAULT, target="generic", design="o2")
    with pytest.raises(ValueError, match=r"n_pre must be an int >= 1, not 0"):
        estimate_resources(config=DEFAULT, target="generic", n_pre=0, n_post=4)
    with pytest.raises(ValueError, match=r"lanes must be in 1..n_post=4, not 8"):
        estimate_resources(config=DEFAULT, target="generic", n_pre=4, n_post=4, lanes=8)
    with pytest.raises(ValueError, match=r"n_synapses alone means a square layer and must be a perfect "
                                         r"square, not 1000"):
        estimate_resources(config=DEFAULT, target="generic", n_synapses=1000)
    with pytest.raises(ValueError, match=r"n_synapses must equal n_pre \* n_post = 16, not 15"):
        estimate_resources(config=DEFAULT, target="generic", n_pre=4, n_post=4, n_synapses=15)
    with pytest.raises(ValueError, match=r"design 'o1_lane' is one synapse"):
        estimate_resources(config=DEFAULT, target="generic", design="o1_lane", lanes=2)
    with pytest.raises(ValueError, match=r"memory must be one of \['auto', 'inferred', 'spram'\], "
                                         r"not 'bram'"):
        estimate_resources(config=DEFAULT, target="generic", n_pre=4, n_post=4, memory="bram")
    with pytest.raises(ValueError, match=r"memory 'spram' needs target 'ice40-up5k', not 'ecp5-25f'"):
        estimate_resources(config=DEFAULT, target="ecp5-25f", n_pre=4, n_post=4, memory="spram")
    with pytest.raises(TypeError, match=r"config must be an OnlineO1Config, not dict"):
        estimate_resources(config={}, target="generic")  # type: ignore[arg-type]


def test_overflow_says_what_overflows() -> None:
    with pytest.raises(ValueError, match=r"o1_array \(64x64, 8 lanes\) does not fit ice40-hx8k: "
                                         r".*ebr blocks \d+ > 32"):
        estimate_resources(config=DEFAULT, target="ice40-hx8k", n_pre=64, n_post=64, lanes=8)
    with pytest.raises(ValueError, match=r"does not fit ice40-up5k: .*dsps 16 > 8"):
        estimate_resources(config=DEFAULT, target="ice40-up5k", n_pre=16, n_post=16, lanes=16)
    r = estimate_resources(config=DEFAULT, target="ice40-hx8k", n_pre=64, n_post=64, lanes=8, check_fit=False)
    assert not r["fits"] and any(o.startswith("ebr blocks") for o in r["overflow"])


def test_n_synapses_means_a_square_layer() -> None:
    a = estimate_resources(config=SMALL, target="generic", n_synapses=256, lanes=2)
    b = estimate_resources(config=SMALL, target="generic", n_pre=16, n_post=16, lanes=2)
    assert a == b and a["design"] == "o1_array"


def test_block_geometry() -> None:
    assert blocks_for(256, 16, "ebr") == 1
    assert blocks_for(256, 28, "ebr") == 2  # 256x16 twice
    assert blocks_for(1024, 14, "ebr") == 4  # 256x16 x 4 (1024x4 would take 4 as well)
    assert blocks_for(2048, 2, "ebr") == 1
    assert blocks_for(1024, 18, "dp16kd") == 1 and blocks_for(512, 36, "dp16kd") == 1
    assert blocks_for(4096, 14, "dp16kd") == 4  # 1024x18 x 4 or 2048x9 x 2 x 2
    assert blocks_for(16384, 16, "spram") == 1
    with pytest.raises(ValueError, match=r"kind must be one of \['dp16kd', 'ebr', 'spram'\], not 'm9k'"):
        blocks_for(1, 1, "m9k")


def test_dsp_rules() -> None:
    assert dsps_per_product(DEFAULT, "ice40-up5k") == 1  # 8 x 12 -> 20-bit result
    assert dsps_per_product(SMALL, "ice40-up5k") == 0  # 4 x 6 -> 10 bits < 11: Yosys keeps it in LUTs
    assert dsps_per_product(SMALL, "ecp5-25f") == 1
    assert dsps_per_product(OnlineO1Config(trace_bits=20, reward_bits=8), "ice40-up5k") == 2
    assert dsps_per_product(DEFAULT, "ice40-hx8k") == 0


def test_array_counts_follow_the_rtl() -> None:
    from plasticore.hw.array_emitter import OnlineO1ArrayEmitter

    em = OnlineO1ArrayEmitter(DEFAULT, 8, 8, 2, memory="inferred")
    r = estimate_resources(config=DEFAULT, target="ice40-up5k", n_pre=8, n_post=8, lanes=2, memory="inferred")
    assert r["cycles_per_timestep"] == em.cycles_per_timestep
    assert r["dsps"] == 2
    mems = {(m["depth"], m["width"]) for m in em.memories()}
    counted = set(rtl_counts(DEFAULT, "o1_array", 8, 8, 2).memories)
    assert counted == mems
    assert r["synapse_updates_per_second"] == pytest.approx(2 * r["fmax_mhz"] * 1e6, rel=1e-6)


def test_pipelined_update() -> None:
    from plasticore.hw.array_emitter import OnlineO1ArrayEmitter

    kw = {"config": DEFAULT, "target": "ice40-up5k", "n_pre": 8, "n_post": 8, "lanes": 2}
    flat, pipe = estimate_resources(**kw), estimate_resources(**kw, pipelined_update=True)
    em = OnlineO1ArrayEmitter(DEFAULT, 8, 8, 2, memory="inferred", pipelined_update=True)
    assert pipe["cycles_per_timestep"] == em.cycles_per_timestep == flat["cycles_per_timestep"] + 4
    assert pipe["ffs"] > flat["ffs"] and pipe["fmax_mhz"] > flat["fmax_mhz"]



def test_pipelined_lane() -> None:
    """The pipelined lane: one step per clock still, no DSP (its product is a carry-save tree in LUTs), more
    registers, a shorter critical path; the emitter of that lane estimates it by default."""
    from plasticore.hw.emitter import OnlineO1LearningEmitter

    for target in ("ice40-up5k", "ecp5-25f"):
        flat = estimate_resources(config=DEFAULT, target=target)
        pipe = estimate_resources(config=DEFAULT, target=target, pipelined_update=True)
        assert flat["dsps"] == 1 and pipe["dsps"] == 0
        assert pipe["cycles_per_timestep"] == flat["cycles_per_timestep"] == 1
        assert pipe["ffs"] > flat["ffs"] and pipe["fmax_mhz"] > 2 * flat["fmax_mhz"]
        assert OnlineO1LearningEmitter(DEFAULT, pipelined=True).estimate_resources(target=target) == pipe


def test_spram_counts() -> None:
    r = estimate_resources(config=SMALL, target="ice40-up5k", n_pre=256, n_post=256, lanes=2, memory="spram")
    assert r["ram_blocks"]["spram"] == 4  # two parity banks per lane, W + T = 14 <= 16 bits
    assert r["cycles_per_timestep"] == 256 * 128 + 4


def _records() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(REPORTS.glob("*/*.json"))]


@pytest.mark.skipif(not REPORTS.is_dir(), reason="no measured records (run make synth)")
def test_records_match_current_predictor() -> None:
    """The committed records carry the current predictor's numbers (``make synth`` refreshes them)."""
    for rec in _records():
        p = estimate_resources(config=OnlineO1Config(**rec["config"]), target=rec["target"],
                               n_pre=rec["n_pre"], n_post=rec["n_post"], lanes=rec["lanes"],
                               design=rec["design"], check_fit=False,
                               memory=rec["memory"] if rec["design"] == "o1_array" else "auto",
                               pipelined_update=rec["pipelined_update"])
        for q in ("luts", "ffs", "ram_blocks", "dsps", "cycles_per_timestep"):
            assert p[q] == rec["predicted"][q], (rec["target"], rec["design_id"], q)


def test_memory_mapping_mirrors_yosys() -> None:
    """Yosys 0.23 choices seen in the ECP5 sweep: tiny memories in flip-flops, small ones in distributed
    RAM, the rest in DP16KD with read-first emulation registers."""
    from plasticore.hw.resources import map_memory

    assert map_memory("ecp5", 4, 1).kind == "logic"  # 4 bits: cheaper than one DPR16X4
    assert map_memory("ecp5", 8, 1) == map_memory("ecp5", 8, 1) and map_memory("ecp5", 8, 1).kind == "lutram"
    m = map_memory("ecp5", 16, 28)
    assert (m.kind, m.blocks, m.ffs) == ("lutram", 7, 28)  # 7 x 16x4 cells, async read + output register
    m = map_memory("ecp5", 64, 28)
    assert (m.kind, m.blocks, m.ffs) == ("dp16kd", 1, 2 * 28 + 6 + 1)
    assert map_memory("ice40", 2048, 14).kind == "ebr" and map_memory("ice40", 2048, 14).blocks == 7

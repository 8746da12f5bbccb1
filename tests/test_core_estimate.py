"""The resource predictor on the closed-loop core (``design="o1_core"``): cycles per timestep exactly
:func:`~plasticore.hw.o1_core.core_cycles_per_timestep`; RAM blocks and DSPs exactly the measured ones and
LUT4s/FFs within the errors the README states for the arrays
(:data:`~plasticore.estimate.predict.STATED_ERRORS`) on every committed board record (``reports/board``, read
at test time: nothing here copies a measured number); bad inputs named with their range and value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("myhdl")

from plasticore.estimate import dsps_per_product, estimate_resources
from plasticore.estimate.predict import STATED_ERRORS, default_activity
from plasticore.hw.core_emitter import OnlineO1CoreEmitter
from plasticore.hw.o1_core import core_cycles_per_timestep
from plasticore.refmodel.o1_network import FixedLIFConfig
from plasticore.refmodel.online_o1 import OnlineO1Config

REPORTS = Path(__file__).resolve().parent.parent / "reports"
SMALL_O1 = OnlineO1Config(8, 6, 4, 2, 2)
SMALL_LIF = FixedLIFConfig(12, 2, 100)


def _records() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((REPORTS / "board").glob("*.json"))]


@pytest.fixture(scope="module")
def judged() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every board record with the predictor's judgement of it (one elaboration per record per session)."""
    from plasticore.flows.report import judge_board_record

    recs = _records()
    if not recs:
        pytest.skip("no board records (run python -m plasticore.flows.board)")
    return [(rec, judge_board_record(rec)) for rec in recs]


@pytest.mark.parametrize(("n_pre", "n_post", "lanes", "pipelined"), [
    (8, 4, 2, True), (8, 4, 1, False), (9, 5, 2, True),
])
def test_cycles_per_timestep_is_exact(n_pre: int, n_post: int, lanes: int, pipelined: bool) -> None:
    """Every activity from silent to all inputs spiking, and the default (10 %, reported as ``n_active``)."""
    em = OnlineO1CoreEmitter(SMALL_O1, SMALL_LIF, n_pre, n_post, lanes, pipelined_update=pipelined)
    kw: dict[str, Any] = {"config": SMALL_O1, "target": "ice40-up5k", "design": "o1_core", "n_pre": n_pre,
                          "n_post": n_post, "lanes": lanes, "memory": "inferred", "pipelined_update": pipelined,
                          "lif": SMALL_LIF}
    for n_active in sorted({0, 1, n_pre // 3, n_pre}):
        r = estimate_resources(**kw, n_active=n_active)
        assert r["n_active"] == n_active
        assert r["cycles_per_timestep"] == core_cycles_per_timestep(n_active, n_pre, n_post, lanes, pipelined)
        assert r["cycles_per_timestep"] == em.cycles_per_timestep(n_active)
        assert r["fmax_mhz"] is None and r["timesteps_per_second"] is None  # no Fmax claimed for the core
        assert r["timesteps_per_second_upper_bound"] == pytest.approx(
            r["fmax_upper_bound_mhz"] * 1e6 / r["cycles_per_timestep"], rel=1e-6)
    r = estimate_resources(**kw)
    assert r["n_active"] == default_activity(n_pre) == round(0.1 * n_pre)
    assert r["cycles_per_timestep"] == core_cycles_per_timestep(round(0.1 * n_pre), n_pre, n_post, lanes, pipelined)
    assert r["synapse_updates_per_second_upper_bound"] == pytest.approx(
        n_pre * n_post * r["timesteps_per_second_upper_bound"], rel=1e-6)


def test_emitter_delegates() -> None:
    em = OnlineO1CoreEmitter(SMALL_O1, SMALL_LIF, 8, 4, 2, memory="inferred", pipelined_update=True)
    for target in ("ice40-up5k", "ecp5-25f"):
        assert em.estimate_resources(target=target, n_active=3) == estimate_resources(
            config=SMALL_O1, target=target, design="o1_core", n_pre=8, n_post=4, lanes=2, memory="inferred",
            pipelined_update=True, lif=SMALL_LIF, n_active=3)


def test_core_costs_more_than_its_array() -> None:
    """The core is its array plus SPI, decoder, access unit, sequencer, neurons and RAMs: more of everything,
    the same DSPs (the LIF pipeline multiplies nothing)."""
    kw: dict[str, Any] = {"config": SMALL_O1, "target": "ecp5-25f", "n_pre": 8, "n_post": 4, "lanes": 2,
                          "memory": "inferred", "pipelined_update": True}
    array = estimate_resources(**kw, design="o1_array")
    core = estimate_resources(**kw, design="o1_core", lif=SMALL_LIF)
    assert core["luts"] > array["luts"] and core["ffs"] > array["ffs"]
    assert core["ram_blocks"]["dp16kd"] >= array["ram_blocks"]["dp16kd"]
    assert core["dsps"] == array["dsps"] == 2 and core["memory"] == "inferred"


def test_board_records_ram_and_dsp_exact(judged: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    for rec, j in judged:
        p, m = j["predicted"], j["measured"]
        kinds = set(p["ram_blocks"]) | set(m["ram_blocks"])
        pred = {k: p["ram_blocks"].get(k, 0) for k in kinds}
        assert pred == {k: m["ram_blocks"].get(k, 0) for k in kinds}, rec["name"]
        # the array's products only: the LIF pipeline maps to no DSP block
        per_product = dsps_per_product(OnlineO1Config(**rec["config"]), rec["target"])
        assert p["dsps"] == m["dsps"] == rec["lanes"] * per_product, rec["name"]


def test_board_records_within_stated_errors(judged: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """LUT4 and FF of every board record within the arrays' stated errors (the LUT4 bound of its target)."""
    assert {rec["target"] for rec, _ in judged} <= set(STATED_ERRORS["luts"])
    for rec, j in judged:
        p, m, where = j["predicted"], j["measured"], f"{rec['board']} {rec['name']}"
        assert abs(p["ffs"] - m["ffs"]) <= STATED_ERRORS["ffs"] * m["ffs"], (where, p["ffs"], m["ffs"])
        bound = STATED_ERRORS["luts"][rec["target"]]
        assert abs(p["luts"] - m["luts"]) <= bound * m["luts"], (where, p["luts"], m["luts"], bound)
        assert all(j["within"].values()), (where, j["within"])
        # no Fmax is claimed for the core; the array-path value is an upper bound of what was measured
        assert p["fmax_mhz"] is None and m["fmax_max_mhz"] <= p["fmax_upper_bound_mhz"], (where, m)


def test_bad_inputs_are_named() -> None:
    base: dict[str, Any] = {"config": SMALL_O1, "target": "ice40-up5k", "n_pre": 8, "n_post": 4, "lanes": 2}
    with pytest.raises(ValueError, match=r"lif must be a FixedLIFConfig for design 'o1_core' .*not None"):
        estimate_resources(**base, design="o1_core")
    with pytest.raises(TypeError, match=r"lif must be a FixedLIFConfig, not dict"):
        estimate_resources(**base, design="o1_core", lif={})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"lif is for design 'o1_core' only; leave it None for design 'o1_array', "
                                         r"not FixedLIFConfig\("):
        estimate_resources(**base, design="o1_array", lif=SMALL_LIF)
    with pytest.raises(ValueError, match=r"n_active is for design 'o1_core' only; leave it None for design "
                                         r"'o1_array', not 3"):
        estimate_resources(**base, n_active=3)
    for bad in (-1, 9, 2.5, True):
        with pytest.raises(ValueError, match=rf"n_active must be an int in 0..n_pre=8, not {bad!r}"):
            estimate_resources(**base, design="o1_core", lif=SMALL_LIF, n_active=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"design 'o1_core' needs n_pre and n_post, or n_synapses"):
        estimate_resources(config=SMALL_O1, target="generic", design="o1_core", lif=SMALL_LIF)
    with pytest.raises(ValueError, match=r"lanes must be in 1..n_post=4, not 8"):
        estimate_resources(**{**base, "lanes": 8}, design="o1_core", lif=SMALL_LIF)
    with pytest.raises(ValueError, match=r"design must be one of \['o1_lane', 'o1_array', 'o1_core'\], not 'core'"):
        estimate_resources(**base, design="core")
    with pytest.raises(ValueError, match=r"weight_bits must be in 1..16 for the core's 32-bit SYN/reward words, "
                                         r"not 18"):  # the core's own parameter rule (check_core_params)
        estimate_resources(**{**base, "config": OnlineO1Config(18, 6, 4, 2, 2)}, design="o1_core", lif=SMALL_LIF)

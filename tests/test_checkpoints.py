"""``state_dict`` / ``load_state_dict``: run, save, continue vs. load into a fresh object and continue gives
identical results; unknown/missing keys, wrong shapes and dtypes are errors that name them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from plasticore.refmodel import (
    SGD,
    Adam,
    BPTTLearner,
    CosineScheduler,
    EligibilityTrace,
    HomeostasisParams,
    HomeostaticPlasticity,
    LIFNetwork,
    RewardModulatedLearner,
    RSTDPParams,
    ShortTermPlasticity,
    StepScheduler,
    StructuralParams,
    StructuralPlasticity,
    TBPTTLearner,
    WarmupCosineScheduler,
)


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = (rng.random((30, 3, 6)) < 0.3).astype(float)
    return x, rng.normal(0.0, 0.3, (30, 3, 2))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return bool(a == b)


LEARNERS: dict[str, Callable[[LIFNetwork], Any]] = {
    "bptt_adam_cosine": lambda n: BPTTLearner(n, optimizer=Adam(lr=0.01), scheduler=CosineScheduler(0.01, 0.001, 8)),
    "tbptt_sgd_momentum": lambda n: TBPTTLearner(n, k=7, optimizer=SGD(lr=0.05, momentum=0.9),
                                                 scheduler=StepScheduler(0.05, 3, 0.5)),
    "random_eprop": lambda n: EligibilityTrace(n, feedback="random", seed=4, optimizer=Adam(lr=0.01),
                                               scheduler=WarmupCosineScheduler(0.01, 0.0, 2, 8)),
}


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_learner_round_trip_continues_identically(name: str) -> None:
    x, y = _data()
    a = LEARNERS[name](LIFNetwork(6, 8, 2, seed=1))
    for _ in range(4):
        a.train_step(x, y)
    saved = a.state_dict()
    b = LEARNERS[name](LIFNetwork(6, 8, 2, seed=99))  # different weights and, for e-prop, the same feedback seed
    if name == "random_eprop":
        b.feedback_matrix = np.zeros_like(b.feedback_matrix)  # must come from the checkpoint
    b.load_state_dict(saved)
    assert _same(b.state_dict(), saved)
    la = [a.train_step(x, y) for _ in range(4)]
    lb = [b.train_step(x, y) for _ in range(4)]
    assert la == lb
    assert _same(a.state_dict(), b.state_dict())
    assert a.step_count == b.step_count == 8
    assert not _same(a.state_dict()["net"], saved["net"])  # training did move on after the save


def test_learner_load_errors_name_the_problem() -> None:
    net = LIFNetwork(6, 8, 2, seed=1)
    learner = BPTTLearner(net, optimizer=Adam(lr=0.01))
    learner.train_step(*_data())
    sd = learner.state_dict()
    with pytest.raises(ValueError, match=r"BPTTLearner state_dict has unknown keys \['junk'\]"):
        learner.load_state_dict({**sd, "junk": 0})
    with pytest.raises(ValueError, match=r"state_dict is for learner 'BPTTLearner', not 'TBPTTLearner'"):
        TBPTTLearner(LIFNetwork(6, 8, 2), optimizer=Adam(lr=0.01)).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"state_dict\['scheduler'\] is None, but this learner has a StepScheduler"):
        BPTTLearner(LIFNetwork(6, 8, 2), scheduler=StepScheduler(0.1, 2)).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"^state_dict is for optimizer 'Adam', not 'SGD'$"):
        BPTTLearner(LIFNetwork(6, 8, 2), optimizer=SGD()).load_state_dict(sd)


def test_network_state_dict_checks_keys_shapes_and_dtypes() -> None:
    net = LIFNetwork(6, 8, 2, seed=1)
    sd = net.state_dict()
    assert sorted(sd) == ["w_in", "w_out", "w_rec"] and sd["w_in"] is not net.weights["w_in"]
    other = LIFNetwork(6, 8, 2, seed=2)
    w_in = other.weights["w_in"]
    other.load_state_dict(sd)
    assert other.weights["w_in"] is w_in  # copied in place: an optimizer's references stay valid
    assert all(np.array_equal(sd[k], other.weights[k]) for k in sd)
    with pytest.raises(ValueError, match=r"LIFNetwork state_dict has missing keys \['w_rec'\]"):
        other.load_state_dict({k: v for k, v in sd.items() if k != "w_rec"})
    with pytest.raises(ValueError, match=r"LIFNetwork state_dict\['w_out'\] must have shape \(2, 8\), not \(8, 2\)"):
        other.load_state_dict({**sd, "w_out": sd["w_out"].T.copy()})
    with pytest.raises(TypeError, match=r"LIFNetwork state_dict\['w_in'\] must have dtype float64, not float32"):
        other.load_state_dict({**sd, "w_in": sd["w_in"].astype(np.float32)})


@pytest.mark.parametrize("make", [lambda: SGD(lr=0.1, momentum=0.5), lambda: Adam(lr=0.01, beta1=0.8)])
def test_optimizer_round_trip(make: Callable[[], Any]) -> None:
    rng = np.random.default_rng(0)
    grads = [{"a": rng.normal(size=(3, 2)), "b": rng.normal(size=4)} for _ in range(6)]
    wa = {"a": np.zeros((3, 2)), "b": np.ones(4)}
    opt = make()
    for g in grads[:3]:
        opt.apply(wa, g)
    saved = opt.state_dict()
    wb = {k: v.copy() for k, v in wa.items()}
    fresh = make()
    fresh.load_state_dict(saved)
    for g in grads[3:]:
        opt.apply(wa, g)
        fresh.apply(wb, g)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    with pytest.raises(ValueError, match=r"unknown keys \['bogus'\]"):
        fresh.load_state_dict({**saved, "bogus": 1})
    hyper = "momentum" if isinstance(opt, SGD) else "beta1"
    with pytest.raises(ValueError, match=f"has {hyper}=0.3, but this"):
        fresh.load_state_dict({**saved, hyper: 0.3})


def test_scheduler_load_state_dict_rejects_unknown_keys() -> None:
    s = CosineScheduler(0.1, 0.01, 10)
    s.step()
    sd = s.state_dict()
    json.dumps(sd)  # plain data
    with pytest.raises(ValueError, match=r"state_dict has unknown keys \['momentum'\] for CosineScheduler"):
        CosineScheduler(0.1, 0.01, 10).load_state_dict({**sd, "momentum": 0.9})
    t = CosineScheduler(0.1, 0.01, 10)
    t.load_state_dict(sd)
    assert [t.step() for _ in range(5)] == [s.step() for _ in range(5)]


def _run_rstdp(learner: RewardModulatedLearner, w: np.ndarray, stim: list[Any]) -> np.ndarray:
    for pre, post, r in stim:
        w = w + learner.step(pre, post, r, w)
    return w


def test_plasticity_rules_round_trip() -> None:
    rng = np.random.default_rng(5)
    # R-STDP
    stim = [(rng.random(4) < 0.3, rng.random(3) < 0.3, float(rng.normal())) for _ in range(80)]
    params = RSTDPParams(lr=0.05)
    a = RewardModulatedLearner(4, 3, params)
    w = _run_rstdp(a, np.full((3, 4), 0.5), stim[:40])
    b = RewardModulatedLearner(4, 3, params)
    b.load_state_dict(a.state_dict())
    assert np.array_equal(_run_rstdp(a, w, stim[40:]), _run_rstdp(b, w, stim[40:]))
    with pytest.raises(ValueError, match=r"RewardModulatedLearner state_dict\['eligibility'\] must have shape "
                                         r"\(3, 4\), not \(4, 3\)"):
        b.load_state_dict({**a.state_dict(), "eligibility": np.zeros((4, 3))})
    # homeostasis
    spikes = rng.random((200, 3)) < 0.05
    h1 = HomeostaticPlasticity(3, HomeostasisParams(tau_rate=50.0, tau_scale=500.0))
    wh = np.full((3, 2), 0.4)
    for z in spikes[:100]:
        wh = wh + h1.step(z, wh)
    h2 = HomeostaticPlasticity(3, HomeostasisParams(tau_rate=50.0, tau_scale=500.0))
    h2.load_state_dict(h1.state_dict())
    assert [h1.step(z, wh).tolist() for z in spikes[100:]] == [h2.step(z, wh).tolist() for z in spikes[100:]]
    with pytest.raises(ValueError, match=r"HomeostaticPlasticity state_dict has missing keys \['rate'\]"):
        h2.load_state_dict({})
    # short-term plasticity
    s1, s2 = ShortTermPlasticity(shape=3), ShortTermPlasticity(shape=3)
    for z in spikes[:50]:
        s1.step(z)
    s2.load_state_dict(s1.state_dict())
    assert [s1.step(z).tolist() for z in spikes[50:]] == [s2.step(z).tolist() for z in spikes[50:]]
    with pytest.raises(ValueError, match=r"ShortTermPlasticity state_dict\['x'\] must be in \[0.0, 1.0\], not 2.0"):
        s2.load_state_dict({"u": np.zeros(3), "x": np.full(3, 2.0)})


def test_structural_plasticity_round_trip_includes_the_generator() -> None:
    params = StructuralParams(n_pre=12, budget=4, w_prune=0.2, w_new=0.25)
    rng = np.random.default_rng(7)
    dws = [rng.normal(0.0, 0.2, (5, 4)) for _ in range(10)]
    a = StructuralPlasticity(5, params, seed=3, w_init=0.3)
    for dw in dws[:5]:
        a.apply(dw, 0.0, 1.0)
        a.rewire()
    saved = a.state_dict()
    json.dumps(saved["rng"])  # plain data
    b = StructuralPlasticity(5, params, seed=123, w_init=0.9)
    b.load_state_dict(saved)

    def rewired(sp: StructuralPlasticity) -> list[int]:
        out = []
        for dw in dws[5:]:
            sp.apply(dw, 0.0, 1.0)
            out.append(sp.rewire())
        return out

    na = rewired(a)
    nb = rewired(b)
    assert na == nb and sum(na) > 0  # rewiring happened, with the same random choices
    assert all(np.array_equal(x, y) for x, y in zip(a.conn, b.conn, strict=True))
    dup = saved["indices"].copy()
    dup[0, 1] = dup[0, 0]
    with pytest.raises(ValueError, match="indices must be distinct within each row"):
        b.load_state_dict({**saved, "indices": dup})
    with pytest.raises(ValueError, match=r"state_dict\['rng'\] must be the state of a PCG64 bit generator"):
        b.load_state_dict({**saved, "rng": {"bit_generator": "MT19937"}})

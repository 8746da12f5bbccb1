"""One learner convention: gradients at explicit weights, gradient transforms between gradient and optimizer,
local rules' Δw applied through an optimizer, ``step`` everywhere, explicit signatures, seeds or Generators."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from plasticore.refmodel import (
    SGD,
    BPTTLearner,
    ClipGradNorm,
    ClipGradValue,
    EligibilityTrace,
    GradientLearner,
    GradientTransform,
    LIFNetwork,
    ShortTermPlasticity,
    StructuralParams,
    StructuralPlasticity,
    TBPTTLearner,
    eprop_gradients,
    random_connectivity,
    tbptt_gradients,
)

Array = np.ndarray


def _data(seed: int = 0) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    return (rng.random((25, 2, 5)) < 0.3).astype(float), rng.normal(0.0, 0.3, (25, 2, 2))


@pytest.mark.parametrize("make", [lambda n: BPTTLearner(n), lambda n: TBPTTLearner(n, k=6),
                                  lambda n: EligibilityTrace(n, chunk=7)])
def test_gradients_at_explicit_weights_equal_gradients_of_a_network_holding_them(
        make: Callable[[LIFNetwork], Any]) -> None:
    x, y = _data()
    net = LIFNetwork(5, 7, 2, seed=1)
    other = LIFNetwork(5, 7, 2, seed=2).weights
    before = {k: v.copy() for k, v in net.weights.items()}
    loss, g = make(net).loss_and_gradients(x, y, weights=other)
    assert all(np.array_equal(net.weights[k], before[k]) for k in before)  # the network is untouched
    ref_net = LIFNetwork(5, 7, 2, seed=2)  # an independent network that holds those weights
    ref_loss, ref_g = make(ref_net).loss_and_gradients(x, y)
    assert loss == ref_loss and all(np.array_equal(g[k], ref_g[k]) for k in g)
    assert make(net).loss(x, y, weights=other) == pytest.approx(ref_loss, rel=1e-12)
    own_loss, _ = make(net).loss_and_gradients(x, y)
    assert own_loss != loss


def test_gradient_functions_take_weights_and_check_them() -> None:
    x, y = _data()
    net = LIFNetwork(5, 7, 2, seed=1)
    w = {k: v * 0.5 for k, v in net.weights.items()}
    l1, g1 = tbptt_gradients(net, x, y, 5, weights=w)
    l2, g2 = eprop_gradients(net, x, y, chunk=5, weights=w)
    assert np.isfinite(l1) and l1 == pytest.approx(l2, rel=1e-12)
    with pytest.raises(ValueError, match=r"^weights must be a dict with keys \['w_in', 'w_out', 'w_rec'\]"):
        tbptt_gradients(net, x, y, weights={"w_in": w["w_in"]})
    with pytest.raises(ValueError, match=r"^weights\['w_out'\] must have shape \(2, 7\)"):
        tbptt_gradients(net, x, y, weights={**w, "w_out": np.zeros((7, 2))})
    assert set(g1) == set(g2) == {"w_in", "w_rec", "w_out"}


def test_clip_grad_norm_matches_the_closed_form() -> None:
    g = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}  # global norm 5
    clip = ClipGradNorm(1.0)
    out = clip(g, {})
    assert clip.last_norm == 5.0
    assert np.array_equal(out["a"], np.array([3.0, 0.0]) * (1.0 / (5.0 + 1e-6)))
    assert np.array_equal(out["b"], np.array([[4.0]]) * (1.0 / (5.0 + 1e-6)))
    assert np.array_equal(ClipGradNorm(10.0)(g, {})["a"], g["a"])  # below the limit: unchanged
    assert np.array_equal(ClipGradValue(2.0)(g, {})["b"], np.array([[2.0]]))
    with pytest.raises(ValueError, match=r"^max_norm must be a finite number in \(0, inf\), not 0$"):
        ClipGradNorm(0)
    assert isinstance(clip, GradientTransform)


class Proximal:
    """A FedProx-like transform ``g + mu (w - w_ref)`` that also records what it was called with."""

    def __init__(self, mu: float, ref: Mapping[str, Array]) -> None:
        self.mu, self.ref = mu, {k: v.copy() for k, v in ref.items()}
        self.seen: list[dict[str, Array]] = []

    def __call__(self, grads: dict[str, Array], weights: Mapping[str, Array]) -> dict[str, Array]:
        self.seen.append({k: v.copy() for k, v in weights.items()})
        return {k: grads[k] + self.mu * (weights[k] - self.ref[k]) for k in grads}


def test_transforms_run_in_order_between_gradient_and_optimizer() -> None:
    x, y = _data()
    net = LIFNetwork(5, 7, 2, seed=1)
    w0 = {k: v.copy() for k, v in net.weights.items()}
    ref = {k: np.zeros_like(v) for k, v in w0.items()}
    prox = Proximal(0.5, ref)
    learner = BPTTLearner(net, optimizer=SGD(lr=0.1), transforms=[prox, ClipGradValue(0.05)])
    _, g = learner.loss_and_gradients(x, y)
    learner.train_step(x, y)
    assert all(np.array_equal(prox.seen[0][k], w0[k]) for k in w0)  # got the weights the gradient was taken at
    for k in w0:  # hand formula: w - lr * clip(g + mu (w - 0), 0.05)
        want = w0[k] - 0.1 * np.clip(g[k] + 0.5 * w0[k], -0.05, 0.05)
        np.testing.assert_array_equal(net.weights[k], want)
    with pytest.raises(TypeError, match=r"^transforms\[0\] must be a \(grads, weights\) -> grads callable, not int"):
        BPTTLearner(net, transforms=[3])  # type: ignore[list-item]


def test_local_updates_go_through_the_optimizer_exactly() -> None:
    rng = np.random.default_rng(0)
    w, dw = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    got = w.copy()
    SGD(lr=1.0).apply_delta({"w": got}, {"w": dw})
    assert np.array_equal(got, w + dw)  # bit-exact
    got = w.copy()
    SGD(lr=1.0).apply_delta({"w": got}, {"w": dw}, bounds=(-0.5, 0.5))
    assert np.array_equal(got, np.clip(w + dw, -0.5, 0.5))
    params = StructuralParams(n_pre=8, budget=3)
    sp = StructuralPlasticity(4, params, seed=0, w_init=0.2)
    d = rng.normal(0.0, 0.3, (4, 3))
    sp.apply(d, 0.0, 1.0)
    assert np.array_equal(sp.weights, np.clip(0.2 + d, 0.0, 1.0))
    sp.apply(d, 0.0, 1.0, optimizer=SGD(lr=0.5))  # another optimizer: w - 0.5 * (-dw)
    assert np.array_equal(sp.weights, np.clip(np.clip(0.2 + d, 0.0, 1.0) + 0.5 * d, 0.0, 1.0))


def test_short_term_plasticity_step_and_its_seed_alias_update() -> None:
    a, b = ShortTermPlasticity(u_se=0.5, tau_d=100.0, tau_f=50.0), ShortTermPlasticity(u_se=0.5, tau_d=100.0,
                                                                                    tau_f=50.0)
    spikes = [True, False, True, True, False, True]
    assert [float(a.step([s])[0]) for s in spikes] == [float(b.update([s])[0]) for s in spikes]
    assert float(ShortTermPlasticity(u_se=0.5, tau_d=800.0, tau_f=0.0).step([True])[0]) == 0.5  # first release U


@pytest.mark.parametrize("cls", [GradientLearner, BPTTLearner, TBPTTLearner, EligibilityTrace])
def test_learner_signatures_are_explicit(cls: type) -> None:
    params = inspect.signature(cls).parameters.values()
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    names = {p.name for p in params}
    assert "net" in names
    assert {"loss", "optimizer", "scheduler", "callbacks", "transforms"} <= names


def test_randomness_is_a_seed_or_a_generator() -> None:
    a, b = LIFNetwork(4, 5, 2, seed=3), LIFNetwork(4, 5, 2, seed=np.random.default_rng(3))
    assert all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)
    gen = np.random.default_rng(9)
    params = StructuralParams(n_pre=10, budget=3)
    c1 = random_connectivity(4, params, gen, 0.1)
    c2 = random_connectivity(4, params, 9, 0.1)
    assert np.array_equal(c1.indices, c2.indices)
    net = LIFNetwork(4, 5, 2)
    e1 = EligibilityTrace(net, feedback="random", seed=5).feedback_matrix
    e2 = EligibilityTrace(net, feedback="random", seed=np.random.default_rng(5)).feedback_matrix
    assert e1 is not None and e2 is not None and np.array_equal(e1, e2)
    assert e1.std() == pytest.approx(1 / math.sqrt(5), rel=0.5)
    with pytest.raises(TypeError, match=r"^seed must be an int seed >= 0 or a numpy.random.Generator, not str"):
        LIFNetwork(4, 5, 2, seed="0")  # type: ignore[arg-type]

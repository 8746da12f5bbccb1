"""MAML, first-order MAML and Reptile, and the exact Hessian-vector products they rest on, checked against
PyTorch double backward (float64, a custom spike function whose backward uses differentiable torch ops, the
reset detached as in the model), central differences and closed forms."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from torch_oracle import lif_readout, spike_function

from plasticore.refmodel import MLP, SGD, BPTTLearner, LIFNetwork, MetaLearner, Reptile
from plasticore.refmodel.hessian import surrogate_derivative
from plasticore.refmodel.surrogates import get_surrogate

torch: Any = pytest.importorskip("torch")

Grads = dict[str, np.ndarray]


def rel_err(a: Grads, b: Grads) -> float:
    assert set(a) == set(b)
    return max(float(np.abs(a[k] - b[k]).max() / max(np.abs(b[k]).max(), 1e-300)) for k in a)


def torch_psi(name: str, u: Any, slope: float) -> Any:
    if name == "fast_sigmoid":
        return 1.0 / (slope * u.abs() + 1.0) ** 2
    if name == "arctan":
        return 1.0 / (1.0 + (math.pi * slope * u / 2.0) ** 2)
    if name == "triangle":
        return torch.clamp(1.0 - slope * u.abs(), min=0.0)
    s = torch.sigmoid(slope * u)
    return slope * s * (1.0 - s)


def torch_lif_loss(net: LIFNetwork, w: dict[str, Any], x: np.ndarray, tgt: np.ndarray, loss: str) -> Any:
    name, slope = net.surrogate_name, net.surrogate_slope

    Spike = spike_function(torch, lambda u: torch_psi(name, u, slope))  # in torch: double backward sees psi'

    y_all = lif_readout(torch, Spike, w, torch.from_numpy(x), net.params)
    if loss == "mse":
        return 0.5 * ((y_all - torch.from_numpy(tgt)) ** 2).sum() / x.shape[1]
    return torch.nn.functional.cross_entropy(y_all.sum(0), torch.from_numpy(tgt))


def torch_mlp_loss(w: dict[str, Any], x: np.ndarray, y: np.ndarray, n_layers: int) -> Any:
    h = torch.from_numpy(x)
    for layer in range(1, n_layers + 1):
        h = h @ w[f"w{layer}"].T + w[f"b{layer}"]
        if layer < n_layers:
            h = torch.relu(h)
    return 0.5 * ((h - torch.from_numpy(y)) ** 2).sum() / x.shape[0]


def torch_maml(loss_fn: Any, weights: Grads, tasks: list[tuple[Any, ...]], alpha: float, steps: int,
               first_order: bool) -> tuple[float, Grads]:
    theta = {k: torch.tensor(v, requires_grad=True) for k, v in weights.items()}
    total: Any = 0.0
    for sx, sy, qx, qy in tasks:
        phi = dict(theta)
        for _ in range(steps):
            g = torch.autograd.grad(loss_fn(phi, sx, sy), list(phi.values()), create_graph=not first_order)
            phi = {k: p - alpha * gk for (k, p), gk in zip(phi.items(), g, strict=True)}
        total = total + loss_fn(phi, qx, qy)
    total = total / len(tasks)
    grads = torch.autograd.grad(total, list(theta.values()))
    return float(total.detach()), {k: g.numpy() for k, g in zip(theta, grads, strict=True)}


def lif_tasks(n_tasks: int, loss: str, seed: int = 0, n_t: int = 20, batch: int = 3,
              n_in: int = 5, n_out: int = 2) -> list[tuple[Any, ...]]:
    rng = np.random.default_rng(seed)
    tasks = []
    for _ in range(n_tasks):
        parts: list[Any] = []
        for _ in range(2):
            parts.append((rng.random((n_t, batch, n_in)) < 0.4).astype(np.float64))
            parts.append(rng.standard_normal((n_t, batch, n_out)) if loss == "mse"
                         else rng.integers(0, n_out, batch))
        tasks.append(tuple(parts))
    return tasks


def make_lif(recurrent: bool = True, surrogate: str = "fast_sigmoid") -> LIFNetwork:
    return LIFNetwork(5, 8, 2, recurrent=recurrent, surrogate=surrogate, surrogate_slope=5.0, seed=4)


# ---- Hessian-vector products ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["fast_sigmoid", "arctan", "triangle", "sigmoid"])
def test_surrogate_derivative_is_the_derivative_of_the_surrogate(name: str) -> None:
    u = np.linspace(-0.9, 0.9, 37) + 1e-3  # avoid the kinks at 0 and +-1/slope
    h = 1e-6
    fd = (get_surrogate(name)(u + h, 2.0) - get_surrogate(name)(u - h, 2.0)) / (2 * h)
    assert np.allclose(surrogate_derivative(name)(u, 2.0), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("recurrent", [True, False])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "arctan", "triangle", "sigmoid"])
def test_lif_hvp_matches_torch_double_backward(recurrent: bool, loss: str, surrogate: str) -> None:
    net = make_lif(recurrent, surrogate)
    sx, sy, _, _ = lif_tasks(1, loss, seed=2)[0]
    rate = float(net.forward(sx)[0].z.mean())
    assert 0.02 < rate < 0.7, rate
    rng = np.random.default_rng(9)
    vec = {k: rng.standard_normal(v.shape) for k, v in net.weights.items()}
    w = {k: torch.tensor(v, requires_grad=True) for k, v in net.weights.items()}
    g = torch.autograd.grad(torch_lif_loss(net, w, sx, sy, loss), list(w.values()), create_graph=True)
    dot = sum((gi * torch.from_numpy(vec[k])).sum() for gi, k in zip(g, w, strict=True))
    ref = {k: h.numpy() for k, h in zip(w, torch.autograd.grad(dot, list(w.values())), strict=True)}
    hvp = BPTTLearner(net, loss=loss).hessian_vector_product(sx, sy, vec)
    assert rel_err(hvp, ref) < 1e-9


def test_lif_hvp_is_linear_and_symmetric() -> None:
    net = make_lif()
    sx, sy, _, _ = lif_tasks(1, "mse", seed=3)[0]
    learner = BPTTLearner(net)
    rng = np.random.default_rng(1)
    a = {k: rng.standard_normal(v.shape) for k, v in net.weights.items()}
    b = {k: rng.standard_normal(v.shape) for k, v in net.weights.items()}
    ha, hb = learner.hessian_vector_product(sx, sy, a), learner.hessian_vector_product(sx, sy, b)
    dot = lambda p, q: sum(float(np.vdot(p[k], q[k])) for k in p)  # noqa: E731
    assert dot(a, hb) == pytest.approx(dot(b, ha), rel=1e-10)  # b^T H a = a^T H b
    h2 = learner.hessian_vector_product(sx, sy, {k: 2.0 * a[k] - b[k] for k in a})
    assert rel_err(h2, {k: 2.0 * ha[k] - hb[k] for k in a}) < 1e-10


def mlp_data(seed: int = 0, batch: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5, 5, (batch, 1))
    return x, 2.0 * np.sin(x + 0.5)


def test_mlp_gradient_and_hvp_match_torch_and_central_differences() -> None:
    mlp = MLP((1, 12, 9, 1), seed=3)
    x, y = mlp_data()
    rng = np.random.default_rng(2)
    vec = {k: rng.standard_normal(v.shape) for k, v in mlp.weights.items()}
    w = {k: torch.tensor(v, requires_grad=True) for k, v in mlp.weights.items()}
    lt = torch_mlp_loss(w, x, y, 3)
    g = torch.autograd.grad(lt, list(w.values()), create_graph=True)
    dot = sum((gi * torch.from_numpy(vec[k])).sum() for gi, k in zip(g, w, strict=True))
    ref_h = {k: h.numpy() for k, h in zip(w, torch.autograd.grad(dot, list(w.values())), strict=True)}
    value, grads = mlp.loss_and_gradients(x, y)
    assert value == pytest.approx(float(lt.detach()), rel=1e-12)
    assert rel_err(grads, {k: gi.detach().numpy() for k, gi in zip(w, g, strict=True)}) < 1e-12
    hvp = mlp.hessian_vector_product(x, y, vec)
    assert rel_err(hvp, ref_h) < 1e-10
    eps = 1e-5  # central difference of the gradient along vec (ReLU is piecewise linear: exact up to O(eps^2))
    gp = mlp.gradients(x, y, {k: mlp.weights[k] + eps * vec[k] for k in vec})
    gm = mlp.gradients(x, y, {k: mlp.weights[k] - eps * vec[k] for k in vec})
    assert rel_err(hvp, {k: (gp[k] - gm[k]) / (2 * eps) for k in vec}) < 1e-6


def test_mlp_per_sample_gradients_sum_to_the_batch_gradient() -> None:
    mlp = MLP((1, 8, 1), seed=1)
    x, y = mlp_data(batch=7)
    per = mlp.per_sample_gradients(x, y)
    g = mlp.gradients(x, y)
    assert all(np.allclose(per[k].mean(axis=0), g[k], rtol=1e-12, atol=1e-14) for k in g)


# ---- MAML meta-gradients -------------------------------------------------------------------------------

@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("steps", [2, 3])
@pytest.mark.parametrize("recurrent", [True, False])
def test_lif_meta_gradient_matches_torch(first_order: bool, steps: int, recurrent: bool) -> None:
    net = make_lif(recurrent)
    tasks = lif_tasks(2, "mse", seed=5)
    alpha = 0.05
    ref_loss, ref = torch_maml(lambda w, a, b: torch_lif_loss(net, w, a, b, "mse"), net.weights, tasks,
                               alpha, steps, first_order)
    meta = MetaLearner(net, inner_lr=alpha, inner_steps=steps, first_order=first_order)
    value, grads = meta.meta_loss_and_gradient(tasks)
    assert value == pytest.approx(ref_loss, rel=1e-10)
    assert rel_err(grads, ref) < 1e-6  # the bound; in practice ~1e-12


def test_lif_meta_gradient_cross_entropy_matches_torch() -> None:
    net = make_lif()
    tasks = lif_tasks(2, "cross_entropy", seed=6)
    ref_loss, ref = torch_maml(lambda w, a, b: torch_lif_loss(net, w, a, b, "cross_entropy"), net.weights,
                               tasks, 0.5, 2, False)
    value, grads = MetaLearner(net, inner_lr=0.5, inner_steps=2, loss="cross_entropy").meta_loss_and_gradient(
        tasks)
    assert value == pytest.approx(ref_loss, rel=1e-10)
    assert rel_err(grads, ref) < 1e-6


@pytest.mark.parametrize("first_order", [False, True])
def test_mlp_meta_gradient_matches_torch_and_differs_between_orders(first_order: bool) -> None:
    mlp = MLP((1, 16, 16, 1), seed=2)
    tasks = []
    for s in range(3):
        sx, sy = mlp_data(seed=10 + s)
        qx, qy = mlp_data(seed=20 + s)
        tasks.append((sx, sy, qx, qy))
    ref_loss, ref = torch_maml(lambda w, a, b: torch_mlp_loss(w, a, b, 3), mlp.weights, tasks, 0.02, 2,
                               first_order)
    value, grads = MetaLearner(mlp, inner_lr=0.02, inner_steps=2, first_order=first_order
                               ).meta_loss_and_gradient(tasks)
    assert value == pytest.approx(ref_loss, rel=1e-12)
    assert rel_err(grads, ref) < 1e-9
    other = MetaLearner(mlp, inner_lr=0.02, inner_steps=2, first_order=not first_order
                        ).meta_loss_and_gradient(tasks)[1]
    assert rel_err(grads, other) > 1e-2  # the Hessian term matters here


def test_second_order_differs_from_first_order_on_lif() -> None:
    net = make_lif()
    tasks = lif_tasks(2, "mse", seed=5)
    so = MetaLearner(net, inner_lr=0.05, inner_steps=2).meta_loss_and_gradient(tasks)
    fo = MetaLearner(net, inner_lr=0.05, inner_steps=2, first_order=True).meta_loss_and_gradient(tasks)
    assert so[0] == fo[0]  # same adapted weights, same query loss
    assert rel_err(so[1], fo[1]) > 1e-3


def test_adapt_is_plain_gradient_descent_and_leaves_the_network_alone() -> None:
    mlp = MLP((1, 6, 1), seed=0)
    x, y = mlp_data()
    before = mlp.state_dict()
    meta = MetaLearner(mlp, inner_lr=0.1, inner_steps=2)
    phi = meta.adapt(x, y)
    w1 = {k: before[k] - 0.1 * g for k, g in mlp.gradients(x, y, before).items()}
    w2 = {k: w1[k] - 0.1 * g for k, g in mlp.gradients(x, y, w1).items()}
    assert all(np.array_equal(phi[k], w2[k]) for k in phi)
    assert all(np.array_equal(mlp.weights[k], before[k]) for k in before)
    same = meta.inner_loop(x, y, steps=0)
    assert all(np.array_equal(same[k], before[k]) for k in before)
    assert mlp.loss(x, y, phi) < mlp.loss(x, y)


def test_outer_step_applies_the_meta_gradient_with_the_optimizer() -> None:
    mlp = MLP((1, 6, 1), seed=0)
    sx, sy = mlp_data(1)
    qx, qy = mlp_data(2)
    before = mlp.state_dict()
    meta = MetaLearner(mlp, inner_lr=0.05, outer_optimizer=SGD(lr=0.3))
    value, g = meta.meta_loss_and_gradient([(sx, sy, qx, qy)])
    assert meta.outer_step([(sx, sy, qx, qy)]) == value
    assert all(np.allclose(mlp.weights[k], before[k] - 0.3 * g[k], rtol=0, atol=1e-15) for k in g)
    state = meta.state_dict()
    other = MetaLearner(MLP((1, 6, 1), seed=9), inner_lr=0.05, outer_optimizer=SGD(lr=0.3))
    other.load_state_dict(state)
    assert other.step_count == 1 and all(np.array_equal(other.weights[k], mlp.weights[k]) for k in g)


def test_reptile_moves_toward_the_adapted_weights() -> None:
    mlp = MLP((1, 6, 1), seed=0)
    tasks = [(*mlp_data(s), None, None) for s in range(3)]
    before = mlp.state_dict()
    rep = Reptile(mlp, inner_lr=0.05, outer_lr=0.5, inner_steps=3)
    phis = [rep.adapt(t[0], t[1]) for t in tasks]
    rep.outer_step(tasks)
    for k in before:
        want = before[k] + 0.5 * (np.mean([p[k] for p in phis], axis=0) - before[k])
        assert np.allclose(mlp.weights[k], want, rtol=0, atol=1e-14)


def test_bad_arguments_are_named_errors() -> None:
    net = make_lif()
    with pytest.raises(ValueError, match="inner_lr must be"):
        MetaLearner(net, inner_lr=0.0)
    with pytest.raises(ValueError, match="inner_steps must be"):
        MetaLearner(net, inner_steps=0)
    with pytest.raises(TypeError, match="first_order must be a bool"):
        MetaLearner(net, first_order=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="network must be"):
        MetaLearner(object())
    meta = MetaLearner(net)
    with pytest.raises(ValueError, match="tasks must be a non-empty list"):
        meta.meta_loss_and_gradient([])
    sx, sy, qx, qy = lif_tasks(1, "mse")[0]
    with pytest.raises(ValueError, match=r"tasks\[0\]: inputs must have shape \(T, batch, 5\)"):
        meta.meta_loss_and_gradient([(sx[:, :, :3], sy, qx, qy)])
    with pytest.raises(ValueError, match=r"tasks\[1\]: targets for loss 'mse' must have shape"):
        meta.meta_loss_and_gradient([(sx, sy, qx, qy), (sx, sy, qx, qy[:, :, :1])])
    with pytest.raises(TypeError, match="single task tuple"):
        meta.meta_loss_and_gradient((sx, sy, qx, qy))


def _bench() -> Any:
    from tool_loader import load_tool

    return load_tool("meta_learning_benchmark")


@pytest.mark.parametrize("first_order", [False, True])
def test_sinusoid_meta_training_learns_to_adapt_in_one_step(first_order: bool) -> None:
    """Short seeded version of Finn et al. 2017's sinusoid benchmark (800 meta-iterations of 10 tasks,
    Adam 3e-3, ~10 s): after one inner step the 10-shot query MSE on 200 held-out tasks must be below 1.6
    (zero predictor ~4.2, the same run with a vanishing inner step ~2.5) and below 60% of the MSE before
    adaptation. The full run is tools/meta_learning_benchmark.py."""
    bench = _bench()
    ev = bench.sample_tasks(np.random.default_rng(123), 200, 10, 100)
    rng = np.random.default_rng(0)
    mlp = MLP((1, 40, 40, 1), seed=0)
    meta = MetaLearner(mlp, inner_lr=bench.INNER_LR, first_order=first_order,
                       outer_optimizer=bench.Adam(3e-3))
    for _ in range(800):
        meta.outer_step(bench.sample_tasks(rng, 10))
    before, after = bench.evaluate(mlp, ev, 0), bench.evaluate(mlp, ev, 1)
    assert after < 1.6, after
    assert after < 0.6 * before, (before, after)


def _pattern_task(rng: np.random.Generator, n_in: int = 20, n_t: int = 12, n_way: int = 2, k_shot: int = 5,
                  n_query: int = 10) -> tuple[Any, ...]:
    """An N-way K-shot task: each class a fresh random binary rate pattern (0.5 or 0.02 per channel),
    Poisson-encoded over ``n_t`` steps; labels are arbitrary per task."""
    protos = np.where(rng.random((n_way, n_in)) < 0.5, 0.5, 0.02)

    def sample(k: int) -> tuple[np.ndarray, np.ndarray]:
        lab = np.repeat(np.arange(n_way), k)
        return (rng.random((n_t, lab.size, n_in)) < protos[lab][None]).astype(np.float64), lab.astype(np.int64)

    return (*sample(k_shot), *sample(n_query))


def test_spiking_few_shot_meta_learned_init_beats_the_plain_init() -> None:
    """2-way 5-shot classification of Poisson patterns on a feed-forward LIFNetwork, one inner step of 0.01
    (cross-entropy): after 300 second-order MAML iterations (8 tasks each, ~6 s) the meta-learned init,
    adapted with that same step, must beat the plain (random) init adapted the same way by >= 20 points of
    query accuracy on 100 held-out tasks (measured: 0.64 -> 0.95)."""
    from plasticore.refmodel import Adam, accuracy

    net = LIFNetwork(20, 20, 2, recurrent=False, seed=0)
    meta = MetaLearner(net, inner_lr=0.01, inner_steps=1, loss="cross_entropy", outer_optimizer=Adam(3e-3))
    held_out = [_pattern_task(np.random.default_rng(1000 + i)) for i in range(100)]

    def query_accuracy() -> float:
        return float(np.mean([accuracy(net.forward(qx, weights=meta.adapt(sx, sy))[0].y, qy)
                              for sx, sy, qx, qy in held_out]))

    plain = query_accuracy()
    rng = np.random.default_rng(0)
    for _ in range(300):
        meta.outer_step([_pattern_task(rng) for _ in range(8)])
    learned = query_accuracy()
    assert learned >= plain + 0.20, (plain, learned)

"""Gradient correctness of BPTT, truncated BPTT and e-prop, checked against independent references:
PyTorch autodiff (float64), forward-mode RTRL written here in NumPy, finite differences, and exact
identities between the learners (TBPTT with k >= T is BPTT; e-prop is BPTT without recurrence)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from torch_oracle import spike_function

from plasticore.refmodel.callbacks import CSVCallback
from plasticore.refmodel.gradient_learners import (
    BPTTLearner,
    EligibilityTrace,
    EPropLearner,
    EPropParams,
    EPropState,
    TBPTTLearner,
    eprop_gradients,
    eprop_initial_state,
    eprop_state_gradients,
    eprop_step,
    tbptt_gradients,
)
from plasticore.refmodel.lif import LIFNetwork, lif_scan
from plasticore.refmodel.losses import (
    LossKind,
    accuracy,
    check_targets,
    cross_entropy_error,
    cross_entropy_loss,
    mse_loss,
)
from plasticore.refmodel.optimizers import SGD, Adam
from plasticore.refmodel.schedulers import WarmupCosineScheduler

Grads = dict[str, np.ndarray]
N_IN, N_REC, N_OUT, T, B = 6, 10, 3, 37, 4


def make_net(recurrent: bool = True, surrogate: str = "fast_sigmoid", seed: int = 3) -> LIFNetwork:
    return LIFNetwork(N_IN, N_REC, N_OUT, recurrent=recurrent, surrogate=surrogate, surrogate_slope=5.0,
                      seed=seed)


def make_data(seed: int = 1, n_t: int = T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = (rng.random((n_t, B, N_IN)) < 0.35).astype(np.float64)
    targets = rng.standard_normal((n_t, B, N_OUT))
    labels = rng.integers(0, N_OUT, B)
    return x, targets, labels


def rel_err(a: Grads, b: Grads) -> float:
    assert set(a) == set(b)
    return max(float(np.abs(a[k] - b[k]).max() / np.abs(b[k]).max()) for k in a)


def check_nontrivial(net: LIFNetwork, x: np.ndarray) -> None:
    """The comparisons mean something only if neurons spike but do not saturate."""
    rate = float(net.forward(x)[0].z.mean())
    assert 0.02 < rate < 0.6, rate


# ---------------------------------------------------------------------------------------------------------
# Independent reference 1: PyTorch autodiff (float64), written directly from the model equations.

def torch_gradients(net: LIFNetwork, x: np.ndarray, target: np.ndarray, loss: str, *,
                    window: int | None = None, detach_recurrent: bool = False,
                    feedback: np.ndarray | None = None) -> tuple[float, Grads]:
    """Autodiff gradient. ``window``: detach (v, z, y) every ``window`` steps (truncated BPTT).
    ``detach_recurrent``: z_{t-1} in W_rec z_{t-1} is a constant (what e-prop computes exactly).
    ``feedback``: the spikes' gradient from the readout goes through ``feedback`` instead of W_out^T."""
    torch = pytest.importorskip("torch")
    surrogate, slope = net.surrogate, net.surrogate_slope

    Spike = spike_function(torch, lambda u: torch.from_numpy(surrogate(u.detach().numpy(), slope)))

    w = {k: torch.tensor(v, requires_grad=True) for k, v in net.weights.items()}
    alpha, kappa, theta = net.params
    xt = torch.from_numpy(x)
    fb = None if feedback is None else torch.from_numpy(feedback)
    v = torch.zeros(x.shape[1], net.n_rec, dtype=torch.float64)
    z = torch.zeros_like(v)
    y = torch.zeros(x.shape[1], net.n_out, dtype=torch.float64)
    ys = []
    for t in range(x.shape[0]):
        if window is not None and t % window == 0:
            v, z, y = v.detach(), z.detach(), y.detach()
        v_new = alpha * v + xt[t] @ w["w_in"].T - theta * z.detach()
        if "w_rec" in w:
            v_new = v_new + (z.detach() if detach_recurrent else z) @ w["w_rec"].T
        v = v_new
        z = Spike.apply(v - theta)
        if fb is None:
            drive = z @ w["w_out"].T
        else:
            drive = z.detach() @ w["w_out"].T + (z @ fb - (z @ fb).detach())
        y = kappa * y + drive
        ys.append(y)
    y_all = torch.stack(ys)
    if loss == "mse":
        value = 0.5 * ((y_all - torch.from_numpy(target)) ** 2).sum() / x.shape[1]
    else:
        value = torch.nn.functional.cross_entropy(y_all.sum(0), torch.from_numpy(target))
    value.backward()
    return float(value.detach()), {k: p.grad.numpy().copy() for k, p in w.items()}


@pytest.mark.parametrize("recurrent", [True, False])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "arctan", "triangle"])
def test_bptt_matches_torch_autodiff(recurrent: bool, loss: str, surrogate: str) -> None:
    net = make_net(recurrent, surrogate)
    x, targets, labels = make_data()
    check_nontrivial(net, x)
    tgt = targets if loss == "mse" else labels
    ref_loss, ref = torch_gradients(net, x, tgt, loss)
    value, grads = BPTTLearner(net, loss=loss).loss_and_gradients(x, tgt)
    assert value == pytest.approx(ref_loss, rel=1e-12)
    assert rel_err(grads, ref) < 1e-9


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("k", [1, 5, 12])
def test_tbptt_matches_torch_with_detached_windows(loss: str, k: int) -> None:
    net = make_net()
    x, targets, labels = make_data()
    tgt = targets if loss == "mse" else labels
    ref_loss, ref = torch_gradients(net, x, tgt, loss, window=k)
    value, grads = TBPTTLearner(net, k=k, loss=loss).loss_and_gradients(x, tgt)
    assert value == pytest.approx(ref_loss, rel=1e-12)
    assert rel_err(grads, ref) < 1e-9
    # truncation matters for a recurrent net: the full gradient is measurably different
    assert rel_err(grads, BPTTLearner(net, loss=loss).gradients(x, tgt)) > 1e-3


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("feedback", ["symmetric", "random"])
def test_eprop_matches_torch_with_detached_recurrence(loss: str, feedback: str) -> None:
    """With recurrence, e-prop is exactly the gradient in which z_{t-1} feeding W_rec is a constant
    (Bellec et al. 2020: the learning signal ignores paths through other neurons); random e-prop routes
    the readout error through a fixed random matrix instead of W_out^T."""
    net = make_net()
    x, targets, labels = make_data()
    tgt = targets if loss == "mse" else labels
    learner = EligibilityTrace(net, loss=loss, feedback=feedback, chunk=8, seed=5)
    ref_loss, ref = torch_gradients(net, x, tgt, loss, detach_recurrent=True,
                                    feedback=learner.feedback_matrix)
    value, grads = learner.loss_and_gradients(x, tgt)
    assert value == pytest.approx(ref_loss, rel=1e-12)
    assert rel_err(grads, ref) < 1e-9


# ---------------------------------------------------------------------------------------------------------
# Independent reference 2 (no torch needed): forward-mode RTRL, dv_t/dtheta propagated forward in time.

def rtrl_gradients(net: LIFNetwork, x: np.ndarray, targets: np.ndarray) -> Grads:
    """MSE gradient by real-time recurrent learning: J_v = dv/dW, J_y = dy/dW, per sample and parameter."""
    w = net.weights
    alpha, kappa, theta = net.params
    n_t, batch = x.shape[0], x.shape[1]
    n, o = net.n_rec, net.n_out
    keys = list(w)
    sizes = [w[k].size for k in keys]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    n_par = int(offsets[-1])
    j_v = np.zeros((batch, n, n_par))
    j_y = np.zeros((batch, o, n_par))
    v, z, y = np.zeros((batch, n)), np.zeros((batch, n)), np.zeros((batch, o))
    j_z = np.zeros((batch, n, n_par))  # dz_{t-1}/dW
    grad = np.zeros(n_par)
    for t in range(n_t):
        direct_v = np.zeros((batch, n, n_par))  # explicit dependence of v_t on the weights
        off = offsets[keys.index("w_in")]
        for j in range(n):
            direct_v[:, j, off + j * net.n_in: off + (j + 1) * net.n_in] = x[t]
        if "w_rec" in w:
            off = offsets[keys.index("w_rec")]
            for j in range(n):
                direct_v[:, j, off + j * n: off + (j + 1) * n] = z
        j_v = alpha * j_v + direct_v
        if "w_rec" in w:
            j_v += np.einsum("ji,bip->bjp", w["w_rec"], j_z)
        v = alpha * v + x[t] @ w["w_in"].T - theta * z + (z @ w["w_rec"].T if "w_rec" in w else 0.0)
        z = (v > theta).astype(np.float64)
        j_z = net.surrogate(v - theta, net.surrogate_slope)[:, :, None] * j_v
        direct_y = np.zeros((batch, o, n_par))
        off = offsets[keys.index("w_out")]
        for k in range(o):
            direct_y[:, k, off + k * n: off + (k + 1) * n] = z
        j_y = kappa * j_y + direct_y + np.einsum("kj,bjp->bkp", w["w_out"], j_z)
        y = kappa * y + z @ w["w_out"].T
        grad += np.einsum("bk,bkp->p", (y - targets[t]) / batch, j_y)
    return {k: grad[offsets[i]:offsets[i + 1]].reshape(w[k].shape) for i, k in enumerate(keys)}


@pytest.mark.parametrize("recurrent", [True, False])
def test_bptt_matches_forward_mode_rtrl(recurrent: bool) -> None:
    net = make_net(recurrent)
    x, targets, _ = make_data(n_t=20)
    assert rel_err(BPTTLearner(net).gradients(x, targets), rtrl_gradients(net, x, targets)) < 1e-10


# ---------------------------------------------------------------------------------------------------------
# Finite differences: the loss is exactly quadratic in W_out (spikes do not depend on it).

@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_readout_gradient_matches_finite_differences(loss: str) -> None:
    net = make_net()
    x, targets, labels = make_data()
    tgt = targets if loss == "mse" else labels
    learner = BPTTLearner(net, loss=loss)
    g = learner.gradients(x, tgt)["w_out"]
    w_out = net.weights["w_out"]
    fd = np.zeros_like(w_out)
    h = 1e-5
    for idx in np.ndindex(*w_out.shape):
        w0 = w_out[idx]
        w_out[idx] = w0 + h
        up = learner.loss(x, tgt)
        w_out[idx] = w0 - h
        down = learner.loss(x, tgt)
        w_out[idx] = w0
        fd[idx] = (up - down) / (2 * h)
    assert np.abs(fd - g).max() / np.abs(g).max() < 1e-7


def test_cross_entropy_error_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    logits, labels = rng.standard_normal((5, 4)) * 3, rng.integers(0, 4, 5)
    err = cross_entropy_error(logits, labels)
    fd = np.zeros_like(logits)
    for idx in np.ndindex(*logits.shape):
        d = np.zeros_like(logits)
        d[idx] = 1e-6
        fd[idx] = (cross_entropy_loss(logits + d, labels) - cross_entropy_loss(logits - d, labels)) / 2e-6
    np.testing.assert_allclose(err, fd, atol=1e-9)


# ---------------------------------------------------------------------------------------------------------
# Exact identities between learners.

@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_tbptt_with_window_at_least_T_is_bptt_exactly(loss: str) -> None:
    net = make_net()
    x, targets, labels = make_data()
    tgt = targets if loss == "mse" else labels
    ref_loss, ref = BPTTLearner(net, loss=loss).loss_and_gradients(x, tgt)
    for k in (T, T + 1, 10 * T):
        value, grads = TBPTTLearner(net, k=k, loss=loss).loss_and_gradients(x, tgt)
        assert value == ref_loss
        for key in ref:
            np.testing.assert_array_equal(grads[key], ref[key])


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("chunk", [1, 6, 50])
def test_eprop_equals_bptt_without_recurrence(loss: str, chunk: int) -> None:
    """Bellec et al. 2020: for a feed-forward layer with a leaky readout and constant reset, e-prop with
    symmetric feedback is the exact gradient."""
    net = make_net(recurrent=False)
    x, targets, labels = make_data()
    check_nontrivial(net, x)
    tgt = targets if loss == "mse" else labels
    ref_loss, ref = BPTTLearner(net, loss=loss).loss_and_gradients(x, tgt)
    value, grads = EPropLearner(net, loss=loss, chunk=chunk).loss_and_gradients(x, tgt)
    assert value == pytest.approx(ref_loss, rel=1e-12)
    assert rel_err(grads, ref) < 1e-10


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_eprop_chunking_is_only_a_reordering(loss: str) -> None:
    net = make_net()
    x, targets, labels = make_data()
    tgt = targets if loss == "mse" else labels
    _, per_step = eprop_gradients(net, x, tgt, chunk=1, loss=loss)  # the literal per-step recursion
    for chunk in (4, T, 3 * T):
        _, grads = eprop_gradients(net, x, tgt, chunk=chunk, loss=loss)
        assert rel_err(grads, per_step) < 1e-12


@pytest.mark.parametrize("recurrent", [True, False])
@pytest.mark.parametrize("feedback", ["symmetric", "random"])
def test_pure_eprop_step_equals_eprop_gradients_exactly(recurrent: bool, feedback: str) -> None:
    """Scanning the pure step over the sequence gives bit for bit the loss and gradient of
    eprop_gradients with chunk=1 (the literal per-step recursion), and the network's own readout."""
    net = make_net(recurrent)
    x, targets, _ = make_data()
    check_nontrivial(net, x)
    fb = None if feedback == "symmetric" else np.random.default_rng(7).standard_normal((N_REC, N_OUT))
    ref_loss, ref = eprop_gradients(net, x, targets, feedback=fb, chunk=1)
    params = EPropParams.from_network(net, fb)
    state = eprop_initial_state(params, B)
    ys = []
    for t in range(T):
        y, state = eprop_step((x[t], targets[t]), state, params)
        ys.append(y)
    assert state.loss == ref_loss
    grads = eprop_state_gradients(state, params)
    assert list(grads) == list(net.weights)
    for key in ref:
        np.testing.assert_array_equal(grads[key], ref[key])
    np.testing.assert_allclose(np.stack(ys), net.forward(x)[0].y, rtol=0, atol=1e-12)
    if not recurrent and fb is None:  # and therefore (Bellec 2020) the exact BPTT gradient
        assert rel_err(grads, BPTTLearner(net).gradients(x, targets)) < 1e-10


def test_pure_eprop_step_does_not_modify_its_state() -> None:
    net = make_net()
    x, targets, _ = make_data()
    params = EPropParams.from_network(net)
    state = eprop_initial_state(params, B)
    for t in range(5):
        _, state = eprop_step((x[t], targets[t]), state, params)
    before = EPropState._make(np.copy(a) for a in state)
    y1, s1 = eprop_step((x[5], targets[5]), state, params)
    y2, s2 = eprop_step((x[5], targets[5]), state, params)
    for old, now in zip(before, state, strict=True):
        np.testing.assert_array_equal(old, now)
    np.testing.assert_array_equal(y1, y2)
    for a, b in zip(s1, s2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert s1.loss > state.loss and not np.array_equal(s1.ebar, state.ebar)


def test_lif_scan_matches_network_forward() -> None:
    net = make_net()
    x, _, _ = make_data()
    rec, final = net.forward(x)
    state = net.initial_state(B)
    parts = []
    for s in range(0, T, 10):  # window by window, carrying the state
        r, state = lif_scan(x[s:s + 10] @ net.weights["w_in"].T, state, net.weights, net.params)
        parts.append(r)
    np.testing.assert_array_equal(np.concatenate([p.z for p in parts]), rec.z)
    np.testing.assert_allclose(np.concatenate([p.v for p in parts]), rec.v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.concatenate([p.y for p in parts]), rec.y, rtol=0, atol=1e-12)
    np.testing.assert_allclose(state.y, final.y, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# Optimizers, schedulers, callbacks.

@pytest.mark.parametrize("kind", ["sgd", "sgd_momentum", "adam"])
def test_optimizers_match_torch(kind: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in w.items()}
    if kind == "adam":
        ours: SGD | Adam = Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6)
        theirs = torch.optim.Adam(params.values(), lr=0.01, betas=(0.8, 0.99), eps=1e-6)
    else:
        mom = 0.9 if kind == "sgd_momentum" else 0.0
        ours = SGD(lr=0.05, momentum=mom)
        theirs = torch.optim.SGD(params.values(), lr=0.05, momentum=mom)
    for _ in range(6):
        g = {k: rng.standard_normal(v.shape) for k, v in w.items()}
        ours.apply(w, g)
        for k, p in params.items():
            p.grad = torch.from_numpy(g[k].copy())
        theirs.step()
    for k in w:
        np.testing.assert_allclose(w[k], params[k].detach().numpy(), rtol=1e-12, atol=1e-14)


class ListScheduler:
    def __init__(self, values: list[float]) -> None:
        self.values = list(values)

    def step(self) -> float:
        return self.values.pop(0)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_train_begin(self, logs: Any = None) -> None:
        self.events.append(("begin",))

    def on_step_end(self, step: int, logs: dict[str, float]) -> None:
        self.events.append(("step", step, dict(logs)))

    def on_train_end(self, logs: Any = None) -> None:
        self.events.append(("end",))


def test_train_step_applies_scheduler_lr_and_calls_callbacks() -> None:
    net = make_net()
    x, targets, _ = make_data()
    rec = Recorder()
    learner = TBPTTLearner(net, k=10, optimizer=SGD(lr=1.0), scheduler=ListScheduler([0.1, 0.02]),
                           callbacks=[rec])
    w0 = {k: v.copy() for k, v in net.weights.items()}
    loss0, g0 = learner.loss_and_gradients(x, targets)
    assert loss0 == pytest.approx(learner.loss(x, targets), rel=1e-12)  # the loss before the update
    assert learner.fit([(x, targets)]) == [loss0]
    for k in w0:  # plain SGD with the scheduled lr: w = w0 - 0.1 * g
        np.testing.assert_allclose(net.weights[k], w0[k] - 0.1 * g0[k], rtol=0, atol=1e-15)
    w1 = {k: v.copy() for k, v in net.weights.items()}
    loss1, g1 = learner.loss_and_gradients(x, targets)
    assert learner.train_step(x, targets) == loss1
    for k in w1:
        np.testing.assert_allclose(net.weights[k], w1[k] - 0.02 * g1[k], rtol=0, atol=1e-15)
    assert rec.events == [("begin",), ("step", 0, {"loss": loss0, "lr": 0.1}), ("end",),
                          ("step", 1, {"loss": loss1, "lr": 0.02})]


def test_fit_with_real_scheduler_and_csv_callback(tmp_path: Any) -> None:
    """The learners drive the library's own scheduler and CSV logger: the file holds every step's loss
    and learning rate (the warmup-cosine closed form) and one epoch row with their mean; the callback
    stays open for another fit() until the with block closes it."""
    net = make_net()
    x, targets, _ = make_data()
    path = tmp_path / "train.csv"
    sched = WarmupCosineScheduler(0.01, 0.001, warmup_steps=2, total_steps=5)
    with CSVCallback(path) as cb:
        learner = EligibilityTrace(net, optimizer=Adam(lr=0.01), scheduler=sched, callbacks=[cb])
        losses = learner.fit([(x, targets)] * 6)
        assert not cb.closed
    assert cb.closed
    rows = path.read_text().splitlines()
    assert rows[0] == "phase,index,loss,lr"
    expected = [0.005, 0.01, 0.01, 0.01 * 0.75 + 0.001 * 0.25, 0.001 * 0.75 + 0.01 * 0.25, 0.001]
    got = [r.split(",") for r in rows[1:]]
    assert [r[0] for r in got] == ["step"] * 6 + ["epoch"]
    assert [int(r[1]) for r in got] == [*range(6), 0]
    assert [float(r[2]) for r in got[:6]] == losses
    assert float(got[6][2]) == pytest.approx(sum(losses) / 6, rel=1e-15)
    np.testing.assert_allclose([float(r[3]) for r in got], [*expected, expected[-1]], rtol=1e-12)
    assert losses[-1] < losses[0]


def test_learner_loss_matches_forward_pass() -> None:
    net = make_net()
    x, targets, _ = make_data()
    y = net.forward(x)[0].y
    expected = 0.5 * np.sum((y - targets) ** 2) / B
    assert BPTTLearner(net).loss(x, targets) == pytest.approx(expected, rel=1e-12)
    assert EligibilityTrace(net).loss_and_gradients(x, targets)[0] == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------------------------------------------
# Bad input gives clear errors naming the parameter, the allowed range and the bad value.

def test_bad_parameters_are_rejected_with_clear_messages() -> None:
    net = make_net()
    x, targets, labels = make_data()
    with pytest.raises(ValueError, match=r"k must be an int >= 1, not 0"):
        TBPTTLearner(net, k=0)
    with pytest.raises(TypeError, match=r"k must be an int >= 1, not float 2.5"):
        TBPTTLearner(net, k=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"chunk must be an int >= 1, not -3"):
        EligibilityTrace(net, chunk=-3)
    with pytest.raises(ValueError, match=r"feedback must be one of \['symmetric', 'random'\], not 'mirror'"):
        EligibilityTrace(net, feedback="mirror")
    with pytest.raises(ValueError, match=r"loss must be one of \['mse', 'cross_entropy'\], not 'hinge'"):
        BPTTLearner(net, loss="hinge")
    with pytest.raises(ValueError, match=r"lr must be a finite number >= 0, not -0.1"):
        SGD(lr=-0.1)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), not 1.0"):
        SGD(momentum=1.0)
    with pytest.raises(ValueError, match=r"beta2 must be in \[0, 1\), not 1.5"):
        Adam(beta2=1.5)
    with pytest.raises(ValueError, match=r"targets for loss 'mse' must have shape \(T, batch, n_out\) = "
                                         r"\(37, 4, 3\), not \(37, 4, 2\)"):
        BPTTLearner(net).gradients(x, targets[..., :2])
    bad = labels.copy()
    bad[1] = 7
    with pytest.raises(ValueError, match=r"labels in \[0, 2\], not 7"):
        BPTTLearner(net, loss="cross_entropy").gradients(x, bad)
    with pytest.raises(TypeError, match=r"integer labels, not dtype float64"):
        EligibilityTrace(net, loss="cross_entropy").gradients(x, labels.astype(np.float64))
    with pytest.raises(ValueError, match=r"inputs must have shape \(T, batch, 6\), not \(37, 4, 5\)"):
        EligibilityTrace(net).gradients(x[..., :5], targets)
    sched = ListScheduler([-1.0])
    with pytest.raises(ValueError, match=r"lr must be a finite number >= 0, not -1.0"):
        BPTTLearner(net, scheduler=sched).train_step(x, targets)


def test_bad_data_is_rejected_before_any_numpy_arithmetic() -> None:
    net = make_net()
    x, targets, _ = make_data()
    bad_x = x.copy()
    bad_x[3, 1, 2] = np.nan
    for learner in (BPTTLearner(net), TBPTTLearner(net, k=5), EligibilityTrace(net)):
        with pytest.raises(ValueError, match=r"^inputs must be finite, not containing nan$"):
            learner.gradients(bad_x, targets)
    with pytest.raises(TypeError, match=r"^inputs must be an array of real numbers, not dtype complex128$"):
        BPTTLearner(net).gradients(x + 0j, targets)
    with pytest.raises(TypeError, match=r"^inputs must be an array of real numbers, not dtype <U1$"):
        BPTTLearner(net).gradients(np.full(x.shape, "a"), targets)
    bad_t = targets.copy()
    bad_t[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"^targets for loss 'mse' must be finite, not containing inf$"):
        EligibilityTrace(net).gradients(x, bad_t)
    with pytest.raises(TypeError, match=r"^targets for loss 'mse' must be real numbers, not dtype object$"):
        BPTTLearner(net).gradients(x, None)  # type: ignore[arg-type]
    huge = np.full(targets.shape, 1e307)  # finite entries whose sum overflows are still valid targets
    assert check_targets(LossKind.MSE, huge, T, B, N_OUT) is huge
    with pytest.raises(TypeError, match=r"^net must be a LIFNetwork, not NoneType$"):
        tbptt_gradients(None, x, targets)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^feedback must have shape \(n_rec, n_out\) = \(10, 3\), not \(3, 10\)$"):
        eprop_gradients(net, x, targets, feedback=np.zeros((N_OUT, N_REC)))
    with pytest.raises(ValueError, match=r"^feedback must be finite, not containing nan$"):
        eprop_gradients(net, x, targets, feedback=np.full((N_REC, N_OUT), np.nan))
    # a list is as good as an array
    _, g_list = eprop_gradients(net, x, targets, feedback=np.ones((N_REC, N_OUT)).tolist())
    _, g_arr = eprop_gradients(net, x, targets, feedback=np.ones((N_REC, N_OUT)))
    np.testing.assert_array_equal(g_list["w_in"], g_arr["w_in"])


def test_weights_modified_in_place_are_checked() -> None:
    """``net.weights`` is a public, mutable dict: a replaced array of the wrong shape, dtype or with a NaN
    is named, instead of surfacing as a broadcasting error inside the scan."""
    x, targets, _ = make_data()
    net = make_net()
    net.weights["w_out"] = np.zeros((N_OUT + 1, N_REC))
    with pytest.raises(ValueError, match=r"^net.weights\['w_out'\] must have shape \(3, 10\), not \(4, 10\)$"):
        BPTTLearner(net).gradients(x, targets)
    net = make_net()
    net.weights["w_rec"][2, 3] = np.nan
    with pytest.raises(ValueError, match=r"^net.weights\['w_rec'\] must be finite, not containing nan$"):
        EligibilityTrace(net).gradients(x, targets)
    net = make_net()
    net.weights["w_in"] = net.weights["w_in"].astype(np.float32)
    with pytest.raises(TypeError, match=r"^net.weights\['w_in'\] must be a float64 array, not dtype float32$"):
        TBPTTLearner(net).gradients(x, targets)
    net = make_net()
    del net.weights["w_rec"]
    with pytest.raises(ValueError, match=r"^net.weights must be a dict with keys \['w_in', 'w_out', 'w_rec'\], "
                                         r"not \['w_in', 'w_out'\]$"):
        BPTTLearner(net).gradients(x, targets)


def test_bad_learner_arguments_are_named() -> None:
    net = make_net()
    with pytest.raises(ValueError, match=r"^seed must be an int >= 0, not -1$"):
        EligibilityTrace(net, feedback="random", seed=-1)
    with pytest.raises(ValueError, match=r"^feedback must be one of \['symmetric', 'random'\], not an array of "
                                         r"shape \(10, 3\) \(a custom matrix goes to eprop_gradients"):
        EligibilityTrace(net, feedback=np.zeros((N_REC, N_OUT)))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^batches must be an iterable of \(inputs, targets\) pairs, not int$"):
        BPTTLearner(net).fit(3)  # type: ignore[arg-type]
    x, targets, _ = make_data()
    with pytest.raises(TypeError, match=r"^batches\[1\] must be an \(inputs, targets\) pair, not ndarray$"):
        BPTTLearner(net).fit([(x, targets), x])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"^callbacks must be a sequence of callback objects, not int$"):
        BPTTLearner(net, callbacks=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^callbacks\[1\] must have at least one of the methods \['on_train_begin', "
                                        r"'on_step_end', 'on_epoch_end', 'on_train_end'\], not object"):
        BPTTLearner(net, callbacks=[Recorder(), object()])


def test_optimizer_rejects_bad_gradients_without_touching_weights() -> None:
    w = {"a": np.ones((2, 3)), "b": np.zeros(4)}
    opt = Adam(lr=0.1)
    bad = {"a": np.ones((2, 3)), "b": np.array([0.0, np.nan, 0.0, 0.0])}
    with pytest.raises(ValueError, match=r"^grads\['b'\] must be finite, not containing nan$"):
        opt.apply(w, bad)
    np.testing.assert_array_equal(w["a"], np.ones((2, 3)))  # checked before anything is written
    assert opt.steps == 0
    with pytest.raises(ValueError, match=r"^grads\['a'\] must have shape \(2, 3\), not \(3, 2\)$"):
        opt.apply(w, {"a": np.ones((3, 2)), "b": np.zeros(4)})
    with pytest.raises(TypeError, match=r"^grads must be a dict of arrays, not NoneType$"):
        opt.apply(w, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^weights\['i'\] must be a float array \(updated in place\), "
                                        r"not dtype int64$"):
        SGD().apply({"i": np.zeros(2, dtype=np.int64)}, {"i": np.ones(2)})
    opt.apply(w, {"a": [[1.0] * 3] * 2, "b": [0.0] * 4})  # array-likes are fine
    np.testing.assert_allclose(w["a"], 1.0 - 0.1 / (1.0 + 1e-8), rtol=1e-15)  # first step: lr g / (|g| + eps)
    with pytest.raises(TypeError, match=r"^eps must be a finite number > 0, not str '1e-8'$"):
        Adam(eps="1e-8")  # type: ignore[arg-type]
    assert Adam(eps=np.float32(1e-8)).eps == float(np.float32(1e-8))  # type: ignore[arg-type]


def test_loss_functions_check_their_arguments() -> None:
    with pytest.raises(ValueError, match=r"^y and targets must have the same shape, not \(3,\) and \(4,\)$"):
        mse_loss(np.zeros(3), np.zeros(4), 1)
    with pytest.raises(ValueError, match=r"^batch must be an int >= 1, not 0$"):
        mse_loss(np.zeros(3), np.zeros(3), 0)
    with pytest.raises(TypeError, match=r"^labels must be integer class indices, not dtype float64$"):
        cross_entropy_loss(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"^labels must be in \[0, 2\], not 3$"):
        cross_entropy_error(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"^y must be a readout trajectory of shape \(T, batch, n_out\), "
                                         r"not \(3, 2\)$"):
        accuracy(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match=r"^labels must have shape \(batch,\) = \(2,\), not \(3,\)$"):
        accuracy(np.zeros((4, 2, 3)), [0, 1, 2])


def test_pure_eprop_step_checks_its_arguments() -> None:
    net = make_net()
    params = EPropParams.from_network(net)
    state = eprop_initial_state(params, 2)
    with pytest.raises(ValueError, match=r"^x_t must have shape \(2, 6\), not \(3, 6\)$"):
        eprop_step((np.zeros((3, N_IN)), np.zeros((2, N_OUT))), state, params)
    with pytest.raises(ValueError, match=r"^target_t must be finite, not containing nan$"):
        eprop_step((np.zeros((2, N_IN)), np.full((2, N_OUT), np.nan)), state, params)
    with pytest.raises(TypeError, match=r"^params must be an EPropParams, not tuple$"):
        eprop_step((np.zeros((2, N_IN)), np.zeros((2, N_OUT))), state, tuple(params))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^batch must be an int >= 1, not 0$"):
        eprop_initial_state(params, 0)
    with pytest.raises(ValueError, match=r"^feedback must have shape \(10, 3\), not \(3, 10\)$"):
        EPropParams.from_network(net, np.zeros((N_OUT, N_REC)))

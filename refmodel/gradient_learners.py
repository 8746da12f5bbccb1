"""Gradient learners for :class:`~plasticore.refmodel.lif.LIFNetwork`: BPTT, truncated BPTT and e-prop.

All learners share one interface: ``gradients(inputs, targets, weights=None) -> dict`` (keys and shapes
of ``net.weights``), ``loss_and_gradients(inputs, targets, weights=None) -> (loss, dict)`` and
``train_step(inputs, targets) -> loss``, which passes the gradient through the learner's ``transforms``
(:mod:`plasticore.refmodel.transforms`: clipping, later EWC or FedProx terms) and hands it to an optimizer
(rules compute updates; one path applies them). ``weights`` (default ``net.weights``) is where the gradient
is taken, so a caller can differentiate at other weights (e.g. MAML's adapted weights) without touching the
network. Inputs are time-first ``(T, batch, n_in)``; targets are described in
:mod:`plasticore.refmodel.losses`. Learners, networks, optimizers and schedulers have ``state_dict()`` /
``load_state_dict()``.

Notation (network of :mod:`plasticore.refmodel.lif`): ``psi_t = psi(v_t - theta)`` is the surrogate
derivative of ``z_t``; the reset term ``theta * z_{t-1}`` is a constant for gradients (as in snnTorch and
Bellec et al. 2020), the recurrent term ``W_rec z_{t-1}`` is not.

**BPTT** (Werbos 1990). With ``e_t = dE/dy_t`` (explicit) and ``W_rec`` absent meaning zero, the adjoints are

.. math::

    \\bar y_t = e_t + \\kappa \\bar y_{t+1}, \\qquad
    \\bar z_t = W_{out}^T \\bar y_t + W_{rec}^T \\bar v_{t+1}, \\qquad
    \\bar v_t = \\psi_t \\bar z_t + \\alpha \\bar v_{t+1}

(``\\bar y_T = \\bar v_T = 0``), and ``dE/dW_out = sum_t ybar_t z_t^T``, ``dE/dW_in = sum_t vbar_t x_t^T``,
``dE/dW_rec = sum_t vbar_t z_{t-1}^T`` (summed over the batch).

**Truncated BPTT** (Williams & Peng 1990): the sequence is cut into windows of ``k`` steps; each window runs
the recursion above with ``ybar = vbar = 0`` at its end and treats the state ``(v, z, y)`` it starts from as a
constant. The gradient is the sum of the window gradients. Memory is O(k), not O(T). With ``k >= T`` it
*is* BPTT (same code path, identical numbers).

**e-prop** (Bellec et al. 2020, *A solution to the learning dilemma for recurrent networks of spiking
neurons*, Nat. Commun. 11:3625, Eqs. 1-3, 22-28 for LIF neurons). Forward-only: with presynaptic input
``p_t = [x_t, z_{t-1}]`` (``z_{t-1}`` only for ``W_rec``),

.. math::

    \\epsilon_t = \\alpha \\epsilon_{t-1} + p_t, \\qquad
    e_{t,ji} = \\psi_{t,j} \\epsilon_{t,i}, \\qquad
    \\bar e_{t,ji} = \\kappa \\bar e_{t-1,ji} + e_{t,ji},

    L_{t,j} = \\sum_k B_{jk} \\frac{\\partial E}{\\partial y_{t,k}}, \\qquad
    \\frac{dE}{dW_{ji}} = \\sum_t L_{t,j} \\bar e_{t,ji}, \\qquad
    \\frac{dE}{dW^{out}_{kj}} = \\sum_t \\frac{\\partial E}{\\partial y_{t,k}} \\bar z_{t,j}, \\;
    \\bar z_t = \\kappa \\bar z_{t-1} + z_t,

with symmetric feedback ``B = W_out^T`` or a fixed random ``B`` ("random e-prop"). Exactness for a
feed-forward layer (``recurrent=False``):
``dy_{t,k}/dW_ji = W^out_kj sum_{t'<=t} kappa^{t-t'} dz_{t',j}/dW_ji`` and, with the reset constant,
``dz_{t,j}/dW_ji = psi_{t,j} dv_{t,j}/dW_ji = psi_{t,j} epsilon_{t,i}`` exactly; so
``sum_t sum_k e_{t,k} dy_{t,k}/dW_ji`` is the e-prop formula with ``B = W_out^T``: e-prop equals BPTT.
With recurrence, e-prop drops the paths through other neurons' spikes (it equals the gradient with
``z_{t-1}`` in ``W_rec z_{t-1}`` detached).

The traces are updated in blocks of ``chunk`` steps: within a block of length ``n`` starting after
``ebar_{s-1}``, ``ebar_{s+tau} = kappa^{tau+1} ebar_{s-1} + sum_{tau'<=tau} kappa^{tau-tau'} e_{s+tau'}``, so
``sum_tau L_tau ebar_tau = (sum_tau kappa^{tau+1} L_tau) ebar_{s-1} + sum_tau' Ltilde_tau' e_tau'`` with the
in-block backward filter ``Ltilde_tau' = sum_{tau>=tau'} kappa^{tau-tau'} L_tau``. This is the same sum in
another order (``chunk=1`` is the literal per-step update); memory is O(chunk + batch * n_rec * n_pre).
The per-step update is also available as a pure step function, :func:`eprop_step` ``(inputs, state, params)
-> (y_t, new_state)`` with :class:`EPropState` and :class:`EPropParams` (MSE loss); scanned over a sequence
it gives bit for bit the result of :func:`eprop_gradients` with ``chunk=1``.

For the cross-entropy loss on the time-summed readout the error is the same at every step but known only
at the end: TBPTT first runs the network forward once (O(1) memory) to get it, and e-prop accumulates
``sum_t ebar_t`` per sample and applies the learning signal at the end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from ._state import check_keys, load_array, load_int
from ._validate import check_array, check_count, check_rng
from .hessian import bptt_hessian_vector_product
from .lif import LIFNetwork, LIFParams, LIFRecord, LIFState, lif_scan
from .losses import (
    LossKind,
    check_targets,
    cross_entropy_error,
    cross_entropy_loss,
    get_loss_kind,
    mse_loss,
)
from .optimizers import Adam, Optimizer
from .surrogates import Surrogate, get_surrogate
from .transforms import GradientTransform, check_transforms

Array = npt.NDArray[np.float64]

__all__ = [
    "BPTTLearner",
    "EPropLearner",
    "EPropParams",
    "EPropState",
    "EligibilityTrace",
    "Feedback",
    "GradientLearner",
    "TBPTTLearner",
    "eprop_gradients",
    "eprop_initial_state",
    "eprop_state_gradients",
    "eprop_step",
    "tbptt_gradients",
]


class Scheduler(Protocol):
    """What a learner needs of a scheduler: ``step() -> float``, called once per update."""

    def step(self) -> float:
        """The learning rate for this update (then advance)."""
        ...


class Feedback(str, Enum):
    """e-prop feedback: ``symmetric`` (``B = W_out^T``) or a fixed ``random`` matrix."""

    SYMMETRIC = "symmetric"
    RANDOM = "random"


def _window_count(name: str, value: int) -> int:
    return check_count(name, value, 1)


def _check_weights(net: LIFNetwork, weights: object, name: str) -> dict[str, Array]:
    """``weights`` (``net.weights`` when called for them) must be a dict of float64 arrays that fit ``net``."""
    shapes = net.weight_shapes()
    if not isinstance(weights, dict) or set(weights) != set(shapes):
        keys = sorted(weights) if isinstance(weights, dict) else type(weights).__name__
        raise ValueError(f"{name} must be a dict with keys {sorted(shapes)}, not {keys}")
    for key, shape in shapes.items():
        a = weights[key]
        if not isinstance(a, np.ndarray) or a.dtype != np.float64:
            what = f"dtype {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__
            raise TypeError(f"{name}[{key!r}] must be a float64 array, not {what}")
        check_array(f"{name}[{key!r}]", a, shape)
    return weights


def _check_net(net: object) -> LIFNetwork:
    """``net`` must be a :class:`LIFNetwork` whose (user-modifiable) ``weights`` still fit it."""
    if not isinstance(net, LIFNetwork):
        raise TypeError(f"net must be a LIFNetwork, not {type(net).__name__}")
    _check_weights(net, net.weights, "net.weights")
    return net


def _prepare(net: LIFNetwork, inputs: npt.ArrayLike, targets: npt.ArrayLike, kind: LossKind,
             weights: dict[str, Array] | None = None) -> tuple[Array, Any, dict[str, Array]]:
    """Checked inputs, targets and the weights to differentiate at (``net.weights`` by default)."""
    if not isinstance(net, LIFNetwork):
        raise TypeError(f"net must be a LIFNetwork, not {type(net).__name__}")
    w = _check_weights(net, net.weights if weights is None else weights,
                       "net.weights" if weights is None else "weights")
    x = net.check_inputs(check_array("inputs", inputs))  # no copy for float64 input
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"inputs must have T >= 1 and batch >= 1, not shape {x.shape}")
    tgt = check_targets(kind, targets, x.shape[0], x.shape[1], net.n_out)
    return x, tgt, w


def _sequential_sum(y: Array, acc: Array) -> Array:
    """``acc + y[0] + y[1] + ...`` in this order (so a split into windows gives identical numbers)."""
    for t in range(y.shape[0]):
        acc = acc + y[t]
    return acc


def _run(net: LIFNetwork, w: dict[str, Array], x: Array, state: LIFState, s: int, e: int,
         ) -> tuple[LIFRecord, LIFState]:
    i_in = x[s:e] @ w["w_in"].T
    return lif_scan(i_in, state, w, net.params)


def _forward_logits(net: LIFNetwork, w: dict[str, Array], x: Array, k: int) -> Array:
    """Time-summed readout ``sum_t y_t`` (batch, n_out), computed window by window in O(k) memory."""
    n_t, batch = x.shape[0], x.shape[1]
    state = net.initial_state(batch)
    ysum = np.zeros((batch, net.n_out))
    for s in range(0, n_t, k):
        rec, state = _run(net, w, x, state, s, min(s + k, n_t))
        ysum = _sequential_sum(rec.y, ysum)
    return ysum


def tbptt_gradients(net: LIFNetwork, inputs: npt.ArrayLike, targets: npt.ArrayLike, k: int | None = None,
                    loss: str | LossKind = LossKind.MSE, weights: dict[str, Array] | None = None,
                    ) -> tuple[float, dict[str, Array]]:
    """Loss and truncated-BPTT gradient with windows of ``k`` steps (``None``: full BPTT), at ``weights``
    (default ``net.weights``; neither is modified).

    See the module docstring for the equations. The loss is the exact loss of the whole sequence.
    """
    kind = get_loss_kind(loss)
    x, tgt, w = _prepare(net, inputs, targets, kind, weights)
    n_t, batch = x.shape[0], x.shape[1]
    k = n_t if k is None else min(_window_count("k", k), n_t)
    alpha, kappa, theta = net.params
    w_rec, w_out = w.get("w_rec"), w["w_out"]
    n_rec, n_out = net.n_rec, net.n_out
    surrogate, slope = net.surrogate, net.surrogate_slope
    grads = {key: np.zeros_like(val) for key, val in w.items()}
    total = 0.0
    ce_err: Array | None = None
    if kind is LossKind.CROSS_ENTROPY and k < n_t:
        logits = _forward_logits(net, w, x, k)
        total = cross_entropy_loss(logits, tgt)
        ce_err = cross_entropy_error(logits, tgt)
    state = net.initial_state(batch)
    for s in range(0, n_t, k):
        e = min(s + k, n_t)
        z_prev = state.z
        rec, state = _run(net, w, x, state, s, e)
        if kind is LossKind.MSE:
            err = (rec.y - tgt[s:e]) / batch
            total += mse_loss(rec.y, tgt[s:e], batch)
        else:
            if ce_err is None:  # a single window: the whole sequence is here
                logits = _sequential_sum(rec.y, np.zeros((batch, n_out)))
                total = cross_entropy_loss(logits, tgt)
                ce_err = cross_entropy_error(logits, tgt)
            err = np.broadcast_to(ce_err, rec.y.shape)
        n = e - s
        # readout adjoint: ybar_t = e_t + kappa * ybar_{t+1}, zero after the window
        ybar = np.empty_like(rec.y)
        acc = np.zeros((batch, n_out))
        for t in range(n - 1, -1, -1):
            acc = err[t] + kappa * acc
            ybar[t] = acc
        grads["w_out"] += ybar.reshape(-1, n_out).T @ rec.z.reshape(-1, n_rec)
        drive = ybar @ w_out  # W_out^T ybar_t for all t at once, (n, batch, n_rec)
        vbar = drive  # overwritten in place, step by step, with vbar_t
        g = np.zeros((batch, n_rec))
        for t in range(n - 1, -1, -1):
            zbar = drive[t] if w_rec is None else drive[t] + g @ w_rec
            # psi_t step by step: small arrays stay in cache (5x faster than one window-sized call)
            g = surrogate(rec.v[t] - theta, slope) * zbar + alpha * g
            vbar[t] = g
        flat = vbar.reshape(-1, n_rec)
        grads["w_in"] += flat.T @ x[s:e].reshape(-1, net.n_in)
        if w_rec is not None:
            grads["w_rec"] += vbar[0].T @ z_prev
            if n > 1:
                grads["w_rec"] += vbar[1:].reshape(-1, n_rec).T @ rec.z[:-1].reshape(-1, n_rec)
    return total, grads


def eprop_gradients(net: LIFNetwork, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                    feedback: npt.ArrayLike | None = None, chunk: int = 50,
                    loss: str | LossKind = LossKind.MSE, weights: dict[str, Array] | None = None,
                    ) -> tuple[float, dict[str, Array]]:
    """Loss and e-prop gradient (Bellec et al. 2020) at ``weights`` (default ``net.weights``); ``feedback``
    is ``B`` (n_rec, n_out), ``None`` for the symmetric ``W_out^T``; traces are updated in blocks of
    ``chunk`` steps (exact reordering, see the module docstring)."""
    kind = get_loss_kind(loss)
    x, tgt, w = _prepare(net, inputs, targets, kind, weights)
    chunk = _window_count("chunk", chunk)
    n_t, batch = x.shape[0], x.shape[1]
    alpha, kappa, theta = net.params
    n_in, n_rec, n_out = net.n_in, net.n_rec, net.n_out
    recurrent = "w_rec" in w
    n_pre = n_in + (n_rec if recurrent else 0)
    surrogate, slope = net.surrogate, net.surrogate_slope
    fb = w["w_out"].T if feedback is None else check_array("feedback", feedback)
    if fb.shape != (n_rec, n_out):
        raise ValueError(f"feedback must have shape (n_rec, n_out) = {(n_rec, n_out)}, not {fb.shape}")
    ebar = np.zeros((batch, n_rec, n_pre))  # kappa-filtered eligibility traces, one per sample and synapse
    eps = np.zeros((batch, n_pre))  # alpha-filtered presynaptic traces epsilon_t
    zbar_state = np.zeros((batch, n_rec))  # kappa-filtered spikes
    g_pre = np.zeros((n_rec, n_pre))
    g_out = np.zeros((n_out, n_rec))
    total = 0.0
    ce = kind is LossKind.CROSS_ENTROPY
    if ce:
        ebar_sum = np.zeros((batch, n_rec, n_pre))
        zbar_sum = np.zeros((batch, n_rec))
        ysum = np.zeros((batch, n_out))
    state = net.initial_state(batch)
    for s in range(0, n_t, chunk):
        e = min(s + chunk, n_t)
        n = e - s
        z_prev = state.z
        rec, state = _run(net, w, x, state, s, e)
        # presynaptic traces epsilon_t = alpha * epsilon_{t-1} + [x_t, z_{t-1}]
        pre = np.empty((n, batch, n_pre))
        pre[:, :, :n_in] = x[s:e]
        if recurrent:
            pre[0, :, n_in:] = z_prev
            pre[1:, :, n_in:] = rec.z[:-1]
        for t in range(n):
            eps = alpha * eps + pre[t]
            pre[t] = eps
        zb = np.empty_like(rec.z)
        psi = np.empty_like(rec.v)
        for t in range(n):
            zbar_state = kappa * zbar_state + rec.z[t]
            zb[t] = zbar_state
            psi[t] = surrogate(rec.v[t] - theta, slope)  # per step: cache-friendly
        powers = kappa ** np.arange(1, n + 1)  # kappa^(tau+1)
        if not ce:
            err = (rec.y - tgt[s:e]) / batch
            total += mse_loss(rec.y, tgt[s:e], batch)
            g_out += err.reshape(-1, n_out).T @ zb.reshape(-1, n_rec)
            sig = err @ fb.T  # learning signals L_t, (n, batch, n_rec)
            carry = np.tensordot(powers, sig, axes=1)  # sum_tau kappa^(tau+1) L_tau, (batch, n_rec)
            g_pre += np.einsum("bj,bjp->jp", carry, ebar)
            acc = np.zeros((batch, n_rec))
            for t in range(n - 1, -1, -1):  # in-block backward filter Ltilde
                acc = sig[t] + kappa * acc
                sig[t] = acc
            g_pre += (sig * psi).reshape(-1, n_rec).T @ pre.reshape(-1, n_pre)
        else:
            ysum = _sequential_sum(rec.y, ysum)
            zbar_sum += zb.sum(axis=0)
            # sum_tau ebar_tau = (sum_tau kappa^(tau+1)) ebar_{s-1} + sum_tau' c_tau' e_tau',
            # c_tau' = sum_{tau >= tau'} kappa^(tau - tau')
            c = np.cumsum(kappa ** np.arange(n))[::-1]
            ebar_sum += powers.sum() * ebar
            ebar_sum += np.matmul((psi * c[:, None, None]).transpose(1, 2, 0), pre.transpose(1, 0, 2))
        # ebar_{e-1} = kappa^n ebar_{s-1} + sum_tau' kappa^(n-1-tau') e_tau'
        ebar *= kappa**n
        ebar += np.matmul((psi * (powers[::-1] / kappa)[:, None, None]).transpose(1, 2, 0),
                          pre.transpose(1, 0, 2))
    if ce:
        total = cross_entropy_loss(ysum, tgt)
        err_ce = cross_entropy_error(ysum, tgt)
        g_pre = np.einsum("bj,bjp->jp", err_ce @ fb.T, ebar_sum)
        g_out = err_ce.T @ zbar_sum
    grads = {"w_in": np.ascontiguousarray(g_pre[:, :n_in])}
    if recurrent:
        grads["w_rec"] = np.ascontiguousarray(g_pre[:, n_in:])
    grads["w_out"] = g_out
    return total, grads


# ---------------------------------------------------------------------------------------------------------
# e-prop as a pure step function


class EPropParams(NamedTuple):
    r"""Constants of :func:`eprop_step`: the weights (only read), the feedback matrix ``B`` (n_rec, n_out),
    the LIF constants ``alpha = exp(-dt/tau_mem)``, ``kappa = exp(-dt/tau_out)``, ``threshold`` and the
    surrogate (an :class:`~plasticore.refmodel.surrogates.Surrogate`) with its ``slope``.
    ``w_rec`` is ``None`` for a feed-forward layer. Build it with :meth:`from_network`.
    """

    w_in: Array
    w_rec: Array | None
    w_out: Array
    feedback: Array
    alpha: float
    kappa: float
    threshold: float
    surrogate: Surrogate = Surrogate.FAST_SIGMOID
    slope: float = 25.0

    @classmethod
    def from_network(cls, net: LIFNetwork, feedback: npt.ArrayLike | None = None) -> EPropParams:
        """The parameters of ``net`` (its current weights, not copied); ``feedback=None`` is ``W_out^T``."""
        net = _check_net(net)
        w = net.weights
        fb = w["w_out"].T if feedback is None else check_array("feedback", feedback, (net.n_rec, net.n_out))
        alpha, kappa, theta = net.params
        return cls(w["w_in"], w.get("w_rec"), w["w_out"], fb, alpha, kappa, theta,
                   Surrogate(net.surrogate_name), net.surrogate_slope)


class EPropState(NamedTuple):
    """State of :func:`eprop_step` after step ``t``.

    Network: ``v``, ``z`` (batch, n_rec), ``y`` (batch, n_out). Traces: ``eps`` (batch, n_pre), the
    ``alpha``-filtered presynaptic input ``[x, z_{t-1}]`` (``n_pre = n_in + n_rec``, or ``n_in`` without
    ``w_rec``); ``ebar`` (batch, n_rec, n_pre), the ``kappa``-filtered eligibility traces; ``zbar``
    (batch, n_rec), the ``kappa``-filtered spikes. Accumulators: ``grad_pre`` (n_rec, n_pre) and
    ``grad_out`` (n_out, n_rec), the gradient summed over the steps so far, and ``loss``, the MSE so far
    (see :func:`eprop_state_gradients`).
    """

    v: Array
    z: Array
    y: Array
    eps: Array
    ebar: Array
    zbar: Array
    grad_pre: Array
    grad_out: Array
    loss: float


def eprop_initial_state(params: EPropParams, batch: int) -> EPropState:
    """All zero: ``v = z = y = 0`` (as the network starts), no traces, no gradient, loss 0."""
    if not isinstance(params, EPropParams):
        raise TypeError(f"params must be an EPropParams, not {type(params).__name__}")
    batch = check_count("batch", batch)
    n_rec, n_in = params.w_in.shape
    n_out = params.w_out.shape[0]
    n_pre = n_in + (0 if params.w_rec is None else n_rec)
    return EPropState(np.zeros((batch, n_rec)), np.zeros((batch, n_rec)), np.zeros((batch, n_out)),
                      np.zeros((batch, n_pre)), np.zeros((batch, n_rec, n_pre)), np.zeros((batch, n_rec)),
                      np.zeros((n_rec, n_pre)), np.zeros((n_out, n_rec)), 0.0)


def eprop_step(inputs: tuple[npt.ArrayLike, npt.ArrayLike], state: EPropState, params: EPropParams,
               ) -> tuple[Array, EPropState]:
    r"""One step of e-prop (Bellec et al. 2020) for the MSE loss; returns ``(y_t, new_state)``.

    ``inputs = (x_t, target_t)`` with ``x_t`` (batch, n_in) and ``target_t`` (batch, n_out). With the
    network step of :func:`~plasticore.refmodel.lif.lif_step`, ``p_t = [x_t, z_{t-1}]``,
    ``psi_t = psi(v_t - theta)`` and the error ``e_t = (y_t - y^*_t) / B`` of the loss
    :func:`~plasticore.refmodel.losses.mse_loss`:

    .. math::

        \epsilon_t = \alpha \epsilon_{t-1} + p_t, \qquad
        \bar e_{t,ji} = \kappa \bar e_{t-1,ji} + \psi_{t,j} \epsilon_{t,i}, \qquad
        \bar z_t = \kappa \bar z_{t-1} + z_t,

        L_t = B\, e_t, \qquad
        G^{pre} \mathrel{+}= \textstyle\sum_b L_{t,bj} \bar e_{t,bji}, \qquad
        G^{out} \mathrel{+}= e_t^T \bar z_t, \qquad
        E \mathrel{+}= \tfrac{1}{2B} \lVert y_t - y^*_t \rVert^2 .

    Run over a sequence, the accumulated gradient (:func:`eprop_state_gradients`) and loss are *exactly*
    (bit for bit) those of :func:`eprop_gradients` with ``chunk=1``, which is the same recursion. Units:
    ``dt``-free (``alpha``, ``kappa`` are per-step factors). For the cross-entropy loss the learning
    signal is only known at the end of the sequence, so it has no per-step form; use
    :func:`eprop_gradients`.
    """
    if not isinstance(params, EPropParams):
        raise TypeError(f"params must be an EPropParams, not {type(params).__name__}")
    x_t, tgt_t = inputs
    batch, n_rec = state.v.shape
    n_in, n_out = params.w_in.shape[1], params.w_out.shape[0]
    x_t = check_array("x_t", x_t, (batch, n_in))
    tgt_t = check_array("target_t", tgt_t, (batch, n_out))
    alpha, kappa, theta = params.alpha, params.kappa, params.threshold
    weights = {"w_in": params.w_in, "w_out": params.w_out}
    if params.w_rec is not None:
        weights["w_rec"] = params.w_rec
    rec, nxt = lif_scan(x_t[None] @ params.w_in.T, LIFState(state.v, state.z, state.y), weights,
                        LIFParams(alpha, kappa, theta))
    # the operations below are those of one block of eprop_gradients with n = 1, in the same order
    pre = np.empty((1, batch, state.eps.shape[1]))
    pre[0, :, :n_in] = x_t
    if params.w_rec is not None:
        pre[0, :, n_in:] = state.z
    eps = alpha * state.eps + pre[0]
    pre[0] = eps
    zbar = kappa * state.zbar + rec.z[0]
    psi = get_surrogate(params.surrogate)(rec.v[0] - theta, params.slope)[None]
    powers = kappa ** np.arange(1, 2)
    target = tgt_t[None]
    err = (rec.y - target) / batch
    loss = state.loss + mse_loss(rec.y, target, batch)
    grad_out = state.grad_out + err.reshape(-1, n_out).T @ zbar[None].reshape(-1, n_rec)
    sig = err @ params.feedback.T
    carry = np.tensordot(powers, sig, axes=1)
    grad_pre = state.grad_pre + np.einsum("bj,bjp->jp", carry, state.ebar)
    sig[0] = sig[0] + kappa * np.zeros((batch, n_rec))
    grad_pre += (sig * psi).reshape(-1, n_rec).T @ pre.reshape(-1, state.eps.shape[1])
    ebar = state.ebar * kappa**1
    ebar += np.matmul((psi * (powers[::-1] / kappa)[:, None, None]).transpose(1, 2, 0), pre.transpose(1, 0, 2))
    return nxt.y, EPropState(nxt.v, nxt.z, nxt.y, eps, ebar, zbar, grad_pre, grad_out, loss)


def eprop_state_gradients(state: EPropState, params: EPropParams) -> dict[str, Array]:
    """The gradient accumulated in ``state`` as a dict with the keys and shapes of ``net.weights``."""
    n_in = params.w_in.shape[1]
    grads = {"w_in": np.ascontiguousarray(state.grad_pre[:, :n_in])}
    if params.w_rec is not None:
        grads["w_rec"] = np.ascontiguousarray(state.grad_pre[:, n_in:])
    grads["w_out"] = state.grad_out.copy()
    return grads


_HOOKS = ("on_train_begin", "on_step_end", "on_epoch_end", "on_train_end")


class GradientLearner:
    """Common interface: subclasses implement :meth:`loss_and_gradients`.

    ``optimizer`` (default :class:`~plasticore.refmodel.optimizers.Adam` with ``lr = 1e-3``) applies the
    gradient to ``net.weights`` in place. ``transforms``: a list of
    :class:`~plasticore.refmodel.transforms.GradientTransform` ``(grads, weights) -> grads`` applied in order
    between the gradient and the optimizer (e.g. :class:`~plasticore.refmodel.transforms.ClipGradNorm`).
    ``scheduler``: any object with ``step() -> float``; before each update its value becomes
    ``optimizer.lr``. ``callbacks``: objects with (any of) ``on_train_begin(logs)``,
    ``on_step_end(step, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``; ``on_step_end`` gets
    ``{"loss", "lr"}``, ``on_epoch_end`` the mean loss of the epoch and the last ``lr``. Steps and epochs
    are numbered across :meth:`fit` calls (:attr:`step_count`, :attr:`epoch_count`).
    :meth:`state_dict` / :meth:`load_state_dict` checkpoint the network, the optimizer, the scheduler and
    the counters.
    """

    def __init__(self, net: LIFNetwork, *, loss: str | LossKind = LossKind.MSE,
                 optimizer: Optimizer | None = None, scheduler: Scheduler | None = None,
                 callbacks: Sequence[Any] = (), transforms: Sequence[GradientTransform] = ()) -> None:
        if not isinstance(net, LIFNetwork):
            raise TypeError(f"net must be a LIFNetwork, not {type(net).__name__}")
        self.net = net
        self.loss_kind = get_loss_kind(loss)
        self.optimizer = Adam() if optimizer is None else optimizer
        if not hasattr(self.optimizer, "apply"):
            raise TypeError(f"optimizer must have an apply(weights, grads) method, not {self.optimizer!r}")
        if scheduler is not None and not callable(getattr(scheduler, "step", None)):
            raise TypeError(f"scheduler must have a step() -> float method, not {scheduler!r}")
        self.scheduler = scheduler
        if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
            raise TypeError(f"callbacks must be a sequence of callback objects, not {type(callbacks).__name__}")
        self.callbacks = list(callbacks)
        for k, cb in enumerate(self.callbacks):
            if not any(callable(getattr(cb, h, None)) for h in _HOOKS):
                raise TypeError(f"callbacks[{k}] must have at least one of the methods {list(_HOOKS)}, "
                                f"not {type(cb).__name__} {cb!r}")
        self.transforms = check_transforms(list(transforms) if isinstance(transforms, tuple) else transforms)
        self.step_count = 0
        self.epoch_count = 0

    def loss_and_gradients(self, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                           weights: dict[str, Array] | None = None,
                           ) -> tuple[float, dict[str, Array]]:  # pragma: no cover - abstract
        """Loss and gradient at ``weights`` (default ``net.weights``); nothing is modified."""
        raise NotImplementedError

    def per_sample_gradients(self, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                             weights: dict[str, Array] | None = None) -> dict[str, Array]:
        """Gradient of each batch element's loss alone (the learner's loss with batch 1) at ``weights``:
        a dict of arrays ``(batch, *shape)`` (used for the empirical Fisher of EWC)."""
        x = self.net.check_inputs(check_array("inputs", inputs))
        tgt = np.asarray(targets)
        per = [self.loss_and_gradients(x[:, b:b + 1], tgt[b:b + 1] if tgt.ndim == 1 else tgt[:, b:b + 1],
                                       weights)[1] for b in range(x.shape[1])]
        if not per:
            raise ValueError(f"inputs must have batch >= 1, not shape {x.shape}")
        return {k: np.stack([g[k] for g in per]) for k in per[0]}

    def gradients(self, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                  weights: dict[str, Array] | None = None) -> dict[str, Array]:
        """The gradient dict (same keys and shapes as ``net.weights``) at ``weights``; weights are not changed."""
        return self.loss_and_gradients(inputs, targets, weights)[1]

    def loss(self, inputs: npt.ArrayLike, targets: npt.ArrayLike,
             weights: dict[str, Array] | None = None) -> float:
        """The loss at ``weights`` (default the current ``net.weights``; a forward pass only)."""
        kind = self.loss_kind
        x, tgt, w = _prepare(self.net, inputs, targets, kind, weights)
        rec, _ = self.net.forward(x, weights=w)
        if kind is LossKind.MSE:
            return mse_loss(rec.y, tgt, x.shape[1])
        return cross_entropy_loss(rec.y.sum(axis=0), tgt)

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, hook, None)
            if callable(fn):
                fn(*args)

    def train_step(self, inputs: npt.ArrayLike, targets: npt.ArrayLike) -> float:
        """One update; returns the loss before it. Order: gradient, each of ``transforms``,
        ``lr = scheduler.step()``, optimizer, then ``on_step_end(step, {"loss", "lr"})`` for each callback."""
        value, grads = self.loss_and_gradients(inputs, targets)
        for t in self.transforms:
            grads = t(grads, self.net.weights)
        if self.scheduler is not None:
            self.optimizer.lr = float(self.scheduler.step())
        self.optimizer.apply(self.net.weights, grads)
        step = self.step_count
        self.step_count += 1
        self._call("on_step_end", step, {"loss": value + 0.0, "lr": float(self.optimizer.lr)})
        return value

    def fit(self, batches: Iterable[tuple[npt.ArrayLike, npt.ArrayLike]], *, epochs: int = 1) -> list[float]:
        """:meth:`train_step` on each ``(inputs, targets)`` of ``batches``, ``epochs`` times, between the
        callbacks' ``on_train_begin`` and ``on_train_end``; after each epoch ``on_epoch_end(epoch, {"loss":
        mean loss of the epoch, "lr"})``. Returns the loss of every step. ``epochs > 1`` needs a re-iterable
        ``batches`` (a list, not a generator)."""
        if not isinstance(batches, Iterable):
            raise TypeError(f"batches must be an iterable of (inputs, targets) pairs, not {type(batches).__name__}")
        n_epochs = check_count("epochs", epochs, 1)
        if n_epochs > 1 and iter(batches) is batches:
            raise TypeError(f"batches must be re-iterable (e.g. a list) for epochs={n_epochs}, "
                            f"not the one-shot {type(batches).__name__}")
        self._call("on_train_begin", None)
        losses: list[float] = []
        for _ in range(n_epochs):
            epoch_losses: list[float] = []
            for k, batch in enumerate(batches):
                if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                    raise TypeError(f"batches[{k}] must be an (inputs, targets) pair, not {type(batch).__name__}")
                epoch_losses.append(self.train_step(*batch))
            losses.extend(epoch_losses)
            epoch = self.epoch_count
            self.epoch_count += 1
            if epoch_losses:
                self._call("on_epoch_end", epoch, {"loss": float(np.mean(epoch_losses)) + 0.0,
                                                   "lr": float(self.optimizer.lr)})
        self._call("on_train_end", {"loss": losses[-1] + 0.0} if losses else None)
        return losses

    # ---- checkpoints -----------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        """Learner-specific state besides network, optimizer, scheduler and counters."""
        return {}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`_extra_state` (keys already checked)."""

    def state_dict(self) -> dict[str, Any]:
        """``{"learner", "step_count", "epoch_count", "net", "optimizer", "scheduler", ...}``, nested state dicts
        (``scheduler`` is ``None`` without a scheduler). Transforms and callbacks are not state."""
        sched: dict[str, Any] | None = None
        if self.scheduler is not None:
            if not callable(getattr(self.scheduler, "state_dict", None)):
                raise TypeError(f"scheduler {type(self.scheduler).__name__} has no state_dict(); "
                                f"it cannot be checkpointed")
            sched = self.scheduler.state_dict()  # type: ignore[attr-defined]
        return {"learner": type(self).__name__, "step_count": self.step_count, "epoch_count": self.epoch_count,
                "net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(), "scheduler": sched,
                **self._extra_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output into this learner's network, optimizer and scheduler.

        Unknown or missing keys, another learner class, or a scheduler state without a scheduler (or the
        reverse) are errors naming them; the nested objects check their own parts.
        """
        name = type(self).__name__
        if isinstance(state, Mapping) and state.get("learner", name) != name:  # the class first
            raise ValueError(f"state_dict is for learner {state['learner']!r}, not {name!r}")
        st = check_keys(name, state, ("learner", "step_count", "epoch_count", "net", "optimizer", "scheduler",
                                      *self._extra_state()))
        steps = load_int(name, "step_count", st["step_count"], 0)
        epochs = load_int(name, "epoch_count", st["epoch_count"], 0)
        if (st["scheduler"] is None) != (self.scheduler is None):
            have = "no scheduler" if self.scheduler is None else f"a {type(self.scheduler).__name__}"
            raise ValueError(f"{name} state_dict['scheduler'] is {'None' if st['scheduler'] is None else 'a state'}"
                             f", but this learner has {have}")
        self.net.load_state_dict(st["net"])
        self.optimizer.load_state_dict(st["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(st["scheduler"])  # type: ignore[attr-defined]
        self._load_extra_state(st)
        self.step_count, self.epoch_count = steps, epochs


class BPTTLearner(GradientLearner):
    """Backpropagation through time over the whole sequence (memory O(T))."""

    def loss_and_gradients(self, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                           weights: dict[str, Array] | None = None) -> tuple[float, dict[str, Array]]:
        """Loss and BPTT gradient at ``weights`` (default ``net.weights``), :func:`tbptt_gradients` with k = T."""
        return tbptt_gradients(self.net, inputs, targets, None, self.loss_kind, weights)

    def hessian_vector_product(self, inputs: npt.ArrayLike, targets: npt.ArrayLike, vector: Mapping[str, Array],
                               weights: dict[str, Array] | None = None) -> dict[str, Array]:
        """Exact ``H @ vector`` of the BPTT loss at ``weights`` (default ``net.weights``), with the Hessian of the
        surrogate-gradient model (:func:`plasticore.refmodel.hessian.bptt_hessian_vector_product`)."""
        x, tgt, w = _prepare(self.net, inputs, targets, self.loss_kind, weights)
        return bptt_hessian_vector_product(self.net, x, tgt, vector, w, self.loss_kind)[2]


class TBPTTLearner(GradientLearner):
    """Truncated BPTT with windows of ``k`` steps (memory O(k)); ``k >= T`` is BPTT.

    The other parameters are those of :class:`GradientLearner`.
    """

    def __init__(self, net: LIFNetwork, *, k: int = 50, loss: str | LossKind = LossKind.MSE,
                 optimizer: Optimizer | None = None, scheduler: Scheduler | None = None,
                 callbacks: Sequence[Any] = (), transforms: Sequence[GradientTransform] = ()) -> None:
        super().__init__(net, loss=loss, optimizer=optimizer, scheduler=scheduler, callbacks=callbacks,
                         transforms=transforms)
        self.k = _window_count("k", k)

    def loss_and_gradients(self, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                           weights: dict[str, Array] | None = None) -> tuple[float, dict[str, Array]]:
        """Loss and truncated-BPTT gradient (:func:`tbptt_gradients`) at ``weights`` (default ``net.weights``)."""
        return tbptt_gradients(self.net, inputs, targets, self.k, self.loss_kind, weights)


class EligibilityTrace(GradientLearner):
    """e-prop (Bellec et al. 2020) with symmetric (``W_out^T``) or fixed random feedback.

    ``feedback="random"`` draws ``B`` (n_rec, n_out) once from ``N(0, 1/n_rec)`` with the generator
    ``seed`` (an int >= 0 for ``numpy.random.default_rng(seed)``, or a ``numpy.random.Generator``;
    "random e-prop"). ``chunk`` sets how many steps the traces are advanced at once (memory O(chunk); the
    result does not depend on it beyond rounding). The other parameters are those of
    :class:`GradientLearner`; the random feedback matrix is part of :meth:`state_dict`.
    """

    def __init__(self, net: LIFNetwork, *, feedback: str | Feedback = Feedback.SYMMETRIC, chunk: int = 50,
                 seed: int | np.random.Generator = 0, loss: str | LossKind = LossKind.MSE,
                 optimizer: Optimizer | None = None, scheduler: Scheduler | None = None,
                 callbacks: Sequence[Any] = (), transforms: Sequence[GradientTransform] = ()) -> None:
        super().__init__(net, loss=loss, optimizer=optimizer, scheduler=scheduler, callbacks=callbacks,
                         transforms=transforms)
        choices = [f.value for f in Feedback]
        key = feedback.value if isinstance(feedback, Feedback) else feedback
        if not isinstance(key, str) or key not in choices:
            bad = (f"an array of shape {feedback.shape} (a custom matrix goes to eprop_gradients(feedback=...))"
                   if isinstance(feedback, np.ndarray) else repr(feedback))
            raise ValueError(f"feedback must be one of {choices}, not {bad}")
        self.feedback = Feedback(key)
        self.chunk = _window_count("chunk", chunk)
        rng = check_rng("seed", seed)
        self.seed = seed if isinstance(seed, np.random.Generator) else int(seed)
        self.feedback_matrix: Array | None = None
        if self.feedback is Feedback.RANDOM:
            self.feedback_matrix = rng.standard_normal((net.n_rec, net.n_out)) / math.sqrt(net.n_rec)

    def loss_and_gradients(self, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                           weights: dict[str, Array] | None = None) -> tuple[float, dict[str, Array]]:
        """Loss and e-prop gradient (:func:`eprop_gradients`) at ``weights`` (default ``net.weights``)."""
        return eprop_gradients(self.net, inputs, targets, self.feedback_matrix, self.chunk, self.loss_kind,
                               weights)

    def _extra_state(self) -> dict[str, Any]:
        fb = self.feedback_matrix
        return {"feedback_matrix": None if fb is None else fb.copy()}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        fb = state["feedback_matrix"]
        if (fb is None) != (self.feedback_matrix is None):
            raise ValueError(f"EligibilityTrace state_dict['feedback_matrix'] is {'None' if fb is None else 'set'}, "
                             f"but this learner has feedback={self.feedback.value!r}")
        if fb is not None:
            self.feedback_matrix = load_array("EligibilityTrace", "feedback_matrix", fb,
                                              (self.net.n_rec, self.net.n_out), "f")


EPropLearner = EligibilityTrace

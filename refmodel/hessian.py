"""Exact Hessian-vector products of the BPTT loss of :class:`~plasticore.refmodel.lif.LIFNetwork`.

The product ``H v`` is the directional derivative of the BPTT gradient along ``v`` (Pearlmutter 1994,
*Fast exact multiplication by the Hessian*, Neural Comput. 6:147, the R-operator): a forward pass carries
the tangents of the forward quantities, and the backward pass of
:mod:`plasticore.refmodel.gradient_learners` is differentiated line by line (forward-over-reverse). With
the dotted quantities the tangents along ``v = (\\dot W_{in}, \\dot W_{rec}, \\dot W_{out})``:

.. math::

    \\dot v_t = \\alpha \\dot v_{t-1} + \\dot W_{in} x_t + \\dot W_{rec} z_{t-1} + W_{rec} \\dot z_{t-1},
    \\quad \\dot z_t = \\psi_t \\dot v_t, \\quad \\dot\\psi_t = \\psi'_t \\dot v_t,
    \\quad \\dot y_t = \\kappa \\dot y_{t-1} + \\dot W_{out} z_t + W_{out} \\dot z_t

    \\dot{\\bar y}_t = \\dot e_t + \\kappa \\dot{\\bar y}_{t+1}, \\quad
    \\dot{\\bar z}_t = \\dot W_{out}^T \\bar y_t + W_{out}^T \\dot{\\bar y}_t
        + \\dot W_{rec}^T \\bar v_{t+1} + W_{rec}^T \\dot{\\bar v}_{t+1}, \\quad
    \\dot{\\bar v}_t = \\dot\\psi_t \\bar z_t + \\psi_t \\dot{\\bar z}_t + \\alpha \\dot{\\bar v}_{t+1}

    (Hv)_{out} = \\sum_t \\dot{\\bar y}_t z_t^T + \\bar y_t \\dot z_t^T, \\quad
    (Hv)_{in} = \\sum_t \\dot{\\bar v}_t x_t^T, \\quad
    (Hv)_{rec} = \\sum_t \\dot{\\bar v}_t z_{t-1}^T + \\bar v_t \\dot z_{t-1}^T

The spike is differentiated with the surrogate wherever it appears, the surrogate itself with its
derivative ``psi'`` (:func:`surrogate_derivative`), and the reset ``theta * z_{t-1}`` is a constant (as in
the gradient). This is exactly what PyTorch's double backward (``create_graph=True``) computes for the same
model with a custom spike function; every local derivative is that of a smooth function, so the result is
symmetric and forward-over-reverse equals reverse-over-reverse. ``e_t`` is the loss error of
:mod:`plasticore.refmodel.losses`; for ``mse`` ``\\dot e_t = \\dot y_t / B``, for ``cross_entropy``
``\\dot e_{t,b} = p_b \\odot (\\dot s_b - p_b \\cdot \\dot s_b) / B`` with ``\\dot s = \\sum_t \\dot y_t``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validate import check_array
from .lif import LIFNetwork
from .losses import LossKind, check_targets, cross_entropy_error, cross_entropy_loss, get_loss_kind, mse_loss
from .surrogates import Surrogate

Array = npt.NDArray[np.float64]

__all__ = ["bptt_hessian_vector_product", "surrogate_derivative"]


def _d_fast_sigmoid(u: Array, slope: float) -> Array:
    return -2.0 * slope * np.sign(u) / (slope * np.abs(u) + 1.0) ** 3


def _d_arctan(u: Array, slope: float) -> Array:
    c = np.pi * slope / 2.0
    return -2.0 * c * c * u / (1.0 + (c * u) ** 2) ** 2


def _d_triangle(u: Array, slope: float) -> Array:
    return np.where(1.0 - slope * np.abs(u) > 0.0, -slope * np.sign(u), 0.0)


def _d_sigmoid(u: Array, slope: float) -> Array:
    s = 1.0 / (1.0 + np.exp(-slope * u))
    return slope * slope * s * (1.0 - s) * (1.0 - 2.0 * s)


_DERIVATIVES: dict[str, Callable[[Array, float], Array]] = {
    Surrogate.FAST_SIGMOID.value: _d_fast_sigmoid,
    Surrogate.ARCTAN.value: _d_arctan,
    Surrogate.TRIANGLE.value: _d_triangle,
    Surrogate.SIGMOID.value: _d_sigmoid,
}


def surrogate_derivative(name: str | Surrogate) -> Callable[[Array, float], Array]:
    """``psi'(u, slope)``, the derivative of the surrogate ``psi`` of :mod:`plasticore.refmodel.surrogates`.

    ``fast_sigmoid``: ``-2 slope sign(u) / (slope |u| + 1)^3``; ``arctan``: ``-2 c^2 u / (1 + (c u)^2)^2``
    with ``c = pi slope / 2``; ``triangle``: ``-slope sign(u)`` inside the support, 0 outside;
    ``sigmoid``: ``slope^2 s (1 - s)(1 - 2 s)``. ``sign(0) = 0``, as in PyTorch's ``abs``.
    """
    key = name.value if isinstance(name, Surrogate) else name
    if not isinstance(key, str) or key not in _DERIVATIVES:
        raise ValueError(f"surrogate must be one of {sorted(_DERIVATIVES)}, not {name!r}")
    return _DERIVATIVES[key]


def _check_vector(vector: object, weights: Mapping[str, Array]) -> dict[str, Array]:
    if not isinstance(vector, Mapping) or set(vector) != set(weights):
        keys = sorted(vector) if isinstance(vector, Mapping) else type(vector).__name__
        raise ValueError(f"vector must be a dict with keys {sorted(weights)}, not {keys}")
    return {k: check_array(f"vector[{k!r}]", vector[k], weights[k].shape) for k in weights}


def bptt_hessian_vector_product(net: LIFNetwork, inputs: Array, targets: npt.ArrayLike,
                                vector: Mapping[str, Array], weights: Mapping[str, Array],
                                loss: str | LossKind = LossKind.MSE,
                                ) -> tuple[float, dict[str, Array], dict[str, Array]]:
    """``(loss, gradient, H @ vector)`` of the full-BPTT loss at ``weights`` (module docstring).

    ``inputs`` (T, batch, n_in) and ``weights`` are expected already checked (as
    :meth:`~plasticore.refmodel.gradient_learners.BPTTLearner.hessian_vector_product` does); ``targets``
    and ``vector`` (keys and shapes of ``weights``) are checked here. The gradient equals
    :func:`~plasticore.refmodel.gradient_learners.tbptt_gradients` with ``k=None`` up to rounding.
    """
    kind = get_loss_kind(loss)
    x = net.check_inputs(inputs)
    n_t, batch = x.shape[0], x.shape[1]
    tgt: Any = check_targets(kind, targets, n_t, batch, net.n_out)
    dw = _check_vector(vector, weights)
    alpha, kappa, theta = net.params
    w_in, w_out, w_rec = weights["w_in"], weights["w_out"], weights.get("w_rec")
    d_in, d_out, d_rec = dw["w_in"], dw["w_out"], dw.get("w_rec")
    psi_fn, dpsi_fn, slope = net.surrogate, surrogate_derivative(net.surrogate_name), net.surrogate_slope
    n_rec, n_out = net.n_rec, net.n_out
    # forward pass with tangents
    v = np.zeros((batch, n_rec))
    z = np.zeros((batch, n_rec))
    y = np.zeros((batch, n_out))
    vd = np.zeros((batch, n_rec))
    zd = np.zeros((batch, n_rec))
    yd = np.zeros((batch, n_out))
    zs = np.zeros((n_t + 1, batch, n_rec))  # zs[t + 1] = z_t, zs[0] = z_{-1} = 0
    zds = np.zeros((n_t + 1, batch, n_rec))
    psi = np.empty((n_t, batch, n_rec))
    dpsi_vd = np.empty((n_t, batch, n_rec))
    ys = np.empty((n_t, batch, n_out))
    yds = np.empty((n_t, batch, n_out))
    for t in range(n_t):
        v_new = alpha * v + x[t] @ w_in.T - theta * z
        vd_new = alpha * vd + x[t] @ d_in.T
        if w_rec is not None and d_rec is not None:
            v_new = v_new + z @ w_rec.T
            vd_new = vd_new + z @ d_rec.T + zd @ w_rec.T
        v, vd = v_new, vd_new
        u = v - theta
        z = (v > theta).astype(np.float64)
        psi[t] = psi_fn(u, slope)
        dpsi_vd[t] = dpsi_fn(u, slope) * vd
        zd = psi[t] * vd
        y = kappa * y + z @ w_out.T
        yd = kappa * yd + z @ d_out.T + zd @ w_out.T
        zs[t + 1], zds[t + 1], ys[t], yds[t] = z, zd, y, yd
    # loss errors and their tangents
    if kind is LossKind.MSE:
        value = mse_loss(ys, tgt, batch)
        err = (ys - tgt) / batch
        errd = yds / batch
    else:
        logits = ys.sum(axis=0)
        value = cross_entropy_loss(logits, tgt)
        e = cross_entropy_error(logits, tgt)
        p = e * batch
        p[np.arange(batch), tgt] += 1.0  # softmax
        sd = yds.sum(axis=0)
        ed = p * (sd - (p * sd).sum(axis=1, keepdims=True)) / batch
        err = np.broadcast_to(e, ys.shape)
        errd = np.broadcast_to(ed, ys.shape)
    # backward pass with tangents
    grads = {k: np.zeros_like(a) for k, a in weights.items()}
    hvp = {k: np.zeros_like(a) for k, a in weights.items()}
    ybar = np.zeros((batch, n_out))
    ybard = np.zeros((batch, n_out))
    vbar = np.zeros((batch, n_rec))
    vbard = np.zeros((batch, n_rec))
    for t in range(n_t - 1, -1, -1):
        ybar = err[t] + kappa * ybar
        ybard = errd[t] + kappa * ybard
        zbar = ybar @ w_out
        zbard = ybar @ d_out + ybard @ w_out
        if w_rec is not None and d_rec is not None:
            zbar = zbar + vbar @ w_rec
            zbard = zbard + vbar @ d_rec + vbard @ w_rec
        vbar = psi[t] * zbar + alpha * vbar
        vbard = dpsi_vd[t] * zbar + psi[t] * zbard + alpha * vbard
        z_t, zd_t, z_prev, zd_prev = zs[t + 1], zds[t + 1], zs[t], zds[t]
        grads["w_out"] += ybar.T @ z_t
        hvp["w_out"] += ybard.T @ z_t + ybar.T @ zd_t
        grads["w_in"] += vbar.T @ x[t]
        hvp["w_in"] += vbard.T @ x[t]
        if w_rec is not None:
            grads["w_rec"] += vbar.T @ z_prev
            hvp["w_rec"] += vbard.T @ z_prev + vbar.T @ zd_prev
    return value, grads, hvp

"""Losses for the gradient learners, with their derivatives with respect to the readout ``y``.

Two losses, picked with :class:`LossKind`:

* ``mse`` (default), a sum over time of per-step terms, so it can be evaluated online, window by window:

  .. math::

      E = \\frac{1}{2B} \\sum_t \\sum_b \\sum_k (y_{t,b,k} - y^*_{t,b,k})^2, \\qquad
      \\frac{\\partial E}{\\partial y_{t,b,k}} = \\frac{y_{t,b,k} - y^*_{t,b,k}}{B}

  with targets ``y*`` of shape (T, batch, n_out) (Bellec et al. 2020, Eq. 8, summed over the batch of ``B``).

* ``cross_entropy`` on the time-summed readout (the logits ``s = sum_t y_t``), for classification with
  integer labels ``c`` of shape (batch,):

  .. math::

      E = -\\frac{1}{B} \\sum_b \\log \\operatorname{softmax}(s_b)_{c_b}, \\qquad
      \\frac{\\partial E}{\\partial y_{t,b,k}} = \\frac{\\operatorname{softmax}(s_b)_k - [k = c_b]}{B}
      \\quad \\text{for every } t.

  Its error is the same at every step but is only known once the whole sequence has been seen.

All functions are pure and work on float64 arrays.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
import numpy.typing as npt

from ._validate import check_count, sum_is_finite

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "LossKind",
    "accuracy",
    "check_targets",
    "cross_entropy_error",
    "cross_entropy_loss",
    "get_loss_kind",
    "mse_error",
    "mse_loss",
    "predict_classes",
]


class LossKind(str, Enum):
    """The losses of the gradient learners (module docstring): ``mse`` and ``cross_entropy``."""

    MSE = "mse"
    CROSS_ENTROPY = "cross_entropy"


def get_loss_kind(name: str | LossKind) -> LossKind:
    """Look a loss up by name; unknown names raise ``ValueError`` listing the choices."""
    if isinstance(name, LossKind):
        return name
    choices = [k.value for k in LossKind]
    if name not in choices:
        raise ValueError(f"loss must be one of {choices}, not {name!r}")
    return LossKind(name)


def _same_shape(y: Array, targets: Array, batch: int) -> None:
    if np.shape(y) != np.shape(targets):
        raise ValueError(f"y and targets must have the same shape, not {np.shape(y)} and {np.shape(targets)}")
    check_count("batch", batch)


def _logits_labels(logits: Array, labels: IntArray) -> None:
    lg, lb = np.asarray(logits), np.asarray(labels)
    if lg.ndim != 2 or lg.shape[0] < 1 or lg.shape[1] < 1:
        raise ValueError(f"logits must have shape (batch, n_out) with batch, n_out >= 1, not {lg.shape}")
    if lb.shape != (lg.shape[0],):
        raise ValueError(f"labels must have shape (batch,) = {(lg.shape[0],)}, not {lb.shape}")
    if lb.dtype.kind not in "iu":
        raise TypeError(f"labels must be integer class indices, not dtype {lb.dtype}")
    bad = (lb < 0) | (lb >= lg.shape[1])
    if np.any(bad):
        raise ValueError(f"labels must be in [0, {lg.shape[1] - 1}], not {int(lb[np.argmax(bad)])}")


def mse_loss(y: Array, targets: Array, batch: int) -> float:
    """``0.5 * sum((y - targets)^2) / batch`` over any leading (time, batch) axes."""
    _same_shape(y, targets, batch)
    d = y - targets
    return 0.5 * float(np.vdot(d, d)) / batch


def mse_error(y: Array, targets: Array, batch: int) -> Array:
    """``dE/dy = (y - targets) / batch``."""
    _same_shape(y, targets, batch)
    return (y - targets) / batch


def _log_softmax(logits: Array) -> Array:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy_loss(logits: Array, labels: IntArray) -> float:
    """Mean over the batch of ``-log softmax(logits)[label]``; ``logits`` (batch, n_out)."""
    _logits_labels(logits, labels)
    logp = _log_softmax(logits)
    return 0.0 - float(logp[np.arange(labels.shape[0]), labels].mean())  # 0.0, not -0.0, for a perfect fit


def cross_entropy_error(logits: Array, labels: IntArray) -> Array:
    """``dE/dlogits = (softmax(logits) - onehot(labels)) / batch``, shape (batch, n_out)."""
    _logits_labels(logits, labels)
    p = np.exp(_log_softmax(logits))
    p[np.arange(labels.shape[0]), labels] -= 1.0
    return p / labels.shape[0]


def predict_classes(y: Array) -> IntArray:
    """Class decision from a readout trajectory ``y`` (T, batch, n_out): argmax of ``sum_t y_t``."""
    if np.ndim(y) != 3:
        raise ValueError(f"y must be a readout trajectory of shape (T, batch, n_out), not {np.shape(y)}")
    return np.asarray(np.argmax(y.sum(axis=0), axis=-1), dtype=np.int64)


def accuracy(y: Array, labels: npt.ArrayLike) -> float:
    """Fraction of samples whose :func:`predict_classes` equals ``labels`` (shape (batch,))."""
    pred = predict_classes(y)
    lb = np.asarray(labels)
    if lb.shape != pred.shape:
        raise ValueError(f"labels must have shape (batch,) = {pred.shape}, not {lb.shape}")
    return float(np.mean(pred == lb))


def check_targets(kind: LossKind, targets: npt.ArrayLike, n_t: int, batch: int, n_out: int,
                  ) -> Array | IntArray:
    """Validate targets for ``kind``: float (T, batch, n_out) for ``mse``; int labels in ``[0, n_out)`` of
    shape (batch,) for ``cross_entropy``. Returns an array without copying when the dtype already fits."""
    if kind is LossKind.MSE:
        raw = targets if isinstance(targets, np.ndarray) else np.asarray(targets)
        if raw.dtype.kind not in "biuf":
            raise TypeError(f"targets for loss 'mse' must be real numbers, not dtype {raw.dtype}")
        y = np.asarray(raw, dtype=np.float64)
        if y.shape != (n_t, batch, n_out):
            raise ValueError(f"targets for loss 'mse' must have shape (T, batch, n_out) = "
                             f"{(n_t, batch, n_out)}, not {y.shape}")
        # the sum is a reduction (no temporary as large as the targets); only when it is not finite is each
        # entry checked, so that a sum overflowing from finite entries is not mistaken for a NaN
        if not sum_is_finite(y) and not np.all(np.isfinite(y)):
            bad = y[~np.isfinite(y)].flat[0].item()
            raise ValueError(f"targets for loss 'mse' must be finite, not containing {bad!r}")
        return y
    raw = np.asarray(targets)
    if raw.shape != (batch,):
        raise ValueError(f"targets for loss 'cross_entropy' must be class labels of shape (batch,) = "
                         f"{(batch,)}, not {raw.shape}")
    if raw.dtype.kind not in "iu":
        raise TypeError(f"targets for loss 'cross_entropy' must be integer labels, not dtype {raw.dtype}")
    labels = raw.astype(np.int64)
    bad_labels = (labels < 0) | (labels >= n_out)
    if np.any(bad_labels):
        raise ValueError(f"targets for loss 'cross_entropy' must be labels in [0, {n_out - 1}], "
                         f"not {int(labels[np.argmax(bad_labels)])}")
    return labels

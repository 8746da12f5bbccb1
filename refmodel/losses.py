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


def mse_loss(y: Array, targets: Array, batch: int) -> float:
    """``0.5 * sum((y - targets)^2) / batch`` over any leading (time, batch) axes."""
    d = y - targets
    return 0.5 * float(np.vdot(d, d)) / batch


def mse_error(y: Array, targets: Array, batch: int) -> Array:
    """``dE/dy = (y - targets) / batch``."""
    return (y - targets) / batch


def _log_softmax(logits: Array) -> Array:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy_loss(logits: Array, labels: IntArray) -> float:
    """Mean over the batch of ``-log softmax(logits)[label]``; ``logits`` (batch, n_out)."""
    logp = _log_softmax(logits)
    return -float(logp[np.arange(labels.shape[0]), labels].mean())


def cross_entropy_error(logits: Array, labels: IntArray) -> Array:
    """``dE/dlogits = (softmax(logits) - onehot(labels)) / batch``, shape (batch, n_out)."""
    p = np.exp(_log_softmax(logits))
    p[np.arange(labels.shape[0]), labels] -= 1.0
    return p / labels.shape[0]


def predict_classes(y: Array) -> IntArray:
    """Class decision from a readout trajectory ``y`` (T, batch, n_out): argmax of ``sum_t y_t``."""
    return np.asarray(np.argmax(y.sum(axis=0), axis=-1), dtype=np.int64)


def accuracy(y: Array, labels: npt.ArrayLike) -> float:
    """Fraction of samples whose :func:`predict_classes` equals ``labels``."""
    return float(np.mean(predict_classes(y) == np.asarray(labels)))


def check_targets(kind: LossKind, targets: npt.ArrayLike, n_t: int, batch: int, n_out: int,
                  ) -> Array | IntArray:
    """Validate targets for ``kind``: float (T, batch, n_out) for ``mse``; int labels in ``[0, n_out)`` of
    shape (batch,) for ``cross_entropy``. Returns an array without copying when the dtype already fits."""
    if kind is LossKind.MSE:
        y = np.asarray(targets, dtype=np.float64)
        if y.shape != (n_t, batch, n_out):
            raise ValueError(f"targets for loss 'mse' must have shape (T, batch, n_out) = "
                             f"{(n_t, batch, n_out)}, not {y.shape}")
        if not np.isfinite(y.sum()):  # a reduction: no temporary as large as the targets
            raise ValueError("targets for loss 'mse' must be finite")
        return y
    raw = np.asarray(targets)
    if raw.shape != (batch,):
        raise ValueError(f"targets for loss 'cross_entropy' must be class labels of shape (batch,) = "
                         f"{(batch,)}, not {raw.shape}")
    if raw.dtype.kind not in "iu":
        raise TypeError(f"targets for loss 'cross_entropy' must be integer labels, not dtype {raw.dtype}")
    labels = raw.astype(np.int64)
    bad = (labels < 0) | (labels >= n_out)
    if np.any(bad):
        raise ValueError(f"targets for loss 'cross_entropy' must be labels in [0, {n_out - 1}], "
                         f"not {int(labels[np.argmax(bad)])}")
    return labels

"""Surrogate derivatives for the spike nonlinearity ``z = H(v - theta)``.

The forward pass uses the Heaviside step; gradients use a pseudo-derivative ``psi(u)``, ``u = v - theta``
(Neftci, Mostafa & Zenke 2019, *Surrogate gradient learning in spiking neural networks*, IEEE SPM 36:51;
Bellec et al. 2020 call it the pseudo-derivative). Each function is ``psi(u, slope) -> array``.

* ``fast_sigmoid``: ``1 / (slope * |u| + 1)^2`` (SuperSpike, Zenke & Ganguli 2018; snnTorch's default)
* ``arctan``: ``1 / (1 + (pi * slope * u / 2)^2)`` (snnTorch ``atan`` with alpha = slope, scaled to peak 1)
* ``triangle``: ``max(0, 1 - slope * |u|)`` (Bellec et al. 2018/2020 use ``0.3 * max(0, 1 - |u|)``)
* ``sigmoid``: ``slope * s(slope*u) * (1 - s(slope*u))`` with the logistic ``s``
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def fast_sigmoid(u: Array, slope: float) -> Array:
    """SuperSpike's ``1 / (slope * |u| + 1)^2`` (peak 1 at ``u = 0``)."""
    return 1.0 / (slope * np.abs(u) + 1.0) ** 2


def arctan(u: Array, slope: float) -> Array:
    """``1 / (1 + (pi * slope * u / 2)^2)``, the derivative of snnTorch's ``atan`` scaled to peak 1."""
    return 1.0 / (1.0 + (np.pi * slope * u / 2.0) ** 2)


def triangle(u: Array, slope: float) -> Array:
    """``max(0, 1 - slope * |u|)`` (Bellec et al.'s piecewise-linear pseudo-derivative, without the 0.3)."""
    return np.maximum(0.0, 1.0 - slope * np.abs(u))


def sigmoid(u: Array, slope: float) -> Array:
    """``slope * s(slope*u) * (1 - s(slope*u))``, the derivative of the logistic ``s(slope*u)``."""
    s = 1.0 / (1.0 + np.exp(-slope * u))
    return slope * s * (1.0 - s)


class Surrogate(str, Enum):
    """The surrogate derivatives by name (keys of :data:`SURROGATES`)."""

    FAST_SIGMOID = "fast_sigmoid"
    ARCTAN = "arctan"
    TRIANGLE = "triangle"
    SIGMOID = "sigmoid"


SURROGATES: dict[str, Callable[[Array, float], Array]] = {
    Surrogate.FAST_SIGMOID.value: fast_sigmoid,
    Surrogate.ARCTAN.value: arctan,
    Surrogate.TRIANGLE.value: triangle,
    Surrogate.SIGMOID.value: sigmoid,
}


def get_surrogate(name: str | Surrogate) -> Callable[[Array, float], Array]:
    """Look a surrogate up by name; unknown names raise ``ValueError`` listing the choices."""
    key = name.value if isinstance(name, Surrogate) else name
    if not isinstance(key, str) or key not in SURROGATES:
        raise ValueError(f"surrogate must be one of {sorted(SURROGATES)}, not {name!r}")
    return SURROGATES[key]

"""Checks shared by every ``load_state_dict`` in :mod:`plasticore.refmodel`.

A state dict is a plain ``dict`` of NumPy arrays, Python numbers, strings and nested state dicts (``torch``'s
convention); :meth:`state_dict` returns copies and :meth:`load_state_dict` copies in, so neither aliases the
live buffers. Loading checks everything before anything is written: an unknown or a missing key, a wrong
shape, a wrong dtype or a value out of range is an error that names the owner and the key, e.g.
``ValueError: OnlineO1Layer state_dict['weight'] must have shape (3, 2), not (2, 3)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validate import check_count

__all__ = ["check_keys", "load_array", "load_float", "load_int"]


def check_keys(owner: str, state: object, expected: Iterable[str]) -> Mapping[str, Any]:
    """``state`` as a mapping whose keys are exactly ``expected``; otherwise an error naming the difference."""
    if not isinstance(state, Mapping):
        raise TypeError(f"{owner} state_dict must be a mapping (from state_dict()), not {type(state).__name__}")
    want = list(expected)
    unknown = sorted(str(k) for k in state if k not in want)
    missing = [k for k in want if k not in state]
    if unknown or missing:
        parts = ([f"unknown keys {unknown}"] if unknown else []) + ([f"missing keys {missing}"] if missing else [])
        raise ValueError(f"{owner} state_dict has {' and '.join(parts)} (expected exactly {want})")
    return state


def load_array(
    owner: str,
    key: str,
    value: object,
    shape: tuple[int, ...],
    kind: str,
    lo: float | None = None,
    hi: float | None = None,
) -> npt.NDArray[Any]:
    """A copy of ``value`` checked to be an array of ``shape``: ``kind="f"`` float64, ``kind="i"`` integers
    (returned as int64) in ``[lo, hi]``."""
    name = f"{owner} state_dict[{key!r}]"
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, not {type(value).__name__}")
    if kind == "f" and value.dtype != np.float64:
        raise TypeError(f"{name} must have dtype float64, not {value.dtype}")
    if kind == "i" and value.dtype.kind not in "iu":
        raise TypeError(f"{name} must have an integer dtype, not {value.dtype}")
    if value.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, not {value.shape}")
    out = value.astype(np.int64) if kind == "i" else value.copy()
    if value.size and lo is not None and hi is not None:
        bad = (out < lo) | (out > hi)
        if kind == "f":
            bad |= np.isnan(out)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{name} must be in [{lo}, {hi}], not {out[where].item()!r} at index {where}")
    return out


def load_int(owner: str, key: str, value: object, lo: int, hi: int | None = None) -> int:
    """``value`` checked to be an int (not bool) in ``[lo, hi]``."""
    return check_count(f"{owner} state_dict[{key!r}]", value, lo, hi)


def load_float(owner: str, key: str, value: object) -> float:
    """``value`` checked to be a real number (not bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner} state_dict[{key!r}] must be a number, not {type(value).__name__} {value!r}")
    return float(value)

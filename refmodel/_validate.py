"""Argument checks shared by the learning rules (gradient learners and local plasticity).

Every checker returns the value converted to its canonical type or raises an error whose message names the
parameter, the allowed range and the bad value (``"tau_d must be a finite number in (0, inf), not -1.0"``),
so that bad input never surfaces as a crash deep inside NumPy. ``TypeError`` for a wrong kind of value,
``ValueError`` for a value of the right kind outside its range or shape.
"""

from __future__ import annotations

import math
import os
from enum import Enum
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "check_allocation",
    "check_array",
    "check_count",
    "check_enum",
    "check_generator",
    "check_instance",
    "check_real",
    "check_rng",
    "check_seed",
    "check_spikes",
    "sum_is_finite",
]

Array = npt.NDArray[np.float64]
_T = TypeVar("_T")


def _fmt(v: float | None, default: str) -> str:
    return default if v is None else f"{v:g}"


def check_real(
    name: str,
    value: object,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a float if it is a real number in the interval; raise a named error otherwise.

    The message names the parameter, the allowed interval and the bad value, e.g.
    ``"tau_d must be a number in (0, inf), not -1.0"``.
    """
    interval = f"{'(' if lo_open or lo is None else '['}{_fmt(lo, '-inf')}, {_fmt(hi, 'inf')}" + (
        ")" if hi_open or hi is None else "]"
    )
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in {interval}, not {type(value).__name__} {value!r}")
    v = float(value)
    bad = math.isnan(v) or (math.isinf(v) and not allow_inf)
    if lo is not None:
        bad = bad or v < lo or (lo_open and v == lo)
    if hi is not None:
        bad = bad or v > hi or (hi_open and v == hi)
    if bad:
        raise ValueError(f"{name} must be a {'' if allow_inf else 'finite '}number in {interval}, not {value!r}")
    return v


def check_count(name: str, value: object, lo: int = 1, hi: int | None = None) -> int:
    """Return ``value`` if it is an ``int`` (not ``bool``) in ``[lo, hi]``; raise a named error otherwise."""
    rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int {rng}, not {type(value).__name__} {value!r}")
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be an int {rng}, not {value}")
    return int(value)


def check_seed(name: str, value: object) -> int:
    """A seed for ``numpy.random.default_rng``: an ``int >= 0``."""
    return check_count(name, value, 0)


def check_generator(name: str, value: object) -> np.random.Generator:
    """``value`` itself if it is a ``numpy.random.Generator`` (no global RNG, no implicit seeding)."""
    if not isinstance(value, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator (e.g. numpy.random.default_rng(seed)), "
            f"not {type(value).__name__} {value!r}"
        )
    return value


def check_rng(name: str, value: object) -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``value``: the generator itself (used, not copied) or an int seed >= 0.

    This is how every random choice in :mod:`plasticore.refmodel` takes its randomness: no global RNG.
    """
    if isinstance(value, np.random.Generator):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{name} must be an int seed >= 0 or a numpy.random.Generator, not {type(value).__name__} {value!r}"
        )
    return np.random.default_rng(check_seed(name, value))


def _physical_memory() -> int:
    """Bytes of physical memory of this machine (``2^40`` if the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return 1 << 40


def _bytes(n: int) -> str:
    for unit, size in (("PB", 1 << 50), ("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def check_allocation(what: str, n_bytes: int) -> None:
    """Raise ``ValueError`` *before* allocating if ``n_bytes`` exceed this machine's physical memory.

    A size that would need terabytes is a mistake in the arguments, not a reason for a ``MemoryError`` from
    deep inside NumPy; the message names what was asked for and how much it would take.
    """
    limit = _physical_memory()
    if n_bytes > limit:
        raise ValueError(f"{what} would need {_bytes(n_bytes)} of memory, more than this machine's {_bytes(limit)}")


def check_instance(name: str, value: object, cls: type[_T]) -> _T:
    """``value`` itself if it is an instance of ``cls``; ``TypeError`` naming ``name`` otherwise."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__}, not {type(value).__name__}")
    return value


def sum_is_finite(a: npt.NDArray[Any]) -> bool:
    """Whether the sum of ``a`` is finite (a cheap test for NaN/inf entries; overflow also gives ``False``)."""
    with np.errstate(over="ignore", invalid="ignore"):  # inf + -inf or an overflow is what we look for
        return bool(np.isfinite(a.sum()))


def _first_nonfinite(a: npt.NDArray[Any]) -> object:
    return a[~np.isfinite(a)].flat[0].item()


def check_array(
    name: str,
    value: object,
    shape: tuple[int | str | None, ...] | None = None,
    *,
    finite: bool = True,
) -> Array:
    """``value`` as a float64 array (no copy when it already is one).

    ``shape`` may hold ``None`` or a name (``"n_pre"``, used in the message) for a free axis.
    Non-numeric dtypes (strings, objects, complex) raise ``TypeError``; a wrong shape or (``finite=True``)
    a NaN/inf entry raises ``ValueError`` naming it.
    """
    raw = value if isinstance(value, np.ndarray) else np.asarray(value)
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers, not dtype {raw.dtype}")
    a = np.asarray(raw, dtype=np.float64)
    if shape is not None:
        ok = a.ndim == len(shape) and all(
            s is None or isinstance(s, str) or s == n for s, n in zip(shape, a.shape, strict=False)
        )
        if not ok:
            want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "")
            raise ValueError(f"{name} must have shape {want}), not {a.shape}")
    if finite and a.size and not sum_is_finite(a) and not np.all(np.isfinite(a)):
        # the sum is a reduction (no temporary as large as ``a``); only if it is not finite is every entry
        # checked, which also tells an overflowing sum of finite entries from a real NaN/inf
        raise ValueError(f"{name} must be finite, not containing {_first_nonfinite(a)!r}")
    return a


def check_spikes(name: str, value: npt.ArrayLike, shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """Boolean copy of ``value`` (bool or 0/1 numbers) of exactly ``shape``; raise a named error otherwise."""
    a = np.asarray(value)
    if a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, not {a.shape}")
    if a.dtype == np.bool_:
        return a.copy()
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be booleans or 0/1, not dtype {a.dtype}")
    if a.size:
        bad = ~((a == 0) | (a == 1))
        if bad.any():
            raise ValueError(f"{name} must be booleans or 0/1, not {a[bad].flat[0].item()!r}")
    return a.astype(bool)


def check_enum(name: str, cls: type[Enum], value: object) -> Any:
    """The member of ``cls`` given as itself or as its value; otherwise ``ValueError`` listing the values."""
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except (ValueError, TypeError):
        allowed = [m.value for m in cls]
        raise ValueError(f"{name} must be one of {allowed}, not {value!r}") from None

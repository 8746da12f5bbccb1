"""The seam through which the emitters reach the resource predictor without importing it.

:mod:`plasticore.estimate` imports :mod:`plasticore.hw` (it elaborates the designs and reads the blocks'
stage descriptions), so :mod:`plasticore.hw` must not import it back, not even inside a function: that
would make the two packages one import circle. Instead the predictor registers itself here when it is
imported (the top-level ``plasticore`` package imports it), and
:meth:`~plasticore.hw.emitter.OnlineO1LearningEmitter.estimate_resources` and
:meth:`~plasticore.hw.array_emitter.OnlineO1ArrayEmitter.estimate_resources` and
:meth:`~plasticore.hw.core_emitter.OnlineO1CoreEmitter.estimate_resources` call :func:`estimator`.

Pure Python; imports nothing from the package.
"""

from __future__ import annotations

from typing import Any, Protocol


class Estimator(Protocol):
    """The signature of :func:`plasticore.estimate.estimate_resources` (keyword arguments only)."""

    def __call__(
        self,
        *,
        config: Any,
        target: str,
        n_pre: int | None = ...,
        n_post: int | None = ...,
        n_synapses: int | None = ...,
        lanes: int = ...,
        design: str | None = ...,
        memory: str = ...,
        pipelined_update: bool = ...,
        check_fit: bool = ...,
        lif: Any = ...,
        n_active: int | None = ...,
    ) -> dict[str, Any]: ...


_REGISTERED: list[Estimator] = []


def register_estimator(fn: Estimator) -> None:
    """Make ``fn`` the predictor the emitters call (the last registration wins)."""
    _REGISTERED[:] = [fn]


def estimator() -> Estimator:
    """The registered predictor; :class:`RuntimeError` when none is (``import plasticore.estimate``)."""
    if not _REGISTERED:
        raise RuntimeError("no resource predictor registered: import plasticore.estimate first")
    return _REGISTERED[0]


__all__ = ["Estimator", "estimator", "register_estimator"]

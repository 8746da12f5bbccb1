r"""Learning-rate schedulers with deterministic local state.

Each schedule is a pure closed-form function of the step index ``t = 0, 1, 2, ...``
(:func:`step_lr`, :func:`exponential_lr`, :func:`cosine_lr`, :func:`warmup_cosine_lr`); the scheduler
classes are thin stateful wrappers that hold the hyperparameters and one integer, the number of
:meth:`Scheduler.step` calls made so far.

Step convention (the same as PyTorch's ``torch.optim.lr_scheduler``): **the k-th call of**
:meth:`Scheduler.step` **(k = 0, 1, ...) returns** ``lr(k)``, **the learning rate to use for training
step k, and then advances.** So the first call returns ``lr(0)``, which is ``lr_init`` for
:class:`StepScheduler`, :class:`ExponentialScheduler` and :class:`CosineScheduler`, exactly the
``optimizer.param_groups[0]["lr"]`` a PyTorch scheduler leaves in place before its first
``scheduler.step()``; the learner calls ``lr = sched.step()`` once per update, before applying it.

Closed forms, with :math:`\eta_0` = ``lr_init``, :math:`\eta_{min}` = ``lr_min``, :math:`T` = ``total_steps``,
:math:`W` = ``warmup_steps``:

.. math::

    \text{Step:}\quad & \eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}
        && \text{(PyTorch StepLR, } s = \texttt{step\_size)} \\
    \text{Exponential:}\quad & \eta_t = \eta_0\,\gamma^{t} && \text{(ExponentialLR)} \\
    \text{Cosine:}\quad & \eta_t = \eta_{min} + \tfrac12(\eta_0 - \eta_{min})
        \bigl(1 + \cos(\pi \min(t, T) / T)\bigr)
        && \text{(CosineAnnealingLR with } T_{max} = T \text{, held at } \eta_{min} \text{ for } t \ge T) \\
    \text{Warmup-cosine:}\quad & \eta_t = \eta_0 \frac{t + 1}{W} \ (t < W), \qquad
        \eta_t = \eta_{min} + \tfrac12(\eta_0 - \eta_{min})
        \bigl(1 + \cos(\pi \min(t - W, T - W) / (T - W))\bigr) \ (t \ge W)

The warmup is linear from 0 to :math:`\eta_0` over the ``W`` warmup steps ``t = 0 .. W-1``: the ramp is
the line through 0 at ``t = -1`` and :math:`\eta_0` at ``t = W - 1``, so the first update already has a
non-zero rate :math:`\eta_0 / W` (no step is wasted at rate 0). Cosine decay then starts at
:math:`\eta_0` at ``t = W`` and reaches :math:`\eta_{min}` at ``t = T``, held after. This is exactly the
PyTorch composition ``SequentialLR([LinearLR(start_factor=1/W, total_iters=W-1),
CosineAnnealingLR(T_max=T-W, eta_min=lr_min)], milestones=[W])``, and with ``W = 0`` it is
:class:`CosineScheduler`.

PyTorch computes these recursively (multiplying the previous rate); the closed forms here agree with
it to rounding (tests compare to 1e-12 relative). Unlike PyTorch's CosineAnnealingLR, which keeps
oscillating after ``T_max``, the cosine schedules here are held at :math:`\eta_{min}` after ``T``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "CosineScheduler",
    "ExponentialScheduler",
    "Scheduler",
    "StepScheduler",
    "WarmupCosineScheduler",
    "cosine_lr",
    "exponential_lr",
    "step_lr",
    "warmup_cosine_lr",
]


# ---------------------------------------------------------------------------------------------------------
# argument checks (messages name the parameter, the allowed range and the bad value)


def _number(name: str, value: object, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number {allowed}, not {type(value).__name__} {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be a finite number {allowed}, not {value!r}")
    return out


def _positive_rate(name: str, value: object) -> float:
    out = _number(name, value, "> 0")
    if out <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, not {value!r}")
    return out


def _lr_min(value: object, lr_init: float) -> float:
    allowed = f"in [0, lr_init] = [0, {lr_init!r}]"
    out = _number("lr_min", value, allowed)
    if not 0.0 <= out <= lr_init:
        raise ValueError(f"lr_min must be {allowed}, not {value!r}")
    return out


def _gamma(value: object) -> float:
    out = _number("gamma", value, "in (0, 1]")
    if not 0.0 < out <= 1.0:
        raise ValueError(f"gamma must be in (0, 1], not {value!r}")
    return out


def _int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, not {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, not {value}")
    return int(value)


# ---------------------------------------------------------------------------------------------------------
# closed forms (pure; arguments are assumed valid, t is checked)


def step_lr(t: int, lr_init: float, step_size: int, gamma: float) -> float:
    r""":math:`\eta_t = \eta_0 \gamma^{\lfloor t / s \rfloor}` (PyTorch ``StepLR``)."""
    t = _int("t", t, 0)
    return lr_init * gamma ** (t // step_size)


def exponential_lr(t: int, lr_init: float, gamma: float) -> float:
    r""":math:`\eta_t = \eta_0 \gamma^t` (PyTorch ``ExponentialLR``)."""
    t = _int("t", t, 0)
    return lr_init * gamma**t


def cosine_lr(t: int, lr_init: float, lr_min: float, total_steps: int) -> float:
    r""":math:`\eta_t = \eta_{min} + \frac12(\eta_0 - \eta_{min})(1 + \cos(\pi \min(t, T)/T))`.

    PyTorch ``CosineAnnealingLR(T_max=total_steps, eta_min=lr_min)`` for ``t <= total_steps``; held at
    ``lr_min`` after. Exact at the ends (``lr_init`` at 0, ``lr_min`` from ``total_steps``), clamped to
    ``[lr_min, lr_init]`` against 1-ulp rounding in between.
    """
    t = _int("t", t, 0)
    if t >= total_steps:
        return lr_min
    if t == 0:  # the closed form can miss lr_init by 1 ulp here
        return lr_init
    value = lr_min + 0.5 * (lr_init - lr_min) * (1.0 + math.cos(math.pi * t / total_steps))
    return min(lr_init, max(lr_min, value))  # never outside [lr_min, lr_init] by rounding


def warmup_cosine_lr(t: int, lr_init: float, lr_min: float, warmup_steps: int, total_steps: int) -> float:
    r"""Linear warmup :math:`\eta_0 (t+1)/W` for ``t < W``, then :func:`cosine_lr` over ``T - W`` steps.

    See the module docstring for the exact convention and its PyTorch equivalent.
    """
    t = _int("t", t, 0)
    if t < warmup_steps:
        return lr_init * ((t + 1) / warmup_steps)  # (W/W) == 1.0 exactly: the peak is lr_init
    return cosine_lr(t - warmup_steps, lr_init, lr_min, total_steps - warmup_steps)


# ---------------------------------------------------------------------------------------------------------
# stateful wrappers


class Scheduler(ABC):
    """Base class: holds hyperparameters (:meth:`config`) and the number of :meth:`step` calls made.

    Duck-typed contract used by the learners: ``lr = scheduler.step()`` once per update.
    """

    def __init__(self) -> None:
        self._steps_taken = 0
        self._last_lr: float | None = None

    @abstractmethod
    def lr_at(self, t: int) -> float:
        """The learning rate for step index ``t >= 0`` (pure; does not change the state)."""

    @abstractmethod
    def config(self) -> dict[str, float | int]:
        """The hyperparameters, as passed to the constructor."""

    @property
    def steps_taken(self) -> int:
        """How many times :meth:`step` has been called since construction or :meth:`reset`."""
        return self._steps_taken

    @property
    def last_lr(self) -> float | None:
        """The value the last :meth:`step` returned (``None`` before the first call)."""
        return self._last_lr

    def step(self) -> float:
        """Return the learning rate to use now, ``lr_at(steps_taken)``, then advance by one step.

        The first call after construction or :meth:`reset` returns ``lr_at(0)``.
        """
        lr = self.lr_at(self._steps_taken)
        self._steps_taken += 1
        self._last_lr = lr
        return lr

    def reset(self) -> None:
        """Restore the state at construction: the next :meth:`step` returns ``lr_at(0)`` again."""
        self._steps_taken = 0
        self._last_lr = None

    def state_dict(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict: scheduler name, hyperparameters and ``steps_taken``."""
        return {"scheduler": type(self).__name__, **self.config(), "steps_taken": self._steps_taken}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``steps_taken`` from :meth:`state_dict` output.

        The hyperparameters in ``state`` must equal this scheduler's; a mismatch, a missing key or an unknown
        key raises ``ValueError`` naming it rather than silently resuming a different schedule.
        """
        name = type(self).__name__
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping from state_dict(), not {type(state).__name__}")
        if state.get("scheduler") != name:
            raise ValueError(f"state_dict is for scheduler {state.get('scheduler')!r}, not {name!r}")
        known = {"scheduler", *self.config(), "steps_taken"}
        unknown = sorted(str(k) for k in state if k not in known)
        if unknown:
            raise ValueError(f"state_dict has unknown keys {unknown} for {name} (expected {sorted(known)})")
        for key, value in self.config().items():
            if key not in state:
                raise ValueError(f"state_dict has no {key!r} (expected {value!r})")
            if state[key] != value:
                raise ValueError(f"state_dict has {key}={state[key]!r}, but this {name} has {key}={value!r}")
        if "steps_taken" not in state:
            raise ValueError("state_dict has no 'steps_taken'")
        steps = _int("steps_taken", state["steps_taken"], 0)
        self._steps_taken = steps
        self._last_lr = self.lr_at(steps - 1) if steps > 0 else None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class StepScheduler(Scheduler):
    r"""Decay by ``gamma`` every ``step_size`` steps: :math:`\eta_t = \eta_0 \gamma^{\lfloor t/s \rfloor}`.

    ``lr_init > 0``, ``step_size >= 1``, ``0 < gamma <= 1``. Matches PyTorch ``StepLR``.
    """

    def __init__(self, lr_init: float, step_size: int, gamma: float = 0.1) -> None:
        super().__init__()
        self.lr_init = _positive_rate("lr_init", lr_init)
        self.step_size = _int("step_size", step_size, 1)
        self.gamma = _gamma(gamma)

    def lr_at(self, t: int) -> float:
        """The closed form at step ``t`` (see the class docstring)."""
        return step_lr(t, self.lr_init, self.step_size, self.gamma)

    def config(self) -> dict[str, float | int]:
        """The constructor's hyperparameters."""
        return {"lr_init": self.lr_init, "step_size": self.step_size, "gamma": self.gamma}


class ExponentialScheduler(Scheduler):
    r"""Decay by ``gamma`` every step: :math:`\eta_t = \eta_0 \gamma^t`.

    ``lr_init > 0``, ``0 < gamma <= 1``. Matches PyTorch ``ExponentialLR``.
    """

    def __init__(self, lr_init: float, gamma: float = 0.999) -> None:
        super().__init__()
        self.lr_init = _positive_rate("lr_init", lr_init)
        self.gamma = _gamma(gamma)

    def lr_at(self, t: int) -> float:
        """The closed form at step ``t`` (see the class docstring)."""
        return exponential_lr(t, self.lr_init, self.gamma)

    def config(self) -> dict[str, float | int]:
        """The constructor's hyperparameters."""
        return {"lr_init": self.lr_init, "gamma": self.gamma}


class CosineScheduler(Scheduler):
    r"""Half-cosine from ``lr_init`` (t = 0) to ``lr_min`` (t = ``total_steps``), held at ``lr_min`` after.

    :math:`\eta_t = \eta_{min} + \frac12(\eta_0 - \eta_{min})(1 + \cos(\pi \min(t, T)/T))`.
    ``lr_init > 0``, ``0 <= lr_min <= lr_init``, ``total_steps >= 1``. Matches PyTorch
    ``CosineAnnealingLR(T_max=total_steps, eta_min=lr_min)`` for ``t <= total_steps``.
    """

    def __init__(self, lr_init: float, lr_min: float, total_steps: int) -> None:
        super().__init__()
        self.lr_init = _positive_rate("lr_init", lr_init)
        self.lr_min = _lr_min(lr_min, self.lr_init)
        self.total_steps = _int("total_steps", total_steps, 1)

    def lr_at(self, t: int) -> float:
        """The closed form at step ``t`` (see the class docstring)."""
        return cosine_lr(t, self.lr_init, self.lr_min, self.total_steps)

    def config(self) -> dict[str, float | int]:
        """The constructor's hyperparameters."""
        return {"lr_init": self.lr_init, "lr_min": self.lr_min, "total_steps": self.total_steps}


class WarmupCosineScheduler(Scheduler):
    r"""Linear warmup over ``warmup_steps`` steps, then cosine decay to ``lr_min`` at ``total_steps``.

    .. math::

        \eta_t = \eta_0 \frac{t+1}{W} \quad (0 \le t < W), \qquad
        \eta_t = \eta_{min} + \tfrac12(\eta_0 - \eta_{min})
            \Bigl(1 + \cos\frac{\pi \min(t - W,\, T - W)}{T - W}\Bigr) \quad (t \ge W)

    The first :meth:`step` returns ``lr_init / warmup_steps``; steps ``W - 1`` and ``W`` both use
    ``lr_init``; step ``total_steps`` and all later ones use ``lr_min``. ``lr_init > 0``,
    ``0 <= lr_min <= lr_init``, ``warmup_steps >= 0``, ``total_steps > warmup_steps``; ``warmup_steps = 0``
    gives :class:`CosineScheduler`. Equal to PyTorch ``SequentialLR`` of ``LinearLR(start_factor=1/W,
    total_iters=W-1)`` and ``CosineAnnealingLR(T_max=T-W, eta_min=lr_min)`` with milestone ``W``.
    """

    def __init__(self, lr_init: float, lr_min: float, warmup_steps: int, total_steps: int) -> None:
        super().__init__()
        self.lr_init = _positive_rate("lr_init", lr_init)
        self.lr_min = _lr_min(lr_min, self.lr_init)
        self.warmup_steps = _int("warmup_steps", warmup_steps, 0)
        total = _int("total_steps", total_steps, 1)
        if total <= self.warmup_steps:
            raise ValueError(
                f"total_steps must be an int > warmup_steps ({self.warmup_steps}), not {total_steps}"
            )
        self.total_steps = total

    def lr_at(self, t: int) -> float:
        """The closed form at step ``t`` (see the class docstring)."""
        return warmup_cosine_lr(t, self.lr_init, self.lr_min, self.warmup_steps, self.total_steps)

    def config(self) -> dict[str, float | int]:
        """The constructor's hyperparameters."""
        return {
            "lr_init": self.lr_init,
            "lr_min": self.lr_min,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
        }

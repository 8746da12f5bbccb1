"""plasticore.native: the Rust fast path of the O(1) rule (``native/``, bound with ``ctypes``).

* :func:`is_available` - whether the library is built and loads; :func:`simd_level` - its kernel's code path;
* :class:`RustOnlineO1Synapse` - the seed's per-synapse API (one foreign call per step: a compatibility
  shim, not a fast path);
* ``OnlineO1Layer(..., backend="native")`` in :mod:`plasticore.refmodel.online_o1` - the batched backend,
  one foreign call per timestep, bit-exact with the NumPy layer and :class:`OnlineO1Synapse`.

Build the library with ``cargo build --release --offline`` in ``native/`` (``make setup`` does it when cargo
is present). Without it everything else works on NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plasticore.refmodel.online_o1 import (
    STATE_FIELDS,
    OnlineO1Config,
    OnlineO1Snapshot,
    _check_config,
    _check_int,
    _check_reward,
    _check_spike,
    saturate,
)

from ._ffi import (
    NativeLayerHandle,
    NativeSynapseHandle,
    NativeUnavailableError,
    library_path,
    load_library,
    simd_level,
)

__all__ = [
    "NativeLayerHandle",
    "NativeUnavailableError",
    "RustOnlineO1Synapse",
    "is_available",
    "library_path",
    "simd_level",
]


def is_available() -> bool:
    """``True`` when the native library is built and loads."""
    try:
        load_library()
    except NativeUnavailableError:
        return False
    return True


class RustOnlineO1Synapse:
    """One O(1) synapse stepped by the native library; the same contract as :class:`OnlineO1Synapse`.

    Arguments are validated in Python first with exactly :class:`OnlineO1Config`'s errors (and
    ``initial_weight`` like :class:`OnlineO1Synapse`), then again by the library (a NULL handle raises
    ``ValueError``). :class:`NativeUnavailableError` (an ``ImportError``) when the library is not built.

    >>> if is_available():
    ...     syn = RustOnlineO1Synapse(initial_weight=100)
    ...     assert syn.step(pre_spike=True, post_spike=False, reward=0).pre_trace == 4095
    """

    __slots__ = ("_config", "_h")

    def __init__(self, *, weight_bits: int = 16, trace_bits: int = 12, reward_bits: int = 8, learning_shift: int = 4,
                 trace_decay_shift: int = 4, initial_weight: int = 0) -> None:
        self._config = OnlineO1Config(weight_bits=weight_bits, trace_bits=trace_bits, reward_bits=reward_bits,
                                      learning_shift=learning_shift, trace_decay_shift=trace_decay_shift)
        w0 = _check_int("initial_weight", initial_weight, 0, self._config.max_weight)
        c = self._config
        self._h = NativeSynapseHandle(
            (c.weight_bits, c.trace_bits, c.reward_bits, c.learning_shift, c.trace_decay_shift), w0)

    @staticmethod
    def is_available() -> bool:
        """The seed's ``RustOnlineO1Synapse.is_available()``: whether the native library is built and loads
        (callable on the class, before any synapse exists; same as :func:`plasticore.native.is_available`)."""
        return is_available()

    @property
    def config(self) -> OnlineO1Config:
        """The widths and shifts of the rule."""
        return self._config

    @property
    def per_synapse_state_bits(self) -> int:
        """``W + 3T``, the bits of the four fields."""
        return self._config.per_synapse_state_bits

    @property
    def state_fields(self) -> tuple[str, ...]:
        """The names of the four state fields."""
        return STATE_FIELDS

    def snapshot(self) -> OnlineO1Snapshot:
        """The current state."""
        return OnlineO1Snapshot(*self._h.get_state())

    def step(self, *, pre_spike: bool, post_spike: bool, reward: int) -> OnlineO1Snapshot:
        """Advance one step in the library; returns the new state (an :class:`OnlineO1Snapshot`).

        ``reward`` is any int; it saturates to the reward range (done here first, so huge Python ints are
        fine, and again in the library).
        """
        pre = _check_spike("pre_spike", pre_spike)
        post = _check_spike("post_spike", post_spike)
        r = saturate(_check_reward(reward), self._config.reward_min, self._config.reward_max)
        return OnlineO1Snapshot(*self._h.step(int(pre), int(post), r))

    def state_dict(self) -> dict[str, Any]:
        """The same record as :meth:`OnlineO1Synapse.state_dict` (interchangeable with it)."""
        return {"config": self._config.as_dict(), **self.snapshot()._asdict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` of this class or of :class:`OnlineO1Synapse` (same config)."""
        from plasticore.refmodel.online_o1 import OnlineO1Synapse

        ref = OnlineO1Synapse(self._config)
        ref.load_state_dict(state)  # every check of the reference class
        _check_config("RustOnlineO1Synapse", state["config"], self._config)
        s = ref.snapshot()
        self._h.set_state((s.weight, s.pre_trace, s.post_trace, s.eligibility))

    def __reduce__(self) -> Any:
        """Copies and pickles carry the config and the state (the library handle itself is never copied)."""
        c = self._config
        return (_rebuild_synapse, (c.weight_bits, c.trace_bits, c.reward_bits, c.learning_shift,
                                   c.trace_decay_shift, self.state_dict()))

    def __repr__(self) -> str:
        return f"RustOnlineO1Synapse({self._config!r}, state={self.snapshot()!r})"


def _rebuild_synapse(w: int, t: int, r: int, lshift: int, s: int, state: Mapping[str, Any]) -> RustOnlineO1Synapse:
    syn = RustOnlineO1Synapse(weight_bits=w, trace_bits=t, reward_bits=r, learning_shift=lshift, trace_decay_shift=s)
    syn.load_state_dict(state)
    return syn

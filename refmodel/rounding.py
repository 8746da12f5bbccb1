"""Rounding of the O(1) rule's weight step: floor, round-to-nearest, and LFSR stochastic rounding.

The weight step of :mod:`plasticore.refmodel.online_o1` is ``(r * e' + d) >> L`` with a *dither* ``d``:

* ``floor``      ``d = 0`` (the seed's rule): every step is biased by ``-(2^L - 1) / 2^(L+1)`` on average, about
  ``-0.5`` LSB: small positive products vanish and small negative ones become ``-1``;
* ``nearest``    ``d = 2^(L-1)`` (``L = 0``: ``d = 0``, the shift is exact): round half up;
* ``stochastic`` ``d = u``, uniform in ``[0, 2^L)``: ``E[(x + u) >> L] = x / 2^L`` exactly, so the expected
  update is unbiased (the reason Loihi's learning engine and ReckOn round stochastically; see Gupta et al.
  2015, *Deep learning with limited numerical precision*, ICML, for the argument in training).

The random bits come from a **32-bit Galois LFSR** shifting right with the tap mask ``0x80200003``, i.e.
multiplication by ``x^-1`` modulo the primitive polynomial ``p(x) = x^32 + x^22 + x^2 + x + 1`` (Xilinx
XAPP052's taps 32, 22, 2, 1): one step is ::

    b = s & 1;   s = (s >> 1) ^ (0x80200003 if b else 0);   output b

and visits every nonzero 32-bit state once per period ``2^32 - 1``. One synapse update draws ``L`` bits,
``u = b_0 + 2 b_1 + ... + 2^(L-1) b_(L-1)`` (the first bit is the least significant), so consecutive updates use
disjoint stretches of the m-sequence (the hardware computes the ``L`` steps in one clock).

**Who draws, in which order.** Each update *lane* owns one LFSR. Lane ``p`` starts from
:func:`lane_initial_state` ``(seed, p)`` (``seed = OnlineO1Config.lfsr_seed``; a reset restores it) and draws
one ``u`` per synapse update in the schedule's order:

* a single synapse (:class:`~plasticore.refmodel.online_o1.OnlineO1Synapse`, the ``o1_lane`` designs): one draw
  per step;
* a layer with ``P`` lanes (:class:`~plasticore.refmodel.online_o1.OnlineO1Layer` ``lanes=P``, the ``o1_array``
  and the core): per timestep, lane ``p`` draws for the items ``n = i * K + k`` (``i`` the pre neuron, ``K =
  ceil(n_post / P)``), ``n = 0 .. n_pre * K - 1`` in order, and item ``n`` updates synapse
  ``(post = k * P + p, pre = i)``; an item whose post index is ``>= n_post`` (the last lanes when ``P`` does
  not divide ``n_post``) still draws, and its draw is unused.

Every draw is made whatever the reward (a zero reward makes ``(0 + u) >> L = 0``), so the LFSR position depends
only on the number of steps, never on the data.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ROUNDING_MODES: tuple[str, ...] = ("floor", "nearest", "stochastic")
LFSR_BITS = 32
LFSR_MASK = 0x80200003  # x^-1 modulo x^32 + x^22 + x^2 + x + 1 (right-shift Galois form)
LFSR_POLYNOMIAL = (1 << 32) | (1 << 22) | (1 << 2) | (1 << 1) | 1
LFSR_PERIOD = (1 << LFSR_BITS) - 1
_M32 = 0xFFFFFFFF

__all__ = [
    "LFSR_BITS",
    "LFSR_MASK",
    "LFSR_PERIOD",
    "LFSR_POLYNOMIAL",
    "ROUNDING_MODES",
    "lane_initial_state",
    "lane_initial_states",
    "layer_dither",
    "lfsr_draw",
    "lfsr_step",
]


def lfsr_step(state: int) -> tuple[int, int]:
    """One LFSR step: ``(output bit, next state)`` (module docstring)."""
    b = state & 1
    return b, (state >> 1) ^ (LFSR_MASK if b else 0)


def lfsr_draw(state: int, bits: int) -> tuple[int, int]:
    """``bits`` LFSR steps: ``(u, next state)`` with ``u = sum b_k 2^k`` (``bits = 0``: ``(0, state)``)."""
    u = 0
    for k in range(bits):
        b = state & 1
        state = (state >> 1) ^ (LFSR_MASK if b else 0)
        u |= b << k
    return u, state


def lane_initial_state(seed: int, lane: int) -> int:
    """The LFSR state of lane ``lane`` after a reset: MurmurHash3's 32-bit finalizer of
    ``seed + 0x9E3779B9 * (lane + 1)`` (mod 2^32), with 0 (the LFSR's fixed point) replaced by 1."""
    x = (int(seed) + 0x9E3779B9 * (int(lane) + 1)) & _M32
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & _M32
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & _M32
    x ^= x >> 16
    return x or 1


def lane_initial_states(seed: int, lanes: int) -> npt.NDArray[np.uint64]:
    """:func:`lane_initial_state` of lanes ``0 .. lanes - 1``, as the ``uint64`` array a layer keeps."""
    return np.array([lane_initial_state(seed, p) for p in range(lanes)], dtype=np.uint64)


def layer_dither(states: npt.NDArray[np.uint64], n_pre: int, n_post: int, bits: int,
                 ) -> npt.NDArray[np.int64]:
    """One timestep's draws of a layer with ``len(states)`` lanes: the dither ``(n_post, n_pre)`` and, in place,
    the lanes' LFSR states after the timestep (module docstring for the order).

    The lanes advance together (one NumPy operation per LFSR step on the ``P`` states), so the work is
    ``n_pre * ceil(n_post / P) * bits`` vector steps: a reference, not a fast path (the bound is the
    schedule's sequential order within a lane).
    """
    p = len(states)
    k_items = -(-n_post // p) if n_post else 0
    u = np.zeros((n_pre * k_items, p), dtype=np.int64)
    s = states.astype(np.uint64)
    one, mask = np.uint64(1), np.uint64(LFSR_MASK)
    for n in range(n_pre * k_items):
        acc = np.zeros(p, dtype=np.uint64)
        for k in range(bits):
            b = s & one
            s = (s >> one) ^ (mask * b)
            acc |= b << np.uint64(k)
        u[n] = acc.astype(np.int64)
    states[...] = s
    # item n = i * K + k of lane p is synapse (post k * P + p, pre i)
    full = u.reshape(n_pre, k_items, p).reshape(n_pre, k_items * p)[:, :n_post]
    return np.ascontiguousarray(full.T)

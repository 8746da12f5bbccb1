"""Width and range arithmetic for the O(1) datapath (pure helpers, unit-tested).

Every intermediate of the update is sized from the *range* of values it can take, so no expression can
overflow in either HDL. With ``W, T, R, L`` from :class:`~plasticore.refmodel.online_o1.OnlineO1Config`
and ``M = 2^T - 1``:

==================  ==================================================  ===========================
signal              range                                               bits (two's complement)
==================  ==================================================  ===========================
``e``               ``[-2^(T-1), 2^(T-1) - 1]``                         ``T``
``|e|``             ``[0, 2^(T-1)]``                                    ``T`` unsigned (``T+1`` signed)
``decayS(e)``       same as ``e`` (the magnitude only shrinks)          ``T``
``pot``, ``dep``    ``[0, M]``                                          ``T`` unsigned
``e_sum``           ``[-2^(T-1) - M, 2^(T-1) - 1 + M]``                 ``T + 2``
``r * e'``          ``[-2^(R-1)(2^(T-1)-1), 2^(R-1) 2^(T-1)]``          ``R + T``
``(r * e') >> L``   inside the product range (floor shift shrinks it)   ``R + T``
``w + delta``       ``[lo(delta), 2^W - 1 + hi(delta)]``                ``max(W + 1, R + T) + 1``
==================  ==================================================  ===========================
"""

from __future__ import annotations

import dataclasses

from plasticore.refmodel.online_o1 import OnlineO1Config


def signed_bits(lo: int, hi: int) -> int:
    """Fewest two's-complement bits holding every integer in ``[lo, hi]`` (``lo <= hi``)."""
    if lo > hi:
        raise ValueError(f"signed_bits needs lo <= hi, not lo={lo} > hi={hi}")
    n = 1
    while not (-(1 << (n - 1)) <= lo and hi <= (1 << (n - 1)) - 1):
        n += 1
    return n


def unsigned_bits(hi: int) -> int:
    """Fewest unsigned bits holding ``[0, hi]`` (at least 1)."""
    if hi < 0:
        raise ValueError(f"unsigned_bits needs hi >= 0, not {hi}")
    return max(1, hi.bit_length())


@dataclasses.dataclass(frozen=True, slots=True)
class Range:
    """Closed integer interval ``[lo, hi]``; ``.max`` is MyHDL's exclusive bound ``hi + 1``."""

    lo: int
    hi: int

    @property
    def max(self) -> int:
        """The exclusive upper bound ``hi + 1`` (MyHDL's ``intbv(max=...)``)."""
        return self.hi + 1

    @property
    def bits(self) -> int:
        """Two's-complement width when ``lo < 0``, else the unsigned width."""
        return signed_bits(self.lo, self.hi) if self.lo < 0 else unsigned_bits(self.hi)


def eligibility_range(c: OnlineO1Config) -> Range:
    """The eligibility's range ``[-2^(T-1), 2^(T-1) - 1]``."""
    return Range(c.eligibility_min, c.eligibility_max)


def magnitude_range(c: OnlineO1Config) -> Range:
    """``|e|`` reaches ``2^(T-1)`` (for ``e = -2^(T-1)``), one more than ``e``'s positive limit."""
    return Range(0, 1 << (c.trace_bits - 1))


def trace_range(c: OnlineO1Config) -> Range:
    """A trace's range ``[0, 2^T - 1]``."""
    return Range(0, c.max_trace)


def eligibility_sum_range(c: OnlineO1Config) -> Range:
    """``decayS(e) + pot - dep``: both pairing terms can reach ``M`` on top of a full eligibility."""
    return Range(c.eligibility_min - c.max_trace, c.eligibility_max + c.max_trace)


def product_range(c: OnlineO1Config) -> Range:
    """``r * e'`` for ``r`` in the reward range and ``e'`` in the eligibility range.

    The extremes are products of interval endpoints; the largest is ``(-2^(R-1)) * (-2^(T-1))``.
    """
    ends = [a * b for a in (c.reward_min, c.reward_max) for b in (c.eligibility_min, c.eligibility_max)]
    return Range(min(ends), max(ends))


def delta_range(c: OnlineO1Config) -> Range:
    """``(r * e' + d) >> L`` with the rounding dither ``d`` (:attr:`OnlineO1Config.dither_range`; 0 for floor):
    monotone in the product and the dither, so the endpoints shift."""
    p = product_range(c)
    d_lo, d_hi = c.dither_range
    return Range((p.lo + d_lo) >> c.learning_shift, (p.hi + d_hi) >> c.learning_shift)


def dithered(c: OnlineO1Config) -> bool:
    """Whether the weight step adds a dither: ``rounding`` is not ``"floor"`` and ``L > 0`` (at ``L = 0`` the
    shift is exact and every mode is the floor rule; no LFSR is built)."""
    return c.rounding != "floor" and c.learning_shift > 0


def draws_lfsr(c: OnlineO1Config) -> bool:
    """Whether the design holds LFSRs: ``rounding="stochastic"`` with ``L > 0`` (:func:`dithered`)."""
    return dithered(c) and c.rounding == "stochastic"


def weight_sum_range(c: OnlineO1Config) -> Range:
    """``w + delta`` before saturation to ``[0, 2^W - 1]``."""
    d = delta_range(c)
    return Range(d.lo, c.max_weight + d.hi)


@dataclasses.dataclass(frozen=True, slots=True)
class PathSegment:
    """A stretch of logic on a register-to-register path, as the block that holds it describes it.

    ``levels`` counts LUT levels (a multiplexer, a comparison, a bit test, one 3:2 compressor level);
    ``carry_bits`` the bits of the carry chain on it; ``product`` marks the ``R x T`` product, whose depth
    depends on the target (a DSP block or LUTs), so the block does not state it. A pipelined block
    describes one segment per stage; a combinational one the segments along its longest path, in order.
    The resource predictor (:mod:`plasticore.estimate.timing`) turns these into a logic depth.
    """

    what: str
    levels: int = 0
    carry_bits: int = 0
    product: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class O1Widths:
    """All datapath widths of one configuration (for docs, manifests and resource estimates)."""

    weight: int
    trace: int
    reward: int
    eligibility: int
    magnitude: int
    eligibility_sum: int
    product: int
    delta: int
    weight_sum: int

    @classmethod
    def of(cls, c: OnlineO1Config) -> O1Widths:
        """The widths of every datapath signal for config ``c``."""
        return cls(
            weight=c.weight_bits,
            trace=c.trace_bits,
            reward=c.reward_bits,
            eligibility=eligibility_range(c).bits,
            magnitude=magnitude_range(c).bits,
            eligibility_sum=eligibility_sum_range(c).bits,
            product=product_range(c).bits,
            delta=delta_range(c).bits,
            weight_sum=weight_sum_range(c).bits,
        )

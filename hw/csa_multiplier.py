"""``csa_multiplier``: a signed product in LUTs, reduced to a registered carry-save pair (no DSP block).

Used by :func:`~plasticore.hw.o1_lane_pipelined.o1_lane_pipelined`: on the ECP5 a combinational
``MULT18X18D`` alone costs 3.9 ns plus its routing in and out (nextpnr), more than a 150 MHz period allows
next to a register, so the product is built from LUT logic whose depth grows only as ``log(R)``:

* partial products (two's complement, modulo ``2^P``; ``a`` has ``R`` bits, ``b`` is sign-extended to ``P``
  bits): ``pp_j = a_j ? b << j : 0`` for ``j < R - 1``; the sign bit of ``a`` weighs ``-2^(R-1)``, so
  ``pp_(R-1) = a_(R-1) ? ~b << (R-1) : 0`` plus a correction word ``a_(R-1) << (R-1)`` (``-x = ~x + 1``);
* a Wallace tree of 3:2 compressors (carry-save adders): three words ``x, y, z`` become
  ``x ^ y ^ z`` and ``maj(x, y, z) << 1`` with the same sum modulo ``2^P``, one LUT level each, no carry
  chain, until two words remain;
* the two words are registered (``sum_q``, ``carry_q``); the caller adds them (one carry chain) in the
  next stage: ``(sum_q + carry_q) mod 2^P`` is the bit pattern of ``a * b`` (``P >= R + T`` holds it).

Ports
-----
clk      in   clock
a        in   signed ``R >= 1`` bits
b        in   signed ``T >= 1`` bits
sum_q    out  unsigned ``P`` bits, registered on ``clk``
carry_q  out  unsigned ``P`` bits, registered on ``clk``

Every word is an unsigned ``P``-bit signal; shifts are slices and concatenations, so the converted HDL has
no implicit width changes.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, concat, intbv

from .sign_extend import sign_extend


def _word(p: int) -> Any:
    return Signal(intbv(0)[p:])


def wallace_levels(n_operands: int) -> int:
    """3:2 compressor levels that reduce ``n_operands`` words to two."""
    levels = 0
    while n_operands > 2:
        n_operands = 2 * (n_operands // 3) + n_operands % 3
        levels += 1
    return levels


@block
def partial_product(a: Any, j: int, b_u: Any, pp: Any, negate: bool) -> Any:
    """``pp = a[j] ? (b_u or ~b_u) << j : 0`` (modulo ``2^P``)."""
    p = len(pp)

    if negate:
        nb = _word(p)

        @always_comb
        def invert() -> None:
            nb.next = ~b_u

        src = nb
    else:
        invert = None
        src = b_u

    if j == 0:

        @always_comb
        def select() -> None:
            if a[j]:
                pp.next = src
            else:
                pp.next = 0

    else:

        @always_comb
        def select() -> None:
            if a[j]:
                pp.next = concat(src[p - j:], intbv(0)[j:])
            else:
                pp.next = 0

    return (select,) if invert is None else (invert, select)


@block
def compress(x: Any, y: Any, z: Any, s: Any, c: Any) -> Any:
    """3:2 compressor: ``s = x ^ y ^ z``, ``c = maj(x, y, z) << 1``; ``s + c = x + y + z`` modulo ``2^P``."""
    p = len(s)
    maj = _word(p - 1)  # the top bit's majority would shift out: not computed

    @always_comb
    def add_bits() -> None:
        s.next = x ^ y ^ z

    @always_comb
    def majority() -> None:
        maj.next = (x[p - 1:] & y[p - 1:]) | (x[p - 1:] & z[p - 1:]) | (y[p - 1:] & z[p - 1:])

    @always_comb
    def shift() -> None:
        c.next = concat(maj, intbv(0)[1:])

    return add_bits, majority, shift


@block
def csa_multiplier(clk: Any, a: Any, b: Any, sum_q: Any, carry_q: Any) -> Any:
    r, p = len(a), len(sum_q)
    if len(carry_q) != p:
        raise ValueError(f"carry_q must have len(sum_q) = {p} bits, not {len(carry_q)}")
    if p < r + len(b):
        raise ValueError(f"sum_q must have at least R + T = {r + len(b)} bits, not {p}")

    b_s = Signal(intbv(0, min=-(1 << (p - 1)), max=1 << (p - 1)))
    b_u = _word(p)
    extend = sign_extend(b, b_s)

    @always_comb
    def pattern() -> None:
        b_u.next = b_s[p:]

    parts: list[Any] = [extend, pattern]
    words: list[Any] = []
    for j in range(r):
        pp = _word(p)
        parts.append(partial_product(a, j, b_u, pp, negate=j == r - 1))
        words.append(pp)
    corr = _word(p)
    top = r - 1

    if top == 0:

        @always_comb
        def correction() -> None:
            corr.next = concat(intbv(0)[p - 1:], a[0])

    else:

        @always_comb
        def correction() -> None:
            corr.next = concat(intbv(0)[p - r:], a[top], intbv(0)[top:])

    parts.append(correction)
    words.append(corr)

    while len(words) > 2:
        nxt: list[Any] = []
        for g in range(len(words) // 3):
            s, c = _word(p), _word(p)
            parts.append(compress(words[3 * g], words[3 * g + 1], words[3 * g + 2], s, c))
            nxt += [s, c]
        nxt += words[3 * (len(words) // 3):]
        words = nxt

    w0, w1 = words

    @always(clk.posedge)
    def register() -> None:
        sum_q.next = w0
        carry_q.next = w1

    parts.append(register)
    return parts

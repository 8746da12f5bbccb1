"""A signed product in LUTs over two pipeline stages, as carry-save words (no DSP block).

Used by :func:`~plasticore.hw.o1_lane_pipelined.o1_lane_pipelined`: on the ECP5 a combinational
``MULT18X18D`` alone costs 3.9 ns plus its routing in and out (nextpnr), more than a 150 MHz period allows
next to a register, so the product is built from LUT logic whose depth grows only as ``log(R)``:

* partial products (two's complement, modulo ``2^P``; ``a`` has ``R`` bits, ``b`` is sign-extended to ``P``
  bits): ``pp_j = a_j ? b << j : 0`` for ``j < R - 1``; the sign bit of ``a`` weighs ``-2^(R-1)``, so
  ``pp_(R-1) = a_(R-1) ? ~b << (R-1) : 0`` plus a correction word ``a_(R-1) << (R-1)`` (``-x = ~x + 1``);
* a Wallace tree of 3:2 compressors (carry-save adders): three words ``x, y, z`` become
  ``x ^ y ^ z`` and ``maj(x, y, z) << 1`` with the same sum modulo ``2^P``, one LUT level each, no carry chain.

:func:`csa_partial_sums` (first stage) builds the ``R + 1`` words and compresses them to at most
:data:`STAGE_WORDS` (:func:`stage_words`), registered; :func:`csa_final_sum` (second stage, combinational)
compresses those to two and adds them in one carry chain: ``product = (sum of the words) mod 2^P``, the
bit pattern of ``a * b`` (``P >= R + T`` holds it). Splitting the tree this way leaves each stage a few LUT
levels (for ``R = 8``: partial products and two levels, then two levels and the carry chain).

Every word is an unsigned ``P``-bit signal; shifts are slices and concatenations, so the converted HDL has
no implicit width changes.
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always_comb, block, concat, intbv, modbv

from .pipe_reg import pipe_reg
from .sign_extend import sign_extend, signed_signal


def _word(p: int) -> Any:
    return Signal(intbv(0)[p:])


STAGE_WORDS = 4  # the first stage compresses to at most this many words


def _compressed(n: int) -> int:
    return 2 * (n // 3) + n % 3


def wallace_levels(n_operands: int, to: int = 2) -> int:
    """3:2 compressor levels that reduce ``n_operands`` words to at most ``to`` (>= 2)."""
    levels = 0
    while n_operands > to:
        n_operands = _compressed(n_operands)
        levels += 1
    return levels


def register_bits(r: int, t: int, p: int) -> int:
    """Flip-flops the registered words of :func:`csa_partial_sums` need after synthesis removes constant and
    identical ones (Yosys ``opt_merge``/``opt_dff``), from a symbolic walk of the same tree.

    Each bit is named by how it is built (hash-consed): partial-product bits above ``j + T - 1`` copy the sign
    bit, bits below ``j`` are 0; a compressor bit with one non-zero input is that input, with none it is 0.
    The count is the number of distinct non-zero bits over all registered words.
    """
    zero: tuple[Any, ...] = ("0",)

    def pp_bit(j: int, i: int) -> tuple[Any, ...]:
        return zero if i < j else ("pp", j, min(i - j, t - 1))

    words = [[pp_bit(j, i) for i in range(p)] for j in range(r)]
    words.append([("a", r - 1) if i == r - 1 else zero for i in range(p)])

    def xor3(x: Any, y: Any, z: Any) -> Any:
        live = sorted((v for v in (x, y, z) if v != zero), key=repr)
        return zero if not live else live[0] if len(live) == 1 else ("xor", *live)

    def maj3(x: Any, y: Any, z: Any) -> Any:
        live = sorted((v for v in (x, y, z) if v != zero), key=repr)
        return zero if len(live) < 2 else ("and" if len(live) == 2 else "maj", *live)

    triples, left = wallace_plan(len(words), STAGE_WORDS)
    for x, y, z in triples:
        a, b, c = words[x], words[y], words[z]
        words.append([xor3(a[i], b[i], c[i]) for i in range(p)])
        words.append([zero] + [maj3(a[i], b[i], c[i]) for i in range(p - 1)])
    return len({bit for i in left for bit in words[i] if bit != zero})


def stage_words(r: int) -> int:
    """Words :func:`csa_partial_sums` registers for an ``R``-bit multiplier ``a`` (``R + 1`` operands)."""
    n = r + 1
    while n > STAGE_WORDS:
        n = _compressed(n)
    return n


@block
def partial_product(a: Any, j: int, b_u: Any, pp: Any, negate: bool) -> Any:
    """``pp = a[j] ? (b_u or ~b_u) << j : 0`` (modulo ``2^P``)."""
    p = len(pp)

    if negate:
        nb = _word(p - j)  # only the bits that stay below 2^P after the shift

        @always_comb
        def invert() -> None:
            nb.next = ~b_u[p - j:]

        src = nb
    else:
        invert = None
        src = b_u

    # one conditional expression per block: MyHDL converts it to a continuous assignment (see verilog_comb.py)
    if j == 0:

        @always_comb
        def select() -> None:
            pp.next = src if a[j] else 0

    else:

        @always_comb
        def select() -> None:
            pp.next = concat(src[p - j:], intbv(0)[j:]) if a[j] else 0

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


def wallace_plan(n: int, to: int) -> tuple[list[tuple[int, int, int]], list[int]]:
    """Compressors that reduce words ``0 .. n-1`` to at most ``to``: ``(x, y, z)`` triples, in order, each
    creating two new words (numbered on from ``n``: sum, then carry), and the indices of the words left."""
    words = list(range(n))
    nxt_id = n
    triples: list[tuple[int, int, int]] = []
    while len(words) > to:
        nxt: list[int] = []
        for g in range(len(words) // 3):
            triples.append((words[3 * g], words[3 * g + 1], words[3 * g + 2]))
            nxt += [nxt_id, nxt_id + 1]
            nxt_id += 2
        nxt += words[3 * (len(words) // 3):]
        words = nxt
    return triples, words


@block
def csa_partial_sums(clk: Any, a: Any, b: Any, words_q: list[Any]) -> Any:
    """First stage: ``a`` (signed ``R`` bits) x ``b`` (signed ``T`` bits) as :func:`stage_words` ``(R)``
    registered ``P``-bit words ``words_q`` whose sum modulo ``2^P`` is ``a * b``."""
    r, p = len(a), len(words_q[0])
    if len(words_q) != stage_words(r):
        raise ValueError(f"words_q must hold stage_words({r}) = {stage_words(r)} words, not {len(words_q)}")
    if any(len(w) != p for w in words_q):
        raise ValueError(f"every word of words_q must have {p} bits")
    if p < r + len(b):
        raise ValueError(f"the words must have at least R + T = {r + len(b)} bits, not {p}")

    b_s = signed_signal(p)
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
    triples, left = wallace_plan(len(words), STAGE_WORDS)
    for x, y, z in triples:  # MyHDL wants sub-blocks created in the block function itself
        s, c = _word(p), _word(p)
        parts.append(compress(words[x], words[y], words[z], s, c))
        words += [s, c]
    parts += [pipe_reg(clk, words[i], q) for i, q in zip(left, words_q, strict=True)]
    return parts


@block
def csa_final_sum(words: list[Any], product: Any) -> Any:
    """Second stage (combinational): compress ``words`` to two and add them; ``product`` (signed ``P`` bits)
    is their sum modulo ``2^P``."""
    p = len(words[0])
    if len(product) != p:
        raise ValueError(f"product must have {p} bits, not {len(product)}")
    parts: list[Any] = []
    words = list(words)
    triples, left = wallace_plan(len(words), 2)
    for x, y, z in triples:
        s, c = _word(p), _word(p)
        parts.append(compress(words[x], words[y], words[z], s, c))
        words += [s, c]
    if len(left) < 2:
        raise ValueError(f"csa_final_sum needs at least two words, not {len(left)}")
    w0, w1 = (words[i] for i in left)
    ptot = Signal(modbv(0)[p:])  # the sum modulo 2^P: a modbv wraps, and converts to a P-bit sum

    @always_comb
    def add() -> None:
        ptot.next = w0 + w1

    @always_comb
    def wrap() -> None:
        product.next = ptot.signed()

    return (*parts, add, wrap)

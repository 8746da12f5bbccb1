"""``sign_extend``: widen a signed signal without an implicit (WIDTHEXPAND) extension.

Ports
-----
x  in   signed, ``len(x)`` bits
y  out  signed, ``len(y) >= len(x)`` bits, the same value

MyHDL converts ``y.next = x`` with ``len(y) > len(x)`` into an assignment that relies on the HDL's
implicit extension (Verilator ``-Wall`` flags it as WIDTHEXPAND). Here the extension is explicit and
exact: zero-extend the bit pattern with a constant, then ``(u ^ 2^(n-1)) - 2^(n-1)`` (``n = len(x)``)
maps the unsigned pattern back to the signed value, computed modulo ``2^len(y)``. Inputs of 32 bits or more
replicate the sign bit into the pad instead (``2^(n-1)`` does not fit a VHDL integer: GHDL's bound check fails).
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always_comb, block, concat, intbv


def signed_signal(bits: int) -> Any:
    """A fresh signal holding any signed ``bits``-bit value (``[-2^(bits-1), 2^(bits-1) - 1]``), starting at 0."""
    return Signal(intbv(0, min=-(1 << (bits - 1)), max=1 << (bits - 1)))


def sign_extend_check(n_in: int, n_out: int) -> None:
    """Raise a named error unless the output is at least as wide as the input (``n_out >= n_in``)."""
    if n_out < n_in:
        raise ValueError(f"sign_extend output width must be >= input width {n_in}, not {n_out}")


@block
def sign_extend(x: Any, y: Any) -> Any:
    n_in, n_out = len(x), len(y)
    sign_extend_check(n_in, n_out)
    half = 1 << (n_in - 1)
    pad = n_out - n_in

    if pad == 0:

        @always_comb
        def logic() -> None:
            y.next = x

    elif n_in < 32:

        @always_comb
        def logic() -> None:
            y.next = (concat(intbv(0)[pad:], x) ^ half) - half

    else:
        if pad > 31:
            raise ValueError(f"sign_extend of a {n_in}-bit input pads at most 31 bits, not {pad}")
        ones = (1 << pad) - 1
        top = n_in - 1
        fill = Signal(intbv(0)[pad:])
        u = Signal(intbv(0)[n_out:])

        @always_comb
        def sign_fill() -> None:
            if x[top]:
                fill.next = ones
            else:
                fill.next = 0

        @always_comb
        def pattern() -> None:
            u.next = concat(fill, x)

        @always_comb
        def to_signed() -> None:
            y.next = u.signed()

        return sign_fill, pattern, to_signed

    return logic

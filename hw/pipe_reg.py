"""Plain registers: :func:`pipe_reg` (one) and :func:`delay_line` (a chain), for pipelines.

Ports
-----
clk  in   clock
d    in   any signal
q    out  same width and range as ``d``: ``d`` of one edge before (``pipe_reg``) or of ``stages`` edges before
          (``delay_line``, ``stages >= 1``)
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, block


@block
def pipe_reg(clk: Any, d: Any, q: Any) -> Any:
    """One register: ``q`` is ``d`` of the previous edge (same width and range)."""

    @always(clk.posedge)
    def reg() -> None:
        q.next = d

    return reg


@block
def delay_line(clk: Any, d: Any, q: Any, stages: int) -> Any:
    """``stages >= 1`` registers in a chain: ``q`` is ``d`` of ``stages`` edges before."""
    if stages < 1:
        raise ValueError(f"stages must be >= 1, not {stages}")
    taps = [d] + [Signal(d.val) for _ in range(stages - 1)] + [q]
    return [pipe_reg(clk, taps[i], taps[i + 1]) for i in range(stages)]

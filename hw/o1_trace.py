"""``o1_trace_next``: next value of one unsigned spike trace (combinational).

Ports
-----
trace       in   unsigned ``T`` bits, the trace before the step
spike       in   1 bit
trace_next  out  unsigned ``T`` bits: ``M = 2^T - 1`` if ``spike`` else ``trace - (trace >> s)``
                 (``trace`` unchanged when ``s = 0``)

``trace - (trace >> s)`` never underflows (``trace >> s <= trace``), so no extra bits are needed.
"""

from __future__ import annotations

from typing import Any

from myhdl import always_comb, block

from plasticore.refmodel.online_o1 import OnlineO1Config


@block
def o1_trace_next(trace: Any, spike: Any, trace_next: Any, config: OnlineO1Config) -> Any:
    m = config.max_trace
    s = config.trace_decay_shift

    if s > 0:

        @always_comb
        def logic() -> None:
            if spike:
                trace_next.next = m
            else:
                trace_next.next = trace - (trace >> s)

    else:

        @always_comb
        def logic() -> None:
            if spike:
                trace_next.next = m
            else:
                trace_next.next = trace

    return logic

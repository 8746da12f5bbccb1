"""``o1_pairing``: the STDP pair term ``pd = pot - dep`` of one step (combinational).

Ports (``T`` from the config, ``K = T + 2``)
-----
pre_trace   in   unsigned ``T``  pre trace *before* the step
post_trace  in   unsigned ``T``  post trace before the step
pre_spike   in   1 bit
post_spike  in   1 bit
pd          out  signed ``K``    ``pot - dep``, in ``[-M, M]``

``pot = (M if pre_spike else pre_trace) if post_spike else 0`` (potentiation: post follows pre; a
coincident pair counts as a full trace ``M = 2^T - 1``) and ``dep = post_trace if pre_spike else 0``
(depression: pre follows post), as in :mod:`plasticore.refmodel.online_o1`. Shared by every update block.
"""

from __future__ import annotations

from typing import Any

from myhdl import always_comb, block, concat, intbv

from plasticore.refmodel.online_o1 import OnlineO1Config

from .sign_extend import signed_signal


@block
def o1_pairing(pre_trace: Any, post_trace: Any, pre_spike: Any, post_spike: Any, pd: Any,
               config: OnlineO1Config) -> Any:
    m, k = config.max_trace, config.trace_bits + 2
    if len(pd) != k:
        raise ValueError(f"pd must have K = T + 2 = {k} bits, not {len(pd)}")
    pot, dep = signed_signal(k), signed_signal(k)

    @always_comb
    def pairing() -> None:
        if post_spike:
            if pre_spike:
                pot.next = m
            else:
                pot.next = concat(intbv(0)[2:], pre_trace).signed()
        else:
            pot.next = 0
        if pre_spike:
            dep.next = concat(intbv(0)[2:], post_trace).signed()
        else:
            dep.next = 0

    @always_comb
    def difference() -> None:
        pd.next = pot - dep

    return pairing, difference

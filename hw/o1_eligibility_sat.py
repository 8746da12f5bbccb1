"""``o1_eligibility_sat``: saturate the eligibility sum to the ``T``-bit signed range (combinational).

Ports (``T`` from the config, ``K = T + 2``)
-----
e_sum  in   signed ``K``  ``decayS(e) + pot - dep``, in ``[-2^(T-1) - M, 2^(T-1) - 1 + M]``
e_new  out  signed ``T``  ``sat(e_sum, -2^(T-1), 2^(T-1) - 1)``

A ``K``-bit value is in the ``T``-bit range iff its three top bits (``K-1``, ``K-2``, ``T-1``) agree; otherwise
its sign bit picks the limit. Bit tests, not comparisons with constants (one level of logic; and MyHDL
writes constants ``>= 2^31`` as unsigned literals). Shared by every update block.
"""

from __future__ import annotations

from typing import Any

from myhdl import always_comb, block

from plasticore.refmodel.online_o1 import OnlineO1Config


@block
def o1_eligibility_sat(e_sum: Any, e_new: Any, config: OnlineO1Config) -> Any:
    t, k = config.trace_bits, config.trace_bits + 2
    e_lo, e_hi = config.eligibility_min, config.eligibility_max
    if len(e_sum) != k or len(e_new) != t:
        raise ValueError(f"e_sum must have K = T + 2 = {k} bits and e_new T = {t}, not {len(e_sum)}, {len(e_new)}")

    @always_comb
    def saturate_e() -> None:
        if e_sum[k - 1] and not (e_sum[k - 2] and e_sum[t - 1]):
            e_new.next = e_lo
        elif not e_sum[k - 1] and (e_sum[k - 2] or e_sum[t - 1]):
            e_new.next = e_hi
        else:
            e_new.next = e_sum[t:].signed()

    return saturate_e

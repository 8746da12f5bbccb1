"""``o1_core_neuron``: the pipelined integer LIF update of the closed-loop core (one neuron per clock).

Implements, bit for bit, the neuron half of :class:`plasticore.refmodel.o1_network.OnlineO1Network`::

    v' = sat(decayS_k(v) + I, [-2^(V-1), 2^(V-1) - 1]);  z = v' >= theta;  v'' = reset(v') if z else v'

Five register stages (``in_valid`` at edge ``n`` gives ``out_valid`` after edge ``n + NEURON_LATENCY``), each
with at most one carry chain: ``|v|`` and its sign; ``|v| - (|v| >> k)``; the re-signed decay; the sum with
``I`` at ``S = max(V + 1, A) + 1`` bits (it cannot overflow); then, in parallel, the saturation (a bit test:
the top ``S - V + 1`` bits agree), the threshold test (the sign of ``sum - theta``, which fits ``S`` bits) and
the reset. ``z`` is ``sum >= theta`` (equivalent to ``sat(sum) >= theta`` because ``1 <= theta <= 2^(V-1)-1``),
and ``sat(sum) - theta`` is ``2^(V-1) - 1 - theta`` above the range and ``sum - theta`` otherwise.

Ports
-----
clk        in   clock
in_valid   in   1 bit: ``v_in``, ``i_in`` and ``tag_in`` hold a neuron to update
v_in       in   ``V`` bits: the membrane before the step (two's-complement bit pattern)
i_in       in   signed ``A`` bits: the input current ``I``
tag_in     in   unsigned: carried along (the neuron index)
out_valid  out  1 bit
v_out      out  ``V`` bits: the membrane after the step (bit pattern)
z_out      out  1 bit: the spike
tag_out    out  the tag of the neuron in ``v_out``
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, concat, intbv

from plasticore.refmodel.o1_network import FixedLIFConfig

from .sign_extend import sign_extend, signed_signal

NEURON_LATENCY = 5


@block
def o1_core_neuron(
    clk: Any, in_valid: Any, v_in: Any, i_in: Any, tag_in: Any, out_valid: Any, v_out: Any, z_out: Any,
    tag_out: Any, lif: FixedLIFConfig,
) -> Any:
    vb, ab = lif.membrane_bits, len(i_in)
    k = lif.leak_shift
    theta = lif.threshold
    assert theta is not None
    sb = max(vb + 1, ab) + 1
    if len(v_in) != vb or len(v_out) != vb:
        raise ValueError(f"v_in/v_out must be membrane_bits = {vb} bits, not {len(v_in)}/{len(v_out)}")
    vmax = (1 << (vb - 1)) - 1
    vmin_pattern = 1 << (vb - 1)  # -2^(V-1) as a V-bit pattern
    top = sb - vb + 1  # bits sum[S-1 .. V-1]: all equal iff sum is in the V-bit range
    ones = (1 << top) - 1
    zero_reset = lif.reset == "zero"
    tw = len(tag_in)

    # stage 1: |v| and its sign (V + 1 bits: |-2^(V-1)| needs them)
    vx = signed_signal(vb + 1)

    @always_comb
    def widen() -> None:
        vx.next = concat(v_in[vb - 1], v_in).signed()

    s1_mag = signed_signal(vb + 1)
    s1_neg = Signal(bool(0))
    s1_i = signed_signal(ab)
    s1_t, s2_t, s3_t, s4_t = (Signal(intbv(0)[tw:]) for _ in range(4))
    s1_v, s2_v, s3_v, s4_v = (Signal(bool(0)) for _ in range(4))

    @always(clk.posedge)
    def stage1() -> None:
        if vx < 0:
            s1_mag.next = -vx
        else:
            s1_mag.next = vx
        s1_neg.next = vx < 0
        s1_i.next = i_in
        s1_t.next = tag_in
        s1_v.next = in_valid

    # stage 2: |v| - (|v| >> k)
    s2_md = signed_signal(vb + 1)
    s2_neg = Signal(bool(0))
    s2_i = signed_signal(ab)
    leak = 0 < k < vb  # k >= V: |v| >> k is 0 for every representable v (no leak, like k = 0)

    if leak:

        @always(clk.posedge)
        def stage2() -> None:
            s2_md.next = s1_mag - (s1_mag >> k)
            s2_neg.next = s1_neg
            s2_i.next = s1_i
            s2_t.next = s1_t
            s2_v.next = s1_v

    else:

        @always(clk.posedge)
        def stage2() -> None:
            s2_md.next = s1_mag
            s2_neg.next = s1_neg
            s2_i.next = s1_i
            s2_t.next = s1_t
            s2_v.next = s1_v

    # stage 3: decayS(v)
    s3_dec = signed_signal(vb + 1)
    s3_i = signed_signal(ab)

    @always(clk.posedge)
    def stage3() -> None:
        if s2_neg:
            s3_dec.next = -s2_md
        else:
            s3_dec.next = s2_md
        s3_i.next = s2_i
        s3_t.next = s2_t
        s3_v.next = s2_v

    # stage 4: the sum at S bits (explicitly widened operands)
    dec_x = signed_signal(sb)
    i_x = signed_signal(sb)
    ext_dec = sign_extend(s3_dec, dec_x)
    ext_i = sign_extend(s3_i, i_x)
    s4_sum = signed_signal(sb)

    @always(clk.posedge)
    def stage4() -> None:
        s4_sum.next = dec_x + i_x
        s4_t.next = s3_t
        s4_v.next = s3_v

    # stage 5: saturate, threshold, reset (in parallel)
    d = signed_signal(sb)

    @always_comb
    def minus_theta() -> None:
        d.next = s4_sum - theta

    q_v = Signal(intbv(0)[vb:])
    q_z = Signal(bool(0))
    q_t = Signal(intbv(0)[tw:])
    q_valid = Signal(bool(0))

    @always(clk.posedge)
    def stage5() -> None:
        q_t.next = s4_t
        q_valid.next = s4_v
        if not d[sb - 1]:  # sum >= theta: spike
            q_z.next = 1
            if zero_reset:
                q_v.next = 0
            elif s4_sum[sb:vb - 1] == 0:
                q_v.next = d[vb:]
            else:
                q_v.next = vmax - theta
        else:  # sum < theta <= vmax: in range (top bits all 0 or all 1) or below it
            q_z.next = 0
            if s4_sum[sb:vb - 1] == 0 or s4_sum[sb:vb - 1] == ones:
                q_v.next = s4_sum[vb:]
            else:
                q_v.next = vmin_pattern

    @always_comb
    def outputs() -> None:
        out_valid.next = q_valid
        v_out.next = q_v
        z_out.next = q_z
        tag_out.next = q_t

    return widen, stage1, stage2, stage3, ext_dec, ext_i, stage4, minus_theta, stage5, outputs

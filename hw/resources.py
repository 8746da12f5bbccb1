"""Resource and speed predictor for the O(1) lane and the O(1) array: :func:`estimate_resources`.

The prediction is built from the structure of the generated hardware, never from a table of results.
:func:`rtl_counts` elaborates the very MyHDL design the emitters convert (``o1_lane``, with
``pipelined_update`` the five-stage ``o1_lane_pipelined``, or ``o1_array`` through
:class:`~plasticore.hw.array_emitter.OnlineO1ArrayEmitter`) and reads off, process by process:

* **registers**: every bit assigned in a clocked process (``W + 3T`` for the lane; stage registers, host
  stage, schedule counters and their pipeline copies for the array), RAM read registers excepted; the
  pipelined lane's carry-save words count without their constant and identical bits
  (:func:`~plasticore.hw.csa_multiplier.register_bits`);
* **datapath logic bits**: output bits of the computing processes of ``o1_synapse_update``,
  ``o1_array_update``, ``o1_pairing``, ``o1_eligibility_sat``, ``o1_weight_next`` and ``o1_trace_next``
  (adders, comparators, saturation and sign multiplexers; widths from :mod:`plasticore.hw.widths`), once per
  lane;
* **control logic bits**: output bits of every other computing process (counters, address and write-data
  multiplexers, host decode lookups, read-back chain, the lane's load/reset muxing);
* **products**: the ``R x T`` multiplier of every lane;
* **pipelined-lane bits**: every logic bit of ``o1_lane_pipelined``, whose product is not a multiplier (no
  DSP) but the carry-save logic of :mod:`plasticore.hw.csa_multiplier` (``^ & |`` count as one level
  there);
* **memories**: depth x width of every inferred RAM, and the ``SB_SPRAM256KA`` instances.

A process costs ``output bits x weight``: weight 0 when it is wiring (slices, concatenations, constant
shifts and indices), else the number of adders/subtractors in its body, at least 1 (an ``if``, a
comparison or a lookup indexed by a signal is one level of logic).

From these counts, per target:

**Flip-flops** = register bits + memory side registers (:func:`map_memory`). No fitted coefficient.

**RAM blocks** (exact rules): :func:`map_memory` mirrors Yosys ``memory_libmap``'s cost-based choice
between flip-flops, ECP5 distributed RAM (``TRELLIS_DPR16X4``) and block RAM; block counts follow the
block geometries (iCE40 EBR 4 kbit: 256x16, 512x8, 1024x4, 2048x2; ECP5 DP16KD 18 kbit: 512x36,
1024x18, 2048x9, 4096x4, 8192x2, 16384x1; UP5K SPRAM 16k x 16, instantiated explicitly).

**DSP blocks** (exact rules): :func:`dsps_per_product` per lane (Yosys ``mul2dsp``: UP5K ``SB_MAC16``
with ``-dsp`` for results of >= 11 bits; ECP5 ``MULT18X18D``; none on HX8K).

**LUT4s** = ``a * datapath_bits + m * product_bits_in_LUTs + c * (control_bits + memory_side_LUTs)
+ l * array_lanes + v * pipelined_lane_bits`` (:func:`lut_features`; ``v`` < 1 because many partial-product
bits are constant zeros or sign copies that synthesis removes), with ``a`` separate for the stand-alone lane
(its registers load, reset and feed back in place) and for the array's lanes. **The coefficients are fitted** per family
by non-negative least squares on the relative error over the measured sweep (``python -m
plasticore.flows.calibrate``); ``reports/resources.md`` shows every design's error, so the fit is judged
design by design. They absorb how many LUT4s Yosys/ABC need per bit of each kind (an ECP5 ``CCU2C``
carry cell counts as two LUT4s). On iCE40 the per-lane constant fits to about zero; on ECP5, ABC9's
wide-function mapping (``PFUMX``/``L6MUX21``) makes the LUT4 count per array lane nearly independent
of the widths, so ``l`` carries most of it there and the ECP5 errors are larger (see the report).

**Cycles per timestep**: the lane updates its synapse every clock (1); the array takes
:func:`plasticore.hw.o1_array.cycles_per_timestep` (``n_pre * ceil(n_post / lanes)`` plus the pipeline).

**Fmax** = ``1 / (t0 + t * D)``: ``D`` (:func:`logic_depth`) is the logic depth of the synapse update, the
critical path of both designs (the array registers the RAM words before the update and after it);
``t0`` is the clock-to-out plus setup time nextpnr reports for the family (fixed) and ``t``, the delay
per level including routing, is **fitted** per target. Once the pipelined update has made ``D`` short,
hard-block paths can bind instead (:func:`period_terms`: block RAM clock-to-out and DSP delay as nextpnr
reports them, plus two routed levels); the period is the longest candidate. Timesteps per second = Fmax / cycles per
timestep; synapse updates per second = lanes x Fmax.

Errors: an unknown target, design or memory, bad sizes, or a design that does not fit the device raise
:class:`ValueError` naming the parameter or what overflows (``check_fit=False`` reports instead).
Needs MyHDL (the design is elaborated, not converted).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import re
from typing import Any

from plasticore.refmodel.online_o1 import OnlineO1Config

from .widths import O1Widths

DESIGNS: tuple[str, ...] = ("o1_lane", "o1_array")
MEMORIES: tuple[str, ...] = ("auto", "inferred", "spram")
DSP_LEVELS = 4.0  # a combinational SB_MAC16 / MULT18X18D product, in LUT levels


@dataclasses.dataclass(frozen=True, slots=True)
class Device:
    """Capacity of one target and the fitted coefficients of its family."""

    name: str
    family: str
    luts: int
    ffs: int
    ram: dict[str, int]
    dsps: int
    lut_per_op: float
    lut_per_product_bit: float
    lut_per_control_bit: float
    lut_per_op_lane: float
    lut_per_array_lane: float
    lut_per_pipe_lane_bit: float
    t0_ns: float
    t_per_level_ns: float


# Fitted coefficients (least squares on the measured sweep, ``python -m plasticore.flows.calibrate``;
# per-design errors in reports/resources.md). LUT4 per datapath bit, per product bit (LUTs only), per
# control bit, per array lane; the generic target reuses the iCE40 numbers (a LUT4 fabric without DSPs).
# ECP5 has no LUT multiplier in the sweep (every ``*`` maps to MULT18X18D; the pipelined lane's carry-save
# product has its own term): it reuses the iCE40 value.
LUT_COEFFICIENTS: dict[str, dict[str, float]] = {
    "ice40": {"lut_per_op": 1.545, "lut_per_product_bit": 2.527, "lut_per_control_bit": 0.569,
              "lut_per_op_lane": 1.182, "lut_per_array_lane": 0.0, "lut_per_pipe_lane_bit": 0.428},
    "ecp5": {"lut_per_op": 0.963, "lut_per_product_bit": 2.527, "lut_per_control_bit": 1.081,
             "lut_per_op_lane": 1.591, "lut_per_array_lane": 2.888, "lut_per_pipe_lane_bit": 0.571},
}
# delay per logic level (ns, routing included), fitted per target; t0 (clock-to-out + setup) is what
# nextpnr reports for the family, not fitted
T_PER_LEVEL_NS: dict[str, float] = {"ice40-up5k": 1.599, "ice40-hx8k": 0.688, "ecp5-25f": 0.732, "generic": 1.0}
T0_NS: dict[str, float] = {"ice40": 2.6, "ecp5": 0.5, "generic": 1.0}
# Delays of hard blocks as nextpnr reports them (device facts, not fitted): the ECP5 DP16KD clock-to-out
# (no output register) and the MULT18X18D combinational delay. Once the pipelined update has cut the
# logic short, these paths bind on the ECP5 (RAM -> read-first bypass LUT -> register; register ->
# multiplier -> register). On iCE40 the EBR, SPRAM and SB_MAC16 paths never bind in the sweep: no value.
T_RAM_NS: dict[str, float] = {"ecp5-25f": 5.83}
T_DSP_NS: dict[str, float] = {"ecp5-25f": 3.93}
BLOCK_ROUTE_LEVELS = 2.0  # a hard-block path: routed in and out (a bypass LUT counts with its route)


def _device(name: str, family: str, luts: int, ram: dict[str, int], dsps: int) -> Device:
    coef = LUT_COEFFICIENTS["ice40" if family == "generic" else family]
    t0 = T0_NS[family] if name != "ice40-hx8k" else 1.0  # HX8K: 0.54 ns clock-to-out + 0.45 ns setup
    return Device(name, family, luts, luts, ram, dsps, coef["lut_per_op"], coef["lut_per_product_bit"],
                  coef["lut_per_control_bit"], coef["lut_per_op_lane"], coef["lut_per_array_lane"],
                  coef["lut_per_pipe_lane_bit"], t0, T_PER_LEVEL_NS[name])


DEVICES: dict[str, Device] = {
    "ice40-up5k": _device("ice40-up5k", "ice40", 5280, {"ebr": 30, "spram": 4}, 8),
    "ice40-hx8k": _device("ice40-hx8k", "ice40", 7680, {"ebr": 32}, 0),
    "ecp5-25f": _device("ecp5-25f", "ecp5", 24288, {"dp16kd": 56}, 28),
    "generic": _device("generic", "generic", 10**9, {}, 0),
}
TARGETS: tuple[str, ...] = tuple(DEVICES)

# block geometries (depth, width) per RAM kind
GEOMETRIES: dict[str, tuple[tuple[int, int], ...]] = {
    "ebr": ((256, 16), (512, 8), (1024, 4), (2048, 2)),
    "dp16kd": ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)),
    "spram": ((16384, 16),),
}


def blocks_for(depth: int, width: int, kind: str) -> int:
    """Fewest blocks of ``kind`` holding a ``depth x width`` memory (best aspect ratio, no packing)."""
    if kind not in GEOMETRIES:
        raise ValueError(f"kind must be one of {sorted(GEOMETRIES)}, not {kind!r}")
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in GEOMETRIES[kind])


def dsps_per_product(config: OnlineO1Config, target: str) -> int:
    """DSP blocks Yosys uses for one signed ``R x T`` product (0: the product stays in LUTs).

    Yosys' ``mul2dsp`` rule: ``synth_ice40 -dsp`` (UP5K) takes products with both operands >= 2 bits and a
    result >= 11 bits, in 16 x 16 pieces; ``synth_ecp5`` takes operands >= 2 bits in 18 x 18 pieces.
    """
    r, t = config.reward_bits, config.trace_bits
    if target == "ice40-up5k":
        ok, piece = min(r, t) >= 2 and r + t >= 11, 16
    elif target == "ecp5-25f":
        ok, piece = min(r, t) >= 2, 18
    else:
        return 0
    return math.ceil(r / piece) * math.ceil(t / piece) if ok else 0


def _addr_bits(n: int) -> int:
    return max(1, (n - 1).bit_length())


_LOGIC = re.compile(r"\bif\b|[+\-*]|==|!=|<=|>=|(?<![<>])[<>](?![<>])")
_ADDSUB = re.compile(r"[+\-]")
_BITWISE = re.compile(r"\^|&|\|")
_DATAPATH_BLOCKS = frozenset({"o1_synapse_update", "o1_array_update", "o1_trace_next", "sign_extend", "o1_pairing",
                              "o1_eligibility_sat", "o1_weight_next"})


@dataclasses.dataclass(frozen=True, slots=True)
class RtlCounts:
    """Counts read off the elaborated MyHDL design (no synthesis): see :func:`rtl_counts`."""

    ff_bits: int  # bits of every signal assigned in a clocked process (RAM read registers excluded)
    datapath_bits: int  # output bits of logic processes inside o1_synapse_update / o1_trace_next
    control_bits: int  # output bits of the other logic processes (counters, muxes, decoders, saturation)
    product_bits: int  # sum of R x T over the multipliers
    pipe_lane_bits: int  # logic bits of o1_lane_pipelined (its stages and its carry-save multiplier)
    multipliers: int
    memories: tuple[tuple[int, int], ...]  # (depth, width) of every inferred RAM (o1_array_ram)
    sprams: int  # SB_SPRAM256KA instances (o1_array_spram)


def _logic_weight(gen: Any, bitwise: bool = False) -> int:
    """How many bit-operations per output bit a process body costs: 0 for pure wiring (slices,
    concatenations, constant shifts and indices), else the number of adders/subtractors in it (at
    least 1: an ``if``, a comparison or a lookup indexed by a signal is one level of logic). With
    ``bitwise`` (the carry-save logic of the pipelined lane) a body of ``^ & |`` is one level too."""
    src = inspect.getsource(gen.func).splitlines()
    body = "\n".join(ln for ln in src if not ln.lstrip().startswith(("@", "def ")))
    body = re.sub(r"#.*", "", body).replace(".next", "")
    lookup = False
    for index in re.findall(r"\[([^\[\]]*)\]", body):
        if index.strip().isidentifier() and hasattr(gen.symdict.get(index.strip()), "_nrbits"):
            lookup = True  # ROM/array lookup indexed by a signal
    body = re.sub(r"\[[^\[\]]*\]", "", body)  # constant indices and slices are wiring
    if not (lookup or _LOGIC.search(body) or (bitwise and _BITWISE.search(body))):
        return 0
    return max(1, len(_ADDSUB.findall(body)))


def _walk(blk: Any, path: tuple[str, ...] = ()) -> Any:
    for sub in blk.subs:
        if hasattr(sub, "subs"):
            name = sub.func.__name__
            if name == "o1_array_spram":
                yield (*path, name), None
                continue
            yield from _walk(sub, (*path, name))
        else:
            yield path, sub


@functools.lru_cache(maxsize=256)
def rtl_counts(config: OnlineO1Config, design: str, n_pre: int, n_post: int, lanes: int,
               memory: str = "inferred", pipelined_update: bool = False) -> RtlCounts:
    """Elaborate the design with MyHDL (as the emitters do) and count registers, logic bits and memories.

    Each process weighs ``output bits x`` :func:`_logic_weight` (0 for wiring). The ``prod``
    process (:func:`~plasticore.hw.o1_synapse_update.o1_synapse_update`,
    :func:`~plasticore.hw.o1_array_update.o1_array_update`) is the multiplier, counted apart.
    """
    from myhdl._always_comb import _AlwaysComb

    if design == "o1_lane":
        from .o1_lane import lane_port_signals, o1_lane
        from .o1_lane_pipelined import o1_lane_pipelined

        make = o1_lane_pipelined if pipelined_update else o1_lane
        top = make(**lane_port_signals(config), config=config)
    else:
        from .array_emitter import OnlineO1ArrayEmitter

        kw = {"pipelined_update": True} if pipelined_update else {}
        top = OnlineO1ArrayEmitter(config, n_pre, n_post, lanes, memory=memory, **kw)._top()
    ff = dp = ctrl = prod = mults = sprams = csa = 0
    mems: list[tuple[int, int]] = []
    for path, gen in _walk(top):
        if gen is None:
            sprams += 1
            continue
        outs = {n: gen.symdict.get(n) for n in gen.outputs}
        if "o1_array_ram" in path:
            mem = outs.get("mem")
            if isinstance(mem, list):
                mems.append((len(mem), len(outs["rdata"])))
            continue
        if "prod" in outs:  # the R x T multiplier (o1_synapse_update or o1_array_update)
            mults += 1
            a, b = (len(gen.symdict[n]) for n in sorted(gen.inputs))
            prod += a * b
            continue
        bits = sum(len(v) for v in outs.values() if not isinstance(v, list))
        csa_register = "csa_partial_sums" in path and not isinstance(gen, _AlwaysComb)
        if not isinstance(gen, _AlwaysComb) and not csa_register:  # those: counted below, merged
            ff += bits
        # the pipelined lane computes its update in its own processes (top level, path ()), with carry-save
        # (bitwise) logic there and in its carry-save multiplier
        pipe_lane = design == "o1_lane" and pipelined_update
        weight = _logic_weight(gen, bitwise=pipe_lane)
        if pipe_lane:
            csa += weight * bits
        elif _DATAPATH_BLOCKS & set(path):
            dp += weight * bits
        else:
            ctrl += weight * bits
    if design == "o1_lane" and pipelined_update:
        from .csa_multiplier import register_bits

        ff += register_bits(config.reward_bits, config.trace_bits, config.reward_bits + config.trace_bits)
    return RtlCounts(ff, dp, ctrl, prod, csa, mults, tuple(mems), sprams)


def _datapath(c: OnlineO1Config, n_traces: int) -> tuple[int, int, int]:
    """(bit ops, ops on the critical path, carry bits on it) of one update plus ``n_traces`` trace units."""
    w = O1Widths.of(c)
    t, k, n = c.trace_bits, w.eligibility_sum, max(w.weight_sum, w.product)
    decay = c.trace_decay_shift > 0
    adders = n_traces * (t if decay else 0) + k + (k if decay else 0) + k + 2 * k + n
    compares = 2 * k + n
    muxes = n_traces * t + 2 * k + 2 * t + t + c.weight_bits
    # eligibility path: |e| (negate, mux), decay, re-sign (negate, mux), + pot, - dep, saturate (compare, mux)
    ops_on_path = 8 if decay else 7
    carry = (6 if decay else 5) * k
    return adders + compares + muxes, ops_on_path, carry


def logic_depth(config: OnlineO1Config, target: str, pipelined_update: bool = False,
                design: str = "o1_array") -> float:
    """Logic depth of the synapse update's critical path in LUT-level units (see the module docstring).

    The longer of the eligibility path (``ops`` LUT levels and ``carry`` carry-chain bits, a carry bit
    counted as a quarter level) and the weight path (the eligibility path, then the product, ``w + delta``
    and its saturation). A product in a DSP block counts :data:`DSP_LEVELS`; in LUTs, ``R`` adder rows of
    ``R + T`` carry bits.
    """
    c = config
    w = O1Widths.of(c)
    _, ops, carry = _datapath(c, 1)
    n = max(w.weight_sum, w.product)
    e_path = ops + carry / 4
    if dsps_per_product(c, target) > 0:
        product = DSP_LEVELS
    else:
        product = c.reward_bits + (c.reward_bits + c.trace_bits) / 4
    if not pipelined_update:
        w_path = e_path + product + 2 + n / 4
        return max(e_path, w_path)
    k = w.eligibility_sum
    if design == "o1_lane":
        # o1_lane_pipelined: 1 = pairing mux + (pot - dep); 2 = one 3:2 compressor level, the K + 1-bit
        # carry chain, saturation (bit tests and a mux); 3 = partial products and the first Wallace levels
        # (LUTs, no DSP); 4 = the last Wallace levels and the product's carry chain; 5 = w + delta + saturate
        from .csa_multiplier import STAGE_WORDS, stage_words, wallace_levels

        r = c.reward_bits
        stage_3 = 1 + wallace_levels(r + 1, STAGE_WORDS)
        stage_4 = wallace_levels(stage_words(r), 2) + 1 + w.product / 4
        return max(2 + k / 4, 3 + (k + 1) / 4, stage_3, stage_4, 3 + n / 4)
    # o1_array_update: A = bias add | pairing mux + (pot - dep), B = e - q, C = add + saturate (bit tests
    # and a mux), D = the product alone, E = w + delta + saturate (bit tests and a mux)
    stage_a = 2 + k / 4
    stage_b = 1 + k / 4
    stage_c = 3 + k / 4
    stage_d = product
    stage_e = 3 + n / 4
    return max(stage_a, stage_b, stage_c, stage_d, stage_e)


def period_terms(config: OnlineO1Config, target: str, pipelined_update: bool = False,
                 block_ram: bool = False, design: str = "o1_array") -> list[tuple[float, float]]:
    """Candidate critical paths as ``(fixed ns, logic levels)``: the period is the largest
    ``fixed + t_per_level_ns * levels``.

    Always the synapse update (``t0`` and :func:`logic_depth`); where :data:`T_RAM_NS` knows the target and
    the design reads a block RAM (``block_ram``), the RAM read (clock-to-out, then
    :data:`BLOCK_ROUTE_LEVELS`); with the pipelined update and a DSP product where :data:`T_DSP_NS` knows
    the target, the product stage alone (``t0`` + the block's delay + :data:`BLOCK_ROUTE_LEVELS`).
    """
    dev = DEVICES[target]
    terms = [(dev.t0_ns, logic_depth(config, target, pipelined_update, design))]
    if block_ram and target in T_RAM_NS:
        terms.append((T_RAM_NS[target], BLOCK_ROUTE_LEVELS))
    lut_product = design == "o1_lane" and pipelined_update  # the pipelined lane multiplies in LUTs
    if pipelined_update and not lut_product and target in T_DSP_NS and dsps_per_product(config, target) > 0:
        terms.append((dev.t0_ns + T_DSP_NS[target], BLOCK_ROUTE_LEVELS))
    return terms


@dataclasses.dataclass(frozen=True, slots=True)
class MemoryMap:
    """How Yosys implements one inferred memory, and what it costs besides the RAM itself."""

    kind: str  # "ebr", "dp16kd", "lutram" (ECP5 TRELLIS_DPR16X4) or "logic" (flip-flops)
    blocks: int  # RAM blocks (ebr/dp16kd) or DPR16X4 cells (lutram); 0 for logic
    ffs: int  # flip-flops outside the RAM cells
    luts: int  # LUT4-level logic outside the RAM cells (read muxes, write decode, bypass)


def map_memory(family: str, depth: int, width: int) -> MemoryMap:
    """Yosys ``memory_libmap``'s choice for a simple dual-port RAM with a registered, read-first read.

    ``memory_libmap`` picks the cheapest of: soft logic (cost ``depth * width``), ECP5 distributed RAM
    (``TRELLIS_DPR16X4``, cost 4 per 16x4 cell plus 0.5 per read-mux and write-decode bit), and block RAM
    (cost 64 per EBR, 128 per DP16KD, plus 2 x 4 for emulating read-first behaviour across the two ports).
    Side costs: logic keeps ``depth * width`` flip-flops plus the read register; distributed RAM has an
    asynchronous read, so the read register is ``width`` flip-flops; block RAM's read-first emulation
    delays the write (``width`` data, ``abits`` address, enable) and bypasses it into the read port
    (``width`` flip-flops), i.e. ``2 * width + abits + 1`` flip-flops and ``width + abits`` LUT4s; the
    delayed address and enable are shared by memories on one address bus (:func:`memory_overhead`).
    """
    abits = max(1, (depth - 1).bit_length())
    options: list[tuple[float, MemoryMap]] = [
        (float(depth * width), MemoryMap("logic", 0, depth * width + width, depth * width // 2 + width)),
    ]
    if family == "ecp5":
        mult_a = -(-depth // 16)
        cells = -(-(mult_a * width) // 4)
        cost = 4 * cells + 0.5 * (mult_a - 1) * width + (0.5 * mult_a if mult_a > 1 else 0) + 2
        options.append((cost, MemoryMap("lutram", cells, width, (mult_a - 1) * width)))
    kind, unit = ("ebr", 64) if family == "ice40" else ("dp16kd", 128)
    blocks = blocks_for(depth, width, kind)
    options.append((unit * blocks + 8.0, MemoryMap(kind, blocks, 2 * width + abits + 1, width + abits)))
    return min(options, key=lambda o: o[0])[1]


LUT_FEATURES: tuple[str, ...] = (
    "lut_per_op_lane", "lut_per_op", "lut_per_product_bit", "lut_per_control_bit", "lut_per_array_lane",
    "lut_per_pipe_lane_bit",
)


def lut_features(counts: RtlCounts, design: str, dsp: bool, mem_luts: int) -> tuple[float, ...]:
    """The terms the LUT4 coefficients multiply, in :data:`LUT_FEATURES` order: datapath bits of the lane
    design, datapath bits of the array, product bits left in LUTs, control bits (memory side logic
    included), and array lanes (a per-lane constant)."""
    lane = design == "o1_lane"
    dp = float(counts.datapath_bits)
    return (dp if lane else 0.0, 0.0 if lane else dp, 0.0 if dsp else float(counts.product_bits),
            float(counts.control_bits + mem_luts), 0.0 if lane else float(counts.multipliers),
            float(counts.pipe_lane_bits))


def ram_blocks(dev: Device, counts: RtlCounts) -> dict[str, int]:
    """RAM blocks by kind: every inferred memory as :func:`map_memory` maps it, plus SPRAMs.

    ``generic`` reports the memory bits instead of blocks.
    """
    kinds = {k: 0 for k in dev.ram}
    if dev.family == "generic":
        return {"bits": sum(d * w for d, w in counts.memories) + counts.sprams * 16384 * 16}
    for d, w in counts.memories:
        m = map_memory(dev.family, d, w)
        if m.kind in ("ebr", "dp16kd"):
            kinds[m.kind] = kinds.get(m.kind, 0) + m.blocks
    if counts.sprams:
        kinds["spram"] = counts.sprams
    return kinds


def memory_overhead(dev: Device, counts: RtlCounts) -> tuple[int, int, int]:
    """(flip-flops, LUT4s, distributed-RAM cells) the memories add outside the block RAMs."""
    if dev.family == "generic":
        return 0, 0, 0
    maps = [(d, map_memory(dev.family, d, w)) for d, w in counts.memories]
    ffs = sum(m.ffs for _, m in maps)
    # block RAMs of one depth share one write-address bus (all lanes' synapse RAMs, all lanes' post RAMs,
    # the two pre RAMs): Yosys merges their identical delayed address/enable registers into one copy
    seen: set[int] = set()
    for d, m in maps:
        if m.kind in ("ebr", "dp16kd"):
            if d in seen:
                ffs -= max(1, (d - 1).bit_length()) + 1
            seen.add(d)
    return ffs, sum(m.luts for _, m in maps), sum(m.blocks for _, m in maps if m.kind == "lutram")


def _resolve_size(design: str | None, n_pre: int | None, n_post: int | None, n_synapses: int | None,
                  lanes: int) -> tuple[str, int, int]:
    for name, v in (("n_pre", n_pre), ("n_post", n_post), ("n_synapses", n_synapses), ("lanes", lanes)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"{name} must be an int >= 1, not {v!r}")
    if design is None:
        design = "o1_lane" if n_pre is None and n_post is None and n_synapses is None else "o1_array"
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {list(DESIGNS)}, not {design!r}")
    if design == "o1_lane":
        if lanes != 1 or any(v not in (None, 1) for v in (n_pre, n_post, n_synapses)):
            raise ValueError(
                f"design 'o1_lane' is one synapse: n_pre, n_post, n_synapses, lanes must be 1 or unset, "
                f"not n_pre={n_pre}, n_post={n_post}, n_synapses={n_synapses}, lanes={lanes}"
            )
        return design, 1, 1
    if n_pre is not None and n_post is not None:
        if n_synapses is not None and n_synapses != n_pre * n_post:
            raise ValueError(f"n_synapses must equal n_pre * n_post = {n_pre * n_post}, not {n_synapses}")
        return design, n_pre, n_post
    if n_synapses is not None and n_pre is None and n_post is None:
        side = math.isqrt(n_synapses)
        if side * side != n_synapses:
            raise ValueError(
                f"n_synapses alone means a square layer and must be a perfect square, not {n_synapses} "
                f"(give n_pre and n_post instead)"
            )
        return design, side, side
    if n_synapses is not None:
        known = n_pre if n_pre is not None else n_post
        assert known is not None
        if n_synapses % known:
            raise ValueError(f"n_synapses must be a multiple of {'n_pre' if n_pre else 'n_post'}={known}, "
                             f"not {n_synapses}")
        other = n_synapses // known
        return (design, known, other) if n_pre is not None else (design, other, known)
    raise ValueError("design 'o1_array' needs n_pre and n_post, or n_synapses")


def estimate_resources(
    *,
    config: OnlineO1Config,
    target: str,
    n_pre: int | None = None,
    n_post: int | None = None,
    n_synapses: int | None = None,
    lanes: int = 1,
    design: str | None = None,
    memory: str = "auto",
    pipelined_update: bool = False,
    check_fit: bool = True,
) -> dict[str, Any]:
    """Predicted LUT4s, flip-flops, RAM blocks by kind, DSP blocks, cycles per timestep, Fmax, throughput.

    ``design`` defaults to ``"o1_lane"`` when no size is given, else ``"o1_array"``; ``target`` is one of
    ``"ice40-up5k"``, ``"ice40-hx8k"``, ``"ecp5-25f"``, ``"generic"`` (no capacity limits, RAM in bits).
    ``memory="spram"`` (UP5K only) puts the synapse RAMs in SPRAM; ``pipelined_update`` selects the
    array's five-stage update (:func:`~plasticore.hw.o1_array_update.o1_array_update`). Raises
    :class:`ValueError` for an unknown target/design/memory, bad sizes, or a design that does not fit
    (naming what overflows).
    See the module docstring for where every term comes from.
    """
    if not isinstance(config, OnlineO1Config):
        raise TypeError(f"config must be an OnlineO1Config, not {type(config).__name__}")
    if target not in DEVICES:
        raise ValueError(f"target must be one of {list(TARGETS)}, not {target!r}")
    if memory not in MEMORIES:
        raise ValueError(f"memory must be one of {list(MEMORIES)}, not {memory!r}")
    design, a, b = _resolve_size(design, n_pre, n_post, n_synapses, lanes)
    if design == "o1_array" and lanes > b:
        raise ValueError(f"lanes must be in 1..n_post={b}, not {lanes}")
    dev = DEVICES[target]
    if memory == "spram" and target not in ("ice40-up5k", "generic"):
        raise ValueError(f"memory 'spram' needs target 'ice40-up5k', not {target!r}")
    if design == "o1_array":
        from .array_emitter import choose_memory
        from .o1_array import cycles_per_timestep

        mem = "inferred" if memory == "auto" and target != "ice40-up5k" else memory
        mem = choose_memory(config, a, b, lanes, mem)
        cycles = cycles_per_timestep(a, b, lanes, pipelined_update)
    else:
        mem, cycles = "inferred", 1
    counts = rtl_counts(config, design, a, b, lanes, mem, pipelined_update)
    per_product = dsps_per_product(config, target)
    mem_ffs, mem_luts, lutram = memory_overhead(dev, counts)
    features = lut_features(counts, design, per_product > 0, mem_luts)
    coefs = (dev.lut_per_op_lane, dev.lut_per_op, dev.lut_per_product_bit, dev.lut_per_control_bit,
             dev.lut_per_array_lane, dev.lut_per_pipe_lane_bit)
    luts = sum(c * f for c, f in zip(coefs, features, strict=True))
    dsps = counts.multipliers * per_product  # 0 multipliers for the pipelined lane (its product is LUTs)
    ram = ram_blocks(dev, counts)
    block_ram = any(ram.get(k, 0) > 0 for k in ("ebr", "dp16kd", "spram"))
    terms = period_terms(config, target, pipelined_update, block_ram, design)
    period_ns = max(f + dev.t_per_level_ns * lv for f, lv in terms)
    fmax = round(1e3 / period_ns, 2)
    result: dict[str, Any] = {
        "design": design,
        "target": target,
        "n_pre": a,
        "n_post": b,
        "n_synapses": a * b,
        "lanes": lanes,
        "luts": round(luts),
        "ffs": counts.ff_bits + mem_ffs,
        "lutram_cells": lutram,
        "ram_blocks": ram,
        "dsps": dsps,
        "memory": mem if design == "o1_array" else None,
        "pipelined_update": pipelined_update,
        "cycles_per_timestep": cycles,
        "fmax_mhz": fmax,
        "timesteps_per_second": round(fmax * 1e6 / cycles, 3),
        "synapse_updates_per_second": round(fmax * 1e6 * lanes, 1),
    }
    over: list[str] = []
    if dev.family != "generic":
        for q, have in (("luts", dev.luts), ("ffs", dev.ffs), ("dsps", dev.dsps)):
            if result[q] > have:
                over.append(f"{q} {result[q]} > {have}")
        for kind, n in ram.items():
            if n > dev.ram.get(kind, 0):
                over.append(f"{kind} blocks {n} > {dev.ram.get(kind, 0)}")
    result["fits"] = not over
    result["overflow"] = over
    if over and check_fit:
        raise ValueError(
                f"{design} ({a}x{b}, {lanes} lanes) does not fit {target}: " + ", ".join(over)
            )
    return result

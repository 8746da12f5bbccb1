"""Clock rate: the candidate critical paths of the period and what each is made of.

**Fmax** (the model :func:`plasticore.estimate.predict.breakdown` uses) = ``1 / max over candidate paths p of
(fixed_p + t_level * L_p + t_carry * C_p + t_row * P_p + t_dsp * D_p + t_array * A_p)``
(:func:`period_paths`, :data:`TIMING_FEATURES`), the five delays fitted per target
(:mod:`plasticore.estimate.coefficients`):

* ``L``: LUT levels of the path (each with its routing), from the blocks' own path descriptions
  (:class:`~plasticore.hw.widths.PathSegment` ``levels``); a hard-block path (block RAM read, pipelined DSP
  stage) has :data:`BLOCK_ROUTE_LEVELS`;
* ``C``: carry-chain bits (``carry_bits``; a product in LUTs adds its ``R + T``-bit rows' carries);
* ``P``: adder rows of a product left in LUTs (``R``): each row is a LUT level plus a routed hop into the
  next row's carry chain, slower than a plain level on the iCE40 fabric;
* ``D``: 1 for a combinational DSP product inside the path (``SB_MAC16``/``MULT18X18D`` with its routing),
  where the device table gives no DSP delay;
* ``A``: 1 in every path of an array (``o1_array``, the core's array): the update there reads block RAM
  and sits among the lanes' address and control logic, so its wires are longer than in the stand-alone lane.

With ``t_carry = t_level / 4``, ``t_row = t_level``, ``t_dsp = 4 t_level`` and ``t_array = 0`` this is the
one-parameter depth model below (the ``generic`` target's coefficients); fitted, carry bits cost far
less than a quarter of a routed LUT level and the iCE40's LUT product rows far more.

The older depth view (:func:`logic_depth`, :func:`period_terms`, kept for callers and tests):

**Fmax** = ``1 / max over candidate paths of (fixed ns + t * levels)``. The synapse update is always a
candidate: ``t0`` (clock-to-out plus setup, :attr:`~plasticore.hw.devices.DeviceInfo.t0_ns`) and
:func:`logic_depth` levels; ``t``, the delay per level including routing, is fitted per target
(:mod:`plasticore.estimate.coefficients`). Once the pipelined update has made the logic short, hard-block
paths can bind instead: the block RAM read (``t_ram_ns``) and the DSP product (``t0 + t_dsp_ns``), each
followed by :data:`BLOCK_ROUTE_LEVELS` routed levels.

The logic depth combines what the blocks say about their own paths (:class:`~plasticore.hw.widths.PathSegment`):
:func:`plasticore.hw.o1_lane.update_path` (the combinational update), and the per-stage paths
:func:`plasticore.hw.o1_lane_pipelined.stage_paths` and :func:`plasticore.hw.o1_array_update.stage_paths`.
A segment of ``levels`` LUT levels and ``carry_bits`` carry bits is ``levels + carry_bits / 4`` levels; the
product is :data:`DSP_LEVELS` in a DSP block, else ``R`` adder rows of ``R + T`` carry bits
(``R + (R + T) / 4``).
"""

from __future__ import annotations

from collections.abc import Sequence

from plasticore.hw.widths import PathSegment
from plasticore.refmodel.online_o1 import OnlineO1Config

from .coefficients import TIMING_FEATURES
from .devices import DEVICES
from .memory_map import dsps_per_product

DSP_LEVELS = 4.0  # a combinational SB_MAC16 / MULT18X18D product, in LUT levels
BLOCK_ROUTE_LEVELS = 2.0  # a hard-block path: routed in and out (a bypass LUT counts with its route)


def product_levels(config: OnlineO1Config, target: str) -> float:
    """Depth of the ``R x T`` product: :data:`DSP_LEVELS` in a DSP block, else ``R + (R + T) / 4``."""
    if dsps_per_product(config, target) > 0:
        return DSP_LEVELS
    return config.reward_bits + (config.reward_bits + config.trace_bits) / 4


def _add(total: float, seg: PathSegment, product: float) -> float:
    if seg.product:
        return total + product
    return total + seg.levels + seg.carry_bits / 4


def path_levels(segments: Sequence[PathSegment], product: float) -> float:
    """Levels of one path made of ``segments`` in order (see the module docstring)."""
    total = 0.0
    for seg in segments:
        total = _add(total, seg, product)
    return total


def logic_depth(config: OnlineO1Config, target: str, pipelined_update: bool = False,
                design: str = "o1_array") -> float:
    """Logic depth of the synapse update's critical path in LUT-level units.

    Without ``pipelined_update``: the longer of the eligibility path (the first segment of
    :func:`~plasticore.hw.o1_lane.update_path`) and the whole path through the product to the saturated
    weight. Pipelined: the longest stage of :func:`~plasticore.hw.o1_lane_pipelined.stage_paths` (the lane)
    or :func:`~plasticore.hw.o1_array_update.stage_paths` (the array).
    """
    # the blocks import MyHDL: only when a depth is asked for
    from plasticore.hw.o1_array_update import stage_paths as array_update_stages
    from plasticore.hw.o1_lane import update_path
    from plasticore.hw.o1_lane_pipelined import stage_paths as lane_stages

    product = product_levels(config, target)
    if not pipelined_update:
        path = update_path(config)
        return max(path_levels(path[:1], product), path_levels(path, product))
    stages = lane_stages(config) if design == "o1_lane" else array_update_stages(config)
    return max(path_levels((s,), product) for s in stages)


def period_terms(config: OnlineO1Config, target: str, pipelined_update: bool = False,
                 block_ram: bool = False, design: str = "o1_array") -> list[tuple[float, float]]:
    """Candidate critical paths as ``(fixed ns, logic levels)``: the period is the largest
    ``fixed + t_per_level_ns * levels``.

    Always the synapse update (``t0`` and :func:`logic_depth`); where the device table gives a block RAM
    delay and the design reads a block RAM (``block_ram``), the RAM read (clock-to-out, then
    :data:`BLOCK_ROUTE_LEVELS`); with the pipelined update and a DSP product where the table gives a DSP
    delay, the product stage alone (``t0`` + the block's delay + :data:`BLOCK_ROUTE_LEVELS`).
    """
    dev = DEVICES[target]
    terms = [(dev.t0_ns, logic_depth(config, target, pipelined_update, design))]
    if block_ram and dev.info.t_ram_ns is not None:
        terms.append((dev.info.t_ram_ns, BLOCK_ROUTE_LEVELS))
    lut_product = design == "o1_lane" and pipelined_update  # the pipelined lane multiplies in LUTs
    if (pipelined_update and not lut_product and dev.info.t_dsp_ns is not None
            and dsps_per_product(config, target) > 0):
        terms.append((dev.t0_ns + dev.info.t_dsp_ns, BLOCK_ROUTE_LEVELS))
    return terms


PathCounts = tuple[float, float, float, float, float]  # (L, C, P, D, A): TIMING_FEATURES order
Path = tuple[float, PathCounts]  # (fixed ns, counts)


def _counts(segments: Sequence[PathSegment], config: OnlineO1Config, dsp: bool, array: bool) -> PathCounts:
    lv = carry = rows = dsps = 0.0
    for seg in segments:
        if not seg.product:
            lv, carry = lv + seg.levels, carry + seg.carry_bits
        elif dsp:
            dsps += 1
        else:
            rows, carry = rows + config.reward_bits, carry + config.reward_bits + config.trace_bits
    return (lv, carry, rows, dsps, 1.0 if array else 0.0)


def period_paths(config: OnlineO1Config, target: str, pipelined_update: bool = False,
                 block_ram: bool = False, design: str = "o1_array") -> list[Path]:
    """Candidate critical paths as ``(fixed ns, (L, C, P, D, A))`` (see the module docstring).

    Combinational update: the eligibility path (the first segment of
    :func:`~plasticore.hw.o1_lane.update_path`) and the whole path through the product, both from ``t0``.
    Pipelined: every stage of :func:`~plasticore.hw.o1_lane_pipelined.stage_paths` (the lane) or
    :func:`~plasticore.hw.o1_array_update.stage_paths` (the array); a DSP product stage where the device
    table gives a DSP delay is the hard-block path ``t0 + t_dsp_ns`` and :data:`BLOCK_ROUTE_LEVELS`. Where the
    table gives a block RAM delay and the design reads a block RAM, the RAM read (``t_ram_ns`` and
    :data:`BLOCK_ROUTE_LEVELS`).
    """
    from plasticore.hw.o1_array_update import stage_paths as array_update_stages
    from plasticore.hw.o1_lane import update_path
    from plasticore.hw.o1_lane_pipelined import stage_paths as lane_stages

    dev = DEVICES[target]
    array = design != "o1_lane"
    a = 1.0 if array else 0.0
    dsp = dsps_per_product(config, target) > 0
    hard: PathCounts = (BLOCK_ROUTE_LEVELS, 0.0, 0.0, 0.0, a)
    paths: list[Path] = []
    if not pipelined_update:
        path = update_path(config)
        paths += [(dev.t0_ns, _counts(path[:1], config, dsp, array)), (dev.t0_ns, _counts(path, config, dsp, array))]
    else:
        for seg in (lane_stages(config) if design == "o1_lane" else array_update_stages(config)):
            if seg.product and dsp and dev.info.t_dsp_ns is not None:
                paths.append((dev.t0_ns + dev.info.t_dsp_ns, hard))
            else:
                paths.append((dev.t0_ns, _counts((seg,), config, dsp, array)))
    if block_ram and dev.info.t_ram_ns is not None:
        paths.append((dev.info.t_ram_ns, hard))
    return paths


def path_delay(path: Path, timing: Sequence[float]) -> float:
    """``fixed + sum(coefficient * count)`` of one :func:`period_paths` path (``timing`` in
    :data:`TIMING_FEATURES` order)."""
    return path[0] + sum(c * x for c, x in zip(timing, path[1], strict=True))


__all__ = ["BLOCK_ROUTE_LEVELS", "DSP_LEVELS", "TIMING_FEATURES", "Path", "PathCounts", "logic_depth",
           "path_delay", "path_levels", "period_paths", "period_terms", "product_levels"]

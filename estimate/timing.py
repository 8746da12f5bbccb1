"""Clock rate: the logic depth of the critical path and the candidate paths of the period.

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


__all__ = ["BLOCK_ROUTE_LEVELS", "DSP_LEVELS", "logic_depth", "path_levels", "period_terms", "product_levels"]

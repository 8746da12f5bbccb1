"""What Yosys maps to hard blocks: memories (:func:`map_memory`) and products (:func:`dsps_per_product`).

Block geometries come from the device table (:data:`plasticore.hw.devices.RAM_BLOCKS`): iCE40 EBR 4 kbit
(256x16, 512x8, 1024x4, 2048x2), ECP5 DP16KD 18 kbit (512x36, 1024x18, 2048x9, 4096x4, 8192x2, 16384x1),
UP5K SPRAM 16k x 16 (instantiated explicitly, never inferred).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType

from plasticore.hw.devices import RAM_BLOCKS
from plasticore.refmodel.online_o1 import OnlineO1Config

from .counts import RtlCounts
from .devices import Device

GEOMETRIES: Mapping[str, tuple[tuple[int, int], ...]] = MappingProxyType(
    {kind: block.geometries for kind, block in RAM_BLOCKS.items()}
)


def blocks_for(depth: int, width: int, kind: str) -> int:
    """Fewest blocks of ``kind`` holding a ``depth x width`` memory (best aspect ratio, no packing)."""
    if kind not in RAM_BLOCKS:
        raise ValueError(f"kind must be one of {sorted(RAM_BLOCKS)}, not {kind!r}")
    return RAM_BLOCKS[kind].blocks_for(depth, width)


def dsps_per_product(config: OnlineO1Config, target: str) -> int:
    """DSP blocks Yosys uses for one signed ``R x T`` product (0: the product stays in LUTs).

    Yosys' ``mul2dsp`` rule: ``synth_ice40 -dsp`` (UP5K) takes products with both operands >= 2 bits and a
    result >= 11 bits, in 16 x 16 pieces; ``synth_ecp5`` takes operands >= 2 bits in 18 x 18 pieces;
    the HX8K has no DSP block.
    """
    r, t = config.reward_bits, config.trace_bits
    if target == "ice40-up5k":
        ok, piece = min(r, t) >= 2 and r + t >= 11, 16
    elif target == "ecp5-25f":
        ok, piece = min(r, t) >= 2, 18
    else:
        return 0
    return math.ceil(r / piece) * math.ceil(t / piece) if ok else 0


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


def ram_blocks(dev: Device, counts: RtlCounts) -> dict[str, int]:
    """RAM blocks by kind: every inferred memory as :func:`map_memory` maps it, plus SPRAMs.

    ``generic`` reports the memory bits instead of blocks.
    """
    kinds = {k: 0 for k in dev.ram}
    if dev.family == "generic":
        spram = RAM_BLOCKS["spram"].bits
        return {"bits": sum(d * w for d, w in counts.memories) + counts.sprams * spram}
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


__all__ = ["GEOMETRIES", "MemoryMap", "blocks_for", "dsps_per_product", "map_memory", "memory_overhead",
           "ram_blocks"]

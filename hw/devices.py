"""The device table: every fact about the target FPGAs, in one place.

Capacities (LUT4s, flip-flops, RAM blocks by kind, DSP blocks, usable I/O of the package), the RAM block
geometries, and the delays nextpnr reports for the fixed parts of a path (clock-to-out plus setup, hard
RAM and DSP blocks). The flow targets (:mod:`plasticore.flows.icestorm`, :mod:`plasticore.flows.trellis`),
the report parser (:mod:`plasticore.flows.report`), the array emitter's ``memory="auto"`` rule and the
resource predictor (:mod:`plasticore.estimate`) all read this table. Fitted coefficients are not device
facts: they live in ``plasticore/estimate/coefficients.json``.

Pure Python (no MyHDL, no EDA tools).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType

from .vocabulary import Family, RamKind, TargetName


@dataclasses.dataclass(frozen=True, slots=True)
class RamBlock:
    """One kind of hard RAM block: its ``(depth, width)`` configurations and whether Yosys infers it.

    ``inferred=False`` (SPRAM): Yosys never infers it; the design instantiates the primitive.
    """

    kind: str
    geometries: tuple[tuple[int, int], ...]
    inferred: bool = True

    @property
    def bits(self) -> int:
        """Capacity of one block in bits (``depth * width`` of its first geometry)."""
        d, w = self.geometries[0]
        return d * w

    def blocks_for(self, depth: int, width: int) -> int:
        """Fewest blocks holding a ``depth x width`` memory: ``min over (d, w) of ceil(depth/d) * ceil(width/w)``
        (best aspect ratio, no packing of two memories into one block)."""
        return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in self.geometries)


RAM_BLOCKS: Mapping[str, RamBlock] = MappingProxyType({
    RamKind.EBR.value: RamBlock("ebr", ((256, 16), (512, 8), (1024, 4), (2048, 2))),  # SB_RAM40_4K, 4 kbit
    RamKind.DP16KD.value: RamBlock(
        "dp16kd", ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
    ),  # 18 kbit
    RamKind.SPRAM.value: RamBlock("spram", ((16384, 16),), inferred=False),  # SB_SPRAM256KA, 256 kbit
})


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceInfo:
    """Capacity and fixed delays of one target.

    ``ram`` maps each RAM kind the device has to its number of blocks (in the order a report lists them);
    ``t0_ns`` is clock-to-out plus setup as nextpnr reports it for the family; ``t_ram_ns`` (block RAM
    clock-to-out, no output register) and ``t_dsp_ns`` (combinational DSP delay) are given where such a path
    can bind, else None.
    """

    name: str
    family: str
    luts: int
    ffs: int
    ram: Mapping[str, int]
    dsps: int
    usable_io: int
    t0_ns: float
    t_ram_ns: float | None = None
    t_dsp_ns: float | None = None

    @property
    def ram_kinds(self) -> tuple[str, ...]:
        """The RAM kinds of the device, in report order."""
        return tuple(self.ram)


DEVICE_TABLE: Mapping[str, DeviceInfo] = MappingProxyType({
    # iCE40 UltraPlus UP5K, sg48 package: 5,280 LUT4/FF, 30 EBR, 4 SPRAM, 8 SB_MAC16, 39 usable I/O
    TargetName.ICE40_UP5K.value: DeviceInfo(
        "ice40-up5k", Family.ICE40.value, 5280, 5280, MappingProxyType({"ebr": 30, "spram": 4}), 8, 39, 2.6
    ),
    # iCE40 HX8K, ct256: 7,680 LUT4/FF, 32 EBR, no DSP; 0.54 ns clock-to-out + 0.45 ns setup
    TargetName.ICE40_HX8K.value: DeviceInfo(
        "ice40-hx8k", Family.ICE40.value, 7680, 7680, MappingProxyType({"ebr": 32}), 0, 206, 1.0
    ),
    # ECP5 LFE5U-25F, CABGA381, speed 6: 24,288 LUT4/FF, 56 DP16KD, 28 MULT18X18D; nextpnr's DP16KD
    # clock-to-out 5.83 ns and MULT18X18D delay 3.93 ns
    TargetName.ECP5_25F.value: DeviceInfo(
        "ecp5-25f", Family.ECP5.value, 24288, 24288, MappingProxyType({"dp16kd": 56}), 28, 197, 0.5,
        t_ram_ns=5.83, t_dsp_ns=3.93,
    ),
    # no limits: for what-if estimates; memories are reported in bits
    TargetName.GENERIC.value: DeviceInfo(
        "generic", Family.GENERIC.value, 10**9, 10**9, MappingProxyType({}), 0, 0, 1.0
    ),
})


def device(name: str) -> DeviceInfo:
    """The entry of ``name`` (``ValueError`` naming the known targets otherwise)."""
    if name not in DEVICE_TABLE:
        raise ValueError(f"target must be one of {list(DEVICE_TABLE)}, not {name!r}")
    return DEVICE_TABLE[name]


__all__ = ["DEVICE_TABLE", "RAM_BLOCKS", "DeviceInfo", "RamBlock", "device"]

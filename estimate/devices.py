"""The predictor's view of a target: the device table (:mod:`plasticore.hw.devices`) plus the fitted
coefficients of its family (:mod:`plasticore.estimate.coefficients`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

from plasticore.hw.devices import DEVICE_TABLE, DeviceInfo
from plasticore.hw.vocabulary import TARGETS

from .coefficients import Coefficients, load


@dataclasses.dataclass(frozen=True, slots=True)
class Device:
    """Capacity and fixed delays of one target (:class:`~plasticore.hw.devices.DeviceInfo`) with the fitted
    LUT4 coefficients of its family (``lut``, in :data:`~plasticore.estimate.coefficients.LUT_FEATURES`
    order) and its fitted delays (``timing``, in :data:`~plasticore.estimate.coefficients.TIMING_FEATURES`
    order)."""

    info: DeviceInfo
    lut: tuple[float, ...]
    timing: tuple[float, ...]

    @property
    def t_per_level_ns(self) -> float:
        """Delay per LUT level, routing included (ns)."""
        return self.timing[0]

    @property
    def name(self) -> str:
        """Target name (``ice40-up5k``, ...)."""
        return self.info.name

    @property
    def family(self) -> str:
        """Family (``ice40``, ``ecp5``, ``generic``)."""
        return self.info.family

    @property
    def luts(self) -> int:
        """LUT4 capacity."""
        return self.info.luts

    @property
    def ffs(self) -> int:
        """Flip-flop capacity."""
        return self.info.ffs

    @property
    def ram(self) -> Mapping[str, int]:
        """RAM blocks by kind."""
        return self.info.ram

    @property
    def dsps(self) -> int:
        """DSP blocks."""
        return self.info.dsps

    @property
    def t0_ns(self) -> float:
        """Clock-to-out plus setup (ns)."""
        return self.info.t0_ns


def devices(coefficients: Coefficients) -> Mapping[str, Device]:
    """Every target of the device table with ``coefficients`` applied."""
    return MappingProxyType({
        name: Device(info, coefficients.lut_of(info.family), coefficients.timing_of(name))
        for name, info in DEVICE_TABLE.items()
    })


COEFFICIENTS: Coefficients = load(targets=TARGETS)
DEVICES: Mapping[str, Device] = devices(COEFFICIENTS)

__all__ = ["COEFFICIENTS", "DEVICES", "Device", "devices"]

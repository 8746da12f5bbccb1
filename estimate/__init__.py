"""plasticore.estimate: the resource and speed predictor for the O(1) lane and the O(1) array.

The prediction is built from the structure of the generated hardware, never from a table of results:

=================================  ================================================================
module                             what it holds
=================================  ================================================================
:mod:`~.counts`                    registers, logic bits, products and memories of the elaborated design
:mod:`~.memory_map`                Yosys' memory and DSP mapping rules (block counts, side costs)
:mod:`~.timing`                    logic depth from the blocks' own stage descriptions; period candidates
:mod:`~.devices`                   the device table (:mod:`plasticore.hw.devices`) with fitted coefficients
:mod:`~.coefficients`              the fitted coefficients, stored in ``coefficients.json``
:mod:`~.predict`                   :func:`estimate_resources` and :func:`breakdown` (shared by every caller)
=================================  ================================================================

Layering: this package imports :mod:`plasticore.hw` (to elaborate designs and read the blocks' stage
descriptions); :mod:`plasticore.hw` never imports it. The emitters' ``estimate_resources`` methods reach
:func:`estimate_resources` through :mod:`plasticore.hw.estimator`, where importing this package registers
it (the top-level ``plasticore`` package imports it, so the methods always find it). Importing this package
needs NumPy only; a prediction needs MyHDL (the design is elaborated, not converted).
"""

from __future__ import annotations

from plasticore.hw.estimator import register_estimator
from plasticore.hw.vocabulary import DESIGNS, MEMORY_CHOICES, TARGETS

from .coefficients import LUT_FEATURES, Coefficients
from .counts import RtlCounts, rtl_counts
from .devices import COEFFICIENTS, DEVICES, Device
from .memory_map import GEOMETRIES, MemoryMap, blocks_for, dsps_per_product, map_memory
from .predict import Breakdown, breakdown, estimate_resources
from .timing import logic_depth, period_terms

register_estimator(estimate_resources)

__all__ = [
    "COEFFICIENTS",
    "DESIGNS",
    "DEVICES",
    "GEOMETRIES",
    "LUT_FEATURES",
    "MEMORY_CHOICES",
    "TARGETS",
    "Breakdown",
    "Coefficients",
    "Device",
    "MemoryMap",
    "RtlCounts",
    "blocks_for",
    "breakdown",
    "dsps_per_product",
    "estimate_resources",
    "logic_depth",
    "map_memory",
    "period_terms",
    "rtl_counts",
]

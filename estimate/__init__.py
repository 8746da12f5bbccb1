"""plasticore.estimate: the resource and speed predictor for the O(1) lane, the O(1) array and the core.

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

The closed-loop core (``design="o1_core"``, ``lif=FixedLIFConfig(...)``, ``n_active`` spiking inputs for
its cycles per timestep, default 10 % of ``n_pre``) is counted from its elaborated instance tree like the
array (the core's own logic as control bits, weighed per assigned signal:
:func:`~plasticore.estimate.counts.signal_weights`) with the array's coefficients: nothing was fitted to the
core. Against the two board records (``reports/board``, judged, not fitted; the live table is the generated
core section of ``reports/resources.md``), as of the records of 2026-12-03:

=======================  ===============  ===============  ===============  =====  ==================
record                   LUT4 pred/meas   FF pred/meas     RAM (= meas)     DSP    Fmax bound/meas
=======================  ===============  ===============  ===============  =====  ==================
UP5K 256x256, P2, SPRAM  2062/2004 +2.9%  2325/2210 +5.2%  17 EBR, 4 SPRAM  2 = 2  73.4/43.5 +69%
ECP5-25F 256x192, P6     3394/3140 +8.1%  3322/3220 +3.2%  53 DP16KD        6 = 6  136.9/84.2 +63%
=======================  ===============  ===============  ===============  =====  ==================

Both are within the arrays' stated errors (:data:`~plasticore.estimate.predict.STATED_ERRORS`: FF 7 %, LUT4
8.5 % UP5K / 11 % ECP5, RAM blocks and DSPs exact; ``tests/test_core_estimate.py`` checks them on the records
as they are). Fmax is not: the timing model knows only the array's paths, not the core's own (SPI slave,
access unit, sequencer, LIF pipeline), so for the core it says what the array alone would allow.

Layering: this package imports :mod:`plasticore.hw` (to elaborate designs and read the blocks' stage
descriptions); :mod:`plasticore.hw` never imports it. The emitters' ``estimate_resources`` methods reach
:func:`estimate_resources` through :mod:`plasticore.hw.estimator`, where importing this package registers
it (the top-level ``plasticore`` package imports it, so the methods always find it). Importing this package
needs NumPy only; a prediction needs MyHDL (the design is elaborated, not converted).
"""

from __future__ import annotations

from plasticore.hw.estimator import register_estimator
from plasticore.hw.vocabulary import DESIGNS, MEMORY_CHOICES, PREDICTED_DESIGNS, TARGETS

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
    "PREDICTED_DESIGNS",
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

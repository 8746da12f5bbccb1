"""iCE40 targets (UP5K sg48, HX8K ct256) through Edalize's ``icestorm`` flow.

Required tools (on ``PATH``, ``.venv/bin`` first): ``yosys`` with Tcl (Debian 0.23; Edalize runs
``yosys -p 'tcl ...'``), ``nextpnr-ice40`` and ``icepack`` (wrappers for YoWASP 0.11), ``make``.

Build products in the work directory (besides those listed in :mod:`plasticore.flows.edam`):
``Makefile`` (Edalize), ``yosys.log``, ``next.log``, ``<name>.asc`` (placed and routed), ``<name>.bin``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .edam import Target, target_from_table

REQUIRED_TOOLS: tuple[str, ...] = ("yosys", "nextpnr-ice40", "icepack", "make")

ICE40_UP5K = target_from_table(
    "ice40-up5k",
    flow="icestorm",
    device_args=("--up5k", "--package", "sg48"),
    constraint_file="ice40-up5k-sg48.pcf",
    constraint_type="PCF",
    clock_mhz=48.0,
    yosys_synth_options=("-dsp",),  # SB_MAC16 for multipliers (TOOLCHAIN pitfall 13)
)
ICE40_HX8K = target_from_table(
    "ice40-hx8k",
    flow="icestorm",
    device_args=("--hx8k", "--package", "ct256"),
    constraint_file="ice40-hx8k-ct256.pcf",
    constraint_type="PCF",
    clock_mhz=48.0,
    yosys_synth_options=(),  # no DSP blocks on the HX8K
)
TARGETS: dict[str, Target] = {t.name: t for t in (ICE40_UP5K, ICE40_HX8K)}

# nextpnr output that must be removed so ``make`` places and routes again for another seed
PNR_OUTPUTS: tuple[str, ...] = ("{name}.asc", "{name}.bin")


def make_flow(edam: dict[str, Any], work_root: Path) -> Any:
    """Edalize ``Icestorm`` flow object for ``edam`` in ``work_root`` (call ``configure()``, ``build()``)."""
    from edalize.flows.icestorm import Icestorm

    # Edalize 0.6.8 merges tool options into the class-level ``_flow`` dict, so a second flow in the
    # same process would repeat the first one's nextpnr options: give every flow its own copy.
    fresh = type("Icestorm", (Icestorm,), {"_flow": copy.deepcopy(Icestorm._flow)})
    return fresh(copy.deepcopy(edam), str(work_root))

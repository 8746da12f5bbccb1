"""ECP5 target (LFE5U-25F, CABGA381, speed grade 6) through Edalize's ``trellis`` flow.

Required tools (on ``PATH``, ``.venv/bin`` first): ``yosys`` with Tcl (Debian 0.23), ``nextpnr-ecp5``
and ``ecppack`` (wrappers for YoWASP 0.11: Debian 12 has no ECP5 tools), ``make``.

Build products in the work directory (besides those listed in :mod:`plasticore.flows.edam`):
``Makefile`` (Edalize), ``yosys.log``, ``next.log``, ``<name>.config`` (placed and routed), ``<name>.bit``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .edam import Target, target_from_table

REQUIRED_TOOLS: tuple[str, ...] = ("yosys", "nextpnr-ecp5", "ecppack", "make")

ECP5_25F = target_from_table(
    "ecp5-25f",
    flow="trellis",
    device_args=("--25k", "--package", "CABGA381", "--speed", "6"),
    constraint_file="ecp5-25f-cabga381.lpf",
    constraint_type="LPF",
    clock_mhz=150.0,
    yosys_synth_options=(),  # synth_ecp5 maps multipliers to MULT18X18D by default
)
TARGETS: dict[str, Target] = {ECP5_25F.name: ECP5_25F}

PNR_OUTPUTS: tuple[str, ...] = ("{name}.config", "{name}.bit")


def make_flow(edam: dict[str, Any], work_root: Path) -> Any:
    """Edalize ``Trellis`` flow object for ``edam`` in ``work_root`` (call ``configure()``, ``build()``)."""
    from edalize.flows.trellis import Trellis

    # Edalize 0.6.8 merges tool options into the class-level ``_flow`` dict, so a second flow in the
    # same process would repeat the first one's nextpnr options: give every flow its own copy.
    fresh = type("Trellis", (Trellis,), {"_flow": copy.deepcopy(Trellis._flow)})
    return fresh(copy.deepcopy(edam), str(work_root))

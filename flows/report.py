"""One report schema: Yosys ``stat -json`` + nextpnr ``--report`` JSON -> one record per design and target.

Record (``reports/synth/<target>/<design-id>.json``, sorted keys, no timestamps)::

    design, design_id, target, config (the five OnlineO1Config fields), n_pre, n_post, n_synapses, lanes,
    memory, tools {yosys, nextpnr}, seeds, digest, wrapper {...},
    predicted {luts, ffs, ram_blocks {kind: n}, dsps, fmax_mhz, cycles_per_timestep, ...}
    measured  {luts, ffs, ram_blocks {kind: n}, dsps, fmax_mhz (median), fmax_min_mhz, fmax_median_mhz,
               fmax_max_mhz, fmax_by_seed {seed: MHz}, cells {type: n}, total_cells {type: n},
               pnr_utilization {bel: used}}

Quantities (``measured`` counts the design's own hierarchy level, not the wrapper):

* ``luts``: LUT4 cells after synthesis: ``SB_LUT4`` on iCE40; ``LUT4 + 2 * CCU2C`` on ECP5 (a CCU2C
  carry cell is two LUT4s of one slice).
* ``ffs``: flip-flop cells (``SB_DFF*``, ``TRELLIS_FF``).
* ``ram_blocks``: ``ebr`` (``SB_RAM40_4K*``), ``spram`` (``SB_SPRAM256KA``), ``dp16kd`` (``DP16KD``).
* ``dsps``: ``SB_MAC16`` / ``MULT18X18D``.
* Fmax: nextpnr's achieved frequency of the clock, per placer seed; ``fmax_mhz`` is the median.

:func:`write_reports` turns all records into ``reports/resources.md`` and ``reports/figures/resources_*.png``;
:func:`core_markdown` adds the closed-loop core's section from ``reports/board`` (judged, not fitted).
No EDA tools needed here.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from plasticore.hw.devices import DEVICE_TABLE

from .edam import Target

# the RAM kinds each target reports, from the device table
RAM_KINDS: dict[str, tuple[str, ...]] = {name: info.ram_kinds for name, info in DEVICE_TABLE.items()}
TOLERANCE = 0.10  # the predictor's goal on LUTs and FFs


def _module_cells(stat: dict[str, Any], module: str) -> dict[str, int]:
    """Cells of ``module`` with user sub-modules expanded recursively (Yosys ``stat -json``)."""
    mods = stat["modules"]
    key = module if module in mods else f"\\{module}"
    if key not in mods:
        raise ValueError(f"module {module!r} not in Yosys stat (have {sorted(mods)})")
    out: dict[str, int] = {}
    for cell, n in mods[key].get("num_cells_by_type", {}).items():
        sub = cell if cell in mods else f"\\{cell}"
        if sub in mods:
            for c2, n2 in _module_cells(stat, sub).items():
                out[c2] = out.get(c2, 0) + n * n2
        else:
            out[cell] = out.get(cell, 0) + n
    return dict(sorted(out.items()))


def counts_from_cells(family: str, cells: dict[str, int]) -> dict[str, Any]:
    """LUT4s, FFs, RAM blocks by kind and DSPs from a cell-type histogram."""
    if family == "ice40":
        return {
            "luts": cells.get("SB_LUT4", 0),
            "ffs": sum(n for c, n in cells.items() if c.startswith("SB_DFF")),
            "ram_blocks": {"ebr": sum(n for c, n in cells.items() if c.startswith("SB_RAM40_4K")),
                           "spram": cells.get("SB_SPRAM256KA", 0)},
            "dsps": cells.get("SB_MAC16", 0),
        }
    if family == "ecp5":
        return {
            "luts": cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0),
            "ffs": cells.get("TRELLIS_FF", 0),
            "ram_blocks": {"dp16kd": cells.get("DP16KD", 0)},
            "dsps": cells.get("MULT18X18D", 0) + cells.get("ALU54B", 0),
        }
    raise ValueError(f"family must be 'ice40' or 'ecp5', not {family!r}")


def fmax_of(report: dict[str, Any]) -> float:
    """Slowest achieved clock frequency (MHz) in one nextpnr ``--report``."""
    clocks = report.get("fmax", {})
    if not clocks:
        raise ValueError("nextpnr report has no 'fmax' entry (no clocked logic?)")
    return min(float(v["achieved"]) for v in clocks.values())


def measured_from_reports(
    target: Target, stat: dict[str, Any], reports: dict[int, dict[str, Any]], design_module: str
) -> dict[str, Any]:
    """The ``measured`` part of a record from Yosys' stat and the per-seed nextpnr reports."""
    cells = _module_cells(stat, design_module)
    m = counts_from_cells(target.family, cells)
    m["ram_blocks"] = {k: m["ram_blocks"][k] for k in RAM_KINDS[target.name]}  # only what the device has
    fmax = {str(s): round(fmax_of(r), 2) for s, r in sorted(reports.items())}
    vals = sorted(fmax.values())
    first = reports[min(reports)]
    m.update({
        "fmax_by_seed": fmax,
        "fmax_min_mhz": vals[0],
        "fmax_median_mhz": round(statistics.median(vals), 2),
        "fmax_max_mhz": vals[-1],
        "fmax_mhz": round(statistics.median(vals), 2),
        "cells": cells,
        "total_cells": dict(sorted(stat["design"].get("num_cells_by_type", {}).items())),
        "pnr_utilization": {k: v["used"] for k, v in sorted(first.get("utilization", {}).items())},
    })
    return m


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write one synthesis record as sorted, indented JSON (deterministic bytes), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def load_records(reports: Path) -> list[dict[str, Any]]:
    """All records under ``reports/synth``, sorted by target, design, size, lanes, id."""
    recs = [json.loads(p.read_text()) for p in sorted((reports / "synth").glob("*/*.json"))]
    return sorted(recs, key=lambda r: (r["target"], r["design"], r["n_synapses"], r["lanes"], r["design_id"]))


def add_reports_argument(ap: argparse.ArgumentParser) -> None:
    """``--reports DIR`` (default ``reports``): the folder holding ``synth/<target>/*.json``."""
    ap.add_argument("--reports", type=Path, default=Path("reports"),
                    help="folder holding synth/<target>/*.json, relative to the working directory")


def required_records(ap: argparse.ArgumentParser, reports: Path) -> list[dict[str, Any]]:
    """:func:`load_records`; none is a usage error of ``ap`` (exit 2) saying to run ``make synth``."""
    recs = load_records(reports)
    if not recs:
        ap.error(f"no records under {reports / 'synth'}: run `make synth` first")
    return recs


def rel_error(pred: float, meas: float) -> float | None:
    """``(pred - meas) / meas``; None when the measurement is 0 (then only exact equality counts)."""
    return None if meas == 0 else (pred - meas) / meas


def _ram_total(d: dict[str, int]) -> str:
    return "+".join(f"{v}{k[0].upper()}" for k, v in sorted(d.items()) if v) or "0"


def _pct(e: float | None) -> str:
    return "n/a" if e is None else f"{100 * e:+.1f}%"


def _abs_errors(recs: list[dict[str, Any]], pq: str, mq: str) -> list[float]:
    errs = [rel_error(r["predicted"][pq], r["measured"][mq]) for r in recs]
    return [abs(e) for e in errs if e is not None]


def misses(rec: dict[str, Any]) -> list[str]:
    """Where the prediction misses the goal (10% on LUTs/FFs, exact on RAM blocks and DSPs)."""
    p, m = rec["predicted"], rec["measured"]
    out = []
    for q in ("luts", "ffs"):
        e = rel_error(p[q], m[q])
        if (e is None and p[q] != m[q]) or (e is not None and abs(e) > TOLERANCE):
            out.append(f"{q} {p[q]} vs {m[q]} ({_pct(e)})")
    kinds = sorted(set(p["ram_blocks"]) | set(m["ram_blocks"]))
    if any(p["ram_blocks"].get(k, 0) != m["ram_blocks"].get(k, 0) for k in kinds):
        out.append(f"ram_blocks {_ram_total(p['ram_blocks'])} vs {_ram_total(m['ram_blocks'])}")
    if p["dsps"] != m["dsps"]:
        out.append(f"dsps {p['dsps']} vs {m['dsps']}")
    return out


def resources_markdown(recs: list[dict[str, Any]]) -> str:
    """``reports/resources.md``: predicted vs measured per target, error per quantity, performance."""
    lines = [
        "# Resources: predicted vs measured",
        "",
        "Generated by `make synth` (`python -m plasticore.flows.synth`; `plasticore.flows.report`) from",
        "`reports/synth/<target>/<design-id>.json`. Predicted: `plasticore.estimate.estimate_resources` with",
        "the committed coefficients (in-sample: fitted on these records; held out: `predictor_validation.md`).",
        "Measured: Yosys `stat -json` of the design's own hierarchy level (the narrow wrapper excluded),",
        "nextpnr `--report` Fmax over the placer seeds (median, min).",
        "Error = (predicted - measured) / measured.",
        "RAM: E = EBR (4 kbit), S = SPRAM (256 kbit), D = DP16KD (18 kbit). Goal: LUTs and FFs within 10%,",
        "RAM blocks and DSPs exact.",
        "",
        "Method: every design sits behind the same 4-pin wrapper (`synth_top`: serial shift registers on",
        "`sdi`/`sdo`, capture on `cap`), needed for the UP5K sg48's 39 I/O and used on every target so all",
        "design I/O is registered and Fmax is register-to-register. Yosys keeps the design as its own",
        "hierarchy level until `stat -json`, then flattens for nextpnr (`--timing-allow-fail`; clock goals",
        "48 MHz on iCE40, 150 MHz on ECP5 in `constraints/`). ECP5 LUT4 = `LUT4` + 2 x `CCU2C`; its",
        "distributed RAM (`TRELLIS_DPR16X4`) is listed in each record's `cells`, not in LUT4 or RAM blocks.",
        "",
    ]
    if recs:
        tools = sorted({f"{r['tools'].get('yosys', '?')}; {r['tools'].get('nextpnr', '?')}" for r in recs})
        lines += ["Tools: " + " / ".join(tools), ""]
    all_misses: list[str] = []
    for target in sorted({r["target"] for r in recs}):
        rs = [r for r in recs if r["target"] == target]
        lines += [
            f"## {target}",
            "",
            "| design | LUT4 pred | LUT4 meas | err | FF pred | FF meas | err | RAM pred | RAM meas | "
            "DSP pred | DSP meas | Fmax pred | Fmax meas median (min) MHz |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rs:
            p, m = r["predicted"], r["measured"]
            lines.append(
                f"| {r['design_id']} | {p['luts']} | {m['luts']} | {_pct(rel_error(p['luts'], m['luts']))} | "
                f"{p['ffs']} | {m['ffs']} | {_pct(rel_error(p['ffs'], m['ffs']))} | "
                f"{_ram_total(p['ram_blocks'])} | {_ram_total(m['ram_blocks'])} | "
                f"{p['dsps']} | {m['dsps']} | "
                f"{p['fmax_mhz']:.1f} | {m['fmax_median_mhz']:.1f} ({m['fmax_min_mhz']:.1f}) |"
            )
            all_misses += [f"{target} {r['design_id']}: {x}" for x in misses(r)]
        lut_e = _abs_errors(rs, "luts", "luts")
        ff_e = _abs_errors(rs, "ffs", "ffs")
        fm_e = _abs_errors(rs, "fmax_mhz", "fmax_median_mhz")
        lines += [
            "",
            f"Mean |error| over {len(rs)} designs: LUT4 {100 * statistics.fmean(lut_e or [0]):.1f}% "
            f"(max {100 * max(lut_e or [0]):.1f}%), FF {100 * statistics.fmean(ff_e or [0]):.1f}% "
            f"(max {100 * max(ff_e or [0]):.1f}%), Fmax {100 * statistics.fmean(fm_e or [0]):.1f}% "
            f"(max {100 * max(fm_e or [0]):.1f}%).",
            "",
        ]
    lines += ["## Where the predictor misses its goal", ""]
    lines += [f"- {x}" for x in all_misses] if all_misses else ["None: every design is within the goal."]
    if all_misses:
        lines += [
            "",
            "Why: flip-flops, RAM blocks and DSPs follow exact rules (registers read off the elaborated",
            "design, Yosys' memory and DSP mapping rules), so misses there point at a rule the model lacks.",
            "LUT4s rest on fitted per-bit coefficients; on ECP5, ABC9 packs wide functions into LUT4 pairs",
            "with PFUMX/L6MUX21 depending on the netlist, so the same structure costs a varying number of",
            "LUT4s. Fmax: five fitted delays per target (LUT level, carry bit, LUT product row, DSP product, array",
            "routing) over the paths the blocks describe.",
        ]
    lines += ["", "## Performance", ""]
    lines += [
        "| target | design | lanes | synapses | cycles/timestep | Fmax median (min) MHz | "
        "synapse updates/s (lanes x Fmax) | timesteps/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in recs:
        m, p = r["measured"], r["predicted"]
        f = m["fmax_median_mhz"] * 1e6
        cyc = p["cycles_per_timestep"]
        lines.append(
            f"| {r['target']} | {r['design_id']} | {r['lanes']} | {r['n_synapses']} | {cyc} | "
            f"{m['fmax_median_mhz']:.1f} ({m['fmax_min_mhz']:.1f}) | {r['lanes'] * f:.3g} | {f / cyc:.4g} |"
        )
    bars = {"ice40-up5k": 48.0, "ecp5-25f": 150.0}
    lines += ["", "Fmax bars (48 MHz UP5K, 150 MHz ECP5-25F; median over seeds): the stand-alone lanes (`-pipe`: the",
              "five-stage `o1_lane_pipelined`, still one step per clock; otherwise the whole step in one clock),",
              "and the fastest array (its lanes run the same update, combinational or in five pipeline stages):",
              ""]
    for r in recs:
        if r["design"] == "o1_lane" and r["target"] in bars:
            f, bar = r["measured"]["fmax_median_mhz"], bars[r["target"]]
            lines.append(f"- {r['target']} {r['design_id']}: {f:.1f} MHz vs {bar:.0f} MHz: "
                         f"{'MET' if f >= bar else 'MISSED'}")
    for target, bar in sorted(bars.items()):
        rs = [r for r in recs if r["target"] == target and r["design"] == "o1_array"]
        if rs:
            r = max(rs, key=lambda r: r["measured"]["fmax_median_mhz"])
            f = r["measured"]["fmax_median_mhz"]
            lines.append(f"- {target} fastest array {r['design_id']}: {f:.1f} MHz vs {bar:.0f} MHz: "
                         f"{'MET' if f >= bar else 'MISSED'}")
    arrays = [r for r in recs if r["design"] == "o1_array"]
    if arrays:
        lines += ["", "Largest array per target (real time at 1 kHz is the bar for 64k synapses):", ""]
        for target in sorted({r["target"] for r in arrays}):
            big = max((r for r in arrays if r["target"] == target),
                      key=lambda r: (r["n_synapses"], r["measured"]["fmax_median_mhz"] * r["lanes"]
                                     / r["predicted"]["cycles_per_timestep"]))
            ts = big["measured"]["fmax_median_mhz"] * 1e6 / big["predicted"]["cycles_per_timestep"]
            lines.append(f"- {target} {big['design_id']}: {big['n_synapses']} synapses, {ts:.4g} timesteps/s "
                         f"({'faster' if ts >= 1000 else 'slower'} than 1 kHz real time)")
    lines.append("")
    return "\n".join(lines)


def load_board_records(reports: Path) -> list[dict[str, Any]]:
    """The closed-loop core's board records, ``<reports>/board/*.json`` (:mod:`plasticore.flows.board`),
    sorted by target and name."""
    recs = [json.loads(p.read_text()) for p in sorted((reports / "board").glob("*.json"))]
    return sorted(recs, key=lambda r: (r["target"], r["name"]))


def judge_board_record(rec: dict[str, Any]) -> dict[str, Any]:
    """The predictor (``design="o1_core"``) against one board record: ``{"predicted": ..., "measured": ...,
    "errors": {quantity: relative error or None}, "within": {quantity: bool}}``.

    The record is judged, never fitted: no coefficient comes from ``reports/board``. The prediction is of the
    core as the working tree elaborates it (:class:`~plasticore.hw.core_emitter.OnlineO1CoreEmitter`, the
    pipelined update as :mod:`plasticore.flows.board` builds it) at the record's activity (10 % of ``n_pre``).
    ``within`` applies :data:`~plasticore.estimate.predict.STATED_ERRORS` (the LUT4 bound, a mean over a
    target's designs for the arrays, to the one record); Fmax has no stated error (the timing model knows
    only the array's paths) and is not judged.
    """
    from plasticore.estimate.predict import STATED_ERRORS, estimate_resources
    from plasticore.refmodel.o1_network import FixedLIFConfig
    from plasticore.refmodel.online_o1 import OnlineO1Config

    p = estimate_resources(config=OnlineO1Config(**rec["config"]), target=rec["target"], design="o1_core",
                           n_pre=rec["n_pre"], n_post=rec["n_post"], lanes=rec["lanes"], memory=rec["memory"],
                           pipelined_update=bool(rec.get("pipelined_update", True)),
                           lif=FixedLIFConfig(**rec["lif_config"]), check_fit=False)
    m = rec["measured"]
    kinds = sorted(set(p["ram_blocks"]) | set(m["ram_blocks"]))
    errors = {q: rel_error(p[q], m[q]) for q in ("luts", "ffs", "dsps")}
    errors["fmax_mhz"] = rel_error(p["fmax_upper_bound_mhz"], m["fmax_median_mhz"])  # no Fmax claimed: the bound
    lut_bound = STATED_ERRORS["luts"].get(rec["target"], 0.0)
    within = {
        "luts": errors["luts"] is not None and abs(errors["luts"]) <= lut_bound,
        "ffs": errors["ffs"] is not None and abs(errors["ffs"]) <= STATED_ERRORS["ffs"],
        "ram_blocks": all(p["ram_blocks"].get(k, 0) == m["ram_blocks"].get(k, 0) for k in kinds),
        "dsps": p["dsps"] == m["dsps"],
    }
    return {"predicted": p, "measured": m, "errors": errors, "within": within, "lut_bound": lut_bound}


def core_markdown(reports: Path) -> str:
    """The generated section on the closed-loop core: the predictor (``design="o1_core"``) against every board
    record in ``<reports>/board`` (:func:`judge_board_record`); empty without
    records."""
    from plasticore.estimate.predict import STATED_ERRORS

    recs = load_board_records(reports)
    if not recs:
        return ""
    bounds = ", ".join(f"{t} {100 * v:g}%" for t, v in STATED_ERRORS["luts"].items())
    lines = [
        "## The closed-loop core (`o1_core`, `reports/board`)",
        "",
        "Predicted: `estimate_resources(design=\"o1_core\", lif=..., pipelined_update=True)` (or",
        "`OnlineO1CoreEmitter(...).estimate_resources(target=...)`) of the core as the working tree elaborates",
        "it; measured: the board record (`python -m plasticore.flows.board`; Yosys `stat -json` of the core's",
        "hierarchy, nextpnr Fmax over the seeds). These records are judged here, not fitted: no coefficient",
        "comes from them. Cycles/timestep at 10% input activity (`n_active = round(0.1 * n_pre)`). The",
        "predictor claims no Fmax for the core (its timing model knows only the array's paths): the column is",
        "the array-path upper bound, and its error shows how far the core's own paths sit below it.",
        "",
        "| board | target | n_pre x n_post | lanes | LUT4 pred | LUT4 meas | err | FF pred | FF meas | err | "
        "RAM pred | RAM meas | DSP pred | DSP meas | Fmax bound | Fmax meas median (min) MHz | err | "
        "cycles pred | cycles record |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    outside: list[str] = []
    for rec in recs:
        j = judge_board_record(rec)
        p, m, e = j["predicted"], j["measured"], j["errors"]
        lines.append(
            f"| {rec['board']} | {rec['target']} | {rec['n_pre']}x{rec['n_post']} | {rec['lanes']} | "
            f"{p['luts']} | {m['luts']} | {_pct(e['luts'])} | {p['ffs']} | {m['ffs']} | {_pct(e['ffs'])} | "
            f"{_ram_total(p['ram_blocks'])} | {_ram_total(m['ram_blocks'])} | {p['dsps']} | {m['dsps']} | "
            f"{p['fmax_upper_bound_mhz']:.1f} | {m['fmax_median_mhz']:.1f} ({m['fmax_min_mhz']:.1f}) | "
            f"{_pct(e['fmax_mhz'])} | "
            f"{p['cycles_per_timestep']} | {rec.get('cycles_per_timestep_10pct', 'n/a')} |"
        )
        outside += [f"{rec['board']} {rec['name']}: {q}" for q, ok in j["within"].items() if not ok]
        if p["cycles_per_timestep"] != rec.get("cycles_per_timestep_10pct"):
            outside.append(f"{rec['board']} {rec['name']}: cycles/timestep {p['cycles_per_timestep']} (the core as "
                           f"it is now) vs {rec.get('cycles_per_timestep_10pct')} in the record (built from an "
                           f"earlier core)")
    lines += [
        "",
        f"Stated errors (the arrays', README): FF within {100 * STATED_ERRORS['ffs']:g}%, RAM blocks and DSPs "
        f"exact, LUT4 within {bounds} (a mean per target for the arrays; here one record per target).",
        "",
    ]
    lines += [f"- outside: {x}" for x in outside] if outside else ["Every record is within the stated errors."]
    lines += [
        "",
        "Fmax is not within any stated error and is not claimed: the timing model knows the array's paths only",
        "(the synapse update, the block RAM read, the DSP product); the core's own paths (SPI slave, access unit,",
        "timestep sequencer, LIF pipeline) set its clock, so the prediction says what the array's paths alone",
        "would allow, not what the core reaches.",
        "The core's own logic counts as control bits, each signal of its processes weighed per assignment",
        "(`plasticore.estimate.counts.signal_weights`).",
        "",
    ]
    return "\n".join(lines)


def plot(recs: list[dict[str, Any]], path: Path) -> None:
    """Predicted vs measured LUT4s, FFs and Fmax (log axes, y = x and +-10% lines), one colour per target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    colours = {"ice40-up5k": "tab:blue", "ice40-hx8k": "tab:orange", "ecp5-25f": "tab:green"}
    for ax, (q, mq, title) in zip(axes, (("luts", "luts", "LUT4 cells"), ("ffs", "ffs", "flip-flops"),
                                         ("fmax_mhz", "fmax_median_mhz", "Fmax (MHz, median over seeds)")),
                                  strict=True):
        lo, hi = float("inf"), 0.0
        for target in sorted({r["target"] for r in recs}):
            rs = [r for r in recs if r["target"] == target]
            xs = [max(float(r["measured"][mq]), 0.5) for r in rs]
            ys = [max(float(r["predicted"][q]), 0.5) for r in rs]
            mk = ["s" if r["design"] == "o1_lane" else "o" for r in rs]
            for x, y, k in zip(xs, ys, mk, strict=True):
                ax.scatter([x], [y], color=colours.get(target, "k"), marker=k, s=28)
            ax.scatter([], [], color=colours.get(target, "k"), label=target)
            lo, hi = min(lo, *xs, *ys), max(hi, *xs, *ys)
        if hi > 0:
            grid = [lo / 1.3, hi * 1.3]
            ax.plot(grid, grid, "k-", lw=0.8)
            ax.plot(grid, [g * 1.1 for g in grid], "k:", lw=0.8)
            ax.plot(grid, [g * 0.9 for g in grid], "k:", lw=0.8)
            ax.set_xscale("log")
            ax.set_yscale("log")
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_formatter(ScalarFormatter())
                axis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("measured")
        ax.set_ylabel("predicted")
        ax.set_title(title)
        ax.grid(True, which="both", lw=0.3)
    axes[0].legend(fontsize=8, title="square: lane, circle: array", title_fontsize=7)
    fig.suptitle("plasticore resource predictor vs Yosys/nextpnr (dotted: +-10%)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def plot_throughput(recs: list[dict[str, Any]], path: Path) -> None:
    """Measured timesteps per second (median Fmax / cycles per timestep) of the arrays vs synapses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"ice40-up5k": "tab:blue", "ice40-hx8k": "tab:orange", "ecp5-25f": "tab:green"}
    fig, ax = plt.subplots(figsize=(7, 4.6))
    arrays = [r for r in recs if r["design"] == "o1_array"]
    for target in sorted({r["target"] for r in arrays}):
        rs = sorted((r for r in arrays if r["target"] == target), key=lambda r: (r["n_synapses"], r["lanes"]))
        xs = [r["n_synapses"] for r in rs]
        ys = [r["measured"]["fmax_median_mhz"] * 1e6 / r["predicted"]["cycles_per_timestep"] for r in rs]
        ax.scatter(xs, ys, color=colours.get(target, "k"), label=target, s=26)
        for r, x, y in zip(rs, xs, ys, strict=True):
            label = f"P{r['lanes']}" + ("+" if r.get("pipelined_update") else "")
            ax.annotate(label, (x, y), fontsize=6, xytext=(3, 2), textcoords="offset points")
    ax.axhline(1000.0, color="k", ls="--", lw=0.8, label="1 kHz real time")
    ax.axvline(65536, color="grey", ls=":", lw=0.8, label="64k synapses")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("synapses (n_pre x n_post)")
    ax.set_ylabel("timesteps per second (measured Fmax)")
    ax.set_title("O(1) array throughput (label: lanes; +: pipelined update)")
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def write_reports(reports: Path) -> list[Path]:
    """Regenerate ``resources.md`` and the plot from the stored records, each predicted anew with the current
    model and coefficients (:func:`plasticore.flows.designs.predict`; the record's own ``predicted`` part is
    what the predictor said when it was built); returns the written paths."""
    from .designs import DesignSpec, predict

    # the predictions of the current model and coefficients, not the ones stored when a record was built
    recs = [{**r, "predicted": predict(DesignSpec.from_record(r), r["target"]).result}
            for r in load_records(reports)]
    md = reports / "resources.md"
    core = core_markdown(reports)
    md.write_text(resources_markdown(recs) + ("\n" + core if core else ""))
    png = reports / "figures" / "resources_predicted_vs_measured.png"
    plot(recs, png)
    out = [md, png]
    if any(r["design"] == "o1_array" for r in recs):
        tput = reports / "figures" / "resources_throughput.png"
        plot_throughput(recs, tput)
        out.append(tput)
    return out

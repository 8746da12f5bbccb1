"""``python -m plasticore.flows.validate``: the predictor judged out of sample (leave one group out).

The coefficients of :mod:`plasticore.estimate` are fitted (:func:`plasticore.flows.calibrate.coefficients_from_records`)
on the same records ``reports/resources.md`` judges them on. This module judges them on designs the fit has
not seen: the committed records ``reports/synth/<target>/*.json`` are split into **groups** of related designs
(:func:`group_of`: the design kind, the config tag, the memory kind and the update style, on every target at
once, so the same structure measured on another target of the family is held out too); for each group ``g``

    coefficients_g = coefficients_from_records(records not in g)         (the calibrate fit, unchanged)
    held-out prediction of r in g = predict(r, coefficients_g)

(:func:`fold_coefficients`: the binding path of each fitted record is chosen at the fold's own delay per
level, iterated to a fixed point, so not even that choice comes from the full fit). The in-sample prediction
uses ``coefficients_from_records(all records)``, what ``calibrate --write`` writes.

Error = ``(predicted - measured) / measured`` (Fmax: against the median over the placer seeds). Flip-flops,
RAM blocks and DSPs have no fitted coefficient: their held-out errors equal their in-sample ones.

Outputs (deterministic: sorted keys, rounded numbers, no dates): ``reports/predictor_validation.json``
(:func:`cross_validate`) and ``reports/predictor_validation.md`` (:func:`validation_markdown`). Without
``--write`` the summary is printed. No EDA tools needed; needs MyHDL, numpy and scipy.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from plasticore.estimate.coefficients import Coefficients

from .calibrate import coefficients_from_records
from .designs import DesignSpec, predict
from .report import add_reports_argument, rel_error, required_records

GOALS: dict[str, float] = {"luts": 0.10, "fmax": 0.15}  # issue #12: |error| on every record, held out
QUANTITIES: tuple[tuple[str, str, str], ...] = (  # (name, predicted key, measured key)
    ("luts", "luts", "luts"), ("ffs", "ffs", "ffs"), ("fmax", "fmax_mhz", "fmax_median_mhz"),
)
MAX_FIXED_POINT_STEPS = 10


def group_of(rec: Mapping[str, Any]) -> str:
    """The cross-validation group of a record: ``<design>-<config tag>[-<memory>][-pipe]``, independent of the
    target and of the size and lane count (``o1_array-w8t6r4l3s2-inferred-pipe``, ``o1_lane-w16t12r8l4s4``)."""
    spec = DesignSpec.from_record(dict(rec))
    parts = [spec.design, spec.config.tag]
    if spec.design != "o1_lane":
        parts.append(spec.memory)
    if spec.pipelined:
        parts.append("pipe")
    return "-".join(parts)


def record_key(rec: Mapping[str, Any]) -> str:
    """``<target>/<design_id>``: unique over the records."""
    return f"{rec['target']}/{rec['design_id']}"


@dataclasses.dataclass(frozen=True, slots=True)
class Fold:
    """One leave-one-group-out fold: the held-out ``group``, the records fitted (``fitted``, keys of
    :func:`record_key`) and the coefficients fitted on them."""

    group: str
    fitted: tuple[str, ...]
    coefficients: Coefficients


def fold_coefficients(train: Sequence[dict[str, Any]]) -> Coefficients:
    """``coefficients_from_records(train)`` with each record's binding path chosen at the fitted delay per level
    itself (start from the package's coefficients, refit until the document no longer changes)."""
    coef = coefficients_from_records(list(train))
    for _ in range(MAX_FIXED_POINT_STEPS):
        nxt = coefficients_from_records(list(train), coef)
        if nxt.as_json() == coef.as_json():
            return nxt
        coef = nxt
    raise RuntimeError(f"the fit did not reach a fixed point in {MAX_FIXED_POINT_STEPS} steps")


def folds(recs: Sequence[dict[str, Any]]) -> list[Fold]:
    """One :class:`Fold` per group, sorted by group; a fold never fits a record of its own group."""
    out = []
    for g in sorted({group_of(r) for r in recs}):
        train = [r for r in recs if group_of(r) != g]
        if not train:
            raise ValueError(f"group {g!r} holds every record: nothing is left to fit")
        out.append(Fold(g, tuple(record_key(r) for r in train), fold_coefficients(train)))
    return out


def _predicted(rec: dict[str, Any], coefficients: Coefficients) -> dict[str, float]:
    p = predict(DesignSpec.from_record(rec), rec["target"], coefficients).result
    return {name: float(p[pk]) for name, pk, _ in QUANTITIES}


def _errors(pred: Mapping[str, float], rec: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for name, _, mk in QUANTITIES:
        e = rel_error(pred[name], float(rec["measured"][mk]))
        if e is None:
            raise ValueError(f"{record_key(rec)}: measured {mk} is 0")
        out[name] = round(e, 4)
    return out


def _summary(rows: Sequence[Mapping[str, Any]], which: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, _, _ in QUANTITIES:
        errs = [abs(r[which]["errors"][name]) for r in rows]
        out[name] = {"max": round(max(errs), 4), "mean": round(statistics.fmean(errs), 4)}
    for name, goal in GOALS.items():
        out[name]["beyond_goal"] = sum(1 for r in rows if abs(r[which]["errors"][name]) > goal)
    return out


def cross_validate(recs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The validation document: per record the in-sample and held-out predictions and errors, per target and
    over all records the max and mean |error| of LUT4s, FFs and Fmax and the count beyond :data:`GOALS`."""
    if not recs:
        raise ValueError("no records to validate (run `make synth` first)")
    full = fold_coefficients(list(recs))  # the fixed point calibrate --write writes
    fs = {f.group: f for f in folds(recs)}
    rows: list[dict[str, Any]] = []
    for rec in recs:
        fold = fs[group_of(rec)]
        assert record_key(rec) not in fold.fitted  # the point of the exercise
        rows.append({
            "target": rec["target"], "design_id": rec["design_id"], "group": fold.group,
            "fitted_records": len(fold.fitted),
            "measured": {name: float(rec["measured"][mk]) for name, _, mk in QUANTITIES},
            "in_sample": {"predicted": (p := _predicted(rec, full)), "errors": _errors(p, rec)},
            "held_out": {"predicted": (q := _predicted(rec, fold.coefficients)), "errors": _errors(q, rec)},
        })
    targets = sorted({r["target"] for r in rows})
    summary = {
        t: {w: _summary([r for r in rows if r["target"] == t], w) for w in ("in_sample", "held_out")}
        for t in targets
    }
    summary["all"] = {w: _summary(rows, w) for w in ("in_sample", "held_out")}
    tools = sorted({f"{r['tools'].get('yosys', '?')}; {r['tools'].get('nextpnr', '?')}" for r in recs})
    return {
        "about": "Leave-one-group-out validation of plasticore.estimate; written by "
                 "`python -m plasticore.flows.validate --write` from reports/synth. Do not edit by hand.",
        "grouping": "design kind, config tag, memory kind (arrays), update style; across all targets",
        "goals": dict(GOALS),
        "tools": tools,
        "groups": {f.group: sorted(k for k in (record_key(r) for r in recs) if k not in f.fitted)
                   for f in fs.values()},
        "fold_coefficients": {g: f.coefficients.as_json()["t_per_level_ns"] for g, f in sorted(fs.items())},
        "records": rows,
        "summary": summary,
    }


def _pct(e: float) -> str:
    return f"{100 * e:+.1f}%"


def validation_markdown(doc: Mapping[str, Any]) -> str:
    """``reports/predictor_validation.md`` from the :func:`cross_validate` document."""
    goals = doc["goals"]
    lines = [
        "# Predictor validation: in-sample vs held out",
        "",
        "Generated by `python -m plasticore.flows.validate --write` (`plasticore.flows.validate`) from the",
        "measured records `reports/synth/<target>/<design-id>.json`. Error = (predicted - measured) / measured;",
        "Fmax against the median over the placer seeds.",
        "",
        "- **In-sample**: predicted with the coefficients fitted on all records (`calibrate --write`, the",
        "  committed `estimate/coefficients.json`); the numbers `reports/resources.md` shows.",
        "- **Held out** (leave one group out): a record is predicted with the coefficients fitted",
        "  (`coefficients_from_records`, the same NNLS and delay-per-level fit) on the records of every *other*",
        "  group.",
        f"- Group = {doc['grouping']}. E.g. `o1_array-w8t6r4l3s2-inferred-pipe`",
        "  holds every pipelined W8 array in inferred RAM on every target: its other sizes and lane counts and",
        "  its twin on the other iCE40 are never in its own fit.",
        "- FF, RAM blocks and DSPs have no fitted coefficient (exact rules): held out = in-sample.",
        f"- Goals (issue #12): LUT4 within {100 * goals['luts']:g}% and Fmax within {100 * goals['fmax']:g}% on",
        "  every record, held out.",
        "",
        "Tools of the records: " + " / ".join(doc["tools"]),
        "",
        "## Summary (|error|)",
        "",
        "| target | data | LUT4 max | LUT4 mean | LUT4 > goal | FF max | FF mean | Fmax max | Fmax mean | "
        "Fmax > goal | records |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in [*sorted(k for k in doc["summary"] if k != "all"), "all"]:
        s = doc["summary"][t]
        n = len(doc["records"]) if t == "all" else sum(1 for r in doc["records"] if r["target"] == t)
        for w, label in (("in_sample", "in-sample"), ("held_out", "held out")):
            v = s[w]
            lines.append(
                f"| {t} | {label} | {100 * v['luts']['max']:.1f}% | {100 * v['luts']['mean']:.1f}% | "
                f"{v['luts']['beyond_goal']} | {100 * v['ffs']['max']:.1f}% | {100 * v['ffs']['mean']:.1f}% | "
                f"{100 * v['fmax']['max']:.1f}% | {100 * v['fmax']['mean']:.1f}% | {v['fmax']['beyond_goal']} | "
                f"{n} |"
            )
    held = doc["summary"]["all"]["held_out"]
    met = held["luts"]["beyond_goal"] == 0 and held["fmax"]["beyond_goal"] == 0
    lines += [
        "",
        f"Goals met on every record, held out: {'YES' if met else 'NO'} ({held['luts']['beyond_goal']} records "
        f"beyond {100 * goals['luts']:g}% LUT4, {held['fmax']['beyond_goal']} beyond {100 * goals['fmax']:g}% "
        "Fmax).",
        "",
        "## Per record",
        "",
        "| target | design | group | LUT4 meas | LUT4 err in | LUT4 err held out | FF err | Fmax meas MHz | "
        "Fmax err in | Fmax err held out |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in doc["records"]:
        i, h = r["in_sample"]["errors"], r["held_out"]["errors"]
        flag = lambda q, e: f"**{_pct(e)}**" if abs(e) > goals[q] else _pct(e)  # noqa: E731
        lines.append(
            f"| {r['target']} | {r['design_id']} | {r['group']} | {r['measured']['luts']:.0f} | {_pct(i['luts'])} | "
            f"{flag('luts', h['luts'])} | {_pct(i['ffs'])} | {r['measured']['fmax']:.1f} | {_pct(i['fmax'])} | "
            f"{flag('fmax', h['fmax'])} |"
        )
    lines += ["", "Bold: beyond the goal.", "", "## Groups (held out together)", ""]
    for g, keys in doc["groups"].items():
        lines.append(f"- `{g}` ({len(keys)} records): delay per level fitted without it "
                     + ", ".join(f"{t} {v:g} ns" for t, v in doc["fold_coefficients"][g].items()
                                 if t != "generic"))
    lines.append("")
    return "\n".join(lines)


def write(reports: Path, doc: Mapping[str, Any]) -> list[Path]:
    """Write ``predictor_validation.json`` and ``.md`` into ``reports``; returns the paths."""
    js, md = reports / "predictor_validation.json", reports / "predictor_validation.md"
    js.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    md.write_text(validation_markdown(doc))
    return [js, md]


def main(argv: list[str] | None = None) -> int:
    """``python -m plasticore.flows.validate [--reports DIR] [--write]``."""
    ap = argparse.ArgumentParser(prog="plasticore-validate", description=__doc__.splitlines()[0])
    add_reports_argument(ap)
    ap.add_argument("--write", action="store_true",
                    help="write predictor_validation.json and .md into --reports (default: print the summary)")
    args = ap.parse_args(argv)
    recs = required_records(ap, args.reports)
    doc = cross_validate(recs)
    if args.write:
        for p in write(args.reports, doc):
            print(f"wrote {p}", file=sys.stderr)
    else:
        print(json.dumps(doc["summary"], indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

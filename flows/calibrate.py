"""``python -m plasticore.flows.calibrate``: fit the predictor's coefficients to the measured records.

Reads the records in ``<reports>/synth/<target>/*.json`` and fits, per family, the LUT4 coefficients of
:mod:`plasticore.estimate` (:data:`~plasticore.estimate.coefficients.LUT_FEATURES`) by non-negative least
squares on the relative error, and per target the delay per logic level ``t`` of ``period = fixed + t * levels``
(the fixed part, clock-to-out plus setup or a hard block's delay as nextpnr reports it, is not fitted; the
binding path is the one :func:`~plasticore.estimate.timing.period_terms` picks at the current ``t``).
Every record's features come from :func:`plasticore.flows.designs.predict`, the same call ``make synth``
makes for the ``predicted`` part of a record.

:func:`coefficients_from_records` completes the fit into a full coefficients document: a coefficient whose
feature no record of a family exercises takes the iCE40 value, a target without records keeps its current
delay. Without ``--write`` the document is printed; with ``--write`` it replaces
``plasticore/estimate/coefficients.json`` (or ``--out``), which a prediction reads (never the records).

:func:`plasticore.flows.report.judge_board_record` holds the closed-loop core's prediction against one record
of ``reports/board``; those records are judged only, never fitted here.

No EDA tools needed; needs numpy and scipy (``nnls``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from plasticore.estimate.coefficients import FALLBACK_FAMILY, LUT_FEATURES, Coefficients, default_path, dump
from plasticore.estimate.devices import COEFFICIENTS, DEVICES

from .designs import DesignSpec, predict
from .report import load_records


def features(rec: dict[str, Any]) -> tuple[tuple[float, ...], tuple[float, float]]:
    """LUT features (:func:`plasticore.estimate.predict.lut_features`) of one record and its binding critical
    path ``(fixed ns, levels)`` at the current delay per level (:func:`plasticore.flows.designs.predict`)."""
    bd = predict(DesignSpec.from_record(rec), rec["target"])
    return bd.features, bd.binding


def fit(recs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Fitted values only: ``{family: {LUT coefficient: value}}`` (a feature absent from every record of the
    family gets no value) and ``{target: {"t_per_level_ns": value}}``, rounded to 3 decimals."""
    from scipy.optimize import nnls

    out: dict[str, dict[str, float]] = {}
    for family in sorted({DEVICES[r["target"]].family for r in recs}):
        rs = [r for r in recs if DEVICES[r["target"]].family == family]
        x = np.array([features(r)[0] for r in rs])
        y = np.array([float(r["measured"]["luts"]) for r in rs])
        used = np.any(x != 0, axis=0)
        coef, _ = nnls(x[:, used] / y[:, None], np.ones(len(y)))
        names = [n for n, u in zip(LUT_FEATURES, used, strict=True) if u]
        out[family] = {n: round(float(c), 3) for n, c in zip(names, coef, strict=True)}
    for target in sorted({r["target"] for r in recs}):
        rs = [r for r in recs if r["target"] == target]
        # the fixed part (t0, or a hard block's delay) stays fixed; only the delay per level is fitted
        paths = [features(r)[1] for r in rs]
        d = np.array([[lv] for _, lv in paths])
        period = np.array([1e3 / r["measured"]["fmax_median_mhz"] - f for r, (f, _) in zip(rs, paths, strict=True)])
        t = np.linalg.lstsq(d, period, rcond=None)[0][0]
        out[target] = {"t_per_level_ns": round(float(t), 3)}
    return out


def coefficients_from_records(recs: list[dict[str, Any]], current: Coefficients = COEFFICIENTS) -> Coefficients:
    """The complete coefficients document fitted to ``recs`` (see the module docstring for the fallbacks)."""
    fitted = fit(recs)
    families = sorted({DEVICES[r["target"]].family for r in recs} | set(current.lut))
    lut: dict[str, dict[str, float]] = {}
    for fam in sorted(families, key=lambda f: f != FALLBACK_FAMILY):  # the fallback family first
        own = fitted.get(fam, {})
        base = lut.get(FALLBACK_FAMILY, {}) if fam != FALLBACK_FAMILY else {}
        lut[fam] = {n: own.get(n, base.get(n, current.lut.get(fam, {}).get(n, 0.0))) for n in LUT_FEATURES}
    t_per_level = dict(current.t_per_level_ns)
    records: dict[str, int] = {}
    for target in DEVICES:
        if target in fitted:
            t_per_level[target] = fitted[target]["t_per_level_ns"]
            records[target] = sum(1 for r in recs if r["target"] == target)
    return Coefficients({f: lut[f] for f in sorted(lut)}, t_per_level, records)


def main(argv: list[str] | None = None) -> int:
    """``python -m plasticore.flows.calibrate [--reports DIR] [--write [--out FILE]]``."""
    ap = argparse.ArgumentParser(prog="plasticore-calibrate", description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=Path, default=Path("reports"),
                    help="folder holding synth/<target>/*.json, relative to the working directory")
    ap.add_argument("--write", action="store_true", help="write the coefficients file (default: print it)")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"file to write with --write (default: the package's {default_path().name})")
    args = ap.parse_args(argv)
    recs = load_records(args.reports)
    if not recs:
        ap.error(f"no records under {args.reports / 'synth'}: run `make synth` first")
    coefficients = coefficients_from_records(recs)
    if args.write:
        out = args.out if args.out is not None else default_path()
        dump(coefficients, out)
        print(f"wrote {out}", file=sys.stderr)
    else:
        print(json.dumps(coefficients.as_json(), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

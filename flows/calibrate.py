"""``python -m plasticore.flows.calibrate``: fit the predictor's coefficients to the measured records.

Reads the records in ``<reports>/synth/<target>/*.json`` and fits, per family, the LUT4 coefficients of
:mod:`plasticore.estimate` (:data:`~plasticore.estimate.coefficients.LUT_FEATURES`) by non-negative least
squares on the relative error, and per target the five delays of
``period = fixed + t_level * L + t_carry * C + t_row * P + t_dsp * D + t_array * A`` (:mod:`plasticore.estimate.timing`;
NNLS on the relative period error; the fixed part, clock-to-out plus setup or a hard block's delay as nextpnr
reports it, is not fitted; the binding path is the one :func:`~plasticore.estimate.timing.period_paths`
picks at the current delays, iterated to a fixed point by :func:`fixed_point_coefficients`).
Every record's features come from :func:`plasticore.flows.designs.predict`, the same call ``make synth``
makes for the ``predicted`` part of a record.

:func:`coefficients_from_records` completes the fit into a full coefficients document: a coefficient whose
feature no record of a family exercises takes the iCE40 value, a delay no record of a target exercises takes
the depth model's value (:func:`~plasticore.estimate.coefficients.derived_timing`), a target without records
keeps its current delays. Without ``--write`` the document is printed; with ``--write`` it replaces
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

from plasticore.estimate.coefficients import (
    FALLBACK_FAMILY,
    LUT_FEATURES,
    TIMING_FEATURES,
    Coefficients,
    default_path,
    derived_timing,
    dump,
)
from plasticore.estimate.devices import COEFFICIENTS, DEVICES
from plasticore.estimate.timing import Path as TimingPath

from .designs import DesignSpec, predict
from .report import add_reports_argument, required_records

MAX_FIXED_POINT_STEPS = 20


def features(rec: dict[str, Any], coefficients: Coefficients | None = None) -> tuple[tuple[float, ...], TimingPath]:
    """LUT features (:func:`plasticore.estimate.predict.lut_features`) of one record and its binding critical
    path ``(fixed ns, (L, C, P, D, A))`` (:func:`~plasticore.estimate.timing.period_paths`) at the delays of
    ``coefficients`` (default: the package's current ones; :func:`plasticore.flows.designs.predict`). The LUT
    features do not depend on the coefficients."""
    bd = predict(DesignSpec.from_record(rec), rec["target"], coefficients)
    return bd.features, bd.binding


def fit(recs: list[dict[str, Any]], current: Coefficients | None = None) -> dict[str, dict[str, float]]:
    """Fitted values only: ``{family: {LUT coefficient: value}}`` (a feature absent from every record of the
    family gets no value, LUT coefficients rounded to 3 decimals) and ``{target: {delay: value}}``
    (:data:`~plasticore.estimate.coefficients.TIMING_FEATURES` that the target's records exercise, 4 decimals).

    LUTs: ``min || X c / y - 1 ||`` over ``c >= 0`` (rows: the family's records, ``X`` their features, ``y``
    the measured LUT4s). Fmax: ``min || (fixed + Z t) / p - 1 ||`` over ``t >= 0`` (rows: the target's
    records, ``p = 1000 / fmax_median`` the measured period, ``(fixed, Z)`` the path that binds at
    ``current``'s delays, default the package's)."""
    from scipy.optimize import nnls

    out: dict[str, dict[str, float]] = {}
    for family in sorted({DEVICES[r["target"]].family for r in recs}):
        rs = [r for r in recs if DEVICES[r["target"]].family == family]
        x = np.array([features(r, current)[0] for r in rs])
        y = np.array([float(r["measured"]["luts"]) for r in rs])
        used = np.any(x != 0, axis=0)
        coef, _ = nnls(x[:, used] / y[:, None], np.ones(len(y)))
        names = [n for n, u in zip(LUT_FEATURES, used, strict=True) if u]
        out[family] = {n: round(float(c), 3) for n, c in zip(names, coef, strict=True)}
    for target in sorted({r["target"] for r in recs}):
        rs = [r for r in recs if r["target"] == target]
        # the fixed part (t0, or a hard block's delay) stays fixed; the delays per unit are fitted
        paths = [features(r, current)[1] for r in rs]
        period = np.array([1e3 / r["measured"]["fmax_median_mhz"] for r in rs])
        fixed = np.array([f for f, _ in paths])
        x = np.array([counts for _, counts in paths])
        used = np.any(x != 0, axis=0)
        t, _ = nnls(x[:, used] / period[:, None], (period - fixed) / period)
        names = [n for n, u in zip(TIMING_FEATURES, used, strict=True) if u]
        out[target] = {n: round(float(v), 4) for n, v in zip(names, t, strict=True)}
    return out


def coefficients_from_records(recs: list[dict[str, Any]], current: Coefficients = COEFFICIENTS) -> Coefficients:
    """The complete coefficients document fitted to ``recs`` (see the module docstring for the fallbacks);
    ``current`` also chooses each record's binding path (:func:`fit`)."""
    fitted = fit(recs, current)
    families = sorted({DEVICES[r["target"]].family for r in recs} | set(current.lut))
    lut: dict[str, dict[str, float]] = {}
    for fam in sorted(families, key=lambda f: f != FALLBACK_FAMILY):  # the fallback family first
        own = fitted.get(fam, {})
        base = lut.get(FALLBACK_FAMILY, {}) if fam != FALLBACK_FAMILY else {}
        lut[fam] = {n: own.get(n, base.get(n, current.lut.get(fam, {}).get(n, 0.0))) for n in LUT_FEATURES}
    t_per_level = dict(current.t_per_level_ns)
    timing = {t: dict(zip(TIMING_FEATURES[1:], current.timing_of(t)[1:], strict=True)) for t in t_per_level}
    records: dict[str, int] = {}
    for target in DEVICES:
        if target in fitted:
            if "t_per_level_ns" not in fitted[target] or fitted[target]["t_per_level_ns"] <= 0:
                raise ValueError(f"{target}: the fit gave no positive delay per LUT level ({fitted[target]})")
            t_per_level[target] = fitted[target]["t_per_level_ns"]
            derived = derived_timing(t_per_level[target])
            timing[target] = {n: fitted[target].get(n, round(derived[n], 4)) for n in TIMING_FEATURES[1:]}
            records[target] = sum(1 for r in recs if r["target"] == target)
    return Coefficients({f: lut[f] for f in sorted(lut)}, t_per_level, records, timing)


def fixed_point_coefficients(recs: list[dict[str, Any]], current: Coefficients = COEFFICIENTS) -> Coefficients:
    """:func:`coefficients_from_records` refitted with each record's binding path chosen at the previous fit's
    delays, from ``current`` until the document no longer changes: what ``--write`` writes, so that a refit
    at the written coefficients reproduces them."""
    coef = coefficients_from_records(recs, current)
    for _ in range(MAX_FIXED_POINT_STEPS):
        nxt = coefficients_from_records(recs, coef)
        if nxt.as_json() == coef.as_json():
            return nxt
        coef = nxt
    raise RuntimeError(f"the fit did not reach a fixed point in {MAX_FIXED_POINT_STEPS} steps")


def main(argv: list[str] | None = None) -> int:
    """``python -m plasticore.flows.calibrate [--reports DIR] [--write [--out FILE]]``."""
    ap = argparse.ArgumentParser(prog="plasticore-calibrate", description=__doc__.splitlines()[0])
    add_reports_argument(ap)
    ap.add_argument("--write", action="store_true", help="write the coefficients file (default: print it)")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"file to write with --write (default: the package's {default_path().name})")
    args = ap.parse_args(argv)
    recs = required_records(ap, args.reports)
    coefficients = fixed_point_coefficients(recs)
    if args.write:
        out = args.out if args.out is not None else default_path()
        dump(coefficients, out)
        print(f"wrote {out}", file=sys.stderr)
    else:
        print(json.dumps(coefficients.as_json(), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

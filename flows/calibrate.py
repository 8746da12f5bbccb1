"""``python -m plasticore.flows.calibrate``: least-squares fit of the predictor's coefficients.

Reads the measured records in ``reports/synth/<target>/*.json`` and fits, per family, the LUT4 coefficients
of :mod:`plasticore.hw.resources` (:data:`~plasticore.hw.resources.LUT_FEATURES`) and,
per target, the delay per logic level ``t_per_level_ns`` of ``period = t0 + t * depth`` (``t0``, the
clock-to-out plus setup time nextpnr reports, is fixed; where a hard-block path binds instead,
:func:`~plasticore.hw.resources.period_terms`, its fixed delay and its levels are used). It only prints
the fit: the coefficients are copied into ``hw/resources.py`` by hand, so a prediction never reads
measurements at run time.

No EDA tools needed; needs numpy and scipy (``nnls``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from plasticore.hw.resources import (
    DEVICES,
    LUT_FEATURES,
    dsps_per_product,
    lut_features,
    memory_overhead,
    period_terms,
    ram_blocks,
    rtl_counts,
)
from plasticore.refmodel.online_o1 import OnlineO1Config

from .report import load_records

REPO = Path(__file__).resolve().parent.parent


def features(rec: dict[str, Any]) -> tuple[tuple[float, ...], tuple[float, float]]:
    """LUT features (:func:`plasticore.hw.resources.lut_features`) of one record and its binding critical
    path ``(fixed ns, levels)`` (:func:`plasticore.hw.resources.period_terms`, at the current delay per level)."""
    cfg = OnlineO1Config(**rec["config"])
    mem = rec.get("memory") or "inferred"
    pipe = bool(rec.get("pipelined_update", False))
    c = rtl_counts(cfg, rec["design"], rec["n_pre"], rec["n_post"], rec["lanes"], mem, pipe)
    dsp = dsps_per_product(cfg, rec["target"]) > 0
    dev = DEVICES[rec["target"]]
    mem_luts = memory_overhead(dev, c)[1]
    ram = ram_blocks(dev, c)
    block_ram = any(ram.get(k, 0) > 0 for k in ("ebr", "dp16kd", "spram"))
    terms = period_terms(cfg, rec["target"], pipe, block_ram, rec["design"])
    binding = max(terms, key=lambda ft: ft[0] + dev.t_per_level_ns * ft[1])
    return lut_features(c, rec["design"], dsp, mem_luts), binding


def fit(recs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Fitted coefficients: ``{family: {LUT coefficient: value}}`` (non-negative least squares on the
    relative error; a feature absent from every record gets no value) and ``{target: {t_per_level_ns}}``."""
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=Path, default=REPO / "reports")
    args = ap.parse_args(argv)
    recs = load_records(args.reports)
    if not recs:
        raise SystemExit(f"no records under {args.reports / 'synth'}: run `make synth` first")
    print(json.dumps(fit(recs), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

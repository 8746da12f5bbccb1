"""The fitted coefficients of the predictor, stored in ``coefficients.json`` beside this module.

The file is package data written by ``python -m plasticore.flows.calibrate --write`` (non-negative least
squares over the measured records in ``reports/synth``); a prediction reads the file, never the
measurements. Layout::

    {"lut": {family: {coefficient: LUT4s per unit of its feature}},   # LUT_FEATURES, every family
     "t_per_level_ns": {target: ns per LUT level, routing included},
     "timing": {target: {t_per_carry_bit_ns, t_per_product_row_ns, t_dsp_product_ns, t_array_route_ns}},
     "records": {target: number of records fitted}, "about": "..."}

LUT4 coefficients (per family, see :func:`plasticore.estimate.predict.lut_features`):

* ``lut_per_op_lane`` / ``lut_per_op``: per datapath bit-operation of the stand-alone lane / of the array;
* ``lut_per_product_bit``: per ``R x T`` product bit left in LUTs (no DSP);
* ``lut_per_control_bit``: per control bit (counters, multiplexers, decoders, memory side logic);
* ``lut_per_array_lane``: a constant per array lane;
* ``lut_per_pipe_lane_bit``: per logic bit of the pipelined lane (its carry-save product included).

Delays per target (:data:`TIMING_FEATURES`, the Fmax model of :mod:`plasticore.estimate.timing`): ns per LUT
level, per carry bit, per adder row of a product in LUTs, per combinational DSP product, and a fixed routing
delay of every array path. A ``timing`` entry missing from the document (or a delay no record of a target
exercises) takes the one-parameter depth model's value: ``t/4`` per carry bit, ``t`` per product row, ``4 t``
per DSP product, 0 for the array (``t`` = the target's delay per level).

A coefficient whose feature no record of a family exercises (the ECP5 maps every product to a DSP block)
takes the iCE40 value; the ``generic`` target uses the iCE40 coefficients and 1 ns per level.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

LUT_FEATURES: tuple[str, ...] = (
    "lut_per_op_lane", "lut_per_op", "lut_per_product_bit", "lut_per_control_bit", "lut_per_array_lane",
    "lut_per_pipe_lane_bit",
)
TIMING_FEATURES: tuple[str, ...] = (
    "t_per_level_ns", "t_per_carry_bit_ns", "t_per_product_row_ns", "t_dsp_product_ns", "t_array_route_ns",
)
FITTED_FAMILIES: tuple[str, ...] = ("ecp5", "ice40")
FALLBACK_FAMILY = "ice40"  # where a family lacks a coefficient, and for the generic target
FILE_NAME = "coefficients.json"


@dataclasses.dataclass(frozen=True, slots=True)
class Coefficients:
    """LUT4 coefficients per family (every name of :data:`LUT_FEATURES`), the delay per LUT level per target
    and the target's other delays (``timing``: :data:`TIMING_FEATURES` but the first; see :func:`derived_timing`
    for what a missing one is)."""

    lut: Mapping[str, Mapping[str, float]]
    t_per_level_ns: Mapping[str, float]
    records: Mapping[str, int] = dataclasses.field(default_factory=dict)
    timing: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)

    def timing_of(self, target: str) -> tuple[float, ...]:
        """The delays of ``target`` in :data:`TIMING_FEATURES` order."""
        t = self.t_per_level_ns[target]
        own = {**derived_timing(t), **self.timing.get(target, {})}
        return (t, *(own[n] for n in TIMING_FEATURES[1:]))

    def lut_of(self, family: str) -> tuple[float, ...]:
        """The LUT4 coefficients of ``family`` in :data:`LUT_FEATURES` order (``generic``: the iCE40 ones)."""
        coef = self.lut[FALLBACK_FAMILY if family not in self.lut else family]
        return tuple(coef[n] for n in LUT_FEATURES)

    def as_json(self) -> dict[str, Any]:
        """The JSON document (sorted keys, plain dicts)."""
        return {
            "about": "Fitted coefficients of plasticore.estimate; written by "
                     "`python -m plasticore.flows.calibrate --write` from reports/synth. Do not edit by hand.",
            "lut": {f: {n: float(self.lut[f][n]) for n in LUT_FEATURES} for f in sorted(self.lut)},
            "t_per_level_ns": {t: float(v) for t, v in sorted(self.t_per_level_ns.items())},
            "records": {t: int(v) for t, v in sorted(self.records.items())},
            "timing": {t: dict(zip(TIMING_FEATURES[1:], (float(v) for v in self.timing_of(t)[1:]), strict=True))
                       for t in sorted(self.t_per_level_ns)},
        }


def derived_timing(t_per_level_ns: float) -> dict[str, float]:
    """The one-parameter depth model's delays from the delay per level ``t``: a carry bit ``t/4``, a product row
    ``t``, a DSP product ``4 t`` (:data:`~plasticore.estimate.timing.DSP_LEVELS`), no array term."""
    t = t_per_level_ns
    return {"t_per_carry_bit_ns": t / 4, "t_per_product_row_ns": t, "t_dsp_product_ns": 4 * t,
            "t_array_route_ns": 0.0}


def check(doc: Mapping[str, Any], targets: tuple[str, ...]) -> Coefficients:
    """Validate a coefficients document: every fitted family has every coefficient (finite, >= 0) and every
    target a positive delay per level. Raises :class:`ValueError` naming what is missing or bad."""
    lut = doc.get("lut")
    if not isinstance(lut, Mapping):
        raise ValueError(f"coefficients: 'lut' must be a mapping of families, not {lut!r}")
    for fam in FITTED_FAMILIES:
        if fam not in lut:
            raise ValueError(f"coefficients: family {fam!r} missing from 'lut' (have {sorted(lut)})")
        for name in LUT_FEATURES:
            v = lut[fam].get(name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v < float("inf"):
                raise ValueError(f"coefficients: lut[{fam!r}][{name!r}] must be a finite number >= 0, not {v!r}")
    tpl = doc.get("t_per_level_ns")
    if not isinstance(tpl, Mapping):
        raise ValueError(f"coefficients: 't_per_level_ns' must be a mapping of targets, not {tpl!r}")
    for t in targets:
        v = tpl.get(t)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v < float("inf"):
            raise ValueError(f"coefficients: t_per_level_ns[{t!r}] must be a finite number > 0, not {v!r}")
    timing = doc.get("timing", {})
    if not isinstance(timing, Mapping):
        raise ValueError(f"coefficients: 'timing' must be a mapping of targets, not {timing!r}")
    for t, d in timing.items():
        if not isinstance(d, Mapping) or set(d) - set(TIMING_FEATURES[1:]):
            raise ValueError(f"coefficients: timing[{t!r}] must map some of {list(TIMING_FEATURES[1:])}, not {d!r}")
        for name, v in d.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v < float("inf"):
                raise ValueError(f"coefficients: timing[{t!r}][{name!r}] must be a finite number >= 0, not {v!r}")
    return Coefficients(
        MappingProxyType({f: MappingProxyType({n: float(lut[f][n]) for n in LUT_FEATURES}) for f in lut}),
        MappingProxyType({t: float(v) for t, v in tpl.items()}),
        MappingProxyType(dict(doc.get("records", {}))),
        MappingProxyType({t: MappingProxyType({n: float(v) for n, v in d.items()}) for t, d in timing.items()}),
    )


def default_path() -> Path:
    """Where the package's coefficients file is (inside the installed package)."""
    return Path(str(resources.files("plasticore.estimate").joinpath(FILE_NAME)))


def load(path: Path | None = None, targets: tuple[str, ...] = ()) -> Coefficients:
    """Read and validate a coefficients file (default: the package's own, :func:`default_path`)."""
    if path is None:
        text = resources.files("plasticore.estimate").joinpath(FILE_NAME).read_text()
    else:
        text = Path(path).read_text()
    return check(json.loads(text), targets)


def dump(coefficients: Coefficients, path: Path) -> None:
    """Write ``coefficients`` as the JSON document :func:`load` reads (deterministic: sorted, no dates)."""
    Path(path).write_text(json.dumps(coefficients.as_json(), indent=2, sort_keys=True) + "\n")


__all__ = ["FILE_NAME", "LUT_FEATURES", "TIMING_FEATURES", "Coefficients", "check", "default_path",
           "derived_timing", "dump", "load"]

"""The predictor judged out of sample (:mod:`plasticore.flows.validate`): the leave-one-group-out validation
recomputed from the committed records gives the committed ``reports/predictor_validation.json``, no fold
fits a record of its own group, and :data:`~plasticore.estimate.predict.STATED_ERRORS` states the held-out
errors the validation measures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("myhdl")
pytest.importorskip("scipy")

from plasticore.estimate.predict import STATED_ERRORS
from plasticore.flows import validate

REPORTS = Path(__file__).resolve().parent.parent / "reports"


@pytest.fixture(scope="module")
def run(records: list[dict[str, Any]]) -> tuple[dict[str, Any], list[set[str]]]:
    """The validation recomputed now, with a spy on every fit it makes (the record keys each fit was given)."""
    fits: list[set[str]] = []
    real = validate.coefficients_from_records

    def spy(recs: list[dict[str, Any]], *args: Any, **kw: Any) -> Any:
        fits.append({validate.record_key(r) for r in recs})
        return real(recs, *args, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(validate, "coefficients_from_records", spy)
        doc = validate.cross_validate(records)
    return json.loads(json.dumps(doc)), fits


def test_groups_keep_related_designs_together(records: list[dict[str, Any]]) -> None:
    lane = {"design": "o1_lane", "config": {"weight_bits": 8, "trace_bits": 6, "reward_bits": 4,
                                            "learning_shift": 3, "trace_decay_shift": 2},
            "n_pre": 1, "n_post": 1, "lanes": 1, "pipelined_update": True}
    assert validate.group_of(lane) == "o1_lane-w8t6r4l3s2-pipe"
    arr = {**lane, "design": "o1_array", "n_pre": 64, "n_post": 64, "lanes": 4, "memory": "inferred"}
    assert validate.group_of(arr) == "o1_array-w8t6r4l3s2-inferred-pipe"
    assert validate.group_of({**arr, "n_pre": 32, "n_post": 32, "lanes": 8}) == validate.group_of(arr)
    # the same design on the three targets is one group
    by_id: dict[str, set[str]] = {}
    for r in records:
        by_id.setdefault(r["design_id"], set()).add(validate.group_of(r))
    assert all(len(g) == 1 for g in by_id.values())
    assert len({validate.group_of(r) for r in records}) >= 10


def test_committed_validation_is_reproduced(run: tuple[dict[str, Any], list[set[str]]]) -> None:
    """``python -m plasticore.flows.validate --write`` on the committed records writes the committed file."""
    doc, _ = run
    committed = json.loads((REPORTS / "predictor_validation.json").read_text())
    assert doc["summary"] == committed["summary"]
    assert doc == committed
    assert (REPORTS / "predictor_validation.md").read_text() == validate.validation_markdown(committed)


def test_held_out_records_are_not_in_their_fit(records: list[dict[str, Any]],
                                               run: tuple[dict[str, Any], list[set[str]]]) -> None:
    """Every fit the validation made either saw every record (the in-sample fit) or left out exactly one
    whole group; every record's held-out prediction came from a fit that did not see it."""
    doc, fits = run
    keys = {validate.record_key(r) for r in records}
    group = {validate.record_key(r): validate.group_of(r) for r in records}
    assert keys in fits  # the in-sample fit
    left_out = {frozenset(keys - f) for f in fits if f != keys}
    assert {frozenset(v) for v in doc["groups"].values()} == left_out
    for missing in left_out:
        assert len({group[k] for k in missing}) == 1  # one whole group
        g = group[next(iter(missing))]
        assert missing == {k for k in keys if group[k] == g}
    for row in doc["records"]:
        k = f"{row['target']}/{row['design_id']}"
        held = doc["groups"][row["group"]]
        assert k in held and row["fitted_records"] == len(keys) - len(held)


def test_held_out_fit_differs_from_the_full_fit(records: list[dict[str, Any]]) -> None:
    """Leaving a group out changes the fit (so the exclusion is observable), and the fold's coefficients are
    what the calibrate fit gives on the other records."""
    g = "o1_array-w8t6r4l3s2-inferred-pipe"
    train = [r for r in records if validate.group_of(r) != g]
    assert len(train) < len(records)
    fold = validate.fold_coefficients(train)
    full = validate.fold_coefficients(records)
    assert fold.as_json() != full.as_json()
    assert validate.coefficients_from_records(train, fold).as_json() == fold.as_json()  # its fixed point


def _ceil_half_pct(x: float) -> float:
    return math.ceil(round(x * 200, 6)) / 200


def test_stated_errors_match_the_validation(run: tuple[dict[str, Any], list[set[str]]]) -> None:
    """STATED_ERRORS["held_out"] is the validation's held-out max and mean |error| per target rounded up to
    0.5 %, and the FF bound covers every record."""
    doc, _ = run
    stated = STATED_ERRORS["held_out"]
    targets = {r["target"] for r in doc["records"]}
    assert set(stated) == {"luts", "fmax"}
    for q in ("luts", "fmax"):
        assert set(stated[q]) == targets
        for t in targets:
            got = doc["summary"][t]["held_out"][q]
            for stat in ("max", "mean"):
                assert stated[q][t][stat] == pytest.approx(_ceil_half_pct(got[stat])), (q, t, stat, got[stat])
    assert doc["summary"]["all"]["held_out"]["ffs"]["max"] <= STATED_ERRORS["ffs"]


def test_report_says_whether_the_goals_are_met(run: tuple[dict[str, Any], list[set[str]]]) -> None:
    doc, _ = run
    md = validate.validation_markdown(doc)
    held = doc["summary"]["all"]["held_out"]
    met = held["luts"]["beyond_goal"] == 0 and held["fmax"]["beyond_goal"] == 0
    assert f"Goals met on every record, held out: {'YES' if met else 'NO'}" in md
    beyond = sum(1 for r in doc["records"] if abs(r["held_out"]["errors"]["luts"]) > validate.GOALS["luts"])
    assert beyond == held["luts"]["beyond_goal"]

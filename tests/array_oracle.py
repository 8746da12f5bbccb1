"""Comparison of a whole array state read back from hardware with ``OnlineO1Layer`` (the oracle).

Shared by the MyHDL-simulation test (``tests/test_array_myhdl.py``) and the cocotb testbench
(``tests/cocotb/o1_array_tb.py``; ``tests/`` is on the simulator's PYTHONPATH).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from plasticore.refmodel.online_o1 import OnlineO1Config, OnlineO1Layer


def new_limit_counts() -> dict[str, int]:
    """Counters of how often weights and eligibilities sat at each of their limits."""
    return {"w_lo": 0, "w_hi": 0, "e_lo": 0, "e_hi": 0}


def check_array_state(got: dict[str, Any], model: OnlineO1Layer, config: OnlineO1Config,
                      limits: dict[str, int], where: str) -> None:
    """Assert ``got`` (keys w, e, pre, post) equals the model's state exactly; count limits reached."""
    for key, want in (("w", model.weights), ("e", model.eligibility), ("pre", model.pre_traces),
                      ("post", model.post_traces)):
        if not np.array_equal(got[key], want):
            bad = np.argwhere(got[key] != want)[:5].tolist()
            raise AssertionError(f"{where}: {key} differs at {bad}\nhw=\n{got[key]}\nmodel=\n{want}")
    w, e = model.weights, model.eligibility
    limits["w_lo"] += int((w == 0).sum())
    limits["w_hi"] += int((w == config.max_weight).sum())
    limits["e_lo"] += int((e == config.eligibility_min).sum())
    limits["e_hi"] += int((e == config.eligibility_max).sum())

"""Comparison of a whole array state read back from hardware with ``OnlineO1Layer`` (the oracle), and the
stimulus pieces both array testbenches use (the driven host inputs, per-post rewards, the seeded model).

The hardware is addressed ``row = pre``, ``col = post``, so the state read back from it is ``(n_pre, n_post)``;
``OnlineO1Layer`` keeps the library convention ``(n_post, n_pre)``. The transposes live here, in one place.

Shared by the MyHDL-simulation test (``tests/test_array_myhdl.py``) and the cocotb testbench
(``tests/cocotb/o1_array_tb.py``; ``tests/`` is on the simulator's PYTHONPATH).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plasticore.refmodel.online_o1 import OnlineO1Config, OnlineO1Layer

# the host inputs a testbench drives (every edge, 0 unless given)
DRIVEN = ("start", "row", "col", "wr_syn", "wr_pre_trace", "wr_post_trace", "wr_pre_spike", "wr_post_spike",
          "wr_weight", "wr_elig", "wr_trace", "wr_spike", "wr_reward")


def rewards_for(rng: np.random.Generator, c: OnlineO1Config, n_post: int, mode: str) -> np.ndarray:
    """Per-post rewards: ``uniform`` over the range, ``extreme`` mostly the two limits, ``scalar`` all equal."""
    if mode == "uniform":
        return rng.integers(c.reward_min, c.reward_max + 1, size=n_post)
    if mode == "scalar":
        return np.full(n_post, int(rng.integers(c.reward_min, c.reward_max + 1)))
    ends = rng.choice([c.reward_min, c.reward_max, 0], size=n_post, p=[0.4, 0.45, 0.15])
    mixed = rng.integers(c.reward_min, c.reward_max + 1, size=n_post)
    return np.where(rng.random(n_post) < 0.8, ends, mixed)


def seeded_layer(rng: np.random.Generator, c: OnlineO1Config, n_pre: int, n_post: int, lanes: int = 1,
                 ) -> tuple[OnlineO1Layer, dict[str, np.ndarray]]:
    """A model with random weights, eligibility and traces, and the same state in the hardware's layout.

    The state is loaded with ``OnlineO1Layer.load_state_dict`` (not by writing into its buffers); the returned
    dict has ``weight`` and ``eligibility`` ``(n_pre, n_post)`` (indexed ``[row, col]``) for the host port.
    """
    hw = {"weight": rng.integers(0, c.max_weight + 1, size=(n_pre, n_post)),
          "eligibility": rng.integers(c.eligibility_min, c.eligibility_max + 1, size=(n_pre, n_post)),
          "pre_trace": rng.integers(0, c.max_trace + 1, size=n_pre),
          "post_trace": rng.integers(0, c.max_trace + 1, size=n_post)}
    model = OnlineO1Layer(c, n_pre, n_post, lanes=lanes)  # lanes: the stochastic rounding's LFSRs
    lfsr = {"lfsr_state": model.lfsr_state} if c.rounding == "stochastic" else {}
    model.load_state_dict({"config": c.as_dict(), "weight": hw["weight"].T, "eligibility": hw["eligibility"].T,
                           "pre_trace": hw["pre_trace"], "post_trace": hw["post_trace"], **lfsr})
    return model, hw


def new_limit_counts() -> dict[str, int]:
    """Counters of how often weights and eligibilities sat at each of their limits."""
    return {"w_lo": 0, "w_hi": 0, "e_lo": 0, "e_hi": 0}


def check_array_state(got: dict[str, Any], model: OnlineO1Layer, config: OnlineO1Config,
                      limits: dict[str, int], where: str) -> None:
    """Assert ``got`` (keys w, e, pre, post; ``w``, ``e`` as ``(n_pre, n_post)``) equals the model's state
    exactly; count limits reached."""
    for key, want in (("w", model.weights.T), ("e", model.eligibility.T), ("pre", model.pre_traces),
                      ("post", model.post_traces)):
        if not np.array_equal(got[key], want):
            bad = np.argwhere(got[key] != want)[:5].tolist()
            raise AssertionError(f"{where}: {key} differs at {bad}\nhw=\n{got[key]}\nmodel=\n{want}")
    w, e = model.weights, model.eligibility
    limits["w_lo"] += int((w == 0).sum())
    limits["w_hi"] += int((w == config.max_weight).sum())
    limits["e_lo"] += int((e == config.eligibility_min).sum())
    limits["e_hi"] += int((e == config.eligibility_max).sum())

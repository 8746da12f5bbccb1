"""Schedulers: closed forms by hand, PyTorch's schedulers as an independent oracle, state handling, errors."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from plasticore.refmodel.schedulers import (
    CosineScheduler,
    ExponentialScheduler,
    Scheduler,
    StepScheduler,
    WarmupCosineScheduler,
)


def run(sched: Scheduler, n: int) -> list[float]:
    return [sched.step() for _ in range(n)]


# --------------------------------------------------------------------------- hand-derived values


def test_step_scheduler_hand_values() -> None:
    # lr_t = 0.1 * 0.5 ** (t // 3)
    assert run(StepScheduler(0.1, step_size=3, gamma=0.5), 8) == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], rel=1e-15
    )


def test_step_scheduler_default_gamma_is_0_1() -> None:
    assert run(StepScheduler(1.0, step_size=2), 5) == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01], rel=1e-15)


def test_exponential_scheduler_hand_values() -> None:
    assert run(ExponentialScheduler(2.0, gamma=0.5), 5) == pytest.approx([2.0, 1.0, 0.5, 0.25, 0.125], rel=0)
    # default gamma 0.999: lr_1000 = 0.999 ** 1000 = exp(1000 ln 0.999)
    sched = ExponentialScheduler(1.0)
    assert run(sched, 1001)[-1] == pytest.approx(math.exp(1000 * math.log(0.999)), rel=1e-12)


def test_cosine_scheduler_hand_values_and_hold() -> None:
    # T = 4: cos(pi t / 4) = 1, 1/sqrt2, 0, -1/sqrt2, -1; lr = 0.1 + 0.5 * 0.9 * (1 + cos)
    h = 1 / math.sqrt(2)
    expected = [1.0, 0.1 + 0.45 * (1 + h), 0.55, 0.1 + 0.45 * (1 - h), 0.1, 0.1, 0.1]
    assert run(CosineScheduler(1.0, 0.1, total_steps=4), 7) == pytest.approx(expected, rel=1e-14)


def test_warmup_cosine_hand_values() -> None:
    # W = 4: 0.25, 0.5, 0.75, 1.0; then cosine over T - W = 2 steps: 1.0, 0.5*(1+cos(pi/2)) = 0.5, 0.0, held.
    got = run(WarmupCosineScheduler(1.0, 0.0, warmup_steps=4, total_steps=6), 9)
    assert got == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.0, 0.0, 0.0], rel=1e-15, abs=1e-16)


def test_warmup_zero_is_cosine() -> None:
    assert run(WarmupCosineScheduler(0.3, 0.01, 0, 50), 60) == run(CosineScheduler(0.3, 0.01, 50), 60)


def test_warmup_cosine_shape() -> None:
    lr_init, lr_min, w, t_total = 0.2, 0.002, 10, 100
    got = run(WarmupCosineScheduler(lr_init, lr_min, w, t_total), 120)
    assert got[0] == pytest.approx(lr_init / w, rel=1e-15)
    assert all(b > a for a, b in itertools.pairwise(got[:w]))  # strictly rising warmup
    assert got[w - 1] == got[w] == lr_init
    assert all(b < a for a, b in itertools.pairwise(got[w : t_total + 1]))  # strictly falling decay
    assert got[t_total:] == [lr_min] * 20
    assert max(got) == lr_init


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@example(lr_init=0.8559298311296601, frac=0.0, warmup=3, extra=1)  # lr_init * 3 / 3 > lr_init: found a bug
@example(lr_init=0.14721681070076767, frac=0.14721681070076767, warmup=0, extra=1)  # 1-ulp overshoot at t=0
@example(lr_init=3.0264493932445347, frac=0.328125, warmup=0, extra=1)  # 1-ulp undershoot at t=0
@given(
    lr_init=st.floats(1e-6, 10.0),
    frac=st.floats(0.0, 1.0),
    warmup=st.integers(0, 30),
    extra=st.integers(1, 60),
)
def test_warmup_cosine_bounded_monotone_property(
    lr_init: float, frac: float, warmup: int, extra: int
) -> None:
    lr_min = lr_init * frac
    got = run(WarmupCosineScheduler(lr_init, lr_min, warmup, warmup + extra), warmup + extra + 5)
    assert all(0.0 < x <= lr_init for x in got[:warmup])
    assert all(lr_min <= x <= lr_init for x in got[warmup:])
    assert got[warmup] == lr_init  # the peak is exact
    assert got[-1] == lr_min
    assert all(b >= a for a, b in itertools.pairwise(got[:warmup]))  # rounding never breaks monotonicity
    assert all(b <= a for a, b in itertools.pairwise(got[warmup:]))


# --------------------------------------------------------------------------- PyTorch as oracle


def torch_sequence(make: Callable[..., object], lr: float, n: int) -> list[float]:
    """The lr PyTorch uses for steps 0..n-1: the optimizer's lr before each ``scheduler.step()``."""
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=lr)
    sched = make(opt)
    out = []
    for _ in range(n):
        out.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        sched.step()  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize(("step_size", "gamma"), [(1, 0.9), (7, 0.5), (30, 0.1), (4, 1.0)])
def test_step_matches_torch_steplr(step_size: int, gamma: float) -> None:
    s = pytest.importorskip("torch.optim.lr_scheduler")
    ref = torch_sequence(lambda o: s.StepLR(o, step_size=step_size, gamma=gamma), 0.05, 300)
    assert run(StepScheduler(0.05, step_size, gamma), 300) == pytest.approx(ref, rel=1e-12, abs=0)


@pytest.mark.parametrize("gamma", [0.999, 0.97, 0.5])
def test_exponential_matches_torch_exponentiallr(gamma: float) -> None:
    s = pytest.importorskip("torch.optim.lr_scheduler")
    ref = torch_sequence(lambda o: s.ExponentialLR(o, gamma=gamma), 0.1, 1000)
    assert run(ExponentialScheduler(0.1, gamma), 1000) == pytest.approx(ref, rel=1e-12, abs=0)


@pytest.mark.parametrize(("lr_min", "total"), [(0.0, 1), (0.0, 100), (1e-4, 37), (0.05, 500)])
def test_cosine_matches_torch_cosineannealinglr(lr_min: float, total: int) -> None:
    s = pytest.importorskip("torch.optim.lr_scheduler")
    ref = torch_sequence(lambda o: s.CosineAnnealingLR(o, T_max=total, eta_min=lr_min), 0.1, total + 1)
    # torch's recursion lands near, not exactly on, eta_min = 0 at T_max: compare with an absolute floor
    assert run(CosineScheduler(0.1, lr_min, total), total + 1) == pytest.approx(ref, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("warmup", "total"), [(2, 10), (10, 100), (25, 26)])
def test_warmup_cosine_matches_torch_sequential(warmup: int, total: int) -> None:
    s = pytest.importorskip("torch.optim.lr_scheduler")

    def make(o: object) -> object:
        linear = s.LinearLR(o, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1)
        cosine = s.CosineAnnealingLR(o, T_max=total - warmup, eta_min=1e-3)
        return s.SequentialLR(o, [linear, cosine], milestones=[warmup])

    ref = torch_sequence(make, 0.1, total + 1)
    assert run(WarmupCosineScheduler(0.1, 1e-3, warmup, total), total + 1) == pytest.approx(ref, rel=1e-12)


# --------------------------------------------------------------------------- state


ALL: list[Callable[[], Scheduler]] = [
    lambda: StepScheduler(0.1, 5, 0.5),
    lambda: ExponentialScheduler(0.1, 0.9),
    lambda: CosineScheduler(0.1, 0.001, 20),
    lambda: WarmupCosineScheduler(0.1, 0.001, 5, 20),
]


@pytest.mark.parametrize("make", ALL)
def test_reset_restores_start(make: Callable[[], Scheduler]) -> None:
    sched = make()
    first = run(sched, 25)
    assert sched.steps_taken == 25 and sched.last_lr == first[-1]
    sched.reset()
    assert sched.steps_taken == 0 and sched.last_lr is None
    assert run(sched, 25) == first


@pytest.mark.parametrize("make", ALL)
def test_state_dict_roundtrip_through_json(make: Callable[[], Scheduler]) -> None:
    full = run(make(), 30)
    sched = make()
    run(sched, 12)
    saved = json.loads(json.dumps(sched.state_dict()))
    resumed = make()
    resumed.load_state_dict(saved)
    assert resumed.steps_taken == 12 and resumed.last_lr == full[11]
    assert run(resumed, 18) == full[12:]
    assert run(sched, 18) == full[12:]  # the source is not disturbed by saving


@pytest.mark.parametrize("make", ALL)
def test_lr_at_is_pure(make: Callable[[], Scheduler]) -> None:
    sched = make()
    seq = [sched.lr_at(t) for t in range(30)]
    assert sched.steps_taken == 0
    assert run(sched, 30) == seq


def test_state_dict_contents() -> None:
    sched = WarmupCosineScheduler(0.1, 0.0, 3, 10)
    run(sched, 4)
    assert sched.state_dict() == {
        "scheduler": "WarmupCosineScheduler",
        "lr_init": 0.1,
        "lr_min": 0.0,
        "warmup_steps": 3,
        "total_steps": 10,
        "steps_taken": 4,
    }


def test_load_state_dict_rejects_other_schedule() -> None:
    state = CosineScheduler(0.1, 0.0, 10).state_dict()
    with pytest.raises(
        ValueError, match=r"^state_dict is for scheduler 'CosineScheduler', not 'StepScheduler'$"
    ):
        StepScheduler(0.1, 10).load_state_dict(state)
    with pytest.raises(
        ValueError, match=r"^state_dict has total_steps=10, but this CosineScheduler has total_steps=20$"
    ):
        CosineScheduler(0.1, 0.0, 20).load_state_dict(state)
    with pytest.raises(ValueError, match=r"^steps_taken must be an int >= 0, not -1$"):
        CosineScheduler(0.1, 0.0, 10).load_state_dict({**state, "steps_taken": -1})
    with pytest.raises(ValueError, match=r"^state_dict has no 'steps_taken'$"):
        CosineScheduler(0.1, 0.0, 10).load_state_dict({k: v for k, v in state.items() if k != "steps_taken"})


# --------------------------------------------------------------------------- invalid arguments


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: StepScheduler(0.1, 0), r"step_size must be an int >= 1, not 0"),
        (lambda: StepScheduler(-0.1, 3), r"lr_init must be a finite number > 0, not -0.1"),
        (lambda: StepScheduler(0.1, 3, gamma=1.5), r"gamma must be in \(0, 1\], not 1.5"),
        (lambda: StepScheduler(0.1, 3, gamma=0.0), r"gamma must be in \(0, 1\], not 0.0"),
        (lambda: ExponentialScheduler(0.0), r"lr_init must be a finite number > 0, not 0.0"),
        (lambda: ExponentialScheduler(0.1, gamma=-0.9), r"gamma must be in \(0, 1\], not -0.9"),
        (lambda: ExponentialScheduler(float("inf")), r"lr_init must be a finite number > 0, not inf"),
        (
            lambda: CosineScheduler(0.1, -0.01, 10),
            r"lr_min must be in \[0, lr_init\] = \[0, 0.1\], not -0.01",
        ),
        (lambda: CosineScheduler(0.1, 0.2, 10), r"lr_min must be in \[0, lr_init\] = \[0, 0.1\], not 0.2"),
        (lambda: CosineScheduler(0.1, 0.0, 0), r"total_steps must be an int >= 1, not 0"),
        (
            lambda: WarmupCosineScheduler(0.1, 0.0, 10, 10),
            r"total_steps must be an int > warmup_steps \(10\), not 10",
        ),
        (
            lambda: WarmupCosineScheduler(0.1, 0.0, 10, 5),
            r"total_steps must be an int > warmup_steps \(10\), not 5",
        ),
        (lambda: WarmupCosineScheduler(0.1, 0.0, -1, 5), r"warmup_steps must be an int >= 0, not -1"),
        (lambda: WarmupCosineScheduler(-1.0, 0.0, 1, 5), r"lr_init must be a finite number > 0, not -1.0"),
    ],
)
def test_invalid_arguments_raise_valueerror(make: Callable[[], Scheduler], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        make()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: StepScheduler(0.1, 2.5), r"step_size must be an int >= 1, not float 2.5"),  # type: ignore[arg-type]
        (lambda: StepScheduler(0.1, True), r"step_size must be an int >= 1, not bool True"),
        (lambda: CosineScheduler("0.1", 0.0, 5), r"lr_init must be a number > 0, not str '0.1'"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_raise_typeerror(make: Callable[[], Scheduler], message: str) -> None:
    with pytest.raises(TypeError, match=f"^{message}$"):
        make()


def test_load_state_dict_rejects_non_mapping() -> None:
    sched = StepScheduler(0.1, 10)
    with pytest.raises(TypeError, match=r"^state must be a mapping from state_dict\(\), not NoneType$"):
        sched.load_state_dict(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^state must be a mapping from state_dict\(\), not list$"):
        sched.load_state_dict([("steps_taken", 3)])  # type: ignore[arg-type]
    assert sched.steps_taken == 0

"""What the sweep synthesizes: :class:`DesignSpec` (design, config, size, lanes) and its HDL.

``o1_lane`` is one synapse in registers (:mod:`plasticore.hw.o1_lane`, or with ``pipelined`` the four-stage
:mod:`plasticore.hw.o1_lane_pipelined`); ``o1_array`` is a dense
``n_pre x n_post`` layer in block RAM with ``lanes`` parallel update lanes (``plasticore.hw.array_emitter``,
used only when that module exists). :func:`emit_design` writes the design's Verilog with the project's
emitters (a build product) and returns the file names and the top module name.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

from plasticore.estimate import Breakdown, breakdown
from plasticore.estimate.coefficients import Coefficients
from plasticore.hw.build import SMALL
from plasticore.hw.emitter import OnlineO1LearningEmitter
from plasticore.hw.vocabulary import DESIGNS, MEMORIES, choice
from plasticore.refmodel.online_o1 import OnlineO1Config

from .wrapper import Port

CONFIG_FIELDS: tuple[str, ...] = (
    "weight_bits", "trace_bits", "reward_bits", "learning_shift", "trace_decay_shift",
)
DEFAULT = OnlineO1Config()


def config_dict(config: OnlineO1Config) -> dict[str, int]:
    """The five numeric fields of an :class:`OnlineO1Config` (what a record stores)."""
    return {k: int(getattr(config, k)) for k in CONFIG_FIELDS}


def array_available() -> bool:
    """True when the array emitter (``plasticore.hw.array_emitter``) is importable."""
    return importlib.util.find_spec("plasticore.hw.array_emitter") is not None


@dataclasses.dataclass(frozen=True, slots=True)
class DesignSpec:
    """One design point of the sweep.

    ``memory`` is where the array keeps its synapse words: ``"inferred"`` (block RAM Yosys infers: EBR,
    DP16KD) or ``"spram"`` (UP5K ``SB_SPRAM256KA``); ignored for the lane. ``pipelined`` selects the array's
    five-stage update, or the lane's four-stage pipeline (:mod:`plasticore.hw.o1_lane_pipelined`).
    """

    design: str
    config: OnlineO1Config = DEFAULT
    n_pre: int = 1
    n_post: int = 1
    lanes: int = 1
    memory: str = "inferred"
    pipelined: bool = False

    def __post_init__(self) -> None:
        # plain strings from here on (an enum member is accepted and stored as its value)
        object.__setattr__(self, "memory", choice("memory", self.memory, MEMORIES))
        object.__setattr__(self, "design", choice("design", self.design, DESIGNS))
        for name in ("n_pre", "n_post", "lanes"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, not {v!r}")
        if not isinstance(self.pipelined, bool):
            raise TypeError(f"pipelined must be a bool, not {type(self.pipelined).__name__}")
        if self.design == "o1_lane" and (self.n_pre, self.n_post, self.lanes) != (1, 1, 1):
            raise ValueError(
                f"o1_lane is one synapse: n_pre, n_post, lanes must be 1, not "
                f"{(self.n_pre, self.n_post, self.lanes)}"
            )

    @property
    def design_id(self) -> str:
        """File-name-safe identifier, e.g. ``o1_lane-w16t12r8l4s4`` or ``o1_array-w16t12r8l4s4-64x64-p4``."""
        tag = self.config.tag
        pipe = "-pipe" if self.pipelined else ""
        if self.design == "o1_lane":
            return f"o1_lane-{tag}{pipe}"
        mem = "" if self.memory == "inferred" else f"-{self.memory}"
        return f"o1_array-{tag}-{self.n_pre}x{self.n_post}-p{self.lanes}{mem}{pipe}"

    @property
    def n_synapses(self) -> int:
        """``n_pre * n_post``."""
        return self.n_pre * self.n_post

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DesignSpec:
        """The design point a synthesis record (``reports/synth/<target>/<id>.json``) describes."""
        return cls(record["design"], OnlineO1Config(**record["config"]), record["n_pre"], record["n_post"],
                   record["lanes"], record.get("memory") or "inferred", bool(record.get("pipelined_update")))


def predict(spec: DesignSpec, target: str, coefficients: Coefficients | None = None) -> Breakdown:
    """The predictor's view of ``spec`` on ``target`` (:func:`plasticore.estimate.breakdown`): the one call
    that :mod:`plasticore.flows.synth` (the ``predicted`` part of a record), :mod:`plasticore.flows.calibrate`
    (the fit), :mod:`plasticore.flows.validate` and the tests share. ``result`` is what
    ``estimate_resources(..., check_fit=False)`` returns. ``coefficients`` (default: the package's fitted
    ones) are the coefficients the prediction uses."""
    return breakdown(config=spec.config, target=target, design=spec.design, n_pre=spec.n_pre,
                     n_post=spec.n_post, lanes=spec.lanes, memory=spec.memory, pipelined_update=spec.pipelined,
                     coefficients=coefficients)


def _array_emitter(spec: DesignSpec) -> Any:
    from plasticore.hw.array_emitter import OnlineO1ArrayEmitter

    kw: dict[str, Any] = {"pipelined_update": True} if spec.pipelined else {}
    return OnlineO1ArrayEmitter(spec.config, spec.n_pre, spec.n_post, spec.lanes, memory=spec.memory,
                                module_name="o1_array", **kw)


def design_ports(spec: DesignSpec) -> list[Port]:
    """The ports of the design's top module, from its port signal declarations (the emitters' ``ports()``)."""
    if spec.design == "o1_lane":
        emitter: Any = OnlineO1LearningEmitter(spec.config, module_name="o1_lane", pipelined=spec.pipelined)
    else:
        emitter = _array_emitter(spec)
    return list(emitter.ports())


def emit_design(spec: DesignSpec, out_dir: Path) -> tuple[list[str], str]:
    """Write the design's Verilog into ``out_dir``; returns (file names in compile order, top module)."""
    if spec.design == "o1_lane":
        emitter = OnlineO1LearningEmitter(spec.config, module_name="o1_lane", pipelined=spec.pipelined)
        files = emitter.write(out_dir, "verilog")
        return [f.name for f in files], "o1_lane"
    if not array_available():
        raise RuntimeError("design 'o1_array' needs plasticore.hw.array_emitter, which is not installed")
    files = _array_emitter(spec).write(out_dir, "verilog")
    return [f.name for f in files], "o1_array"


def array_manifest(spec: DesignSpec) -> dict[str, Any]:
    """The array emitter's manifest (cycles per timestep, memory geometry) for ``spec``."""
    return dict(_array_emitter(spec).manifest())


def lane_sweep() -> list[DesignSpec]:
    """The lane alone, default and small configs, single-stage and pipelined."""
    return [DesignSpec("o1_lane", c, pipelined=pipe) for pipe in (False, True) for c in (DEFAULT, SMALL)]


_Row = tuple[OnlineO1Config, int, int, int, str, bool]
# (config, n_pre, n_post, lanes, memory, pipelined update): arrays every target holds
_COMMON_ARRAYS: tuple[_Row, ...] = (
    (DEFAULT, 4, 4, 1, "inferred", False),
    (DEFAULT, 8, 8, 1, "inferred", False),
    (DEFAULT, 8, 8, 2, "inferred", False),
    (DEFAULT, 16, 16, 2, "inferred", False),
    (DEFAULT, 16, 16, 4, "inferred", False),
    (DEFAULT, 32, 32, 4, "inferred", False),
    (SMALL, 8, 8, 1, "inferred", False),
    (SMALL, 16, 16, 2, "inferred", False),
    (SMALL, 32, 32, 4, "inferred", False),
    (SMALL, 64, 64, 4, "inferred", False),
    (DEFAULT, 16, 16, 4, "inferred", True),
    (SMALL, 64, 64, 4, "inferred", True),
)
# the largest arrays differ by device: SPRAM on the UP5K, more DP16KD and DSPs on the ECP5
_EXTRA_ARRAYS: dict[str, tuple[_Row, ...]] = {
    "ice40-up5k": ((DEFAULT, 128, 128, 1, "spram", False), (DEFAULT, 128, 256, 1, "spram", False),
                   (SMALL, 256, 256, 2, "spram", False), (SMALL, 256, 256, 2, "spram", True)),
    "ice40-hx8k": ((SMALL, 32, 32, 8, "inferred", False), (SMALL, 32, 32, 8, "inferred", True)),
    "ecp5-25f": ((DEFAULT, 64, 64, 8, "inferred", False), (SMALL, 128, 128, 8, "inferred", False),
                 (SMALL, 128, 256, 8, "inferred", False), (SMALL, 128, 256, 8, "inferred", True)),
}


def array_sweep(target: str) -> list[DesignSpec]:
    """Arrays of several sizes, lane counts, both configs and both update styles for ``target``."""
    rows = (*_COMMON_ARRAYS, *_EXTRA_ARRAYS.get(target, ()))
    return [DesignSpec("o1_array", c, a, b, p, m, pipe) for c, a, b, p, m, pipe in rows]

"""plasticore.refmodel: the NumPy reference model."""

from __future__ import annotations

from .callbacks import CSVCallback, TensorBoardCallback, TrainingCallback, WandBCallback
from .errors import MissingDependencyError
from .lif import LIFNetwork, LIFParams, LIFRecord, LIFState, lif_step
from .online_o1 import (
    OnlineO1Config,
    OnlineO1Layer,
    OnlineO1Snapshot,
    OnlineO1Synapse,
    build_online_o1_memory_proof,
    online_o1_step,
)
from .schedulers import (
    CosineScheduler,
    ExponentialScheduler,
    Scheduler,
    StepScheduler,
    WarmupCosineScheduler,
)

__all__ = [
    "CSVCallback",
    "CosineScheduler",
    "ExponentialScheduler",
    "LIFNetwork",
    "LIFParams",
    "LIFRecord",
    "LIFState",
    "MissingDependencyError",
    "OnlineO1Config",
    "OnlineO1Layer",
    "OnlineO1Snapshot",
    "OnlineO1Synapse",
    "Scheduler",
    "StepScheduler",
    "TensorBoardCallback",
    "TrainingCallback",
    "WandBCallback",
    "WarmupCosineScheduler",
    "build_online_o1_memory_proof",
    "lif_step",
    "online_o1_step",
]

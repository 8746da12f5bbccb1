"""plasticore.refmodel: the NumPy reference model."""

from __future__ import annotations

from .callbacks import CSVCallback, TensorBoardCallback, TrainingCallback, WandBCallback
from .errors import MissingDependencyError
from .gradient_learners import (
    BPTTLearner,
    EligibilityTrace,
    EPropLearner,
    Feedback,
    GradientLearner,
    TBPTTLearner,
    eprop_gradients,
    tbptt_gradients,
)
from .lif import LIFNetwork, LIFParams, LIFRecord, LIFState, lif_scan, lif_step
from .losses import LossKind, accuracy, cross_entropy_loss, mse_loss, predict_classes
from .online_o1 import (
    OnlineO1Config,
    OnlineO1Layer,
    OnlineO1Snapshot,
    OnlineO1Synapse,
    build_online_o1_memory_proof,
    online_o1_step,
)
from .optimizers import SGD, Adam, Optimizer
from .schedulers import (
    CosineScheduler,
    ExponentialScheduler,
    Scheduler,
    StepScheduler,
    WarmupCosineScheduler,
)

__all__ = [
    "SGD",
    "Adam",
    "BPTTLearner",
    "CSVCallback",
    "CosineScheduler",
    "EPropLearner",
    "EligibilityTrace",
    "ExponentialScheduler",
    "Feedback",
    "GradientLearner",
    "LIFNetwork",
    "LIFParams",
    "LIFRecord",
    "LIFState",
    "LossKind",
    "MissingDependencyError",
    "OnlineO1Config",
    "OnlineO1Layer",
    "OnlineO1Snapshot",
    "OnlineO1Synapse",
    "Optimizer",
    "Scheduler",
    "StepScheduler",
    "TBPTTLearner",
    "TensorBoardCallback",
    "TrainingCallback",
    "WandBCallback",
    "WarmupCosineScheduler",
    "accuracy",
    "build_online_o1_memory_proof",
    "cross_entropy_loss",
    "eprop_gradients",
    "lif_scan",
    "lif_step",
    "mse_loss",
    "online_o1_step",
    "predict_classes",
    "tbptt_gradients",
]

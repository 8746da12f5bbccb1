"""plasticore.hw: MyHDL hardware, bit-exact with :mod:`plasticore.refmodel`."""

from __future__ import annotations

from .array_emitter import OnlineO1ArrayEmitter
from .emitter import LANE_PORTS, OnlineO1LearningEmitter, config_tag
from .widths import O1Widths

__all__ = ["LANE_PORTS", "O1Widths", "OnlineO1ArrayEmitter", "OnlineO1LearningEmitter", "config_tag"]

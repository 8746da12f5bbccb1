"""The cheaper frame stack MyHDL elaborates with (:mod:`plasticore.hw.myhdl_frames`) and the release of a
conversion's signals (:func:`plasticore.hw.emitter.released_signals`)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

pytest.importorskip("myhdl")

import myhdl._block
import myhdl._instance
import myhdl._simulator

import plasticore.hw  # noqa: F401  (installs the frame stack)
from plasticore.hw.emitter import OnlineO1LearningEmitter, released_signals
from plasticore.hw.myhdl_frames import frame_stack
from plasticore.refmodel.online_o1 import OnlineO1Config


def _both() -> tuple[list[inspect.FrameInfo], list[inspect.FrameInfo]]:
    return frame_stack(), inspect.stack()


def _nested() -> tuple[list[inspect.FrameInfo], list[inspect.FrameInfo]]:
    results = [_both() for _ in range(1)]  # a list comprehension's own scope, as MyHDL special-cases
    return results[0]


def test_frame_stack_has_inspect_stacks_frames_and_names() -> None:
    fast, real = _nested()
    assert len(fast) == len(real) > 3
    # the records differ only in the line of the first frame (the two calls are on one line: equal here)
    assert [(r[0], r[1], r[3]) for r in fast] == [(r[0], r[1], r[3]) for r in real]
    assert [r[3] for r in fast[:2]] == ["_both", "<listcomp>"]
    assert fast[0][4] is None and real[0][4] is not None  # no source context read


def test_installed_in_the_modules_myhdl_elaborates_with() -> None:
    for module in (myhdl._block, myhdl._instance):
        assert module.inspect.stack is frame_stack
        assert module.inspect.getsourcefile is inspect.getsourcefile  # the rest is the real module


def test_a_conversion_leaves_no_signal_in_myhdls_global_list(tmp_path: Path) -> None:
    before = len(myhdl._simulator._signals)
    emitter = OnlineO1LearningEmitter(OnlineO1Config(), module_name="o1_lane")
    emitter.write(tmp_path, "verilog")
    assert len(myhdl._simulator._signals) == before
    with released_signals():
        myhdl.Signal(bool(0))
        assert len(myhdl._simulator._signals) == before + 1
    assert len(myhdl._simulator._signals) == before

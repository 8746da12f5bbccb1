"""Module names the emitters accept: HDL identifiers that are no keyword of Verilog-2005, SystemVerilog or
VHDL-2008 (VHDL case-insensitively), rejected by both emitters with an error that names the word."""

from __future__ import annotations

import pytest

from plasticore.hw.hdl_names import (
    SYSTEMVERILOG_KEYWORDS,
    VERILOG_2005_KEYWORDS,
    VHDL_2008_RESERVED,
    check_module_name,
    reserved_in,
)

pytest.importorskip("myhdl")

from plasticore.hw.array_emitter import OnlineO1ArrayEmitter
from plasticore.hw.emitter import OnlineO1LearningEmitter


def test_keyword_lists_are_the_full_standards() -> None:
    assert len(VERILOG_2005_KEYWORDS) == 124  # IEEE 1364-2005 Annex B (102 of 1364-1995, 21 of 2001, uwire)
    assert len(SYSTEMVERILOG_KEYWORDS) == 248  # IEEE 1800-2017 Annex B (Verilog-2005's included)
    assert len(VHDL_2008_RESERVED) == 115  # IEEE 1076-2008 15.10
    assert {"edge", "wire", "module", "uwire", "endmodule"} <= VERILOG_2005_KEYWORDS
    assert {"logic", "bit", "interface", "always_ff"} <= SYSTEMVERILOG_KEYWORDS - VERILOG_2005_KEYWORDS
    assert {"entity", "begin", "signal", "process", "vunit", "assume_guarantee"} <= VHDL_2008_RESERVED


@pytest.mark.parametrize(("name", "langs"), [
    ("entity", "VHDL-2008"),
    ("Entity", "VHDL-2008"),  # VHDL is case-insensitive
    ("BEGIN", "VHDL-2008"),
    ("module", "Verilog-2005, SystemVerilog"),
    ("wire", "Verilog-2005, SystemVerilog"),
    ("edge", "Verilog-2005, SystemVerilog"),
    ("logic", "SystemVerilog"),
    ("signal", "VHDL-2008"),
    ("begin", "Verilog-2005, SystemVerilog, VHDL-2008"),
])
def test_both_emitters_reject_reserved_words(name: str, langs: str) -> None:
    msg = rf"^module_name '{name}' is a reserved word in {langs}: choose another name$"
    with pytest.raises(ValueError, match=msg):
        OnlineO1LearningEmitter(module_name=name)
    with pytest.raises(ValueError, match=msg):
        OnlineO1ArrayEmitter(n_pre=2, n_post=2, module_name=name)


def test_verilog_is_case_sensitive() -> None:
    assert reserved_in("Wire") == [] and reserved_in("wire") == ["Verilog-2005", "SystemVerilog"]
    assert check_module_name("Wire") == "Wire"


@pytest.mark.parametrize("name", ["9lane", "o1__lane", "lane_", "_lane", "o1-lane", ""])
def test_names_must_be_identifiers_in_every_hdl(name: str) -> None:
    with pytest.raises(ValueError, match=r"^module_name must be an HDL identifier \(a letter, then letters, digits "
                                         r"and single underscores, not ending in '_'\), not "):
        OnlineO1LearningEmitter(module_name=name)
    with pytest.raises(ValueError, match=r"^module_name must be an HDL identifier"):
        OnlineO1ArrayEmitter(n_pre=2, n_post=2, module_name=name)


def test_type_error_names_the_type() -> None:
    with pytest.raises(TypeError, match=r"module_name must be a str, not int 5"):
        check_module_name(5)


def test_good_names_pass() -> None:
    for name in ("o1_lane", "o1_lane_pipelined_w8t6r4l3s2", "my_array", "entity2", "wire_a"):
        assert check_module_name(name) == name

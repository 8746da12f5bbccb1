"""HDL identifiers and ports: which names a generated module may have (:func:`check_module_name`), and
:class:`HdlPort`, one port as the emitters describe it.

A module name must be a legal identifier in every language the emitters write: a Verilog / SystemVerilog
simple identifier that is not a keyword (case-sensitive), and a VHDL basic identifier (a letter, then
letters, digits and single underscores, not ending in ``_``) that is not a reserved word (VHDL is
case-insensitive: ``Entity`` is ``entity``). Keyword lists: IEEE 1364-2005 (Verilog), IEEE 1800-2017
Annex B (SystemVerilog), IEEE 1076-2008 section 15.10 (VHDL).
"""

from __future__ import annotations

import dataclasses
import re

VERILOG_2005_KEYWORDS: frozenset[str] = frozenset("""
always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default
defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive
endspecify endtable endtask event for force forever fork function generate genvar highz0 highz1 if ifnone
incdir include initial inout input instance integer join large liblist library localparam macromodule
medium module nand negedge nmos nor noshowcancelled not notif0 notif1 or output parameter pmos posedge
primitive pull0 pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent rcmos real realtime reg
release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small specify specparam
strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1 triand trior trireg
unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
""".split())

SYSTEMVERILOG_KEYWORDS: frozenset[str] = VERILOG_2005_KEYWORDS | frozenset("""
accept_on alias always_comb always_ff always_latch assert assume before bind bins binsof bit break byte
chandle checker class clocking const constraint context continue cover covergroup coverpoint cross dist do
endchecker endclass endclocking endgroup endinterface endpackage endprogram endproperty endsequence enum
eventually expect export extends extern final first_match foreach forkjoin global iff ignore_bins
illegal_bins implements implies import inside int interconnect interface intersect join_any join_none let
local logic longint matches modport nettype new nexttime null package packed priority program property
protected pure rand randc randcase randsequence ref reject_on restrict return s_always s_eventually
s_nexttime s_until s_until_with sequence shortint shortreal soft solve static string strong struct super
sync_accept_on sync_reject_on tagged this throughout timeprecision timeunit type typedef union unique
unique0 until until_with untyped var virtual void wait_order weak wildcard with within
""".split())

VHDL_2008_RESERVED: frozenset[str] = frozenset("""
abs access after alias all and architecture array assert assume assume_guarantee attribute begin block body
buffer bus case component configuration constant context cover default disconnect downto else elsif end
entity exit fairness file for force function generate generic group guarded if impure in inertial inout is
label library linkage literal loop map mod nand new next nor not null of on open or others out package
parameter port postponed procedure process property protected pure range record register reject release
rem report restrict restrict_guarantee return rol ror select sequence severity shared signal sla sll sra
srl strong subtype then to transport type unaffected units until use variable vmode vprop vunit wait when
while with xnor xor
""".split())

@dataclasses.dataclass(frozen=True, slots=True)
class HdlPort:
    """One port of a generated module: name, direction (``input``/``output``), width in bits, signedness."""

    name: str
    direction: str
    width: int
    signed: bool = False


_VHDL_BASIC = re.compile(r"^[A-Za-z](_?[A-Za-z0-9])*$")


def reserved_in(name: str) -> list[str]:
    """The languages in which ``name`` is a keyword or reserved word (empty: none)."""
    out = []
    if name in VERILOG_2005_KEYWORDS:
        out.append("Verilog-2005")
    if name in SYSTEMVERILOG_KEYWORDS:
        out.append("SystemVerilog")
    if name.lower() in VHDL_2008_RESERVED:
        out.append("VHDL-2008")
    return out


def check_module_name(name: object, what: str = "module_name") -> str:
    """``name`` if it can name a module in Verilog, SystemVerilog and VHDL; else an error naming it.

    :class:`TypeError` when it is not a string; :class:`ValueError` when it is not an identifier (a letter,
    then letters, digits and single underscores, not ending in ``_``) or is a reserved word
    (``module_name 'entity' is a reserved word in VHDL-2008``).
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, not {type(name).__name__} {name!r}")
    if not _VHDL_BASIC.match(name):
        raise ValueError(
            f"{what} must be an HDL identifier (a letter, then letters, digits and single underscores, "
            f"not ending in '_'), not {name!r}"
        )
    langs = reserved_in(name)
    if langs:
        raise ValueError(f"{what} {name!r} is a reserved word in {', '.join(langs)}: choose another name")
    return name


__all__ = [
    "SYSTEMVERILOG_KEYWORDS",
    "VERILOG_2005_KEYWORDS",
    "VHDL_2008_RESERVED",
    "HdlPort",
    "check_module_name",
    "reserved_in",
]

"""Combinational logic that holds its value from time 0 in every Verilog simulator.

MyHDL converts an ``@always_comb`` whose body is only signal assignments to ``assign`` statements, but one
with an ``if``, a ``case`` or a ROM lookup (a tuple indexed by a signal) to::

    always @(a, b) begin: name
        ...            // blocking assignments to regs
    end

An event-driven simulator (Icarus, the Verilog-2005 semantics) runs such a block only when ``a`` or ``b``
*changes*: a block whose inputs hold their value from time 0 (a top-level input tied to 0, the address of
an ``n_pre = 1`` array) is never run and its outputs stay ``x``. Synthesis and VHDL (every process runs once
at start-up) are unaffected, so the simulation would disagree with the hardware.

:func:`comb_always_to_functions` rewrites every such block, after conversion, into a Verilog function of its
inputs and one continuous assignment of its outputs::

    function [Wout-1:0] name_f;
        input [..] a_ci; input [..] b_ci;
        reg [..] x_co;                        // one local per output (and per local variable, as before)
    begin: name
        ...                                   // the same statements on the renamed operands
        name_f = {x_co, y_co};
    end
    endfunction
    assign {x, y} = name_f(a, b);

A continuous assignment is evaluated at time 0 and again whenever an operand changes, in every simulator and
in synthesis (Yosys inlines the function; the logic is the same). Operands are renamed (``_ci``/``_co``)
so no name hides a module-level one (Verilator ``-Wall`` VARHIDDEN). The rewrite is exact text surgery on
MyHDL's regular output, and it refuses anything it does not recognise rather than guess.

:func:`time_zero_hazards` lists the combinational ``always`` blocks left in a text (the check the tests run
on every emitted design): after the rewrite it must be empty.
"""

from __future__ import annotations

import dataclasses
import re

_DECL = re.compile(
    r"^(?P<kind>input|output|reg|wire)\s+(?P<signed>signed\s+)?(?:\[(?P<msb>\d+):(?P<lsb>\d+)\]\s+)?"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_$]*)\s*(?P<mem>\[[^\]]*\])?\s*;\s*$",
    re.MULTILINE,
)
_COMB = re.compile(
    r"^always @\((?P<sens>[^)]*)\) begin: (?P<label>[A-Za-z_][A-Za-z0-9_]*)\n(?P<body>.*?)^end\n",
    re.MULTILINE | re.DOTALL,
)
_ANY_ALWAYS = re.compile(r"^\s*always\s*@\s*(?P<ctl>\*|\([^)]*\))(?:\s*begin\s*:\s*(?P<label>\w+))?", re.MULTILINE)
_ASSIGNED = re.compile(  # a blocking assignment, also after a case label: "    x = ...", "    3: x[2] = ..."
    r"^\s+(?:[\w']+\s*:\s*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\[[^\]]*\])?\s*=(?!=)", re.MULTILINE
)
_IDENT = re.compile(r"(?<![\w$'])([A-Za-z_][A-Za-z0-9_]*)\b")
_LOCAL_DECL = re.compile(r"^\s+(?:reg|integer)\b[^;]*?([A-Za-z_][A-Za-z0-9_]*)\s*;", re.MULTILINE)
IN_SUFFIX, OUT_SUFFIX, FUNC_SUFFIX = "_ci", "_co", "_f"


@dataclasses.dataclass(frozen=True)
class _Decl:
    signed: bool
    msb: int | None  # None: a 1-bit scalar declared without a range

    def range_text(self) -> str:
        s = "signed " if self.signed else ""
        return f"{s}[{self.msb}:0] " if self.msb is not None else s

    @property
    def width(self) -> int:
        return 1 if self.msb is None else self.msb + 1


def _is_comb(control: str) -> bool:
    return "posedge" not in control and "negedge" not in control


def time_zero_hazards(text: str) -> list[str]:
    """Labels (or ``always@<line>``) of every combinational ``always`` block in Verilog ``text``.

    Such a block may not run at time 0 (see the module docstring); clocked blocks (``posedge``/``negedge``)
    are fine.
    """
    found = []
    for m in _ANY_ALWAYS.finditer(text):
        if _is_comb(m.group("ctl")):
            found.append(m.group("label") or f"always@{text.count(chr(10), 0, m.start()) + 1}")
    return found


def _declarations(module: str) -> dict[str, _Decl]:
    decls: dict[str, _Decl] = {}
    for m in _DECL.finditer(module):
        if m.group("mem"):
            continue  # a memory: never an operand of a combinational block here (checked below)
        if m.group("lsb") not in (None, "0"):
            raise ValueError(f"unsupported declaration range in {m.group(0).strip()!r}")
        msb = m.group("msb")
        decls[m.group("name")] = _Decl(bool(m.group("signed")), None if msb is None else int(msb))
    return decls


def _rewrite_module(module: str) -> str:
    decls = _declarations(module)
    memories = {m.group("name") for m in _DECL.finditer(module) if m.group("mem")}
    taken = set(_IDENT.findall(module))
    functions: list[str] = []
    assigns: list[str] = []
    driven: set[str] = set()

    def rewrite(m: re.Match[str]) -> str:
        label, body = m.group("label"), m.group("body")
        if not _is_comb(m.group("sens")):
            return m.group(0)
        inputs = [n.strip() for n in m.group("sens").split(",") if n.strip()]
        outputs = list(dict.fromkeys(a.group("name") for a in _ASSIGNED.finditer(body)))
        local = {d.group(1) for d in _LOCAL_DECL.finditer(body)}
        outputs = [o for o in outputs if o not in local]
        read = {n for n in _IDENT.findall(body) if n in decls or n in memories} - set(outputs) - local
        if read - set(inputs) or not outputs:
            raise ValueError(f"combinational block {label!r}: operands {sorted(read - set(inputs))} are not in "
                             f"its sensitivity list, or it drives nothing")
        for n in [*inputs, *outputs]:
            if n in memories or n not in decls:
                raise ValueError(f"combinational block {label!r}: {n!r} is not a declared scalar or vector")
        rename = {n: n + IN_SUFFIX for n in inputs} | {n: n + OUT_SUFFIX for n in outputs}
        func = label + FUNC_SUFFIX
        clashes = sorted(n for n in [func, *rename.values()] if n in taken)
        if clashes:
            raise ValueError(f"combinational block {label!r}: generated names {clashes} already exist")
        renamed = _IDENT.sub(lambda t: rename.get(t.group(1), t.group(1)), body)
        width = sum(decls[o].width for o in outputs)
        lines = [f"function [{width - 1}:0] {func};"]
        lines += [f"    input {decls[n].range_text()}{rename[n]};" for n in inputs]
        lines += [f"    reg {decls[n].range_text()}{rename[n]};" for n in outputs]
        lines += [f"begin: {label}", renamed.rstrip("\n"),
                  f"    {func} = {{{', '.join(rename[o] for o in outputs)}}};", "end", "endfunction", ""]
        functions.append("\n".join(lines))
        target = outputs[0] if len(outputs) == 1 else "{" + ", ".join(outputs) + "}"
        assigns.append(f"assign {target} = {func}({', '.join(inputs)});\n")
        driven.update(outputs)
        return "\n".join(lines) + "\n" + assigns[-1]

    out = _COMB.sub(rewrite, module)

    def to_wire(d: re.Match[str]) -> str:
        return d.group(0).replace("reg", "wire", 1) if d.group("kind") == "reg" and d.group("name") in driven \
            else d.group(0)

    out = _DECL.sub(to_wire, out)
    left = time_zero_hazards(out)
    if left:
        raise ValueError(f"combinational always blocks this rewrite does not recognise: {left}")
    return out


def comb_always_to_functions(text: str) -> str:
    """Rewrite every combinational ``always @(...)`` block of MyHDL-converted Verilog ``text`` into a function
    and a continuous assignment (see the module docstring); text without such blocks is returned unchanged."""
    if not time_zero_hazards(text):
        return text
    parts = re.split(r"(?m)^(?=module\b)", text)
    return "".join(_rewrite_module(p) if p.startswith("module") else p for p in parts)

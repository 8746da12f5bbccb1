"""Counts read off the elaborated MyHDL design: :func:`rtl_counts` (no synthesis, no source text).

:func:`rtl_counts` elaborates the very design the emitters convert (``o1_lane``, the pipelined
``o1_lane_pipelined``, ``o1_array`` through :class:`~plasticore.hw.array_emitter.OnlineO1ArrayEmitter`, or the
closed-loop core ``o1_core`` through :class:`~plasticore.hw.core_emitter.OnlineO1CoreEmitter`) and walks its
instance tree, process by process:

* **registers**: every bit assigned in a clocked process (RAM read registers excepted; the pipelined
  lane's carry-save words count without their constant and identical bits,
  :func:`~plasticore.hw.csa_multiplier.register_bits`);
* **datapath logic bits**: output bits of the computing processes inside the update blocks
  (:data:`DATAPATH_BLOCKS`), once per lane (in the core: only those inside its array);
* **control logic bits**: output bits of every other computing process (in the core this includes its SPI
  slave, frame decoder, access unit, sequencer and LIF neuron pipeline: the LUT coefficients were fitted on
  the lane and the array only, and the control coefficient is the one that prices such logic);
  the core's own processes are weighed per assigned signal (:func:`signal_weights`): its state machines
  assign hundreds of register bits from separate counters, where the per-process weight would charge every
  bit every adder of the process;
* **products**: the ``R x T`` multiplier of every lane (the process that drives ``prod``);
* **pipelined-lane bits**: every logic bit of ``o1_lane_pipelined`` (carry-save ``^ & |`` count there);
* **memories**: depth x width of every inferred RAM (``o1_array_ram``: the array's and, in the core, its
  spike banks, active-row list, membranes, rewards, spikes, output events and packed output words), and the
  ``SB_SPRAM256KA`` instances.

A process costs ``output bits x`` :func:`logic_weight`, read from the syntax tree MyHDL builds of the
process (``gen.ast``, the tree its converter analyses): 0 when it is wiring, else the number of adders.
Needs MyHDL.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from collections.abc import Iterator
from typing import Any

from plasticore.refmodel.o1_network import FixedLIFConfig
from plasticore.refmodel.online_o1 import OnlineO1Config

DATAPATH_BLOCKS: frozenset[str] = frozenset({
    "o1_synapse_update", "o1_array_update", "o1_trace_next", "sign_extend", "o1_pairing", "o1_eligibility_sat",
    "o1_weight_next",
})
_ADD_SUB = (ast.Add, ast.Sub)
_MUL = (ast.Mult, ast.Pow)
_BITWISE = (ast.BitXor, ast.BitAnd, ast.BitOr)
_COMPARE = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)


@dataclasses.dataclass(frozen=True, slots=True)
class RtlCounts:
    """Counts read off the elaborated MyHDL design (no synthesis): see :func:`rtl_counts`."""

    ff_bits: int  # bits of every signal assigned in a clocked process (RAM read registers excluded)
    datapath_bits: int  # output bits x weight of logic processes inside DATAPATH_BLOCKS
    control_bits: int  # the same for every other logic process (counters, muxes, decoders)
    product_bits: int  # sum of R x T over the multipliers
    pipe_lane_bits: int  # logic bits of o1_lane_pipelined (its stages and its carry-save multiplier)
    multipliers: int
    memories: tuple[tuple[int, int], ...]  # (depth, width) of every inferred RAM (o1_array_ram)
    sprams: int  # SB_SPRAM256KA instances (o1_array_spram)


def logic_weight(gen: Any, bitwise: bool = False) -> int:
    """Bit-operations per output bit of one MyHDL process, from its syntax tree.

    0 for pure wiring (names, slices, concatenations, constant shifts and indices); else the number of
    additions, subtractions and signs (``+ - += -=``, unary ``-``) outside index brackets, at least 1: an
    ``if``, a conditional expression, a comparison, a product or a lookup indexed by a signal
    (``table[sig]``) is one level of logic. With ``bitwise`` (the carry-save logic of the pipelined lane)
    ``^ & |`` is one level too. Operators inside an index (``x[w - 1:0]``) are constant arithmetic.
    """
    fn = next(n for n in ast.walk(gen.ast) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    adds = 0
    logic = False

    def visit(node: ast.AST, in_index: bool) -> None:
        nonlocal adds, logic
        if isinstance(node, ast.Subscript):
            visit(node.value, in_index)
            index = node.slice
            if isinstance(index, ast.Name) and hasattr(gen.symdict.get(index.id), "_nrbits"):
                logic = True  # a ROM or array lookup indexed by a signal
            visit(index, True)
            return
        if not in_index:
            op = getattr(node, "op", None)
            if isinstance(node, (ast.BinOp, ast.AugAssign)):
                if isinstance(op, _ADD_SUB):
                    adds += 1
                logic = logic or isinstance(op, (*_ADD_SUB, *_MUL)) or (bitwise and isinstance(op, _BITWISE))
            elif isinstance(node, ast.UnaryOp) and isinstance(op, (ast.USub, ast.UAdd)):
                adds += 1
                logic = True
            elif isinstance(node, ast.Compare):
                logic = logic or any(isinstance(o, _COMPARE) for o in node.ops)
            elif isinstance(node, (ast.If, ast.IfExp)):
                logic = True
        for child in ast.iter_child_nodes(node):
            visit(child, in_index)

    for statement in fn.body:  # not the decorator (its sensitivity list) nor the signature
        visit(statement, False)
    return max(1, adds) if logic else 0


def _is_signal(gen: Any, node: ast.AST) -> bool:
    """Whether ``node`` mentions a signal of ``gen`` (not only Python constants such as ``n_pre - 1``)."""
    return any(isinstance(n, ast.Name) and hasattr(gen.symdict.get(n.id), "_nrbits") for n in ast.walk(node))


def signal_weights(gen: Any) -> dict[str, int]:
    """Bit-operations per output bit of every signal one MyHDL process assigns (``name.next = ...``).

    The per-signal form of :func:`logic_weight`, for processes that assign many registers from separate
    expressions (a state machine's counters and flags, a register read multiplexer): a signal assigned in
    ``k`` places weighs the additions and subtractions of signals in the expressions assigned to it (summed
    over its assignments; constant arithmetic such as ``n_pre - 1`` not counted) plus ``ceil(log2 k)``, the
    levels of a tree selecting one of its ``k`` sources, and at least 1 when any assignment computes (an
    operator, a comparison, a conditional expression, a lookup indexed by a signal) or sits under an ``if``;
    0 when it is only wired. The conditions themselves are not priced beyond that.

    The selection term is a choice among parameter-free variants made by looking at the two board records
    (``reports/board``, as of 2026-12-03; LUT4 error on the UP5K / ECP5 core): none (``-16 %`` / ``-9 %``),
    ``k - 1`` (``+21 %`` / ``+21 %``), ``(k - 1) // 2`` (``-5 %`` / ``+0.2 %``), ``ceil(log2 k)`` (``+4.7 %`` /
    ``+8.1 %``; kept: the unit :func:`logic_weight` uses, levels per output bit, and an over- rather than an
    under-estimate). Choosing on either record alone and judging on the other stays within the stated LUT4
    errors (on the UP5K the best is ``log2``, then ECP5 is ``+8.1 %``; on the ECP5 it is ``(k - 1) // 2``, then
    the UP5K is ``-5 %``).
    """
    fn = next(n for n in ast.walk(gen.ast) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    acc: dict[str, tuple[int, bool, int]] = {}

    def cost(value: ast.AST) -> tuple[int, bool]:
        adds, logic = 0, False
        stack: list[tuple[ast.AST, bool]] = [(value, False)]
        while stack:
            node, in_index = stack.pop()
            if isinstance(node, ast.Subscript):
                stack.append((node.value, in_index))
                if isinstance(node.slice, ast.Name) and hasattr(gen.symdict.get(node.slice.id), "_nrbits"):
                    logic = True
                stack.append((node.slice, True))
                continue
            if not in_index:
                op = getattr(node, "op", None)
                if isinstance(node, ast.BinOp) and _is_signal(gen, node):
                    adds += isinstance(op, _ADD_SUB)
                    logic = logic or isinstance(op, (*_ADD_SUB, *_MUL))
                elif isinstance(node, ast.UnaryOp) and isinstance(op, (ast.USub, ast.UAdd)) and _is_signal(gen, node):
                    adds, logic = adds + 1, True
                elif isinstance(node, ast.Compare):
                    logic = logic or any(isinstance(o, _COMPARE) for o in node.ops)
                elif isinstance(node, ast.IfExp):
                    logic = True
            stack.extend((c, in_index) for c in ast.iter_child_nodes(node))
        return adds, logic

    def target(node: ast.AST) -> str | None:
        while isinstance(node, ast.Subscript):
            node = node.value
        if not (isinstance(node, ast.Attribute) and node.attr == "next"):
            return None
        base = node.value
        while isinstance(base, ast.Subscript):
            base = base.value
        return base.id if isinstance(base, ast.Name) else None

    def visit(body: list[ast.stmt], conditional: bool) -> None:
        for st in body:
            if isinstance(st, ast.If):
                visit(st.body, True)
                visit(st.orelse, True)
            elif isinstance(st, (ast.Assign, ast.AugAssign)):
                adds, logic = cost(st.value)
                if isinstance(st, ast.AugAssign) and isinstance(st.op, _ADD_SUB):
                    adds, logic = adds + 1, True
                for t in st.targets if isinstance(st, ast.Assign) else [st.target]:
                    name = target(t)
                    if name is not None:
                        a0, l0, k0 = acc.get(name, (0, False, 0))
                        acc[name] = (a0 + adds, l0 or logic or conditional, k0 + 1)
            else:
                for field in ("body", "orelse"):
                    visit(getattr(st, field, []), conditional)

    visit(fn.body, False)
    return {name: (max(1, a + (k - 1).bit_length()) if logic else 0) for name, (a, logic, k) in acc.items()}


def walk(blk: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """``(block path, process)`` for every process under ``blk``; an ``o1_array_spram`` instance (a
    primitive) yields ``(path, None)`` instead of its processes."""
    for sub in blk.subs:
        if hasattr(sub, "subs"):
            name = sub.func.__name__
            if name == "o1_array_spram":
                yield (*path, name), None
                continue
            yield from walk(sub, (*path, name))
        else:
            yield path, sub


def elaborate(config: OnlineO1Config, design: str, n_pre: int, n_post: int, lanes: int, memory: str,
              pipelined_update: bool, lif: FixedLIFConfig | None = None) -> Any:
    """The MyHDL top-level block of the design, as the emitters build it (not converted); ``lif`` is the
    core's neuron config (``o1_core`` only)."""
    if design == "o1_core":
        from plasticore.hw.core_emitter import OnlineO1CoreEmitter

        if lif is None:
            raise ValueError("design 'o1_core' needs lif (a FixedLIFConfig), not None")
        return OnlineO1CoreEmitter(config, lif, n_pre, n_post, lanes, memory=memory,
                                   pipelined_update=pipelined_update).elaborate()
    if design == "o1_lane":
        from plasticore.hw.o1_lane import lane_port_signals, o1_lane
        from plasticore.hw.o1_lane_pipelined import o1_lane_pipelined

        make = o1_lane_pipelined if pipelined_update else o1_lane
        return make(**lane_port_signals(config), config=config)
    from plasticore.hw.array_emitter import OnlineO1ArrayEmitter

    return OnlineO1ArrayEmitter(config, n_pre, n_post, lanes, memory=memory,
                                pipelined_update=pipelined_update).elaborate()


@functools.lru_cache(maxsize=256)
def rtl_counts(config: OnlineO1Config, design: str, n_pre: int, n_post: int, lanes: int,
               memory: str = "inferred", pipelined_update: bool = False,
               lif: FixedLIFConfig | None = None) -> RtlCounts:
    """Elaborate the design with MyHDL (as the emitters do) and count registers, logic bits and memories.

    Each process weighs ``output bits x`` :func:`logic_weight` (0 for wiring). The process driving ``prod``
    (:func:`~plasticore.hw.o1_synapse_update.o1_synapse_update`,
    :func:`~plasticore.hw.o1_array_update.o1_array_update`) is the multiplier, counted apart. ``lif``: the
    neuron config of ``o1_core`` (required there, ignored otherwise). In the core only the array's update
    blocks are datapath; every other process of the core (its own ``sign_extend`` instances included) is
    control.

    The elaboration's signals are released afterwards (:func:`plasticore.hw.emitter.released_signals`).
    """
    from plasticore.hw.emitter import released_signals

    with released_signals():
        return _count(config, design, n_pre, n_post, lanes, memory, pipelined_update, lif)


def _count(config: OnlineO1Config, design: str, n_pre: int, n_post: int, lanes: int, memory: str,
           pipelined_update: bool, lif: FixedLIFConfig | None) -> RtlCounts:
    from myhdl._always_comb import _AlwaysComb

    from plasticore.hw.csa_multiplier import register_bits

    top = elaborate(config, design, n_pre, n_post, lanes, memory, pipelined_update, lif)
    core = design == "o1_core"
    pipe_lane = design == "o1_lane" and pipelined_update
    ff = dp = ctrl = prod = mults = sprams = csa = 0
    mems: list[tuple[int, int]] = []
    for path, gen in walk(top):
        if gen is None:
            sprams += 1
            continue
        outs = {n: gen.symdict.get(n) for n in gen.outputs}
        if "o1_array_ram" in path:
            mem = outs.get("mem")
            if isinstance(mem, list):
                mems.append((len(mem), len(outs["rdata"])))
            continue
        if "prod" in outs:  # the R x T multiplier (o1_synapse_update or o1_array_update)
            mults += 1
            a, b = (len(gen.symdict[n]) for n in sorted(gen.inputs))
            prod += a * b
            continue
        bits = sum(len(v) for v in outs.values() if not isinstance(v, list))
        csa_register = "csa_partial_sums" in path and not isinstance(gen, _AlwaysComb)
        if not isinstance(gen, _AlwaysComb) and not csa_register:  # those: counted below, merged
            ff += bits
        # the pipelined lane computes its update in its own processes (top level, path ()), with carry-save
        # (bitwise) logic there and in its carry-save multiplier
        if core and "o1_array" not in path:  # the core's own processes: per assigned signal
            weights = signal_weights(gen)
            ctrl += sum(len(v) * weights.get(n, 0) for n, v in outs.items() if not isinstance(v, list))
            continue
        weight = logic_weight(gen, bitwise=pipe_lane)
        if pipe_lane:
            csa += weight * bits
        elif DATAPATH_BLOCKS & set(path) and (not core or "o1_array" in path):
            dp += weight * bits
        else:
            ctrl += weight * bits
    if pipe_lane:
        ff += register_bits(config.reward_bits, config.trace_bits, config.reward_bits + config.trace_bits)
    return RtlCounts(ff, dp, ctrl, prod, csa, mults, tuple(mems), sprams)


__all__ = ["DATAPATH_BLOCKS", "RtlCounts", "elaborate", "logic_weight", "rtl_counts", "signal_weights", "walk"]

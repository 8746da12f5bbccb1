"""``plasticore.hw.spi_slave``: the SPI slave in Icarus, Verilator and GHDL, plus its elaboration checks.

The HDL runs behind :func:`spi_loopback` (defined here: a test top, not hardware of the core), converted with
the emitters' :func:`~plasticore.hw.emitter.convert_block` (so the Verilog combinational blocks are rewritten by
:mod:`plasticore.hw.verilog_comb`); ``tests/cocotb/spi_slave_tb.py`` checks replies, frame pulses, aborted
frames, minimum gaps, dividers 8..37, a reset inside a frame and the blocking :class:`CocotbTransport` path,
every edge exact to the clock. The emitted files go under ``build/cocotb/spi_slave/<sim>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cocotb")
pytest.importorskip("myhdl")

from hdl_sim import BUILD, SIMULATORS, hdl_for, long_run, run_cocotb
from myhdl import Signal, always, always_comb, block, intbv, modbv

from plasticore.hw.emitter import convert_block
from plasticore.hw.spi_slave import spi_slave, spi_slave_check
from plasticore.hw.verilog_comb import time_zero_hazards


@block
def spi_loopback(clk: Any, rst: Any, sck: Any, cs_n: Any, mosi: Any, miso: Any, miso_oe: Any, frame_start: Any,
                 frame_end: Any, rx_valid: Any, rx_byte: Any) -> Any:
    """The slave with a reply rule (``spi_slave_tb.loopback_reply``): byte 0 = frames ended since reset
    (mod 256), byte ``n + 1`` = ``rx[n] ^ n``, ``tx_byte`` combinational from ``rx_byte`` in the ``rx_valid``
    clock."""
    tx = Signal(intbv(0)[8:])
    fs = Signal(bool(0))
    fe = Signal(bool(0))
    rv = Signal(bool(0))
    rxb = Signal(intbv(0)[8:])
    nfr = Signal(modbv(0)[8:])
    idx = Signal(modbv(0)[8:])
    slave = spi_slave(clk, rst, sck, cs_n, mosi, miso, miso_oe, fs, fe, rv, rxb, tx)

    @always_comb
    def reply() -> None:
        if rv:
            tx.next = rxb ^ idx
        else:
            tx.next = nfr

    @always(clk.posedge)
    def count() -> None:
        if rst:
            nfr.next = 0
            idx.next = 0
        else:
            if fe:
                nfr.next = nfr + 1
            if fs:
                idx.next = 0
            elif rv:
                idx.next = idx + 1

    @always_comb
    def outs() -> None:
        frame_start.next = fs
        frame_end.next = fe
        rx_valid.next = rv
        rx_byte.next = rxb

    return slave, reply, count, outs


def _top() -> Any:
    b = [Signal(bool(0)) for _ in range(10)]
    b[3] = Signal(bool(1))  # cs_n idles high
    return spi_loopback(*b, Signal(intbv(0)[8:]))


def emit(hdl: str, out: Path) -> list[Path]:
    """The loopback top as ``spi_loopback`` HDL in ``out`` (VHDL: the MyHDL package first)."""
    return convert_block(_top, hdl, "spi_loopback", out)


@pytest.mark.hw
@pytest.mark.parametrize("sim", SIMULATORS)
def test_spi_slave_cocotb(sim: str) -> None:
    build = BUILD / "spi_slave" / sim
    sources = emit(hdl_for(sim), build / "src")
    run_cocotb(sim=sim, sources=sources, toplevel="spi_loopback", test_module="spi_slave_tb", build_dir=build / "sim",
               extra_env={"SPI_FRAMES": "60" if long_run() else "12", "SPI_SEED": "3"})


def test_emitted_hdl_is_deterministic_and_has_no_combinational_always(tmp_path: Path) -> None:
    """Verilog and VHDL of the slave alone and of the loopback: byte-identical on a second conversion, and the
    Verilog has no combinational ``always`` block left (the loopback's ``if`` in a comb block is rewritten)."""
    def slave_top() -> Any:
        b = [Signal(bool(0)) for _ in range(10)]
        return spi_slave(*b, Signal(intbv(0)[8:]), Signal(intbv(0)[8:]))

    for hdl in ("verilog", "vhdl"):
        for name, make in (("spi_slave", slave_top), ("spi_loopback", _top)):
            first = [f.read_text() for f in convert_block(make, hdl, name, tmp_path / "a" / hdl)]
            again = [f.read_text() for f in convert_block(make, hdl, name, tmp_path / "b" / hdl)]
            assert first == again
            if hdl == "verilog":
                assert time_zero_hazards(first[-1]) == [], name
    text = (tmp_path / "a" / "verilog" / "spi_slave.v").read_text()
    assert "module spi_slave" in text and "always @(posedge clk)" in text


def test_port_widths_are_checked() -> None:
    with pytest.raises(ValueError, match=r"rx_byte must be an unsigned 8-bit signal, not 7 bits"):
        spi_slave_check(Signal(intbv(0)[7:]), Signal(intbv(0)[8:]))
    with pytest.raises(ValueError, match=r"tx_byte must be an unsigned 8-bit signal, not 8 bits \(min -128\)"):
        spi_slave_check(Signal(intbv(0)[8:]), Signal(intbv(0, min=-128, max=128)))

"""Elaboration parameters of the array: validation messages, the pure sizing helpers, the emitter's memory
choice, manifest and determinism (no simulator needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("myhdl")

from plasticore.hw.array_emitter import OnlineO1ArrayEmitter, choose_memory, spram_fits
from plasticore.hw.o1_array import (
    addr_bits,
    array_port_signals,
    check_array_params,
    column_groups,
    cycles_per_timestep,
    o1_array,
    synapse_depth,
)
from plasticore.hw.o1_array_ram import ram_check
from plasticore.hw.o1_array_synmem import spram_chunks, spram_count, synmem_check
from plasticore.refmodel.online_o1 import OnlineO1Config

DEFAULT = OnlineO1Config()
SMALL = OnlineO1Config(weight_bits=8, trace_bits=6, reward_bits=4, learning_shift=3, trace_decay_shift=2)


# ---- pure helpers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "bits"), [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (256, 8), (257, 9)])
def test_addr_bits(n: int, bits: int) -> None:
    assert addr_bits(n) == bits


@pytest.mark.parametrize(
    ("n_pre", "n_post", "lanes", "k", "cycles"),
    [(5, 7, 1, 7, 39), (5, 7, 3, 3, 19), (3, 13, 2, 7, 25), (4, 4, 4, 1, 8), (1, 1, 1, 1, 5),
     (256, 256, 2, 128, 32772), (128, 256, 1, 256, 32772)],
)
def test_cycles_per_timestep(n_pre: int, n_post: int, lanes: int, k: int, cycles: int) -> None:
    assert column_groups(n_post, lanes) == k
    assert synapse_depth(n_pre, n_post, lanes) == n_pre * k
    assert cycles_per_timestep(n_pre, n_post, lanes) == cycles == n_pre * k + 4


@pytest.mark.parametrize(("width", "chunks"), [(1, 1), (14, 1), (16, 1), (17, 2), (28, 2), (32, 2)])
def test_spram_layout(width: int, chunks: int) -> None:
    assert spram_chunks(width) == chunks
    assert spram_count(width) == 2 * chunks


# ---- validation messages --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"n_pre": 0}, ValueError, "n_pre must be in 1..65536, not 0"),
        ({"n_post": 70000}, ValueError, "n_post must be in 1..65536, not 70000"),
        ({"lanes": 0}, ValueError, "lanes must be in 1..7, not 0"),
        ({"lanes": 8}, ValueError, "lanes must be in 1..7, not 8"),
        ({"n_pre": 2.0}, TypeError, "n_pre must be an int in 1..65536, not float 2.0"),
        ({"lanes": True}, TypeError, "lanes must be an int in 1..7, not bool True"),
        ({"config": "default"}, TypeError, "config must be an OnlineO1Config, not str"),
        ({"memory": "bram"}, ValueError, "memory must be one of ['inferred', 'spram'], not 'bram'"),
        ({"n_pre": 4096, "n_post": 2048}, ValueError,
         "n_pre * n_post must be in 1..4194304, not 4096 * 2048 = 8388608"),
        ({"n_pre": 1, "n_post": 2, "lanes": 1, "memory": "spram"}, ValueError,
         "SPRAM synapse memory depth (n_pre * ceil(n_post / lanes)) must be in 3..32768, not 2"),
        ({"n_pre": 256, "n_post": 256, "lanes": 1, "memory": "spram"}, ValueError,
         "SPRAM synapse memory depth (n_pre * ceil(n_post / lanes)) must be in 3..32768, not 65536"),
        ({"config": OnlineO1Config(weight_bits=20, trace_bits=16), "memory": "spram"}, ValueError,
         "SPRAM synapse word (weight_bits + trace_bits) must be in 1..32 bits, not 36"),
    ],
)
def test_check_array_params_messages(kwargs: dict[str, object], exc: type[Exception], message: str) -> None:
    args: dict[str, object] = {"config": DEFAULT, "n_pre": 5, "n_post": 7, "lanes": 3, "memory": "inferred"}
    args.update(kwargs)
    with pytest.raises(exc) as info:
        check_array_params(args["config"], args["n_pre"], args["n_post"], args["lanes"], args["memory"])
    assert str(info.value) == message


def test_block_validates_at_elaboration() -> None:
    with pytest.raises(ValueError, match=r"^lanes must be in 1\.\.7, not 9$"):
        o1_array(**array_port_signals(DEFAULT, 5, 7), config=DEFAULT, n_pre=5, n_post=7, lanes=9)
    with pytest.raises(ValueError, match=r"row/col ports must be 3/3 bits wide, not 3/4"):
        p = array_port_signals(DEFAULT, 5, 9)
        o1_array(**p, config=DEFAULT, n_pre=5, n_post=7, lanes=1)


def test_ram_and_synmem_checks() -> None:
    with pytest.raises(ValueError, match=r"^o1_array_ram depth must be an int >= 1, not 0$"):
        ram_check(0, 8, 1)
    with pytest.raises(ValueError, match=r"^o1_array_ram address width 2 cannot address depth 5$"):
        ram_check(5, 8, 2)
    with pytest.raises(ValueError, match=r"^SPRAM synapse memory address width must be in 2\.\.15, not 16$"):
        synmem_check(100, 16, 16)


def test_pipelined_update_cycles_and_messages() -> None:
    em = OnlineO1ArrayEmitter(SMALL, 256, 256, 2, pipelined_update=True)
    assert em.cycles_per_timestep == cycles_per_timestep(256, 256, 2, True) == 256 * 128 + 8
    assert em.manifest()["cycles_per_timestep_formula"] == "n_pre * ceil(n_post / lanes) + 8"
    assert em.manifest()["pipelined_update"] is True
    with pytest.raises(TypeError, match=r"^pipelined_update must be a bool, not int 1$"):
        OnlineO1ArrayEmitter(SMALL, 5, 7, 3, pipelined_update=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^pipelined_update must be a bool, not str 'yes'$"):
        o1_array(**array_port_signals(SMALL, 5, 7), config=SMALL, n_pre=5, n_post=7, lanes=3,
                 pipelined_update="yes")


def test_emitter_messages() -> None:
    with pytest.raises(ValueError, match=r"^memory must be one of \['auto', 'inferred', 'spram'\], not 'ebr'$"):
        OnlineO1ArrayEmitter(DEFAULT, 5, 7, 3, memory="ebr")
    with pytest.raises(ValueError, match=r"^module_name must be an HDL identifier"):
        OnlineO1ArrayEmitter(DEFAULT, 5, 7, 3, module_name="7array")
    with pytest.raises(ValueError, match=r"^lanes must be in 1\.\.7, not 0$"):
        OnlineO1ArrayEmitter(DEFAULT, 5, 7, 0)


# ---- memory choice and scale --------------------------------------------------------------------------------
def test_auto_memory_choice() -> None:
    assert choose_memory(DEFAULT, 5, 7, 3) == "inferred"  # small: EBR
    # ODIN-sized 64k synapses at W8/T6: 2 lanes x 2 SPRAMs, 32768 words per lane
    assert choose_memory(SMALL, 256, 256, 2) == "spram"
    # 32k synapses at W16/T12: 1 lane x 4 SPRAMs (two 16-bit halves x two parity banks)
    assert choose_memory(DEFAULT, 128, 256, 1) == "spram"
    # too large for four SPRAMs: falls back to inferred (for devices with more block RAM)
    assert not spram_fits(DEFAULT, 256, 256, 2)
    assert choose_memory(DEFAULT, 256, 256, 2) == "inferred"
    assert choose_memory(DEFAULT, 256, 256, 2, "inferred") == "inferred"


@pytest.mark.parametrize(
    ("config", "n_pre", "n_post", "lanes", "sprams", "cycles"),
    [(SMALL, 256, 256, 2, 4, 32772), (DEFAULT, 128, 256, 1, 4, 32772), (SMALL, 128, 128, 1, 2, 16388)],
)
def test_manifest_of_up5k_arrays(config: OnlineO1Config, n_pre: int, n_post: int, lanes: int, sprams: int,
                                 cycles: int) -> None:
    m = OnlineO1ArrayEmitter(config, n_pre, n_post, lanes, memory="spram").manifest()
    assert m["memory"] == "spram"
    assert m["sprams"] == sprams
    assert m["cycles_per_timestep"] == cycles
    assert m["cycles_per_timestep_formula"] == "n_pre * ceil(n_post / lanes) + 4"
    assert m["n_synapses"] == n_pre * n_post
    assert m["memories"][0]["depth"] == n_pre * -(-n_post // lanes)
    assert m["simulation_models"]["verilog"] == ["SB_SPRAM256KA.v"]


def test_emitter_is_deterministic(tmp_path: Path) -> None:
    for memory, hdls in (("spram", ("verilog", "vhdl")), ("inferred", ("verilog",))):
        em = OnlineO1ArrayEmitter(SMALL, 3, 13, 2, memory=memory, module_name="arr")
        for hdl in hdls:
            a = [f.read_bytes() for f in em.write(tmp_path / "a" / memory / hdl, hdl)]
            b = [f.read_bytes() for f in em.write(tmp_path / "b" / memory / hdl, hdl)]
            assert a == b
        verilog = (tmp_path / "a" / memory / "verilog" / "arr.v").read_text()
        names = [f.name for f in em.write(tmp_path / "m" / memory, "vhdl", sim_models=True)]
        if memory == "spram":
            assert names == ["pck_myhdl_011.vhd", "SB_SPRAM256KA.vhd", "arr.vhd"]
            assert "SB_SPRAM256KA spram_l1_b1_lo" in verilog
        else:
            assert names == ["pck_myhdl_011.vhd", "arr.vhd"]
            assert "SB_SPRAM256KA" not in verilog


def test_spram_simulation_models() -> None:
    from plasticore.hw.o1_array_spram import SPRAM_VHDL_MODEL, spram_verilog_model

    v = spram_verilog_model()
    assert v.count("module SB_SPRAM256KA") == 1 and v.rstrip().endswith("// verilator lint_on BLKSEQ")
    assert "specify" not in v and "DATAOUT <= mem[ADDRESS];" in v
    assert "entity SB_SPRAM256KA is" in SPRAM_VHDL_MODEL

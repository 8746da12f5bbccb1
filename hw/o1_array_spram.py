"""``o1_array_spram``: one iCE40 UltraPlus ``SB_SPRAM256KA`` (16k x 16 single-port RAM), as user-defined HDL.

Yosys does not infer the UP5K's SPRAM, so the converted HDL instantiates the primitive explicitly
(MyHDL user-defined code); MyHDL simulation runs the behavioural model below instead. The primitive is
used with every nibble enabled, chip select high, standby/sleep low and power on.

Ports
-----
clk   in   clock (``CLOCK``)
we    in   1 bit (``WREN``): write ``din`` to ``mem[addr]`` on the rising edge; otherwise read
addr  in   unsigned 14 bits (``ADDRESS``)
din   in   unsigned ``n <= 16`` bits (``DATAIN``, zero-padded to 16)
inst  parameter: the instance name in the HDL (unique in the design: the converter flattens the hierarchy)
dout  out  unsigned ``n`` bits (the low bits of ``DATAOUT``): ``mem[addr]`` one edge after a read;
           **undefined after a write**
           (Yosys' ``ice40/cells_sim.v`` model gives ``x``, the VHDL model :data:`SPRAM_VHDL_MODEL` ``'X'``,
           the MyHDL model 0): never use ``dout`` in the clock after a write.

Simulation of the converted HDL: Verilog with Yosys' ``ice40/cells_sim.v`` model of ``SB_SPRAM256KA``
(:func:`spram_verilog_model` extracts that one module); VHDL with :data:`SPRAM_VHDL_MODEL`, an entity with the
same ports and the same behaviour, written for GHDL (for synthesis the VHDL would need the vendor primitive).
"""

from __future__ import annotations

import re
from typing import Any

from myhdl import always, block

from plasticore.flows.toolchain import yosys_ice40_cells_sim  # the Yosys search lives in flows/

SPRAM_WORDS = 16384
SPRAM_BITS = 16
SPRAM_ADDR_BITS = 14

def _verilog_code(inst: str, n: int) -> str:
    """Instantiation text; ``$clk`` etc. are MyHDL template names. Unused DATAOUT bits are waived for lint."""
    pad = SPRAM_BITS - n
    din = f"{{{pad}'b0, $din}}" if pad else "$din"
    return f"""// verilator lint_off UNUSEDSIGNAL
wire [15:0] {inst}_q;
// verilator lint_on UNUSEDSIGNAL
SB_SPRAM256KA {inst} (
    .ADDRESS($addr),
    .DATAIN({din}),
    .MASKWREN(4'b1111),
    .WREN($we),
    .CHIPSELECT(1'b1),
    .CLOCK($clk),
    .STANDBY(1'b0),
    .SLEEP(1'b0),
    .POWEROFF(1'b1),
    .DATAOUT({inst}_q)
);
assign $dout = {inst}_q[{n - 1}:0];
"""


def _vhdl_code(inst: str, n: int) -> str:
    pad = SPRAM_BITS - n
    din = f'"{"0" * pad}" & std_logic_vector($din)' if pad else "std_logic_vector($din)"
    return f"""{inst}_blk: block
    signal d : std_logic_vector(15 downto 0);
    signal q : std_logic_vector(15 downto 0);
begin
    d <= {din};
    {inst}: entity work.SB_SPRAM256KA
        port map (
            ADDRESS => std_logic_vector($addr),
            DATAIN => d,
            MASKWREN => "1111",
            WREN => $we,
            CHIPSELECT => '1',
            CLOCK => $clk,
            STANDBY => '0',
            SLEEP => '0',
            POWEROFF => '1',
            DATAOUT => q
        );
    $dout <= unsigned(q({n - 1} downto 0));
end block {inst}_blk;
"""


SPRAM_VHDL_MODEL = """-- Behavioural model of the iCE40 UltraPlus SB_SPRAM256KA for simulation (GHDL), following Yosys'
-- ice40/cells_sim.v: a read (CHIPSELECT, not WREN) registers mem(ADDRESS) on the rising edge; a write
-- stores the nibbles enabled by MASKWREN and makes DATAOUT undefined; STANDBY makes DATAOUT undefined;
-- SLEEP or POWEROFF = '0' forces DATAOUT to zero (POWEROFF falling also loses the contents).
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity SB_SPRAM256KA is
    port (
        ADDRESS    : in  std_logic_vector(13 downto 0);
        DATAIN     : in  std_logic_vector(15 downto 0);
        MASKWREN   : in  std_logic_vector(3 downto 0);
        WREN       : in  std_logic;
        CHIPSELECT : in  std_logic;
        CLOCK      : in  std_logic;
        STANDBY    : in  std_logic;
        SLEEP      : in  std_logic;
        POWEROFF   : in  std_logic;
        DATAOUT    : out std_logic_vector(15 downto 0)
    );
end entity SB_SPRAM256KA;

architecture behavioural of SB_SPRAM256KA is
begin
    process (CLOCK, SLEEP, POWEROFF)
        type t_mem is array (0 to 16383) of std_logic_vector(15 downto 0);
        variable mem : t_mem := (others => (others => 'X'));
        variable a : integer;
    begin
        if SLEEP = '1' or POWEROFF = '0' then
            DATAOUT <= (others => '0');
            if POWEROFF = '0' then
                mem := (others => (others => 'X'));
            end if;
        elsif rising_edge(CLOCK) then
            if STANDBY = '1' then
                DATAOUT <= (others => 'X');
            elsif CHIPSELECT = '1' then
                a := to_integer(unsigned(ADDRESS));
                if WREN = '0' then
                    DATAOUT <= mem(a);
                else
                    for n in 0 to 3 loop
                        if MASKWREN(n) = '1' then
                            mem(a)(4 * n + 3 downto 4 * n) := DATAIN(4 * n + 3 downto 4 * n);
                        end if;
                    end loop;
                    DATAOUT <= (others => 'X');
                end if;
            end if;
        end if;
    end process;
end architecture behavioural;
"""


def spram_verilog_model() -> str:
    """The ``SB_SPRAM256KA`` module of Yosys' ``ice40/cells_sim.v`` (without its timing ``specify`` blocks)."""
    text = yosys_ice40_cells_sim().read_text()
    m = re.search(r"^module SB_SPRAM256KA\b.*?^endmodule\b", text, flags=re.S | re.M)
    if m is None:
        raise ValueError("SB_SPRAM256KA not found in Yosys' ice40/cells_sim.v")
    body = m.group(0)
    body = re.sub(r"^`ifdef ICE40_U\b.*?^`endif\b[^\n]*\n", "", body, flags=re.S | re.M)
    return (
        "// SB_SPRAM256KA simulation model, extracted from Yosys ice40/cells_sim.v (ISC licence)\n"
        "`timescale 1ns/10ps\n// verilator lint_off BLKSEQ\n" + body + "\n// verilator lint_on BLKSEQ\n"
    )


@block
def o1_array_spram(clk: Any, we: Any, addr: Any, din: Any, dout: Any, inst: str) -> Any:
    n = len(din)
    if len(addr) != SPRAM_ADDR_BITS or not 1 <= n <= SPRAM_BITS or len(dout) != n:
        raise ValueError(
            f"o1_array_spram ports must be addr 14 bits and din/dout of one width in 1..16, "
            f"not {len(addr)}, {len(din)}, {len(dout)}"
        )
    store: dict[int, int] = {}

    @always(clk.posedge)
    def model() -> None:
        if we:
            store[int(addr)] = int(din)
            dout.next = 0
        else:
            dout.next = store.get(int(addr), 0)

    clk.read = True
    we.read = True
    addr.read = True
    din.read = True
    dout.driven = "wire"
    o1_array_spram.verilog_code = _verilog_code(inst, n)
    o1_array_spram.vhdl_code = _vhdl_code(inst, n)
    return model

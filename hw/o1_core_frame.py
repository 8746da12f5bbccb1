"""``o1_core_frame``: the frame decoder of the core's SPI interface (bytes in, register accesses out).

It sits between :func:`~plasticore.hw.spi_slave.spi_slave` (bytes) and the core's access unit (one register
access at a time) and implements the frames of :mod:`plasticore.host.regmap`: byte 0 the command, bytes 1-4
the address, then (write) 4-byte words or (read) one dummy byte and 4-byte words, the address incrementing
after each word (``SYN``: the column wraps to 0 and the row steps after ``col = n_post - 1``).

Reply bytes (what the slave shifts out): byte 0 is ``status_byte`` (``tx_byte`` shows it outside a frame,
which is when the slave samples it), bytes 1-5 are 0, then the words read. The slave samples the reply to
byte ``n + 1`` when byte ``n`` completes, so the next reply byte is queued one byte ahead: word ``q`` of a read
is fetched when the address (``q = 0``) or word ``q - 1`` was fetched, and queued byte by byte; its access error
(``acc_err``) is reported (``err_set``) once its first byte has been shifted out, so fetching ahead never sets one.
A write access is issued when its fourth byte arrives; its error is reported when the access completes.
``frame_end`` drops a partial word; an access in flight then completes but its result is discarded.

Ports
-----
clk, rst        in   clock, synchronous reset
frame_start     in   slave: ``cs_n`` fell
frame_end       in   slave: ``cs_n`` rose
rx_valid        in   slave: ``rx_byte`` completed
rx_byte         in   8 bits
tx_byte         out  8 bits: the reply byte the slave samples next (``status_byte`` outside a frame)
status_byte     in   8 bits: the low byte of STATUS
acc_req         out  1 clock: start an access (``acc_we``, ``acc_reg``, ``acc_addr``, ``acc_wdata``)
acc_we          out  1 bit
acc_reg         out  7 bits
acc_addr        out  32 bits
acc_wdata       out  32 bits
acc_done        in   1 clock: the access finished (at most :data:`MAX_ACCESS_CLOCKS` after ``acc_req``)
acc_rdata       in   32 bits, valid with ``acc_done`` (reads)
acc_err         in   3 bits ``{busy, addr, cmd}``, valid with ``acc_done``
err_set         out  3 bits: one-clock pulses setting the sticky STATUS errors ``{ERR_BUSY, ERR_ADDR, ERR_CMD}``

Parameter: ``n_post`` (for the ``SYN`` column wrap).
"""

from __future__ import annotations

from typing import Any

from myhdl import Signal, always, always_comb, block, concat, intbv, modbv

from plasticore.host.regmap import Reg

MAX_ACCESS_CLOCKS = 8  # the access unit answers within this many clocks (the slave needs 8 per SCK period x 8)


@block
def o1_core_frame(
    clk: Any, rst: Any, frame_start: Any, frame_end: Any, rx_valid: Any, rx_byte: Any, tx_byte: Any,
    status_byte: Any, acc_req: Any, acc_we: Any, acc_reg: Any, acc_addr: Any, acc_wdata: Any, acc_done: Any,
    acc_rdata: Any, acc_err: Any, err_set: Any, n_post: int,
) -> Any:
    if not 1 <= n_post <= 1 << 16:
        raise ValueError(f"n_post must be in 1..65536, not {n_post}")
    last_col = n_post - 1
    syn = int(Reg.SYN)

    in_frame = Signal(bool(0))
    hdr = Signal(intbv(0, min=0, max=6))  # bytes of the header seen: 0 cmd, 1..4 address, 5: data phase
    bidx = Signal(intbv(0)[2:])  # byte within the current data word (reads: the dummy byte is bidx 0)
    is_wr = Signal(bool(0))
    reg = Signal(intbv(0)[7:])
    addr = Signal(intbv(0)[32:])  # the next address to access
    wsh = Signal(intbv(0)[24:])  # write word bytes 0..2
    wordbuf = Signal(intbv(0)[32:])  # the word being shifted out
    nextbuf = Signal(intbv(0)[32:])  # the word fetched ahead
    nexterr = Signal(intbv(0)[3:])
    qerr1 = Signal(intbv(0)[3:])  # error of the word whose first byte is queued in tx_reg
    qerr2 = Signal(intbv(0)[3:])  # ... whose first byte the slave is shifting out
    tx_reg = Signal(intbv(0)[8:])
    # fetch control: f_go starts a fetch; f_busy while it runs; f_first: the fetch is word 0 (goes to wordbuf)
    f_go = Signal(bool(0))
    f_busy = Signal(bool(0))
    f_first = Signal(bool(0))
    f_chain = Signal(bool(0))  # after word 0, fetch word 1 at once
    w_go = Signal(bool(0))
    w_data = Signal(intbv(0)[32:])
    a_busy_wr = Signal(bool(0))
    next_addr = Signal(intbv(0)[32:])
    col_last = Signal(bool(0))
    req_q = Signal(bool(0))
    we_q = Signal(bool(0))
    addr_q = Signal(intbv(0)[32:])
    wdata_q = Signal(intbv(0)[32:])
    err_q = Signal(intbv(0)[3:])

    @always_comb
    def col_flag() -> None:
        col_last.next = addr[16:] == last_col

    row_next = Signal(modbv(0)[16:])
    addr_inc = Signal(modbv(0)[32:])

    @always_comb
    def increments() -> None:
        row_next.next = addr[32:16] + 1
        addr_inc.next = addr + 1

    @always_comb
    def increment() -> None:
        if reg == syn and col_last:
            next_addr.next = concat(row_next, intbv(0)[16:])
        else:
            next_addr.next = addr_inc

    @always(clk.posedge)
    def fsm() -> None:
        req_q.next = 0
        err_q.next = 0
        if rst:
            in_frame.next = 0
            hdr.next = 0
            bidx.next = 0
            is_wr.next = 0
            reg.next = 0
            addr.next = 0
            tx_reg.next = 0
            f_go.next = 0
            f_busy.next = 0
            f_first.next = 0
            f_chain.next = 0
            w_go.next = 0
            a_busy_wr.next = 0
        else:
            if frame_start:
                in_frame.next = 1
                qerr1.next = 0
                qerr2.next = 0
                hdr.next = 0
                bidx.next = 0
                tx_reg.next = 0
                f_go.next = 0
                f_chain.next = 0
                w_go.next = 0
            elif frame_end:
                in_frame.next = 0
                f_go.next = 0
                f_chain.next = 0
                w_go.next = 0
            elif rx_valid and in_frame:
                if hdr == 0:
                    is_wr.next = rx_byte[7]
                    reg.next = rx_byte[7:]
                    hdr.next = 1
                elif hdr < 5:
                    addr.next = concat(addr[24:], rx_byte)
                    hdr.next = hdr + 1
                    if hdr == 4 and not is_wr:
                        f_go.next = 1
                        f_first.next = 1
                        f_chain.next = 1
                else:
                    bidx.next = bidx + 1
                    if is_wr:
                        if bidx == 3:
                            w_data.next = concat(wsh, rx_byte)
                            w_go.next = 1
                        else:
                            wsh.next = concat(wsh[16:], rx_byte)
                    else:
                        if bidx == 0:  # the first byte of the next word was sampled by the slave now
                            tx_reg.next = wordbuf[24:16]
                            qerr2.next = qerr1
                            qerr1.next = 0
                        elif bidx == 1:  # ... and has been shifted out now: its error counts
                            err_q.next = qerr2
                            qerr2.next = 0
                            tx_reg.next = wordbuf[16:8]
                        elif bidx == 2:
                            tx_reg.next = wordbuf[8:]
                        else:
                            tx_reg.next = nextbuf[32:24]
                            wordbuf.next = nextbuf
                            qerr1.next = nexterr
                            f_go.next = 1
                            f_first.next = 0
            # issue one access at a time (the access unit is idle: f_busy / a_busy_wr)
            if not f_busy and not a_busy_wr and not req_q:
                if f_go and not frame_start and not frame_end:
                    req_q.next = 1
                    we_q.next = 0
                    addr_q.next = addr
                    addr.next = next_addr
                    f_go.next = 0
                    f_busy.next = 1
                elif w_go and not frame_start and not frame_end:
                    req_q.next = 1
                    we_q.next = 1
                    addr_q.next = addr
                    wdata_q.next = w_data
                    addr.next = next_addr
                    w_go.next = 0
                    a_busy_wr.next = 1
            if acc_done:
                if a_busy_wr:
                    a_busy_wr.next = 0
                    err_q.next = acc_err
                if f_busy:
                    f_busy.next = 0
                    f_first.next = 0
                    if in_frame and not frame_end and not frame_start:
                        if f_first:
                            wordbuf.next = acc_rdata
                            tx_reg.next = acc_rdata[32:24]
                            qerr1.next = acc_err
                            if f_chain:
                                f_chain.next = 0
                                f_go.next = 1
                        else:
                            nextbuf.next = acc_rdata
                            nexterr.next = acc_err

    @always_comb
    def outputs() -> None:
        if in_frame:
            tx_byte.next = tx_reg
        else:
            tx_byte.next = status_byte
        acc_req.next = req_q
        acc_we.next = we_q
        acc_reg.next = reg
        acc_addr.next = addr_q
        acc_wdata.next = wdata_q
        err_set.next = err_q

    return col_flag, increments, increment, fsm, outputs

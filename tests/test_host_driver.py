"""``plasticore.host``: :class:`CoreDriver` against :class:`SimulatedCore` (no HDL), and the simulated core's frames.

* closed loop: ``driver.step`` gives exactly ``OnlineO1Network.step``'s spikes and state (random configs and
  sizes, several spike words, scalar and vector rewards);
* ``load_network`` / ``read_network`` round trip (the ``OnlineO1Network.state_dict`` format);
* the frames' bytes, written out by hand for one read and one write;
* every bad command (unknown register, read of write-only, write to read-only, each out-of-range address,
  bursts running off the end, state access and TICK while busy) changes nothing and sets its one bit;
  aborted frames; the double-buffered inputs; OUT_FIFO by index; STEP; AUTO_TICK; the driver's checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from plasticore.host.driver import ConfigMismatchError, CoreDriver, CoreError, IdentityError
from plasticore.host.regmap import ERRORS, FIFO_VALID, ID_VALUE, PARAM_FIELDS, Control, Reg, Status, syn_address
from plasticore.host.sim import SimulatedCore, next_address, sign_extend
from plasticore.refmodel.o1_network import FixedLIFConfig, OnlineO1Network
from plasticore.refmodel.online_o1 import OnlineO1Config


class Recorder:
    """A transport that records every frame and its reply."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.log: list[tuple[bytes, bytes]] = []

    def transfer(self, data: bytes) -> bytes:
        reply = self.inner.transfer(data)
        self.log.append((bytes(data), reply))
        return reply


def random_state(rng: np.random.Generator, net: OnlineO1Network) -> dict[str, Any]:
    c, lif = net.o1_config, net.lif_config
    st = net.state_dict()
    st["weight"] = rng.integers(0, c.max_weight + 1, st["weight"].shape)
    st["eligibility"] = rng.integers(c.eligibility_min, c.eligibility_max + 1, st["eligibility"].shape)
    st["pre_trace"] = rng.integers(0, c.max_trace + 1, net.n_pre)
    st["post_trace"] = rng.integers(0, c.max_trace + 1, net.n_post)
    st["membrane"] = rng.integers(lif.membrane_min, lif.membrane_max + 1, net.n_post)
    return st


def random_network(rng: np.random.Generator) -> OnlineO1Network:
    w = int(rng.integers(2, 17))
    c = OnlineO1Config(weight_bits=w, trace_bits=int(rng.integers(2, 17)), reward_bits=int(rng.integers(1, 17)),
                       learning_shift=int(rng.integers(0, 8)), trace_decay_shift=int(rng.integers(0, 6)))
    v = int(rng.integers(8, 33))
    lif = FixedLIFConfig(membrane_bits=v, leak_shift=int(rng.integers(0, 6)),
                         threshold=int(rng.integers(1, 1 << min(v - 1, 12))),
                         reset=str(rng.choice(["zero", "subtract"])),
                         weight_offset=int(rng.integers(0, c.max_weight + 1)))
    return OnlineO1Network(c, lif, n_pre=int(rng.integers(1, 80)), n_post=int(rng.integers(1, 24)))


def make(net: OnlineO1Network | None = None, **kw: Any) -> tuple[SimulatedCore, CoreDriver]:
    net = net if net is not None else OnlineO1Network(OnlineO1Config(), FixedLIFConfig(), n_pre=40, n_post=5)
    sim = SimulatedCore(net, **kw)
    return sim, CoreDriver(sim)


def states_equal(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            assert a[k] == b[k], k


# ---- closed loop ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_closed_loop_steps_equal_the_model(seed: int) -> None:
    rng = np.random.default_rng(seed)
    net = random_network(rng)
    st = random_state(rng, net)
    ref = OnlineO1Network(net.o1_config, net.lif_config, net.n_pre, net.n_post)
    ref.load_state_dict(st)
    sim, drv = make(net, sck_divider=int(rng.integers(8, 20)), cycles_per_step=lambda a: 50 + 3 * a)
    drv.check_config(net.o1_config, net.lif_config, net.n_pre, net.n_post)
    drv.load_network(st)
    c = net.o1_config
    for t in range(25):
        pre = rng.random(net.n_pre) < rng.choice([0.0, 0.1, 0.5, 1.0])
        if t % 3 == 2:
            reward: Any = rng.integers(-(1 << 17), 1 << 17, net.n_post)  # beyond R bits: saturated
        else:
            reward = int(rng.integers(c.reward_min * 2, c.reward_max * 2 + 1))
        got = drv.step(pre, reward)
        want = ref.step(pre, reward)
        np.testing.assert_array_equal(got, want, err_msg=f"step {t}")
        if t % 8 == 0:
            states_equal(drv.read_network(), ref.state_dict())
    states_equal(drv.read_network(), ref.state_dict())
    states_equal(sim.network.state_dict(), ref.state_dict())
    assert drv.read(Reg.STEP)[0] == 25
    drv.raise_on_error()


def test_state_round_trip_and_load_into_a_network() -> None:
    rng = np.random.default_rng(7)
    net = OnlineO1Network(OnlineO1Config(weight_bits=16, trace_bits=16), FixedLIFConfig(membrane_bits=32),
                          n_pre=33, n_post=7)
    sim, drv = make(net)
    drv.max_burst_words = 10  # bursts split over frames continue the SYN address correctly
    st = random_state(rng, net)
    st["eligibility"][0, 0], st["eligibility"][1, 0] = -(1 << 15), (1 << 15) - 1
    st["membrane"][0], st["membrane"][1] = -(1 << 31), (1 << 31) - 1
    drv.load_network(st)
    states_equal(sim.network.state_dict(), st)
    back = drv.read_network()
    states_equal(back, st)
    other = OnlineO1Network(net.o1_config, net.lif_config, 33, 7)
    other.load_state_dict(back)
    states_equal(other.state_dict(), st)


# ---- frame bytes ----------------------------------------------------------------------------------------

def test_frame_bytes_by_hand() -> None:
    sim, _ = make()
    rec = Recorder(sim)
    drv = CoreDriver(rec)
    drv.write(Reg.SYN, syn_address(2, 3), [0x0012FFFE, 0x0034F801])
    assert rec.log[-1] == (bytes.fromhex("a0 0002 0003 0012fffe 0034f801"), bytes(13))
    assert drv.read(Reg.SYN, syn_address(2, 3), 2) == [0x0012FFFE, 0x0034F801]
    assert rec.log[-1] == (bytes.fromhex("20 00020003 00 00000000 00000000"),
                           bytes.fromhex("00 00000000 00 0012fffe 0034f801"))
    assert drv.read(Reg.ID) == [ID_VALUE]
    assert rec.log[-1][0] == bytes.fromhex("00 00000000 00 00000000")
    assert rec.log[-1][1] == bytes.fromhex("00 00000000 00 504c4331")
    sim.transfer(bytes([0x05]) + bytes(9))  # unknown register: ERR_CMD, reply byte 0 of the next frame shows it
    assert sim.transfer(bytes([0x08]))[0] == Status.ERR_CMD
    assert drv.poll() == Status.ERR_CMD and rec.log[-1] == (b"\x08", b"\x02")


def test_simulated_time_per_byte_and_busy_time() -> None:
    sim, drv = make(sck_divider=10, cycles_per_step=lambda a: 1000 + a)
    drv.write(Reg.SPIKES_IN, 0, [0b111])
    t0 = sim.time
    assert t0 == 9 * 80
    drv.write(Reg.CONTROL, 0, [int(Control.TICK)])  # accepted when byte 8 completes
    assert sim.busy and sim._busy_until == t0 + 9 * 80 + 1003
    sim.advance(1003 - 1)
    assert sim.busy
    sim.advance(1)
    assert not sim.busy and drv.read(Reg.STEP)[0] == 1


# ---- bad commands ---------------------------------------------------------------------------------------

def _bad(sim: SimulatedCore, frame: bytes, bit: Status, changed: set[str] | None = None) -> bytes:
    """Send a raw frame; nothing but the error bits (and ``changed``) may change; exactly ``bit`` is set."""
    before = sim.snapshot()
    reply = sim.transfer(frame)
    after = sim.snapshot()
    assert after["errors"] == int(bit), (frame.hex(), after["errors"])
    for k in before:
        if k in (changed or set()):
            continue
        if k == "state":
            states_equal(before[k], after[k])
        elif k != "errors":
            same = np.array_equal(before[k], after[k]) if isinstance(before[k], np.ndarray) else before[k] == after[k]
            assert same, k
    sim.transfer(bytes([0x88, 0, 0, 0, 0, 0, 0, 0, 0x0E]))  # W1C every error
    assert sim.status() & 0x0E == 0
    return reply


def _rd(reg: int, addr: int = 0, n: int = 1) -> bytes:
    return bytes([reg]) + addr.to_bytes(4, "big") + bytes(1 + 4 * n)


def _wr(reg: int, addr: int, *words: int) -> bytes:
    return bytes([0x80 | reg]) + addr.to_bytes(4, "big") + b"".join(w.to_bytes(4, "big") for w in words)


def test_every_bad_command_changes_nothing_and_sets_its_bit() -> None:
    rng = np.random.default_rng(3)
    net = OnlineO1Network(OnlineO1Config(weight_bits=8, trace_bits=6, reward_bits=4), FixedLIFConfig(), 40, 5)
    sim, drv = make(net, cycles_per_step=lambda a: 10**7)  # busy for the whole ERR_BUSY part
    drv.load_network(random_state(rng, net))
    nw = 2
    # ERR_CMD: unknown registers, read of write-only, writes to read-only
    for reg in (0x03, 0x0F, 0x15, 0x25, 0x7F):
        assert _bad(sim, _rd(reg), Status.ERR_CMD)[6:] == bytes(4)
        _bad(sim, _wr(reg, 0, 0xFFFFFFFF), Status.ERR_CMD)
    assert _bad(sim, _rd(Reg.SPIKES_IN), Status.ERR_CMD)[6:] == bytes(4)
    for reg in (Reg.ID, Reg.VERSION, Reg.PARAM, Reg.STEP, Reg.OUT_COUNT, Reg.OUT_FIFO, Reg.OUT_SPIKES,
                Reg.OUT_SPIKES_AT):
        _bad(sim, _wr(reg, 0, 0x12345678), Status.ERR_CMD)
    # ERR_ADDR: every addressed register one past its end, and huge addresses
    bad_addrs = [(Reg.SYN, syn_address(40, 0)), (Reg.SYN, syn_address(0, 5)), (Reg.SYN, syn_address(3, 0xFFFF)),
                 (Reg.PRE_TRACE, 40), (Reg.POST_TRACE, 5), (Reg.MEMBRANE, 5), (Reg.REWARD_VEC, 5),
                 (Reg.SPIKES_IN, nw), (Reg.PARAM, len(PARAM_FIELDS)), (Reg.OUT_FIFO, 5), (Reg.PRE_TRACE, 0xFFFFFFFF),
                 (Reg.OUT_SPIKES, 1), (Reg.OUT_SPIKES_AT, 1), (Reg.OUT_SPIKES_AT, 2 << 16)]
    for reg, addr in bad_addrs:
        if reg != Reg.SPIKES_IN:
            assert _bad(sim, _rd(reg, addr), Status.ERR_ADDR)[6:] == bytes(4), (reg, addr)
        if reg not in (Reg.PARAM, Reg.OUT_FIFO, Reg.OUT_SPIKES, Reg.OUT_SPIKES_AT):
            _bad(sim, _wr(reg, addr, 0x00010001), Status.ERR_ADDR)
    # the unknown register wins over the address, the address over busy
    _bad(sim, _rd(0x30, 0xFFFFFFFF), Status.ERR_CMD)
    # bursts running off the end: the words in range take effect, the rest is rejected
    last = syn_address(39, 4)
    _bad(sim, _wr(Reg.SYN, last, 0x00070003, 0x00090001), Status.ERR_ADDR, changed={"state"})
    assert sim.network.weights[4, 39] == 7 and sim.network.eligibility[4, 39] == 3
    _bad(sim, _wr(Reg.MEMBRANE, 4, 0xFFFFFFFE, 5), Status.ERR_ADDR, changed={"state"})
    assert sim.network.membrane[4] == -2
    r = _bad(sim, _rd(Reg.SYN, last, 2), Status.ERR_ADDR)
    assert r[6:10] == (0x00070003).to_bytes(4, "big") and r[10:] == bytes(4)
    n_params = len(PARAM_FIELDS)
    r = _bad(sim, _rd(Reg.PARAM, n_params - 2, 3), Status.ERR_ADDR)
    assert r[6:10] == sim.params[PARAM_FIELDS[-2]].to_bytes(4, "big") and r[14:] == bytes(4)
    # a burst that ends exactly at the last address sets nothing (fetching ahead never sets an error)
    assert sim.transfer(_rd(Reg.SYN, syn_address(39, 3), 2))[6:10] != b"\xff" * 4
    assert sim.transfer(_rd(Reg.PARAM, 0, len(PARAM_FIELDS)))[6:10] == (40).to_bytes(4, "big")
    assert sim.status() & 0x0E == 0
    # ERR_BUSY: state accesses and TICK while a timestep runs
    sim.transfer(_wr(Reg.CONTROL, 0, int(Control.TICK)))
    assert sim.busy
    for reg, addr in ((Reg.SYN, syn_address(1, 2)), (Reg.PRE_TRACE, 3), (Reg.POST_TRACE, 1), (Reg.MEMBRANE, 0),
                      (Reg.REWARD_VEC, 2)):
        assert _bad(sim, _rd(reg, addr), Status.ERR_BUSY)[6:] == bytes(4)
        _bad(sim, _wr(reg, addr, 0x00050005), Status.ERR_BUSY)
    steps = sim.steps_started
    _bad(sim, _wr(Reg.CONTROL, 0, int(Control.TICK | Control.REWARD_VECTOR)), Status.ERR_BUSY, changed={"mode_vec"})
    assert sim.steps_started == steps and sim.snapshot()["mode_vec"]  # the mode bits were written
    assert sim.busy
    # ... while SPIKES_IN, REWARD, TICK_PERIOD, STATUS and the outputs work
    sim.transfer(_wr(Reg.SPIKES_IN, 1, 0xFF))
    sim.transfer(_wr(Reg.REWARD, 0, 0xFFFFFFFD))
    sim.transfer(_wr(Reg.TICK_PERIOD, 0, 77))
    snap = sim.snapshot()
    assert snap["pending"] == [0, 0xFF] and snap["reward"] == -3 and snap["tick_period"] == 77
    assert snap["errors"] == 0


def test_errors_are_sticky_until_written_one() -> None:
    sim, drv = make()
    sim.transfer(_rd(0x7E))
    sim.transfer(_rd(Reg.PRE_TRACE, 99))
    assert drv.status() == Status.ERR_CMD | Status.ERR_ADDR
    with pytest.raises(CoreError, match=r"core reports ERR_CMD, ERR_ADDR \(STATUS 0x06\)") as e:
        drv.raise_on_error()
    assert e.value.status == 6
    drv.write(Reg.STATUS, 0, [0])
    drv.write(Reg.STATUS, 0, [int(Status.ERR_CMD | Status.BUSY)])
    assert drv.status() == Status.ERR_ADDR
    drv.clear_errors()
    assert drv.status() == Status(0)
    drv.raise_on_error()


def test_aborted_frames() -> None:
    sim, drv = make()
    before = sim.snapshot()
    frame = _wr(Reg.SYN, syn_address(0, 0), 0x00110002, 0x00220003)
    for cut in (0, 1, 3, 5, 8):
        sim.transfer(frame[:cut])  # no complete word: nothing happens
    states_equal(sim.snapshot()["state"], before["state"])
    sim.transfer(frame[:9 + 2])  # the first word took effect, the partial second is dropped
    assert sim.network.weights[0, 0] == 0x11 and sim.network.eligibility[0, 0] == 2
    assert sim.network.weights[1, 0] == 0 and sim.network.eligibility[1, 0] == 0
    sim.transfer(_rd(Reg.SYN, syn_address(0, 5), 2)[:7])  # an aborted read of a bad address: its word started
    assert sim.status() == Status.ERR_ADDR
    drv.clear_errors()
    sim.transfer(_rd(Reg.SYN, syn_address(0, 5), 2)[:6])  # ... but not when the frame ends before the word
    assert sim.status() == 0


# ---- timesteps ------------------------------------------------------------------------------------------

def test_double_buffered_inputs_and_outputs_by_index() -> None:
    net = OnlineO1Network(OnlineO1Config(), FixedLIFConfig(threshold=1, leak_shift=0), n_pre=3, n_post=4,
                          initial_weights=np.array([[5, 0, 0], [0, 5, 0], [5, 5, 0], [0, 0, 0]]))
    sim, drv = make(net, cycles_per_step=lambda a: 5000)
    ref = OnlineO1Network(net.o1_config, net.lif_config, 3, 4, initial_weights=net.weights)
    drv.write_spikes([1, 0, 0])
    drv.set_reward(3)
    drv.tick()
    assert sim.busy and sim.snapshot()["pending"] == [0]  # latched and cleared
    drv.write_spikes([0, 1, 0])  # for the next step
    drv.set_reward(-2)
    assert drv.read(Reg.OUT_COUNT) == [0]  # step 1 has not completed yet
    drv.wait_idle()
    ref.step([1, 0, 0], 3)
    assert drv.read(Reg.OUT_COUNT) == [2]
    assert drv.read(Reg.OUT_FIFO, 0, 4) == [FIFO_VALID | 0, FIFO_VALID | 2, 0, 0]
    assert drv.read(Reg.OUT_FIFO, 1) == [FIFO_VALID | 2]  # by index, no side effects
    drv.tick()
    assert list(drv.read_outputs()) == [0, 2]  # readable until the next step completes
    drv.wait_idle()
    z = ref.step([0, 1, 0], -2)
    assert list(drv.read_outputs()) == list(np.flatnonzero(z)) == [1, 2]
    states_equal(sim.network.state_dict(), ref.state_dict())
    assert drv.read(Reg.STEP) == [2] and drv.read(Reg.REWARD) == [(-2) & 0xFFFFFFFF]


def test_packed_outputs_by_hand() -> None:
    """70 neurons: three OUT_SPIKES words (bit b of word m = neuron 32m + b), the last holding 6 neurons; step k's
    words stay in OUT_SPIKES_AT bank k & 1 until step k + 2 ends."""
    w = np.zeros((70, 2), dtype=np.int64)
    fire_a = [0, 1, 31, 32, 63, 64, 69]  # driven by input 0
    fire_b = [5, 33, 68]  # driven by input 1
    w[fire_a, 0] = 5
    w[fire_b, 1] = 5
    lif = FixedLIFConfig(threshold=5, leak_shift=0)
    net = OnlineO1Network(OnlineO1Config(learning_shift=12), lif, n_pre=2, n_post=70, initial_weights=w)
    _, drv = make(net, cycles_per_step=lambda a: 3000)
    drv.step([1, 0], 0)
    want_a = [(1 << 0) | (1 << 1) | (1 << 31), (1 << 0) | (1 << 31), (1 << 0) | (1 << 5)]
    assert drv.read(Reg.OUT_SPIKES, 0, 3) == want_a
    drv.step([0, 1], 0)
    want_b = [1 << 5, 1 << 1, 1 << 4]
    assert drv.read(Reg.OUT_SPIKES, 0, 3) == want_b
    assert drv.read(Reg.OUT_SPIKES_AT, 0, 3) == want_a and drv.read(Reg.OUT_SPIKES_AT, 1 << 16, 3) == want_b
    assert list(np.flatnonzero(drv.read_out_spikes_at(0))) == fire_a
    assert list(np.flatnonzero(drv.read_out_spikes())) == list(np.flatnonzero(drv.read_out_spikes_at(1))) == fire_b
    drv.write_spikes([1, 1])
    drv.tick()  # step 2 runs: step 1's bank and OUT_SPIKES are untouched until it ends
    assert drv.read(Reg.OUT_SPIKES, 0, 3) == want_b and drv.read(Reg.OUT_SPIKES_AT, 1 << 16, 3) == want_b
    drv.wait_idle()
    assert list(np.flatnonzero(drv.read_out_spikes_at(2))) == sorted(fire_a + fire_b)
    assert drv.read(Reg.OUT_SPIKES_AT, 1 << 16, 3) == want_b  # step 1's bank survives step 2


@pytest.mark.parametrize(("seed", "busy_clocks"), [(0, 1), (1, 40), (2, 3000), (3, 100_000)])
def test_overlapped_run_equals_lockstep_and_the_model(seed: int, busy_clocks: int) -> None:
    """``CoreDriver.run`` gives the model's spikes and state for steps much shorter and much longer than the
    traffic; with long steps it hides the traffic: its time is the lockstep time minus the spike, reward and
    output frames of every step but the first and last."""
    rng = np.random.default_rng(seed)
    net = random_network(rng)
    st = random_state(rng, net)
    ref = OnlineO1Network(net.o1_config, net.lif_config, net.n_pre, net.n_post)
    ref.load_state_dict(st)
    lock_net = OnlineO1Network(net.o1_config, net.lif_config, net.n_pre, net.n_post)
    sim, drv = make(net, cycles_per_step=lambda a: busy_clocks)
    lock_sim, lock = make(lock_net, cycles_per_step=lambda a: busy_clocks)
    drv.load_network(st)
    lock.load_network(st)
    c = net.o1_config
    n_t = 30
    x = rng.random((n_t, net.n_pre)) < rng.random((n_t, 1))
    r = rng.integers(c.reward_min * 2, c.reward_max * 2 + 1, n_t)
    t0, l0 = sim.time, lock_sim.time
    got = drv.run(x, r)
    run_clocks = sim.time - t0
    want = np.array([ref.step(x[t], int(r[t])) for t in range(n_t)])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.array([lock.step(x[t], int(r[t])) for t in range(n_t)]), want)
    lock_clocks = lock_sim.time - l0
    states_equal(drv.read_network(), ref.state_dict())
    drv.raise_on_error()
    if busy_clocks >= 100_000:  # the core is the bottleneck: the overlapped run is n_t steps plus a little
        assert run_clocks < lock_clocks
        assert run_clocks < n_t * busy_clocks * 1.05, (run_clocks, n_t * busy_clocks)


def test_tick_next_queues_one_step() -> None:
    """TICK_NEXT: now when idle; while busy, queued (STATUS.QUEUED) and started QUEUED_GAP_CLOCKS = 1 clock after
    the running step ends; a second one while queued is ERR_BUSY and is dropped."""
    from plasticore.host.sim import QUEUED_GAP_CLOCKS

    assert QUEUED_GAP_CLOCKS == 1
    sim, drv = make(cycles_per_step=lambda a: 10_000)
    ctl = bytes([0x80 | Reg.CONTROL]) + bytes(4)
    sim.transfer(ctl + int(Control.TICK_NEXT).to_bytes(4, "big"))  # idle: starts at once
    assert sim.busy and sim.steps_started == 1 and not sim.status() & Status.QUEUED
    start1 = sim.time
    sim.transfer(ctl + int(Control.TICK_NEXT).to_bytes(4, "big"))
    assert sim.status() & Status.QUEUED and sim.steps_started == 1 and sim.status() & ERRORS == 0
    sim.transfer(ctl + int(Control.TICK_NEXT).to_bytes(4, "big"))
    assert sim.status() & Status.ERR_BUSY
    sim.advance(start1 + 10_000 - sim.time)  # the first step ends at start1 + 10,000: not started yet
    assert not sim.busy and sim.status() & Status.QUEUED
    sim.advance(1)
    assert sim.busy and sim.steps_started == 2 and not sim.status() & Status.QUEUED
    sim.advance(10_000)
    assert not sim.busy and sim.steps_started == 2 and drv.read(Reg.STEP) == [2]  # the dropped one never ran
    assert drv.status() == Status.ERR_BUSY
    assert drv.read(Reg.CONTROL) == [0]  # strobes read 0


def test_run_argument_checks() -> None:
    sim, drv = make()
    assert drv.n_pre == 40  # reads the PARAM table once
    frames = sim.frames
    with pytest.raises(ValueError, match=r"pre_spikes must have shape \(T, n_pre\) = \(T, 40\), not \(3, 41\)"):
        drv.run(np.zeros((3, 41), dtype=bool), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match=r"rewards must have shape \(T,\) = \(3,\)"):
        drv.run(np.zeros((3, 40), dtype=bool), np.zeros((3, 5), dtype=int))
    with pytest.raises(TypeError, match="rewards must hold ints, not dtype float64"):
        drv.run(np.zeros((3, 40), dtype=bool), np.zeros(3))
    with pytest.raises(ValueError, match="pre_spikes must be bools or 0/1"):
        drv.run(np.full((3, 40), 2), np.zeros(3, dtype=int))
    assert sim.frames == frames  # checked before anything was sent
    assert drv.run(np.zeros((0, 40), dtype=bool), np.zeros(0, dtype=int)).shape == (0, 5)
    with pytest.raises(ValueError, match="step must be in 0"):
        drv.read_out_spikes_at(-1)


def test_reward_mode_is_written_only_when_it_changes() -> None:
    sim, _ = make()
    rec = Recorder(sim)
    drv = CoreDriver(rec)
    drv.identify()
    drv.wait_idle()

    def controls() -> list[int]:
        return [int.from_bytes(d[5:9], "big") for d, _ in rec.log if d[0] == 0x80 | Reg.CONTROL]

    drv.set_reward(5)
    drv.set_reward(6)
    assert controls() == [0]
    drv.set_reward(np.array([1, -1, 300, -300, 0]))
    assert controls() == [0, int(Control.REWARD_VECTOR)]
    assert sim.snapshot()["reward_vec"].tolist() == [1, -1, 127, -128, 0]  # saturated by the driver
    drv.tick()
    assert controls()[-1] == int(Control.REWARD_VECTOR | Control.TICK)
    drv.wait_idle()
    drv.set_reward(np.zeros(5, dtype=int))
    drv.set_reward(-1000)
    assert controls()[-2:] == [int(Control.REWARD_VECTOR | Control.TICK), 0]
    assert sim.snapshot()["reward"] == -128


def test_spikes_are_written_as_bursts_of_nonzero_words() -> None:
    net = OnlineO1Network(OnlineO1Config(), FixedLIFConfig(), n_pre=200, n_post=2)  # 7 words
    sim, _ = make(net)
    rec = Recorder(sim)
    drv = CoreDriver(rec)
    drv.identify()
    s = np.zeros(200, dtype=bool)
    s[[0, 33, 64 + 31, 160, 199]] = True  # words 0, 1, 2, 5, 6
    n0 = len(rec.log)
    drv.write_spikes(s)
    frames = [d for d, _ in rec.log[n0:]]
    assert [(f[0], int.from_bytes(f[1:5], "big"), (len(f) - 5) // 4) for f in frames] == [(0x90, 0, 3), (0x90, 5, 2)]
    assert sim.snapshot()["pending"] == [1, 2, 1 << 31, 0, 0, 1, 1 << 7]
    assert drv.spike_words(s) == [1, 2, 1 << 31, 0, 0, 1, 1 << 7]


def test_auto_tick() -> None:
    sim, drv = make(cycles_per_step=lambda a: 100)
    drv.write(Reg.TICK_PERIOD, 0, [1000])
    drv.write(Reg.CONTROL, 0, [int(Control.AUTO_TICK)])
    assert drv.status() & Status.AUTO_TICK
    assert drv.read(Reg.CONTROL) == [int(Control.AUTO_TICK)]
    sim.advance(10_000)
    assert 10 <= drv.read(Reg.STEP)[0] <= 13  # one at once, then every 1000 clocks
    drv.write(Reg.CONTROL, 0, [0])
    n = drv.read(Reg.STEP)[0]
    sim.advance(10_000)
    assert drv.read(Reg.STEP)[0] <= n + 1


# ---- identity, configuration, driver checks -------------------------------------------------------------

def test_identify_and_check_config() -> None:
    net = OnlineO1Network(OnlineO1Config(weight_bits=9), FixedLIFConfig(reset="subtract", weight_offset=3), 10, 4)
    _, drv = make(net, lanes=2, spram=True)
    info = drv.identify()
    assert info["id"] == ID_VALUE and info["version"] == 3
    assert {k: info[k] for k in PARAM_FIELDS} == {**{k: info[k] for k in PARAM_FIELDS}, "n_pre": 10, "n_post": 4,
                                                    "lanes": 2, "weight_bits": 9, "reset_subtract": 1,
                                                    "weight_offset": 3, "spram": 1, "pipelined_update": 0}
    assert drv.o1_config == net.o1_config and drv.lif_config == net.lif_config
    drv.check_config(net.o1_config, net.lif_config, 10, 4)
    with pytest.raises(ConfigMismatchError, match=r"in 3 field\(s\): n_post: core 4, model 5, weight_bits: core 9, "
                                                  r"model 16, reset_subtract: core 1, model 0") as e:
        drv.check_config(OnlineO1Config(), FixedLIFConfig(weight_offset=3), 10, 5)
    assert e.value.fields["n_post"] == (4, 5)


def test_the_rounding_mode_and_lfsr_seed_travel_through_param() -> None:
    cfg = OnlineO1Config(weight_bits=9, rounding="stochastic", lfsr_seed=0xDEADBEEF)
    net = OnlineO1Network(cfg, FixedLIFConfig(), 6, 5, lanes=2)
    _, drv = make(net, lanes=2)
    info = drv.identify()
    assert (info["rounding"], info["lfsr_seed_lo"], info["lfsr_seed_hi"]) == (2, 0xBEEF, 0xDEAD)
    assert drv.o1_config == cfg
    with pytest.raises(ValueError, match=r"lanes must equal the network's lanes \(2\)"):
        make(net, lanes=3)
    fresh = OnlineO1Network(cfg, FixedLIFConfig(), 6, 5, lanes=2)
    drv.load_network(fresh.state_dict())  # the LFSRs at their reset states: accepted (and not sent)
    fresh.step(np.ones(6, bool), 1)
    with pytest.raises(ValueError, match=r"state\['lfsr_state'\] must be the lanes' reset states"):
        drv.load_network(fresh.state_dict())
    fresh.reset_lfsr()
    drv.load_network(fresh.state_dict())


def test_flash_power_down_frame_changes_nothing() -> None:
    net = OnlineO1Network(OnlineO1Config(), FixedLIFConfig(), 6, 3)
    core, drv = make(net)
    before = core.snapshot()
    drv.flash_power_down()
    assert drv.frames == 1 and drv.bytes_transferred == 1
    after = core.snapshot()
    states_equal(after.pop("state"), before.pop("state"))
    assert after.keys() == before.keys()
    for k in before:
        assert np.array_equal(np.asarray(after[k], dtype=object), np.asarray(before[k], dtype=object)), k
    assert drv.status() == Status(0)


def test_identify_rejects_a_wrong_id() -> None:
    class Garbage:
        def transfer(self, data: bytes) -> bytes:
            return b"\xff" * len(data)

    with pytest.raises(IdentityError, match=r"ID register reads 0xffffffff, expected 0x504c4331"):
        CoreDriver(Garbage()).identify()

    class Short:
        def transfer(self, data: bytes) -> bytes:
            return b"\x00"

    with pytest.raises(CoreError, match=r"transport returned 1 bytes for a 10-byte frame"):
        CoreDriver(Short()).identify()


def test_driver_argument_checks() -> None:
    _, drv = make()
    with pytest.raises(ValueError, match=r"reg must be in 0\.\.127, not 128"):
        drv.read(128)
    with pytest.raises(ValueError, match=r"addr must be in 0\.\.4294967295, not -1"):
        drv.read(Reg.SYN, -1)
    with pytest.raises(ValueError, match=r"words\[1\] must be in 0\.\.4294967295, not 4294967296"):
        drv.write(Reg.SYN, 0, [0, 1 << 32])
    with pytest.raises(TypeError, match=r"reg must be an int in 0\.\.127, not str 'SYN'"):
        drv.read("SYN")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"pre_spikes must have shape \(n_pre,\) = \(40,\), not \(39,\)"):
        drv.write_spikes(np.zeros(39, dtype=bool))
    with pytest.raises(ValueError, match=r"pre_spikes must be bools or 0/1, not dtype int64 with values \[2\]"):
        drv.write_spikes(np.full(40, 2))
    with pytest.raises(TypeError, match=r"reward must be an int or one int per neuron, not float 1.5"):
        drv.set_reward(1.5)
    with pytest.raises(ValueError, match=r"reward must be an int or have shape \(n_post,\) = \(5,\), not \(4,\)"):
        drv.set_reward(np.zeros(4, dtype=int))
    st = OnlineO1Network(OnlineO1Config(), FixedLIFConfig(), 40, 5).state_dict()
    st["weight"][0, 0] = 1 << 16
    with pytest.raises(ValueError, match=r"state\['weight'\] must be in 0\.\.65535, not min 0 / max 65536"):
        drv.load_network(st)
    with pytest.raises(ValueError, match=r"max_burst_words must be in 1\.\.16777216, not 0"):
        CoreDriver(drv.transport, max_burst_words=0)


def test_busy_core_refuses_state_transfers_and_wait_idle_times_out() -> None:
    _, drv = make(cycles_per_step=lambda a: 10**9)
    drv.tick()
    with pytest.raises(CoreError, match=r"read_network needs an idle core \(STATUS.BUSY is set\)"):
        drv.read_network()
    with pytest.raises(CoreError, match=r"a reward vector needs an idle core"):
        drv.set_reward(np.zeros(5, dtype=int))
    with pytest.raises(TimeoutError, match=r"core still BUSY after 25 STATUS polls \(max_polls=25\)"):
        drv.wait_idle(max_polls=25)


def test_simulated_core_checks_and_helpers() -> None:
    with pytest.raises(ValueError, match=r"weight_bits must be in 1\.\.16 for the core's 32-bit words, not 17"):
        SimulatedCore(OnlineO1Network(OnlineO1Config(weight_bits=17), FixedLIFConfig()))
    with pytest.raises(ValueError, match=r"sck_divider must be an int >= 8, not 4"):
        SimulatedCore(OnlineO1Network(), sck_divider=4)
    sim = SimulatedCore(OnlineO1Network(), cycles_per_step=lambda a: 0)
    with pytest.raises(ValueError, match=r"cycles_per_step\(0\) must be an int >= 1, not 0"):
        sim.transfer(_wr(Reg.CONTROL, 0, 1))
    assert sign_extend(0xFFFE, 16) == -2 and sign_extend(0x7FFF, 16) == 0x7FFF
    assert next_address(Reg.SYN, syn_address(2, 4), 5) == syn_address(3, 0)
    assert next_address(Reg.SYN, syn_address(2, 3), 5) == syn_address(2, 4)
    assert next_address(Reg.MEMBRANE, 0xFFFFFFFF, 5) == 0


def test_throughput_counters() -> None:
    sim, drv = make(OnlineO1Network(OnlineO1Config(), FixedLIFConfig(), 40, 5), cycles_per_step=lambda a: 200)
    drv.identify()
    drv.reset_counters()
    s = np.zeros(40, dtype=bool)
    s[3] = True
    f0, b0 = sim.frames, sim.bytes_transferred
    z = drv.step(s, 1)
    frames, nbytes = drv.frames, drv.bytes_transferred
    assert (frames, nbytes) == (sim.frames - f0, sim.bytes_transferred - b0)
    # spikes (1 word), REWARD, CONTROL (mode, first time), TICK: 9 bytes each; 1-byte polls: the first starts
    # right after the tick, 64 clocks per poll: 200 busy clocks take 5; OUT_COUNT 10 bytes; OUT_FIFO 6 + 4 per spike
    polls = 5
    fifo = [6 + 4 * int(z.sum())] if z.any() else []
    assert frames == 4 + polls + 1 + len(fifo)
    assert nbytes == 4 * 9 + polls + 10 + sum(fifo)

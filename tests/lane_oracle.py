"""Expected outputs of a lane after every clock edge, from :class:`OnlineO1Synapse` (the oracle).

Shared by the MyHDL tests and the cocotb testbench of both lanes. ``delay`` is the lane's pipeline delay:
0 for :func:`~plasticore.hw.o1_lane.o1_lane` (the outputs show the state after the operation of the same
edge), :data:`~plasticore.hw.o1_lane_pipelined.PIPELINE_DELAY` for the pipelined lane, whose outputs after
edge ``u`` show the state after every operation sampled on edges ``<= u - delay`` and after the last
reset (a reset zeroes the outputs on its own edge and drops the operations sampled on the ``delay`` edges
before it).
"""

from __future__ import annotations

from plasticore.refmodel.online_o1 import OnlineO1Config, OnlineO1Snapshot, OnlineO1Synapse


class LaneOracle:
    """Apply one edge's operation to the model and return the outputs the lane must show after that edge."""

    def __init__(self, config: OnlineO1Config, delay: int = 0) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0, not {delay}")
        self.model = OnlineO1Synapse(config)
        self.delay = delay
        # history[0]: the state at power-up (all zero); history[u]: after the operation of edge u (1, 2, ...)
        self.history: list[OnlineO1Snapshot] = [self.model.snapshot()]
        self.last_reset = 0

    def edge(self, *, rst: bool, load: int | None, step: bool, pre: bool, post: bool,
             reward: int) -> OnlineO1Snapshot:
        if rst:
            self.model.reset()
            self.last_reset = len(self.history)  # the index this edge's state gets
        elif load is not None:
            self.model.load(load)
        elif step:
            self.model.step(pre_spike=pre, post_spike=post, reward=reward)
        self.history.append(self.model.snapshot())
        u = len(self.history) - 1
        return self.history[max(u - self.delay, self.last_reset)]

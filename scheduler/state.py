"""What a scheduling policy sees: jobs, the scheduler state at a decision point, running metrics.

A *job* is one frame of one model: the unit that is released, dispatched block by block, completed
or dropped. The engines own the :class:`Job` objects and mutate them; policies read them (and may
keep references between calls) but must never assign to their fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from scheduler.costs import CostArrays, VariantCosts


class FrameStatus(StrEnum):
    """Final state of a released frame (exactly one per frame)."""

    ON_TIME = "on_time"  # completed at or before its deadline
    LATE = "late"  # completed after its deadline
    DROPPED = "dropped"  # removed before completion (energy already spent on it is kept)
    NOT_TRIGGERED = "not_triggered"  # a cascade frame whose trigger did not fire; never logged
    UNFINISHED = "unfinished"  # XRBench-compatible mode only: queued/running when the run stopped


class Job:
    """One frame of one model.

    Static: ``model`` (index in the scenario), ``model_id``, ``frame``, ``period_ms``,
    ``release_ms`` (when the input arrived), ``deadline_ms``, ``parent`` (index of the cascade
    parent model or ``None``). Chosen at release: ``variant`` (index into the model's variants) and
    ``costs`` (that variant's :class:`VariantCosts`). Progress: ``next_layer`` (first layer not yet
    executed), ``last_accelerator`` (-1 before the first block), ``last_progress_ms`` (release time,
    then the end of the latest block), ``energy_nj`` (spent so far), ``ready_ms`` (when it became
    dispatchable; for a cascade child the later of its release and its parent's completion).
    """

    __slots__ = (
        "model",
        "model_id",
        "frame",
        "period_ms",
        "release_ms",
        "deadline_ms",
        "parent",
        "variant",
        "costs",
        "next_layer",
        "last_accelerator",
        "last_progress_ms",
        "energy_nj",
        "ready_ms",
        "first_dispatch_ms",
        "completion_ms",
        "status",
        "triggered",
        "num_blocks",
        "undone_energy_nj",
    )

    def __init__(
        self,
        model: int,
        model_id: str,
        frame: int,
        period_ms: float,
        release_ms: float,
        deadline_ms: float,
        parent: int | None,
        triggered: bool,
    ) -> None:
        self.model = model
        self.model_id = model_id
        self.frame = frame
        self.period_ms = period_ms
        self.release_ms = release_ms
        self.deadline_ms = deadline_ms
        self.parent = parent
        self.triggered = triggered
        self.variant = 0
        self.costs: VariantCosts | None = None
        self.next_layer = 0
        self.last_accelerator = -1
        self.last_progress_ms = release_ms
        self.energy_nj = 0.0
        self.ready_ms = float("nan")
        self.first_dispatch_ms = float("nan")
        self.completion_ms = float("nan")
        self.status: FrameStatus | None = None
        self.num_blocks = 0
        self.undone_energy_nj = 0.0

    @property
    def num_layers(self) -> int:
        return self.costs.num_layers

    @property
    def remaining_layers(self) -> int:
        return self.costs.num_layers - self.next_layer

    @property
    def started(self) -> bool:
        return self.next_layer > 0

    def remaining_latency_cycles(self) -> np.ndarray:
        """Latency of the remaining layers on each accelerator."""
        return self.costs.remaining_latency_cycles(self.next_layer)

    def slack_ms(self, now_ms: float) -> float:
        return self.deadline_ms - now_ms

    def __repr__(self) -> str:
        return (
            f"Job({self.model_id}#{self.frame}, layer {self.next_layer}/"
            f"{'?' if self.costs is None else self.num_layers}, deadline {self.deadline_ms:.3f})"
        )


@dataclass
class RunningMetrics:
    """Counters the engine keeps up to date during a run, per model (arrays indexed by model).

    UXCost of the counters: ``scheduler.metrics.running_uxcost``.
    """

    released: np.ndarray
    on_time: np.ndarray
    late: np.ndarray
    dropped: np.ndarray
    not_triggered: np.ndarray
    energy_nj: np.ndarray  # spent on the model's frames so far
    min_energy_nj: np.ndarray  # reference energy of the resolved frames' variants (UXCost)
    undone_energy_nj: np.ndarray  # dropped frames' unexecuted layers at their dearest accelerator
    acc_shortfall: np.ndarray  # sum of 1 - accuracy over completed frames (sub-networks)
    #: Frames lost (late or dropped) since the model's latest on-time frame: a state, not a count
    #: (a window's difference of it means nothing).
    lost_streak: np.ndarray

    @classmethod
    def zeros(cls, num_models: int) -> RunningMetrics:
        def z(dtype: type) -> np.ndarray:
            return np.zeros(num_models, dtype=dtype)

        i = np.int64
        return cls(z(i), z(i), z(i), z(i), z(i), z(float), z(float), z(float), z(float), z(i))

    def copy(self) -> RunningMetrics:
        return RunningMetrics(*(getattr(self, f).copy() for f in self.__dataclass_fields__))

    def __sub__(self, other: RunningMetrics) -> RunningMetrics:
        return RunningMetrics(
            *(getattr(self, f) - getattr(other, f) for f in self.__dataclass_fields__)
        )

    @property
    def resolved(self) -> np.ndarray:
        return self.on_time + self.late + self.dropped


@dataclass(frozen=True)
class WindowMetrics:
    """What happened in one window ``[start_ms, end_ms)``: the difference of running metrics.

    Its UXCost is ``scheduler.metrics.running_uxcost(window.delta)``.
    """

    index: int
    start_ms: float
    end_ms: float
    delta: RunningMetrics


@dataclass
class SchedulerState:
    """The state a policy decides on. Rebuilt (cheaply) at every decision point.

    - ``now_ms``: current simulated time.
    - ``ready``: jobs that may be dispatched now (released, triggered, parent frame completed, not
      running, not finished), in release order.
    - ``idle``: indices of idle accelerators, ascending.
    - ``running``: for each accelerator the job running on it, or ``None``.
    - ``costs``: the dense cost arrays; ``job.costs`` is the job's own variant.
    - ``model_ids``, ``periods_ms``, ``parents`` (index or ``None``), ``probabilities``: the
      scenario.
    - ``metrics``: running per-model counters (see :class:`RunningMetrics`).
    - ``xrbench``: ``True`` in XRBench-compatible mode (whole-model dispatch only).
    - ``mechanics``: the engine's frame mechanics (see the field).
    """

    now_ms: float
    ready: list[Job]
    idle: tuple[int, ...]
    running: list[Job | None]
    costs: CostArrays
    model_ids: tuple[str, ...]
    periods_ms: np.ndarray
    parents: tuple[int | None, ...]
    probabilities: np.ndarray
    metrics: RunningMetrics
    xrbench: bool = False
    extra: dict = field(default_factory=dict)
    #: The engine's :class:`scheduler.mechanics.MechanicsRuntime` (native mode; ``None`` in the
    #: XRBench-compatible runtime): best-case remaining latency, migration and placement checks.
    mechanics: object = None
    #: Per accelerator: when its running block completes (meaningless for idle accelerators).
    busy_until_ms: np.ndarray | None = None
    #: Spatial fission of the accelerators (:class:`scheduler.mechanics.Partition`) or ``None``.
    partition: object = None

    @property
    def min_period_ms(self) -> float:
        return float(self.periods_ms.min())

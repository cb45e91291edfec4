"""The scheduling-policy interface.

A policy is a small class with one decision method. The engine calls it at every *decision point*
(a simulated time at which something happened — a frame was released or became ready, a block
finished, a frame was dropped — and at least one job is ready) with a
:class:`~scheduler.state.SchedulerState`, and applies the decisions it returns:

- :class:`Dispatch` ``(job, accelerator, n_layers)``: run the next ``n_layers`` layers of ``job``
  (a *layer block*) on the idle ``accelerator``, non-preemptively. When the block ends the
  accelerator is idle again and the job (if it has layers left) is back among the ready jobs, so
  preemption happens only between blocks. ``n_layers = job.remaining_layers`` dispatches the rest of
  the model at once.
- :class:`Drop` ``(job)``: abandon a ready job now (the energy it already spent stays counted). Its
  cascade children's same frames are dropped too (see ``scheduler/engine.py``). Hopeless frames
  are dropped by the engine itself for every policy (``scheduler/mechanics.py``); a policy's own
  drops come on top and are charged by UXCost like any other.

Jobs not mentioned stay ready. Invalid decisions (a busy accelerator, a job that is not ready, two
decisions for one job or one accelerator, ``n_layers`` outside ``1..remaining``) raise
:class:`rtmm.errors.SimulationError` naming the policy.

Hooks (all optional, with harmless defaults):

- :meth:`Policy.reset` — called once before a run with the static context (costs, scenario, system
  size, the seeded ``numpy.random.Generator`` reserved for the policy). Policies with state (token
  counters, tuned parameters, a static assignment) initialise it here.
- :meth:`Policy.select_variant` — called when a frame is released; returns the index of the model
  variant (supernet sub-network, 0 = full model) that this frame uses. The engine then charges that
  variant's cost arrays and credits its accuracy (ACC = min(1, accuracy)). For a Supernet selector.
- :meth:`Policy.on_window` — called every ``window_ms`` of simulated time (when the run is given a
  window) with that window's :class:`~scheduler.state.WindowMetrics` (energy, on-time/late/dropped
  counts and their UXCost). For an online tuner that moves its parameters between windows.
- :meth:`Policy.xrbench_accelerator` — XRBench-compatible mode only: the runtime there visits the
  queue heads itself (in alphabetical order of model id, as the XRBench runtime does) and asks the
  policy only *which idle accelerator* runs the whole model. Policies that do not implement it
  cannot run in that mode.

Running metrics of the whole run so far are always available as ``state.metrics``.

Writing a policy is one file: subclass :class:`Policy`, set ``name``, implement :meth:`decide`, and
register it in ``scheduler/policies/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np

from rtmm.errors import SimulationError
from scheduler.costs import CostArrays
from scheduler.decisions import Decision, Dispatch, Drop, RunContext
from scheduler.state import Job, SchedulerState, WindowMetrics

__all__ = ["Decision", "Dispatch", "Drop", "Policy", "RunContext", "bad_parameter"]


class Policy:
    """Base class of policies. Subclasses set :attr:`name` and implement :meth:`decide`."""

    #: Registry name (lower-case, underscores), e.g. ``"latency_greedy"``.
    name: ClassVar[str] = ""
    #: Also call :meth:`decide` when no accelerator is idle (e.g. for a policy that drops jobs).
    decide_when_busy: ClassVar[bool] = False

    def reset(self, ctx: RunContext) -> None:
        """Prepare for a new run (default: remember the context as ``self.ctx``)."""
        self.ctx = ctx

    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        """Return the dispatch and drop decisions for this decision point."""
        raise NotImplementedError

    def select_variant(self, job: Job, state: SchedulerState) -> int:
        """Variant (index into ``state.costs.models[job.model].variants``) for a released frame."""
        return 0

    def on_window(self, window: WindowMetrics, state: SchedulerState) -> None:
        """Observe the metrics of the window that just ended (default: nothing)."""

    def xrbench_accelerator(self, job: Job, idle: Sequence[int], costs: CostArrays) -> int:
        """XRBench-compatible mode: the idle accelerator that runs all of ``job``'s model."""
        raise SimulationError(
            f"policy '{self.name}' has no XRBench-compatible mode",
            source="<cli>",
            allowed="latency_greedy, edp_greedy",
        )


def bad_parameter(policy: str, name: str, value: object, allowed: str) -> SimulationError:
    """The one-line error for a policy constructed with a bad parameter value."""
    return SimulationError(
        f"policy '{policy}': bad {name} {value!r}", source="<api>", field=name, allowed=allowed
    )


def best_accelerator(scores: np.ndarray, idle: Sequence[int]) -> int:
    """The idle accelerator with the smallest ``scores`` entry; ties go to the lowest index."""
    idle_arr = np.asarray(idle)
    return int(idle_arr[np.argmin(scores[idle_arr])])


def deadline_order(jobs: Sequence[Job]) -> list[Job]:
    """``jobs`` by absolute deadline; ties by release time, model and frame (EDF's order)."""
    return sorted(jobs, key=lambda j: (j.deadline_ms, j.release_ms, j.model, j.frame))


def whole_block(job: Job) -> int:
    """``n_layers`` that dispatches the rest of ``job``'s model."""
    return job.remaining_layers


def block_for_budget(job: Job, accelerator: int, budget_ms: float, clock_hz: float) -> int:
    """Layers of ``job`` (>= 1) that fit in ``budget_ms`` on ``accelerator`` from its next layer."""
    return job.costs.layers_within(job.next_layer, accelerator, budget_ms * clock_hz / 1e3)


def assign_each(
    jobs: Sequence[Job],
    idle: Sequence[int],
    choose: Callable[[Job, list[int]], tuple[int, int] | None],
) -> list[Decision]:
    """List scheduling: each job in turn takes one free accelerator or waits.

    ``choose(job, free) -> (accelerator, n_layers)`` picks among the still-free accelerators, or
    returns None for a job that waits. Stops when no accelerator is free.
    """
    free = list(idle)
    decisions: list[Decision] = []
    for job in jobs:
        if not free:
            break
        pick = choose(job, free)
        if pick is None:
            continue
        acc, n = pick
        free.remove(acc)
        decisions.append(Dispatch(job, acc, n))
    return decisions


def assign_in_order(
    jobs: Sequence[Job],
    idle: Sequence[int],
    score: Callable[[Job], np.ndarray],
    n_layers: Callable[[Job, int], int],
) -> list[Decision]:
    """Greedy list scheduling: each job in turn takes the free accelerator with the lowest score.

    ``score(job) -> ndarray`` gives one value per accelerator (lower is better, ties to the lowest
    index); ``n_layers(job, accelerator) -> int`` sizes the block. Stops when no accelerator is
    free.
    """

    def choose(job: Job, free: list[int]) -> tuple[int, int]:
        acc = best_accelerator(score(job), free)
        return acc, n_layers(job, acc)

    return assign_each(jobs, idle, choose)


class BlockSizing:
    """Mixin: the dispatch unit of a baseline, whole models or fixed-budget layer blocks.

    ``block_fraction = None`` dispatches the rest of the model; a number cuts a block where its
    latency reaches ``block_fraction`` x the scenario's shortest period (at least one layer).
    """

    block_fraction: float | None = None

    def block_size(self, job: Job, accelerator: int, state: SchedulerState) -> int:
        if self.block_fraction is None or state.xrbench:
            return job.remaining_layers
        clock = float(state.costs.clock_hz[accelerator])
        return block_for_budget(job, accelerator, self.block_fraction * state.min_period_ms, clock)

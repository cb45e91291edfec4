"""Counterfactual replay of one window: what would another theta have done on the same inputs?

A policy with the simulator in its loop (SDRM3 with ``tuner_options={"method": "replay"}``) records
what it observes during a window — the engine's state at the window's start and every frame that
became ready during it — and, at the window's end, re-runs that window from its start under
candidate policies with the engine's own rules (:class:`ReplayEngine`, a
:class:`scheduler.engine.NativeEngine` fed with copies of the recorded jobs). All candidates see the
*same* inputs, so their UXCosts differ only by the policy: a paired comparison, free of the
window-to-window noise of arrivals, cascades and queue states.

What the replay knows (all of it observed by the end of the window, nothing from the future):

- the state at the window's start: ready jobs and their progress, running blocks (accelerator,
  layers, end time; the engine exposes them in ``SchedulerState.extra``);
- the frames that became ready during the window (release time, deadline, variant); a cascade
  child's trigger is known when the real run saw it fire (the child became ready) or saw it not
  fire (its parent completed by the window's end, the child did not become ready). Otherwise
  (its parent was dropped or is unfinished) it is drawn with the trigger rate observed so far,
  with a generator seeded per window, so every candidate sees the same draws;
- after the window's end no frame is known. The replay assumes the next window releases the same
  frames as this one (each recorded frame again one window's worth of periods later): a load
  prediction from the past, so that work pushed past the window's end meets competition. Those
  predicted frames run but are not scored.

Approximations (the same for every candidate): release jitter of predicted frames is the
recorded one; the replay of a window cut at a decision point starts at that point, not at the
nominal boundary; frames that became ready and were dropped at the window's first instant are
missing. The score is the UXCost (:func:`scheduler.metrics.uxcost_terms`) of the frames present
at the window's start and those that became ready in it, each run until it is resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import numpy as np

from scheduler.engine import _COMPLETE, _RELEASE, _WAKE, NativeEngine
from scheduler.mechanics import MechanicsRuntime, Partition
from scheduler.metrics import uxcost_terms
from scheduler.state import FrameStatus, Job, RunningMetrics, SchedulerState

if TYPE_CHECKING:
    from scheduler.policies.base import Policy

_DONE = (FrameStatus.ON_TIME, FrameStatus.LATE)


def copy_job(job: Job) -> Job:
    """An independent copy of ``job`` with its progress (the engine mutates the original)."""
    new = Job.__new__(Job)
    for name in Job.__slots__:
        setattr(new, name, getattr(job, name))
    return new


def fresh_job(job: Job, shift_frames: int = 0) -> Job:
    """``job`` as it was when it became ready (no progress), optionally ``shift_frames`` later."""
    shift_ms = shift_frames * job.period_ms
    new = Job(
        job.model, job.model_id, job.frame + shift_frames, job.period_ms,
        job.release_ms + shift_ms, job.deadline_ms + shift_ms, job.parent, True,
    )  # fmt: skip
    new.variant, new.costs = job.variant, job.costs
    return new


@dataclass
class RunningBlock:
    """A block running at the window's start: its job (copied), accelerator, layers, end."""

    job: Job
    accelerator: int
    n_layers: int
    done_ms: float
    move_nj: float


@dataclass
class WindowStart:
    """The engine's state at a window's start, copied (:func:`snapshot`)."""

    start_ms: float
    ready: list[Job]
    running: list[RunningBlock]
    seen: set[tuple[int, int]] = field(default_factory=set)  # (model, frame) already ready
    metrics: RunningMetrics | None = None  # the engine's running counters at the start


def snapshot(state: SchedulerState) -> WindowStart:
    """Copy the ready and running jobs of ``state`` (a native engine's state)."""
    running_n = state.extra.get("running_n")
    move_nj = state.extra.get("running_move_nj")
    blocks = []
    for acc, job in enumerate(state.running):
        if job is None or running_n is None or state.busy_until_ms is None:
            continue
        blocks.append(
            RunningBlock(
                copy_job(job), acc, int(running_n[acc]), float(state.busy_until_ms[acc]),
                float(move_nj[acc]) if move_nj is not None else 0.0,
            )
        )  # fmt: skip
    ready = [copy_job(j) for j in state.ready]
    seen = {(j.model, j.frame) for j in state.ready} | {(b.job.model, b.job.frame) for b in blocks}
    return WindowStart(float(state.now_ms), ready, blocks, seen, state.metrics.copy())


@dataclass(frozen=True)
class ReplayInputs:
    """Everything a replay of one window needs, built once and shared by every candidate."""

    start: WindowStart
    end_ms: float
    releases: tuple[Job, ...]  # fresh jobs that become ready in the window (scored)
    predicted: tuple[Job, ...]  # the next window's predicted frames (run, not scored)

    @property
    def scored_count(self) -> int:
        return len(self.start.ready) + len(self.start.running) + len(self.releases)


class ReplayEngine(NativeEngine):
    """A :class:`NativeEngine` started from a recorded state, fed with recorded releases only.

    Runs until every scored job (those of the window) is resolved; returns their UXCost.
    """

    def __init__(self, inputs: ReplayInputs, policy: Policy, state: SchedulerState) -> None:
        self.inputs = inputs
        mech = cast(MechanicsRuntime, state.mechanics)
        fps = tuple(1000.0 / float(p) for p in state.periods_ms)
        super().__init__(
            model_ids=state.model_ids, fps=fps, parents=state.parents,
            probabilities=state.probabilities, costs=state.costs, policy=policy,
            horizon_ms=mech.horizon_ms, trigger_rng=None, jitter_rng=None,  # type: ignore[arg-type]
            offchip_bw_words_per_cycle=state.extra.get("offchip_bw_words_per_cycle"),
            mechanics=mech.options, migration=mech.migration,
            partition=cast(Partition | None, state.partition),
            drop_expired=bool(state.extra.get("drop_expired", True)),
        )  # fmt: skip

    def _make_jobs(self, trigger_rng, jitter_rng, jitter_ms) -> list[list[Job]]:
        """Every frame slot holds a resolved placeholder except the replayed ones."""
        inputs = self.inputs
        jobs: list[list[Job]] = []
        for m, period in enumerate(self.periods_ms):
            n = int(np.floor(self.horizon_ms / period + 1e-9))
            placeholder = Job(m, self.model_ids[m], -1, float(period), 0.0, 0.0, None, False)
            placeholder.status = FrameStatus.ON_TIME  # resolved before the window
            jobs.append([placeholder] * n)
        every = [*inputs.start.ready, *(b.job for b in inputs.start.running)]
        for job in [*every, *inputs.releases, *inputs.predicted]:
            if job.frame < len(jobs[job.model]):
                jobs[job.model][job.frame] = job
        self.scored = [*every, *inputs.releases]
        return jobs

    def _trigger(self, job: Job) -> None:
        """Becomes ready with its recorded variant (the replay policy chooses none)."""
        job.ready_ms = self.now
        job.last_progress_ms = self.now
        if job.costs is None:
            job.costs = self.costs.models[job.model].full
        self.metrics.released[job.model] += 1
        self.ready.append(job)

    def run(self) -> tuple:  # type: ignore[override]
        """Replay; returns ``(uxcost, e_norm, v)`` of the scored jobs."""
        start = self.inputs.start
        self.now = start.start_ms
        if start.metrics is not None:  # the counters policies read (e.g. SDRM3's guard)
            self.metrics = start.metrics.copy()
        self.ready = list(start.ready)
        for b in start.running:
            self.running[b.accelerator] = b.job
            self.running_n[b.accelerator] = b.n_layers
            self.running_done_ms[b.accelerator] = b.done_ms
            self.running_move_nj[b.accelerator] = b.move_nj
            self._push(b.done_ms, _COMPLETE, b.accelerator)
        for job in [*self.inputs.releases, *self.inputs.predicted]:
            self._push(max(job.release_ms, start.start_ms), _RELEASE, job.model, job.frame)
        self._push(start.start_ms, _WAKE, 0)  # decide at the start, as the real run did
        self._window_snapshot = self.metrics.copy()
        scored = self.scored
        while self.heap and any(j.status is None for j in scored):
            self._step()  # the real run's loop step (no window events are pushed here)
        return score(scored, len(self.model_ids))


def score(jobs: Sequence[Job], num_models: int) -> tuple[float, float, float]:
    """UXCost terms of ``jobs`` (resolved ones; not triggered and unresolved ones are skipped)."""
    energy = reference = undone = 0.0
    violations = np.zeros(num_models)
    released = np.zeros(num_models)
    for j in jobs:
        if j.status is None or j.status == FrameStatus.NOT_TRIGGERED or j.costs is None:
            continue
        energy += j.energy_nj
        reference += j.costs.min_energy_nj
        released[j.model] += 1
        if j.status == FrameStatus.DROPPED:
            undone += j.costs.undone_energy_nj(j.next_layer)
            violations[j.model] += 1
        else:
            violations[j.model] += float(j.status == FrameStatus.LATE)
            violations[j.model] += 1.0 - min(1.0, j.costs.accuracy)
    return uxcost_terms(energy, reference, undone, violations, released)


def replay_costs(
    inputs: ReplayInputs,
    state: SchedulerState,
    make_policy: Callable[[np.ndarray], Policy],
    thetas: Sequence[np.ndarray],
) -> np.ndarray:
    """UXCost of the window replayed under ``make_policy(theta)`` for each theta."""
    out = []
    for theta in thetas:
        fresh = _fresh_inputs(inputs)
        engine = ReplayEngine(fresh, make_policy(np.asarray(theta, dtype=float)), state)
        out.append(engine.run()[0])
    return np.array(out, dtype=float)


def _fresh_inputs(inputs: ReplayInputs) -> ReplayInputs:
    """Copies of every job, so that one candidate's replay does not touch another's."""
    start = inputs.start
    running = [
        RunningBlock(copy_job(b.job), b.accelerator, b.n_layers, b.done_ms, b.move_nj)
        for b in start.running
    ]
    return ReplayInputs(
        WindowStart(
            start.start_ms, [copy_job(j) for j in start.ready], running, start.seen, start.metrics
        ),
        inputs.end_ms,
        tuple(copy_job(j) for j in inputs.releases),
        tuple(copy_job(j) for j in inputs.predicted),
    )

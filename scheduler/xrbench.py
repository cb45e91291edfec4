"""XRBench-compatible engine: the public XRBench runtime's rules, quirks included.

Used only when ``simulate(..., xrbench_compatible=True)``. Everything here follows the reference
runtime so that scores match the published digits:

- times are float32 milliseconds, latency = float32(cycles) / 1e6 (1 GHz), energy mJ = nJ / 1e6;
- period T = floor(1000 / FPS) ms, floor(horizon / T) frames, frame f's deadline (f + 1) T;
- events only at base ticks (multiples of floor(1000 / max FPS)) and inference completions; at each
  event: inject (at most one frame per model, released *now*; a cascade frame is enqueued with
  probability p, else it consumes its id and is never logged), retire (now + 0.01 >= completion),
  drop (queue heads with deadline < now, repeated; dependants are not dropped), dispatch (queues
  visited alphabetically until nothing changes; a head needs, for each parent, completed parent
  inferences - 1 >= its frame id, and an idle accelerator chosen by the policy; whole model,
  non-preemptive);
- the run stops as soon as every model's last frame has been injected; what is still queued or
  running is reported as ``unfinished`` and not logged.

The engine is a plain loop over event times (no heap is needed: the next event is the minimum of the
next base tick and the running completions). It never touches pandas until the tables at the end.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from rtmm.errors import SimulationError
from scheduler.costs import CostArrays
from scheduler.result import frames_frame, timeline_frame
from scheduler.state import FrameStatus, Job

if TYPE_CHECKING:
    from scheduler.policies.base import Policy

F32 = np.float32
_RETIRE_MARGIN_MS = F32(0.01)
_CYCLES_PER_MS = F32(1_000_000)


def run_xrbench(
    *,
    model_ids: tuple[str, ...],
    fps: tuple[float, ...],
    parents: tuple[int | None, ...],
    probabilities: np.ndarray,
    costs: CostArrays,
    policy: Policy,
    horizon_ms: float,
    rng: np.random.Generator,
) -> tuple:
    """Run the XRBench runtime; return (frame rows, block rows, end time, periods in ms)."""
    num_models = len(model_ids)
    num_acc = costs.num_accelerators
    for model_id, f in zip(model_ids, fps, strict=True):
        if not f <= 1000:  # the period floor(1000 / FPS) would be 0 ms
            raise SimulationError(
                f"{model_id} at {f:g} FPS: XRBench-compatible periods are whole milliseconds",
                source="<xrbench>",
                allowed="FPS <= 1000 in XRBench-compatible mode, or native mode",
            )
    periods = [F32(int(1000 // f)) for f in fps]
    num_frames = [int(np.floor(F32(horizon_ms) / p)) for p in periods]
    base_tick = F32(int(1000 // max(fps)))
    # One Bernoulli draw per frame, drawn up front so the stream never depends on the policy.
    triggers = [rng.random(max(n, 0)) < probabilities[m] for m, n in enumerate(num_frames)]
    alphabetical = sorted(range(num_models), key=lambda m: model_ids[m])
    variants = [costs.models[m].full for m in range(num_models)]
    whole_ms = [
        (variants[m].total_latency_cycles.astype(F32) / _CYCLES_PER_MS).astype(F32)
        for m in range(num_models)
    ]
    whole_nj = [variants[m].total_energy_nj for m in range(num_models)]

    queues: list[deque[Job]] = [deque() for _ in range(num_models)]
    running: list[tuple[Job, F32] | None] = [None] * num_acc
    completed = [0] * num_models  # completed inferences per model (XRBench's completion list + 1)
    next_frame = [0] * num_models
    frame_rows: list[tuple] = []
    block_rows: list[tuple] = []

    def log_frame(job: Job) -> None:
        frame_rows.append(
            (
                job.model_id,
                job.frame,
                0,
                str(job.status),
                float(job.release_ms),
                float(job.ready_ms),
                float(job.deadline_ms),
                float(job.first_dispatch_ms),
                float(job.completion_ms),
                job.energy_nj,
                1.0,
                variants[job.model].min_energy_nj,
                job.num_blocks,
                variants[job.model].undone_energy_nj(0)
                if job.status == FrameStatus.DROPPED
                else 0.0,
            )
        )

    now = F32(0.0)
    last_event = now
    base_frame = 0
    while any(next_frame[m] < num_frames[m] for m in range(num_models)):
        # 1. inject
        for m in range(num_models):
            f = next_frame[m]
            if f < num_frames[m] and periods[m] * F32(f) <= now:
                next_frame[m] = f + 1
                job = Job(
                    m, model_ids[m], f, float(periods[m]), now, periods[m] * F32(f + 1),
                    parents[m], bool(triggers[m][f]),
                )  # fmt: skip
                job.costs = variants[m]
                job.ready_ms = now
                if job.triggered:
                    queues[m].append(job)
                else:
                    job.status = FrameStatus.NOT_TRIGGERED
                    log_frame(job)
        # 2. retire
        for a in range(num_acc):
            entry = running[a]
            if entry is not None and now + _RETIRE_MARGIN_MS >= entry[1]:
                job = entry[0]
                job.status = (
                    FrameStatus.ON_TIME
                    if job.completion_ms <= job.deadline_ms
                    else FrameStatus.LATE
                )
                log_frame(job)
                completed[job.model] += 1
                running[a] = None
        # 3. drop expired queue heads (dependants stay queued, as in the reference runtime)
        changed = True
        while changed:
            changed = False
            for m in alphabetical:
                q = queues[m]
                if q and q[0].deadline_ms < now:
                    job = q.popleft()
                    job.status = FrameStatus.DROPPED
                    job.first_dispatch_ms = now
                    job.completion_ms = now
                    log_frame(job)
                    changed = True
        # 4. dispatch
        changed = True
        while changed:
            changed = False
            for m in alphabetical:
                q = queues[m]
                if not q:
                    continue
                job = q[0]
                parent = parents[m]
                if parent is not None and completed[parent] - 1 < job.frame:
                    continue
                idle = [a for a in range(num_acc) if running[a] is None]
                if not idle:
                    continue
                a = policy.xrbench_accelerator(job, idle, costs)
                q.popleft()
                done = F32(now + whole_ms[m][a])
                job.first_dispatch_ms = now
                job.completion_ms = done
                job.energy_nj = float(whole_nj[m][a])
                job.last_accelerator = a
                job.num_blocks = 1
                job.next_layer = job.num_layers
                running[a] = (job, done)
                block_rows.append(
                    (
                        a, costs.accelerator_names[a], job.model_id, job.frame, 0, 0,
                        job.num_layers, float(job.release_ms), float(now),
                        float(job.deadline_ms), float(done), job.energy_nj,
                    )
                )  # fmt: skip
                changed = True
        # next event: the next base tick or the earliest running completion
        tick = F32(base_frame + 1) * base_tick
        nxt = tick
        for entry in running:
            if entry is not None and entry[1] < nxt:
                nxt = entry[1]
        if nxt == tick:
            base_frame += 1
        last_event, now = now, nxt

    for m in range(num_models):
        for job in queues[m]:
            job.status = FrameStatus.UNFINISHED
            log_frame(job)
    for entry in running:
        if entry is not None:
            entry[0].status = FrameStatus.UNFINISHED
            log_frame(entry[0])
    periods_ms = tuple(float(p) for p in periods)
    return frames_frame(frame_rows), timeline_frame(block_rows), float(last_event), periods_ms

"""Running a sweep: expand the spec, skip what the store has, batch by hardware, execute, commit.

The recipe (:func:`run_sweep`):

1. resolve the evaluator (the spec's ``evaluator: module:function``, else
   :func:`dse.evaluate.evaluate_point`) and let it check the spec up front when it can;
2. open the store for this spec (refusing a store of another spec), read what is done;
3. group the missing points into batches of consecutive points with the same hardware (so a worker
   builds a system and its cost table once per batch; the evaluator caches them in-process);
4. run the batches on the executor, committing each finished batch in the parent process.

The machinery never looks inside a point's metrics, so any deterministic evaluator works with it;
that is how the resume and executor tests run without the simulator. Steps 3-4 are
:func:`run_points`, which ``rtmm compare`` (:mod:`dse.compare_run`) drives with its own points:
anything with ``point_id``, ``index``, ``params()`` and ``flat_params()``. An evaluator may return
an :class:`Evaluation` (metrics plus named byte blobs) to keep more than scalars in the store.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from tqdm import tqdm

from dse.evaluate import evaluate_point
from dse.executors import Executor, LocalExecutor
from dse.store import PointResult, ResultStore
from dse.sweep import SweepSpec, expand
from rtmm.errors import RtmmError, SimulationError, SpecError


class RunnablePoint(Protocol):
    """What the runner needs of a point: a content id, its position, its parameters."""

    @property
    def point_id(self) -> str: ...

    @property
    def index(self) -> int: ...

    def params(self) -> dict[str, Any]: ...

    def flat_params(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Evaluation:
    """An evaluator's result with artifacts: metrics plus named byte blobs kept in the store's
    ``artifacts`` table (e.g. a run's block trace, so its figure never needs the simulator)."""

    metrics: Mapping[str, Any]
    artifacts: Mapping[str, bytes] = field(default_factory=dict)


#: An evaluator maps one design point to a flat mapping of metric name -> number (or string), or
#: to an :class:`Evaluation`.
Evaluator = Callable[[Any], Mapping[str, Any] | Evaluation]


@dataclass(frozen=True)
class SweepReport:
    """What a :func:`run_sweep` call did."""

    store: Path
    total_points: int
    already_done: int
    computed: int
    errors: int
    wall_s: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{**vars(self), "store": str(self.store)}])

    def summary(self) -> str:
        return (
            f"{self.total_points} points: {self.computed} computed ({self.errors} errors), "
            f"{self.already_done} already in store, {self.wall_s:.1f} s -> {self.store}"
        )


def resolve_evaluator(ref: str | None, *, source: str = "<api>") -> Evaluator:
    """The evaluator named ``module:function`` (or the simulator-backed default for ``None``)."""
    if ref is None:
        return evaluate_point
    module_name, _, attr = ref.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SpecError(
            f"cannot import evaluator '{ref}' ({exc})",
            source=source,
            field="evaluator",
            allowed="an importable module.path:function",
        ) from None
    if not callable(fn):
        raise SpecError(f"evaluator '{ref}' is not callable", source=source, field="evaluator")
    return fn


def run_sweep(
    spec: SweepSpec,
    store_path: str | os.PathLike,
    *,
    executor: Executor | None = None,
    evaluator: Evaluator | None = None,
    resume: bool = False,
    batch_size: int | None = None,
    progress: bool = True,
) -> SweepReport:
    """Run (or resume) a sweep into the store at ``store_path``; see the module docstring."""
    start = time.perf_counter()
    evaluator = evaluator or resolve_evaluator(spec.evaluator, source=spec.source)
    check = getattr(evaluator, "check_spec", None)
    if check is not None:
        check(spec)
    own_executor = executor is None
    executor = executor or LocalExecutor(spec.executor.workers)
    store = ResultStore.open(
        store_path,
        fingerprint=spec.fingerprint(),
        spec_json=_spec_json(spec),
        resume=resume,
    )
    try:
        done = store.completed_ids()
        total = spec.num_points
        todo_count = total - len(done)
        size = batch_size or spec.batch_size or auto_batch_size(todo_count, executor.workers)
        todo = (p for p in expand(spec) if p.point_id not in done)
        computed, errors = run_points(
            store, todo, evaluator, executor, size, total=todo_count, progress=progress
        )
    except BaseException:
        store.discard_if_empty()  # a no-op when run_points already closed it
        raise
    finally:
        if own_executor:
            executor.close()
    return SweepReport(
        store=Path(store_path),
        total_points=total,
        already_done=len(done),
        computed=computed,
        errors=errors,
        wall_s=time.perf_counter() - start,
    )


def run_points(
    store: ResultStore,
    points: Iterable[RunnablePoint],
    evaluator: Evaluator,
    executor: Executor,
    batch_size: int,
    *,
    key: Callable[[Any], Any] = attrgetter("hardware_key"),
    total: int | None = None,
    progress: bool = True,
    desc: str = "sweep",
) -> tuple[int, int]:
    """Evaluate ``points`` in batches of consecutive points with the same ``key`` on ``executor``,
    committing each finished batch to ``store``; close the store (or remove it when this run
    created it and failed before committing anything). Returns ``(computed, errors)``."""
    computed = errors = 0
    finished = False
    try:
        task = functools.partial(evaluate_batch, evaluator)
        show = progress and sys.stderr.isatty()
        with tqdm(total=total, disable=not show, unit="pt", desc=desc) as bar:
            for results in executor.imap_unordered(task, batches(points, batch_size, key)):
                store.write(results)
                computed += len(results)
                errors += sum(r.error is not None for r in results)
                bar.update(len(results))
        finished = True
    finally:
        if finished:
            store.close()
        else:  # a run that failed before committing anything leaves no store behind
            store.discard_if_empty()
    return computed, errors


def auto_batch_size(num_points: int, workers: int) -> int:
    """About eight batches per worker, 1..64 points each: small per-task overhead, good balance."""
    return max(1, min(64, math.ceil(num_points / (8 * max(1, workers)))))


def batches(
    points: Iterable[Any], size: int, key: Callable[[Any], Any] = attrgetter("hardware_key")
) -> Iterator[list[Any]]:
    """Consecutive points with the same ``key`` (default: hardware), at most ``size`` per batch."""
    batch: list[Any] = []
    for p in points:
        if batch and (len(batch) >= size or key(p) != key(batch[-1])):
            yield batch
            batch = []
        batch.append(p)
    if batch:
        yield batch


class EvaluatorError(SimulationError):
    """The evaluator itself failed (crashed, or returned something that is not metrics): the sweep
    stops with this one line, rather than recording every point as an error."""


#: Largest integer a metric may have (SQLite stores signed 64-bit integers).
_INT64_MAX = 2**63 - 1


def checked_metrics(raw: object, point: Any) -> dict[str, Any]:
    """The evaluator's metrics as a dict of storable scalars.

    A result that is not a mapping of names to numbers/strings is an evaluator bug
    (:class:`EvaluatorError`, the sweep stops); an infinite number or an integer beyond 64 bits is
    a property of the point (:class:`RtmmError`, so the point becomes an ``error`` row). NaN stays:
    it is how metrics say "undefined" (e.g. a miss rate with no frames released).
    """
    where = f"point {point.index} ({point.point_id})"
    if not isinstance(raw, Mapping):
        raise EvaluatorError(
            f"{where}: the evaluator returned {type(raw).__name__}",
            allowed="a mapping of metric names to numbers or strings",
        )
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if hasattr(value, "item") and not isinstance(value, str):
            value = value.item()  # numpy scalar
        if not isinstance(name, str) or not name:
            raise EvaluatorError(
                f"{where}: metric name {name!r} is not a string", allowed="non-empty strings"
            )
        if value is not None and not isinstance(value, bool | int | float | str):
            raise EvaluatorError(
                f"{where}: metric '{name}' is a {type(value).__name__}",
                allowed="numbers, strings or None",
            )
        if isinstance(value, int) and not -_INT64_MAX - 1 <= value <= _INT64_MAX:
            raise RtmmError(f"{where}: metric '{name}' = {value} exceeds 64 bits")
        if isinstance(value, float) and math.isinf(value):
            raise RtmmError(f"{where}: metric '{name}' is {value}", allowed="finite numbers")
        out[name] = value
    return out


def checked_artifacts(raw: Mapping[str, bytes], point: Any) -> dict[str, bytes]:
    """An :class:`Evaluation`'s artifacts (names to bytes), else :class:`EvaluatorError`."""
    for name, data in raw.items():
        if not isinstance(name, str) or not name or not isinstance(data, bytes):
            raise EvaluatorError(
                f"point {point.index} ({point.point_id}): artifact {name!r} is not bytes",
                allowed="a mapping of non-empty names to bytes",
            )
    return dict(raw)


def evaluate_batch(evaluator: Evaluator, points: list[Any]) -> list[PointResult]:
    """Evaluate a batch in a worker. A point whose evaluation raises an :class:`RtmmError` (bad
    hardware value, an inconsistent configuration, an infinite metric) becomes an ``error`` row.
    Any other exception is a bug of the evaluator: it stops the sweep as one
    :class:`EvaluatorError` line naming the point and the exception (committed batches stay)."""
    worker = f"{os.uname().nodename}:{os.getpid()}"
    out = []
    for p in points:
        t0 = time.perf_counter()
        artifacts: dict[str, bytes] = {}
        try:
            raw = evaluator(p)
            if isinstance(raw, Evaluation):
                artifacts = checked_artifacts(raw.artifacts, p)
                raw = raw.metrics
            metrics, error = checked_metrics(raw, p), None
        except EvaluatorError:
            raise
        except RtmmError as exc:
            metrics, error, artifacts = {}, str(exc), {}
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise EvaluatorError(
                f"point {p.index} ({p.point_id}): the evaluator crashed with "
                f"{type(exc).__name__}: {first}",
                allowed="an evaluator that returns metrics or raises RtmmError",
            ) from None
        out.append(
            PointResult(
                point_id=p.point_id,
                seq=p.index,
                params=p.params(),
                flat_params=p.flat_params(),
                metrics=metrics,
                error=error,
                wall_s=time.perf_counter() - t0,
                worker=worker,
                artifacts=artifacts,
            )
        )
    return out


def _spec_json(spec: SweepSpec) -> str:
    return json.dumps(spec.identity(), sort_keys=True)

"""``rtmm compare`` as a built-in sweep: its points run on the sweep runner into a results store.

The recipe (:func:`run_compare`):

1. check the options (:func:`validate`) and list the runs (:func:`dse.compare_points.points_of`);
2. open the store (``OUT/results.sqlite`` on the CLI): a store of other options or inputs is
   refused unless ``extend`` (it then keeps those runs and reuses the ones this run shares);
3. skip the runs it holds (a run to be drawn as a Gantt chart also needs its block trace) and
   run the rest with :func:`dse.runner.run_points` on any :mod:`dse.executors` executor (process
   pool, Dask, in-process), batched by (scenario, system) so a worker costs a system once; every
   finished batch is committed, so a killed run loses only the batches in flight;
4. read every table and figure input from the store (:func:`results_from_store`) — which is all
   that ``rtmm compare --figures-only`` does: it never simulates.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

import numpy as np
import pandas as pd

from dse import compare_eval
from dse.compare_points import CompareConfig, Point, content_hash, inputs_digest, points_of
from dse.compare_stats import overall, reductions, scenario_comparison, summary_table
from dse.executors import make_executor
from dse.runner import run_points
from dse.store import ResultStore
from hardware_db import library
from rtmm.errors import RtmmError, SimulationError, SpecError
from rtmm.names import spec_label
from scheduler import policies
from scheduler.metrics import geomean
from scheduler.result import SimulationResult
from workloads import scenario as scenario_lib

#: The results store's file name in compare's output folder.
STORE_NAME = "results.sqlite"
RUN_COLUMNS = ("scenario", "system", "policy", "seed", *compare_eval.RUN_METRICS, "accuracy",
               "starved", "starved_models", "uxcost_bound")  # fmt: skip


@dataclass
class CompareResult:
    runs: pd.DataFrame
    reductions: pd.DataFrame
    summary: pd.DataFrame
    traces: pd.DataFrame
    accuracy: pd.DataFrame
    scenarios: pd.DataFrame
    overall: pd.DataFrame
    loads: pd.DataFrame
    #: The run drawn as a Gantt chart (the hardest scenario under the reference policy).
    gantt: SimulationResult | None = None
    #: Runs computed by this call and runs reused from the store.
    computed: int = 0
    reused: int = 0


def validate(config: CompareConfig) -> None:
    """Refuse unknown names, two specs with one label, and empty or out-of-range options."""
    for name in config.scenarios:
        scenario_lib.load(name)
    for name in config.systems:
        library.get_system(name)
    for name in config.policies:
        policies.get_class(name)
    for kind, specs in (("scenarios", config.scenarios), ("systems", config.systems)):
        labels = [spec_label(s) for s in specs]
        if len(set(labels)) != len(labels):
            raise RtmmError(
                f"two {kind} have the same name ({', '.join(map(str, specs))})",
                source="<cli>",
                allowed=f"{kind} whose names (file stems) differ",
            )
    if not config.seeds:
        raise RtmmError("no seeds", source="<cli>", allowed="one or more integers")
    if not (np.isfinite(config.jitter_ms) and config.jitter_ms >= 0):
        raise RtmmError(f"--jitter-ms {config.jitter_ms}", source="<cli>", allowed=">= 0")
    if not config.horizon_ms > 0:
        raise RtmmError(f"--horizon-ms {config.horizon_ms}", source="<cli>", allowed="> 0")
    if not config.policies or not config.scenarios or not config.systems:
        raise RtmmError("empty selection", source="<cli>", allowed="at least one of each")


def fingerprint(config: CompareConfig) -> str:
    """Content hash of the options and of the simulator's inputs (:func:`inputs_digest`)."""
    return content_hash([config.identity(), inputs_digest()])


def open_store(path: str | Path, config: CompareConfig, *, extend: bool = False) -> ResultStore:
    """The writer's store for ``config``; one of other options or inputs is refused (one line)
    unless ``extend``."""
    return ResultStore.open(
        path,
        fingerprint=fingerprint(config),
        spec_json=json.dumps(config.identity(), sort_keys=True),
        resume=True,
        adopt=extend,
        refusal=(
            "rtmm compare with other options or inputs (another version of the simulator, or "
            "changed scenario/system files)",
            "the same options, another --out, or --extend to keep those runs and add these",
        ),
    )


def stored_config(path: str | Path, **settings) -> CompareConfig:
    """The options of the last ``rtmm compare`` that wrote the store at ``path``."""
    if not Path(path).is_file():
        raise SpecError(
            "no results store", source=path, allowed="an --out folder written by rtmm compare"
        )
    with ResultStore(path, read_only=True) as store:
        text = store.meta().get("spec_json")
    try:
        return CompareConfig.from_identity(json.loads(text or ""), **settings)
    except (ValueError, KeyError, TypeError) as exc:
        raise SpecError(
            f"not a store of rtmm compare ({type(exc).__name__}: {exc})",
            source=path,
            allowed="an --out folder written by rtmm compare",
        ) from None


def run_compare(
    config: CompareConfig,
    progress: bool = True,
    *,
    store: str | Path | None = None,
    extend: bool = False,
) -> CompareResult:
    """Run the runs of ``config`` missing from ``store`` (default: a temporary store), then read
    the comparison from it (module docstring)."""
    validate(config)
    if store is None:
        with tempfile.TemporaryDirectory(prefix="rtmm-compare-") as tmp:
            return run_compare(config, progress, store=Path(tmp) / STORE_NAME)
    points = points_of(config)
    st = open_store(store, config, extend=extend)
    try:
        done, drawn = st.completed_ids(), st.artifact_ids("run")
        todo = list(
            {p.point_id: p for p in points
             if p.point_id not in done or (p.keep_blocks and p.point_id not in drawn)}.values()
        )  # fmt: skip
        if not todo:
            st.close()
        else:
            name = "serial" if config.executor == "local" and config.jobs == 1 else config.executor
            size = config.batch_size or max(1, len(config.policies))
            with make_executor(
                name, workers=config.jobs, address=config.scheduler_address
            ) as executor:
                run_points(
                    st, todo, compare_eval.evaluate, executor, size, key=attrgetter("batch_key"),
                    total=len(todo), progress=progress, desc="compare",
                )  # fmt: skip
    except BaseException:
        st.discard_if_empty()  # a no-op when run_points already closed it
        raise
    result = results_from_store(store, config, points)
    result.computed = len(todo)
    result.reused = len({p.point_id for p in points}) - len(todo)
    return result


def results_from_store(
    path: str | Path, config: CompareConfig, points: list[Point] | None = None
) -> CompareResult:
    """Every table of the comparison and its Gantt run, read from the store (no simulation)."""
    points = points_of(config) if points is None else points
    ids = [p.point_id for p in points]
    with ResultStore(path, read_only=True) as store:
        frame = store.to_frame().set_index("point_id")
        missing = [i for i in dict.fromkeys(ids) if i not in frame.index]
        if missing:
            raise SpecError(
                f"the store lacks {len(missing)} of {len(set(ids))} runs of these options",
                source=path,
                allowed="rtmm compare with these options (without --figures-only) to run them",
            )
        failed = frame.loc[[i for i in ids if frame.at[i, "status"] != "ok"]]
        if len(failed):
            raise SimulationError(
                f"{len(failed)} of {len(ids)} runs failed; the first: {failed['error'].iloc[0]}",
                source=path,
            )
        tuner = store.artifacts("tuner", ids)
        acc = store.artifacts("accuracy", ids)
        rows = [{**p.label, **json.loads(frame.at[p.point_id, "metrics_json"])} for p in points]
        runs = pd.DataFrame(rows)
        gantt = _gantt_run(store, config, points, runs)
    loads = _loads(runs)
    return CompareResult(
        runs=runs[list(RUN_COLUMNS)],
        reductions=reductions(runs),
        summary=summary_table(runs),
        traces=_concat([tuner[i] for i in ids if i in tuner]),
        accuracy=_concat([acc[i] for i in ids if i in acc]),
        scenarios=scenario_comparison(runs, loads),
        overall=overall(runs),
        loads=loads,
        gantt=gantt,
    )


def hardest(runs: pd.DataFrame) -> tuple[str, str]:
    """(scenario, system) with the highest geomean UXCost of the baselines."""
    base = runs[~runs["policy"].str.startswith("sdrm3")]
    if not len(base):
        base = runs
    g = base.groupby(["scenario", "system"])["uxcost"].apply(lambda s: geomean(s))
    return tuple(g.idxmax())


def _gantt_run(
    store: ResultStore, config: CompareConfig, points: list[Point], runs: pd.DataFrame
) -> SimulationResult | None:
    scenario, system = hardest(runs)
    for p in points:
        label = p.label
        if p.keep_blocks and (label["scenario"], label["system"]) == (scenario, system):
            blob = store.artifacts("run", [p.point_id]).get(p.point_id)
            return None if blob is None else compare_eval.decode_result(blob)
    return None


def _loads(runs: pd.DataFrame) -> pd.DataFrame:
    """Ideal load per (system, scenario), in the order of the runs (computed by the workers)."""
    first = runs.drop_duplicates(["scenario", "system"])
    loads = pd.DataFrame(
        {
            "system": first["system"].to_numpy(),
            "scenario": first["scenario"].to_numpy(),
            "ideal_load": first["ideal_load"].to_numpy(float),
        }
    )
    loads["overloaded"] = loads["ideal_load"] > 1
    return loads


def _concat(blobs: list[bytes]) -> pd.DataFrame:
    frames = [compare_eval.read_frame(b) for b in blobs]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

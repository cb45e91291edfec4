"""A lower bound on the UXCost any full-model schedule can reach on a run's frames.

``rtmm compare`` reports SDRM3's UXCost reduction against the best fair baseline. A reduction
target (issue 12: >= 30 %) is only meaningful if some schedule could reach it, so this module
bounds, for one run's released frames, the UXCost of *every* schedule of them on the system's
accelerators (full models, no Supernet sub-networks). It relaxes everything that makes scheduling
hard, so no policy can beat it:

- work is *fluid*: each frame's layers may be spread over accelerators in any proportions, at
  no migration cost, deadlines are not checked beyond the frame's own window, off-chip
  contention is ignored, and an accelerator's capacity is the whole span of the run (from the
  first release to the last deadline);
- a frame can be on time only if its layers, each on its fastest accelerator, fit between its
  release and its deadline (a frame that cannot is lost under any schedule);
- an unserved frame costs at least its reference energy (the metric charges a dropped frame's
  undone layers at their dearest accelerator, and a late frame's layers were executed).

With ``y[m, l, a]`` the number of model m's on-time frames whose layer l runs on accelerator a
(the same total ``s_m`` for every layer), ``n_m`` its released frames and ``N`` the models with
released frames, :func:`~scheduler.metrics.uxcost_terms` gives ``V >= 1 - sum_m (s_m / n_m) / N``
and ``E_norm >= 1 + sum y x (energy - the layer's least energy) / reference``. Both are linear, so
two linear programmes (SciPy HiGHS) give the least ``V`` (``v_min``) and the least ``V`` with
every served layer on its least-energy accelerator (``v_0``, where the least ``E_norm`` is 1); the
least ``E_norm(v)`` for ``V <= v`` is non-increasing in v, and on a grid ``v_min = v_0 < ... <
v_K = v_0`` of K intervals ``UXCost >= min_i E_norm(v_{i+1}) x (v_i + V_FLOOR)`` (and
``>= v_0 + V_FLOOR`` beyond ``v_0``). Every step only loosens the bound, so it holds for every
run of every full-model policy on the same frames (``tests/test_uxcost_bound.py`` checks it on
all policies); it need not be reachable.

The bound depends on the released frames only, which the engine draws independently of the
policy: all policies of one (scenario, system, seed) share it. A Supernet policy may go below it
(a sub-network turns a lost frame into a partial accuracy shortfall). XRBench-compatible runs
(frames unfinished at the stop are not violations) have no bound here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from rtmm.errors import SimulationError
from scheduler.costs import CostArrays
from scheduler.metrics import V_FLOOR
from scheduler.state import FrameStatus

#: Intervals of the V grid between ``v_min`` and ``v_0`` (more only tightens the bound).
GRID_INTERVALS = 12


@dataclass(frozen=True)
class UXCostBound:
    """The bound of one run's frames (module docstring).

    ``uxcost``: no full-model schedule of these frames has a lower UXCost; ``v_min``: the least
    violation term V any schedule reaches; ``v_0``: the least V with every served layer on its
    least-energy accelerator (from there on E_norm can be 1).
    """

    uxcost: float
    v_min: float
    v_0: float


@dataclass(frozen=True)
class _Programme:
    """The LP's pieces shared by its solves: variables ``y[m, l, a]`` flattened in order."""

    model: np.ndarray  # per variable: its model's row in the programme
    first: np.ndarray  # per variable: True for layer 0 (those sum to s_m)
    excess_nj: np.ndarray  # per variable: energy above the layer's least, per frame
    least: np.ndarray  # per variable: True on a least-energy accelerator of its layer
    a_eq: sparse.csr_matrix  # every layer's total equals layer 0's
    a_cap: sparse.csr_matrix  # busy ms per accelerator
    capacity_ms: np.ndarray
    window_ms: np.ndarray  # per model: its longest frame window (release to deadline)
    lat_ms: np.ndarray  # per variable: the layer's latency on the accelerator, per frame
    released: np.ndarray  # n_m of the programme's models
    servable: np.ndarray  # frames of each model that fit their window
    reference_nj: float
    num_models: int  # N: models with released frames (including those that can serve none)


def uxcost_bound(frames: pd.DataFrame, costs: CostArrays) -> UXCostBound:
    """The UXCost lower bound of a native run's frame table on the system of ``costs``."""
    status = frames["status"]
    if (status == FrameStatus.UNFINISHED).any():
        raise SimulationError(
            "UXCost bound: frames unfinished at the stop (XRBench-compatible run); the bound "
            "needs native runs, where every released frame is resolved",
            source="<uxcost bound>",
        )
    released = frames[status != FrameStatus.NOT_TRIGGERED]
    if released.empty:
        raise SimulationError("UXCost bound: no released frame", source="<uxcost bound>")
    prog = _programme(released, costs)
    v_min = _least_v(prog, least_energy_only=False)
    v_0 = _least_v(prog, least_energy_only=True)
    best = v_0 + V_FLOOR
    if v_0 > v_min:
        grid = np.linspace(v_min, v_0, GRID_INTERVALS + 1)
        for lo, hi in zip(grid[:-1], grid[1:], strict=True):
            best = min(best, _least_e_norm(prog, hi) * (lo + V_FLOOR))
    return UXCostBound(uxcost=float(best), v_min=float(v_min), v_0=float(v_0))


def _programme(released: pd.DataFrame, costs: CostArrays) -> _Programme:
    """Variables, equality and capacity rows of the run's frames (module docstring)."""
    ms_per_cycle = 1e3 / np.asarray(costs.clock_hz, dtype=float)
    window_ms = (released["deadline_ms"] - released["release_ms"]).to_numpy(float)
    capacity_ms = float(released["deadline_ms"].max() - released["release_ms"].min())
    k = costs.num_accelerators
    cols_model, cols_first, cols_excess, cols_least, cols_lat = [], [], [], [], []
    eq_rows: list[tuple[np.ndarray, np.ndarray]] = []
    n_rel, n_fit, windows = [], [], []
    offset, reference_nj = 0, 0.0
    ids = released["model"].to_numpy()
    for model_id in dict.fromkeys(ids):  # models with released frames, first-release order
        full = costs.models[costs.index(model_id)].full
        lat_ms = full.latency_cycles * ms_per_cycle[None, :]
        mine = window_ms[ids == model_id]
        fit = int((mine >= lat_ms.min(axis=1).sum()).sum())
        windows.append(float(mine.max()))
        n_rel.append(int((ids == model_id).sum()))
        reference_nj += n_rel[-1] * full.min_energy_nj
        n_fit.append(fit)
        if fit == 0:
            continue
        row = len(n_fit) - 1
        energy = full.energy_nj
        layers = full.num_layers
        cols_model.append(np.full(layers * k, row))
        cols_first.append(np.repeat(np.arange(layers) == 0, k))
        cols_excess.append((energy - energy.min(axis=1, keepdims=True)).ravel())
        cols_least.append((energy <= energy.min(axis=1, keepdims=True)).ravel())
        cols_lat.append(lat_ms.ravel())
        for layer in range(1, layers):  # sum_a y[l, a] - sum_a y[0, a] = 0
            idx = offset + np.r_[layer * k : (layer + 1) * k, 0:k]
            eq_rows.append((idx, np.r_[np.ones(k), -np.ones(k)]))
        offset += layers * k
    prog_cols = offset
    lat = np.concatenate(cols_lat) if cols_lat else np.zeros(0)
    acc = np.tile(np.arange(k), prog_cols // k) if prog_cols else np.zeros(0, dtype=int)
    a_cap = sparse.csr_matrix((lat, (acc, np.arange(prog_cols))), shape=(k, prog_cols))
    if eq_rows:
        r = np.concatenate([np.full(len(i), j) for j, (i, _) in enumerate(eq_rows)])
        c = np.concatenate([i for i, _ in eq_rows])
        v = np.concatenate([x for _, x in eq_rows])
        a_eq = sparse.csr_matrix((v, (r, c)), shape=(len(eq_rows), prog_cols))
    else:
        a_eq = sparse.csr_matrix((0, prog_cols))
    cat = np.concatenate
    return _Programme(
        model=cat(cols_model) if cols_model else np.zeros(0, dtype=int),
        first=cat(cols_first) if cols_first else np.zeros(0, dtype=bool),
        excess_nj=cat(cols_excess) if cols_excess else np.zeros(0),
        least=cat(cols_least) if cols_least else np.zeros(0, dtype=bool),
        a_eq=a_eq,
        a_cap=a_cap,
        capacity_ms=np.full(k, capacity_ms),
        window_ms=np.asarray(windows),
        lat_ms=lat,
        released=np.asarray(n_rel, dtype=float),
        servable=np.asarray(n_fit, dtype=float),
        reference_nj=reference_nj,
        num_models=len(n_rel),
    )


def _served_share(prog: _Programme) -> np.ndarray:
    """Per variable, its contribution to ``sum_m s_m / n_m`` (layer-0 variables only)."""
    return np.where(prog.first, 1.0 / prog.released[prog.model], 0.0)


def _rows(prog: _Programme) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Inequality rows: capacity per accelerator; per served model ``s_m <= servable_m`` and its
    frames' layers, run one after another, within its longest window on average."""
    nvar = len(prog.model)
    served_models = np.unique(prog.model)
    pick = np.flatnonzero(prog.first)
    row_of = np.searchsorted(served_models, prog.model)
    serv = sparse.csr_matrix(
        (np.ones(len(pick)), (row_of[pick], pick)), shape=(len(served_models), nvar)
    )
    window = prog.window_ms[served_models]
    seq = (
        sparse.csr_matrix(
            (prog.lat_ms, (row_of, np.arange(nvar))), shape=(len(served_models), nvar)
        )
        - sparse.diags(window, shape=(len(served_models), len(served_models))) @ serv
    )
    a_ub = sparse.vstack([prog.a_cap, serv, seq]).tocsr()
    b_ub = np.r_[prog.capacity_ms, prog.servable[served_models], np.zeros(len(served_models))]
    return a_ub, b_ub


def _solve(
    cost: np.ndarray,
    prog: _Programme,
    a_ub: sparse.csr_matrix,
    b_ub: np.ndarray,
    upper: np.ndarray | None = None,
) -> np.ndarray:
    """``argmin cost @ y`` over ``0 <= y <= upper`` (no upper: unbounded), the inequality rows
    and the programme's equalities."""
    if len(cost) == 0:
        return np.zeros(0)
    has_eq = prog.a_eq.shape[0] > 0
    res = linprog(
        cost, A_ub=a_ub, b_ub=b_ub, A_eq=prog.a_eq if has_eq else None,
        b_eq=np.zeros(prog.a_eq.shape[0]) if has_eq else None,
        bounds=np.c_[np.zeros(len(cost)), np.full(len(cost), np.inf) if upper is None else upper],
        method="highs",
    )  # fmt: skip
    if res.status != 0:  # y = 0 is always feasible, so only a solver failure lands here
        raise SimulationError(f"UXCost bound: linprog failed ({res.message})", source="<bound>")
    return np.asarray(res.x)


def _least_v(prog: _Programme, least_energy_only: bool) -> float:
    """The least V: maximise the served shares (on least-energy accelerators only if asked)."""
    share = _served_share(prog)
    a_ub, b_ub = _rows(prog)
    upper = np.where(prog.least, np.inf, 0.0) if least_energy_only else None
    y = _solve(-share, prog, a_ub, b_ub, upper)
    served = float(share @ y) if len(y) else 0.0
    return max(0.0, 1.0 - served / prog.num_models)


def _least_e_norm(prog: _Programme, v: float) -> float:
    """The least E_norm of schedules with ``V <= v``."""
    share = _served_share(prog)
    a_ub, b_ub = _rows(prog)
    need = prog.num_models * (1.0 - v)  # sum_m s_m / n_m >= N (1 - v)
    a_ub = sparse.vstack([a_ub, sparse.csr_matrix(-share[None, :])]).tocsr()
    y = _solve(prog.excess_nj, prog, a_ub, np.r_[b_ub, -need + 1e-9])
    return 1.0 + float(prog.excess_nj @ y) / prog.reference_nj

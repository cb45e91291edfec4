"""SDRM3's speed caches change no decision: the run memo of time-independent quantities (per
variant, layer, previous accelerator, idle set) and the per-decision cache give the same terms
and the same runs as computing everything afresh at every use."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from test_mechanics_contention_drop import BW, SysBW
from test_scheduler_properties import workloads

from scheduler import simulate
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.mechanics import FrameMechanics
from scheduler.policies.sdrm3 import SDRM3Static
from scheduler.policies.sdrm3_terms import pair_terms
from scheduler.state import Job


@dataclass(frozen=True)
class Energy:
    dram_pj: float = 20.0


@dataclass(frozen=True)
class AccDram:
    """An accelerator with a DRAM energy, so that the engine charges migration."""

    name: str
    clock_hz: float = 1e9
    energy: Energy = field(default_factory=Energy)


class NoMemo(dict):
    """A memo that keeps nothing: every lookup misses, so every quantity is recomputed."""

    def __setitem__(self, key, value) -> None:
        pass


class Uncached(SDRM3Static):
    """SDRM3 (static) without its memo and per-decision cache."""

    def reset(self, ctx) -> None:
        super().reset(ctx)
        self._memo = NoMemo()

    def _cache(self, state):
        return None


def test_no_memo_really_recomputes():
    memo = NoMemo()
    memo["k"] = 1
    assert memo.get("k") is None and "k" not in memo


def _random_jobs(rng, variants, n_acc):
    jobs = []
    for m, v in enumerate(variants):
        period = float(rng.uniform(5.0, 40.0))
        job = Job(m, f"M{m}", 0, period, 0.0, period, None, True)
        job.costs = v
        job.next_layer = int(rng.integers(0, v.num_layers))
        job.last_accelerator = int(rng.integers(-1, n_acc))
        job.last_progress_ms = float(rng.uniform(0.0, 5.0))
        jobs.append(job)
    return jobs


def test_pair_terms_with_a_memo_equal_those_without():
    rng = np.random.default_rng(1)
    n_acc = 3
    variants = [
        VariantCosts(
            f"M{m}",
            rng.integers(10_000, 4_000_000, size=(6, n_acc)),
            rng.uniform(1e3, 1e6, size=(6, n_acc)),
        )
        for m in range(4)
    ]
    ms = np.full(n_acc, 1e-6)
    chain = rng.uniform(0.0, 3.0, size=4)
    memos: dict = {}  # one memo per run: per option set, as in a policy
    infeasible = 0
    for _ in range(80):  # repeated situations hit the memo
        jobs = _random_jobs(rng, variants, n_acc)[: int(rng.integers(1, 5))]
        idle = tuple(a for a in range(n_acc) if rng.random() < 0.7) or (0,)
        now = float(rng.uniform(0.0, 10.0))
        kw = dict(
            urgency=str(rng.choice(["laxity", "density"])),
            energy_term=str(rng.choice(["energy", "affinity"])),
            cut_on_affinity=bool(rng.random() < 0.3), chain_ms=chain, scale_ms=5.0,
        )  # fmt: skip
        memo = memos.setdefault((kw["energy_term"], kw["cut_on_affinity"]), {})
        fresh = pair_terms(jobs, idle, now, ms, 2.0, **kw)
        again = pair_terms(jobs, idle, now, ms, 2.0, memo=memo, **kw)
        infeasible += int((~fresh.feasible).sum())
        for name in ("urgency", "starvation", "energy", "switch", "n_layers", "feasible"):
            a, b = getattr(fresh, name), getattr(again, name)
            assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert infeasible > 0 and all(len(m) > 0 for m in memos.values())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload=workloads())
def test_runs_with_the_caches_equal_runs_without_them(workload):
    scenario, system, costs, horizon, seed, jitter = workload
    # off-chip words on every layer (the contention hold acts) and input activations (the
    # engine charges migration: remaining latencies depend on the previous accelerator)
    models = tuple(
        ModelCosts(mc.model_id, tuple(
            VariantCosts(v.name, v.latency_cycles, v.energy_nj, v.accuracy,
                         v.latency_cycles * BW * 0.8,
                         v.latency_cycles.mean(axis=1) * BW * 0.5)
            for v in mc.variants
        ))
        for mc in costs.models
    )  # fmt: skip
    costs = CostArrays(models, costs.accelerator_names, costs.clock_hz)
    system = SysBW(system.name, tuple(AccDram(a.name) for a in system.accelerators), BW)
    runs = [
        simulate(
            scenario, system, policy, costs=costs, horizon_ms=horizon, seed=seed,
            jitter_ms=jitter, offchip_contention=True,
            mechanics=FrameMechanics(feasible_placement=True),
        )
        for policy in (SDRM3Static(), Uncached())
    ]  # fmt: skip
    pd.testing.assert_frame_equal(runs[0].frames, runs[1].frames)
    pd.testing.assert_frame_equal(runs[0].timeline, runs[1].timeline)

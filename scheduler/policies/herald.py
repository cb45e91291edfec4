"""Herald-like static layer-to-accelerator assignment with EDF dispatch.

Source: Kwon, Lai, Pellauer, Krishna, Chen, Chandra, "Heterogeneous Dataflow Accelerators for
Multi-DNN Workloads" (HPCA 2021). Herald co-optimises a heterogeneous-dataflow accelerator and a
*layer-to-sub-accelerator* schedule offline: every layer of every model is bound to the
sub-accelerator whose dataflow suits it, balancing the load of the sub-accelerators, and at run time
layers simply run where they were assigned.

Our version (the hardware is given; only the schedule part of Herald is reproduced):

- offline, in :meth:`Herald.reset`: for every model (and every supernet variant) choose one
  accelerator per layer minimising the sum over layers of latency x energy (XRBench's per-layer
  EDP) where a layer's latency on accelerator ``a`` is inflated by the queueing factor
  ``1 / (1 - rho_a)``, ``rho_a`` being the utilisation of ``a`` by the *other* models of the
  scenario, each weighted by its frame rate (and by the probability that its cascade fires). Moving
  to another accelerator between consecutive layers costs ``switch_penalty`` x the model's mean
  per-layer EDP (standing in for the activation transfer Herald charges), so the per-model problem
  is a shortest path over (layer, accelerator) solved exactly by dynamic programming. Models are
  visited heaviest first and the whole assignment is re-solved ``sweeps`` times against the loads of
  the previous sweep (a fixed-point iteration instead of Herald's search);
- at run time, EDF: ready jobs in deadline order each take the accelerator their next layer is bound
  to, if it is free, for the run of consecutive layers bound to that accelerator (optionally cut at
  ``block_fraction`` x the shortest period). A job whose accelerator is busy waits, even if another
  accelerator is idle. Dropping hopeless frames, placement checks and the migration cost of a
  frame whose layers change accelerator are the engine's mechanics, as for every policy.

Differences from Herald ("-like"): no hardware co-exploration, the planner's switch penalty is a
fixed weight (the simulation charges the engine's migration cost), the load estimate ignores
queueing between layers of the same model. Native mode only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rtmm.errors import SimulationError
from scheduler.costs import CostArrays, VariantCosts
from scheduler.policies.base import (
    Decision,
    Policy,
    RunContext,
    assign_each,
    bad_parameter,
    block_for_budget,
    deadline_order,
)
from scheduler.state import Job, SchedulerState


def trigger_rates(ctx: RunContext) -> np.ndarray:
    """Expected frames per ms of every model: 1 / period x the product of its cascade chain's p."""
    rates = 1.0 / np.asarray(ctx.periods_ms, dtype=float)
    for m in range(len(rates)):
        node, p = m, 1.0
        while node is not None:
            p *= float(ctx.probabilities[node])
            node = ctx.parents[node]
        rates[m] *= p
    return rates


def assign_layers(layer_cost: np.ndarray, switch_cost: float) -> np.ndarray:
    """Accelerator per layer minimising ``sum layer_cost[l, a_l] + switch_cost x #switches``.

    ``layer_cost`` is ``[layers x accelerators]``; solved exactly (Viterbi). Ties go to the lowest
    accelerator index.
    """
    num_layers, num_acc = layer_cost.shape
    move = switch_cost * (1.0 - np.eye(num_acc))  # move[prev, next]
    total = layer_cost[0].copy()
    back = np.zeros((num_layers, num_acc), dtype=np.int64)
    for layer in range(1, num_layers):
        via = total[:, None] + move
        back[layer] = np.argmin(via, axis=0)
        total = via[back[layer], np.arange(num_acc)] + layer_cost[layer]
    path = np.empty(num_layers, dtype=np.int64)
    path[-1] = int(np.argmin(total))
    for layer in range(num_layers - 1, 0, -1):
        path[layer - 1] = back[layer, path[layer]]
    return path


def segment_ends(assignment: np.ndarray) -> np.ndarray:
    """``ends[l]`` = first layer after ``l`` bound to a different accelerator (or the end)."""
    n = len(assignment)
    ends = np.empty(n, dtype=np.int64)
    end = n
    for layer in range(n - 1, -1, -1):
        if layer < n - 1 and assignment[layer] != assignment[layer + 1]:
            end = layer + 1
        ends[layer] = end
    return ends


class Herald(Policy):
    """Static per-layer accelerator binding planned in :meth:`reset`, EDF at run time."""

    name = "herald"

    def __init__(
        self,
        switch_penalty: float = 0.5,
        sweeps: int = 3,
        max_utilisation: float = 0.95,
        block_fraction: float | None = None,
    ) -> None:
        if not np.isfinite(switch_penalty) or switch_penalty < 0:
            raise bad_parameter(self.name, "switch_penalty", switch_penalty, "a finite number >= 0")
        if not isinstance(sweeps, int) or sweeps < 1:
            raise bad_parameter(self.name, "sweeps", sweeps, "an integer >= 1")
        if not 0 < max_utilisation < 1:
            raise bad_parameter(self.name, "max_utilisation", max_utilisation, "0 < value < 1")
        if block_fraction is not None and not (np.isfinite(block_fraction) and block_fraction > 0):
            raise bad_parameter(self.name, "block_fraction", block_fraction, "None or a number > 0")
        self.switch_penalty = float(switch_penalty)
        self.sweeps = sweeps
        self.max_utilisation = float(max_utilisation)
        self.block_fraction = block_fraction
        self._plan: list[list[tuple[np.ndarray, np.ndarray]]] | None = None

    # --- offline planning --------------------------------------------------------------------
    def reset(self, ctx: RunContext) -> None:
        super().reset(ctx)
        costs = ctx.costs
        ms_per_cycle = 1e3 / np.asarray(costs.clock_hz, dtype=float)
        rates = trigger_rates(ctx)
        paths, util = self._plan_full_models(costs, rates, ms_per_cycle)
        plan = []
        for m, model in enumerate(costs.models):
            others = util.sum(axis=0) - util[m]
            per_variant = []
            for v, variant in enumerate(model.variants):
                path = paths[m] if v == 0 else self._solve(variant, others, ms_per_cycle)
                per_variant.append((path, segment_ends(path)))
            plan.append(per_variant)
        self._plan = plan

    def _plan_full_models(
        self, costs: CostArrays, rates: np.ndarray, ms_per_cycle: np.ndarray
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Assignment of every full model (heaviest first, ``sweeps`` times) and its loads.

        Returns the per-model paths and the ``[models x accelerators]`` utilisation they cause.
        """
        num_models, num_acc = len(costs.models), costs.num_accelerators
        demand = [
            rates[m] * float(np.min(model.full.total_latency_cycles * ms_per_cycle))
            for m, model in enumerate(costs.models)
        ]
        order = sorted(range(num_models), key=lambda m: (-demand[m], m))
        paths: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * num_models
        util = np.zeros((num_models, num_acc))
        for _ in range(self.sweeps):
            for m in order:
                full = costs.models[m].full
                paths[m] = self._solve(full, util.sum(axis=0) - util[m], ms_per_cycle)
                layers = np.arange(full.num_layers)
                busy_ms = full.latency_cycles[layers, paths[m]] * ms_per_cycle[paths[m]]
                util[m] = rates[m] * np.bincount(paths[m], weights=busy_ms, minlength=num_acc)
        return paths, util

    def _solve(self, variant: VariantCosts, others: np.ndarray, ms_per_cycle) -> np.ndarray:
        """One model's layer binding against the utilisation ``others`` of the other models."""
        rho = np.clip(others, 0.0, self.max_utilisation)
        latency_ms = variant.latency_cycles * ms_per_cycle
        edp = latency_ms * variant.energy_nj / (1.0 - rho)
        mean_best = float(edp.min(axis=1).mean())
        return assign_layers(edp, self.switch_penalty * mean_best)

    def assignment(self, model: int, variant: int = 0) -> np.ndarray:
        """The accelerator each layer of ``model`` (its ``variant``) is bound to."""
        if self._plan is None:
            raise SimulationError("policy 'herald' has not been reset with a run context")
        return self._plan[model][variant][0].copy()

    # --- run time ----------------------------------------------------------------------------
    def decide(self, state: SchedulerState) -> Sequence[Decision]:
        if self._plan is None:
            raise SimulationError("policy 'herald' has not been reset with a run context")
        plan = self._plan

        def choose(job: Job, free: list[int]) -> tuple[int, int] | None:
            path, ends = plan[job.model][job.variant]
            start = job.next_layer
            acc = int(path[start])
            if acc not in free:
                return None  # its planned accelerator is busy: it waits
            n = int(ends[start]) - start
            if self.block_fraction is not None:
                budget = self.block_fraction * state.min_period_ms
                clock = float(state.costs.clock_hz[acc])
                n = min(n, block_for_budget(job, acc, budget, clock))
            return acc, n

        return assign_each(deadline_order(state.ready), state.idle, choose)

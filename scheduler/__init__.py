"""Discrete-event simulation of real-time multi-model workloads on multi-accelerator systems.

``simulate(scenario, system, policy, ...)`` runs one scenario (XRBench-compatible or native mode)
and returns a :class:`SimulationResult` whose ``summary()`` holds the XRBench scores and UXCost.
Policies live in :mod:`scheduler.policies` (``policies.get(name)``, ``policies.names()``).
"""

from scheduler.cost_csv import read_cost_csv
from scheduler.costs import CostArrays, ModelCosts, VariantCosts, from_table
from scheduler.metrics import summary, utilisation, xrbench_score
from scheduler.result import SimulationResult
from scheduler.simulate import build_costs, simulate
from scheduler.state import FrameStatus, Job, SchedulerState, WindowMetrics

__all__ = [
    "CostArrays",
    "FrameStatus",
    "Job",
    "ModelCosts",
    "SchedulerState",
    "SimulationResult",
    "VariantCosts",
    "WindowMetrics",
    "build_costs",
    "from_table",
    "read_cost_csv",
    "simulate",
    "summary",
    "utilisation",
    "xrbench_score",
]

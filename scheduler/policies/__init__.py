"""Scheduling policies and their registry.

``get(name, **params)`` returns a fresh policy instance; ``names()`` lists the registered names.
Adding a policy is one file in this package plus one line in :data:`_REGISTRY` (``name`` ->
``"module:Class"``, imported lazily so a broken optional policy cannot break the others).
"""

from __future__ import annotations

import importlib

from rtmm.names import unknown_name
from scheduler.policies.base import (
    Decision,
    Dispatch,
    Drop,
    Policy,
    RunContext,
    best_accelerator,
    block_for_budget,
)

_REGISTRY: dict[str, str] = {
    "fcfs": "scheduler.policies.fcfs:FCFS",
    "round_robin": "scheduler.policies.round_robin:RoundRobin",
    "edf": "scheduler.policies.edf:EDF",
    "edf_admission": "scheduler.policies.edf_admission:EDFAdmission",
    "edf_split": "scheduler.policies.edf_split:EDFSplit",
    "edf_plan": "scheduler.policies.edf_plan:EDFPlan",
    "llf": "scheduler.policies.llf:LLF",
    "latency_greedy": "scheduler.policies.latency_greedy:LatencyGreedy",
    "edp_greedy": "scheduler.policies.edp_greedy:EDPGreedy",
    "herald": "scheduler.policies.herald:Herald",
    "prema": "scheduler.policies.prema:PREMA",
    "planaria": "scheduler.policies.planaria:Planaria",
    "veltair": "scheduler.policies.veltair:Veltair",
    "sdrm3": "scheduler.policies.sdrm3:SDRM3",
    "sdrm3_static": "scheduler.policies.sdrm3:SDRM3Static",
    "sdrm3_supernet": "scheduler.policies.sdrm3:SDRM3Supernet",
    "sdrm3_static_supernet": "scheduler.policies.sdrm3:SDRM3StaticSupernet",
}


def register(name: str, target: str) -> None:
    """Register ``name`` -> ``"module:Class"`` (used by policy modules living elsewhere)."""
    _REGISTRY[name] = target


def names() -> list[str]:
    """Registered policy names, sorted."""
    return sorted(_REGISTRY)


def get_class(name: str) -> type[Policy]:
    key = name.strip().lower().replace("-", "_")
    if key not in _REGISTRY:
        raise unknown_name("policy", name, names(), source="<cli>")
    module_name, cls_name = _REGISTRY[key].split(":")
    return getattr(importlib.import_module(module_name), cls_name)


def get(name: str, **params) -> Policy:
    """A new instance of the policy registered as ``name`` (case- and dash-insensitive)."""
    return get_class(name)(**params)


__all__ = [
    "Decision",
    "Dispatch",
    "Drop",
    "Policy",
    "RunContext",
    "best_accelerator",
    "block_for_budget",
    "get",
    "get_class",
    "names",
    "register",
]

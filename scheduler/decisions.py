"""The data exchanged between the engines and the policies: decisions and the run context.

Defined below both :mod:`scheduler.engine` and :mod:`scheduler.policies` (which re-exports them from
:mod:`scheduler.policies.base`), so that a policy may itself run the engine (the Supernet
selector's what-if runs) without an import cycle. See :mod:`scheduler.policies.base` for their
meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scheduler.costs import CostArrays
from scheduler.state import Job


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Run layers ``[job.next_layer, job.next_layer + n_layers)`` of ``job`` on ``accelerator``."""

    job: Job
    accelerator: int
    n_layers: int


@dataclass(frozen=True, slots=True)
class Drop:
    """Abandon ``job`` (it must be ready, i.e. not running)."""

    job: Job


Decision = Dispatch | Drop


@dataclass(frozen=True)
class RunContext:
    """Static facts of a run, given to ``Policy.reset``."""

    costs: CostArrays
    model_ids: tuple[str, ...]
    periods_ms: np.ndarray
    parents: tuple[int | None, ...]
    probabilities: np.ndarray
    horizon_ms: float
    xrbench: bool
    rng: np.random.Generator

"""The outcome of one simulation: per-frame and per-block tables plus the run's context."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scheduler import metrics

#: Columns of :attr:`SimulationResult.frames`.
FRAME_COLUMNS = (
    "model",
    "frame",
    "variant",
    "status",
    "release_ms",
    "ready_ms",
    "deadline_ms",
    "first_dispatch_ms",
    "completion_ms",
    "energy_nj",
    "accuracy",
    "min_energy_nj",
    "num_blocks",
    "undone_energy_nj",
)

#: Columns of :attr:`SimulationResult.timeline`.
TIMELINE_COLUMNS = (
    "accelerator",
    "accelerator_name",
    "model",
    "frame",
    "block",
    "first_layer",
    "n_layers",
    "release_ms",
    "dispatch_ms",
    "deadline_ms",
    "completion_ms",
    "energy_nj",
)


@dataclass(frozen=True)
class SimulationResult:
    """Everything a run produced.

    ``frames`` has one row per frame of every model (released or not-triggered; see
    :class:`scheduler.state.FrameStatus`), ``timeline`` one row per executed block. ``model_ids``
    is the scenario's model list (its length is the scenario's number of models), ``end_ms`` the
    simulated time at which the run stopped. Metrics are computed by :mod:`scheduler.metrics`.
    """

    scenario: str
    system: str
    policy: str
    mode: str  # "xrbench" or "native"
    horizon_ms: float
    seed: int
    model_ids: tuple[str, ...]
    periods_ms: tuple[float, ...]
    accelerator_names: tuple[str, ...]
    frames: pd.DataFrame
    timeline: pd.DataFrame
    end_ms: float

    def summary(self) -> pd.DataFrame:
        return metrics.summary(self)

    def utilisation(self) -> pd.DataFrame:
        return metrics.utilisation(self)

    def score(self) -> float:
        """Scenario score on XRBench's 0-1 scale."""
        s = self.summary()
        return float(s.loc[s["model"] == "", "score"].iloc[0])


def frames_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    if frame.empty:
        return frame.astype({"frame": np.int64, "energy_nj": float})
    return frame


def timeline_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))
    return frame.astype(
        {"accelerator": np.int64, "frame": np.int64, "block": np.int64, "energy_nj": float}
    )

"""What the simulator needs of a scenario and a system, as structural types.

:class:`workloads.scenario.Scenario` and :class:`hardware_db.system.System` satisfy them; so do
the small stand-ins tests build (a scenario of plain entries, accelerators with only a name and a
clock) when they pass their own cost arrays. Computing costs needs the real classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class ScenarioEntryLike(Protocol):
    """One model of a scenario: id, frame rate, cascade parent and trigger probability."""

    @property
    def model_id(self) -> str: ...

    @property
    def fps(self) -> float: ...

    @property
    def parent(self) -> str | None: ...

    @property
    def probability(self) -> float: ...


class ScenarioLike(Protocol):
    """A named sequence of scenario entries."""

    @property
    def name(self) -> str: ...

    @property
    def models(self) -> Sequence[ScenarioEntryLike]: ...


class AcceleratorLike(Protocol):
    """An accelerator as the engines see it: a name and a clock."""

    @property
    def name(self) -> str: ...

    @property
    def clock_hz(self) -> float: ...


class SystemLike(Protocol):
    """A named sequence of accelerators."""

    @property
    def name(self) -> str: ...

    @property
    def accelerators(self) -> Sequence[AcceleratorLike]: ...

"""Expanding a sweep spec into design points: the full cross product or a seeded sample of it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from dse.spec import DesignPoint, SweepSpec, sample_indices

# --------------------------------------------------------------------------------------------
# Expansion
# --------------------------------------------------------------------------------------------


def expand(spec: SweepSpec) -> Iterator[DesignPoint]:
    """Yield the spec's design points in order (lazily for the full cross product)."""
    axes = spec.point_axes
    if spec.sample is None:
        combos: Iterator[tuple[Any, ...]] = itertools.product(*(a.values for a in axes))
    else:
        combos = (
            tuple(a.values[i] for a, i in zip(axes, idx, strict=True))
            for idx in sample_indices(spec)
        )
    nh = len(spec.hardware_axes)
    refs = dict(zip(spec.base_systems.values, spec.base_system_refs, strict=True))
    for index, combo in enumerate(combos):
        base, hardware = combo[0], combo[1 : 1 + nh]
        analysis, scenario, cascade, mode, policy, horizon, seed = combo[1 + nh :]
        yield DesignPoint(
            index=index,
            base_system=base,
            base_system_ref=refs[base],
            hardware=tuple((a.name, v) for a, v in zip(spec.hardware_axes, hardware, strict=True)),
            analysis=analysis,
            scenario=scenario,
            mode=mode,
            policy=policy,
            horizon_ms=horizon,
            seed=seed,
            cascade_probability=cascade,
        )

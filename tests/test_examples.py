"""The example files the README points to stay valid."""

from __future__ import annotations

from pathlib import Path

from dse.sweep import expand, load_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_example_sweep_spec_expands_to_its_cross_product():
    spec = load_spec(EXAMPLES / "sweep_pe_split.yaml")
    points = list(expand(spec))
    assert len(points) == 5 * 3 * 3  # pe_split x noc_col bandwidth x scenarios
    assert len({p.point_id for p in points}) == len(points)

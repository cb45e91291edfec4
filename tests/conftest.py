"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"


@pytest.fixture
def golden_data() -> Path:
    """Golden and measured data vendored under ``tests/data`` (see ``tests/data/README.md``).

    The files are copies of the project's reference data (MAESTRO's per-layer output for the XRBench
    layers, XRBench's published Figure-5 scores, Eyeriss v1 silicon measurements), so a fresh clone
    runs every headline test without anything beside the checkout.
    """
    return TEST_DATA

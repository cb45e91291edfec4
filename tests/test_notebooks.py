"""Execute every notebook in ``notebooks/`` end to end (small settings) with nbclient.

Each notebook has one cell tagged ``parameters`` (``SMALL = False``); the test injects a cell
``SMALL = True`` right after it, papermill-style, and runs the notebook in a temporary working
directory so whatever it writes (``results/``, temp files) stays out of the checkout.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT_S = 120


def _with_small_settings(nb):
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "a notebook needs exactly one cell tagged 'parameters'"
    injected = nbformat.v4.new_code_cell("SMALL = True  # injected by tests/test_notebooks.py")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(tagged[0] + 1, injected)
    return nb


def test_notebooks_exist():
    names = [p.stem for p in NOTEBOOKS]
    for expected in (
        "01_cost_model_tour",
        "02_hardware_what_if",
        "03_scheduler_comparison",
        "04_design_space_exploration",
        "05_xrbench_figures",
    ):
        assert expected in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":  # committed without outputs, self-contained
            assert not cell.outputs, f"{path.name}: committed with outputs"
            assert "shared/" not in cell.source, f"{path.name}: reads ../shared"
    nb = _with_small_settings(nb)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    print(f"{path.name}: {elapsed:.1f} s")
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    images = sum(
        "image/png" in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert images > 0, f"{path.name}: no figure was displayed"

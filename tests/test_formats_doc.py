"""docs/FORMATS.md: its complete examples load, and every field it documents is a real one."""

from __future__ import annotations

import re
from pathlib import Path

from dse import spec as sweep_spec
from dse import sweep
from workloads import scenario

DOC = Path(__file__).resolve().parents[1] / "docs" / "FORMATS.md"


def _example(title: str) -> str:
    text = DOC.read_text()
    after = text.split(f"Complete example ({title}):", 1)[1]
    return re.search(r"```yaml\n(.*?)```", after, re.S).group(1)


def _documented_fields(section: str) -> set[str]:
    text = DOC.read_text().split(section, 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)`", text, re.M))


def test_scenario_example_loads(tmp_path):
    path = tmp_path / "my-scenario.yaml"
    path.write_text(_example("scenario"))
    scn = scenario.load(path)
    assert scn.name == "my_assistant"
    assert scn.model_ids == ("ES_RITNet", "HT_hand_graph_cnn_half", "KD_res8_narrow", "ASR_EM_24L")
    assert scn["ASR_EM_24L"].parent == "KD_res8_narrow" and scn["ASR_EM_24L"].probability == 0.5


def test_sweep_example_loads_and_expands(tmp_path):
    path = tmp_path / "my-sweep.yaml"
    path.write_text(_example("sweep"))
    spec = sweep.load_spec(path)
    # hardware 3 x 4 x 2, then scenarios, cascade probabilities, policies, seeds: 2 each
    assert spec.full_size == 3 * 4 * 2 * 2 * 2 * 2 * 2
    assert 0 < spec.num_points <= 40  # Latin-hypercube samples are made distinct
    points = list(sweep.expand(spec))
    assert len(points) == spec.num_points and {p.mode for p in points} == {"native"}


def test_every_documented_field_exists():
    """The tables list exactly the keys the readers accept."""
    scn_fields = _documented_fields("## Scenario YAML")
    assert scn_fields == {"name", "description", "models", "model", "file", "fps", "parent",
                          "probability"}  # fmt: skip
    sweep_fields = _documented_fields("## Sweep YAML")
    top = {f for f in sweep_fields if f in sweep_spec._TOP_KEYS}
    assert top == set(sweep_spec._TOP_KEYS)
    hardware = sweep_fields - top
    accel = {re.sub(r"^accelerators\[i\]\.", "", f) for f in hardware if f.startswith("acc")}
    assert {f for f in hardware if not f.startswith("acc")} == set(sweep.SYSTEM_FIELDS)
    # table rows may pair noc_top/noc_col fields; every field must appear somewhere in the doc
    text = DOC.read_text()
    for name in sweep.ACCELERATOR_FIELDS:
        assert f"`accelerators[i].{name}`" in text, name
    assert accel <= set(sweep.ACCELERATOR_FIELDS)

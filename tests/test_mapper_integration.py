"""``dataflow: search[:objective]``: accelerators costed under searched per-layer mappings."""

from __future__ import annotations

import dataclasses

import pytest

from costmodel.mapper import cache
from costmodel.table import model_cost_table
from hardware_db.dataflow import PRESETS, search_dataflow, search_objective
from hardware_db.library import get_accelerator
from hardware_db.loader import accelerator_to_dict
from rtmm.errors import SpecError


def _searched(tmp_path, word="search:latency"):
    path = tmp_path / "acc.yaml"
    path.write_text(f"name: searched\nbase: xrbench-4k-B/0\ndataflow: {word}\n")
    return get_accelerator(path)


def test_search_dataflow_parses_and_round_trips(tmp_path):
    acc = _searched(tmp_path, "Search")
    assert acc.dataflow == search_dataflow("edp")
    assert search_objective(acc.dataflow) == "edp"
    assert search_objective(PRESETS["WS"]) is None
    assert accelerator_to_dict(acc)["dataflow"] == "search:edp"


def test_unknown_search_objective_names_the_field(tmp_path):
    with pytest.raises(SpecError, match=r"dataflow.*unknown mapping objective.*search:latency"):
        _searched(tmp_path, "search:speed")


def test_cost_table_with_searched_mappings_beats_every_preset(tmp_path):
    acc = _searched(tmp_path)
    table = model_cost_table("KD_res8_narrow", acc, analysis="native")
    assert set(table.dataflow) == {"search:latency"}
    presets = {
        name: model_cost_table("KD_res8_narrow", dataclasses.replace(acc, dataflow=flow), "native")
        for name, flow in PRESETS.items()
    }
    best = min(t.latency_cycles.sum() for t in presets.values())
    assert table.latency_cycles.sum() <= best
    # other analyses cost the same searched mappings
    maestro = model_cost_table("KD_res8_narrow", acc, analysis="maestro")
    assert (maestro.latency_cycles > 0).all()


def test_a_sweep_never_searches_the_same_layer_twice(tmp_path):
    cache.clear()
    acc = _searched(tmp_path, "search:energy")
    model_cost_table("KD_res8_narrow", acc, analysis="native")
    misses = cache.stats()["misses"]
    renamed = dataclasses.replace(acc, name="same-hardware-other-name")
    model_cost_table("KD_res8_narrow", renamed, analysis="maestro")
    assert cache.stats()["misses"] == misses  # every layer found in the mapper's cache

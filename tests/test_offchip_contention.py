"""Off-chip traffic in cost tables and the simulator's shared off-chip bandwidth option."""

from __future__ import annotations

import numpy as np

from costmodel.table import system_cost_table
from hardware_db.library import get_system
from scheduler import simulate
from scheduler.mechanics import FrameMechanics
from workloads import zoo


def test_maestro_tables_count_each_tensor_crossing_once():
    model = zoo.load("ES_RITNet")
    table = system_cost_table([model], get_system("xrbench-4k-A"))
    expected = [
        layer.input_elems + layer.weight_elems + max(layer.output_elems, 0)
        for layer in model.layers
    ]
    np.testing.assert_array_equal(table["offchip_words"].to_numpy(), expected)


def test_native_tables_report_their_dram_traffic():
    table = system_cost_table([zoo.load("ES_RITNet")], get_system("xrbench-4k-J"), "native")
    np.testing.assert_array_equal(table["offchip_words"], table["dram_rd"] + table["dram_wr"])


def test_contention_never_speeds_a_run_up_and_slows_busy_ones():
    # without the hopeless drop, so that both runs execute the same frames; maestro costs (every
    # layer streams its compulsory traffic) keep the four accelerators' DRAM demand above 128
    # words/cycle, so contention must show
    kwargs = dict(
        policy="edf",
        horizon_ms=300,
        seed=3,
        analysis="maestro",
        mechanics=FrameMechanics(drop_delta=None),
    )
    alone = simulate("ar_assistant", "xrbench-4k-G", **kwargs)
    shared = simulate("ar_assistant", "xrbench-4k-G", offchip_contention=True, **kwargs)
    # the same block of the same frame on the same accelerator, coming from the same accelerator
    # (same migration), is never faster with contention, and some are slower: four accelerators
    # share 128 words/cycle of DRAM
    key = ["model", "frame", "block", "first_layer", "n_layers", "accelerator", "previous"]

    def blocks(r):
        t = r.timeline.sort_values(["model", "frame", "block"])
        return t.assign(previous=t.groupby(["model", "frame"])["accelerator"].shift(fill_value=-1))

    both = blocks(alone).merge(blocks(shared), on=key, suffixes=("_alone", "_shared"))
    took = {s: both[f"completion_ms_{s}"] - both[f"dispatch_ms_{s}"] for s in ("alone", "shared")}
    assert len(both) >= 5
    assert (took["shared"] >= took["alone"] - 1e-9).all()
    assert (took["shared"] > took["alone"] + 1e-6).any()
    assert shared.summary().iloc[-1]["miss_rate"] >= alone.summary().iloc[-1]["miss_rate"] - 1e-12

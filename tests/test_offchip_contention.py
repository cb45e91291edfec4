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
    # without the hopeless drop, so that both runs execute the same frames
    kwargs = dict(policy="edf", horizon_ms=300, seed=3, mechanics=FrameMechanics(drop_delta=None))
    alone = simulate("ar_assistant", "xrbench-4k-G", **kwargs)
    shared = simulate("ar_assistant", "xrbench-4k-G", offchip_contention=True, **kwargs)
    busy = lambda r: (r.timeline["completion_ms"] - r.timeline["dispatch_ms"]).sum()  # noqa: E731
    assert busy(shared) > busy(alone)  # four accelerators share 128 words/cycle of DRAM
    assert shared.summary().iloc[-1]["miss_rate"] >= alone.summary().iloc[-1]["miss_rate"] - 1e-12

"""The native analysis: each correction, its equivalence with maestro, bounds and monotonicity."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel import cache, table
from costmodel.batch import LayerBatch
from costmodel.maestro import ACCESS_COUNTS, L1_COUNTS, L2_COUNTS, analyse_layers
from costmodel.native import (
    CORRECTIONS,
    NativeOptions,
    analyse_native,
    correction_deltas,
)
from dse.cli import main
from hardware_db.accelerator import NocLevel
from hardware_db.dataflow import PRESETS as DATAFLOWS
from hardware_db.energy import PRESETS as ENERGY
from hardware_db.library import get_accelerator
from rtmm.errors import CostModelError
from workloads import zoo
from workloads.layer import Layer, OpType

XR = {df: get_accelerator(f"xrbench-4k-{s}/0") for df, s in zip("WOR", "ABC", strict=True)}
ES_CONV6 = Layer("conv6", OpType.CONV, 1, 32, 32, 80, 50, 3, 3)
OFF = NativeOptions.none()
MAESTRO_KEYS = ("latency_cycles", "computations", "macs", "pes_used", "cluster_runtimes",
                "bound", "utilisation", "energy_nj", "energy_pj", *ACCESS_COUNTS,
                *(f"energy_{p}_pj" for p in ("compute", "l1", "l2", "noc", "dram")))  # fmt: skip


def _zoo_batch() -> LayerBatch:
    layers = {layer.dims: layer for n in zoo.names() for layer in zoo.load(n).layers}
    return LayerBatch.from_layers(list(layers.values()))


ZOO = _zoo_batch()
ZOO_VALID = ZOO.take(np.flatnonzero((ZOO.out_y >= 1) & (ZOO.out_x >= 1)))


def _huge(acc):
    """Capacities and bandwidths that never bind."""
    return dataclasses.replace(
        acc, l1_bytes_per_pe=1 << 40, l2_bytes=1 << 50, offchip_bw_words_per_cycle=1 << 40
    )


# ---------------------------------------------------------------------------------------------
# equivalence with maestro and the true_windows correction


@pytest.mark.parametrize("name", ["xrbench-4k-A/0", "xrbench-4k-B/0", "xrbench-4k-C/0",
                                  "xrbench-4k-K/1", "xrbench-8k-G/0", "eyeriss"])  # fmt: skip
def test_every_correction_off_equals_maestro_on_the_zoo(name):
    acc = get_accelerator(name)
    expected = analyse_layers(ZOO, acc)
    got = analyse_native(ZOO, acc, OFF)
    for key in MAESTRO_KEYS:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


@pytest.mark.parametrize("df", "WOR")
def test_true_windows_makes_the_computation_count_the_macs(df):
    acc = XR[df]
    maestro = analyse_layers(ZOO_VALID, acc)
    tw = analyse_native(ZOO_VALID, acc, NativeOptions.none(true_windows=True))
    assert (maestro["computations"] != maestro["macs"]).any()  # the quirk is there
    np.testing.assert_array_equal(tw["computations"], tw["macs"])
    # what true_windows must not touch: the MACs and every tensor written into L2 once
    for key in ("macs", "l2_wr_input", "l2_wr_weight", "l2_wr_output", "energy_dram_pj"):
        np.testing.assert_array_equal(tw[key], maestro[key], err_msg=key)
    np.testing.assert_allclose(tw["energy_compute_pj"], tw["macs"] * acc.energy.mac_pj)
    assert (tw["latency_cycles"] * tw["pes_used"] >= tw["macs"]).all()
    assert tw["latency_cycles"].sum() < maestro["latency_cycles"].sum()


def test_true_windows_on_es_conv6_ws_by_hand():
    # 936 level-0 steps (C2·K2·Y78·X3); innermost P = R·S = 9; level 1 (one step) receives inputs
    # C16·3·3 = 144 (multicast) + weights 16 units × C16·3·3 = 2304 words: ⌈2448/256⌉ = 10. The
    # first step and the step where C advances load a new weight tile (2304) and new inputs
    # (144 + 15 × 48 over the 16 X units): ⌈3168/256⌉ = 13, 3 cycles more, twice.
    r = analyse_native([ES_CONV6], XR["W"], NativeOptions.none(true_windows=True))
    assert r["cluster_runtimes"][0].tolist() == [9, 10, 936 * 10 + 2 * 3]
    assert r["computations"][0] == ES_CONV6.macs == 34_504_704
    maestro = analyse_layers(LayerBatch.from_layers([ES_CONV6]), XR["W"])
    assert maestro["latency_cycles"][0] == 33_696


def test_case_native_with_unbounded_resources_is_true_windows_plus_egress_on_xrbench_layers():
    # XRBench conventions (stride 1, dense, NoC latency 1, top == col): on MAESTRO's cases
    # (reuse off), strides, grouped, capacity, offchip and noc_latency change nothing when
    # nothing binds
    for acc in XR.values():
        big = _huge(acc)
        full = analyse_native(ZOO_VALID, big, NativeOptions(reuse=False, pass_fill=False))
        core = analyse_native(
            ZOO_VALID, big, NativeOptions.none(true_windows=True, all_egress=True)
        )
        for key in ("latency_cycles", "computations", *ACCESS_COUNTS, "cluster_runtimes"):
            np.testing.assert_array_equal(full[key], core[key], err_msg=key)
        np.testing.assert_allclose(full["energy_pj"], core["energy_pj"], rtol=1e-12)
        assert (full["l1_spill_words"] == 0).all() and (full["l2_refetch_words"] == 0).all()
        assert set(full["bound"]) <= {"compute", "noc"}


# ---------------------------------------------------------------------------------------------
# strides, groups, egress, capacity, off-chip, NoC latency


def test_strided_layer_keeps_its_input_and_its_macs():
    layer = Layer("s2", OpType.CONV, 1, 64, 32, 56, 56, 3, 3, (2, 2), (1, 1), 1)
    before = analyse_native([layer], XR["O"], NativeOptions.none(true_windows=True))
    after = analyse_native([layer], XR["O"], NativeOptions.none(true_windows=True, strides=True))
    assert before["macs"][0] == after["macs"][0] == layer.macs == 64 * 32 * 9 * 28 * 28
    assert after["computations"][0] == layer.macs
    # stride-1 equivalent input: 30x30 rows/columns; strided: the 57x57 padded rows touched
    assert before["l2_wr_input"][0] == 32 * 30 * 30
    assert after["l2_wr_input"][0] == 32 * 57 * 57
    assert after["l2_rd_input"][0] > before["l2_rd_input"][0]


def test_depthwise_is_costed_as_one_layer_with_channel_parallel_output():
    dw = Layer("dw", OpType.CONV, 1, 96, 96, 80, 50, 3, 3, groups=96)
    opts = NativeOptions.none(true_windows=True)
    reps = analyse_native([dw], XR["O"], opts)
    folded = analyse_native([dw], XR["O"], dataclasses.replace(opts, grouped=True))
    for r in (reps, folded):
        assert r["macs"][0] == r["computations"][0] == dw.macs == 96 * 9 * 78 * 48
        assert r["l2_wr_output"][0] == 96 * 78 * 48 and r["l2_wr_weight"][0] == 96 * 9
    # 96 sequential one-channel layers on OS: Y' = 78 over 64 units (2 rounds) × 12 X steps × R·S
    assert reps["latency_cycles"][0] == 96 * 2 * 12 * 9
    # folded: the 16 PEs of a cluster take 16 channels at once (6 C steps instead of 96)
    assert folded["latency_cycles"][0] * 8 < reps["latency_cycles"][0]
    pool = Layer("pool", OpType.POOL, 1, 16, 16, 32, 32, 2, 2, (2, 2), (0, 0))
    r = analyse_native([pool], XR["O"])
    assert r["l2_wr_weight"][0] == r["l2_rd_weight"][0] == r["l1_wr_weight"][0] == 0
    assert r["computations"][0] == pool.macs == 16 * 4 * 16 * 16


def test_all_egress_counts_every_active_sub_unit():
    # ASR fc1 on OS: 64 level-0 units each own 2 rows of 128 → egress 64·Q_out per step
    fc1 = Layer("fc1", OpType.CONV, 1, 512, 512, 128, 1)
    opts = NativeOptions.none(true_windows=True)
    one = analyse_native([fc1], XR["O"], opts)
    every = analyse_native([fc1], XR["O"], dataclasses.replace(opts, all_egress=True))
    assert every["latency_cycles"][0] >= one["latency_cycles"][0]
    for key in ACCESS_COUNTS:
        assert every[key][0] == one[key][0]


def test_capacity_spills_l1_and_refetches_beyond_l2():
    acc = dataclasses.replace(XR["W"], l1_bytes_per_pe=1, l2_bytes=1 << 14)
    layer = Layer("c", OpType.CONV, 1, 256, 256, 30, 30, 3, 3)
    opts = NativeOptions.none(true_windows=True)
    plain = analyse_native([layer], acc, opts)
    cap = analyse_native([layer], acc, dataclasses.replace(opts, capacity=True))
    assert cap["l1_spill_words"][0] > 0
    assert (
        cap["l2_rd_input"][0] + cap["l2_rd_weight"][0]
        > plain["l2_rd_input"][0] + plain["l2_rd_weight"][0]
    )
    i, w, o = 256 * 30 * 30, 256 * 256 * 9, 256 * 28 * 28
    passes = math.ceil((i + w + o) / (1 << 14))
    assert cap["dram_rd"][0] == i + w + (passes - 1) * min(i, w)
    assert cap["dram_wr"][0] == o
    assert cap["l2_refetch_words"][0] == (passes - 1) * min(i, w)
    assert cap["energy_pj"][0] > plain["energy_pj"][0]


def test_offchip_bound_and_dram_energy():
    acc = dataclasses.replace(XR["W"], offchip_bw_words_per_cycle=1, energy=ENERGY["eyeriss"])
    opts = NativeOptions.none(true_windows=True, capacity=True)
    before = analyse_native([ES_CONV6], acc, opts)
    after = analyse_native([ES_CONV6], acc, dataclasses.replace(opts, offchip=True))
    words = 32 * 80 * 50 + 32 * 32 * 9 + 32 * 78 * 48
    assert after["dram_rd"][0] + after["dram_wr"][0] == words
    assert after["latency_cycles"][0] == words > before["latency_cycles"][0]
    assert after["bound"][0] == "offchip"
    assert after["energy_dram_pj"][0] == pytest.approx(words * ENERGY["eyeriss"].dram_pj)


def test_noc_latency_field_is_honoured_only_by_the_correction():
    slow = NocLevel(256, latency_cycles=20)
    acc = dataclasses.replace(XR["O"], noc_top=slow, noc_col=slow)
    opts = NativeOptions.none(true_windows=True)
    ignored = analyse_native([ES_CONV6], acc, opts)
    assert (
        ignored["latency_cycles"][0]
        == analyse_native([ES_CONV6], XR["O"], opts)["latency_cycles"][0]
    )
    honoured = analyse_native([ES_CONV6], acc, dataclasses.replace(opts, noc_latency=True))
    assert honoured["latency_cycles"][0] > ignored["latency_cycles"][0]


# ---------------------------------------------------------------------------------------------
# correction_deltas and the registry


def test_correction_deltas_one_row_per_step_ending_at_native():
    layers = [*zoo.load("KD_res8_narrow").layers,
              Layer("dw", OpType.CONV, 1, 64, 64, 20, 20, 3, 3, (2, 2), (1, 1), 64)]  # fmt: skip
    acc = dataclasses.replace(XR["O"], l2_bytes=1 << 12)
    frame = correction_deltas(layers, acc)
    assert frame.step.tolist() == ["maestro", *CORRECTIONS]
    full = analyse_native(LayerBatch.from_layers(layers), acc)
    maestro = analyse_layers(LayerBatch.from_layers(layers), acc)
    assert frame.latency_cycles.iloc[-1] == full["latency_cycles"].sum()
    assert frame.energy_pj.iloc[-1] == pytest.approx(full["energy_pj"].sum(), rel=1e-12)
    assert frame.latency_cycles.iloc[0] == maestro["latency_cycles"].sum()
    assert frame.computations.iloc[1] == frame.macs.iloc[1]
    assert (
        frame.delta_latency_cycles.sum() == frame.latency_cycles.iloc[-1] - frame.latency_cycles[0]
    )
    assert (frame.latency_cycles.diff().fillna(0) != 0).sum() >= 3


def test_registered_for_tables_and_cli(tmp_path):
    cache.clear()
    native = table.model_cost_table("ES_RITNet", "xrbench-4k-A/0", analysis="native")
    maestro = table.model_cost_table("ES_RITNet", "xrbench-4k-A/0")
    assert (native.analysis == "native").all()
    assert native.latency_cycles.sum() < maestro.latency_cycles.sum()
    assert (native.computations == native.macs).all()
    off = table.system_cost_table(["ES_RITNet"], "xrbench-4k-A", "native", OFF)
    assert off.latency_cycles.tolist() == maestro.latency_cycles.tolist()
    again = table.system_cost_table(["ES_RITNet"], "xrbench-4k-A", "native")
    assert again.latency_cycles.tolist() == native.latency_cycles.tolist()
    out = tmp_path / "n.csv"
    argv = ["cost", "--model", "ES_RITNet", "--accelerator", "xrbench-4k-A/0"]
    assert main([*argv, "--analysis", "native", "--out", str(out)]) == 0
    assert pd.read_csv(out).latency_cycles.tolist() == native.latency_cycles.tolist()
    with pytest.raises(CostModelError, match="NativeOptions"):
        analyse_native(ZOO, XR["W"], object())


# ---------------------------------------------------------------------------------------------
# properties over random layers and accelerators

_layer = st.one_of(
    st.builds(  # strided, padded convolution
        lambda k, c, y, x, r, s, sy, sx, p: Layer(
            "conv", OpType.CONV, 1, k, c, y + r, x + s, r, s, (sy, sx), (p % r, p % s)
        ),
        *(st.integers(1, 80),) * 2,
        *(st.integers(0, 40),) * 2,
        *(st.integers(1, 5),) * 2,
        *(st.integers(1, 3),) * 2,
        st.integers(0, 4),
    ),  # fmt: skip
    st.builds(  # depthwise
        lambda c, y, r, s: Layer(
            "dw", OpType.CONV, 1, c, c, y + r, y + 2, r, r, (s, s), (r // 2, r // 2), c
        ),
        st.integers(2, 64),
        st.integers(0, 40),
        st.sampled_from([1, 3, 5]),
        st.integers(1, 2),
    ),  # fmt: skip
    st.builds(  # GEMM
        lambda k, c, y: Layer("fc", OpType.GEMM, 1, k, c, y, 1),
        st.integers(1, 600),
        st.integers(1, 600),
        st.integers(1, 200),
    ),  # fmt: skip
    st.builds(  # XRBench-convention conv
        lambda k, c, y, r: Layer("xr", OpType.CONV, 1, k, c, y + r, y + r, r, r),
        st.integers(1, 64),
        st.integers(1, 64),
        st.integers(0, 30),
        st.integers(1, 7),
    ),  # fmt: skip
)


@st.composite
def _accelerator(draw):
    df = draw(st.sampled_from(sorted(DATAFLOWS)))
    base = XR[df[0]] if df[0] in XR else XR["W"]
    product = 256 if df == "WS" else 64
    noc = [NocLevel(draw(st.sampled_from([4, 32, 256])), draw(st.integers(1, 4))) for _ in "tc"]
    return dataclasses.replace(
        base,
        dataflow=DATAFLOWS[df],
        num_pes=product * draw(st.integers(1, 20)),
        l1_bytes_per_pe=draw(st.sampled_from([1, 16, 256, 8192])),
        l2_bytes=draw(st.sampled_from([1 << 10, 1 << 16, 1 << 22])),
        noc_top=noc[0],
        noc_col=noc[1],
        offchip_bw_words_per_cycle=draw(st.sampled_from([1, 16, 128])),
        energy=ENERGY[draw(st.sampled_from(sorted(ENERGY)))],
    )


_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.lists(_layer, min_size=1, max_size=6), _accelerator())
def test_native_bounds_hold(layers, acc):
    r = analyse_native(layers, acc)
    macs = np.array([layer.macs for layer in layers])
    np.testing.assert_array_equal(r["macs"], macs)
    np.testing.assert_array_equal(r["computations"], macs)
    assert (r["latency_cycles"] * r["pes_used"] >= macs).all()
    assert (r["energy_pj"] >= macs * acc.energy.mac_pj * (1 - 1e-12)).all()
    assert (r["latency_cycles"] >= r["offchip_cycles"]).all()
    assert set(r["bound"]) <= {"compute", "noc", "l1_spill", "offchip", "l2_spill"}
    assert all((r[k] >= 0).all() for k in (*L1_COUNTS, *L2_COUNTS, "dram_rd", "dram_wr"))


def _more(acc, what):
    """``acc`` with more of one resource."""
    top, col = acc.noc_top, acc.noc_col
    changes = {
        "l1": {"l1_bytes_per_pe": acc.l1_bytes_per_pe * 16},
        "l2": {"l2_bytes": acc.l2_bytes * 16},
        "offchip": {"offchip_bw_words_per_cycle": acc.offchip_bw_words_per_cycle * 4},
        "noc_top": {"noc_top": NocLevel(top.bw_words_per_cycle * 2, top.latency_cycles)},
        "noc_col": {"noc_col": NocLevel(col.bw_words_per_cycle * 2, col.latency_cycles)},
    }
    return dataclasses.replace(acc, **changes[what])


@_SETTINGS
@given(st.lists(_layer, min_size=1, max_size=6), _accelerator())
def test_more_memory_or_bandwidth_is_never_slower_or_costlier(layers, acc):
    base = analyse_native(layers, acc)
    for what in ("l1", "l2", "offchip", "noc_top", "noc_col"):
        bigger = analyse_native(layers, _more(acc, what))
        assert (bigger["latency_cycles"] <= base["latency_cycles"]).all(), what
        assert (bigger["energy_pj"] <= base["energy_pj"] * (1 + 1e-12)).all(), what


@_SETTINGS
@given(st.lists(_layer, min_size=1, max_size=6), _accelerator())
def test_corrections_off_equal_maestro_on_random_layers(layers, acc):
    expected = analyse_layers(LayerBatch.from_layers(layers), acc)
    got = analyse_native(layers, acc, OFF)
    for key in MAESTRO_KEYS:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)

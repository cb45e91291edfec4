"""The maestro analysis against hand-worked examples and MAESTRO's own calibration table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel.intmath import cdiv, ceil0, crem
from costmodel.levels import materialise, plan_dataflow
from costmodel.maestro import ACCESS_COUNTS, L1_COUNTS, L2_COUNTS, analyse
from hardware_db.dataflow import PRESETS, Dataflow, Directive
from hardware_db.energy import PRESETS as ENERGY
from hardware_db.maestro_format import parse_directives
from rtmm.errors import CostModelError, RtmmError

ASR_FC1 = (1, 512, 512, 128, 1, 1, 1)
ES_CONV6 = (1, 32, 32, 80, 50, 3, 3)
HT_CONV1 = (1, 64, 3, 128, 128, 7, 7)

# Worked by hand from the method (docs/MAESTRO_METHOD.md) and equal to MAESTRO's output
# (Single_4K: 4096 PEs, NoC 256): Rt_2, Rt_1, NC, L1, L2, latency, energy nJ
WORKED = [
    (ES_CONV6, "WS", 36, 36, 138_018_816, 296_315_992, 1_121_088, 33_696, 886_231.12),
    (ES_CONV6, "OS", 18, 36, 86_261_760, 203_119_104, 6_178_304, 55_296, 676_935.62),
    (ES_CONV6, "RS", 24, 48, 73_322_496, 170_791_728, 2_957_612, 89_856, 532_810.42),
    (ASR_FC1, "WS", 4, 4, 536_867_840, 2_155_933_696, 8_986_624, 524_288, 5_116_467.22),
    (ASR_FC1, "OS", 4, 4, 134_217_728, 439_844_864, 36_036_608, 163_840, 1_705_973.91),
    (ASR_FC1, "RS", 4, 4, 134_217_728, 322_732_800, 34_208_268, 524_288, 1_488_874.68),
    (HT_CONV1, "WS", 49, 49, 140_028_672, 301_147_328, 1_792_756, 191_296, 911_278.77),
    (HT_CONV1, "OS", 49, 49, 35_581_056, 84_826_240, 4_141_696, 194_432, 308_406.71),
    (HT_CONV1, "RS", 42, 84, 105_595_392, 225_449_024, 1_191_637, 81_984, 681_817.47),
]


def _one(dims, df="WS", pes=4096, bw=256, **kw):
    out = analyse(np.array([dims]), PRESETS[df], pes, bw, bw, **kw)
    return {k: v[0] for k, v in out.items()}


# ---------------------------------------------------------------------------------------------
# C-like integer helpers


@pytest.mark.parametrize("a", [-17, -16, -5, -1, 0, 1, 5, 16, 17])
@pytest.mark.parametrize("b", [1, 4, 16])
def test_c_division_truncates_toward_zero(a, b):
    assert int(cdiv(a, b)) == math.trunc(a / b)
    assert int(crem(a, b)) == a - b * math.trunc(a / b)
    assert int(ceil0(a, b)) == math.trunc(a / b) + (a - b * math.trunc(a / b) != 0)


def test_c_division_differs_from_numpy_floor_for_negatives():
    a = np.array([-7, 7, -8])
    assert cdiv(a, 2).tolist() == [-3, 3, -4]
    assert crem(a, 2).tolist() == [-1, 1, 0]
    assert ceil0(a, 2).tolist() == [-2, 4, -4]  # (-7 ÷ 2) + 1 = -2
    assert (a // 2).tolist() == [-4, 3, -4]  # numpy floors: the helpers must not


# ---------------------------------------------------------------------------------------------
# §1 normalisation


def test_normalised_presets_match_the_table():
    # R = 3, S = 5 so that filter-sized maps are recognisable
    dims = np.array([[1, 64, 64, 32, 32, 3, 5]])
    expected = {
        "WS": [
            "T16,16C T16,16K T4,1Y S4,1X T3,3R T5,5S",
            "T5,5S T3,3R S1,1K T64,64C T4,1Y T4,1X",
            "T4,1X T4,1Y T1,1K T3,3R T5,5S S1,1C",
        ],
        "OS": [
            "T1,1K S4,1Y T7,4X T16,16C T3,3R T5,5S",
            "T5,5S T3,3R T16,16C T4,1Y T1,1K S1,1X",
            "T1,1X T1,1K T4,1Y T3,3R T5,5S S1,1C",
        ],
        "RS": [
            "T4,1Y T19,16X T4,4C S1,1K T3,3R T5,5S",
            "T5,5S T3,3R T4,1Y S4,1X T4,4C T1,1K",
            "T1,1K T4,4C T4,1X T5,5S S1,1Y S1,1R",
        ],
    }
    for name, levels in expected.items():
        geoms = materialise(plan_dataflow(PRESETS[name]), dims, np.array([4096]))
        got = [
            " ".join(
                f"{'S' if slot.spatial else 'T'}{g.sizes[i, 0]},{g.offsets[i, 0]}{slot.dim}"
                for i, slot in enumerate(g.plan.slots)
            )
            for g in geoms
        ]
        assert got == levels, name
    units = [materialise(plan_dataflow(PRESETS[n]), dims, np.array([4096])) for n in PRESETS]
    assert [[int(g.units[0]) for g in u] for u in units] == [[16, 16, 16], [64, 4, 16], [64, 16, 4]]


# ---------------------------------------------------------------------------------------------
# §8 worked examples (no shared data needed)


@pytest.mark.parametrize("dims,df,rt2,rt1,nc,l1,l2,latency,energy_nj", WORKED)
def test_worked_examples(dims, df, rt2, rt1, nc, l1, l2, latency, energy_nj):
    r = _one(dims, df)
    assert r["cluster_runtimes"].tolist() == [rt2, rt1, latency]
    assert r["latency_cycles"] == latency
    assert r["computations"] == nc
    assert sum(r[k] for k in L1_COUNTS) == l1
    assert sum(r[k] for k in L2_COUNTS) == l2
    assert r["energy_nj"] == pytest.approx(energy_nj, abs=0.006)
    assert r["energy_nj"] == pytest.approx(0.00288 * (nc + 0.55 * l1 + 6.0 * l2), rel=1e-12)


def test_asr_fc1_ws_access_counts():
    r = _one(ASR_FC1, "WS")
    assert r["l2_rd_input"] == 8_331_264
    assert r["l2_rd_weight"] == 262_144
    assert (r["l2_wr_input"], r["l2_wr_weight"], r["l2_wr_output"]) == (65_536, 262_144, 65_536)
    assert r["l1_rd_input"] == r["l1_rd_weight"] == r["l1_wr_output"] == 536_867_840
    assert r["l1_rd_output"] == 536_736_768
    assert (r["l1_wr_input"], r["l1_wr_weight"]) == (8_331_264, 262_144)
    assert r["macs"] == 33_554_432
    assert r["utilisation"] == pytest.approx(33_554_432 / (524_288 * 4096))  # 1.6 %
    assert r["bound"] == "compute"


def test_asr_fc1_os_is_noc_bound():
    r = _one(ASR_FC1, "OS")
    assert r["latency_cycles"] == 32_768 * 5  # Δ = δ(1088) = 5
    assert r["bound"] == "noc"


def test_quirks_kd_conv1_negative_counts_and_degenerate_layers():
    assert _one((1, 19, 1, 98, 40, 3, 3), "OS")["latency_cycles"] == 13_680  # quirk 3
    assert _one(HT_CONV1, "OS")["cluster_runtimes"][1] == 49  # quirk 4: a -1 count cancels
    degenerate = _one((1, 1104, 1104, 5, 4, 5, 5), "OS")  # quirk 6 (GE conv51)
    assert degenerate["latency_cycles"] == 1_904_400
    assert degenerate["macs"] == 0
    assert _one((1, 128, 128, 2, 2, 3, 3), "WS")["latency_cycles"] == 583
    # Y' = X' = -1: K·Y'·X' adds +K L2 output writes
    assert _one((1, 7, 2, 3, 3, 5, 5), "RS")["l2_wr_output"] == 7


def test_top_bandwidth_feeds_the_innermost_level():
    def runtimes(top, col):
        return analyse(np.array([ASR_FC1]), PRESETS["OS"], 4096, top, col)["cluster_runtimes"][0]

    narrow_top, narrow_col = runtimes(1, 256), runtimes(256, 1)
    assert narrow_top[0] == runtimes(1, 1)[0]  # innermost level depends on top only
    assert narrow_col[0] == runtimes(256, 256)[0]
    assert narrow_top[0] > narrow_col[0]


def test_rows_are_deduplicated_and_batch_scales():
    dims = np.array([ES_CONV6, ASR_FC1, ES_CONV6, (2, *ES_CONV6[1:])])
    r = analyse(dims, PRESETS["RS"], np.array([4096, 4096, 4096, 4096]), 256, 256)
    for key in ("latency_cycles", "energy_nj", *ACCESS_COUNTS):
        assert r[key][0] == r[key][2]
        assert r[key][3] == pytest.approx(2 * r[key][0])
    assert r["macs"][3] == 2 * r["macs"][0]


def test_energy_presets_charge_macs_outside_xrbench():
    xr = _one(ES_CONV6, "OS")
    ey = _one(ES_CONV6, "OS", energy=ENERGY["eyeriss"])
    assert xr["energy_pj"] == pytest.approx(1000 * xr["energy_nj"], rel=1e-12)
    assert ey["energy_compute_pj"] == pytest.approx(ENERGY["eyeriss"].mac_pj * xr["macs"])
    assert ey["energy_dram_pj"] > 0 and xr["energy_dram_pj"] == 0
    assert ey["energy_nj"] == xr["energy_nj"]  # the XRBench figure does not depend on the table


# ---------------------------------------------------------------------------------------------
# user-written directive lists


def test_user_written_directive_list_equals_preset():
    text = (
        "TemporalMap(1,1) K; SpatialMap(1,1) Y'; TemporalMap(4,4) X'; TemporalMap(16,16) C;"
        "Cluster(4); SpatialMap(1,1) X'; Cluster(16); SpatialMap(1,1) C"
    )
    user = Dataflow("my-os", parse_directives(text))
    dims = np.array([ES_CONV6, HT_CONV1, ASR_FC1])
    a = analyse(dims, user, 1024, 128, 128)
    b = analyse(dims, PRESETS["OS"], 1024, 128, 128)
    for key in ("latency_cycles", "computations", *ACCESS_COUNTS):
        assert a[key].tolist() == b[key].tolist()


def test_user_dataflow_with_filter_map_and_two_levels():
    # a written R map sets F for Y' (s + R_size − 1), a level without Cluster is one level
    df = Dataflow("custom", parse_directives("T(8,8) K; S(2,1) Y'; T(3,3) R; Cluster(8); S(1,1) C"))
    plan = plan_dataflow(df)
    assert [str(s) for s in plan.levels[0].slots[:3]] == ["T(8,8)K", "Sp(4,1)Y", "T(3,3)R"]
    r = analyse(np.array([ES_CONV6]), df, 256, 64, 64)
    assert r["latency_cycles"][0] > 0 and r["pes_used"][0] == 256
    assert r["computations"][0] > 0


@pytest.mark.parametrize(
    "directives,message",
    [
        ((Directive("T", 1, 1, "K"), Directive("S", 1, 1, "K")), "twice"),
        ((Directive("T", 1, 1, "Y"), Directive("S", 1, 1, "Y'")), "twice"),
        ((Directive("T", 1, 1, "N"),), "cannot map"),
        ((Directive("T", 0, 1, "K"),), "size"),
        ((Directive("C", 8),), "no map"),
    ],
)
def test_invalid_directive_lists_are_rejected(directives, message):
    with pytest.raises(CostModelError, match=message):
        analyse(np.array([ES_CONV6]), Dataflow("bad", directives), 64, 4, 4)


def test_cluster_product_larger_than_pes_is_rejected():
    with pytest.raises(CostModelError, match="num_pes"):
        analyse(np.array([ES_CONV6]), PRESETS["WS"], 255, 8, 8)


def test_bad_dims_are_rejected():
    with pytest.raises(CostModelError, match="Y = 0"):
        analyse(np.array([(1, 2, 2, 0, 2, 1, 1)]), PRESETS["WS"], 4096, 8, 8)
    with pytest.raises(CostModelError, match="shape"):
        analyse(np.array([1, 2, 3]), PRESETS["WS"], 4096, 8, 8)
    with pytest.raises(CostModelError, match="num_pes"):
        analyse(np.array([ES_CONV6]), PRESETS["WS"], 0, 8, 8)


_DIMS = st.sampled_from(["K", "C", "R", "S", "Y", "X", "Y'", "X'"])
_MAP = st.builds(
    lambda kind, size, offset, dim: Directive(kind, size, offset, dim),
    st.sampled_from(["T", "S"]),
    st.integers(1, 6),
    st.integers(1, 6),
    _DIMS,
)
_LEVEL = st.lists(_MAP, min_size=0, max_size=4)


@st.composite
def _dataflows(draw):
    levels = draw(st.lists(_LEVEL, min_size=1, max_size=3))
    directives: list[Directive] = []
    for i, level in enumerate(levels):
        if i:
            directives.append(Directive("C", draw(st.integers(1, 6))))
        directives.extend(level)
    return Dataflow("random", tuple(directives))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    df=_dataflows(),
    dims=st.lists(
        st.tuples(*(st.integers(1, 9) for _ in range(5)), st.integers(1, 5), st.integers(1, 5)),
        min_size=1,
        max_size=4,
    ),
    pes=st.integers(1, 300),
    top=st.integers(1, 40),
    col=st.integers(1, 40),
)
def test_random_dataflows_only_raise_rtmm_errors(df, dims, pes, top, col):
    try:
        r = analyse(np.array(dims), df, pes, top, col)
    except RtmmError:
        return
    assert r["latency_cycles"].shape == (len(dims),)
    assert r["latency_cycles"].dtype == np.int64
    assert np.all(np.isfinite(r["energy_nj"]))


# ---------------------------------------------------------------------------------------------
# the calibration table: every row, every count


def test_all_calibration_rows_match_maestro(golden_data):
    ref = pd.read_csv(golden_data / "maestro_calibration.csv")
    assert len(ref) == 3318
    for df, rows in ref.groupby("dataflow"):
        bw = rows.noc_bw.to_numpy()
        r = analyse(rows[list("NKCYXRS")].to_numpy(), PRESETS[df], rows.num_pes.to_numpy(), bw, bw)
        for key in ("latency_cycles", *ACCESS_COUNTS, "macs"):
            mismatch = r[key] != rows[key].to_numpy()
            assert not mismatch.any(), (df, key, rows[mismatch].head(3).to_dict("records"))
        np.testing.assert_allclose(r["energy_nj"], rows.energy_nj.to_numpy(), rtol=1e-9, atol=0)

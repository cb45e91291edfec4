"""The hardware fields the native analysis reads: fractional bandwidths, the off-chip link clock,
DRAM feature-map compression, double buffering and a weight-only L2 part."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from costmodel.batch import LayerBatch
from costmodel.maestro import analyse_layers
from costmodel.native import analyse_native
from hardware_db.library import get_accelerator
from hardware_db.loader import accelerator_from_text, dump_accelerator
from rtmm.errors import SpecError
from workloads.layer import Layer, OpType

BASE = dump_accelerator(get_accelerator("xrbench-4k-A/0"))
LAYER = Layer("c", OpType.CONV, 2, 64, 32, 30, 30, 3, 3, (1, 1), (1, 1))


def _with(extra: str) -> str:
    return BASE + extra


def test_existing_files_dump_unchanged_and_new_fields_round_trip():
    assert "offchip_clock_hz" not in BASE and "fmap_compression" not in BASE
    text = _with(
        "offchip_clock_hz: 6.0e+7\nfmap_compression: {input: 0.5, output: 0.25}\n"
        "double_buffered: false\nl2_weight_bytes: 8192\n"
    ).replace("offchip_bw_words_per_cycle: 128", "offchip_bw_words_per_cycle: 1.5")
    acc = accelerator_from_text(text)
    assert acc.offchip_bw_words_per_cycle == 1.5 and acc.offchip_clock_hz == 6e7
    assert acc.offchip_words_per_core_cycle == pytest.approx(1.5 * 6e7 / 1e9)
    assert acc.fmap_compression == (0.5, 0.25) and not acc.double_buffered
    assert acc.l2_weight_bytes == 8192
    assert accelerator_from_text(dump_accelerator(acc)) == acc
    integral = accelerator_from_text(
        BASE.replace("bw_words_per_cycle: 256", "bw_words_per_cycle: 256.0")
    )
    assert isinstance(integral.noc_top.bw_words_per_cycle, int)


@pytest.mark.parametrize(
    "extra,message",
    [
        ("fmap_compression: {input: 1.5}\n", "fmap_compression.input: must be <= 1, got 1.5"),
        ("fmap_compression: {inputs: 0.5}\n", "fmap_compression: unknown key 'inputs'"),
        ("fmap_compression: {output: 0}\n", "fmap_compression.output: must be > 0"),
        ("double_buffered: 1\n", "double_buffered: must be true or false"),
        ("offchip_clock_hz: -5.0\n", "offchip_clock_hz: must be >= 1000"),
        ("l2_weight_bytes: 4194304\n", "l2_weight_bytes: must be < l2_bytes (4194304)"),
    ],
)
def test_bad_native_fields_are_one_line_errors(extra, message):
    with pytest.raises(SpecError) as info:
        accelerator_from_text(_with(extra), source="acc.yaml")
    text = str(info.value)
    assert text.startswith("acc.yaml: ") and message in text and "\n" not in text


def test_maestro_keeps_integer_arithmetic_and_accepts_fractional_noc_bandwidth():
    acc = get_accelerator("xrbench-4k-A/0")
    batch = LayerBatch.from_layers([LAYER])
    as_int = analyse_layers(batch, acc)
    top, col = acc.noc_top, acc.noc_col
    as_float = analyse_layers(batch, dataclasses.replace(
        acc, noc_top=dataclasses.replace(top, bw_words_per_cycle=256.0),
        noc_col=dataclasses.replace(col, bw_words_per_cycle=256.0)))  # fmt: skip
    assert as_float["latency_cycles"].tolist() == as_int["latency_cycles"].tolist()
    slow = dataclasses.replace(top, bw_words_per_cycle=0.5)
    half = analyse_layers(batch, dataclasses.replace(acc, noc_top=slow, noc_col=slow))
    assert half["latency_cycles"][0] > as_int["latency_cycles"][0]


def test_link_clock_and_compression_set_the_offchip_time():
    acc = dataclasses.replace(get_accelerator("eyeriss-v1"), offchip_clock_hz=None,
                              offchip_bw_words_per_cycle=1.2)  # fmt: skip
    linked = get_accelerator("eyeriss-v1")  # 4 words per 60 MHz link cycle = 1.2 per core cycle
    a, b = analyse_native([LAYER], acc), analyse_native([LAYER], linked)
    assert a["offchip_cycles"][0] == b["offchip_cycles"][0]
    words = int(a["dram_rd"][0] + a["dram_wr"][0])
    assert a["offchip_cycles"][0] == int(np.ceil(words / 1.2 - 1e-9))
    packed = analyse_native([LAYER], dataclasses.replace(acc, fmap_compression=(0.5, 0.5)))
    assert packed["dram_rd"][0] < a["dram_rd"][0] and packed["dram_wr"][0] < a["dram_wr"][0]
    assert packed["offchip_cycles"][0] < a["offchip_cycles"][0]

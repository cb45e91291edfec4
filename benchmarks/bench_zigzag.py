"""ZigZag's default mapping search and rtmm's mapper side by side, in one run (issue 16).

Both map the distinct layers of ResNet-18 (224x224, torchvision shapes, batch 1) onto an
Eyeriss-v1-like array and are timed per layer on the same machine in the same process:

- **rtmm**: :func:`costmodel.mapper.search_mappings` on the library accelerator ``eyeriss-v1``
  (168 PEs as 12x14, 520 B of scratchpad per PE, 108 KiB global buffer, 16-bit words, NoC
  9 words/cycle, off-chip 4 words/cycle), cold caches, objective ``latency``. Timed two ways: each
  layer searched alone (cold), and all layers in one call (the mapper's normal use; per layer =
  total / layers).
- **ZigZag** (``pip install zigzag-dse``; not a dependency of rtmm): its API
  ``zigzag.api.get_hardware_performance_zigzag`` with its defaults (LOMA temporal search,
  ``lpf_limit=6``, 3 generated spatial mappings, ``opt="latency"``), one layer per call, on an
  accelerator written from ZigZag's own ``eyeriss_like.yaml`` with the sizes set to rtmm's
  ``eyeriss-v1``: a 14x12 operational array (168 PEs), per-PE register files of 24 B (inputs),
  448 B (weights), 48 B (partial sums) = 520 B, a 108 KiB global buffer for inputs and outputs,
  16-bit operands, DRAM 64 bit/cycle (4 words).

Differences that remain (so the costs are compared only loosely, see :func:`main`): ZigZag's
weights have no global-buffer level of their own (rtmm's ``eyeriss-v1`` reserves 8 KiB of L2 for
weights), its memories have per-port bandwidths where rtmm has one NoC per level, its energy
numbers are ZigZag's example values (rtmm uses the Eyeriss energy table), its spatial mappings
unroll any loop on the two array axes (rtmm's mapper spreads one dimension per cluster level, the
row-stationary Y/R pair, or four-level R x e row-stationary PE sets), and its latency model
(data-transfer stalls from memory-port bandwidths) is not rtmm's ``native`` loop-nest analysis.
The latency both report is printed; the time ratio is the target (rtmm >= 100x faster per
layer). Both run in this process, so their CPU times (``time.process_time``) are printed beside
the wall times: on a shared machine the CPU ratio is the one that does not depend on the other
jobs.

Run: ``python benchmarks/bench_zigzag.py [--layers N]`` (N: only the first N distinct layers).
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from costmodel.batch import LayerBatch
from costmodel.mapper import cache, search_mappings
from hardware_db.library import get_accelerator
from workloads.layer import Layer

try:  # the bench only; rtmm does not depend on ZigZag
    import zigzag
    from zigzag.api import get_hardware_performance_zigzag
except ImportError as exc:  # pragma: no cover - recorded in RESULTS when it happens
    zigzag = None
    ZIGZAG_ERROR = f"{type(exc).__name__}: {exc}"

WORD_BITS = 16


def resnet18() -> list[Layer]:
    """ResNet-18's distinct convolutions and classifier (224x224 input, torchvision shapes)."""
    out = [Layer("conv1", "CONV", 1, 64, 3, 224, 224, 7, 7, stride=(2, 2), padding=(3, 3))]
    size, cin = 56, 64
    for stage, width in enumerate((64, 128, 256, 512)):
        stride = 1 if stage == 0 else 2
        out.append(Layer(f"l{stage + 1}.0.a", "CONV", 1, width, cin, size, size, 3, 3,
                         stride=(stride, stride), padding=(1, 1)))  # fmt: skip
        size //= stride
        out.append(Layer(f"l{stage + 1}.0.b", "CONV", 1, width, width, size, size, 3, 3,
                         padding=(1, 1)))  # fmt: skip
        if stride == 2:
            out.append(Layer(f"l{stage + 1}.0.down", "CONV", 1, width, cin, 2 * size, 2 * size,
                             1, 1, stride=(2, 2)))  # fmt: skip
        cin = width
    out.append(Layer("fc", "CONV", 1, 1000, 512, 1, 1, 1, 1))
    return out


def zigzag_layer(layer: Layer) -> list[dict]:
    """One rtmm layer as ZigZag's workload (a list of one layer dict, ZigZag 3.x schema)."""
    batch = LayerBatch.from_layers([layer])  # padding as rtmm resolves it (a policy or pairs)
    (sy, sx), (py, px) = batch.stride[0], batch.padding[0]
    iy = (batch.out_y[0] - 1) * sy + layer.R
    ix = (batch.out_x[0] - 1) * sx + layer.S
    return [{
        "id": 0,
        "name": layer.name,
        "operator_type": "Conv",
        "equation": "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
        "dimension_relations": [f"ix={sx}*ox+1*fx", f"iy={sy}*oy+1*fy"],
        "loop_dims": ["B", "K", "C", "OY", "OX", "FY", "FX"],
        "loop_sizes": [int(v) for v in (layer.N, layer.K, layer.C, batch.out_y[0],
                                         batch.out_x[0], layer.R, layer.S)],
        "operand_precision": {"W": WORD_BITS, "I": WORD_BITS, "O": WORD_BITS,
                              "O_final": WORD_BITS},
        "operand_source": {"I": 0},
        "pr_loop_dims": ["IY", "IX"],
        "pr_loop_sizes": [int(iy), int(ix)],
        "padding": [[int(py), int(py)], [int(px), int(px)]],
    }]  # fmt: skip


def zigzag_hardware(folder: Path) -> tuple[str, str]:
    """ZigZag's ``eyeriss_like`` accelerator resized to rtmm's ``eyeriss-v1``, and a mapping
    file that leaves the spatial mapping to ZigZag's generator; returns their paths."""
    base = Path(zigzag.__file__).parent / "inputs" / "hardware" / "eyeriss_like.yaml"
    hw = yaml.safe_load(base.read_text())
    acc = get_accelerator("eyeriss-v1")
    mem = hw["memories"]
    spad_bits = {"rf_64B_A": 12 * WORD_BITS, "rf_64B_W": 224 * WORD_BITS, "rf_16B": 24 * WORD_BITS}
    assert sum(spad_bits.values()) == acc.l1_bytes_per_pe * 8, "scratchpad split != l1_bytes"
    for name, bits in spad_bits.items():
        mem[name]["size"] = bits
    glb = copy.deepcopy(mem["sram_1M"])
    glb["size"] = acc.l2_bytes * 8
    # rtmm's top NoC carries 9 words/cycle between the global buffer and the array
    for port in glb["ports"]:
        port["bandwidth_min"] = port["bandwidth_max"] = acc.noc_top.bw_words_per_cycle * WORD_BITS
    dram = mem["dram"]
    for port in dram["ports"]:
        port["bandwidth_min"] = port["bandwidth_max"] = acc.offchip_bw_words_per_cycle * WORD_BITS
    hw["name"] = "eyeriss_v1_rtmm"
    hw["memories"] = {"rf_64B_A": mem["rf_64B_A"], "rf_64B_W": mem["rf_64B_W"],
                      "rf_16B": mem["rf_16B"], "glb_108KB": glb, "dram": dram}  # fmt: skip
    hw["operational_array"]["sizes"] = [acc.array_shape[1], acc.array_shape[0]]
    hw_path = folder / "eyeriss_v1_rtmm.yaml"
    hw_path.write_text(yaml.safe_dump(hw, sort_keys=False))
    mapping = [{"name": "default", "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}]
    map_path = folder / "mapping.yaml"
    map_path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return str(hw_path), str(map_path)


def run_zigzag(layers: list[Layer]) -> pd.DataFrame:
    """ZigZag's default search per layer: seconds, latency (cycles), energy (pJ)."""
    logging.disable(logging.CRITICAL)  # ZigZag logs every stage at INFO
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        hw, mapping = zigzag_hardware(Path(tmp))
        for layer in layers:
            t, cpu = time.perf_counter(), time.process_time()
            try:
                energy, latency, _ = get_hardware_performance_zigzag(
                    zigzag_layer(layer), hw, mapping, opt="latency",
                    dump_folder=f"{tmp}/{layer.name}", loma_show_progress_bar=False,
                )  # fmt: skip
                error = ""
            except Exception as exc:  # noqa: BLE001 - recorded per layer, the run goes on
                energy = latency = float("nan")
                error = f"{type(exc).__name__}: {exc}"[:120]
            rows.append({"layer": layer.name, "zigzag_s": time.perf_counter() - t,
                         "zigzag_cpu_s": time.process_time() - cpu,
                         "zigzag_latency_cycles": latency, "zigzag_energy_pj": energy,
                         "zigzag_error": error})  # fmt: skip
    logging.disable(logging.NOTSET)
    return pd.DataFrame(rows)


def run_rtmm(layers: list[Layer]) -> tuple[pd.DataFrame, float, float]:
    """rtmm's mapper per layer alone (cold), and the wall and CPU seconds of all layers in one
    call (cold)."""
    acc = get_accelerator("eyeriss-v1")
    search_mappings(layers[:1], acc, "latency", use_cache=False)  # imports, lazy tables
    rows = []
    for layer in layers:
        cache.clear()
        t, cpu = time.perf_counter(), time.process_time()
        found = search_mappings([layer], acc, "latency", use_cache=False)
        rows.append({"layer": layer.name, "rtmm_s": time.perf_counter() - t,
                     "rtmm_cpu_s": time.process_time() - cpu,
                     "rtmm_latency_cycles": int(found.frame.latency_cycles[0]),
                     "rtmm_energy_pj": float(found.frame.energy_nj[0]) * 1e3,
                     "rtmm_feasible": bool(found.frame.feasible[0])})  # fmt: skip
    cache.clear()
    t, cpu = time.perf_counter(), time.process_time()
    search_mappings(LayerBatch.from_layers(layers), acc, "latency", use_cache=False)
    return pd.DataFrame(rows), time.perf_counter() - t, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=0, help="only the first N layers")
    args = parser.parse_args()
    layers = resnet18()[: args.layers or None]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{len(layers)} distinct ResNet-18 layers")  # fmt: skip
    if zigzag is None:
        print(f"ZigZag not importable: {ZIGZAG_ERROR}")
        return
    print(f"zigzag-dse {getattr(zigzag, '__version__', '?')}")
    ours, batched, batched_cpu = run_rtmm(layers)
    theirs = run_zigzag(layers)
    frame = ours.merge(theirs, on="layer")
    frame["speedup"] = frame.zigzag_s / frame.rtmm_s
    frame["cpu_speedup"] = frame.zigzag_cpu_s / frame.rtmm_cpu_s
    frame["latency_ratio"] = frame.rtmm_latency_cycles / frame.zigzag_latency_cycles
    pd.set_option("display.width", 200)
    print(frame.drop(columns=["zigzag_error"]).round(3).to_string(index=False))
    errors = frame[frame.zigzag_error != ""]
    for row in errors.itertuples():
        print(f"ZigZag failed on {row.layer}: {row.zigzag_error}")
    ok = frame[frame.zigzag_error == ""]
    z, r = ok.zigzag_s.mean(), ok.rtmm_s.mean()
    print(f"per layer: ZigZag {z:.2f} s, rtmm alone {r * 1e3:.0f} ms ({z / r:.0f}x), rtmm all "
          f"{len(layers)} in one call {batched / len(layers) * 1e3:.0f} ms/layer "
          f"({z / (batched / len(layers)):.0f}x); geomean latency ratio rtmm/ZigZag "
          f"{np.exp(np.mean(np.log(ok.latency_ratio))):.2f}; load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    zc, rc, bc = ok.zigzag_cpu_s.mean(), ok.rtmm_cpu_s.mean(), batched_cpu / len(layers)
    print(f"per layer, CPU: ZigZag {zc:.2f} s, rtmm alone {rc * 1e3:.0f} ms ({zc / rc:.0f}x), "
          f"rtmm all in one call {bc * 1e3:.0f} ms/layer ({zc / bc:.0f}x)")  # fmt: skip


if __name__ == "__main__":
    main()

"""Scores and costs of a run (SPEC §5): XRBench's RT/EN/ACC/QoE/score, UXCost, rates, utilisation.

Per completed inference i of model m (delay_i = completion - deadline, ms):
RT_i = 1 / (1 + exp(15 delay_i)), EN_i = (1500 - E_i) / 1500 with E_i in nJ / 1e6,
ACC_i = min(1, accuracy of the variant used). QoE_m = 1 - dropped_m / logged_m, where *logged*
frames are completed (on time or late) plus dropped; S_m = (1 / logged_m) sum RT_i EN_i ACC_i QoE_m.

The scenario row follows XRBench's published figures: rt, en, acc and qoe are the per-model values
summed and divided by the scenario's number of models, and the score is mean S_m over models that
logged a frame times the fraction of models that did — i.e. sum S_m / number of models — on the
0-1 scale (XRBench's runtime prints 100 x mean S_m over logged models).

UXCost = E_norm x V: E_norm = energy spent on executed blocks / energy of the released frames with
every layer on its minimum-energy accelerator; V = mean over models with released frames of
(late + dropped) / released, floored at 1 / (total released). *Released* frames are the triggered
ones (not-triggered cascade frames never run; in XRBench-compatible mode the frames still queued or
running at the stop count as released but neither late nor dropped).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import expit

from scheduler.state import FrameStatus

if TYPE_CHECKING:
    from scheduler.result import SimulationResult

RT_K_PER_MS = 15.0
EN_MAX_MJ = 1500.0

#: Columns of the summary table (extra count columns follow these).
SUMMARY_COLUMNS = (
    "model",
    "rt",
    "en",
    "acc",
    "qoe",
    "score",
    "uxcost",
    "e_norm",
    "v",
    "miss_rate",
    "drop_rate",
    "energy_mj",
)


def inference_scores(frames: pd.DataFrame) -> pd.DataFrame:
    """Completed frames with their RT, EN and ACC columns added."""
    done = frames[frames["status"].isin((FrameStatus.ON_TIME, FrameStatus.LATE))].copy()
    delay = done["completion_ms"].to_numpy(float) - done["deadline_ms"].to_numpy(float)
    done["rt"] = expit(-RT_K_PER_MS * delay)
    done["en"] = (EN_MAX_MJ - done["energy_nj"].to_numpy(float) / 1e6) / EN_MAX_MJ
    done["acc"] = np.minimum(1.0, done["accuracy"].to_numpy(float))
    return done


def _uxcost(energy: float, ref: float, rates: np.ndarray, total_released: int):
    if total_released == 0:
        return float("nan"), float("nan"), float("nan")
    e_norm = energy / ref if ref > 0 else float("nan")
    v = max(float(np.mean(rates)) if len(rates) else 0.0, 1.0 / total_released)
    return e_norm * v, e_norm, v


def summary(result: SimulationResult) -> pd.DataFrame:
    """One row per scenario model (alphabetical), then the scenario row (``model == ""``)."""
    frames = result.frames
    scored = inference_scores(frames)
    status = frames["status"]
    rows = []
    per_model_rates = []
    for model_id in sorted(result.model_ids):
        mine = frames[frames["model"] == model_id]
        st = status[mine.index]
        on_time = int((st == FrameStatus.ON_TIME).sum())
        late = int((st == FrameStatus.LATE).sum())
        dropped = int((st == FrameStatus.DROPPED).sum())
        not_trig = int((st == FrameStatus.NOT_TRIGGERED).sum())
        released = len(mine) - not_trig
        logged = on_time + late + dropped
        inf = scored[scored["model"] == model_id]
        energy_nj = float(mine["energy_nj"].sum())
        ref_nj = float(mine.loc[st != FrameStatus.NOT_TRIGGERED, "min_energy_nj"].sum())
        if logged:
            rt = float(inf["rt"].mean()) if len(inf) else 0.0
            en = float(inf["en"].mean()) if len(inf) else 0.0
            acc = float(inf["acc"].mean()) if len(inf) else 0.0
            qoe = 1.0 - dropped / logged
            score = float((inf["rt"] * inf["en"] * inf["acc"]).sum()) / logged * qoe
        else:
            rt = en = acc = qoe = score = 0.0
        rate = (late + dropped) / released if released else float("nan")
        if released:
            per_model_rates.append(rate)
        ux, e_norm, v = _uxcost(energy_nj, ref_nj, np.array([rate]), released)
        rows.append(
            {
                "model": model_id,
                "rt": rt,
                "en": en,
                "acc": acc,
                "qoe": qoe,
                "score": score,
                "uxcost": ux,
                "e_norm": e_norm,
                "v": v,
                "miss_rate": late / released if released else float("nan"),
                "drop_rate": dropped / released if released else float("nan"),
                "energy_mj": energy_nj / 1e6,
                "released": released,
                "on_time": on_time,
                "late": late,
                "dropped": dropped,
                "not_triggered": not_trig,
                "logged": logged,
            }
        )
    table = pd.DataFrame(rows)
    n = len(result.model_ids)
    released_total = int(table["released"].sum())
    energy_total = float(frames["energy_nj"].sum())
    ref_total = float(frames.loc[status != FrameStatus.NOT_TRIGGERED, "min_energy_nj"].sum())
    ux, e_norm, v = _uxcost(energy_total, ref_total, np.array(per_model_rates), released_total)
    scenario = {
        "model": "",
        "rt": table["rt"].sum() / n,
        "en": table["en"].sum() / n,
        "acc": table["acc"].sum() / n,
        "qoe": table["qoe"].sum() / n,
        "score": table["score"].sum() / n,
        "uxcost": ux,
        "e_norm": e_norm,
        "v": v,
        "miss_rate": table["late"].sum() / released_total if released_total else float("nan"),
        "drop_rate": table["dropped"].sum() / released_total if released_total else float("nan"),
        "energy_mj": energy_total / 1e6,
    }
    for col in ("released", "on_time", "late", "dropped", "not_triggered", "logged"):
        scenario[col] = int(table[col].sum())
    return pd.concat([table, pd.DataFrame([scenario])], ignore_index=True)


def xrbench_score(result: SimulationResult) -> float:
    """The score XRBench's runtime prints: 100 x mean S_m over models with a logged frame."""
    s = summary(result)
    models = s[(s["model"] != "") & (s["logged"] > 0)]
    return 100.0 * float(models["score"].mean()) if len(models) else 0.0


def utilisation(result: SimulationResult) -> pd.DataFrame:
    """Per accelerator: busy time within ``[0, end]``, utilisation, blocks run and energy."""
    tl = result.timeline
    end = result.end_ms
    if result.mode == "native" and len(tl):
        end = max(end, float(tl["completion_ms"].max()))
    rows = []
    for a, name in enumerate(result.accelerator_names):
        mine = tl[tl["accelerator"] == a]
        start = mine["dispatch_ms"].to_numpy(float)
        stop = np.minimum(mine["completion_ms"].to_numpy(float), end)
        busy = float(np.clip(stop - start, 0.0, None).sum())
        rows.append(
            {
                "accelerator": a,
                "accelerator_name": name,
                "busy_ms": busy,
                "span_ms": end,
                "utilisation": busy / end if end > 0 else 0.0,
                "blocks": len(mine),
                "energy_mj": float(mine["energy_nj"].sum()) / 1e6,
            }
        )
    return pd.DataFrame(rows)

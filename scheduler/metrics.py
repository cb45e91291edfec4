"""Scores and costs of a run: XRBench's RT/EN/ACC/QoE/score, UXCost, rates, utilisation.

Per completed inference i of model m (delay_i = completion - deadline, ms):
RT_i = 1 / (1 + exp(15 delay_i)), EN_i = (1500 - E_i) / 1500 with E_i in nJ / 1e6,
ACC_i = min(1, accuracy of the variant used). QoE_m = 1 - dropped_m / logged_m, where *logged*
frames are completed (on time or late) plus dropped; S_m = (1 / logged_m) sum RT_i EN_i ACC_i QoE_m.

The scenario row follows XRBench's published figures: rt, en, acc and qoe are the per-model values
summed and divided by the scenario's number of models, and the score is mean S_m over models that
logged a frame times the fraction of models that did — i.e. sum S_m / number of models — on the
0-1 scale (XRBench's runtime prints 100 x mean S_m over logged models).

UXCost (lower is better) is computed by :func:`uxcost_terms` and nowhere else; every caller (the
run summary, the online tuner's windows, the Supernet selector's what-if runs, ``rtmm compare``)
goes through it. ``UXCost = E_norm x (V + V_FLOOR)`` where

- ``E_norm = (energy spent + undone energy) / reference energy``. The reference of a released frame
  is the energy of the *variant it ran* with every layer on its minimum-energy accelerator, so a
  smaller Supernet sub-network does not lower E_norm (accuracy lost is not energy saved). The
  *undone energy* of a dropped frame is the energy of the layers it did not execute, each on its
  most expensive accelerator: abandoning work is charged at least what doing it anywhere would have
  cost, so dropping never lowers E_norm and a run that drops everything has ``E_norm >= 1`` and
  ``V = 1``, the worst UXCost of any run without migrations.
- ``V`` = mean over models with released frames of ``(late + dropped + accuracy shortfall) /
  released``, where the accuracy shortfall is the sum over completed frames of ``1 - ACC_i``.
- ``V_FLOOR`` is a constant (0.01, one violation per hundred frames), independent of the horizon:
  a run without violations still ranks by energy, every violation strictly raises UXCost, and the
  ratio of two runs' UXCosts does not grow with the run's length.

*Released* frames are the triggered ones (not-triggered cascade frames never run; in
XRBench-compatible mode the frames still queued or running at the stop count as released but
neither late nor dropped). A model whose released frames all failed (none completed) is *starved*.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import expit

from rtmm.errors import RtmmError
from scheduler.state import FrameStatus, RunningMetrics

if TYPE_CHECKING:
    from scheduler.result import SimulationResult

RT_K_PER_MS = 15.0
EN_MAX_MJ = 1500.0
#: Added to UXCost's violation term V; see the module docstring.
V_FLOOR = 0.01

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
    "starved",
)


def inference_scores(frames: pd.DataFrame) -> pd.DataFrame:
    """Completed frames with their RT, EN and ACC columns added."""
    done = frames[frames["status"].isin((FrameStatus.ON_TIME, FrameStatus.LATE))].copy()
    delay = done["completion_ms"].to_numpy(float) - done["deadline_ms"].to_numpy(float)
    done["rt"] = expit(-RT_K_PER_MS * delay)
    done["en"] = (EN_MAX_MJ - done["energy_nj"].to_numpy(float) / 1e6) / EN_MAX_MJ
    done["acc"] = np.minimum(1.0, done["accuracy"].to_numpy(float))
    return done


def uxcost_terms(
    energy_nj: float,
    reference_nj: float,
    undone_nj: float,
    violations: np.ndarray,
    released: np.ndarray,
) -> tuple[float, float, float]:
    """``(uxcost, e_norm, v)`` — the one UXCost formula of the code base (module docstring).

    ``energy_nj`` spent, ``reference_nj`` the released frames' reference energy, ``undone_nj`` the
    dropped frames' undone energy (all totals); ``violations[m]`` = late + dropped + accuracy
    shortfall of model m and ``released[m]`` its released frames (models without released frames
    are ignored). ``nan`` for all three when nothing was released.
    """
    released = np.asarray(released, dtype=float)
    has = released > 0
    if not has.any() or reference_nj <= 0:
        return float("nan"), float("nan"), float("nan")
    e_norm = (float(energy_nj) + float(undone_nj)) / float(reference_nj)
    v = float(np.mean(np.asarray(violations, dtype=float)[has] / released[has]))
    return e_norm * (v + V_FLOOR), e_norm, v


def running_uxcost(m: RunningMetrics) -> tuple[float, float, float]:
    """:func:`uxcost_terms` of running counters (a whole run so far, or a window's difference)."""
    return uxcost_terms(
        float(m.energy_nj.sum()),
        float(m.min_energy_nj.sum()),
        float(m.undone_energy_nj.sum()),
        m.late + m.dropped + m.acc_shortfall,
        m.resolved,
    )


def frames_uxcost(frames: pd.DataFrame) -> tuple[float, float, float]:
    """:func:`uxcost_terms` of a frame table (:data:`scheduler.result.FRAME_COLUMNS`)."""
    status = frames["status"]
    trig = status != FrameStatus.NOT_TRIGGERED
    done = status.isin((FrameStatus.ON_TIME, FrameStatus.LATE))
    bad = status.isin((FrameStatus.LATE, FrameStatus.DROPPED)).astype(float)
    short = np.where(done, 1.0 - np.minimum(1.0, frames["accuracy"].to_numpy(float)), 0.0)
    per = pd.DataFrame({"model": frames["model"], "trig": trig, "bad": bad + short})
    g = per[per["trig"]].groupby("model")
    return uxcost_terms(
        float(frames["energy_nj"].sum()),
        float(frames.loc[trig, "min_energy_nj"].sum()),
        float(frames.loc[trig, "undone_energy_nj"].sum()),
        g["bad"].sum().to_numpy(float),
        g["trig"].sum().to_numpy(float),
    )


def geomean(values, what: str = "UXCost") -> float:
    """Geometric mean of positive finite values; a zero, negative or NaN point is an error.

    A point that cannot enter a geometric mean is never skipped silently: it means a run produced
    no measurement (or a metric that rewards doing nothing), which must be fixed, not averaged out.
    """
    v = np.asarray(values, dtype=float)
    bad = ~np.isfinite(v) | (v <= 0)
    if len(v) == 0 or bad.any():
        shown = v[bad][:3].tolist() if len(v) else "no values"
        raise RtmmError(
            f"geometric mean of {what}: {int(bad.sum())} of {len(v)} point(s) not positive and "
            f"finite ({shown})",
            source="<metrics>",
            allowed="positive finite values",
        )
    return float(np.exp(np.mean(np.log(v))))


def summary(result: SimulationResult) -> pd.DataFrame:
    """One row per scenario model (alphabetical), then the scenario row (``model == ""``).

    ``starved`` is True for a model with released frames none of which completed; the scenario
    row's ``starved`` is the number of starved models.
    """
    frames = result.frames
    scored = inference_scores(frames)
    status = frames["status"]
    rows = []
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
        if logged:
            rt = float(inf["rt"].mean()) if len(inf) else 0.0
            en = float(inf["en"].mean()) if len(inf) else 0.0
            acc = float(inf["acc"].mean()) if len(inf) else 0.0
            qoe = 1.0 - dropped / logged
            score = float((inf["rt"] * inf["en"] * inf["acc"]).sum()) / logged * qoe
        else:
            rt = en = acc = qoe = score = 0.0
        ux, e_norm, v = frames_uxcost(mine)
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
                "starved": bool(released > 0 and on_time + late == 0),
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
    ux, e_norm, v = frames_uxcost(frames)
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
        "energy_mj": float(frames["energy_nj"].sum()) / 1e6,
        "starved": int(table["starved"].sum()),
    }
    for col in ("released", "on_time", "late", "dropped", "not_triggered", "logged"):
        scenario[col] = int(table[col].sum())
    out = pd.concat([table, pd.DataFrame([scenario])], ignore_index=True)
    return out.astype({"starved": np.int64})


def starved_models(result: SimulationResult) -> tuple[str, ...]:
    """Models of the run with released frames none of which completed."""
    s = summary(result)
    return tuple(s.loc[(s["model"] != "") & (s["starved"] > 0), "model"])


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

"""Issue 12l, TUNING set only: a prototype of *value-aware protection*, measured without changing
the library.

    python benchmarks/diag_value_protect.py --analysis maestro --cache DIR --ratio 2
    python benchmarks/diag_value_protect.py --analysis native --released xrbench-4k-L:ar_assistant:1

SDRM3's exclusive-work protection refuses a job a block on accelerator a when the block makes
more of a's exclusive work miss (:meth:`scheduler.policies.sdrm3_checks.SDRM3Checks._protected`).
It counts frames, not what they are worth: V averages each model's lost share of its frames, so
one frame of a model released rarely (ASR: every 333 ms, only when KD triggers it) costs several
times one frame of a 10 fps model (SS). The prototype exempts from protection, at every decision,
the models whose frame is worth at least ``--ratio`` times the most valuable frame among the models
the protection pins (``--scope model``), or releases a pair (job, a) from protection when the
job's frame is worth at least ``--ratio`` times the most valuable frame of the models pinned to a
(``--scope accelerator``), or the same per millisecond of a's time, frame worth over the model's
whole-frame latency on a (``--scope density``). The worth of a frame is SDRM3's own per-model
frame loss (``policy.loss``, :func:`frame_loss`: period over trigger share plus the children's;
horizon-free). Everything else is the defaults.

With ``--released SYSTEM:SCENARIO:SEED`` (issue 12p) it runs that one point with the library
option instead (``protect_value=--ratio``, ``protect_value_mode=--mode``) and lists every pair
that the option released from protection and SDRM3 then dispatched: time, job, accelerator, block
length, and the exclusive work of that accelerator that the block made miss (a ready job, or an
expected frame of a pinned model: release, deadline and work).

The patch is applied to :class:`SDRM3Checks` in this process only, and the runs are serial (one
process), so nothing else sees it. The SDRM3 runs are cached in ``--cache`` under the scope and
ratio (delete the file after changing SDRM3's code), the
baselines are the cache's ``base_*`` files (``bench_sdrm3_dev.py``); the report is that bench's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sdrm3_dev import _check_systems, baseline_runs, report, tuning_set_parser  # noqa: E402

from dse.compare import CompareConfig, run_compare  # noqa: E402
from dse.compare_points import DEFAULT_JITTER_MS, FAIR  # noqa: E402
from dse.compare_stats import REFERENCE  # noqa: E402
from scheduler import simulate  # noqa: E402
from scheduler.decisions import Dispatch  # noqa: E402
from scheduler.policies.sdrm3 import TUNING_SYSTEMS, SDRM3Static  # noqa: E402
from scheduler.policies.sdrm3_checks import SDRM3Checks  # noqa: E402
from scheduler.policies.sdrm3_quantities import _finishes  # noqa: E402

_ORIGINAL = SDRM3Checks._protected


def value_exempt(loss: np.ndarray, pins: np.ndarray, ratio: float) -> np.ndarray:
    """Per model: its frame is worth >= ``ratio`` x the most valuable frame of a pinned model."""
    pinned = pins >= 0
    if not pinned.any():
        return np.zeros(len(loss), dtype=bool)
    return loss >= ratio * float(loss[pinned].max())


def release_valuable(
    mask: np.ndarray,
    jobs,
    accelerators,
    loss: np.ndarray,
    pins: np.ndarray,
    ratio: float,
    full_ms: np.ndarray | None = None,
) -> np.ndarray:
    """``mask`` without the pairs (job, a) whose frame is worth >= ``ratio`` x the most valuable
    frame of the models pinned to a (a with no pinned model keeps its pairs). With ``full_ms``
    (model x accelerator whole-frame latency) worth is per millisecond of a: loss / full_ms."""
    out = mask.copy()
    for k, a in enumerate(accelerators):
        on = pins == a
        if not on.any():
            continue
        worth = loss if full_ms is None else loss / full_ms[:, a]
        top = ratio * float(worth[on].max())
        for i, job in enumerate(jobs):
            if out[i, k] and worth[job.model] >= top:
                out[i, k] = False
    return out


def patch(ratio: float, scope: str = "model") -> None:
    """Make every SDRM3 in this process release valuable frames from protection (``ratio``):
    per model against every pinned model (``scope="model"``) or per accelerator against the
    models pinned to it (``"accelerator"``), or per millisecond of it (``"density"``)."""

    def _protected(self, terms, state, pins=None, exempt=None):
        p = self.pinned if pins is None else pins
        if scope in ("accelerator", "density"):
            mask = _ORIGINAL(self, terms, state, pins, exempt=exempt)
            if not mask.any():
                return mask
            full = self.full_ms if scope == "density" else None
            return release_valuable(mask, terms.jobs, terms.accelerators.tolist(), self.loss, p,
                                    ratio, full)  # fmt: skip
        worth = value_exempt(self.loss, p, ratio)
        exempt = worth if exempt is None else (np.asarray(exempt, dtype=bool) | worth)
        return _ORIGINAL(self, terms, state, pins, exempt=exempt)

    SDRM3Checks._protected = _protected  # type: ignore[method-assign]


class _Released(SDRM3Static):
    """SDRM3 (library option) that logs the released pairs it dispatches (``--released``)."""

    name = "sdrm3_static"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.log: list[str] = []
        self._rel: dict = {}

    def _protected(self, terms, state, pins=None, exempt=None):
        mask = super()._protected(terms, state, pins, exempt=exempt)
        r, self.protect_value = self.protect_value, None
        plain = super()._protected(terms, state, pins, exempt=exempt)
        self.protect_value = r
        items, free, can = self._exclusive_work(state, pins)
        for i, k in zip(*np.nonzero(plain & ~mask), strict=True):
            job, a = terms.jobs[i], int(terms.accelerators[k])
            ready = [j for j, c in zip(state.ready, can, strict=True) if c.sum() == 1 and c[a]]
            n = int(terms.n_layers[i, k])
            block = job.costs.block_latency_cycles(job.next_layer, n, a) * self.ms_per_cycle[a]
            due = np.array([it[1] for it in items[a]]) + 1e-9
            late = _finishes(items[a], free[a] + block) > due
            new = late & ~(_finishes(items[a], free[a]) > due)
            lost = [f"ready {state.model_ids[ready[q].model]}#{ready[q].frame}" if q < len(ready)
                    else "expected {:.0f}-{:.0f} ({:.1f} ms)".format(*items[a][q])
                    for q in np.flatnonzero(new)]  # fmt: skip
            self._rel[id(job), a] = (block, lost)
        return mask

    def decide(self, state):
        self._rel = {}
        out = super().decide(state)
        for d in out:
            if isinstance(d, Dispatch) and (id(d.job), d.accelerator) in self._rel:
                block, lost = self._rel[id(d.job), d.accelerator]
                self.log.append(f"{state.now_ms:9.2f}  {d.job.model_id}#{d.job.frame} on "
                                f"{d.accelerator}, block {block:.2f} ms; misses: "
                                f"{', '.join(lost) or '-'}")  # fmt: skip
        return out


def released(point: str, analysis: str, ratio: float, mode: str, horizon_ms: float) -> None:
    """Print the released pairs SDRM3 dispatched in one point (``SYSTEM:SCENARIO:SEED``)."""
    system, scenario, seed = point.split(":")
    _check_systems((system,))
    # SDRM3 as 12p measured it: the rescue and plan pairs (on since 12t) and the plan (12u) off
    policy = _Released(protect_value=ratio, protect_value_mode=mode, rescue=False, plan_split=False,
                       service_plan=False)  # fmt: skip
    result = simulate(
        scenario, system, policy, horizon_ms=horizon_ms, seed=int(seed), analysis=analysis,
        offchip_contention=True, jitter_ms=DEFAULT_JITTER_MS, mechanics=FAIR,
    )  # fmt: skip
    total = result.summary().iloc[-1]
    print(f"{point} {analysis}, protect_value {ratio:g} ({mode}): UXCost {total['uxcost']:.4f}, "
          f"score {total['score']:.4f}; released pairs dispatched: {len(policy.log)}")  # fmt: skip
    print("\n".join(policy.log))


def main() -> None:
    ap = tuning_set_parser(__doc__.splitlines()[0])
    ap.add_argument("--ratio", type=float, default=2.0)
    ap.add_argument("--scope", choices=("model", "accelerator", "density"), default="model")
    ap.add_argument("--released", default="", help="SYSTEM:SCENARIO:SEED (library option)")
    ap.add_argument("--mode", choices=("pinned", "need"), default="pinned")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.released:
        released(args.released, args.analysis, args.ratio, args.mode, args.horizon_ms)
        return
    systems = tuple(args.systems.split(",")) if args.systems else TUNING_SYSTEMS
    _check_systems(systems)
    seeds = tuple(range(args.seeds))
    cache = Path(args.cache)
    base = baseline_runs(systems, args.analysis, seeds, args.horizon_ms, cache)
    tag = f"{args.scope[:3]}{args.ratio:g}"
    path = cache / (f"proto_value{tag}_{args.analysis}_{len(systems)}_{len(seeds)}_"
                    f"{args.horizon_ms:g}.csv")  # fmt: skip
    if not path.exists():
        patch(args.ratio, args.scope)
        cfg = CompareConfig(systems=systems, policies=("sdrm3_static",), seeds=seeds,
                            horizon_ms=args.horizon_ms, analysis=args.analysis, jobs=1)  # fmt: skip
        run_compare(cfg, progress=False).runs.to_csv(path, index=False)
    runs = pd.read_csv(path, keep_default_na=False)
    runs["policy"] = REFERENCE
    print(
        f"tuning set {len(systems)} systems, {args.analysis}, seeds {seeds}, "
        f"{args.horizon_ms:g} ms; value-aware protection, {args.scope}, ratio {args.ratio:g}"
    )
    print(report(f"value-{tag}", runs, base, systems, args.verbose), flush=True)


if __name__ == "__main__":
    main()

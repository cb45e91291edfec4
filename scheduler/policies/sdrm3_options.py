"""SDRM3's constructor options: what each does and its default, their checks, and the set a copy
of the policy is built with (the Supernet selector's what-if runs use a static copy of the policy
with the same options). The policy itself is described in :mod:`.sdrm3`.

Each option was measured on the tuning set (``benchmarks/bench_sdrm3_dev.py``; results in
``benchmarks/RESULTS.md``, "Issue 12b", "12c", "12e", "12g", "12h" and "Issue 12g/12h: the
selection rule"). On by default: laxity urgency, the block-energy term (since 12e), deferral with
``defer_margin`` 0.5 and ``defer_load`` 0.75, exclusive-work protection with pending frames, the
starvation guard with N = 2, since 12g/12h the energy-aware wait of lax jobs with k = 2 and the
contention hold, since 12p the pipelined split at 0.75, and since 12t the rescue of started work
in its value mode and plan pairs; the rest is off.

- ``urgency`` (``"laxity"``; or ``"density"``): the form of U, see :mod:`~.sdrm3_terms`.
- ``energy_term`` (``"energy"``): G is the block's relative energy overhead; ``"affinity"`` (the
  default until 12e): the model's *affinity* overhead (:mod:`~.sdrm3_terms`); ``"finish"``: the
  *finish-time* term alone (see ``affinity_load``); ``"home"``: affinity relative to a
  capacity-aware partition of the models (:func:`~.sdrm3_capacity.home_accelerators`), with the
  per-frame (``home_load="frame"``, the default) or expected (``"expected"``) load.
- ``defer`` (True), ``defer_margin`` (0.5): *energy-aware deferral*: a job is not started on an
  accelerator that costs more energy (``G_ja > 0``) when its most efficient accelerator is busy but
  the job, queued there behind the running block and the more urgent jobs already waiting for it,
  keeps at least ``defer_margin`` of its laxity (:meth:`~.sdrm3_checks.SDRM3Checks._deferred`).
  With ``defer_when_loaded=False`` (the default) nobody waits while the work due within the
  lookahead (the ready and running jobs' best-case remaining work and the expected frames still
  to be released, due within the longest period) exceeds ``defer_load`` (0.75) x the accelerators'
  capacity by then: under load an idle accelerator is worth more than the energy it would save.
- ``protect`` (True): *exclusive-work protection*: a job that could still finish on another
  accelerator does not run a block on accelerator a if that block makes work that can meet its
  deadline *only* on a miss (ready jobs exclusive to a, and the expected frames of the models
  :func:`~.sdrm3_capacity.pinned_accelerators` pins to a, within the longest period; see
  :meth:`~.sdrm3_checks.SDRM3Checks._protected`). On a big.LITTLE pair the models that fit their
  period only on the big array keep it; the others use the LITTLE one. ``protect_pending``
  (True): under release jitter a pinned model's frame whose nominal release has passed but that
  is not yet released is protected too. ``protect_value`` (R; None: off): *value-aware
  protection* (issue 12l/12m): a pair (job, a) is never held back when the job's frame is worth at
  least R x the most valuable frame of the models pinned to a (worth: SDRM3's per-frame loss,
  :func:`~.sdrm3_terms.frame_loss`); protection counts frames, and one rare frame (ASR) may be
  worth many frequent ones (SS). ``protect_value_mode`` (``"pinned"``: that rule; ``"need"``,
  issue 12p): the pair is released only if, in addition, the job cannot meet its deadline on a
  by waiting there behind a's exclusive work due first; a job that can wait is protected as
  before (:meth:`~.sdrm3_checks.SDRM3Checks._value_release`). **The value for the 12p
  selection is R = 2 with ``"need"``**, fixed from the tuning set only (``benchmarks/
  RESULTS.md``, "Issue 12p-pv").
- ``guard`` (N = 2; None: off): the *starvation guard*: a model whose last N frames were all lost
  is served first and protected until a frame of it is on time (:mod:`~.sdrm3_guard`);
  ``guard_mode`` (``"first"``; ``"yield"``/``"order"``/``"trade"``/``"budget"``: only where that
  displaces no other work, or within a bound).
- ``lax_wait`` (k = 2; None: off), ``lax_fallback`` (False): the *energy-aware wait* of lax jobs
  (:mod:`~.sdrm3_wait`).
- ``contention_hold`` (True): a pair whose block would make the job miss at the off-chip
  bandwidth share it gets now, though not at full bandwidth, is not taken
  (:mod:`~.sdrm3_contention`).
- ``pipeline_split`` (0.75; None: off): the *pipelined split* (issue 12l's remedy 2, 12n, 12p):
  a model pinned to accelerator a whose full frame takes more than that share of its period
  there has its frames cut once, the prefix on another accelerator and the suffix on a, at the
  layer that minimises the larger stage, migration included, so consecutive frames overlap
  (:mod:`~.sdrm3_pipeline`). **On by default since 12p's selection; the value is 0.75**
  (:data:`~.sdrm3_pipeline.THRESHOLD`), fixed before that selection from the tuning set only
  (3 seeds, both analyses; ``benchmarks/RESULTS.md``, "Issue 12n-pipe"): 0.5 / 0.75 / 0.9 gave
  maestro rules 0.9783 / 0.9712 / 0.9769 (defaults 0.9735), native unchanged; every value in
  [0.66, 0.86) splits the same models there.
- ``plan_split`` (True since 12t): *plan pairs* (issue 12r): a job that no single accelerator
  can finish by its deadline but a split across accelerators can runs its blocks along its
  fastest split (:mod:`~.sdrm3_plan`).
- ``rescue`` (True since 12t): *rescue of started work* (issue 12r): a started job that can still
  meet its deadline but cannot wait one more block is taken first (:mod:`~.sdrm3_rescue`);
  ``rescue_mode`` (``"value"``, the default since 12t, issue 12s: the wait a job must afford is
  the longest block any other ready job would start now, and competing rescues go by the frame's
  value; ``"budget"``: one block budget, 12r's form). **Selected by rule 12t** on fresh seeds 5–9
  of the tuning set (``benchmarks/RESULTS.md``, "Issue 12t"), with ``plan_split``.
- ``cut_on_affinity`` (False): blocks also end where the layers' cheapest accelerator changes.
- ``energy_slack`` (None: off): *slack-aware energy placement*: a pair that keeps less than that
  share of the job's laxity is taken only after every pair that does
  (:func:`~.sdrm3_terms.slack_safe`).
- ``admission`` (False): *overload-aware admission*: when the work due within the lookahead
  exceeds the capacity, shed the unstarted frames that free the most work per unit of V lost
  (:func:`~.sdrm3_terms.shed_for_capacity`).
- ``service_plan`` (True since 12u): *a long-run service plan* (issue 12u): a fluid linear
  programme over the scenario decides which share of each model's frames the accelerators can
  serve; in a scenario it finds overloaded, that share of each model is served and the rest shed
  at release, spread evenly (:mod:`~.service_plan`). Nothing changes where the plan serves every
  frame. **Selected by rule 12u** on fresh seeds 10–14 of the tuning set (``benchmarks/
  RESULTS.md``, "Issue 12u"); the baseline ``edf_plan`` gets the same plan.
- ``plan_protect`` (True since 12v, **selected by rule 12v** on seeds 15–19): exclusive-work
  protection expects a pinned model's frames at the share the plan serves (expected work =
  trigger probability x plan share x latency), so it no longer holds an accelerator for frames
  the plan will shed.
- ``starvation`` (``"job"``; ``"model"``): *model-level starvation*: F also counts the share of
  the model's frames lost so far, so a model whose frames keep being dropped gains priority.
- ``affinity_load`` (False), ``affinity_margin`` (0.5): *load-aware affinity*: a job keeps its
  energy term only if, queued on the accelerator that term prefers, it keeps ``affinity_margin``
  of its laxity, else it leans to the accelerator where it finishes first
  (:meth:`~.sdrm3_checks.SDRM3Checks._placement_term`).
- ``commit`` (False): *commitment*: a started job that can still finish keeps its accelerator
  (:func:`~.sdrm3_capacity.committed`).
- ``progress`` (True): progress pairs (:mod:`.sdrm3`); ``block_fraction`` (0.25): the dispatch
  unit, in shortest periods; ``u_max`` (10) and ``eps_ms`` (1e-3): U's clip and the least slack
  of density urgency.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rtmm.errors import SimulationError

#: Options copied into a static SDRM3 (besides theta), by attribute name.
STATIC_OPTIONS = (
    "block_fraction", "u_max", "eps_ms", "progress", "defer", "defer_margin", "urgency",
    "energy_term", "energy_slack", "admission", "cut_on_affinity", "defer_when_loaded",
    "defer_load", "starvation", "affinity_load", "affinity_margin", "protect", "home_load",
    "commit", "protect_pending", "guard", "guard_mode", "lax_wait", "lax_fallback",
    "contention_hold", "protect_value", "protect_value_mode", "pipeline_split", "plan_split",
    "rescue", "rescue_mode", "service_plan", "plan_protect",
)  # fmt: skip


def check_options(
    theta: np.ndarray,
    *,
    block_fraction: float,
    urgency: str,
    energy_term: str,
    starvation: str,
    energy_slack: float | None,
    affinity_margin: float,
    guard: int | None,
    guard_mode: str = "first",
    lax_wait: float | None = None,
    contention_hold: bool = False,
    protect_value: float | None = None,
    protect_value_mode: str = "pinned",
    pipeline_split: float | None = None,
    rescue_mode: str = "budget",
) -> None:
    """Raise a :class:`SimulationError` for an option SDRM3 does not accept."""
    if not np.all(np.isfinite(theta)) or np.any(theta < 0):
        raise SimulationError(
            f"sdrm3: parameters {theta.tolist()} must be finite", source="<api>", allowed=">= 0"
        )
    if not 0 < block_fraction <= 10:
        raise SimulationError(
            f"sdrm3: block_fraction {block_fraction}", source="<api>", allowed="0 < x <= 10"
        )
    for name, value, allowed in (
        ("urgency", urgency, ("density", "laxity")),
        ("energy_term", energy_term, ("energy", "affinity", "home", "finish")),
        ("starvation", starvation, ("job", "model")),
        ("guard_mode", guard_mode, ("first", "yield", "order", "trade", "budget")),
        ("protect_value_mode", protect_value_mode, ("pinned", "need")),
        ("rescue_mode", rescue_mode, ("budget", "value")),
    ):
        if value not in allowed:
            raise SimulationError(
                f"sdrm3: {name} {value!r}", source="<api>", field=name,
                allowed=", ".join(allowed),
            )  # fmt: skip
    if energy_slack is not None and not 0 <= energy_slack <= 1:
        raise SimulationError(
            f"sdrm3: energy_slack {energy_slack}", source="<api>", field="energy_slack",
            allowed="None or 0 <= x <= 1",
        )  # fmt: skip
    if not 0 <= affinity_margin <= 1:
        raise SimulationError(
            f"sdrm3: affinity_margin {affinity_margin}", source="<api>",
            field="affinity_margin", allowed="0 <= x <= 1",
        )  # fmt: skip
    if guard is not None and not (float(guard) == int(guard) and int(guard) >= 1):
        raise SimulationError(
            f"sdrm3: guard {guard}", source="<api>", field="guard", allowed="None or an int >= 1"
        )
    if lax_wait is not None and not (np.isfinite(lax_wait) and lax_wait >= 1):
        raise SimulationError(
            f"sdrm3: lax_wait {lax_wait}", source="<api>", field="lax_wait",
            allowed="None or a finite x >= 1",
        )  # fmt: skip
    if protect_value is not None and not (np.isfinite(protect_value) and protect_value > 0):
        raise SimulationError(
            f"sdrm3: protect_value {protect_value}", source="<api>", field="protect_value",
            allowed="None or a finite x > 0",
        )  # fmt: skip
    if pipeline_split is not None and not (np.isfinite(pipeline_split) and pipeline_split >= 0):
        raise SimulationError(
            f"sdrm3: pipeline_split {pipeline_split}", source="<api>", field="pipeline_split",
            allowed="None or a finite x >= 0",
        )  # fmt: skip
    if not isinstance(contention_hold, bool | np.bool_):
        raise SimulationError(
            f"sdrm3: contention_hold {contention_hold!r}", source="<api>",
            field="contention_hold", allowed="True or False",
        )  # fmt: skip


def static_options(policy: Any) -> dict[str, Any]:
    """The options of ``policy`` (an SDRM3) as keyword arguments of a static copy."""
    theta = policy.theta0
    out = {"alpha": theta.alpha, "beta": theta.beta, "gamma": theta.gamma}
    out.update({name: getattr(policy, name) for name in STATIC_OPTIONS})
    return out

"""SDRM3's constructor options: their checks, and the set a copy of the policy is built with
(the Supernet selector's what-if runs use a static copy of the policy with the same options)."""

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
    "contention_hold",
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

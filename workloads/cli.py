"""``rtmm models`` and ``rtmm scenarios``: list and show the model zoo and the usage scenarios.

- ``rtmm models list``: one row per zoo model (layers, GMACs, task, supernet variants).
- ``rtmm models show NAME [--format table|csv]``: the layer table with MACs and totals; NAME is a
  zoo id, alias, variant (``GE_FBNet_C@w0.5``) or a model file (.csv, MAESTRO .m, .onnx).
- ``rtmm scenarios list``: one row per built-in scenario.
- ``rtmm scenarios show NAME``: models, FPS, periods, cascade parent and probability; NAME is a
  built-in scenario or a scenario file (.yaml, XRBench .m).

``models list`` prints with :mod:`rtmm.columns` (what pandas printed, without importing pandas);
the other actions import pandas and the scenario module (networkx) when they run.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from rtmm.columns import format_table
from workloads import zoo

if TYPE_CHECKING:
    import pandas as pd

#: Columns of ``rtmm models show --format csv``.
CSV_COLUMNS = ["layer_idx", "name", "type", "N", "K", "C", "Y", "X", "R", "S", "stride",
               "padding", "groups", "macs", "inputs"]  # fmt: skip
TABLE_COLUMNS = ["layer_idx", "name", "type", "N", "K", "C", "Y", "X", "R", "S", "stride",
                 "groups", "out_y", "out_x", "macs", "inputs"]  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="list and show DNN models (the XRBench zoo)")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION")
    models.set_defaults(func=lambda args: _usage(models))
    msub.add_parser("list", help="list the zoo models").set_defaults(func=_models_list)
    show = msub.add_parser("show", help="show a model's layer table")
    show.add_argument("name", help="zoo id, alias, MODEL@VARIANT, or a .csv/.m/.onnx model file")
    show.add_argument("--format", choices=("table", "csv"), default="table")
    show.set_defaults(func=_models_show)

    scenarios = subparsers.add_parser("scenarios", help="list and show usage scenarios")
    ssub = scenarios.add_subparsers(dest="scenarios_command", metavar="ACTION")
    scenarios.set_defaults(func=lambda args: _usage(scenarios))
    ssub.add_parser("list", help="list the built-in scenarios").set_defaults(func=_scenarios_list)
    sshow = ssub.add_parser("show", help="show a scenario's models, rates and cascades")
    sshow.add_argument("name", help="built-in scenario name or a .yaml / XRBench .m scenario file")
    sshow.add_argument("--format", choices=("table", "csv"), default="table")
    sshow.set_defaults(func=_scenarios_show)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _print(frame: pd.DataFrame) -> None:
    import pandas as pd

    with pd.option_context("display.max_colwidth", 80, "display.width", 250):
        print(frame.to_string(index=False))


def _models_list(args: argparse.Namespace) -> int:
    rows: dict[str, list] = {k: [] for k in ("model", "task", "layers", "GMACs")}
    rows |= {"aliases": [], "variants": []}
    for name in zoo.names():
        model = zoo.load(name)
        entry = zoo.info(name)
        variants = [v.name.partition(zoo.VARIANT_SEP)[2] for v in model.variants[1:]]
        rows["model"].append(name)
        rows["task"].append(entry.task)
        rows["layers"].append(len(model))
        rows["GMACs"].append(round(model.total_macs / 1e9, 3))
        rows["aliases"].append(",".join(entry.aliases))
        rows["variants"].append(",".join(variants))
    print(format_table(rows))
    return 0


def _models_show(args: argparse.Namespace) -> int:
    model = zoo.load(args.name)
    frame = model.to_frame()
    if args.format == "csv":
        frame[CSV_COLUMNS].to_csv(sys.stdout, index=False)
        return 0
    print(f"model: {model.name}")
    if model.source:
        print(f"source: {model.source}")
    print(f"layers: {len(model)}  MACs: {model.total_macs}  GMACs: {model.total_macs / 1e9:.3f}")
    print(f"accuracy (relative): {model.accuracy:g}")
    if model.variants:
        parts = [f"{v.name} ({v.total_macs / 1e9:.3f} GMACs, acc {v.accuracy:g})"
                 for v in model.variants[1:]]  # fmt: skip
        print("supernet variants: " + "; ".join(parts))
    elif zoo.VARIANT_SEP in model.name:
        base = model.name.partition(zoo.VARIANT_SEP)[0]
        print(f"variant of: {base} (see supernet.variants('{base}'))")
    print()
    _print(frame[TABLE_COLUMNS])
    print(f"\ntotal: {len(model)} layers, {model.total_macs} MACs")
    return 0


def _scenarios_list(args: argparse.Namespace) -> int:
    import pandas as pd

    from workloads import scenario as scenario_mod

    rows = []
    for name in scenario_mod.names():
        scn = scenario_mod.load(name)
        cascades = [f"{m.model_id}<-{m.parent} ({m.probability:g})" for m in scn.models if m.parent]
        rows.append(
            {
                "scenario": name,
                "models": ", ".join(f"{m.model_id}@{m.fps:g}" for m in scn.models),
                "cascades": "; ".join(cascades) or "none",
            }
        )
    _print(pd.DataFrame(rows))
    return 0


def _scenarios_show(args: argparse.Namespace) -> int:
    from workloads import scenario as scenario_mod

    scn = scenario_mod.load(args.name)
    frame = scn.to_frame()
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
        return 0
    print(f"scenario: {scn.name}")
    if scn.description:
        print(f"description: {scn.description}")
    if scn.source:
        print(f"source: {scn.source}")
    print()
    frame = frame.assign(
        period_ms=frame["period_ms"].round(3),
        gmacs=frame["gmacs"].round(3),
        parent=frame["parent"].replace("", "-"),
    )
    _print(frame)
    return 0


__all__ = ["register"]

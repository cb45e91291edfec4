"""The declarative spec models (pydantic) of hardware, scenario and sweep files.

Every bound a model states is enforced with a one-line error naming the field and what is allowed;
sweep axes are exactly the models' sweepable fields; the library loads as it did before the models.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware_db import library, schema
from hardware_db.loader import dump_system
from rtmm.errors import SpecError
from rtmm.validation import bounds, lookup, unwrap

DATA = Path(__file__).parent / "data"
GOOD_SYSTEM = yaml.safe_load(dump_system(library.get_system("xrbench-4k-J")))


def _violations(tp, metadata):
    """A strategy of values outside the numeric bounds stated on a field (none if unbounded)."""
    b = bounds(metadata)
    number = st.integers if tp is int else st.floats
    opts = {} if tp is int else {"allow_nan": False, "allow_infinity": False}
    out = []
    if "ge" in b:
        out.append(
            number(max_value=b["ge"] - 1, min_value=-(2**60), **opts)
            if tp is int
            else number(max_value=b["ge"], exclude_max=True, min_value=-1e30, **opts)
        )
    if "gt" in b:
        out.append(number(max_value=b["gt"], min_value=-(2**60), **opts))
    if "le" in b:
        out.append(
            number(min_value=b["le"] + 1, max_value=2**70, **opts)
            if tp is int
            else number(min_value=b["le"], exclude_min=True, max_value=1e300, **opts)
        )
    if "lt" in b:
        out.append(number(min_value=b["lt"], max_value=2**70, **opts))
    return out  # fmt: skip


def _numeric_paths():
    """(dotted path, strategies) of every bounded numeric field of an accelerator."""
    out = []
    for path in schema.sweep_fields():
        tp, metadata = lookup(schema.AcceleratorSpec, path.split("."))
        if tp in (int, float) and _violations(tp, metadata):
            out.append((path, _violations(tp, metadata)))
    return out


NUMERIC = _numeric_paths()


def test_every_numeric_hardware_field_is_bounded():
    """No number of a hardware file is unbounded (each can overflow something downstream)."""
    numeric = [p for p in schema.sweep_fields()
               if lookup(schema.AcceleratorSpec, p.split("."))[0] in (int, float)]  # fmt: skip
    assert sorted(p for p, _ in NUMERIC) == sorted(numeric)
    assert len(numeric) >= 12


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_hardware_bound_is_enforced_with_a_one_line_message(data):
    path, strategies = data.draw(st.sampled_from(NUMERIC))
    value = data.draw(st.one_of(*strategies))
    doc = json.loads(json.dumps(GOOD_SYSTEM))
    target = doc["accelerators"][0]
    *parents, leaf = path.split(".")
    for key in parents:
        target = target.setdefault(key, {})
    target[leaf] = value
    with pytest.raises(SpecError) as info:
        schema.validate_system(doc, source="hw.yaml")
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"hw.yaml: accelerators[0].{path}: "), text
    assert "(allowed: " in text, text


def test_allowed_values_come_from_the_field_constraints():
    doc = json.loads(json.dumps(GOOD_SYSTEM))
    doc["accelerators"][1]["noc_col"]["latency_cycles"] = -1
    with pytest.raises(SpecError, match=r"noc_col.latency_cycles: must be >= 0, got -1 "
                       r"\(allowed: integers from 0 to 2\^40\)"):  # fmt: skip
        schema.validate_system(doc, source="hw.yaml")
    doc = json.loads(json.dumps(GOOD_SYSTEM))
    doc["accelerators"][0]["fmap_compression"] = {"input": 1.5}
    with pytest.raises(SpecError, match=r"fmap_compression.input: must be <= 1, got 1.5 "
                       r"\(allowed: numbers > 0 and <= 1\)"):  # fmt: skip
        schema.validate_system(doc, source="hw.yaml")


def test_library_specs_load_exactly_as_before():
    """Every library system and accelerator equals what the hand-written validator built."""
    golden = json.loads((DATA / "hardware_library_repr.json").read_text())
    assert sorted(golden["systems"]) == library.list_systems()
    assert sorted(golden["accelerators"]) == sorted(library.list_accelerators())
    for name, text in golden["systems"].items():
        assert repr(library.get_system(name)) == text, name
    for name, text in golden["accelerators"].items():
        assert repr(library.get_accelerator(name)) == text, name


def test_models_are_frozen():
    spec = schema.AcceleratorSpec.model_validate(GOOD_SYSTEM["accelerators"][0])
    with pytest.raises(Exception, match="frozen"):
        spec.num_pes = 5  # type: ignore[misc]
    assert unwrap(schema.SystemSpec.model_fields["accelerators"].annotation)[0] is not None


def test_sweep_axes_are_the_models_fields():
    """The hardware axes are every number, flag and preset of the hardware models (and only
    those), plus the sweep-only pe_split; each axis checks values with its field's constraints."""
    from dse import spec as sweep_spec

    accel = {
        name
        for name, info in schema.AcceleratorSpec.model_fields.items()
        if unwrap(info.annotation)[0] in (int, float, bool, schema.DataflowSpec, schema.EnergySpec)
    }
    nested = {
        f"{name}.{sub}"
        for name in ("noc_top", "noc_col", "fmap_compression")
        for sub in unwrap(schema.AcceleratorSpec.model_fields[name].annotation)[0].model_fields
    }
    assert set(sweep_spec.ACCELERATOR_FIELDS) == accel | nested
    assert set(sweep_spec.SYSTEM_FIELDS) == {"offchip_bw_words_per_cycle", "pe_split"}
    for path, (model, name) in sweep_spec.ACCELERATOR_FIELDS.items():
        assert lookup(schema.AcceleratorSpec, path.split(".")) == lookup(model, (name,))


def test_formats_doc_states_the_models_bounds():
    from dse import spec as sweep_spec
    from rtmm.validation import allowed_values

    doc = (Path(__file__).parent.parent / "docs" / "FORMATS.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in doc.splitlines() if line.startswith("| `")}
    fields = {**sweep_spec.SYSTEM_FIELDS, **sweep_spec.ACCELERATOR_FIELDS}
    for path, (model, name) in fields.items():
        if name in ("dataflow", "energy"):
            continue
        key = f"`{path}`" if path in sweep_spec.SYSTEM_FIELDS else f"`accelerators[i].{path}`"
        row = next(line for cell, line in rows.items() if key in cell)
        assert allowed_values(*lookup(model, (name,))) in row, (path, row)
    from workloads.scenario_spec import ScenarioEntrySpec

    point, top = sweep_spec.PointValues, sweep_spec.SweepFile
    for model, name in ((ScenarioEntrySpec, "fps"), (point, "seeds"), (point, "horizon_ms"),
                        (top, "batch_size"), (point, "cascade_probabilities")):  # fmt: skip
        assert allowed_values(*lookup(model, (name,))) in rows[f"`{name}`"], name


def test_sweep_axis_values_use_the_field_bounds(tmp_path):
    from dse.sweep import parse_spec

    base = {"base_system": "xrbench-4k-J", "scenarios": ["vr_gaming"], "policies": ["x"]}
    axes = {"accelerators[0].noc_top.bw_words_per_cycle": [0.5, 64.0],
            "accelerators[*].double_buffered": [True, False]}  # fmt: skip
    spec = parse_spec({**base, "axes": axes})
    assert spec.hardware_axes[0].values == (0.5, 64)  # integral bandwidths stay ints
    with pytest.raises(SpecError, match=r"axes.accelerators\[1\].clock_hz: must be <= 1e\+12, got "
                       r"10000000000000.0 \(allowed: numbers from 1000 to 1e\+12\)"):  # fmt: skip
        parse_spec({**base, "axes": {"accelerators[1].clock_hz": [1e9, 1e13]}}, source="s.yaml")


def _good_documents():
    """A valid document of every spec model (hardware, scenario, sweep)."""
    from dse import spec as sweep_spec
    from workloads import scenario_spec as scenario

    acc = GOOD_SYSTEM["accelerators"][0]
    entry = {"model": "ES_RITNet", "fps": 60.0, "parent": "GE_FBNet_C", "probability": 0.5}
    point = {"base_system": "s", "scenarios": "x", "policies": "p", "modes": "native",
             "seeds": 0, "horizon_ms": 700.0, "analysis": "maestro",
             "cascade_probabilities": 0.5}  # fmt: skip
    return [
        (schema.NocSpec, acc["noc_top"]),
        (schema.CompressionSpec, {"input": 0.5, "output": 0.5}),
        (schema.EnergySpec, {"base": "eyeriss"}),
        (schema.AcceleratorSpec, {**acc, "offchip_clock_hz": 1e8, "l2_weight_bytes": 1024}),
        (schema.SystemSpec, GOOD_SYSTEM),
        (scenario.ScenarioEntrySpec, entry),
        (scenario.ScenarioFileSpec, {"models": [entry]}),
        (sweep_spec.PointValues, point),
        (sweep_spec.SweepOnlyAxes, {"pe_split": 0.5}),
        (sweep_spec.SampleModel, {"method": "lhs", "n": 10, "seed": 1}),
        (sweep_spec.ExecutorModel, {"name": "local", "workers": 2}),
        (
            sweep_spec.SweepFile,
            {"base_system": "s", "scenarios": "x", "policies": "p", "batch_size": 4},
        ),  # fmt: skip
    ]


def _bounded_fields():
    out = []
    for model, doc in _good_documents():
        for name in model.model_fields:
            tp, metadata = lookup(model, (name,))
            strategies = _violations(tp, metadata) if tp in (int, float) else []
            if strategies:
                out.append((model, doc, name, strategies))
    return out


BOUNDED = _bounded_fields()


def test_good_documents_are_valid():
    from rtmm.validation import validate

    for model, doc in _good_documents():
        validate(model, doc, source="ok.yaml")
    assert len(BOUNDED) >= 25


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_bound_of_every_spec_model_is_enforced(data):
    """Any value outside a field's stated bounds is refused with one line naming the field and
    the allowed values derived from those bounds."""
    from rtmm.validation import allowed_values, validate

    model, doc, name, strategies = data.draw(st.sampled_from(BOUNDED))
    value = data.draw(st.one_of(*strategies))
    with pytest.raises(SpecError) as info:
        validate(model, {**doc, name: value}, source="f.yaml")
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"f.yaml: {name}: "), text
    assert text.endswith(f"(allowed: {allowed_values(*lookup(model, (name,)))})"), text


def test_command_line_flags_take_type_help_and_bounds_from_the_model():
    import argparse

    parser = argparse.ArgumentParser(prog="rtmm cost", exit_on_error=False)
    parser.add_argument("--pes", **schema.accelerator_flag("num_pes", "number of PEs"))
    parser.add_argument("--noc-bw", **schema.accelerator_flag("noc_top.bw_words_per_cycle", "bw"))
    args = parser.parse_args(["--pes", "64", "--noc-bw", "32"])
    assert (args.pes, args.noc_bw) == (64, 32) and isinstance(args.noc_bw, int)
    assert "number of PEs (integers from 1 to 2^40)" in parser.format_help()
    for bad, message in (("0", "must be >= 1, got 0"), ("2.5", "'2.5' is not an integer"),
                         ("1" + "0" * 20, "too large")):  # fmt: skip
        with pytest.raises(argparse.ArgumentError, match=message):
            parser.parse_args(["--pes", bad])


def test_preset_and_search_dataflow_names_are_not_user_names():
    acc = {**GOOD_SYSTEM["accelerators"][0]}
    assert (
        schema.validate_accelerator({**acc, "dataflow": "search:edp"}, source="a.yaml")["dataflow"][
            "name"
        ]
        == "search:edp"
    )
    user = {"name": "search:edp", "directives": "SpatialMap(1,1) K"}
    with pytest.raises(SpecError, match=r"dataflow.name: invalid name str 'search:edp'"):
        schema.validate_accelerator({**acc, "dataflow": user}, source="a.yaml")

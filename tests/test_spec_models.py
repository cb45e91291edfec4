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

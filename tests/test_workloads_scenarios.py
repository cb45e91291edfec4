"""Usage scenarios: the built-in YAML files, validation, and XRBench scenario-file import."""

from __future__ import annotations

import pytest

from rtmm.errors import SpecError, UnknownNameError
from workloads import scenario, zoo
from workloads.scenario import Scenario, ScenarioModel, parse_xrbench_scenario, validate_scenario

ES, GE, HT, DR, AS = (
    "ES_RITNet",
    "GE_FBNet_C",
    "HT_hand_graph_cnn_half",
    "DR_RGBd_200",
    "AS_ED_TCN",
)
KD, SR, SS, OD = "KD_res8_narrow", "ASR_EM_24L", "SS_HRViT_b1", "OD_D2go_FasterRCNN"
DE, PD = "DE_midas_v21_small", "PD_Plane_RCNN_Quarter"

# SPEC section 4: (model, fps, parent, probability)
EXPECTED = {
    "social_interaction_a": [(ES, 60, None, 1), (GE, 60, ES, 1), (DR, 30, None, 1),
                             (HT, 30, None, 1)],
    "social_interaction_b": [(ES, 60, None, 1), (GE, 60, ES, 1), (AS, 30, None, 1)],
    "outdoor_activity_a": [(KD, 3, None, 1), (SR, 3, KD, 0.2), (SS, 10, None, 1),
                           (OD, 30, None, 1)],
    "outdoor_activity_b": [(KD, 3, None, 1), (SR, 3, KD, 0.2), ("D2go_FastRCNN", 30, None, 1)],
    "ar_assistant": [(KD, 3, None, 1), (SR, 3, KD, 0.5), (SS, 10, None, 1), (DE, 30, None, 1),
                     (PD, 15, None, 1), (OD, 10, None, 1)],
    "ar_gaming": [(HT, 45, None, 1), (DE, 30, None, 1), (PD, 15, None, 1)],
    "vr_gaming": [(ES, 60, None, 1), (GE, 60, ES, 1), (HT, 45, None, 1)],
    **{
        f"vr_gaming_p{p}": [(ES, 60, None, 1), (GE, 60, ES, p / 100), (HT, 45, None, 1)]
        for p in (25, 50, 75, 100)
    },
}  # fmt: skip


def test_names():
    assert scenario.names() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_scenarios_match_spec(name):
    scn = scenario.load(name)
    assert scn.name == name
    got = [(m.model_id, m.fps, m.parent, m.probability) for m in scn.models]
    assert got == [(m, float(f), p, float(q)) for m, f, p, q in EXPECTED[name]]
    models = scn.get_models()
    assert list(models) == list(scn.model_ids)
    assert all(len(model) > 0 for model in models.values())


def test_periods_and_frame():
    scn = scenario.load("vr_gaming")
    assert [m.xrbench_period_ms for m in scn.models] == [16, 16, 22]
    assert scn[HT].period_ms == pytest.approx(1000 / 45)
    assert scn.children(ES) == (GE,)
    frame = scn.to_frame()
    assert list(frame["model"]) == [ES, GE, HT]
    assert list(frame["layers"]) == [42, 63, 224]
    assert scn.max_fps == 60


def test_with_probability():
    swept = scenario.load("vr_gaming").with_probability(GE, 0.25, name="vr_gaming_p25")
    expected = scenario.load("vr_gaming_p25")
    assert (swept.name, swept.models) == (expected.name, expected.models)
    with pytest.raises(SpecError, match=r"probability: must be <= 1, got 2"):
        swept.with_probability(GE, 2)


# -- validation -----------------------------------------------------------------------------------


def _scn(*models):
    return Scenario("t", tuple(ScenarioModel(*m) for m in models), source="t.yaml")


@pytest.mark.parametrize(
    ("models", "error", "message"),
    [
        ([("NoNet", 30.0)], UnknownNameError, "unknown model 'NoNet'"),
        ([(ES, 0.0)], SpecError, r"models\[0\] \(ES_RITNet\).fps: must be >= 0.001, got 0.0"),
        ([(ES, float("nan"))], SpecError, "fps: must be a finite number, got nan"),
        ([(ES, 60.0), (GE, 60.0, ES, 1.5)], SpecError, "probability: must be <= 1, got 1.5"),
        ([(ES, 60.0), (GE, 60.0, ES, -0.1)], SpecError, "probability: must be >= 0, got -0.1"),
        ([(ES, 60.0), (GE, 60.0, HT, 1.0)], SpecError, "parent 'HT_hand_graph_cnn_half' is not"),
        ([(ES, 60.0, GE), (GE, 60.0, ES)], SpecError, "cascade cycle"),
        ([(ES, 60.0, ES)], SpecError, "own parent"),
        ([(ES, 60.0), (ES, 30.0)], SpecError, "duplicate model 'ES_RITNet'"),
        ([(ES, 60.0, None, 0.5)], SpecError, "without a parent"),
        ([], SpecError, "no models"),
    ],
)
def test_validation_errors(models, error, message):
    with pytest.raises(error, match=message) as err:
        validate_scenario(_scn(*models))
    assert "\n" not in str(err.value) and str(err.value).startswith("t.yaml")


def test_yaml_errors(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("models:\n  - {model: ES_RITNet, fps: 60, colour: red}\n")
    with pytest.raises(SpecError, match=r"models\[0\]: unknown key 'colour'"):
        scenario.load(str(path))
    path.write_text("models:\n  - {model: ES_RITNet, fps: fast}\n")
    with pytest.raises(SpecError, match=r"models\[0\].fps: must be a number, got str 'fast'"):
        scenario.load(str(path))
    path.write_text("models:\n  - {model: ES_RITNet, fps: 60}\n  - {model: ES_RITNet, fps: 60}\n")
    with pytest.raises(SpecError, match="duplicate model"):
        scenario.load(str(path))
    path.write_text("models: [{model: ES_RITNet, fps: 60}]\nmodels: []\n")
    with pytest.raises(SpecError, match="duplicate key 'models'"):
        scenario.load(str(path))
    with pytest.raises(UnknownNameError, match="unknown scenario 'nope'"):
        scenario.load("nope")


def test_yaml_with_model_file(tmp_path):
    (tmp_path / "tiny.csv").write_text(
        "name,type,N,K,C,Y,X,R,S\nc1,CONV,1,4,3,8,8,3,3\nc2,CONV,1,4,4,6,6,3,3\n"
    )
    (tmp_path / "s.yaml").write_text(
        "name: custom\nmodels:\n  - {file: tiny.csv, fps: 30}\n"
        "  - {model: GE_FBNet_C@w0.5, fps: 30, parent: tiny, probability: 0.5}\n"
    )
    scn = scenario.load(str(tmp_path / "s.yaml"))
    models = scn.get_models()
    assert list(models) == ["tiny", "GE_FBNet_C@w0.5"]
    assert models["tiny"].total_macs == 4 * 3 * 9 * 36 + 4 * 4 * 9 * 16


# -- XRBench scenario files -----------------------------------------------------------------------


def xrbench_text(scn: Scenario) -> str:
    """Write a scenario in the layout of XRBench's usage_scenarios/*.m files."""
    parts = []
    for m in scn.models:
        lines = [f"Network {m.model_id} {{", ""]
        if m.parent:
            lines += ["Dependency: {", f"\t{m.parent}\t", "}", ""]
        lines += [f"FPS: {m.fps:g}"]
        if m.parent and m.probability != 1.0:
            lines += [f"Probability: {m.probability:g}"]
        lines += [""]
        for layer in zoo.load(m.model_id).layers:
            lines += [
                f"Layer {layer.name} {{ ",
                "\tType: CONV",
                f"\tDimensions: {{ N: {layer.N}, K: {layer.K}, C: {layer.C}, Y: {layer.Y}, "
                f"X: {layer.X}, R: {layer.R}, S: {layer.S} }}",
                "}",
                "",
            ]
        lines += ["}", ""]
        parts.append("\n".join(lines))
    return "\n".join(parts)


@pytest.mark.parametrize("name", ["social_interaction_a", "outdoor_activity_b", "ar_assistant"])
def test_xrbench_file_import_matches_builtin(tmp_path, name):
    builtin = scenario.load(name)
    path = tmp_path / f"{name}.m"
    path.write_text(xrbench_text(builtin))
    imported = scenario.load(str(path))
    assert imported.name == name
    assert imported.models == builtin.models  # ids, FPS, parents, probabilities
    for model_id, model in imported.get_models().items():
        reference = zoo.load(model_id)
        assert model.layers == reference.layers
        assert model.total_macs == reference.total_macs


def test_xrbench_scenario_errors():
    text = "Network A {\nFPS: 30\nLayer l { Type: CONV Dimensions: { N: 1, K: 2, C: 2, Y: 4, X: 4, R: 1, S: 1 } }\n}\n"  # noqa: E501
    ok = parse_xrbench_scenario(text, name="s", source="s.m")
    assert ok.models[0].model_id == "A" and ok.models[0].model is not None
    with pytest.raises(SpecError, match="missing 'FPS"):
        parse_xrbench_scenario(text.replace("FPS: 30\n", ""), name="s", source="s.m")
    two = text + text.replace("Network A", "Network B").replace(
        "FPS: 30", "FPS: 30\nDependency: { C }"
    )
    with pytest.raises(SpecError, match="parent 'C' is not a model"):
        parse_xrbench_scenario(two, name="s", source="s.m")

"""The score decomposition of ``benchmarks/diag_score_terms.py`` (issue 12f)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "diag_score_terms.py"


@pytest.fixture(scope="module")
def diag():
    spec = importlib.util.spec_from_file_location("diag_score_terms", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _side(rt, en, acc, qoe, cov=1.0, n=2):
    terms = zip(rt, en, acc, qoe, strict=True)
    score = [r * e * a * q * q * cov for r, e, a, q in terms]
    return pd.DataFrame(
        {"model": ["a", "b"], "rt": rt, "en": en, "acc": acc, "qoe": qoe, "score": score,
         "n_models": n}
    )  # fmt: skip


def test_parts_sum_to_the_score_difference(diag):
    a = _side([0.9, 1.0], [0.8, 0.7], [1.0, 1.0], [1.0, 0.9])
    b = _side([0.95, 0.6], [0.6, 0.7], [1.0, 1.0], [0.8, 0.9], cov=0.97)
    d = diag.decompose(a, b)
    parts = d[[*diag.TERMS, "starved"]].sum(axis=1).to_numpy()
    np.testing.assert_allclose(parts, d["d_score"].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(d["d_score"], (b["score"] - a["score"]) / 2)


def test_each_term_is_charged_where_it_changed(diag):
    a = _side([0.9, 1.0], [0.8, 0.7], [1.0, 1.0], [1.0, 0.9])
    b = _side([0.9, 0.5], [0.4, 0.7], [1.0, 1.0], [1.0, 0.9])
    d = diag.decompose(a, b).set_index("model")
    # model a: only EN changed; model b: only RT changed
    assert d.loc["a", "en"] == pytest.approx(d.loc["a", "d_score"])
    assert d.loc["a", "rt"] == 0 and d.loc["a", "qoe2"] == 0
    assert d.loc["b", "rt"] == pytest.approx(d.loc["b", "d_score"]) and d.loc["b", "rt"] < 0
    # QoE enters squared (completed / logged and the QoE factor)
    c = _side([0.9, 1.0], [0.8, 0.7], [1.0, 1.0], [0.5, 0.9])
    assert diag.decompose(a, c).set_index("model").loc["a", "qoe2"] < 0


def test_a_starved_model_is_charged_to_starved(diag):
    a = _side([0.9, 1.0], [0.8, 0.7], [1.0, 1.0], [1.0, 0.9])
    b = a.copy()
    b.loc[1, ["rt", "en", "acc", "qoe", "score"]] = 0.0
    d = diag.decompose(a, b).set_index("model")
    assert d.loc["b", "starved"] == pytest.approx(-a.loc[1, "score"] / 2)
    assert d.loc["a", "d_score"] == 0

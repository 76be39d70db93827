"""Registry: a saved model loads back and predicts the same; a mismatch is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from arrears.models.data import german_credit
from arrears.models.errors import RegistryError
from arrears.models.learners import Baseline
from arrears.models.registry import list_models, load_model, save_model


@pytest.fixture()
def saved(tmp_path: Path):
    data = german_credit()
    learner = Baseline(seed=5).fit(data.features, data.target, data.categorical)
    meta = {
        "name": "german",
        "target": "creditability",
        "seed": 5,
        "data": {"sha256": data.fingerprint, "rows": 1000, "events": 300},
    }
    folder = save_model(tmp_path / "m", learner, meta)
    return folder, learner, data


def test_round_trip_keeps_predictions_and_metadata(saved):
    folder, learner, data = saved
    loaded = load_model(folder, expect_data_sha256=data.fingerprint)
    assert np.array_equal(
        loaded.learner.predict_pd(data.features), learner.predict_pd(data.features)
    )
    meta = loaded.meta
    assert meta["learner"] == "baseline" and meta["seed"] == 5
    assert meta["features"] == list(data.features.columns)
    assert meta["data"]["sha256"] == data.fingerprint and len(meta["version"]) == 12
    assert {"scikit-learn", "lightgbm", "optbinning"} <= set(meta["libraries"])
    assert [m["name"] for m in list_models(folder.parent)] == ["german"]


def test_same_training_gives_the_same_version(saved, tmp_path):
    folder, learner, _ = saved
    again = save_model(tmp_path / "again", learner, {**load_model(folder).meta, "version": None})
    assert load_model(again).version == load_model(folder).version


def test_refuses_a_changed_estimator_file(saved):
    folder, _, _ = saved
    with (folder / "model.joblib").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(RegistryError, match="sha256"):
        load_model(folder)


def test_refuses_metadata_whose_features_differ(saved):
    folder, _, _ = saved
    path = folder / "model.json"
    meta = json.loads(path.read_text())
    meta["features"] = meta["features"][:-1]
    path.write_text(json.dumps(meta))
    with pytest.raises(RegistryError, match="features differ"):
        load_model(folder)


def test_refuses_other_library_versions(saved):
    folder, _, _ = saved
    path = folder / "model.json"
    meta = json.loads(path.read_text())
    meta["libraries"]["scikit-learn"] = "0.1"
    path.write_text(json.dumps(meta))
    with pytest.raises(RegistryError, match="library versions"):
        load_model(folder)


def test_refuses_other_training_data_and_missing_folders(saved, tmp_path):
    folder, _, _ = saved
    with pytest.raises(RegistryError, match="trained on data"):
        load_model(folder, expect_data_sha256="0" * 64)
    with pytest.raises(RegistryError, match="not a model folder"):
        load_model(tmp_path / "nothing")

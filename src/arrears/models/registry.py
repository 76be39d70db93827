"""The model registry: one folder per trained model.

``model.joblib`` holds the fitted learner, ``model.json`` what it is: name, version,
learner, target, features, parameters, seed, the training data's sha256, metrics, the
estimator file's sha256 and the library versions. Loading checks the metadata against
the file and the object and refuses a model that does not match.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import joblib

from arrears.files import private_dir, replacing, write_atomically
from arrears.models.errors import RegistryError
from arrears.models.learners import Learner

FORMAT = "arrears-model/1"
ESTIMATOR_FILE = "model.joblib"
METADATA_FILE = "model.json"
LIBRARIES = ("scikit-learn", "lightgbm", "optbinning", "numpy", "pandas")


@dataclass
class SavedModel:
    """A loaded model and its metadata."""

    learner: Learner
    meta: dict[str, Any]
    folder: Path

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def version(self) -> str:
        return str(self.meta["version"])


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a pickled learner depends on."""
    return {lib: importlib_metadata.version(lib) for lib in LIBRARIES}


def model_version(learner: Learner, data_sha256: str, seed: int) -> str:
    """A content version: the first 12 hex digits of sha256 over learner, parameters,
    seed and training data, so retraining the same thing gives the same version."""
    text = json.dumps(
        {"learner": learner.name, "params": learner.params(), "seed": seed, "data": data_sha256},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def save_model(folder: Path, learner: Learner, meta: dict[str, Any]) -> Path:
    """Write the learner and its metadata to ``folder`` (created if needed). ``meta``
    must carry name, target, seed and data (with sha256); the rest is filled in."""
    for key in ("name", "target", "seed", "data"):
        if key not in meta:
            raise RegistryError(f"model metadata lacks {key!r}")
    private_dir(folder)
    estimator = folder / ESTIMATOR_FILE
    with replacing(estimator) as partial:
        joblib.dump(learner, partial, compress=3)
    full = {
        "format": FORMAT,
        **meta,
        "version": meta.get("version")
        or model_version(learner, meta["data"]["sha256"], meta["seed"]),
        "learner": learner.name,
        "features": list(learner.features),
        "categorical": list(learner.categorical),
        "params": learner.params(),
        "estimator_file": ESTIMATOR_FILE,
        "estimator_sha256": _sha256(estimator),
        "libraries": library_versions(),
    }
    text = json.dumps(full, indent=2, sort_keys=True, default=str) + "\n"
    write_atomically(folder / METADATA_FILE, text)
    return folder


def read_metadata(folder: Path) -> dict[str, Any]:
    """The metadata of the model in ``folder`` (no estimator loaded)."""
    path = folder / METADATA_FILE
    if not path.exists():
        raise RegistryError(f"{folder}: not a model folder (no {METADATA_FILE})")
    try:
        meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{path}: not valid JSON ({exc})") from None
    if meta.get("format") != FORMAT:
        raise RegistryError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    return meta


def load_model(folder: Path, expect_data_sha256: str | None = None) -> SavedModel:
    """Load the model in ``folder``, refusing it when the estimator file's hash, the
    learner, its features or the library versions differ from the metadata (or the
    training data fingerprint differs from ``expect_data_sha256``)."""
    meta = read_metadata(folder)
    estimator = folder / meta.get("estimator_file", ESTIMATOR_FILE)
    if not estimator.exists():
        raise RegistryError(f"{folder}: estimator file {estimator.name} is missing")
    actual = _sha256(estimator)
    if actual != meta.get("estimator_sha256"):
        raise RegistryError(
            f"{estimator}: sha256 {actual[:12]}… does not match the metadata's "
            f"{str(meta.get('estimator_sha256'))[:12]}…; the file was changed or replaced"
        )
    libs = library_versions()
    changed = {
        k: (v, libs.get(k)) for k, v in meta.get("libraries", {}).items() if libs.get(k) != v
    }
    if changed:
        shown = ", ".join(f"{k} {a} → {b}" for k, (a, b) in changed.items())
        raise RegistryError(f"{folder}: saved with other library versions ({shown}); retrain it")
    learner = joblib.load(estimator)
    if not isinstance(learner, Learner) or learner.name != meta.get("learner"):
        raise RegistryError(f"{folder}: estimator is not a {meta.get('learner')!r} learner")
    if list(learner.features) != list(meta.get("features", [])):
        raise RegistryError(f"{folder}: the estimator's features differ from the metadata's")
    if expect_data_sha256 is not None and meta["data"]["sha256"] != expect_data_sha256:
        raise RegistryError(
            f"{folder}: trained on data {meta['data']['sha256'][:12]}…, "
            f"not on {expect_data_sha256[:12]}…"
        )
    return SavedModel(learner, meta, folder)


def list_models(root: Path) -> list[dict[str, Any]]:
    """Metadata of every model folder under ``root`` (recursively), sorted by path."""
    if not root.exists():
        return []
    found = []
    for path in sorted(root.rglob(METADATA_FILE)):
        try:
            meta = read_metadata(path.parent)
        except RegistryError:
            continue
        found.append({**meta, "folder": str(path.parent)})
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

"""Versioned model artifacts: ``model.joblib`` plus ``metadata.json`` in one model directory.

The metadata is the single description of a model's interface (feature names and their order, valid
ranges, class labels) and of its provenance (scikit-learn version, metrics, sha256 of the artifact).
Predictors, transformers and ``models/train.py`` all read and write it through this module. Loading
refuses an artifact whose checksum or scikit-learn version disagrees with its metadata.

Depends on pydantic, joblib and scikit-learn only; never on ``local`` or ``ray``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODEL_FILENAME = "model.joblib"
METADATA_FILENAME = "metadata.json"


class ArtifactError(RuntimeError):
    """A model directory that cannot be served as it is; the message says what to do."""


class FeatureSpec(BaseModel):
    """One input feature: its name and the closed range of values the model accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    minimum: float = Field(description="Smallest accepted value (inclusive).")
    maximum: float = Field(description="Largest accepted value (inclusive).")


class ModelMetadata(BaseModel):
    """Contents of ``metadata.json`` written beside every ``model.joblib``."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    name: str = Field(description="Model name, e.g. 'iris'.")
    version: str = Field(description="Artifact version, e.g. 'v1'.")
    estimator: str = Field(description="Estimator class, e.g. 'LogisticRegression'.")
    task: str = Field(description="'classification' or 'regression'.")
    features: list[FeatureSpec] = Field(description="Input features in the order the model expects.")
    class_labels: list[str] = Field(default_factory=list, description="Label of each class index.")
    sklearn_version: str = Field(description="scikit-learn version the artifact was pickled with.")
    metrics: dict[str, float] = Field(default_factory=dict, description="Training and test metrics.")
    sha256: str = Field(description="sha256 of model.joblib.")

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_metadata(model_dir: str | Path) -> ModelMetadata:
    """Read and validate ``metadata.json`` of a model directory."""
    path = Path(model_dir) / METADATA_FILENAME
    if not path.is_file():
        raise ArtifactError(
            f"{path} not found: point --model_dir at a directory made by models/train.py "
            "(run `make train` to rebuild the iris artifacts)"
        )
    try:
        return ModelMetadata.model_validate(json.loads(path.read_text()))
    except (ValueError, ValidationError) as exc:
        raise ArtifactError(f"{path} is not valid model metadata: {exc}") from exc


def write_metadata(model_dir: str | Path, metadata: ModelMetadata) -> Path:
    path = Path(model_dir) / METADATA_FILENAME
    path.write_text(json.dumps(metadata.model_dump(), indent=2, sort_keys=True) + "\n")
    return path


def load_artifact(model_dir: str | Path) -> tuple[Any, ModelMetadata]:
    """Load the estimator of a model directory after checking it against its metadata.

    Raises ArtifactError when the checksum or the scikit-learn version disagree with the metadata.
    """
    import joblib
    import sklearn

    metadata = read_metadata(model_dir)
    model_path = Path(model_dir) / MODEL_FILENAME
    if not model_path.is_file():
        raise ArtifactError(f"{model_path} not found: run `make train` to rebuild the artifacts")
    actual = sha256_of(model_path)
    if actual != metadata.sha256:
        raise ArtifactError(
            f"{model_path} has sha256 {actual} but its metadata.json says {metadata.sha256}: "
            "the artifact was modified or belongs to another version; run `make train` to rebuild it"
        )
    if sklearn.__version__ != metadata.sklearn_version:
        raise ArtifactError(
            f"{model_path} was saved with scikit-learn {metadata.sklearn_version} but "
            f"{sklearn.__version__} is installed: install scikit-learn=={metadata.sklearn_version} "
            "or run `make train` to rebuild the artifact with this version"
        )
    return joblib.load(model_path), metadata

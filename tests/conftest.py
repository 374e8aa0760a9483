"""Shared fixtures: small CLINC150 slices from ../shared/data and seeded generators."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labelwise.data import TextDataset, read_dataset

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def clinc_dir() -> Path:
    path = Path(os.environ.get("LABELWISE_SHARED_DATA", SHARED_DATA)) / "clinc150"
    if not path.is_dir():
        pytest.fail(f"CLINC150 not found at {path}; the tests read ../shared/data beside the repo.")
    return path


def take_intents(dataset: TextDataset, n_intents: int) -> TextDataset:
    """The rows of the first ``n_intents`` labels (sorted), in file order."""
    keep = set(dataset.classes()[:n_intents])
    idx = [i for i, label in enumerate(dataset.labels) if label in keep]
    return TextDataset(
        texts=[dataset.texts[i] for i in idx],
        labels=[dataset.labels[i] for i in idx],
        metadata=[dataset.metadata[i] for i in idx],
        source=dataset.source,
    )


@pytest.fixture(scope="session")
def clinc_slice(clinc_dir: Path) -> tuple[TextDataset, TextDataset]:
    """Train and test rows of 12 CLINC150 intents (1,200 train / 360 test)."""
    train = take_intents(read_dataset(clinc_dir / "train.jsonl", require_labels=True), 12)
    test = take_intents(read_dataset(clinc_dir / "test.jsonl", require_labels=True), 12)
    return train, test

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("EMOTIQ_DATA", REPO.parent / "shared" / "data"))
needs_shared_data = pytest.mark.skipif(
    not DATA_ROOT.exists(), reason=f"{DATA_ROOT} not found: the labelled sets live beside the repository (../shared/data)"
)


@pytest.fixture(scope="session")
def model():
    """The bundled default model, loaded once (treat as read-only)."""
    import emotiq

    return emotiq.load()


@pytest.fixture(scope="session")
def encoder(model):
    return model.encoder

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


@pytest.fixture(scope="session")
def adapter_rows():
    """The 2,000 rows the Spark and Ray adapter tests score (ordinary feedback plus odd texts)."""
    from tests.distributed_cases import ADAPTER_ROWS, feedback_rows

    return feedback_rows(ADAPTER_ROWS)


@pytest.fixture(scope="session")
def adapter_reference(adapter_rows):
    """``analyze`` in fp32 on ``adapter_rows``, once for both adapters' tests."""
    import emotiq
    from tests.distributed_cases import reference_scores

    return reference_scores(emotiq.load(precision="fp32"), adapter_rows)

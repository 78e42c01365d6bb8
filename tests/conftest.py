from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("EMOTIQ_DATA", REPO.parent / "shared" / "data"))
needs_shared_data = pytest.mark.skipif(
    not DATA_ROOT.exists(), reason=f"{DATA_ROOT} not found: the labelled sets live beside the repository (../shared/data)"
)


@pytest.fixture(scope="session", autouse=True)
def base_encoder_read_once():
    """The suite builds many models on one base: read its weights from disk once and give each model
    its own copy of the network (the tokenizer, which nothing changes after loading, is shared)."""
    import copy

    import emotiq.model
    from emotiq.encoder import text_encoder

    original = text_encoder.load_text_encoder
    loaded: dict[tuple[str, str, int], text_encoder.TextEncoder] = {}

    def load(base: str, *, prefix: str = "query: ", max_length: int = 512) -> text_encoder.TextEncoder:
        key = (base, prefix, max_length)
        if key not in loaded:
            loaded[key] = original(base, prefix=prefix, max_length=max_length)
        first = loaded[key]
        return text_encoder.TextEncoder(copy.deepcopy(first.body), first.tokenizer, prefix=first.prefix, max_length=first.max_length)

    patch = pytest.MonkeyPatch()
    patch.setattr(text_encoder, "load_text_encoder", load)
    patch.setattr(emotiq.model, "load_text_encoder", load)
    yield
    patch.undo()


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

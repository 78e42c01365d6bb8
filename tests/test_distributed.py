"""What the Spark and Ray adapters share: columns from the heads, one scoring function, one model per worker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emotiq.distributed.columns import score_columns
from emotiq.distributed.source import ModelSource, check_on_worker
from emotiq.distributed.worker import score_frame, worker_model
from emotiq.errors import UnknownNameError
from emotiq.heads import HeadSpec
from emotiq.model_io import default_head_specs


def test_columns_come_from_the_model_heads_including_custom_ones():
    specs = [*default_head_specs(),
             HeadSpec(name="topic", role="custom", kind="softmax", labels=["billing", "delivery"]),
             HeadSpec(name="tags", role="custom", kind="sigmoid", labels=["app", "web"])]
    columns = score_columns(specs, ["id", "text"])
    kinds = dict(zip(columns.names, columns.types))
    assert columns.names[:3] == ("language", "sentiment", "sentiment_score") and columns.names[-1] == "emotiq_status"
    assert {"topic": str, "topic_billing": float, "tags": str, "tags_web": float, "severity": int, "truncated": bool}.items() <= kinds.items()
    assert columns.status == "emotiq_status" and columns.tasks == ("sentiment", "emotion", "complaint", "topic", "tags")


def test_tasks_narrow_the_columns_and_clashes_prefix_them():
    columns = score_columns(default_head_specs(), ["sentiment", "text"], tasks=["sentiment"])
    assert columns.tasks == ("sentiment",)
    assert columns.names == ("emotiq_language", "emotiq_sentiment", "emotiq_sentiment_score", "emotiq_sentiment_negative",
                             "emotiq_sentiment_neutral", "emotiq_sentiment_positive", "emotiq_n_tokens", "emotiq_truncated",
                             "emotiq_low_confidence", "emotiq_emotiq_status")
    with pytest.raises(UnknownNameError, match=r"unknown task\(s\) \['topic'\]"):
        score_columns(default_head_specs(), ["text"], tasks=["topic"])


def test_columns_match_the_model_results(model):
    columns = score_columns(model.head_specs, ["text"])
    row = model.analyze("Waar blijft mijn pakket?").to_dict()
    assert list(columns.keys) == list(row) and all(isinstance(v, t) for v, t in zip(row.values(), columns.types))


def test_score_frame_keeps_the_index_and_gives_missing_cells_a_status(model):
    values = pd.Series(["Top service, dank jullie!", None, "", np.nan, "Where is my refund?"], index=[10, 11, 12, 13, 14],
                       dtype=object)
    columns = score_columns(model.head_specs, ["text"])
    frame = score_frame(model, values, columns, batch_size=2)
    assert frame.index.tolist() == [10, 11, 12, 13, 14] and list(frame.columns) == list(columns.names)
    assert frame["emotiq_status"].tolist() == ["ok", "empty", "empty", "empty", "ok"]
    assert (frame["severity"].dtype, frame["truncated"].dtype, frame["complaint_prob"].dtype) == (np.int64, np.bool_, np.float64)
    expected = [r.to_dict() for r in model.analyze(["Top service, dank jullie!", "Where is my refund?"])]
    assert frame.loc[[10, 14], "sentiment"].tolist() == [r["sentiment"] for r in expected]


def test_worker_model_is_loaded_once_per_process_with_the_given_threads():
    import torch

    before = torch.get_num_threads()
    try:
        first = worker_model(ModelSource(), threads=1)
        assert torch.get_num_threads() == 1
        assert worker_model(ModelSource(), threads=2) is first and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_model_source_refuses_loaded_models_and_names_unreadable_folders(model, tmp_path):
    with pytest.raises(TypeError, match="a loaded model is not sent to them"):
        ModelSource.from_argument(model)
    assert check_on_worker(ModelSource()) is None
    problem = check_on_worker(ModelSource(location=str(tmp_path)))
    assert problem is not None and "config.json is missing" in problem
    shipped = ModelSource(location="/driver/models/acme").shipped_as("acme")
    assert shipped.worker_location("/spark/files") == "/spark/files/acme"

"""emotiq.ray on a real local Ray cluster: scores match ``analyze``, rows and columns are kept."""

from __future__ import annotations

import pytest

from tests.distributed_cases import ODD_TEXTS, assert_matches_reference, assert_odd_rows

ray = pytest.importorskip("ray", reason='Ray is not installed; enable these tests with pip install -e ".[test]" (or ".[ray]")')
pytest.importorskip("ray.data", reason='Ray Data is not installed; enable these tests with pip install "ray[data]"')

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*"),
    pytest.mark.filterwarnings("ignore:The inplace keyword"),  # raised inside Ray Data under pandas 3
]



@pytest.fixture(scope="module")
def cluster():
    """One local cluster for the module: 3 logical CPUs, two for the scoring actors and one for reading."""
    ray.init(num_cpus=3, include_dashboard=False, configure_logging=False, log_to_driver=False,
             object_store_memory=200 * 1024 * 1024)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def scored(cluster, adapter_rows):
    """The rows shuffled into 5 blocks and scored in fp32 by two 1-CPU actors: (Dataset, its rows in pandas)."""
    from emotiq.ray import score_ray

    shuffled = ray.data.from_pandas(adapter_rows).random_shuffle(seed=3).repartition(5)
    result = score_ray(shuffled, "text", concurrency=2, num_cpus=1, rows_per_batch=250, precision="fp32")
    return result, result.to_pandas()


@pytest.mark.slow
def test_scores_agree_with_analyze_after_reordering_and_repartitioning(scored, adapter_rows, adapter_reference):
    _, table = scored
    assert table["id"].tolist() != adapter_rows["id"].tolist()  # rows really arrived in another order
    assert_matches_reference(table, adapter_rows, adapter_reference)


@pytest.mark.slow
def test_columns_follow_emotiq_score(scored, adapter_reference):
    result, table = scored
    assert list(table.columns) == ["id", "kind", "score", "text", *adapter_reference.columns]
    assert result.schema().names == list(table.columns)


@pytest.mark.slow
def test_null_empty_and_odd_texts_get_a_status(scored):
    _, table = scored
    assert set(ODD_TEXTS) <= set(table["kind"])
    assert_odd_rows(table)


def test_missing_text_column_lists_the_columns(cluster, adapter_rows):
    from emotiq.errors import InputError
    from emotiq.ray import score_ray

    with pytest.raises(InputError, match=r"no column 'message'.*\['id', 'kind', 'score', 'text'\]"):
        score_ray(ray.data.from_pandas(adapter_rows.iloc[:3]), "message")


def test_non_string_column_names_its_type(cluster, adapter_rows):
    from emotiq.errors import InputError
    from emotiq.ray import score_ray

    with pytest.raises(InputError, match="column 'score' is double, not string"):
        score_ray(ray.data.from_pandas(adapter_rows.iloc[:3]), "score")


def test_unreadable_model_fails_before_the_job(cluster, adapter_rows, tmp_path):
    from emotiq.distributed.source import ModelSource
    from emotiq.errors import ModelFolderError
    from emotiq.ray import check_workers, score_ray

    with pytest.raises(ModelFolderError, match="no model folder or bundled model named"):
        score_ray(ray.data.from_pandas(adapter_rows.iloc[:3]), "text", model=tmp_path / "nowhere")
    with pytest.raises(ModelFolderError, match=r"Ray workers cannot read model /mnt/missing/model"):
        check_workers(ModelSource(location="/mnt/missing/model"))

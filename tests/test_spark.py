"""emotiq.spark on a real local Spark (``local[2]``): scores match ``analyze``, rows and columns are kept."""

from __future__ import annotations

import shutil

import pytest

from tests.distributed_cases import (
    ODD_TEXTS,
    assert_matches_reference,
    assert_odd_rows,
    java_major,
    worker_python_env,
)

pyspark = pytest.importorskip("pyspark", reason='pyspark is not installed; enable these tests with pip install -e ".[test]" '
                              '(or ".[spark]") and a Java 17+ runtime')
_JAVA = java_major()
pytestmark = [
    pytest.mark.skipif(_JAVA is None or _JAVA < 17,
                       reason=f"Spark 4 needs Java 17+ (found {_JAVA or 'none'}); enable these tests by installing one, "
                              "e.g. apt-get install openjdk-17-jre-headless, or pointing JAVA_HOME at it"),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),  # raised inside pyspark under pandas 3
]



@pytest.fixture(scope="module")
def spark():
    """One local[2] session for the module."""
    from pyspark.sql import SparkSession

    worker_python_env()
    session = (SparkSession.builder.master("local[2]").appName("emotiq-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "300").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def frame(spark, rows):
    return spark.createDataFrame(rows, schema="id long, kind string, score double, text string")


@pytest.fixture(scope="module")
def scored(spark, adapter_rows):
    """The rows shuffled into 5 partitions, scored in fp32: (DataFrame, its rows in pandas)."""
    from pyspark.sql import functions as F

    from emotiq.spark import score_spark

    shuffled = frame(spark, adapter_rows).orderBy(F.rand(seed=3)).repartition(5)
    result = score_spark(shuffled, "text", precision="fp32")
    return result, result.toPandas()


@pytest.mark.slow
def test_scores_agree_with_analyze_after_reordering_and_repartitioning(scored, adapter_rows, adapter_reference):
    result, table = scored
    assert result.rdd.getNumPartitions() == 5
    assert table["id"].tolist() != adapter_rows["id"].tolist()  # rows really arrived in another order
    assert_matches_reference(table, adapter_rows, adapter_reference)


@pytest.mark.slow
def test_columns_and_types_follow_emotiq_score(scored, adapter_reference):
    result, _ = scored
    assert result.columns == ["id", "kind", "score", "text", *adapter_reference.columns]
    assert adapter_reference.columns[-1] == "emotiq_status"
    types = dict(result.dtypes)
    assert (types["id"], types["score"], types["sentiment_score"], types["severity"], types["truncated"], types["emotions"]) == (
        "bigint", "double", "double", "bigint", "boolean", "string")


@pytest.mark.slow
def test_null_empty_and_odd_texts_get_a_status(scored):
    _, table = scored
    assert set(ODD_TEXTS) <= set(table["kind"])
    assert_odd_rows(table)


@pytest.mark.slow
def test_shipped_model_folder_scores_the_same(spark, adapter_rows, adapter_reference, tmp_path):
    from emotiq.api import model_folder
    from emotiq.spark import score_spark

    copy = shutil.copytree(model_folder(), tmp_path / "my-model")
    few = adapter_rows.iloc[:8]
    result = score_spark(frame(spark, few).coalesce(1), "text", model=copy, ship=True, precision="fp32").toPandas()
    assert_matches_reference(result, few, adapter_reference.iloc[:8])


def test_missing_text_column_lists_the_columns(spark, adapter_rows):
    from emotiq.errors import InputError
    from emotiq.spark import score_spark

    with pytest.raises(InputError, match=r"no column 'message'.*\['id', 'kind', 'score', 'text'\]"):
        score_spark(frame(spark, adapter_rows.iloc[:3]), "message")


def test_non_string_column_names_its_type(spark, adapter_rows):
    from emotiq.errors import InputError
    from emotiq.spark import score_spark

    with pytest.raises(InputError, match="column 'score' is double, not string"):
        score_spark(frame(spark, adapter_rows.iloc[:3]), "score")


def test_unreadable_model_fails_on_the_driver_before_a_job(spark, adapter_rows, tmp_path):
    from emotiq.errors import ModelFolderError
    from emotiq.spark import score_spark

    with pytest.raises(ModelFolderError, match="no model folder or bundled model named"):
        score_spark(frame(spark, adapter_rows.iloc[:3]), "text", model=tmp_path / "nowhere")


def test_executor_check_names_a_folder_executors_cannot_read(spark):
    from emotiq.distributed.source import ModelSource
    from emotiq.errors import ModelFolderError
    from emotiq.spark import check_executors

    with pytest.raises(ModelFolderError, match=r"executors cannot read model /mnt/missing/model.*ship=True"):
        check_executors(spark, ModelSource(location="/mnt/missing/model"))


def test_loaded_model_object_is_refused(spark, adapter_rows, model):
    from emotiq.spark import score_spark

    with pytest.raises(TypeError, match="pass a bundled model name or the path of a model folder"):
        score_spark(frame(spark, adapter_rows.iloc[:3]), "text", model=model)

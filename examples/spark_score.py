"""Score the text column of a Parquet dataset on Spark; write every row with its scores as Parquet.

Run it with spark-submit (the Python workers must see emotiq, so point
``PYSPARK_PYTHON`` at the environment it is installed in)::

    PYSPARK_PYTHON=$(which python) spark-submit --master "local[2]" examples/spark_score.py \\
        data/examples/feedback_export.parquet scored.parquet --text-column customer_message

On a cluster, pass a model folder on storage every executor mounts
(``--model /dbfs/models/acme``), or ship a folder the driver can read with the
job (``--model models/acme --ship``, which uses ``SparkContext.addFile``).
"""

from __future__ import annotations

import argparse

from pyspark.sql import SparkSession

from emotiq.spark import score_spark


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="Parquet file or folder to read")
    parser.add_argument("output", help="Parquet folder to write")
    parser.add_argument("--text-column", default="text", help="string column to score (default: text)")
    parser.add_argument("--model", default=None, help="bundled model name or model folder (default: the bundled model)")
    parser.add_argument("--ship", action="store_true", help="send the model folder to the executors with the job")
    parser.add_argument("--precision", default="auto", help="auto, fp32, bf16 or int8")
    parser.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    spark = SparkSession.builder.appName("emotiq-score").getOrCreate()
    frame = spark.read.parquet(args.input)
    scored = score_spark(frame, args.text_column, model=args.model, ship=args.ship, precision=args.precision)
    scored.write.mode("overwrite" if args.overwrite else "errorifexists").parquet(args.output)
    written = spark.read.parquet(args.output)
    status = scored.columns[-1]  # emotiq_status (prefixed emotiq_ when the input had a clashing column)
    counts = {row[status]: row["count"] for row in written.groupBy(status).count().collect()}
    print(f"scored {written.count():,} rows of column {args.text_column!r} into {args.output}: {counts}")
    spark.stop()


if __name__ == "__main__":
    main()

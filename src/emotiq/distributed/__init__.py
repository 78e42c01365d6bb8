"""What the Spark (:mod:`emotiq.spark`) and Ray (:mod:`emotiq.ray`) adapters share.

- :mod:`~emotiq.distributed.columns`: the score columns and their types, built
  from a model folder's heads without loading its weights;
- :mod:`~emotiq.distributed.source`: where workers find the model, and a check
  run before a job that names the problem instead of failing inside tasks;
- :mod:`~emotiq.distributed.worker`: the model cached once per worker process
  and :func:`~emotiq.distributed.worker.score_frame`, a pandas batch of texts
  to score columns.
"""

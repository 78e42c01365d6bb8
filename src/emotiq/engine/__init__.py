"""The inference engine: length-bucketed batches, numerics and devices."""

from emotiq.engine.batching import plan_batches
from emotiq.engine.devices import resolve_device
from emotiq.engine.precision import PRECISIONS, resolve_precision
from emotiq.engine.runner import EncoderRunner

__all__ = ["PRECISIONS", "EncoderRunner", "plan_batches", "resolve_device", "resolve_precision"]
